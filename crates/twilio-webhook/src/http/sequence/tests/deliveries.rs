//! What a delivery leaves in the replay store: a failed one releases its key, a delivered one keeps
//! it, and in answer mode keeps its answer for the duplicates of the same method.

use super::*;

#[test]
fn a_delivery_releases_or_keeps_its_key() {
    let verifier = verifier().replay_guard(ReplayGuard::new(MemoryStore::new()));
    let headers = headers(&[("content-length", "7")]);
    let request = Incoming::new(&http::Method::POST, "/sms", &headers);
    let deliver = || {
        block_on(verifier.read_and_verify(&request, &mut Chunks::of(&[b"Body=Hi"])))
            .expect("read")
            .verdict
    };
    let first = deliver().expect("verified");
    assert_eq!(first.verified().url(), "http://a.com/sms");
    assert!(
        !first.keeps_answer(StatusCode::OK, Some(2)),
        "not answer mode"
    );
    block_on(first.not_delivered());
    let retry = deliver().expect("released: a retry is judged afresh");
    block_on(retry.finish(StatusCode::SERVICE_UNAVAILABLE));
    let retry = deliver().expect("a failed delivery released it");
    assert_eq!(block_on(retry.handed_over()).url(), "http://a.com/sms");
    let replay = deliver().expect_err("kept");
    assert_eq!(replay.refusal(), Refusal::Replayed);
}

/// Mutation testing found the answer mode unchecked here (only the adapters and the guard used it):
/// a delivery in answer mode keeps a small answer, and its duplicate is answered with it.
#[test]
fn a_delivery_in_answer_mode_keeps_its_answer_for_the_duplicates() {
    let guard = ReplayGuard::new(MemoryStore::new()).duplicates(crate::Duplicates::answer());
    let verifier = verifier().replay_guard(guard);
    let headers = headers(&[("content-length", "7")]);
    let request = Incoming::new(&http::Method::POST, "/sms", &headers);
    let deliver = || {
        block_on(verifier.read_and_verify(&request, &mut Chunks::of(&[b"Body=Hi"])))
            .expect("read")
            .verdict
    };
    let first = deliver().expect("verified");
    assert!(first.keeps_answer(StatusCode::OK, Some(4)));
    let twiml = StoredAnswer::new(200, [], b"<R/>".to_vec());
    block_on(first.finish_with_answer(&twiml));
    let duplicate = deliver().expect_err("a duplicate");
    assert_eq!(duplicate.refusal(), Refusal::AnsweredDuplicate);
    assert_eq!(
        duplicate.stored_answer(),
        Some(&twiml.kept_for(&http::Method::POST))
    );
}

/// Issue 28 ("Trust, round two"): a `GET` and an empty `POST` of one URL carry the same URL-only
/// signature (and a `HEAD` did, when it was verified: a `HEAD` raced in first kept its empty answer for
/// Twilio's `GET`). Through the whole sequence: a `HEAD` is refused before anything (`405`), and a
/// duplicate with another method than the delivered one's is refused, never answered.
#[test]
fn in_answer_mode_a_duplicate_is_answered_only_for_the_method_delivered() {
    let guard = ReplayGuard::new(MemoryStore::new()).duplicates(crate::Duplicates::answer());
    let verifier = verifier().replay_guard(guard);
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).unwrap();
    let deliver = |method: http::Method, path: &str| {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "a.com".parse().unwrap());
        let signature = signer.sign_form(
            &format!("http://a.com{path}"),
            std::iter::empty::<(&str, &str)>(),
        );
        headers.insert("x-twilio-signature", signature.parse().unwrap());
        let request = Incoming::new(&method, path, &headers);
        block_on(verifier.read_and_verify(&request, &mut Chunks::of(&[])))
            .expect("read")
            .verdict
    };
    let twiml = StoredAnswer::new(200, [], b"<R/>".to_vec());
    let head = deliver(http::Method::HEAD, "/voice").expect_err("never verified");
    assert_eq!(head.refusal(), Refusal::MethodNotAllowed);
    // An empty POST first: its answer is kept for POST alone; Twilio's GET is refused.
    let post = deliver(http::Method::POST, "/voice").expect("verified");
    assert_eq!(post.verified().method(), http::Method::POST);
    assert!(post.keeps_answer(StatusCode::OK, Some(4)));
    block_on(post.finish_with_answer(&twiml));
    let get = deliver(http::Method::GET, "/voice").expect_err("a duplicate");
    assert_eq!(
        (get.refusal(), get.stored_answer()),
        (Refusal::Replayed, None)
    );
    // A GET first: its answer is kept for GET alone.
    let get = deliver(http::Method::GET, "/sms").expect("verified");
    assert!(get.keeps_answer(StatusCode::OK, Some(4)));
    block_on(get.finish_with_answer(&twiml));
    let post = deliver(http::Method::POST, "/sms").expect_err("a duplicate");
    assert_eq!(
        (post.refusal(), post.stored_answer()),
        (Refusal::Replayed, None)
    );
    let again = deliver(http::Method::GET, "/sms").expect_err("a duplicate");
    assert_eq!(again.refusal(), Refusal::AnsweredDuplicate);
    assert_eq!(
        again.stored_answer(),
        Some(&twiml.kept_for(&http::Method::GET))
    );
}

#[test]
fn only_a_failed_delivery_releases_its_key() {
    let verifier = verifier().replay_guard(ReplayGuard::new(MemoryStore::new()));
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).unwrap();
    for (n, status) in [200, 201, 403, 500, 502, 503, 504].into_iter().enumerate() {
        let status = StatusCode::from_u16(status).unwrap();
        let value = n.to_string();
        let body = format!("Body={value}");
        let mut headers = headers(&[]);
        let signature = signer.sign_form("http://a.com/sms", [("Body", value.as_str())]);
        headers.insert("x-twilio-signature", signature.parse().unwrap());
        let request = Incoming::new(&http::Method::POST, "/sms", &headers);
        let deliver = || {
            block_on(verifier.read_and_verify(&request, &mut Chunks::of(&[body.as_bytes()])))
                .expect("read")
                .verdict
        };
        block_on(deliver().expect("verified").finish(status));
        let failed = [502, 503, 504].contains(&status.as_u16());
        match deliver() {
            Ok(retry) => {
                assert!(failed, "{status} released the key");
                block_on(retry.finish(StatusCode::OK));
            }
            Err(replay) => {
                assert!(!failed, "{status} kept the key");
                assert_eq!(replay.refusal(), Refusal::Replayed);
            }
        }
    }
}

/// Issue 28, F7: a delivery slower than its lease renews it while the app works, so a duplicate sent
/// after the lease would have lapsed waits for the first answer and gets it, instead of being
/// delivered a second time; once the app's work ends unfinished (its process died), the renewals end
/// and the lease lapses, so Twilio's retry is still delivered. A 600 ms lease, renewed every 200 ms:
/// a shorter one lapsed between renewals on a loaded 2-core machine.
#[test]
fn a_delivery_renews_its_lease_while_the_app_works_and_only_then() {
    use crate::replay::sleep_for;
    let guard = ReplayGuard::new(MemoryStore::new())
        .duplicates(crate::Duplicates::Answer {
            max_body: 64,
            wait: Duration::from_secs(5),
        })
        .lease(Duration::from_millis(600));
    let verifier = std::sync::Arc::new(verifier().replay_guard(guard));
    let deliver = |verifier: &WebhookVerifier| {
        let headers = headers(&[("content-length", "7")]);
        let request = Incoming::new(&http::Method::POST, "/sms", &headers);
        block_on(verifier.read_and_verify(&request, &mut Chunks::of(&[b"Body=Hi"])))
            .expect("read")
            .verdict
    };
    let first = deliver(&verifier).expect("verified");
    let duplicate = {
        let verifier = std::sync::Arc::clone(&verifier);
        std::thread::spawn(move || {
            // Twice the lease after the first delivery was marked.
            std::thread::sleep(Duration::from_millis(1200));
            deliver(&verifier)
        })
    };
    // The app takes four leases; its answer is then kept.
    let answer = block_on(first.renewing(
        async {
            sleep_for(Duration::from_millis(2400)).await;
            StoredAnswer::new(200, [], b"<R/>".to_vec())
        },
        sleep_for,
    ));
    block_on(first.finish_with_answer(&answer));
    let duplicate = duplicate
        .join()
        .expect("duplicate")
        .expect_err("answered, never delivered again");
    assert_eq!(duplicate.refusal(), Refusal::AnsweredDuplicate);
    assert_eq!(
        duplicate.stored_answer(),
        Some(&answer.kept_for(&http::Method::POST))
    );

    // Another request: its work ends, but its delivery is never finished (the process died before).
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).unwrap();
    let mut headers = headers(&[("content-length", "7")]);
    let signature = signer.sign_form("http://a.com/voice", [("Body", "Hi")]);
    headers.insert("x-twilio-signature", signature.parse().unwrap());
    let request = Incoming::new(&http::Method::POST, "/voice", &headers);
    let crashed = || {
        block_on(verifier.read_and_verify(&request, &mut Chunks::of(&[b"Body=Hi"])))
            .expect("read")
            .verdict
    };
    let dying = crashed().expect("verified");
    block_on(dying.renewing(sleep_for(Duration::from_millis(50)), sleep_for));
    drop(dying);
    let start = std::time::Instant::now();
    let retry = crashed().expect("delivered once the lease lapsed");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    block_on(retry.finish(StatusCode::OK));
}

/// Issue 28, F7: a delivery whose lease is found lost while the app still works (here the key was
/// released under it) stops renewing and still runs the app's work to its end and returns its
/// output: the renewal that ended is never polled again (an `async fn` polled after it returned
/// panics, and the app's answer would be lost).
#[test]
fn a_delivery_whose_lease_is_lost_runs_its_work_to_the_end() {
    use crate::replay::sleep_for;
    let store = std::sync::Arc::new(MemoryStore::new());
    let guard = ReplayGuard::shared(store.clone())
        .duplicates(crate::Duplicates::Answer {
            max_body: 64,
            wait: Duration::from_secs(5),
        })
        .lease(Duration::from_millis(60));
    let verifier = verifier().replay_guard(guard);
    let headers = headers(&[("content-length", "7")]);
    let request = Incoming::new(&http::Method::POST, "/sms", &headers);
    let delivery = block_on(verifier.read_and_verify(&request, &mut Chunks::of(&[b"Body=Hi"])))
        .expect("read")
        .verdict
        .expect("verified");
    let key = *delivery.verified().replay_key();
    let answer = block_on(delivery.renewing(
        async {
            // Renewed once or twice, then lost: the next renewal finds no lease of its own.
            sleep_for(Duration::from_millis(50)).await;
            block_on(crate::ReplayStore::release(&*store, &key)).expect("released");
            // The app goes on for several leases after that.
            sleep_for(Duration::from_millis(200)).await;
            "<Response/>"
        },
        sleep_for,
    ));
    assert_eq!(answer, "<Response/>");
    block_on(delivery.finish(StatusCode::OK));
}

use http::Method;

use super::*;
use crate::replay::tests::block_on;

#[test]
fn an_answer_survives_the_store_and_keeps_only_content_headers() {
    let answer = StoredAnswer::new(
        200,
        [
            ("Content-Type", b"text/xml".as_slice()),
            ("Content-Length", b"11".as_slice()),
            ("Connection", b"close".as_slice()),
            ("Set-Cookie", b"session=1".as_slice()),
            ("X-App", b"\xff binary".as_slice()),
        ],
        b"<Response/>".to_vec(),
    );
    let names: Vec<&str> = answer.headers().map(|(n, _)| n).collect();
    assert_eq!(names, ["content-type", "x-app"]);
    let get = http::Method::GET;
    let value = Entry::value_for(Some((&get, &answer)));
    assert_eq!(
        Entry::from_value(&value),
        Entry::Answered(Arc::new(answer.kept_for(&get)))
    );
    // Every truncation, and one byte too many, is read as not kept, never as an answer.
    for end in 1..value.len() {
        assert_eq!(Entry::from_value(&value[..end]), Entry::NotKept, "{end}");
    }
    let mut longer = value.clone();
    longer.push(0);
    assert_eq!(Entry::from_value(&longer), Entry::NotKept);
    assert_eq!(Entry::from_value(&Entry::value_for(None)), Entry::NotKept);
    assert_eq!(Entry::from_value(b"0123abcd"), Entry::InFlight);
}

/// Issue 28 ("Trust, round two"): a `HEAD` and a `GET` of one URL-only signature share a key, and
/// the `HEAD`'s empty answer was given to Twilio's `GET`. A kept answer now says which method it
/// answered, and answers that one alone.
#[test]
fn an_answer_is_kept_for_its_method_and_answers_no_other() {
    let answer = StoredAnswer::new(200, [], b"<Response/>".to_vec());
    assert_eq!(answer.method(), None);
    for method in [http::Method::GET, http::Method::HEAD, http::Method::POST] {
        assert!(!answer.answers(&method), "not kept yet: answers none");
    }
    for kept in [http::Method::GET, http::Method::POST, http::Method::HEAD] {
        let value = Entry::value_for(Some((&kept, &answer)));
        let Entry::Answered(read) = Entry::from_value(&value) else {
            panic!("{kept}: not read back");
        };
        assert_eq!(read.method(), Some(&kept));
        for method in [
            http::Method::GET,
            http::Method::HEAD,
            http::Method::POST,
            http::Method::from_bytes(b"get").unwrap(),
        ] {
            assert_eq!(read.answers(&method), method == kept, "{kept} {method}");
        }
    }
    // An answer kept by the previous version, without its method, answers nobody.
    let mut v1 = b"\0twa1".to_vec();
    v1.extend_from_slice(&200u16.to_be_bytes());
    v1.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Entry::from_value(&v1), Entry::NotKept);
}

/// Issue 28 ("Trust, round two"): a kept `204` was sent with `content-length: 0`. A `1xx`, `204`
/// or `304` is kept without a body and sent without a length, as a fresh one is.
#[test]
fn an_answer_without_content_has_no_length_and_no_body() {
    for status in [204, 304, 100, 199] {
        let answer = StoredAnswer::new(status, [], b"stray".to_vec());
        assert_eq!((answer.content_length(), answer.body()), (None, &b""[..]));
    }
    for (status, body) in [
        (200, &b"<Response/>"[..]),
        (200, b""),
        (205, b""),
        (404, b"no"),
    ] {
        let answer = StoredAnswer::new(status, [], body.to_vec());
        assert_eq!(answer.content_length(), Some(body.len() as u64), "{status}");
        assert_eq!(answer.body(), body);
    }
    // A stored 204 with a body (never written so) is read as not kept.
    let mut crafted = StoredAnswer::new(200, [], b"x".to_vec());
    crafted.status = 204;
    let value = Entry::value_for(Some((&http::Method::GET, &crafted)));
    assert_eq!(Entry::from_value(&value), Entry::NotKept);
    crafted.body.clear();
    let value = Entry::value_for(Some((&http::Method::GET, &crafted)));
    assert!(matches!(Entry::from_value(&value), Entry::Answered(_)));
}

#[test]
fn modes_parse_by_name() {
    assert_eq!(Duplicates::parse("reject"), Ok(Duplicates::Reject));
    assert_eq!(Duplicates::parse(" Answer "), Ok(Duplicates::answer()));
    assert!(
        Duplicates::parse("yes")
            .unwrap_err()
            .contains("reject or answer")
    );
}

/// Answer mode over a memory store, with a short wait for answers in flight.
fn answer_mode() -> ReplayGuard {
    ReplayGuard::new(super::super::MemoryStore::new()).duplicates(Duplicates::Answer {
        max_body: 64,
        wait: Duration::from_millis(600),
    })
}

fn key(n: u32) -> ReplayKey {
    ReplayKey::new("primary", &n.to_string())
}

/// Issue 28 ("Trust, round two"), finding 1: the key is the signature alone, and a `HEAD` raced in
/// first kept its empty answer for Twilio's `GET`. An answer to `HEAD` is never kept, and a duplicate
/// gets an answer only if it was kept for its own method: any other is refused (`409`), never
/// answered, whether the answer was already there or came while it waited.
#[test]
fn a_duplicate_gets_only_an_answer_kept_for_its_method() {
    let guard = answer_mode();
    let twiml = StoredAnswer::new(200, [], b"<Response/>".to_vec());
    // A HEAD first: delivered once, its answer not kept, whatever the adapter hands over.
    assert!(!guard.keeps_answer(&Method::HEAD, 200, Some(0)));
    assert_eq!(block_on(guard.check(&key(1), &Method::HEAD)), Ok(()));
    block_on(guard.delivered(&key(1), &Method::HEAD, 200, Some(&twiml)));
    for method in [Method::GET, Method::HEAD] {
        assert_eq!(
            block_on(guard.check(&key(1), &method)),
            Err(ReplayRefusal::Replayed),
            "{method}"
        );
    }
    // A GET first: its answer is kept for GET, and a HEAD or POST with its signature is refused.
    assert!(guard.keeps_answer(&Method::GET, 200, Some(11)));
    assert_eq!(block_on(guard.check(&key(2), &Method::GET)), Ok(()));
    block_on(guard.delivered(&key(2), &Method::GET, 200, Some(&twiml)));
    for method in [Method::HEAD, Method::POST] {
        assert_eq!(
            block_on(guard.check(&key(2), &method)),
            Err(ReplayRefusal::Replayed),
            "{method}"
        );
    }
    assert_eq!(
        block_on(guard.check(&key(2), &Method::GET)),
        Err(ReplayRefusal::Answered(Arc::new(
            twiml.kept_for(&Method::GET)
        )))
    );
    // A HEAD that waits for a GET in flight is refused when the GET's answer comes.
    assert_eq!(block_on(guard.check(&key(3), &Method::GET)), Ok(()));
    let (first, kept) = (guard.clone(), twiml.clone());
    let app = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        block_on(first.delivered(&key(3), &Method::GET, 200, Some(&kept)));
    });
    let start = Instant::now();
    assert_eq!(
        block_on(guard.check(&key(3), &Method::HEAD)),
        Err(ReplayRefusal::Replayed)
    );
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "it waited for the answer, not in vain"
    );
    app.join().unwrap();
}

/// An interim answer (`101` to a WebSocket handshake) is not the whole answer: never kept.
#[test]
fn an_interim_answer_is_never_kept() {
    let guard = answer_mode();
    let switching = StoredAnswer::new(101, [("upgrade", b"websocket".as_slice())], Vec::new());
    assert!(!guard.keeps_answer(&Method::GET, 101, Some(0)));
    assert!(guard.keeps_answer(&Method::GET, 204, Some(0)));
    assert_eq!(block_on(guard.check(&key(1), &Method::GET)), Ok(()));
    block_on(guard.delivered(&key(1), &Method::GET, 101, Some(&switching)));
    assert_eq!(
        block_on(guard.check(&key(1), &Method::GET)),
        Err(ReplayRefusal::Replayed)
    );
}

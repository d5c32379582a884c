//! `--replay-duplicates answer`: two guards sharing a real `redis-server`, in front of an echo upstream
//! that takes 1.5 s on `/slow`. A duplicate (Twilio's retry carries the same signature) that arrives
//! while the first delivery is in flight waits for it and gets the same answer; one that arrives later
//! gets it at once; neither reaches the app. A duplicate of a delivery that failed (`504`) is delivered.

use std::time::{Duration, Instant};

use twilio_webhook_http_suite as suite;

mod support;
use support::{Echo, Guard, TOKEN, metrics};

fn request(path: &str, body: &[u8]) -> suite::RawRequest {
    support::signed_public(path, body)
}

fn guard(echo: &Echo, redis: &suite::RedisServer, extra: &[&str]) -> Guard {
    let url = redis.url();
    let mut args = vec![
        "--replay",
        &url,
        "--replay-duplicates",
        "answer",
        "--public-url",
        "https://hooks.example.com",
    ];
    args.extend_from_slice(extra);
    Guard::start(&echo.url(), &args)
}

#[test]
fn duplicates_get_the_first_answer_across_two_guards_and_never_reach_the_app() {
    let echo = Echo::start();
    let redis = suite::RedisServer::start();
    let admin = suite::free_port();
    let a = guard(&echo, &redis, &[]);
    let b = guard(
        &echo,
        &redis,
        &["--admin-listen", &format!("127.0.0.1:{admin}")],
    );
    suite::wait_for(admin);
    let retry = request("/slow", b"Body=retried&CallSid=CA1");

    // The first delivery to guard a; Twilio's retry reaches guard b while the app is still working.
    let first = {
        let retry = retry.clone();
        let port = a.port;
        std::thread::spawn(move || suite::send(port, &retry).expect("a answers"))
    };
    std::thread::sleep(Duration::from_millis(400));
    let started = Instant::now();
    let during = suite::send(b.port, &retry).expect("b answers");
    let waited = started.elapsed();
    let first = first.join().expect("first");
    assert_eq!(
        (first.status, first.text()),
        (200, "Body=retried&CallSid=CA1".to_string())
    );
    assert_eq!((during.status, during.text()), (first.status, first.text()));
    assert!(
        waited >= Duration::from_millis(700),
        "it waited for the first answer: {waited:?}"
    );
    assert_eq!(
        echo.hits(),
        1,
        "the duplicate in flight never reached the app"
    );

    // A later duplicate, to either guard: the same answer at once.
    for port in [b.port, a.port] {
        let started = Instant::now();
        let later = suite::send(port, &retry).expect("answer");
        assert_eq!((later.status, later.text()), (first.status, first.text()));
        assert!(
            started.elapsed() < Duration::from_millis(1000),
            "{:?}",
            started.elapsed()
        );
    }
    assert_eq!(echo.hits(), 1);
    let shown = metrics(admin);
    assert!(
        shown.contains(
            "twilio_guard_requests_total{verdict=\"duplicate\",reason=\"answered\",cause=\"\"} 2"
        ),
        "{shown}"
    );

    // A different request is not a duplicate; a forged one is still refused.
    let other = suite::send(b.port, &request("/sms", b"Body=other")).expect("b");
    assert_eq!((other.status, echo.hits()), (200, 2));
    let mut forged = request("/sms", b"Body=other");
    forged.body = b"Body=forged".to_vec();
    assert_eq!(suite::send(a.port, &forged).expect("a").status, 403);
}

#[test]
fn a_duplicate_of_a_failed_delivery_is_delivered() {
    let echo = Echo::start();
    let redis = suite::RedisServer::start();
    // Guard c gives up on the slow app after 1 s (504): the key is released.
    let c = guard(&echo, &redis, &["--upstream-timeout", "1s"]);
    let a = guard(&echo, &redis, &[]);
    let slow = request("/slow", b"Body=timed+out");
    assert_eq!(suite::send(c.port, &slow).expect("c").status, 504);
    let retried = suite::send(a.port, &slow).expect("a");
    assert_eq!(
        (retried.status, retried.text()),
        (200, "Body=timed+out".to_string())
    );
    // Both deliveries reached the app; the answer of the second is now kept.
    assert_eq!(echo.hits(), 2);
    let again = suite::send(c.port, &slow).expect("c");
    assert_eq!(
        (again.status, again.text()),
        (200, "Body=timed+out".to_string())
    );
    assert_eq!(echo.hits(), 2);
}

#[test]
fn a_duplicate_of_a_delivery_whose_guard_crashed_is_delivered_once_its_lease_lapses() {
    let echo = Echo::start();
    let redis = suite::RedisServer::start();
    // Guard a leases a request in flight for its upstream time-out, 3 s; b waits up to 30 s.
    let mut a = guard(&echo, &redis, &["--upstream-timeout", "3s"]);
    let b = guard(&echo, &redis, &[]);
    let slow = request("/slow", b"Body=crashed&CallSid=CA2");
    let first = {
        let (slow, port) = (slow.clone(), a.port);
        std::thread::spawn(move || suite::send(port, &slow).ok())
    };
    // Guard a is killed while the app works on the first delivery: its key stays marked in flight.
    std::thread::sleep(Duration::from_millis(400));
    let marked = Instant::now();
    let _ = a.child.kill();
    let _ = a.child.wait();
    assert!(first.join().expect("first").is_none_or(|r| r.status != 200));
    // Twilio's retry, to guard b: delivered once the lease lapses, long before b's 30 s wait.
    let retried = suite::send(b.port, &slow).expect("b answers");
    let waited = marked.elapsed();
    assert_eq!(
        (retried.status, retried.text()),
        (200, "Body=crashed&CallSid=CA2".to_string())
    );
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    assert_eq!(echo.hits(), 2, "the retry reached the app");
    // Its answer is kept for the window: a later duplicate gets it without reaching the app.
    let later = suite::send(b.port, &slow).expect("b answers");
    assert_eq!(
        (later.status, later.text()),
        (retried.status, retried.text())
    );
    assert_eq!(echo.hits(), 2);
}

#[test]
fn answer_mode_without_a_store_is_a_usage_error() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twilio-webhook"))
        .args([
            "guard",
            "--upstream",
            "http://127.0.0.1:9",
            "--replay-duplicates",
            "answer",
        ])
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .env_remove("TWILIO_REPLAY")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--replay-duplicates answer needs --replay"),
        "{stderr}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twilio-webhook"))
        .args([
            "guard",
            "--upstream",
            "http://127.0.0.1:9",
            "--replay",
            "memory",
            "--replay-duplicates",
            "maybe",
        ])
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reject or answer"));
}

/// Issue 28, F7, across two guards sharing Redis: with an app that takes 12 s, a duplicate sent to
/// guard b 11 s after the first delivery reached guard a (past the 10 s lease) waits for the first
/// answer, because guard a renews the lease while its upstream works; the app sees one delivery.
#[test]
fn a_duplicate_sent_after_the_lease_of_a_slow_delivery_gets_its_answer_across_guards() {
    let echo = Echo::start();
    let redis = suite::RedisServer::start();
    let a = guard(&echo, &redis, &[]);
    let b = guard(&echo, &redis, &[]);
    let slow = request("/sleep/12000", b"Body=slow&CallSid=CA7");
    let first = {
        let (slow, port) = (slow.clone(), a.port);
        std::thread::spawn(move || suite::send(port, &slow).expect("a answers"))
    };
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(11));
    let duplicate = suite::send(b.port, &slow).expect("b answers");
    let answered = start.elapsed();
    let first = first.join().expect("first");
    assert_eq!(
        (first.status, first.text()),
        (200, "Body=slow&CallSid=CA7".to_string())
    );
    assert_eq!(
        (duplicate.status, duplicate.text()),
        (first.status, first.text()),
        "the duplicate got the first answer"
    );
    assert!(answered >= Duration::from_secs(12), "{answered:?}");
    assert_eq!(echo.hits(), 1, "the app saw one delivery");
}

/// Issue 28, F7: Redis renews a lease (one Lua script) only for the delivery holding it, and only
/// while it is in flight: never a lapsed, re-taken, answered or released key.
#[test]
fn redis_renews_a_lease_only_for_its_holder_while_in_flight() {
    use twilio_webhook::{LeaseToken, RedisStore, ReplayKey, ReplayStore as _, Seen};
    let redis = suite::RedisServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = RedisStore::connect(&redis.url()).await.expect("connects");
        let key = ReplayKey::new("primary", "lease-test");
        let (ours, theirs) = (LeaseToken::unique(), LeaseToken::unique());
        let lease = Duration::from_millis(300);
        let renew = |token: &LeaseToken| {
            let (store, key, token) = (store.clone(), key, token.clone());
            async move { store.renew(&key, &token, lease).await.expect("renew") }
        };
        assert!(!renew(&ours).await, "absent");
        assert_eq!(
            store.check_and_lease(&key, &ours, lease).await,
            Ok(Seen::First)
        );
        assert!(!renew(&theirs).await, "another delivery's lease");
        // Renewed for twice its lease, it still holds the key.
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert!(renew(&ours).await);
        }
        assert_eq!(
            store.check_and_lease(&key, &theirs, lease).await,
            Ok(Seen::Replay)
        );
        // Lapsed, then taken by another delivery: renews nothing, and not the other's lease.
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!renew(&ours).await, "lapsed");
        assert_eq!(
            store.check_and_lease(&key, &theirs, lease).await,
            Ok(Seen::First)
        );
        assert!(!renew(&ours).await, "re-taken");
        assert!(renew(&theirs).await);
        // Answered: its answer is never renewed as a lease (nor cut short to one).
        store
            .keep(&key, b"\0twn1".to_vec(), Duration::from_secs(60))
            .await
            .expect("kept");
        assert!(!renew(&theirs).await, "answered");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(store.value(&key).await.expect("value").is_some());
        // Released: nothing to renew.
        store.release(&key).await.expect("released");
        assert!(!renew(&theirs).await, "released");
    });
}

//! Issue 28 ("Trust, round two"): `--replay memory --replay-duplicates answer` against the real guard,
//! in front of the echo upstream, each answer read byte for byte as a client reads it. A `HEAD` and a
//! `GET` of one URL carry the same URL-only signature: neither gets an answer kept for the other. An
//! answer to `HEAD` carries one `Content-Length`; a kept `204` or `304` none, and no body.

mod support;

use support::{Echo, Guard, TWIML, exchange, head_of, signed};

fn guard(echo: &Echo) -> Guard {
    Guard::start(
        &echo.url(),
        &["--replay", "memory", "--replay-duplicates", "answer"],
    )
}

/// An answer as the client read it on a connection the guard then closed.
struct Answer {
    status: u16,
    /// The values of its `Content-Length` fields.
    lengths: Vec<String>,
    /// Every byte after its head.
    rest: String,
    /// The whole answer, for messages.
    text: String,
}

/// Sends `method` on `target`, signed (URL alone) for the guard, and reads the whole answer.
fn send(guard: &Guard, method: &'static str, target: &str) -> Answer {
    let mut request = signed(guard.port, target, "text/plain", b"", &[]);
    request.method = method;
    let (text, _) = exchange(guard.port, &head_of(&request, "Connection: close\r\n"), b"");
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    let lengths = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| value.trim().to_string())
        .collect();
    Answer {
        status,
        lengths,
        rest: rest.to_string(),
        text: text.clone(),
    }
}

fn twiml_length() -> Vec<String> {
    vec![TWIML.len().to_string()]
}

/// Finding 1: a `HEAD` raced in first (after a `502` released the key while Twilio retries) kept its
/// empty answer, and Twilio's `GET` then got `200` without a body. Now the `HEAD`'s answer is never
/// kept and a duplicate is answered only with an answer to its own method: the `GET` is refused
/// (`409`, a failed delivery Twilio retries or falls back from), never answered empty; a `HEAD` after
/// a `GET` is refused too, and the `GET`'s duplicates still get its answer.
#[test]
fn issue_28_a_head_and_a_get_never_get_each_others_answer() {
    let echo = Echo::start();
    let guard = guard(&echo);
    let head = send(&guard, "HEAD", "/twiml?CallSid=CA1");
    assert_eq!(
        (head.status, head.rest.as_str()),
        (200, ""),
        "{}",
        head.text
    );
    let get = send(&guard, "GET", "/twiml?CallSid=CA1");
    assert_eq!(
        get.status, 409,
        "the HEAD's answer given to a GET: {}",
        get.text
    );
    assert_eq!(get.lengths.len(), 1, "{}", get.text);
    assert_eq!(echo.hits(), 1, "the signature was delivered once");

    let get = send(&guard, "GET", "/twiml?CallSid=CA2");
    assert_eq!(
        (get.status, get.rest.as_bytes()),
        (200, TWIML),
        "{}",
        get.text
    );
    let head = send(&guard, "HEAD", "/twiml?CallSid=CA2");
    assert_eq!(
        head.status, 409,
        "a GET's answer given to a HEAD: {}",
        head.text
    );
    assert_eq!(
        (head.lengths.len(), head.rest.as_str()),
        (1, ""),
        "{}",
        head.text
    );
    let again = send(&guard, "GET", "/twiml?CallSid=CA2");
    assert_eq!(
        (again.status, again.rest.as_bytes()),
        (200, TWIML),
        "{}",
        again.text
    );
    assert_eq!(again.lengths, twiml_length(), "{}", again.text);
    assert_eq!(echo.hits(), 2, "duplicates never reach the app");
}

/// Finding 2: in answer mode an answer to `HEAD` was written with the upstream's `Content-Length`
/// and the guard's own (`0`): two fields that disagree. Now it is relayed as in any other mode: the
/// length of the body a `GET` would get, once, and no body.
#[test]
fn issue_28_an_answer_to_head_has_one_content_length() {
    let echo = Echo::start();
    let guard = guard(&echo);
    let head = send(&guard, "HEAD", "/twiml?CallSid=CA3");
    assert_eq!(head.status, 200, "{}", head.text);
    assert_eq!(head.lengths, twiml_length(), "{}", head.text);
    assert_eq!(head.rest, "", "a body after the head: {}", head.text);
}

/// Finding 3: a kept `204` or `304` was written with `content-length: 0`, on the first delivery and
/// to every duplicate (RFC 9110 §8.6: never in a `204`; a `304` has no body). Now both are framed as a
/// fresh answer with that status is: no `Content-Length`, no body.
#[test]
fn issue_28_a_kept_204_or_304_has_no_length_and_no_body() {
    let echo = Echo::start();
    let guard = guard(&echo);
    for status in [204, 304] {
        let target = format!("/status/{status}?CallSid=CA4");
        for attempt in ["first", "duplicate"] {
            let answer = send(&guard, "GET", &target);
            assert_eq!(answer.status, status, "{attempt}: {}", answer.text);
            assert!(
                answer.lengths.is_empty() && answer.rest.is_empty(),
                "{attempt}: {:?}",
                answer.text
            );
        }
    }
    assert_eq!(echo.hits(), 2, "the duplicates were answered by the guard");
}

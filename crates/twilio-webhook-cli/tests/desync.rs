//! Issue 28 ("Trust, round two"), the third outside attack: requests an upstream that leaves a body
//! unread parses as the next one on its connection (a desync), against the real guard. A verified
//! form whose raw body held a request, and a passed route's body that was one.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod support;
use support::{Echo, FORM, Guard, exchange, signed};

/// Third outside attack (F17): a verified SMS webhook re-split (the key/value boundary is not signed)
/// so that its raw form body holds an HTTP request: raw CR and LF were accepted inside a form key. An
/// upstream handler that leaves the body unread (an auto-reply) then ran `POST /twilio/admin` marked
/// verified. Twilio percent-encodes every CR, LF and NUL in a form, so a raw one is `malformed_body`,
/// never forwarded; the same parameters sent encoded are delivered.
#[test]
fn issue_28_a_form_body_with_a_raw_line_break_is_never_forwarded() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let smuggled: &[u8] = b"Body=hi&x\r\n\r\nPOST /twilio/admin HTTP/1.1\r\nHost: x\r\n\
        X-Twilio-Webhook-Verified: primary\r\nContent-Length: 0\r\n\r\n=1";
    for body in [smuggled, b"Body=a\nb", b"Body=a\rb", b"Body=a\0b"] {
        let request = signed(guard.port, "/sms", FORM, body, &[]);
        let head = support::head_of(
            &request,
            &format!("Content-Length: {}\r\nConnection: close\r\n", body.len()),
        );
        let (answer, _) = exchange(guard.port, &head, body);
        assert!(answer.contains("malformed_body"), "{body:?}: {answer}");
    }
    assert_eq!(echo.hits(), 0, "nothing reached the upstream");
    let encoded = b"Body=a%0D%0Ab%00c";
    let request = signed(guard.port, "/sms", FORM, encoded, &[]);
    let head = support::head_of(
        &request,
        &format!("Content-Length: {}\r\nConnection: close\r\n", encoded.len()),
    );
    let (answer, _) = exchange(guard.port, &head, encoded);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(echo.hits(), 1);
}

/// An upstream as Python's `http.server` (HTTP/1.1) serves: it answers each request without reading
/// its body, keeps the connection unless the request says `Connection: close`, and reads whatever
/// follows as the next request. Returns its URL and the request lines it served.
fn body_ignoring_upstream() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut writer = stream;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut close = false;
                    loop {
                        let mut field = String::new();
                        if reader.read_line(&mut field).unwrap_or(0) == 0 || field == "\r\n" {
                            break;
                        }
                        close |= field.to_ascii_lowercase().starts_with("connection: close");
                    }
                    log.lock().expect("log").push(line.trim_end().to_string());
                    let _ = writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                    if close {
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

/// Third outside attack (F3): an unsigned `POST` on a `--pass` route whose body is a request carrying
/// `X-Twilio-Webhook-Verified`; its handler leaves the body unread, so the upstream parsed it as the
/// next request on that connection, marked verified. Now a passed body goes with `Connection: close`
/// on a connection never reused, and the upstream serves the one request sent.
#[test]
fn issue_28_a_passed_body_is_never_read_by_the_upstream_as_a_request() {
    let (url, seen) = body_ignoring_upstream();
    let guard = Guard::start(&url, &["--pass", "/health"]);
    let smuggled = b"POST /sms HTTP/1.1\r\nHost: x\r\nX-Twilio-Webhook-Verified: primary\r\n\
        Content-Length: 0\r\n\r\n";
    let head = format!(
        "POST /health HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        smuggled.len()
    );
    let (answer, _) = exchange(guard.port, &head, smuggled);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // A second request through the guard, on whichever upstream connection it picks.
    let (answer, _) = exchange(
        guard.port,
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    std::thread::sleep(Duration::from_millis(200));
    let seen = seen.lock().expect("log").clone();
    assert_eq!(
        seen,
        ["POST /health HTTP/1.1", "GET /health HTTP/1.1"],
        "the upstream served only what the guard forwarded"
    );
}

/// Third outside attack (F19): the key/value boundary of a form is not signed, so a genuine SMS whose
/// text ends in `From+10005550000` also verifies re-split as `Body=hello&From=+10005550000&From=<the
/// real sender>` (spec §2 sorts a key's values, and the forged one sorts first). The upstream got two
/// `From` values, and Flask's `request.form["From"]` or a servlet's `getParameter("From")` reads the
/// forged one. Twilio sends each name once: a name with two values is `repeated_parameter`, never
/// forwarded; the SMS as sent is delivered.
#[test]
fn issue_28_a_resplit_form_with_a_second_from_is_never_forwarded() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let send = |body: &[u8]| post_form(guard.port, body);
    let sent = b"AccountSid=AC123&Body=helloFrom%2B10005550000&From=%2B15551234&To=%2B15556666";
    let resplit =
        b"AccountSid=AC123&Body=hello&From=%2B10005550000&From=%2B15551234&To=%2B15556666";
    // The two bodies sign alike: the re-split one carries the genuine signature.
    let signature = |body: &[u8]| {
        let r = signed(guard.port, "/sms", FORM, body, &[]);
        let named = |(n, _): &&(String, String)| n.eq_ignore_ascii_case("x-twilio-signature");
        r.headers.iter().find(named).map(|(_, v)| v.clone())
    };
    assert_eq!(signature(sent), signature(resplit));
    let answer = send(resplit);
    assert!(
        answer.starts_with("HTTP/1.1 400") && answer.contains("repeated_parameter"),
        "{answer}"
    );
    assert_eq!(
        echo.hits(),
        0,
        "the re-split form did not reach the upstream"
    );
    let answer = send(sent);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(echo.hits(), 1);
}

/// Fourth outside attack: the content coding is not signed. A genuine SMS re-split so that its raw
/// bytes are both the verified form and a deflate stream of other parameters was verified and
/// forwarded with `Content-Encoding: deflate`; Express's body-parser inflated it and the app read a
/// forged `From`, marked verified. Twilio never compresses a webhook: any content coding (and any
/// transfer coding but `chunked`) is `415 unsupported_content_encoding`, never forwarded.
#[test]
fn issue_28_a_coded_body_is_never_forwarded() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let body = b"Body=hi&From=%2B15551234";
    for coding in ["deflate", "gzip", "identity, gzip", "br"] {
        let request = signed(guard.port, "/sms", FORM, body, &[]);
        let head = support::head_of(
            &request,
            &format!(
                "Content-Encoding: {coding}\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            ),
        );
        let (answer, _) = exchange(guard.port, &head, body);
        assert!(
            answer.starts_with("HTTP/1.1 415") && answer.contains("unsupported_content_encoding"),
            "{coding}: {answer}"
        );
    }
    assert_eq!(echo.hits(), 0, "no coded body reached the upstream");
    let request = signed(guard.port, "/sms", FORM, body, &[]);
    let head = support::head_of(
        &request,
        &format!(
            "Content-Encoding: identity\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        ),
    );
    let (answer, _) = exchange(guard.port, &head, body);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(echo.hits(), 1);
}

/// Fourth outside attack: forms PHP reads as other parameters than were verified, behind the guard.
/// PHP cuts a key at a NUL, so a re-split genuine SMS with the keys `From\0X` and `From+1…` (the real
/// sender swallowed into a key) gave `$_POST['From']` the forged number; and PHP stops after
/// `max_input_vars` (1000) parts, empty ones counted, while the signature skips empty parts, so 1000
/// `&` before `From` hid the sender. Both are `400 ambiguous_form`, never forwarded.
#[test]
fn issue_28_forms_php_reads_apart_are_never_forwarded() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let send = |body: &[u8]| post_form(guard.port, body);
    let nul = b"Body=hi&From%00X=%2B15550000001&From%2B15550000666=".to_vec();
    let mut empties = b"Body=hi".to_vec();
    empties.extend(std::iter::repeat_n(b'&', 1000));
    empties.extend_from_slice(b"&From=%2B15551234");
    // PHP also drops a key's leading spaces, and the pair of an empty key (fourth attack, F10).
    let space = b"=AccountSidAC1Bodyhi&+From=%2B15550000001&From=%2B15551234".to_vec();
    // Go drops a pair with a raw `;`, Go and Tomcat one with an invalid escape (F15).
    let semicolon = b"Body=hi&From=%2B15550000001&K;=FromCityX".to_vec();
    let escape = b"Body=hi&From=%2B15550000001&K%zz=FromCityX".to_vec();
    for body in [
        nul,
        empties,
        b"Body=hi&From[]=%2B1555".to_vec(),
        space,
        semicolon,
        escape,
    ] {
        let answer = send(&body);
        assert!(
            answer.starts_with("HTTP/1.1 400") && answer.contains("ambiguous_form"),
            "{answer}"
        );
    }
    assert_eq!(echo.hits(), 0, "no such form reached the upstream");
    let answer = send(b"Body=hi%00&From=%2B15551234");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(echo.hits(), 1);
}

/// Fourth outside attack (F6): a JSON webhook is verified on its bytes (`bodySHA256`), whatever its
/// `Content-Type`. Replayed unchanged as `application/x-www-form-urlencoded`, Express and PHP behind
/// the guard parsed the JSON text as a form, and `&`/`=` inside an attacker-written string became
/// fields (`From`, `EventType`), marked verified. A body verified as bytes and sent as a form is
/// `400 ambiguous_form`; sent as JSON it is delivered.
#[test]
fn issue_28_a_json_body_sent_as_a_form_is_never_forwarded() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let json = br#"{"data":{"body":"x&From=+15550000001&EventType=admin.grant&y="}}"#;
    let send = |content_type: &str| {
        let mut request = support::signed_body(guard.port, "/events", json);
        for (name, value) in &mut request.headers {
            if name.eq_ignore_ascii_case("content-type") {
                *value = content_type.to_string();
            }
        }
        let head = support::head_of(
            &request,
            &format!("Content-Length: {}\r\nConnection: close\r\n", json.len()),
        );
        exchange(guard.port, &head, json).0
    };
    let listed = "application/x-www-form-urlencoded,application/json";
    for form in [FORM, "multipart/form-data; boundary=x", listed] {
        let answer = send(form);
        assert!(
            answer.starts_with("HTTP/1.1 400") && answer.contains("ambiguous_form"),
            "{form}: {answer}"
        );
    }
    assert_eq!(
        echo.hits(),
        0,
        "the JSON body sent as a form did not reach the upstream"
    );
    let answer = send("application/json");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(echo.hits(), 1);
}

/// A form POST of `body` to `/sms` on the guard at `port`, signed as sent, on a connection of its own:
/// the answer.
fn post_form(port: u16, body: &[u8]) -> String {
    let request = signed(port, "/sms", FORM, body, &[]);
    let head = support::head_of(
        &request,
        &format!("Content-Length: {}\r\nConnection: close\r\n", body.len()),
    );
    exchange(port, &head, body).0
}

//! Issue 28 ("Trust, round two"), F10: the guard forwarded a verified request's `Cookie` as sent, and
//! PHP's `$_REQUEST` (no `php.ini`, as in the official Docker image: `request_order` unset, so
//! `variables_order` "GPCS" and cookies last) let a cookie replace the signed `From` and `Body`. Now
//! the core decides which pairs survive (`twilio_webhook::forwarded_cookies`) and the guard applies
//! it; against the real guard, with an upstream that records what it got and with a real PHP.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use twilio_webhook_http_suite as suite;

mod support;
use support::{FORM, Guard, exchange, head_of, signed};

/// The signed form of the auditor's request, and the cookies that replaced its parameters.
const BODY: &[u8] = b"Body=hi&From=%2B15551234567";
const FORGED: &str = "From=%2B19995550000; Body=transfer%20all; Digits=1234";

/// An upstream that records the head of every request it gets, as received, reads its body and
/// answers `200` with `Connection: close`.
fn recording_upstream() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            log.lock().expect("log").push(head);
            let mut stream = stream;
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (url, seen)
}

/// The `Cookie` lines of a recorded head, their values as sent.
fn cookie_lines(head: &str) -> Vec<&str> {
    head.split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("cookie"))
        .map(|(_, value)| value.trim())
        .collect()
}

/// The auditor's request on the guard at `port`, verified, with `cookies` as its `Cookie` fields.
fn send(port: u16, target: &str, cookies: &[&str]) -> String {
    let extra: Vec<(&str, &str)> = cookies.iter().map(|c| ("Cookie", *c)).collect();
    let request = signed(port, target, FORM, BODY, &extra);
    let framing = format!("Content-Length: {}\r\nConnection: close\r\n", BODY.len());
    exchange(port, &head_of(&request, &framing), BODY).0
}

#[test]
fn issue_28_f10_no_cookie_reaches_the_app_as_a_signed_parameter() {
    let (url, seen) = recording_upstream();
    let guard = Guard::start(&url, &[]);
    let answer = send(
        guard.port,
        "/sms",
        &[&format!("PHPSESSID=s1; {FORGED}; lang=en")],
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Query parameters are signed too; to PHP an array spelling is the same name, and ` ` and `.`
    // are `_`; a second field is read alone; the cookies that collide with nothing stay, byte for
    // byte.
    let answer = send(
        guard.port,
        "/sms?CallSid=CA1&Call.Status=ringing",
        &["CallSid[x]=CA9;Digits=1", "Call Status=x; theme=dark"],
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Nothing collides: the field as sent.
    let answer = send(guard.port, "/sms", &["PHPSESSID=s1;lang=en"]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let seen = seen.lock().expect("log").clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    let cookies: Vec<Vec<&str>> = seen.iter().map(|head| cookie_lines(head)).collect();
    assert_eq!(
        cookies,
        [
            vec!["PHPSESSID=s1; Digits=1234; lang=en"],
            vec!["Digits=1", "theme=dark"],
            vec!["PHPSESSID=s1;lang=en"],
        ]
    );
    assert!(
        seen.iter()
            .all(|h| h.contains("x-twilio-webhook-verified: primary")),
        "{seen:?}"
    );
}

/// `php -n -S` with a router script that answers what `$_REQUEST` holds, as the auditor's app did.
struct Php(Child);

impl Drop for Php {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const APP: &str = r#"<?php
$out = "verified=" . ($_SERVER['HTTP_X_TWILIO_WEBHOOK_VERIFIED'] ?? '(none)')
    . " From=" . ($_REQUEST['From'] ?? '') . " Body=" . ($_REQUEST['Body'] ?? '')
    . " session=" . ($_COOKIE['PHPSESSID'] ?? '') . "\n";
// One piece, with its length: relayed as it is, never in chunks.
header('Content-Type: text/plain');
header('Content-Length: ' . strlen($out));
echo $out;
"#;

#[test]
fn issue_28_f10_php_request_reads_the_signed_parameters() {
    let dir = std::env::temp_dir().join(format!("twilio-webhook-php-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let router = dir.join("router.php");
    std::fs::write(&router, APP).expect("router");
    let port = suite::free_port();
    let php = Php(Command::new("php")
        .args(["-n", "-S", &format!("127.0.0.1:{port}")])
        .arg(&router)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("php runs (apt-get install php-cli; .ci/run does)"));
    suite::wait_for(port);
    let guard = Guard::start(&format!("http://127.0.0.1:{port}"), &[]);
    let answer = send(guard.port, "/sms", &[&format!("PHPSESSID=s1; {FORGED}")]);
    assert!(
        answer.contains("verified=primary From=+15551234567 Body=hi session=s1"),
        "{answer}"
    );
    drop(php);
    let _ = std::fs::remove_dir_all(&dir);
}

//! The diagnosis contract: behind a tunnel with no configuration, the first refused webhook explains
//! itself in the server's own log (what Twilio signed, and the one setting to change), never in the
//! response.

use std::time::{Duration, Instant};

use crate::server::Example;
use crate::{CONFIGS, SMS, form, send};

/// The tunnel's public host: ngrok passes it as `Host` and adds `X-Forwarded-Proto: https`.
const TUNNEL: &str = "abc123.ngrok-free.app";

/// What the log must say, whatever the server's log format around it.
const EXPECTED: [&str; 3] = [
    "Twilio signed https://abc123.ngrok-free.app/sms; this server checked http://abc123.ngrok-free.app/sms",
    "TWILIO_PUBLIC_URL=https://abc123.ngrok-free.app",
    "TWILIO_TRUSTED_PROXIES=127.0.0.1",
];

/// Starts `example` with no configuration behind a tunnel, sends it a genuine webhook, and checks the
/// refusal and the log line; panics with the log when it says less.
pub fn tunnel_contract(example: &Example) {
    let log = std::env::temp_dir().join(format!(
        "twilio-webhook-tunnel-{}-{}.log",
        example.name.replace(['/', ' '], "-"),
        std::process::id()
    ));
    let server = example.spawn(&CONFIGS[0], &[], Some(&log));
    let request = form(
        "/sms",
        TUNNEL,
        &format!("https://{TUNNEL}/sms"),
        SMS,
        &[
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-For", "203.0.113.7"),
        ],
    );
    let response = send(server.port, &request).expect("an answer");
    assert_eq!(
        (response.status, response.text()),
        (
            403,
            "Twilio webhook rejected: signature_mismatch\n".to_string()
        ),
        "{}: the response stays the terse reason",
        example.name
    );
    let start = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if EXPECTED
            .iter()
            .take(if example.peer { 3 } else { 2 })
            .all(|e| text.contains(e))
            || start.elapsed() > Duration::from_secs(5)
        {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(server);
    let _ = std::fs::remove_file(&log);
    // Without a peer address there is no proxy to name.
    let wanted = if example.peer {
        &EXPECTED[..]
    } else {
        &EXPECTED[..2]
    };
    for expected in wanted {
        assert!(
            text.contains(expected),
            "{}: the log does not say {expected:?}:\n{text}",
            example.name
        );
    }
}

//! What the `http` and `diagnose` features log: one `tracing` warning per rejection with its reason,
//! the URLs tried and, within the budget, what Twilio signed and the setting to change; never a secret
//! or the presented signature; nothing for a valid request; report-only mode announcing itself and
//! counting what it passes; trusted proxies without a peer address, said once.
//!
//! Its own test binary with one test: tracing caches each log site's interest process-wide, and a
//! test capturing logs while other tests fire the same log sites can lose events.

use twilio_webhook::{Algorithm, ReportOnly, RequestValidator, Signer, WebhookVerifier};

#[path = "support/captured_log.rs"]
mod captured_log;
use captured_log::Captured;

const TOKEN: &str = "logging-test-token";
const FORM: &str = "application/x-www-form-urlencoded";

fn request(signature: Option<&str>) -> http::request::Parts {
    let mut builder = http::Request::post("/sms")
        .header("host", "a.com")
        .header("content-type", FORM);
    if let Some(signature) = signature {
        builder = builder.header("x-twilio-signature", signature);
    }
    builder.body(()).expect("request").into_parts().0
}

fn sign(url: &str) -> String {
    Signer::new(TOKEN, Algorithm::HmacSha1)
        .expect("signer")
        .sign_form(url, [("Body", "Hi")])
}

#[test]
fn rejections_and_report_only_are_logged_without_secrets() {
    let captured = Captured::install();
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN)).body_limit(64);
    let wrong = sign("http://a.com/other");
    assert!(
        verifier
            .verify_parts(&request(Some(&wrong)), b"Body=Hi")
            .is_err()
    );
    assert!(
        verifier
            .verify_parts(&request(Some(&wrong)), &[b'a'; 65])
            .is_err()
    );
    let good = sign("http://a.com/sms");
    assert!(
        verifier
            .verify_parts(&request(Some(&good)), b"Body=Hi")
            .is_ok()
    );
    let report = ReportOnly::without_enforcing();
    let unsigned = verifier.verify_parts(&request(None), b"").unwrap_err();
    assert!(report.passes(&unsigned));
    assert!(report.clone().passes(&unsigned));
    assert_eq!(report.would_reject(), 2, "clones share the count");

    // A tunnel's https URL checked as http: the line says what Twilio signed and the setting to change;
    // past the budget (one a second here), the terse line.
    let budgeted = WebhookVerifier::new(RequestValidator::new(TOKEN)).diagnoses_per_second(1);
    let tunnel = sign("https://a.com/sms");
    for _ in 0..2 {
        let e = budgeted
            .verify_parts(&request(Some(&tunnel)), b"Body=Hi")
            .unwrap_err();
        assert!(
            e.explanation()
                .is_some_and(|x| x.starts_with("rejected POST /sms"))
        );
    }
    // Trusted proxies without a peer address: said once, however many requests.
    let proxied =
        WebhookVerifier::from_vars(Some(TOKEN), None, Some("10.0.0.1")).expect("verifier");
    for _ in 0..2 {
        assert!(
            proxied
                .verify_parts(&request(Some(&good)), b"Body=Hi")
                .is_ok()
        );
    }

    let log = captured.text();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 9, "{log}");
    assert!(
        lines[0].contains("WARN") && lines[0].contains(r#"reason="signature_mismatch""#),
        "{log}"
    );
    assert!(
        lines[0].contains(r#"urls_tried=["http://a.com/sms"]"#),
        "{log}"
    );
    assert!(lines[1].contains(r#"reason="body_too_large""#), "{log}");
    // Nothing for the valid request; then report-only announcing itself before anything it passes.
    assert!(lines[2].contains("REPORT-ONLY mode"), "{log}");
    assert!(lines[3].contains(r#"reason="missing_signature""#), "{log}");
    assert!(
        lines[4].contains("report-only") && lines[4].contains("would_reject=1"),
        "{log}"
    );
    assert!(
        lines[5].contains(r#"reason="missing_signature" would_reject=2"#),
        "{log}"
    );
    assert!(
        lines[6].contains(
            "rejected POST /sms (signature_mismatch): Twilio signed https://a.com/sms; this server \
             checked http://a.com/sms (scheme). Fix: set TWILIO_PUBLIC_URL=https://a.com (PublicUrl::base)"
        ) && lines[6].contains(r#"cause="scheme""#),
        "{log}"
    );
    assert!(
        lines[7].contains("checked http://a.com/sms (diagnosis over its budget)"),
        "{log}"
    );
    assert!(
        lines[8].contains("ERROR") && lines[8].contains("no peer address"),
        "{log}"
    );
    assert!(
        !log.contains(TOKEN) && !log.contains(&wrong) && !log.contains(&wrong[..8]),
        "{log}"
    );
    assert!(!log.contains(&tunnel[..8]), "{log}");
    // Report-only passes failed signatures and replays only; a request refused for its shape is
    // enforced and not counted (checked after the log above, since building rejections logs).
    for refusal in [
        twilio_webhook::Refusal::UnsupportedCharset,
        twilio_webhook::Refusal::BadHost,
        twilio_webhook::Refusal::BodyLengthMismatch,
        twilio_webhook::Refusal::BodyNotAllowed,
    ] {
        let shaped = twilio_webhook::WebhookRejection::new(refusal, Vec::new());
        assert!(
            !report.passes(&shaped),
            "{refusal:?} is enforced in report-only mode"
        );
    }
    assert_eq!(report.would_reject(), 2, "shaped refusals are not counted");

    // A client-chosen target or Host is logged cut short: an unsigned request with a 60 KB path
    // (or a forged one, whose line names the URL checked) writes a line of a few KiB, not 120 KB.
    let before = captured.text().len();
    let long = format!("/sms/{}", "a;b=c;d/".repeat(7_500));
    for signature in [None, Some(tunnel.as_str())] {
        let mut builder = http::Request::post(long.as_str())
            .header("host", "a.com")
            .header("content-type", FORM);
        if let Some(signature) = signature {
            builder = builder.header("x-twilio-signature", signature);
        }
        let parts = builder.body(()).expect("request").into_parts().0;
        assert!(verifier.verify_parts(&parts, b"Body=Hi").is_err());
    }
    let new = captured
        .text()
        .get(before..)
        .unwrap_or_default()
        .to_string();
    assert_eq!(new.lines().count(), 2, "{new}");
    for line in new.lines() {
        assert!(line.len() < 4096, "a {} byte log line", line.len());
        assert!(line.contains(" bytes)"), "says it was cut: {line}");
    }
}

use super::*;
use crate::{Algorithm, Signer};
use http::StatusCode;

const TOKEN: &str = "http-test-token";

fn request(target: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut builder = http::Request::post(target);
    for (n, v) in headers {
        builder = builder.header(*n, *v);
    }
    builder.body(()).unwrap().into_parts().0
}

fn sign_form(url: &str, params: &[(&str, &str)]) -> String {
    Signer::new(TOKEN, Algorithm::HmacSha1)
        .unwrap()
        .sign_form(url, params)
}

const FORM: &str = "application/x-www-form-urlencoded; charset=UTF-8";

#[test]
fn form_and_json_through_one_call() {
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN));
    let sig = sign_form("http://a.com/sms", &[("Body", "Hi")]);
    let parts = request(
        "/sms",
        &[
            ("host", "a.com"),
            ("content-type", FORM),
            ("x-twilio-signature", &sig),
        ],
    );
    let ok = verifier.verify_parts(&parts, b"Body=Hi").unwrap();
    assert_eq!(ok.url(), "http://a.com/sms");
    assert_eq!(ok.matched_url(), "http://a.com/sms");

    let signed = Signer::new(TOKEN, Algorithm::HmacSha1)
        .unwrap()
        .sign_body("http://a.com/events", b"{}")
        .unwrap();
    let target = signed.url.strip_prefix("http://a.com").unwrap();
    let parts = request(
        target,
        &[
            ("host", "a.com"),
            ("content-type", "application/json"),
            ("x-twilio-signature", &signed.signature),
        ],
    );
    assert!(verifier.verify_parts(&parts, b"{}").is_ok());
    let stripped = verifier.verify_parts(&parts, b"").unwrap_err();
    assert_eq!(stripped.rejection(), Some(Rejection::BodyHashMismatch));
    assert_eq!(stripped.status(), StatusCode::FORBIDDEN);
}

#[test]
fn statuses_and_texts() {
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN)).body_limit(8);
    let parts = request("/sms", &[("host", "a.com"), ("content-type", FORM)]);
    let missing = verifier.verify_parts(&parts, b"").unwrap_err();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        missing.body_text(),
        "Twilio webhook rejected: missing_signature\n"
    );
    assert_eq!(missing.urls_tried(), ["http://a.com/sms"]);

    let big = verifier.verify_parts(&parts, b"123456789").unwrap_err();
    assert_eq!(big.refusal(), Refusal::BodyTooLarge { limit: 8 });
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(big.body_text(), "Twilio webhook rejected: body_too_large\n");
    assert!(big.urls_tried().is_empty());

    let sig = sign_form("http://a.com/sms", &[]);
    let parts = request(
        "/sms",
        &[
            ("host", "a.com"),
            ("content-type", FORM),
            ("x-twilio-signature", &sig),
        ],
    );
    let wrong = verifier.verify_parts(&parts, b"A=1").unwrap_err();
    assert_eq!(wrong.rejection(), Some(Rejection::SignatureMismatch));
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert!(!wrong.to_string().contains(&sig) && !wrong.body_text().contains(&sig));
    assert!(wrong.to_string().ends_with("(tried http://a.com/sms)"));

    let no_host = request("/sms", &[("x-twilio-signature", &sig)]);
    let e = verifier.verify_parts(&no_host, b"").unwrap_err();
    assert_eq!(e.rejection(), Some(Rejection::NoPublicUrl));
    assert_eq!(
        WebhookRejection::new(Refusal::BodyUnreadable, vec![]).status(),
        StatusCode::BAD_REQUEST
    );
    let bad_method = WebhookRejection::new(Refusal::BadMethod, vec![]);
    assert_eq!(bad_method.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_method.body_text(),
        "Twilio webhook rejected: bad_method\n"
    );
}

#[test]
fn the_second_base_url_can_match() {
    let policy = PublicUrl::base("https://one.example.com")
        .and_then(|p| p.also_base("https://two.example.com"))
        .unwrap();
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN)).public_url(policy);
    let sig = sign_form("https://two.example.com/sms", &[("A", "1")]);
    let parts = request(
        "/sms",
        &[("content-type", FORM), ("x-twilio-signature", &sig)],
    );
    let ok = verifier.verify_parts(&parts, b"A=1").unwrap();
    assert_eq!(ok.url(), "https://two.example.com/sms");
    // What a proxy tells its upstream (`Host`, `X-Forwarded-Host`, `X-Forwarded-Proto`).
    assert_eq!((ok.scheme(), ok.authority()), ("https", "two.example.com"));
    let e = verifier.verify_parts(&parts, b"A=2").unwrap_err();
    assert_eq!(e.urls_tried().len(), 2);
    // A header error is reported once, whatever the number of URLs.
    let parts = request("/sms", &[("x-twilio-signature", "short")]);
    let e = verifier.verify_parts(&parts, b"").unwrap_err();
    assert_eq!(e.rejection(), Some(Rejection::MalformedSignature));
}

/// Sixth outside attack (A5-F4): a request whose `Host` names no configured base URL tries them all,
/// each over the whole body. Past the first URL, what one verification hashes is bounded by
/// `MAX_HASHED_BYTES`: a forged 1 MiB form stops after a few URLs, while a genuine webhook of a few
/// bytes is still found at the hundredth.
#[test]
fn the_public_urls_tried_are_bounded_in_bytes() {
    let mut policy = PublicUrl::base("https://h0.example.com").unwrap();
    for i in 1..100 {
        policy = policy
            .also_base(&format!("https://h{i}.example.com"))
            .unwrap();
    }
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN))
        .public_url(policy)
        .body_limit(4 * 1024 * 1024);
    let sig = sign_form("https://h99.example.com/sms", &[("A", "1")]);
    let parts = request(
        "/sms",
        &[
            ("host", "internal:3000"),
            ("content-type", FORM),
            ("x-twilio-signature", &sig),
        ],
    );
    let ok = verifier.verify_parts(&parts, b"A=1").unwrap();
    assert_eq!(ok.url(), "https://h99.example.com/sms");
    let mut forged = b"A=".to_vec();
    forged.resize(1024 * 1024, b'a');
    let e = verifier.verify_parts(&parts, &forged).unwrap_err();
    assert_eq!(e.rejection(), Some(Rejection::SignatureMismatch));
    let tried = e.urls_tried().len();
    assert!((1..=2).contains(&tried), "{tried} URLs of 1 MiB each");
    assert!(tried * 2 * (forged.len() + 30) <= MAX_HASHED_BYTES + 2 * (forged.len() + 30));
    // A body over the budget on its own is still tried against the first URL.
    let mut huge = b"A=".to_vec();
    huge.resize(MAX_HASHED_BYTES / 2 + 1, b'a');
    let e = verifier.verify_parts(&parts, &huge).unwrap_err();
    assert_eq!(e.urls_tried().len(), 1);
}

/// `MAX_HASHED_BYTES` to the byte: each URL tried costs twice its length and the body's (the URL and its
/// port variant), and a URL is tried while the bytes spent with it are at most the budget. Two base URLs of
/// one length and a body that spends the budget exactly: a webhook signed for the second still verifies;
/// one byte more and the second is not tried (refused as a mismatch, one URL tried). And the budget is
/// the documented 4 MiB: a webhook 1 KiB under the default body limit is still found at the second URL.
#[test]
fn the_hashing_budget_is_spent_to_the_byte() {
    let (one, two) = ("https://one.example.com", "https://two.example.com");
    let policy = PublicUrl::base(one).and_then(|p| p.also_base(two)).unwrap();
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN))
        .public_url(policy)
        .body_limit(2 * 1024 * 1024);
    let url = format!("{two}/sms");
    let exact = MAX_HASHED_BYTES / 4 - url.len();
    let near_the_limit = DEFAULT_BODY_LIMIT - 1024;
    for (len, verifies) in [(exact, true), (exact + 1, false), (near_the_limit, true)] {
        let value = "a".repeat(len - 2);
        let sig = sign_form(&url, &[("A", &value)]);
        let parts = request(
            "/sms",
            &[
                ("host", "internal:3000"),
                ("content-type", FORM),
                ("x-twilio-signature", &sig),
            ],
        );
        let body = format!("A={value}");
        assert_eq!(body.len(), len);
        match verifier.verify_parts(&parts, body.as_bytes()) {
            Ok(ok) => {
                assert!(
                    verifies,
                    "{len} bytes: the second URL was tried past the budget"
                );
                assert_eq!(ok.url(), url);
            }
            Err(e) => {
                assert!(!verifies, "{len} bytes: {e}");
                assert_eq!(e.rejection(), Some(Rejection::SignatureMismatch));
                assert_eq!(e.urls_tried(), [format!("{one}/sms")]);
            }
        }
    }
}

#[test]
fn from_env_needs_a_token_and_checks_the_rest() {
    // Environment variables are process-wide and setting them needs `unsafe` (forbidden here): each
    // case runs `from_env_child` in a child process with its own environment.
    let run = |vars: &[(&str, &str)]| {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = std::process::Command::new(exe);
        cmd.args(["--exact", "http::tests::from_env_child", "--nocapture"])
            .env("TWILIO_WEBHOOK_FROM_ENV_CHILD", "1")
            .env_remove("TWILIO_AUTH_TOKEN")
            .env_remove("TWILIO_PUBLIC_URL")
            .env_remove("TWILIO_TRUSTED_PROXIES");
        for (n, v) in vars {
            cmd.env(n, v);
        }
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(run(&[]).contains("RESULT: TWILIO_AUTH_TOKEN is not set"));
    assert!(run(&[("TWILIO_AUTH_TOKEN", "  ")]).contains("RESULT: TWILIO_AUTH_TOKEN is not set"));
    let ok = run(&[
        ("TWILIO_AUTH_TOKEN", "tok"),
        ("TWILIO_PUBLIC_URL", "https://a.com, https://b.com/p"),
        ("TWILIO_TRUSTED_PROXIES", "10.0.0.0/8,::1"),
    ]);
    assert!(
        ok.contains("RESULT: ok ") && ok.contains("https://b.com/p/x"),
        "{ok}"
    );
    let bad = run(&[
        ("TWILIO_AUTH_TOKEN", "tok"),
        ("TWILIO_TRUSTED_PROXIES", "nope"),
    ]);
    // Each error names its setting and what is wrong, never the value.
    assert!(
        bad.contains("RESULT: TWILIO_TRUSTED_PROXIES holds an entry that is neither")
            && !bad.contains("nope"),
        "{bad}"
    );
    assert!(!bad.contains("tok\""));
    let secret = run(&[
        ("TWILIO_AUTH_TOKEN", "tok"),
        (
            "TWILIO_PUBLIC_URL",
            "https://a.com, https://user:hunter2@b.com/p",
        ),
    ]);
    assert!(
        secret.contains("RESULT: TWILIO_PUBLIC_URL holds an invalid public base URL: ")
            && !secret.contains("hunter2"),
        "{secret}"
    );
    let error = WebhookVerifier::from_vars(Some("tok"), Some("ftp://u:hunter2@h"), None)
        .err()
        .unwrap();
    assert!(
        !format!("{error} {error:?}").contains("hunter2"),
        "{error:?}"
    );
}

/// Run by `from_env_needs_a_token_and_checks_the_rest` in a child process with its own environment.
#[test]
fn from_env_child() {
    if std::env::var_os("TWILIO_WEBHOOK_FROM_ENV_CHILD").is_none() {
        return;
    }
    match WebhookVerifier::from_env() {
        Ok(v) => {
            let map = http::HeaderMap::new();
            let incoming = Incoming {
                method: &http::Method::POST,
                target: "/x",
                headers: &map,
                peer: None,
                scheme: None,
                authority: None,
            };
            println!(
                "RESULT: ok {:?} {}",
                v.policy().urls(&incoming),
                v.policy().is_trusted(Some("::1".parse().unwrap()))
            );
        }
        Err(e) => println!("RESULT: {e}"),
    }
}

#[test]
fn a_target_that_is_not_a_path_is_a_bad_request() {
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN))
        .public_url(PublicUrl::base("https://hooks.example.com").unwrap());
    let sig = sign_form("https://hooks.example.com/", &[]);
    let headers = {
        let parts = request("/", &[("x-twilio-signature", &sig)]);
        parts.headers
    };
    let check =
        |target: &str| verifier.verify(&Incoming::new(&http::Method::POST, target, &headers), b"");
    assert!(check("/").is_ok());
    // The absolute form counts by its path: a root signature does not cover another path.
    let e = check("http://hooks.example.com/admin/delete-account").unwrap_err();
    assert_eq!(e.rejection(), Some(Rejection::SignatureMismatch));
    assert_eq!(
        e.urls_tried(),
        ["https://hooks.example.com/admin/delete-account"]
    );
    assert!(check("http://hooks.example.com/").is_ok());
    for bad in ["*", "hooks.example.com:443", "admin/delete-account", "/#x"] {
        let e = check(bad).unwrap_err();
        assert_eq!(
            e.refusal(),
            Refusal::BadTarget(crate::TargetError::Form),
            "{bad:?}"
        );
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert_eq!(e.code(), "bad_request_target");
        assert!(e.to_string().contains("origin or absolute form"));
    }
}

/// A handshake verified against a `wss` URL is `https` to the upstream, with its port.
#[test]
fn a_verified_handshake_tells_its_scheme_as_http_or_https() {
    let policy = PublicUrl::from_host().connection_scheme("https");
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN)).public_url(policy);
    let sig = sign_form("wss://a.com:8443/ws", &[]);
    let mut builder = http::Request::get("/ws");
    for (n, v) in [
        ("host", "a.com:8443"),
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("x-twilio-signature", &sig),
    ] {
        builder = builder.header(n, v);
    }
    let parts = builder.body(()).unwrap().into_parts().0;
    let ok = verifier.verify_parts(&parts, b"").unwrap();
    assert_eq!(ok.url(), "wss://a.com:8443/ws");
    assert_eq!((ok.scheme(), ok.authority()), ("https", "a.com:8443"));
    let plain = WebhookVerifier::new(RequestValidator::new(TOKEN));
    let sig = sign_form("ws://a.com:8443/ws", &[]);
    let mut parts = parts;
    parts
        .headers
        .insert("x-twilio-signature", sig.parse().unwrap());
    let ok = plain.verify_parts(&parts, b"").unwrap();
    assert_eq!((ok.scheme(), ok.authority()), ("http", "a.com:8443"));
}

#[test]
fn only_a_real_handshake_leaves_its_body_unread() {
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN));
    let parts = |method: http::Method, extra: &[(&str, &str)]| {
        let mut builder = http::Request::builder().method(method).uri("/ws");
        for (n, v) in [("connection", "Upgrade"), ("upgrade", "websocket")]
            .iter()
            .chain(extra)
        {
            builder = builder.header(*n, *v);
        }
        builder.body(()).unwrap().into_parts().0
    };
    let reads = |p: &http::request::Parts| verifier.reads_body(&Incoming::from_parts(p));
    assert_eq!(reads(&parts(http::Method::GET, &[])), Ok(false));
    assert_eq!(
        reads(&parts(http::Method::GET, &[("content-length", "0")])),
        Ok(false)
    );
    // Asking for a WebSocket without being a handshake: servers frame it differently, refused.
    for not_a_handshake in [
        parts(http::Method::POST, &[]),
        parts(http::Method::GET, &[("content-length", "3")]),
        parts(http::Method::GET, &[("transfer-encoding", "chunked")]),
        request("/ws", &[("upgrade", "websocket")]),
    ] {
        let e = reads(&not_a_handshake).unwrap_err();
        assert_eq!(e.refusal(), Refusal::UpgradeNotHandshake);
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::BAD_REQUEST, "upgrade_not_handshake")
        );
        assert!(e.to_string().contains("not a WebSocket handshake"));
    }
    // Any other request is read, whatever its Connection or Upgrade headers.
    assert_eq!(
        reads(&request("/sms", &[("connection", "upgrade")])),
        Ok(true)
    );
    assert_eq!(
        reads(&request(
            "/sms",
            &[("connection", "upgrade"), ("upgrade", "h2c")]
        )),
        Ok(true)
    );
}

#[test]
fn a_declared_length_over_the_limit_is_refused_before_reading() {
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN)).body_limit(8);
    let check = |lengths: &[&str]| {
        let mut headers = http::HeaderMap::new();
        for l in lengths {
            headers.append("content-length", l.parse().unwrap());
        }
        verifier.check_declared_length(&headers)
    };
    assert!(check(&[]).is_ok());
    assert!(check(&["8"]).is_ok(), "the limit itself is accepted");
    let e = check(&["not a number"]).unwrap_err();
    assert_eq!(
        e.refusal(),
        Refusal::BadContentLength,
        "refused before reading"
    );
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    let e = check(&["9"]).unwrap_err();
    assert_eq!(e.refusal(), Refusal::BodyTooLarge { limit: 8 });
    assert_eq!(e.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        check(&["1", "9"]).unwrap_err().refusal(),
        Refusal::BadContentLength,
        "lengths that disagree"
    );
    assert!(check(&["9", "9"]).is_err(), "one length given twice counts");
    assert!(check(&[" 9 "]).is_err());
}

#[test]
fn defaults_and_debug_output() {
    assert_eq!(DEFAULT_BODY_LIMIT, 1_048_576);
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN));
    assert!(verifier.replay().is_none());
    let guarded = verifier
        .clone()
        .replay_guard(ReplayGuard::new(crate::MemoryStore::new()));
    assert!(guarded.replay().is_some());
    let debug = format!("{:?}", verifier.json_account_sid(|_| None));
    assert!(debug.contains("JsonAccountSid(fn)"), "{debug}");
    assert!(!debug.contains(TOKEN), "{debug}");
}

#[test]
fn the_diagnose_setting() {
    assert_eq!(diagnoses_setting(None), Ok(DEFAULT_DIAGNOSES_PER_SECOND));
    assert_eq!(diagnoses_setting(Some(" ")), Ok(10));
    assert_eq!(diagnoses_setting(Some("OFF")), Ok(0));
    assert_eq!(diagnoses_setting(Some("25")), Ok(25));
    let e = diagnoses_setting(Some("lots")).unwrap_err();
    assert_eq!(e, EnvError::Diagnose);
    // The setting is named; its value is never shown.
    assert!(e.to_string().contains("TWILIO_DIAGNOSE") && !e.to_string().contains("lots"));
    assert!(!format!("{e:?}").contains("lots"));
}

/// Spec §4.4 and §4.5 together: a request Twilio signed for `/voice` replayed to `/sms` with a forged
/// `Host: a.com/voice#` would rebuild `http://a.com/voice#/sms`; it is refused as `bad_host` (400)
/// before any HMAC, and even the URL itself would not have its `#/sms` cut.
#[test]
fn a_forged_host_cannot_move_a_signature_to_another_route() {
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN));
    let sig = sign_form("http://a.com/voice", &[("Body", "Hi")]);
    let forged = request(
        "/sms",
        &[
            ("host", "a.com/voice#"),
            ("content-type", FORM),
            ("x-twilio-signature", &sig),
        ],
    );
    let e = verifier.verify_parts(&forged, b"Body=Hi").unwrap_err();
    assert_eq!(e.refusal(), Refusal::BadHost);
    assert_eq!(e.code(), "bad_host");
    assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    assert!(e.urls_tried().is_empty(), "no URL was tried");
    // Without the Host check, the URL the request would rebuild does not verify either (§4.4).
    let validator = RequestValidator::new(TOKEN);
    assert!(
        validator
            .verify_request(
                "http://a.com/voice#/sms",
                Some(FORM),
                b"Body=Hi",
                crate::SignatureHeaders::from_pairs(&forged.headers)
            )
            .is_err()
    );
    // Two Host fields are refused the same way; a plain one verifies.
    let twice = request(
        "/voice",
        &[
            ("host", "a.com"),
            ("host", "a.com"),
            ("content-type", FORM),
            ("x-twilio-signature", &sig),
        ],
    );
    assert_eq!(
        verifier
            .verify_parts(&twice, b"Body=Hi")
            .unwrap_err()
            .code(),
        "bad_host"
    );
    let genuine = request(
        "/voice",
        &[
            ("host", "a.com"),
            ("content-type", FORM),
            ("x-twilio-signature", &sig),
        ],
    );
    assert!(verifier.verify_parts(&genuine, b"Body=Hi").is_ok());
}

/// Requests refused for their shape before any HMAC: charsets, fields twice, raw line breaks in a
/// form; and how a log line shows a client-chosen text.
mod shape;

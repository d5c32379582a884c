//! Issue 28, sixth outside attack: the boundary between the URL and the form's pairs is not signed
//! (spec §2), so the bytes of a genuine request can be split differently across it. Each attack goes
//! to the real guard in front of a real upstream on loopback, and failed before its fix.

use twilio_webhook::{Algorithm, Signer};
use twilio_webhook_http_suite as suite;

mod support;
use support::{Echo, FORM, Guard, TOKEN, signed, status};

/// Sixth outside attack (A5-F9): spec §2 delimits neither the URL from the form's pairs nor a key
/// from its value, so the first pairs of a genuine form, moved from the body to the end of its URL as
/// text, give the same string to sign. An attacker who wrote an SMS's text and captured its webhook
/// re-sent it to `?tenant=acmeAccountSidAC…Bodyhi&tenant=evil&admin=1` with the rest of the body, or
/// with every pair in the URL and no body (the URL-only signature of the same string): the guard
/// verified both and the upstream read `tenant=evil&admin=1`, marked verified. Now a target holding
/// `AccountSidAC` (a form's first pair glued to its name, which no URL Twilio calls holds) is
/// `400 ambiguous_form` before any HMAC; the genuine webhook still passes.
#[test]
fn issue_28_a_forms_pairs_moved_into_its_url_are_refused() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let sid = "AC0123456789abcdef0123456789abcdef";
    let genuine_body = format!(
        "AccountSid={sid}&ApiVersion=2010-04-01&Body=hi%26tenant%3Devil%26admin%3D1%26x%3D&From=%2B15551234&To=%2B15550000"
    );
    let genuine = signed(
        guard.port,
        "/twilio/sms?tenant=acme",
        FORM,
        genuine_body.as_bytes(),
        &[],
    );
    let moved = format!("AccountSid{sid}ApiVersion2010-04-01Bodyhi&tenant=evil&admin=1&x=");
    // (a) the first pairs moved into the query, the rest left in the body.
    let mut some = genuine.clone();
    some.target = format!("/twilio/sms?tenant=acme{moved}");
    some.body = b"From=%2B15551234&To=%2B15550000".to_vec();
    // (b) every pair moved, no body at all.
    let mut all = genuine.clone();
    all.target = format!("/twilio/sms?tenant=acme{moved}From+15551234To+15550000");
    all.body = Vec::new();
    for (name, attack) in [("some pairs", &some), ("every pair", &all)] {
        let (code, text) = status(guard.port, attack);
        assert_eq!(
            (code, text.contains("ambiguous_form")),
            (400, true),
            "{name}: {text}"
        );
    }
    assert_eq!(echo.hits(), 0, "nothing moved reached the upstream");
    let (code, text) = status(guard.port, &genuine);
    assert_eq!(code, 200, "{text}");
    assert_eq!(echo.hits(), 1);
}

/// Sixth outside attack (A5-F12), the reverse of the one above: the end of a signed URL, cut off and
/// sent as the form's first key with no value, gives the same string to sign whenever it sorts first.
/// No attacker-written text is needed: a webhook for `/hooks/sms/12` verified as `/hooks/sms/1`, a
/// status callback for `/sms/status` as `/sms`, a GET's URL-only signature for
/// `/voice/gather?Digits=1` as `POST /` with one key, a JSON webhook's as a form to its path, and a
/// URL-only one for `?tenant=acme` as `?tenant=ac` with the one key `me`. The guard forwarded each,
/// marked verified. A form key not written as Twilio writes its names, or a form of one bare name, is
/// now `400 ambiguous_form`; the genuine webhooks pass.
#[test]
fn issue_28_the_end_of_a_signed_url_sent_as_a_form_key_is_refused() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let host = format!("127.0.0.1:{}", guard.port);
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).expect("signer");
    let form = "AccountSid=AC0123456789abcdef0123456789abcdef&Body=hi&From=%2B15551234";
    let request =
        |method: &'static str, target: &str, content_type: &str, signature: &str, body: &str| {
            suite::RawRequest {
                method,
                target: target.to_string(),
                headers: vec![
                    ("Host".to_string(), host.clone()),
                    ("Content-Type".to_string(), content_type.to_string()),
                    ("X-Twilio-Signature".to_string(), signature.to_string()),
                ],
                body: body.as_bytes().to_vec(),
            }
        };
    let url = |target: &str| format!("http://{host}{target}");
    let form_sig = |target: &str| {
        signer
            .sign_form_body(&url(target), form.as_bytes())
            .expect("form")
    };
    let url_only =
        |target: &str| signer.sign_form(&url(target), std::iter::empty::<(&str, &str)>());
    let json = br#"{"type":"delivered"}"#;
    let signed_json = signer.sign_body(&url("/events"), json).expect("json");
    let json_target = signed_json
        .url
        .strip_prefix(&format!("http://{host}"))
        .expect("a URL on the guard")
        .to_string();
    let hash_key = json_target
        .trim_start_matches("/events")
        .replace('?', "%3F")
        .replace('=', "%3D");
    let attacks = [
        (
            "a path tail",
            request(
                "POST",
                "/hooks/sms/1",
                FORM,
                &form_sig("/hooks/sms/12"),
                &format!("2=&{form}"),
            ),
        ),
        (
            "a route",
            request(
                "POST",
                "/sms",
                FORM,
                &form_sig("/sms/status"),
                &format!("%2Fstatus=&{form}"),
            ),
        ),
        (
            "a GET as a POST",
            request(
                "POST",
                "/",
                FORM,
                &url_only("/voice/gather?Digits=1"),
                "voice%2Fgather%3FDigits%3D1=",
            ),
        ),
        (
            "a JSON webhook as a form",
            request(
                "POST",
                "/events",
                FORM,
                &signed_json.signature,
                &format!("{hash_key}="),
            ),
        ),
        (
            "a query cut in a word",
            request(
                "POST",
                "/voice?tenant=ac",
                FORM,
                &url_only("/voice?tenant=acme"),
                "me=",
            ),
        ),
        // A5-F12r: a tail written as a name, which sorts before `AccountSid`.
        (
            "a name-shaped tail",
            request(
                "POST",
                "/tenants/",
                FORM,
                &form_sig("/tenants/AC9999"),
                &format!("AC9999=&{form}"),
            ),
        ),
    ];
    for (name, attack) in &attacks {
        let (code, text) = status(guard.port, attack);
        assert_eq!(
            (code, text.contains("ambiguous_form")),
            (400, true),
            "{name}: {text}"
        );
    }
    assert_eq!(echo.hits(), 0, "nothing cut short reached the upstream");
    let genuine = [
        request(
            "POST",
            "/hooks/sms/12",
            FORM,
            &form_sig("/hooks/sms/12"),
            form,
        ),
        request(
            "GET",
            "/voice/gather?Digits=1",
            FORM,
            &url_only("/voice/gather?Digits=1"),
            "",
        ),
        request(
            "POST",
            &json_target,
            "application/json",
            &signed_json.signature,
            std::str::from_utf8(json).expect("utf-8"),
        ),
    ];
    for request in &genuine {
        let (code, text) = status(guard.port, request);
        assert_eq!(code, 200, "{} {}: {text}", request.method, request.target);
    }
    assert_eq!(echo.hits(), genuine.len());
}

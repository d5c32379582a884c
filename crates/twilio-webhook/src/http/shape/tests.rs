use super::*;
use crate::{Incoming, PublicUrl, RequestValidator, WebhookVerifier};
use http::{HeaderMap, HeaderValue, Method};

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

#[test]
fn a_name_with_two_values_is_refused_unless_allowed() {
    let check = |body: &str| check_form("/sms", FORM, body.as_bytes(), false);
    assert_eq!(check("Body=hi&From=%2B1555"), Ok(()));
    // Third outside attack, F19: the SMS `Body=helloFrom+10005550000` re-split.
    let resplit = "Body=hello&From=%2B10005550000&From=%2B15551234&To=%2B15556666";
    assert_eq!(check(resplit), Err(Refusal::RepeatedParameter));
    assert_eq!(check("From=a&From=b"), Err(Refusal::RepeatedParameter));
    // An escaped name is never Twilio's (it escapes no letter): refused before it is compared.
    assert_eq!(check("Fr%6Fm=a&From=b"), Err(Refusal::AmbiguousForm));
    assert_eq!(check("From=a&From=a&To=b"), Ok(()));
    assert_eq!(check("From=a&FROM=b&from=c"), Ok(()));
    assert_eq!(check_form("/sms", FORM, resplit.as_bytes(), true), Ok(()));
    // More fields than the stack holds, and more than the sort indexes.
    // Names Twilio may repeat, or an app's own.
    assert_eq!(
        check("MediaUrl0=a&MediaUrl0=b&NumMedia=2&Tag=x&Tag=y"),
        Ok(())
    );
    assert_eq!(check("Body=Hello&Body=again&Digits=1&Digits=2"), Ok(()));
    for name in SINGLE_VALUED_PARAMETERS {
        let twice = format!("{name}=a&{name}=b");
        assert_eq!(check(&twice), Err(Refusal::RepeatedParameter), "{name}");
    }
    let many: String = (0..300).map(|i| format!("K{i}=v&")).collect();
    assert_eq!(check(&format!("{many}K7=w")), Ok(()));
    assert_eq!(
        check(&format!("{many}To=1&To=2")),
        Err(Refusal::RepeatedParameter)
    );
    // Not a form: not read here.
    let json = Some("application/json");
    assert_eq!(check_form("/sms", json, b"From=a&From=b", false), Ok(()));
    assert_eq!(check_form("/sms", None, b"", false), Ok(()));
}

#[test]
fn a_content_coding_is_refused() {
    let with = |fields: &[(&str, &str)]| {
        let mut headers = http::HeaderMap::new();
        for (n, v) in fields {
            let name = http::HeaderName::from_bytes(n.as_bytes()).expect("name");
            headers.append(name, v.parse().expect("value"));
        }
        check_codings(&headers)
    };
    let refused = Err(Refusal::UnsupportedContentEncoding);
    assert_eq!(with(&[]), Ok(()));
    assert_eq!(with(&[("content-encoding", "identity")]), Ok(()));
    assert_eq!(with(&[("content-encoding", " Identity ")]), Ok(()));
    assert_eq!(with(&[("transfer-encoding", "chunked")]), Ok(()));
    for coded in [
        [("content-encoding", "deflate")],
        [("content-encoding", "gzip")],
        [("content-encoding", "identity, gzip")],
        [("content-encoding", "")],
        [("content-encoding", "br")],
        [("transfer-encoding", "gzip, chunked")],
        [("transfer-encoding", "deflate")],
    ] {
        assert_eq!(with(&coded), refused, "{coded:?}");
    }
    let two = [
        ("content-encoding", "identity"),
        ("content-encoding", "gzip"),
    ];
    assert_eq!(with(&two), refused);
}

/// Fourth outside attack: PHP cuts a key at a NUL (`From%00X` is `$_POST['From']`) and stops
/// after `max_input_vars` parts, empty ones counted; the core skips empty parts.
#[test]
fn forms_servers_read_apart_are_refused() {
    let check = |body: &str| check_form("/sms", FORM, body.as_bytes(), true);
    let ambiguous = Err(Refusal::AmbiguousForm);
    for body in [
        "Body=hi&From%00X=%2B1555&From%2B1666=",
        "Body=hi&From[]=x",
        "Body=hi&From%5B%5D=x",
        "Body=hi&From%5bx%5d=x",
        "Body=hi&From]=x",
        // Fourth outside attack (F10): PHP drops a key's leading spaces, and an empty key's pair.
        "=AccountSidAC1Bodyhi&+From=%2B1555&From=%2B1666",
        "Body=hi&%20From=%2B1555",
        "Body=hi& From=%2B1555",
        "=x&From=%2B1555",
        // Fourth outside attack (F15): Go drops a pair with a raw `;`, Go and Tomcat one with
        // an invalid escape, and with it the genuine parameters a re-split put in its key.
        "Body=hi&From=%2B1555&K;=FromCityX",
        "Body=hi&From=%2B1555&K%zz=FromCityX",
        "Body=hi%&From=%2B1555",
        "Body=hi%4&From=%2B1555",
    ] {
        assert_eq!(check(body), ambiguous, "{body:?}");
    }
    let empties = format!("Body=hi{}&From=%2B1555", "&".repeat(MAX_FORM_PARTS));
    assert_eq!(check(&empties), ambiguous);
    let many: String = (0..=MAX_FORM_PARTS).map(|i| format!("K{i}=v&")).collect();
    assert_eq!(check(many.trim_end_matches('&')), ambiguous);
    let fewer: String = (0..MAX_FORM_PARTS).map(|i| format!("K{i}=v&")).collect();
    assert_eq!(check(fewer.trim_end_matches('&')), Ok(()));
    // In a value, all of these are just text.
    assert_eq!(check("Body=%00%5B%5D[]&From=%2B1555"), Ok(()));
    assert_eq!(check("Body=a&&From=b"), Ok(()));
}

/// Fourth outside attack (F6): a JSON webhook verified on its bytes, replayed as a form, was
/// parsed by Express and PHP into fields made of `&` and `=` inside its strings.
#[test]
fn a_body_verified_as_bytes_is_never_a_form() {
    let target = "/events?bodySHA256=0123";
    let json = br#"{"x":"a&From=+1555&EventType=admin"}"#;
    for ct in [
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-Urlencoded; charset=utf-8",
        "multipart/form-data; boundary=x",
        // Fourth outside attack (F12): PHP reads the type up to a `,` or a space too.
        "application/x-www-form-urlencoded,application/json",
        "application/x-www-form-urlencoded x",
        "application/json, application/x-www-form-urlencoded",
    ] {
        let refused = check_form(target, Some(ct), json, false);
        assert_eq!(refused, Err(Refusal::AmbiguousForm), "{ct}");
        assert_eq!(check_form(target, Some(ct), b"", false), Ok(()));
    }
    for ct in [Some("application/json"), Some("text/plain"), None] {
        assert_eq!(check_form(target, ct, json, false), Ok(()), "{ct:?}");
    }
    assert_eq!(check_form("/events?x=1", FORM, b"a=1", false), Ok(()));
}

#[test]
fn raw_line_breaks_and_nul_are_malformed() {
    let malformed = Err(Refusal::Rejected(Rejection::MalformedBody));
    for body in [
        "Body=a\r\nb",
        "Body=a\nb",
        "Bo\0dy=a",
        "\r\nPOST /x HTTP/1.1",
    ] {
        assert_eq!(
            check_form("/sms", FORM, body.as_bytes(), true),
            malformed,
            "{body:?}"
        );
    }
    assert_eq!(check_form("/sms", FORM, b"Body=a%0D%0Ab", false), Ok(()));
    // Raw non-ASCII (fourth outside attack, F5): malformed; percent-encoded, fine.
    assert_eq!(
        check_form("/sms", FORM, "Body=José".as_bytes(), false),
        malformed
    );
    assert_eq!(check_form("/sms", FORM, b"Body=caf\xe9", false), malformed);
    assert_eq!(check_form("/sms", FORM, b"Body=Jos%C3%A9", false), Ok(()));
}

// The drop-in's check against the verifier's.

const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "get", "PROPFIND",
];
const TYPES: [Option<&str>; 7] = [
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/x-www-form-urlencoded; charset=UTF-8"),
    Some("application/x-www-form-urlencoded; charset=utf-7"),
    Some("application/x-www-form-urlencoded; charset=\"utf8\""),
    Some("application/json; charset=latin1"),
    Some("application/json"),
];
const BODIES: [&[u8]; 4] = [b"", b"Body=Hi", b"Body=a\rb", b"{\"a\":\n1}"];

/// The headers of a case: its content type, and the signature field once or twice.
fn headers(content_type: Option<&'static str>, signatures: usize) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(v) = content_type {
        headers.append(http::header::CONTENT_TYPE, HeaderValue::from_static(v));
    }
    for _ in 0..signatures {
        headers.append("x-twilio-signature", HeaderValue::from_static("c2ln"));
    }
    headers
}

/// Every combination of method, content type, signature fields and body: `check_shape` refuses
/// exactly what the verifier refuses before the URL, with the same refusal, and lets through
/// exactly what the verifier goes on to check the signature of.
#[test]
fn refuses_what_the_verifier_refuses_before_the_url() {
    let base = PublicUrl::base("https://example.com").unwrap_or_else(|_| unreachable!());
    let verifier = WebhookVerifier::new(RequestValidator::new("token"))
        .public_url(base)
        .diagnoses_per_second(0);
    let mut refused = 0;
    let mut cases = 0;
    for method in METHODS {
        let method = Method::from_bytes(method.as_bytes()).unwrap_or_default();
        for (content_type, signatures) in TYPES.iter().flat_map(|t| [(*t, 1), (*t, 2)]) {
            let headers = headers(content_type, signatures);
            for body in BODIES {
                let what = format!("{method} {content_type:?} x{signatures} {body:?}");
                let verdict = verifier.verify(&Incoming::new(&method, "/sms", &headers), body);
                // Past the shape, the signature's own refusals (these bodies are UTF-8: a
                // malformed body is the shape's raw line break).
                let before_url = verdict.err().map(|r| r.refusal()).filter(
                    |r| !matches!(r, Refusal::Rejected(why) if *why != Rejection::MalformedBody),
                );
                let shape = check_shape(&method, "/sms", &headers, body).err();
                assert_eq!(shape.map(|r| r.refusal()), before_url, "{what}");
                refused += usize::from(before_url.is_some());
                cases += 1;
            }
        }
    }
    // The matrix exercises refusals and passes alike.
    assert!(refused > 0 && refused < cases, "{refused} of {cases}");
}

/// A target holding a form's first pair glued to its name is refused, in the path or the query,
/// with or without a body; one naming the parameter with its `=` (a GET webhook's query) is not.
#[test]
fn pairs_glued_into_the_target_are_ambiguous() {
    let form = headers(Some("application/x-www-form-urlencoded"), 1);
    let sid = "AC0123456789abcdef0123456789abcdef";
    for (method, target, body) in [
        (
            Method::POST,
            format!("/sms?src=twilioAccountSid{sid}Bodyhi&From=x"),
            &b"To=1"[..],
        ),
        (
            Method::GET,
            format!("/sms?AccountSid{sid}ApiVersion2010-04-01"),
            &b""[..],
        ),
        (
            Method::POST,
            format!("/smsAccountSid{sid}?x=1"),
            &b"To=1"[..],
        ),
    ] {
        assert_eq!(
            check_shape(&method, &target, &form, body).map_err(|r| r.refusal()),
            Err(Refusal::AmbiguousForm),
            "{target}"
        );
    }
    for target in [
        format!("/sms?AccountSid={sid}&ApiVersion=2010-04-01"),
        "/sms?src=twilio".to_string(),
        "/accountsidac/sms".to_string(),
    ] {
        assert!(
            check_shape(&Method::GET, &target, &form, b"").is_ok(),
            "{target}"
        );
    }
    assert!(has_glued_pairs("AccountSidAC"));
    assert!(!has_glued_pairs("AccountSidA"));
}

/// Keys are read as Twilio writes its names; one bare name is never a Twilio form.
#[test]
fn keys_not_written_as_twilios_and_one_bare_name_are_ambiguous() {
    let check = |body: &str| check_form("/sms", FORM, body.as_bytes(), false);
    for twilio in [
        "AccountSid=AC1&Body=",
        "MediaUrl0=a&NumMedia=1",
        "MessagingBinding.Address=%2B1&Author=x",
        "SipHeader_X-Custom=1&CallSid=CA1",
        "Body=hi",
    ] {
        assert_eq!(check(twilio), Ok(()), "{twilio}");
    }
    for cut in [
        "2=&AccountSid=AC1",
        "%2Fstatus=&AccountSid=AC1",
        "voice%2Fgather%3FDigits%3D1=",
        "%3FbodySHA256%3Dab=",
        "_x=1&Body=hi",
        "-x=1&Body=hi",
        "A%41=1&Body=hi",
        "A+B=1&Body=hi",
        "A~B=1&Body=hi",
        "me=",
        "me",
        "&me&",
        "Body=",
    ] {
        assert_eq!(check(cut), Err(Refusal::AmbiguousForm), "{cut}");
    }
    // Keys sorting before `AccountSid` in a form that carries it: a URL's end cut into the first key.
    for cut in [
        "AC9999=&AccountSid=AC1&Body=hi",
        "A=&AccountSid=AC1",
        "AccountSid=AC1&Acc=x",
        "AB=1&AccountSid=AC1",
    ] {
        assert_eq!(check(cut), Err(Refusal::AmbiguousForm), "{cut}");
    }
    for twilio in [
        "AccountSid=AC1&AddOns=x&ApiVersion=1",
        "A=1&B=2",
        "AccountSid=AC1&AccountSidX=1",
    ] {
        assert_eq!(check(twilio), Ok(()), "{twilio}");
    }
    assert!(names_like_twilio(b""));
    assert!(names_like_twilio(b"=x"));
    assert!(!is_one_bare_key(b"me=x"));
    assert!(!is_one_bare_key(b"a=&b="));
    assert!(!is_one_bare_key(b""));
}

//! A body passed in or read by the host meets the same refusals as one the sequence reads, and the
//! framing headers (`Content-Length`, `Transfer-Encoding`) say where a body ends.

use super::*;

#[test]
fn a_passed_body_is_read_within_the_limit_and_as_declared() {
    let verifier = verifier();
    let read = |declared: Option<&str>, chunks: &[&[u8]]| {
        let mut headers = http::HeaderMap::new();
        if let Some(declared) = declared {
            headers.insert("content-length", declared.parse().unwrap());
        }
        let request = Incoming::new(&http::Method::POST, "/open", &headers);
        block_on(verifier.read_passed(&request, &mut Chunks::of(chunks)))
            .map(|b| String::from_utf8(b).unwrap())
            .map_err(|e| e.code())
    };
    assert_eq!(read(Some("5"), &[b"he", b"llo"]), Ok("hello".into()));
    assert_eq!(read(None, &[b"any", b"thing"]), Ok("anything".into()));
    assert_eq!(read(Some("17"), &[]), Err("body_too_large"), "declared");
    assert_eq!(read(None, &[&[b'x'; 17]]), Err("body_too_large"), "read");
    assert_eq!(read(Some("6"), &[b"hello"]), Err("body_length_mismatch"));
}

/// A passed body on a method that has none is refused, whether its headers say so or only its bytes
/// (the guard takes the framing headers off): an app that leaves it unread parses it as a request.
#[test]
fn a_passed_body_is_refused_where_the_method_has_none() {
    let verifier = verifier();
    let read = |method: &str, declared: Option<&str>, chunks: &[&[u8]]| {
        let mut headers = http::HeaderMap::new();
        if let Some(declared) = declared {
            headers.insert("content-length", declared.parse().unwrap());
        }
        let method = http::Method::from_bytes(method.as_bytes()).unwrap();
        let request = Incoming::new(&method, "/open", &headers);
        block_on(verifier.read_passed(&request, &mut Chunks::of(chunks))).map_err(|e| e.code())
    };
    for method in ["POST", "PUT", "PATCH"] {
        assert_eq!(
            read(method, Some("2"), &[b"ok"]),
            Ok(b"ok".to_vec()),
            "{method}"
        );
    }
    for method in [
        "GET", "HEAD", "DELETE", "OPTIONS", "Get", "post", "PROPFIND",
    ] {
        assert_eq!(
            read(method, Some("2"), &[]),
            Err("body_not_allowed"),
            "{method}"
        );
        assert_eq!(
            read(method, None, &[b"ok"]),
            Err("body_not_allowed"),
            "{method}"
        );
        assert_eq!(read(method, Some("0"), &[]), Ok(Vec::new()), "{method}");
        assert_eq!(read(method, None, &[]), Ok(Vec::new()), "{method}");
    }
}

#[test]
fn a_body_read_by_the_host_meets_the_same_refusals() {
    let verifier = verifier();
    let post = http::Method::POST;
    let check = |method: &http::Method, headers: &http::HeaderMap, body: &[u8]| {
        let request = Incoming::new(method, "/sms", headers);
        match verifier.verify_read_body(&request, body) {
            Ok(verified) => verified.url().to_string(),
            Err(rejection) => rejection.code().to_string(),
        }
    };
    let declared = headers(&[("content-length", "7")]);
    assert_eq!(check(&post, &declared, b"Body=Hi"), "http://a.com/sms");
    assert_eq!(check(&post, &headers(&[]), b"Body=Hi"), "http://a.com/sms");
    assert_eq!(check(&post, &declared, b"Body="), "body_length_mismatch");
    assert_eq!(
        check(&post, &declared, b"Body=Hi&x"),
        "body_length_mismatch"
    );
    let over = headers(&[("content-length", "17")]);
    assert_eq!(check(&post, &over, &[b'x'; 17]), "body_too_large");
    assert_eq!(check(&post, &headers(&[]), &[b'x'; 17]), "body_too_large");
    let asks = headers(&[("upgrade", "websocket"), ("connection", "upgrade")]);
    assert_eq!(check(&post, &asks, b"Body=Hi"), "upgrade_not_handshake");
    // A body of exactly the limit is checked (mutation testing found the bound's edge unchecked).
    let body = b"Body=Hi&x=123456";
    assert_eq!(body.len(), 16);
    assert_eq!(check(&post, &headers(&[]), body), "signature_mismatch");
    let exact = headers(&[("content-length", "16")]);
    assert_eq!(check(&post, &exact, body), "signature_mismatch");
    // The same length given twice is one declared length, and the body must have it.
    let twice = headers(&[("content-length", "7"), ("content-length", "7")]);
    assert_eq!(check(&post, &twice, b"Body=Hi"), "http://a.com/sms");
    assert_eq!(check(&post, &twice, b"Body="), "body_length_mismatch");
}

#[test]
fn a_content_length_is_ascii_digits_and_one_number() {
    let declared = |values: &[&[u8]]| {
        let mut headers = http::HeaderMap::new();
        for value in values {
            headers.append(
                "content-length",
                http::HeaderValue::from_bytes(value).unwrap(),
            );
        }
        declared_length(&headers)
    };
    assert_eq!(declared(&[]), Ok(None));
    assert_eq!(declared(&[b"12"]), Ok(Some(12)));
    assert_eq!(declared(&[b"0"]), Ok(Some(0)));
    assert_eq!(
        declared(&[b" 12\t"]),
        Ok(Some(12)),
        "spaces and tabs around are not the value"
    );
    assert_eq!(
        declared(&[b"12, 12"]),
        Ok(Some(12)),
        "one length listed twice, as hyper reads it"
    );
    assert_eq!(declared(&[b"12", b"12"]), Ok(Some(12)));
    assert_eq!(declared(&[b"18446744073709551615"]), Ok(Some(u64::MAX)));
    // What Python's int() accepts and HTTP does not, and what disagrees.
    for invalid in [
        &b"+12"[..],
        b"-1",
        b"1_0",
        b"\xc2\xb2",
        b"\xb2",
        b"",
        b" ",
        b"12,",
        b"1 2",
        b"0x10",
        b"12.0",
        b"18446744073709551616",
        b"12, 13",
    ] {
        assert_eq!(
            declared(&[invalid]),
            Err(()),
            "{:?}",
            invalid.escape_ascii().to_string()
        );
    }
    assert_eq!(declared(&[b"12", b"13"]), Err(()));
    assert_eq!(declared(&[b"12", b"x"]), Err(()));
}

#[test]
fn a_content_length_that_is_not_a_number_is_refused_before_reading_and_after() {
    let verifier = verifier();
    for value in ["+7", "7_", "", "7, 8"] {
        let declared = headers(&[("content-length", value)]);
        let refused = verifier.check_declared_length(&declared).unwrap_err();
        assert_eq!(refused.refusal(), Refusal::BadContentLength, "{value:?}");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            refused.body_text(),
            "Twilio webhook rejected: bad_content_length\n"
        );
        let request = Incoming::new(&http::Method::POST, "/sms", &declared);
        let read = verifier.verify_read_body(&request, b"Body=Hi").unwrap_err();
        assert_eq!(read.code(), "bad_content_length", "{value:?}");
        let streamed = block_on(verifier.read_and_verify(&request, &mut Chunks::of(&[b"Body=Hi"])));
        assert_eq!(
            streamed.unwrap_err().code(),
            "bad_content_length",
            "{value:?}"
        );
    }
}

#[test]
fn the_body_extent_follows_the_framing_headers() {
    let verifier = verifier();
    let extent = |extra: &[(&str, &str)], ends: bool| {
        verifier
            .body_extent(&headers(extra), ends)
            .map_err(|e| (e.code(), e.status().as_u16()))
    };
    let chunked = ("transfer-encoding", "chunked");
    assert_eq!(
        extent(&[("content-length", "7")], false),
        Ok(BodyExtent::Length(7))
    );
    assert_eq!(
        extent(&[("content-length", "7")], true),
        Ok(BodyExtent::Length(7))
    );
    assert_eq!(
        extent(&[("content-length", "0")], false),
        Ok(BodyExtent::Length(0))
    );
    assert_eq!(extent(&[], false), Ok(BodyExtent::Empty));
    assert_eq!(extent(&[], true), Ok(BodyExtent::ToEnd));
    assert_eq!(extent(&[chunked], true), Ok(BodyExtent::ToEnd));
    assert_eq!(extent(&[chunked], false), Err(("length_required", 411)));
    // A Transfer-Encoding wins over a Content-Length (RFC 9112 §6.1): read to the end, then the
    // length read is held against the declared one.
    assert_eq!(
        extent(&[chunked, ("content-length", "7")], true),
        Ok(BodyExtent::ToEnd)
    );
    assert_eq!(
        extent(&[chunked, ("content-length", "7")], false),
        Err(("length_required", 411))
    );
    assert_eq!(
        extent(&[("content-length", "17")], false),
        Err(("body_too_large", 413))
    );
    assert_eq!(
        extent(&[("content-length", "+7")], true),
        Err(("bad_content_length", 400))
    );
    assert_eq!(
        extent(&[chunked, ("content-length", "x")], true),
        Err(("bad_content_length", 400))
    );
}

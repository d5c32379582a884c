use super::*;

#[test]
fn utf8_or_no_charset_is_accepted() {
    for accepted in [
        "",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/x-www-form-urlencoded;charset=utf-8",
        "application/x-www-form-urlencoded; charset=utf8",
        "application/x-www-form-urlencoded; CharSet=\"UTF-8\"",
        "application/x-www-form-urlencoded ;\tcharset = utf-8 \t",
        "application/json; charset=utf-8; boundary=x",
        "text/plain",
    ] {
        assert!(charset_is_utf8(accepted.as_bytes()), "{accepted:?}");
    }
}

/// The audit's attack and every spelling of another charset a framework may read.
#[test]
fn any_other_charset_is_refused() {
    for refused in [
        "text/plain; charset=utf-7",
        "application/x-www-form-urlencoded; charset=UTF-7",
        "application/x-www-form-urlencoded; charset=\"utf-7\"",
        "application/x-www-form-urlencoded; charset=us-ascii",
        "application/x-www-form-urlencoded; charset=iso-8859-1",
        "application/x-www-form-urlencoded; charset=utf-16",
        "application/x-www-form-urlencoded; charset=utf_8",
        "application/x-www-form-urlencoded; charset=",
        "application/x-www-form-urlencoded; charset",
        // A later charset wins in most parsers.
        "application/x-www-form-urlencoded; charset=utf-8; charset=utf-7",
        // RFC 2231 (Django reads `charset*` as `charset`).
        "application/x-www-form-urlencoded; charset*=utf-8''utf-7",
        // Quoting and escapes parsers read differently.
        "application/x-www-form-urlencoded; charset=\"utf\\-8\"",
        "application/x-www-form-urlencoded; charset=\"utf-8",
        "application/x-www-form-urlencoded; x=\"a;charset=utf-7\"",
        // Two fields joined with a comma, as WSGI servers join them.
        "application/x-www-form-urlencoded; charset=utf-8, text/plain; charset=utf-7",
        "application/x-www-form-urlencoded, text/plain;charset=utf-7",
    ] {
        assert!(!charset_is_utf8(refused.as_bytes()), "{refused:?}");
    }
    // Python's str.strip() drops a latin-1 no-break space (WSGI headers are latin-1): refused too.
    assert!(!charset_is_utf8(b"text/plain; \xa0charset=utf-7"));
    assert!(!charset_is_utf8(b"text/plain; charset=utf-8\xa0"));
    assert!(!charset_is_utf8(b"text/plain; charset=\xff"));
}

#[test]
fn ows_is_trimmed_from_both_ends_only() {
    assert_eq!(trim_ows(b" \t a b\t "), b"a b");
    assert_eq!(trim_ows(b"  "), b"");
    assert_eq!(trim_ows(b""), b"");
    assert!(contains_ignore_ascii_case(b"x; CHARSET=1", b"charset"));
    assert!(!contains_ignore_ascii_case(b"chars", b"charset"));
}

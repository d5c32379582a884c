//! Which cookies survive, checked against what PHP 8.2 (`php -n`) registers for the same names.

use super::*;

/// The fields forwarded, as text.
fn kept(target: &str, body: &str, fields: &[&str]) -> Vec<String> {
    forwarded_cookies(target, body.as_bytes(), fields.iter().map(|f| f.as_bytes()))
        .into_iter()
        .map(|f| String::from_utf8(f.into_owned()).unwrap_or_default())
        .collect()
}

/// Every name `name` may be registered under.
fn names(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    php_names(name.as_bytes(), &mut |n: &[u8]| {
        out.push(String::from_utf8_lossy(n).into_owned());
    });
    out.sort();
    out.dedup();
    out
}

#[test]
fn the_attack_cookies_go_and_the_others_stay_byte_for_byte() {
    // The auditor's F10 request: the signed From and Body, replaced through `$_REQUEST`.
    let body = "Body=hi&From=%2B15551234567";
    let cookie = "From=%2B19995550000; Body=transfer%20all; Digits=1234";
    assert_eq!(kept("/sms", body, &[cookie]), ["Digits=1234"]);
    // Nothing to drop: the field as it came, spacing and all.
    let session = "PHPSESSID=abc;  lang=en ;x";
    assert_eq!(kept("/sms", body, &[session]), [session]);
    // Only one pair left: no separator; none left: no field.
    assert_eq!(kept("/sms", body, &[" From=1;lang=en "]), ["lang=en"]);
    assert!(kept("/sms", body, &["From=1; Body=2"]).is_empty());
    // No parameters: every cookie stays.
    assert_eq!(kept("/sms", "", &["From=1"]), ["From=1"]);
    assert!(kept("/sms", body, &[]).is_empty());
}

#[test]
fn query_parameters_count_and_a_name_is_read_as_php_reads_it() {
    // `$_GET` names from the target's query, decoded (`+`, `%XX`).
    assert!(kept("/sms?Call+Sid=1", "", &["Call_Sid=x"]).is_empty());
    assert!(kept("/sms?%44igits=1", "", &["Digits=x"]).is_empty());
    assert!(kept("http://h/sms?Digits=1", "", &["Digits=x"]).is_empty());
    // `.` and ` ` read as `_` on either side, leading spaces dropped.
    assert!(kept("/sms", "Bo.dy=1", &["Bo dy=x"]).is_empty());
    assert!(kept("/sms", "+Body=1", &["Body=x"]).is_empty());
    // An array spelling is the same name; a NUL ends a name.
    assert!(kept("/sms", "From=1", &["From[]=x"]).is_empty());
    assert!(kept("/sms", "From=1", &["From[a][b]=x"]).is_empty());
    assert!(kept("/sms", "From%00x=1", &["From=x"]).is_empty());
    // `;` may separate parameters too (`arg_separator.input`).
    assert!(kept("/sms?a=1;From=2", "", &["From=x"]).is_empty());
    // Case matters to PHP's arrays: `from` is another variable.
    assert_eq!(kept("/sms", "From=1", &["from=x"]), ["from=x"]);
    // A cookie whose name is only the start or the end of a parameter's stays.
    assert_eq!(
        kept("/sms", "From=1", &["Fro=x; Froma=y"]),
        ["Fro=x; Froma=y"]
    );
}

#[test]
fn php_names_match_what_php_registers() {
    // parse_str("a.b[c.d=1&x[y z[=2&m[n=3&p[q]r[=4&s.t]u[=5&+ +v=6&w%20.=7") in PHP 8.2 registers
    // a_b_c_d, x_y_z_, m_n, p, s_t]u_, v and w__ (decoded first: `+` is a space).
    assert!(names("a.b[c.d").contains(&"a_b_c_d".to_string()));
    assert!(names("x[y z[").contains(&"x_y_z_".to_string()));
    assert!(names("m[n").contains(&"m_n".to_string()));
    assert!(names("p[q]r[").contains(&"p".to_string()));
    assert!(names("s.t]u[").contains(&"s_t]u_".to_string()));
    assert_eq!(names("  v"), ["v"]);
    assert_eq!(names("w ."), ["w__"]);
    // Earlier versions keep the rest after an unclosed `[` as it is: both readings count.
    assert_eq!(names("m[n.o"), ["m", "m_n.o", "m_n_o"]);
    // No name: nothing registered.
    assert!(names("").is_empty() && names("[x]").is_empty() && names("\0From").is_empty());
    assert!(names("   ").is_empty());
    // A cookie `From[` is PHP 8's `From_`, which collides with a parameter `From.`.
    assert!(kept("/sms", "From.=1", &["From[=x"]).is_empty());
}

#[test]
fn a_cookie_name_is_read_every_way_a_php_version_reads_it() {
    // PHP before 8.0.24 percent-decoded cookie names; leading white space of any kind goes.
    assert!(kept("/sms", "From=1", &["%46rom=x"]).is_empty());
    assert_eq!(kept("/sms", "From=1", &["a=1;\tFrom=x"]), ["a=1"]);
    // A pair without `=` is a cookie with an empty value.
    assert_eq!(kept("/sms", "From=1", &["From; a=1"]), ["a=1"]);
    // A trailing space before `=` is kept by PHP (`From_`) and trimmed by others: both count.
    assert!(kept("/sms", "From=1", &["From =x"]).is_empty());
    assert!(kept("/sms", "From_=1", &["From =x"]).is_empty());
}

#[test]
fn an_ambiguous_header_loses_the_colliding_ambiguity_and_nothing_else() {
    // A comma: PHP reads one cookie `x` (`1, From=5`), an RFC 2965 parser two; the pair goes.
    assert_eq!(
        kept("/sms", "From=1", &["s=1; x=1, From=5; lang=en"]),
        ["s=1; lang=en"]
    );
    assert_eq!(kept("/sms", "From=1", &["x=1, y=2"]), ["x=1, y=2"]);
    // A quoted value across a `;`: PHP reads `From`, a quote-reading parser one cookie `a`; the
    // pairs from the first quote to the last go together.
    assert_eq!(
        kept("/sms", "From=1", &[r#"s=1; a="x; From=y"; lang=en"#]),
        ["s=1; lang=en"]
    );
    assert_eq!(
        kept("/sms", "From=1", &[r#"a="x"; From=y; b="z"; c=1"#]),
        ["c=1"]
    );
    // Quotes that collide with nothing stay as they came.
    let quoted = r#"a="x; y"; b=1"#;
    assert_eq!(kept("/sms", "From=1", &[quoted]), [quoted]);
    // Repeated fields are each read alone.
    assert_eq!(
        kept("/sms", "From=1", &["a=1", "From=2; b=3", "From=4"]),
        ["a=1", "b=3"]
    );
}

/// PHP 8's own reading of a variable name (`php_register_variable_ex`), written apart from
/// [`php_names`]: the one name it registers, if any.
fn php8_name(name: &[u8]) -> Option<Vec<u8>> {
    let name = name.split(|&b| b == 0).next().unwrap_or_default();
    let name: Vec<u8> = name.iter().copied().skip_while(|&b| b == b' ').collect();
    let fold = |b: &u8| if *b == b' ' || *b == b'.' { b'_' } else { *b };
    let out: Vec<u8> = match name.iter().position(|&b| b == b'[') {
        None => name.iter().map(fold).collect(),
        Some(open) => {
            let (before, after) = name.split_at(open);
            let mut out: Vec<u8> = before.iter().map(fold).collect();
            let rest = after.get(1..).unwrap_or_default();
            if !rest.contains(&b']') && !out.is_empty() {
                out.push(b'_');
                out.extend(rest.iter().map(|&b| {
                    if matches!(b, b' ' | b'.' | b'[') {
                        b'_'
                    } else {
                        b
                    }
                }));
            }
            out
        }
    };
    (!out.is_empty()).then_some(out)
}

proptest::proptest! {
    /// Whatever the target, body and header: every pair forwarded is one of the header's, as it
    /// was, and none is one PHP 8 registers under a parameter's name.
    #[test]
    fn no_kept_cookie_is_a_parameter_to_php(
        query in "[Fro.m \\[\\]%46+&;=]{0,16}",
        body in "[Fro.m \\[\\]%46+&;=]{0,16}",
        cookie in "[Fro.m \\[\\]%46+;=,\"\t]{0,24}",
    ) {
        let target = format!("/sms?{query}");
        let kept = forwarded_cookies(&target, body.as_bytes(), [cookie.as_bytes()]);
        let mut params = Vec::new();
        for source in [query.as_bytes(), body.as_bytes()] {
            for piece in source.split(|&b| b == b'&') {
                let name = piece.split(|&b| b == b'=').next().unwrap_or_default();
                let mut decoded = Vec::new();
                url_decode(name, &mut decoded);
                params.extend(php8_name(&decoded));
            }
        }
        let pairs: Vec<&[u8]> = cookie.as_bytes().split(|&b| b == b';').map(trim).collect();
        for field in &kept {
            for pair in field.split(|&b| b == b';').map(trim) {
                proptest::prop_assert!(pairs.contains(&pair), "{pair:?} is not one of {cookie:?}");
                let name = trim_start(pair.split(|&b| b == b'=').next().unwrap_or_default());
                if let Some(name) = php8_name(name) {
                    proptest::prop_assert!(!params.contains(&name), "{cookie:?} keeps {name:?}");
                }
            }
        }
    }
}

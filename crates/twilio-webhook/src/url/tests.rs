use super::*;

fn variant(url: &str) -> Option<(PortVariant, String)> {
    UrlShape::parse(url)
        .port_variant()
        .map(|(v, p)| (v, p.to_string()))
}

#[test]
fn port_surgery() {
    let removed = PortVariant::PortRemoved;
    let added = PortVariant::DefaultPortAdded;
    let cases: &[(&str, Option<(PortVariant, &str)>)] = &[
        (
            "https://a.com/x?y=1",
            Some((added, "https://a.com:443/x?y=1")),
        ),
        ("http://a.com", Some((added, "http://a.com:80"))),
        ("WSS://a.com?q", Some((added, "WSS://a.com:443?q"))),
        ("ws://a.com#f", Some((added, "ws://a.com:80#f"))),
        ("https://a.com:8443/x", Some((removed, "https://a.com/x"))),
        ("https://a.com:/x", Some((removed, "https://a.com/x"))),
        (
            "https://u:p@a.com:8443/x",
            Some((removed, "https://u:p@a.com/x")),
        ),
        (
            "https://u:p@a.com/x",
            Some((added, "https://u:p@a.com:443/x")),
        ),
        (
            "https://u@x:p@a.com:1/x",
            Some((removed, "https://u@x:p@a.com/x")),
        ),
        (
            "https://[2001:db8::1]:8443/x",
            Some((removed, "https://[2001:db8::1]/x")),
        ),
        (
            "https://[2001:db8::1]/x",
            Some((added, "https://[2001:db8::1]:443/x")),
        ),
        (
            "https://a.com/p:1@b",
            Some((added, "https://a.com:443/p:1@b")),
        ),
        ("ftp://a.com/x", None),
        ("ftp://a.com:21/x", Some((removed, "ftp://a.com/x"))),
        ("not a url", None),
        // Not a scheme (RFC 3986: a letter, then letters, digits, '+', '-', '.'): no surgery.
        ("1ab://a.com:21/x", None),
        ("a b://a.com:21/x", None),
        ("a_b://a.com:21/x", None),
        ("svn+ssh://a.com:21/x", Some((removed, "svn+ssh://a.com/x"))),
        ("/relative?x=http://a.com:80", None),
        ("https://[::1/x", None),
        ("", None),
    ];
    for (url, want) in cases {
        let want = want.map(|(v, s)| (v, s.to_string()));
        assert_eq!(variant(url), want, "{url}");
    }
}

#[test]
fn candidates_start_with_the_url_as_received() {
    let shape = UrlShape::parse("https://a.com:443/x");
    let all: Vec<_> = shape
        .candidates()
        .map(|(v, _, p)| (v, p.to_string()))
        .collect();
    assert_eq!(
        all,
        vec![
            (PortVariant::AsReceived, "https://a.com:443/x".to_string()),
            (PortVariant::PortRemoved, "https://a.com/x".to_string()),
        ]
    );
}

fn all_candidates(url: &str) -> Vec<(PortVariant, bool, String)> {
    UrlShape::parse(url)
        .candidates()
        .map(|(v, e, p)| (v, e.cuts_fragment(), p.to_string()))
        .collect()
}

#[test]
fn a_fragment_is_cut_off_after_every_other_candidate() {
    use PortVariant::{AsReceived, DefaultPortAdded, PortRemoved};
    let own = |list: &[(PortVariant, bool, &str)]| {
        list.iter()
            .map(|&(v, cut, s)| (v, cut, s.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        all_candidates("https://a.com:8443/x?q=1#rc=2&rp=all"),
        own(&[
            (AsReceived, false, "https://a.com:8443/x?q=1#rc=2&rp=all"),
            (PortRemoved, false, "https://a.com/x?q=1#rc=2&rp=all"),
            (AsReceived, true, "https://a.com:8443/x?q=1"),
            (PortRemoved, true, "https://a.com/x?q=1"),
        ])
    );
    assert_eq!(
        all_candidates("wss://a.com#sni=y"),
        own(&[
            (AsReceived, false, "wss://a.com#sni=y"),
            (DefaultPortAdded, false, "wss://a.com:443#sni=y"),
            (AsReceived, true, "wss://a.com"),
            (DefaultPortAdded, true, "wss://a.com:443"),
        ])
    );
    // An empty fragment is still cut.
    assert_eq!(
        all_candidates("ftp://a.com/x#"),
        own(&[
            (AsReceived, false, "ftp://a.com/x#"),
            (AsReceived, true, "ftp://a.com/x"),
        ])
    );
    assert_eq!(
        all_candidates("not a url#rc=1"),
        own(&[
            (AsReceived, false, "not a url#rc=1"),
            (AsReceived, true, "not a url"),
        ])
    );
}

#[test]
fn only_an_empty_or_overrides_only_fragment_is_cut() {
    // Spec §4.4: overrides are cut, with any value of the allowed characters, in any number.
    for cut in [
        "https://a.com/x#",
        "https://a.com/x#rc=3&rp=4xx,5xx&e=sao-paulo",
        "https://a.com/x#sni=y&tt=15000",
        "https://a.com/x#ct=&rt=1.5_x",
    ] {
        assert!(all_candidates(cut).iter().any(|c| c.1), "{cut} is cut");
    }
    // Anything else stays: a path (a URL rebuilt from a forged Host), an unknown or upper-case
    // name, an empty pair, a value with another character, a second '#'.
    for kept in [
        "https://a.com/voice#/sms",
        "https://a.com/voice#rc=3/sms",
        "https://a.com/voice#RC=3",
        "https://a.com/voice?x=1#ct=1000&foo=bar",
        "https://a.com/voice#ct=1000&",
        "https://a.com/voice#&rc=1",
        "https://a.com/voice#rc",
        "https://a.com/voice#rc=1#",
        "https://a.com/voice#rc=a%20b",
        "https://a.com/voice##",
        "not a url#x",
    ] {
        assert!(all_candidates(kept).iter().all(|c| !c.1), "{kept} is kept");
    }
    // No fragment: nothing more than the port variant.
    assert_eq!(all_candidates("https://a.com/x?y=#").len(), 4);
    assert_eq!(all_candidates("https://a.com/x?y=1").len(), 2);
}

#[test]
fn body_hash_rules() {
    let h = "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862";
    let ok = body_sha256(&format!("https://a.com/?x=1&bodySHA256={h}")).unwrap();
    assert_eq!(ok[0], 0x01);
    assert_eq!(ok[31], 0x62);
    let e = |u: String| body_sha256(&u).unwrap_err();
    assert_eq!(e("https://a.com/x".into()), BodyHashError::Missing);
    assert_eq!(
        e(format!("https://a.com/x#bodySHA256={h}")),
        BodyHashError::Missing
    );
    assert_eq!(
        e(format!("https://a.com/x?bodySHA256={}", h.to_uppercase())),
        BodyHashError::Malformed
    );
    assert_eq!(
        e(format!("https://a.com/x?bodySHA256=&bodySHA256={h}")),
        BodyHashError::Malformed
    );
    assert_eq!(
        e(format!("https://a.com/x?bodySHA256={h}0")),
        BodyHashError::Malformed
    );
    assert_eq!(
        e("https://a.com/x?bodySHA256".into()),
        BodyHashError::Malformed
    );
    assert!(body_sha256(&format!("https://a.com/x?body%53HA256={h}#y")).is_ok());
}

#[test]
fn body_mode_is_decided_by_the_name_alone() {
    for url in [
        "https://a.com/x?bodySHA256=00",
        "https://a.com/x?a=1&bodySHA256",
        "https://a.com/x?body%53HA256=",
        "https://a.com/x?bodySHA256=1&bodySHA256=2",
        "https://a.com/x?&&bodySHA256=00&",
        "https://a.com/x?%62ody%53HA%32%356=00",
    ] {
        assert!(carries_body_hash(url), "{url}");
    }
    for url in [
        "https://a.com/x",
        "https://a.com/x?bodysha256=00",
        "https://a.com/x?xbodySHA256=00",
        "https://a.com/x#bodySHA256=00",
        "https://a.com/bodySHA256=00",
        "https://a.com/x?a=bodySHA256",
        "https://a.com/x?body+SHA256=00",
        "https://a.com/x?bodySHA256x=00&",
        "https://a.com/x?%zzbodySHA256=00",
    ] {
        assert!(!carries_body_hash(url), "{url}");
    }
}

#[test]
fn query_stops_at_fragment() {
    assert_eq!(query("https://a/x?q=1#f?g"), Some("q=1"));
    assert_eq!(query("https://a/x#f?g"), None);
    assert_eq!(query("https://a/x?"), Some(""));
}

//! Path readings that Windows, IIS, PHP and ASP.NET servers give: NTFS streams, 8.3 short names,
//! path info after a script, cookieless session segments.

use super::*;

/// Issue 28, F4: Windows and IIS open `name:stream` as `name` (NTFS alternate data streams) and a
/// short name `PREFIX~N` as the directory it stands for. With `--pass / --require /twilio-hooks`
/// each of these reached an IIS upstream's protected handler unsigned.
#[test]
fn ntfs_streams_and_short_names_of_a_protected_prefix_are_verified() {
    use PathDecision::{Pass, Verify};
    use TargetError::NotNormal;
    let rules = PathRules::new()
        .pass("/")
        .and_then(|r| r.require("/twilio-hooks"))
        .and_then(|r| r.require("/api/sms.php"))
        .unwrap();
    let table: &[(&str, Result<PathDecision, TargetError>)] = &[
        // Alternate data streams: the name before the first `:`.
        ("/twilio-hooks::$INDEX_ALLOCATION/sms", Ok(Verify)),
        ("/twilio-hooks:$i30:$INDEX_ALLOCATION/sms", Ok(Verify)),
        ("/twilio-hooks:$I30:$INDEX_ALLOCATION/", Ok(Verify)),
        ("/TWILIO-HOOKS::$INDEX_ALLOCATION/sms", Ok(Verify)),
        ("/twilio-hooks%3a%3a$INDEX_ALLOCATION/sms", Ok(Verify)),
        ("/twilio-hooks%253a%253a$INDEX_ALLOCATION/sms", Ok(Verify)),
        ("/twilio-hooks.::$INDEX_ALLOCATION/sms", Ok(Verify)),
        ("/twilio-hooks;x::$INDEX_ALLOCATION/sms", Ok(Verify)),
        ("/api/sms.php::$DATA", Ok(Verify)),
        ("/api/SMS.PHP::$DATA", Ok(Verify)),
        ("/api/sms.php:x", Ok(Verify)),
        // A stream of `..`, or of nothing, names no file: refused.
        (
            "/static/..::$INDEX_ALLOCATION/twilio-hooks/sms",
            Err(NotNormal),
        ),
        ("/static/.:x/twilio-hooks/sms", Err(NotNormal)),
        ("/:x/twilio-hooks/sms", Err(NotNormal)),
        ("/static/::$INDEX_ALLOCATION/sms", Err(NotNormal)),
        // 8.3 short names: any name starting with the part before `~`.
        ("/TWILIO~1/sms", Ok(Verify)),
        ("/twilio~1/sms", Ok(Verify)),
        ("/TWILIO~2/sms", Ok(Verify)),
        ("/TWILI~12/sms", Ok(Verify)),
        ("/TWIL~1/sms", Ok(Verify)),
        ("/T~1/sms", Ok(Verify)),
        ("/TWILIO~1.HOO/sms", Ok(Verify)),
        ("/TWILIO~1/", Ok(Verify)),
        ("/TWILIO~1", Ok(Verify)),
        ("/TWILIO~1::$INDEX_ALLOCATION/sms", Ok(Verify)),
        ("/TWILIO~1./sms", Ok(Verify)),
        ("/%54WILIO~1/sms", Ok(Verify)),
        ("/TWILIO%7E1/sms", Ok(Verify)),
        // `_` for a character an 8.3 name cannot hold; a hashed short name (two characters, four hex
        // digits).
        ("/TW_LIO~1/sms", Ok(Verify)),
        ("/TWA1B2~1/sms", Ok(Verify)),
        ("/TA1B2~1/sms", Ok(Verify)),
        ("/api/SMS~1.PHP", Ok(Verify)),
        ("/API~1/sms.php", Ok(Verify)),
        // Shapes that are no 8.3 short name of `twilio-hooks`, or no short name at all.
        ("/TWX~1/sms", Ok(Pass)),
        ("/TWILIO~/sms", Ok(Pass)),
        ("/TWILIO~X/sms", Ok(Pass)),
        ("/TWILIOHOOKS~1/sms", Ok(Pass)),
        ("/TWILIO~1.HOOK/sms", Ok(Pass)),
        ("/~1/sms", Ok(Pass)),
        ("/TA1B2C~1/sms", Ok(Pass)),
    ];
    let wrong: Vec<String> = table
        .iter()
        .filter(|(target, want)| rules.decide(target) != *want)
        .map(|(target, want)| format!("{target}: {:?}, want {want:?}", rules.decide(target)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Ordinary paths with a `:` or a `~` decide as before: nothing is refused that was not, and a pass
/// prefix still exempts its own paths.
#[test]
fn colons_and_tildes_in_ordinary_paths_decide_as_before() {
    use PathDecision::{Pass, Verify};
    let rules = PathRules::new()
        .pass("/")
        .and_then(|r| r.require("/twilio"))
        .unwrap();
    let health = PathRules::new()
        .pass("/health")
        .and_then(|r| r.pass("/~user"))
        .unwrap();
    let table: &[(&PathRules, &str, PathDecision)] = &[
        (&rules, "/wiki/Special:Random", Pass),
        (&rules, "/v1/projects/p:run", Pass),
        (&rules, "/ip/::1", Pass),
        (&rules, "/~user/page", Pass),
        (&rules, "/files/REPORT~1.PDF", Pass),
        (&rules, "/twilio/sms:x", Verify),
        (&health, "/health/live:ready", Pass),
        (&health, "/~user/page", Pass),
        (&health, "/health:x", Verify),
        (&health, "/HEALTH~1/live", Verify),
        (&health, "/health~1", Verify),
    ];
    for (rules, target, want) in table {
        assert_eq!(rules.decide(target), Ok(*want), "{target:?}");
    }
    // A pass prefix that names a short name, or a stream, would exempt whatever it stands for.
    for bad in [
        "/HEALTH~1",
        "/static/APP~1.JS",
        "/health:x",
        "/health::$DATA",
    ] {
        assert_eq!(
            PathRules::new().pass(bad),
            Err(TargetError::NotNormal),
            "{bad:?}"
        );
    }
    // A require prefix may.
    assert!(
        PathRules::new()
            .pass("/")
            .and_then(|r| r.require("/TWILIO~1"))
            .is_ok()
    );
}

#[test]
fn short_names_cover_the_names_windows_may_give_them() {
    use super::reading::{short_name_covers, short_name_prefix};
    assert_eq!(short_name_prefix("twilio~1"), Some("twilio"));
    assert_eq!(short_name_prefix("twilio~1.hoo"), Some("twilio"));
    assert_eq!(short_name_prefix("t~123456"), Some("t"));
    assert_eq!(short_name_prefix("a~b~1"), Some("a~b"));
    for not_short in [
        "twilio",
        "twilio~",
        "~1",
        "twilio~1x",
        "twilio~1.hook",
        "twilio~1.a.b",
        "twilio12~1",
    ] {
        assert_eq!(short_name_prefix(not_short), None, "{not_short}");
    }
    assert!(short_name_covers("twilio", "twilio-hooks"));
    assert!(short_name_covers("twilio", "twilio"));
    assert!(short_name_covers("twilio", "tw.il io"));
    assert!(short_name_covers("tw_lio", "tw+lio-hooks"));
    assert!(short_name_covers("twa1b2", "twilio-hooks"));
    assert!(short_name_covers("ta1b2", "twilio-hooks"));
    assert!(!short_name_covers("ta1b2c", "twilio-hooks"));
    assert!(!short_name_covers("twilio", "twili"));
    assert!(!short_name_covers("twx", "twilio-hooks"));
    assert!(!short_name_covers("a1b2", "a1b3"));
    assert!(!short_name_covers("twa1bz", "twilio-hooks"));
}

/// Path info: PHP front controllers (Symfony, Laravel, any `script.php/PATH_INFO`), ASP.NET's
/// `page.aspx/PATH_INFO` and CGI route `/index.php/twilio/sms` as `/twilio/sms`; ASP.NET drops
/// cookieless session segments (`/(S(abc))/twilio/sms`). With `--pass / --require /twilio` each of
/// these was exempt.
#[test]
fn path_info_and_cookieless_segments_of_a_protected_prefix_are_verified() {
    let rules = PathRules::new()
        .pass("/")
        .and_then(|r| r.require("/twilio"))
        .unwrap();
    for target in [
        "/index.php/twilio/sms",
        "/index.php/twilio",
        "/index.php/twilio/",
        "/app/index.php/twilio/sms",
        "/INDEX.PHP/twilio/sms",
        "/index.php;x/twilio/sms",
        "/index.php./twilio/sms",
        "/index.php::$DATA/twilio/sms",
        "/index%2Ephp/twilio/sms",
        "/index.php/TWILIO/sms",
        "/index.php/twilio;x/sms",
        "/default.aspx/twilio/sms",
        "/service.asmx/twilio/sms",
        "/handler.ashx/twilio/sms",
        "/cgi-bin/app.cgi/twilio/sms",
        "/cgi-bin/app.pl/twilio/sms",
        "/app.jsp/twilio/sms",
        "/anything.ext/twilio/sms",
        "/a.php/b.php/twilio/sms",
        "/(S(abc))/twilio/sms",
        "/(A(xyz))/twilio/sms",
        "/(F(xyz))/twilio",
        "/(S(abc))(A(xyz))(F(q))/twilio/sms",
        "/(s(abc))/twilio/sms",
        "/(S(abc))/(A(x))/twilio/sms",
        "/%28S%28abc%29%29/twilio/sms",
        "/(S(abc))/index.php/twilio/sms",
        "/index.php/(S(abc))/twilio/sms",
    ] {
        assert_eq!(rules.decide(target), Ok(PathDecision::Verify), "{target:?}");
    }
    // The rest after a script is decided like a path: with only `--pass /static` it is verified
    // unless it is exempt too, and a longer `pass` prefix still wins over a shorter `require`.
    let rules = PathRules::new()
        .pass("/static")
        .and_then(|r| r.pass("/twilio/status"))
        .and_then(|r| r.require("/twilio"))
        .unwrap();
    let d = |t: &str| rules.decide(t);
    assert_eq!(d("/static/index.php/sms"), Ok(PathDecision::Verify));
    assert_eq!(d("/static/(S(x))/../sms"), Err(TargetError::NotNormal));
    assert_eq!(d("/static/x.php/static/app.css"), Ok(PathDecision::Pass));
    assert_eq!(d("/static/x.php/twilio/status"), Ok(PathDecision::Pass));
    assert_eq!(d("/static/x.php/twilio/sms"), Ok(PathDecision::Verify));
    assert_eq!(d("/static/v1.2/twilio/sms"), Ok(PathDecision::Verify));
}

/// Ordinary paths with dots and parentheses decide as before: only a `require` prefix after a
/// dotted segment, or a rest after a script that no `pass` prefix exempts, changes a decision.
#[test]
fn dotted_and_parenthesized_ordinary_paths_decide_as_before() {
    let rules = PathRules::new()
        .pass("/")
        .and_then(|r| r.require("/twilio"))
        .unwrap();
    let health = PathRules::new()
        .pass("/health")
        .and_then(|r| r.pass("/static"))
        .and_then(|r| r.pass("/.well-known"))
        .unwrap();
    for (rules, target) in [
        (&rules, "/index.php"),
        (&rules, "/index.php/"),
        (&rules, "/index.php/page/1"),
        (&rules, "/static/v1.2/app.min.js"),
        (&rules, "/wiki/Foo_(bar)/x"),
        (&rules, "/(S(abc))/page.aspx"),
        (&health, "/static/v1.2/app.min.js"),
        (&health, "/static/jquery-3.6.0/jquery.min.js"),
        (&health, "/static/(1)/a.css"),
        (&health, "/.well-known/acme-challenge/x"),
        (&health, "/health/index.php"),
    ] {
        assert_eq!(rules.decide(target), Ok(PathDecision::Pass), "{target:?}");
    }
    assert_eq!(
        health.decide("/health/index.php/sms"),
        Ok(PathDecision::Verify)
    );
    // After any segment, the rest is read as routed on its own (a mount that strips `/x`).
    assert_eq!(rules.decide("/x/twilio.php/sms"), Ok(PathDecision::Verify));
    assert_eq!(
        health.decide("/(S(abc))/static/a.css"),
        Ok(PathDecision::Verify)
    );
}

use super::*;

#[test]
fn origin_and_absolute_forms_give_the_path_and_query() {
    let ok = |t: &str| origin_form(t).map(Cow::into_owned);
    assert_eq!(ok("/"), Ok("/".into()));
    assert_eq!(ok("/sms?x=1&y"), Ok("/sms?x=1&y".into()));
    assert_eq!(
        ok("http://hooks.example.com/admin/delete-account"),
        Ok("/admin/delete-account".into())
    );
    assert_eq!(ok("HTTPS://u:p@h:8443/a?b"), Ok("/a?b".into()));
    assert_eq!(ok("http://h"), Ok("/".into()));
    assert_eq!(ok("http://h?q=1"), Ok("/?q=1".into()));
    // An empty first segment is still origin form (RFC 9112): path rules refuse it, not this.
    assert_eq!(ok("//h/x"), Ok("//h/x".into()));
    for bad in [
        "",
        "*",
        "sms",
        "h:443",
        "1http://h/x",
        "http:///x",
        "/sms#rc=2",
        "http://h/x#f",
        "://h/x",
    ] {
        assert_eq!(ok(bad), Err(TargetError::Form), "{bad:?}");
    }
}

#[test]
fn prefixes_match_whole_segments_and_the_longest_wins() {
    let rules = PathRules::new()
        .pass("/health")
        .and_then(|r| r.pass("/static/"))
        .and_then(|r| r.require("/health/twilio"))
        .unwrap();
    let d = |t: &str| rules.decide(t);
    assert_eq!(d("/health"), Ok(PathDecision::Pass));
    assert_eq!(d("/health/"), Ok(PathDecision::Pass));
    assert_eq!(d("/health/live?x=1"), Ok(PathDecision::Pass));
    assert_eq!(d("/static/app.js"), Ok(PathDecision::Pass));
    assert_eq!(d("/static"), Ok(PathDecision::Pass));
    assert_eq!(d("/healthcheck"), Ok(PathDecision::Verify));
    assert_eq!(d("/health;x"), Ok(PathDecision::Verify));
    assert_eq!(d("/health/twilio"), Ok(PathDecision::Verify));
    assert_eq!(d("/health/twilio/sms"), Ok(PathDecision::Verify));
    assert_eq!(d("/health/twilioX"), Ok(PathDecision::Pass));
    assert_eq!(d("/sms"), Ok(PathDecision::Verify));
    // Decoded before matching; require prefixes ignore case, pass prefixes do not.
    assert_eq!(d("/%68ealth"), Ok(PathDecision::Pass));
    assert_eq!(d("/HEALTH"), Ok(PathDecision::Verify));
    assert_eq!(d("/health/TWILIO/sms"), Ok(PathDecision::Verify));
    assert_eq!(d("/health/%54wilio/sms"), Ok(PathDecision::Verify));
    // Absolute form: its path decides.
    assert_eq!(d("http://h/health"), Ok(PathDecision::Pass));
    assert_eq!(d("http://h/health/../sms"), Err(TargetError::NotNormal));
    assert_eq!(d("*"), Err(TargetError::Form));
}

#[test]
fn a_path_a_server_could_resolve_elsewhere_is_refused() {
    let rules = PathRules::new().pass("/health").unwrap();
    for bad in [
        "/health/../sms",
        "/health/./sms",
        "/health/%2e%2e/sms",
        "/health/%2E%2e/sms",
        "/health/.%2e/sms",
        "/health/..%2Fsms",
        "/health/..%2fsms",
        "/health//../sms",
        "/health//sms",
        "/health/..;/sms",
        "/health/..;jsessionid=1/sms",
        "/health/..\\sms",
        "/health/..%5Csms",
        "/health/%252e%252e/sms",
        "/health/..%252fsms",
        "/health/%00/sms",
        "/health%2Fsms",
        "/health%2fadmin",
        "/a%5Cb",
        "/health/..",
        "/..",
        "//health",
        // A segment of dots and spaces only: Windows reads `...` and `. .` as a dot segment.
        "/health/.../sms",
        "/health/...",
        "/health/.%20./sms",
    ] {
        assert_eq!(rules.decide(bad), Err(TargetError::NotNormal), "{bad:?}");
    }
    // Dots inside a name, escapes of ordinary characters and a trailing slash are fine.
    for good in [
        "/health/v1.2/x",
        "/health/.well-known",
        "/a%20b",
        "/health/",
        "/",
        "/sms?next=/../x&y=%2e%2e",
    ] {
        assert!(rules.decide(good).is_ok(), "{good:?}");
    }
}

#[test]
fn with_no_prefix_every_request_is_verified_whatever_its_path() {
    let rules = PathRules::new();
    assert!(rules.verifies_everything());
    for target in ["/sms", "//sms", "/a/../b", "*"] {
        assert_eq!(rules.decide(target), Ok(PathDecision::Verify), "{target:?}");
    }
}

#[test]
fn only_verifies_the_prefixes_given() {
    let rules = PathRules::only(["/twilio/", "/voice"]).unwrap();
    assert!(!rules.verifies_everything());
    assert_eq!(rules.decide("/twilio/sms"), Ok(PathDecision::Verify));
    assert_eq!(rules.decide("/twilio"), Ok(PathDecision::Verify));
    assert_eq!(rules.decide("/Voice/x"), Ok(PathDecision::Verify));
    assert_eq!(rules.decide("/twiliox"), Ok(PathDecision::Pass));
    assert_eq!(rules.decide("/"), Ok(PathDecision::Pass));
    assert_eq!(
        rules.decide("/static/../twilio/sms"),
        Err(TargetError::NotNormal)
    );
}

#[test]
fn prefixes_must_be_paths_in_normal_form() {
    for bad in ["health", "", "/a/../b", "/a?x", "/a#x", "/a//b"] {
        assert!(PathRules::new().pass(bad).is_err(), "{bad:?}");
        assert!(PathRules::new().require(bad).is_err(), "{bad:?}");
    }
    assert!(PathRules::new().pass(" /health/ ").is_ok());
}

#[test]
fn rules_print_their_prefixes_as_text() {
    let rules = PathRules::new().pass("/health/").unwrap();
    assert_eq!(
        format!("{rules:?}"),
        r#"PathRules { pass: ["/health"], require: [] }"#
    );
    // The root stays itself.
    let only = PathRules::only(["/twilio"]).unwrap();
    assert_eq!(
        format!("{only:?}"),
        r#"PathRules { pass: ["/"], require: ["/twilio"] }"#
    );
}

/// Mutation testing found the longest-prefix comparison unchecked in one direction.
#[test]
fn a_longer_pass_prefix_wins_and_a_require_prefix_wins_a_tie() {
    let rules = PathRules::new()
        .require("/health")
        .and_then(|r| r.pass("/health/live"))
        .unwrap();
    assert_eq!(rules.decide("/health/live/x"), Ok(PathDecision::Pass));
    assert_eq!(rules.decide("/health/other"), Ok(PathDecision::Verify));
    let tie = PathRules::new()
        .pass("/a")
        .and_then(|r| r.require("/a"))
        .unwrap();
    assert_eq!(tie.decide("/a/b"), Ok(PathDecision::Verify));
}

#[test]
fn errors_explain_themselves() {
    assert!(
        TargetError::Form
            .to_string()
            .contains("origin or absolute form")
    );
    assert!(TargetError::NotNormal.to_string().contains("dot segments"));
}

/// Issue 28, finding 4: spellings of a path under `/twilio` that some common server routes there.
/// Under `--pass / --require /twilio` each must be verified or refused, never exempt; before the fix
/// the `;` parameters, `%u`, overlong UTF-8, trailing dots and spaces, folded letters, double escapes
/// and the suffix were exempt.
#[test]
fn no_spelling_of_a_protected_prefix_is_exempt() {
    use PathDecision::Verify;
    use TargetError::NotNormal;
    let rules = PathRules::new()
        .pass("/")
        .and_then(|r| r.require("/twilio"))
        .unwrap();
    let table: &[(&str, Result<PathDecision, TargetError>)] = &[
        // Path parameters (Tomcat, Jetty, Spring), written or encoded, once or twice.
        ("/twilio;jsessionid=1/sms", Ok(Verify)),
        ("/twilio;/sms", Ok(Verify)),
        ("/twilio;jsessionid=1", Ok(Verify)),
        ("/TWILIO;x/sms", Ok(Verify)),
        ("/twilio%3bx/sms", Ok(Verify)),
        ("/twilio%253bx/sms", Ok(Verify)),
        ("/twilio;x%3by/sms", Ok(Verify)),
        ("http://h/twilio;x/sms", Ok(Verify)),
        ("/;x/twilio/sms", Err(NotNormal)),
        ("/static/;x/twilio/sms", Err(NotNormal)),
        ("/static/..;x/twilio/sms", Err(NotNormal)),
        ("/static/.;x/twilio/sms", Err(NotNormal)),
        // IIS `%u` escapes, and invalid escapes.
        ("/static/%u002e%u002e/twilio/sms", Err(NotNormal)),
        ("/%u0074wilio/sms", Err(NotNormal)),
        ("/%U0074wilio/sms", Err(NotNormal)),
        ("/static/%25u002e%25u002e/twilio/sms", Err(NotNormal)),
        ("/twilio%zz/sms", Err(NotNormal)),
        ("/twilio%", Err(NotNormal)),
        // Overlong UTF-8 and other bytes that are not UTF-8.
        ("/static/%c0%ae%c0%ae/twilio/sms", Err(NotNormal)),
        ("/static/%e0%80%ae%e0%80%ae/twilio/sms", Err(NotNormal)),
        ("/static/%f0%80%80%ae./twilio/sms", Err(NotNormal)),
        ("/static/..%c0%aftwilio/sms", Err(NotNormal)),
        ("/twilio%c0%ae/sms", Err(NotNormal)),
        ("/%ff/twilio", Err(NotNormal)),
        ("/static/%25c0%25ae%25c0%25ae/twilio", Err(NotNormal)),
        // Trailing dots and spaces (Windows, IIS).
        ("/twilio./sms", Ok(Verify)),
        ("/twilio%2e/sms", Ok(Verify)),
        ("/twilio%20/sms", Ok(Verify)),
        ("/twilio.%20./sms", Ok(Verify)),
        ("/twilio.", Ok(Verify)),
        ("/twilio%20", Ok(Verify)),
        ("/twilio%2520/sms", Ok(Verify)),
        ("/twilio;x./sms", Ok(Verify)),
        // NUL and other control characters.
        ("/twilio%00/sms", Err(NotNormal)),
        ("/twilio/sms%00.css", Err(NotNormal)),
        ("/twilio%2500/sms", Err(NotNormal)),
        ("/twilio%09/sms", Err(NotNormal)),
        ("/twilio%7f/sms", Err(NotNormal)),
        // Case, and what case-insensitive servers or best-fit code pages fold to ASCII.
        ("/TWILIO/sms", Ok(Verify)),
        ("/Twilio", Ok(Verify)),
        ("/tw%C4%B1lio/sms", Ok(Verify)),
        ("/TW%C4%B0LIO/sms", Ok(Verify)),
        (
            "/%EF%BD%94%EF%BD%97%EF%BD%89%EF%BD%8C%EF%BD%89%EF%BD%8F/sms",
            Ok(Verify),
        ),
        ("/static/%EF%BC%8E%EF%BC%8E/twilio/sms", Err(NotNormal)),
        ("/static/%E2%80%A4%E2%80%A4/twilio/sms", Err(NotNormal)),
        ("/static%EF%BC%8Ftwilio/sms", Err(NotNormal)),
        ("/static%E2%88%95twilio/sms", Err(NotNormal)),
        ("/static%EF%BC%BCtwilio/sms", Err(NotNormal)),
        // Escapes decoded twice.
        ("/%2574wilio/sms", Ok(Verify)),
        ("/static/%252e%252e/twilio/sms", Err(NotNormal)),
        ("/twilio%252fsms", Err(NotNormal)),
        // Spring's suffix pattern matching.
        ("/twilio.json", Ok(Verify)),
        ("/TWILIO.x.y/sms", Ok(Verify)),
        // A `?` or `#` made by decoding.
        ("/twilio%3f/x", Err(NotNormal)),
        ("/static%3f/../twilio", Err(NotNormal)),
        ("/twilio%23x", Err(NotNormal)),
    ];
    let wrong: Vec<String> = table
        .iter()
        .filter(|(target, want)| rules.decide(target) != *want)
        .map(|(target, want)| format!("{target}: {:?}, want {want:?}", rules.decide(target)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Mutation testing found two folds and half of the escape check unchecked: the long s (`ſ`,
/// which uppercases to `S`) read as `s`, the set-minus and small reverse solidus read as `\\`
/// (refused: they would split the segment), and an escape with one hex digit refused.
#[test]
fn folded_letters_and_backslashes_and_half_escapes_are_read_as_servers_read_them() {
    use PathDecision::Verify;
    use TargetError::NotNormal;
    let rules = PathRules::new()
        .pass("/")
        .and_then(|r| r.require("/sms"))
        .unwrap();
    for (target, want) in [
        ("/%C5%BFms", Ok(Verify)),
        ("/SMS", Ok(Verify)),
        ("/static%E2%88%96sms", Err(NotNormal)),
        ("/static%EF%B9%A8sms", Err(NotNormal)),
        ("/sms%2g", Err(NotNormal)),
        ("/sms%g2", Err(NotNormal)),
        ("/sms%2", Err(NotNormal)),
        ("/s%41%zz", Err(NotNormal)),
        ("/other", Ok(PathDecision::Pass)),
    ] {
        assert_eq!(rules.decide(target), want, "{target:?}");
    }
}

/// Genuine, ordinary paths decide as they did before the fix.
#[test]
fn ordinary_paths_decide_as_before() {
    use PathDecision::{Pass, Verify};
    let rules = PathRules::new()
        .pass("/")
        .and_then(|r| r.require("/twilio"))
        .unwrap();
    let health = PathRules::new()
        .pass("/health")
        .and_then(|r| r.pass("/static"))
        .and_then(|r| r.pass("/favicon.ico"))
        .and_then(|r| r.pass("/caf%C3%A9"))
        .unwrap();
    let table: &[(&PathRules, &str, PathDecision)] = &[
        (&rules, "/", Pass),
        (&rules, "/health", Pass),
        (&rules, "/static/app.css", Pass),
        (&rules, "/static/v1.2/app.min.js", Pass),
        (&rules, "/static/caf%C3%A9.css", Pass),
        (&rules, "/.well-known/acme-challenge/x", Pass),
        (&rules, "/app;jsessionid=1/page", Pass),
        (&rules, "/twiliox", Pass),
        (&rules, "/twilio-status", Pass),
        (&rules, "/a%20b", Pass),
        (&rules, "/docs/", Pass),
        (&rules, "/search?q=/twilio/sms&x=%2e%2e", Pass),
        (&rules, "/twilio", Verify),
        (&rules, "/twilio/", Verify),
        (&rules, "/twilio/sms", Verify),
        (&rules, "/twilio/voice?x=1", Verify),
        (&rules, "/x/twilio", Pass),
        (&health, "/health", Pass),
        (&health, "/health/live", Pass),
        (&health, "/static/app.css", Pass),
        (&health, "/favicon.ico", Pass),
        (&health, "/caf%C3%A9/menu", Pass),
        (&health, "/twilio/sms", Verify),
        (&health, "/healthz", Verify),
        (&health, "/favicon", Verify),
        // Not exempt under every reading: a server may read these as another path.
        (&health, "/health;x", Verify),
        (&health, "/health./x", Verify),
        (&health, "/Health", Verify),
        (&health, "/CAF%C3%89", Verify),
    ];
    for (rules, target, want) in table {
        assert_eq!(rules.decide(target), Ok(*want), "{target:?}");
    }
}

#[test]
fn prefixes_must_read_alike_everywhere() {
    for bad in [
        "/a;b", "/a.", "/a%20", "/a%u0062", "/a/%2e", "/%c0%ae", "/a%00",
    ] {
        assert_eq!(
            PathRules::new().pass(bad),
            Err(TargetError::NotNormal),
            "{bad:?}"
        );
    }
    let rules = PathRules::new()
        .pass("/")
        .and_then(|r| r.require("/Caf%C3%A9/"))
        .unwrap();
    assert_eq!(
        format!("{rules:?}"),
        r#"PathRules { pass: ["/"], require: ["/Café"] }"#
    );
    assert_eq!(rules.decide("/caf%C3%A9/x"), Ok(PathDecision::Verify));
    assert_eq!(rules.decide("/CAF%C3%89/x"), Ok(PathDecision::Verify));
    assert_eq!(rules.decide("/cafe/x"), Ok(PathDecision::Pass));
}

/// Deciding stays linear in the path: a long path of many segments is cheap.
#[test]
fn long_paths_decide_quickly() {
    let rules = PathRules::only(["/twilio"]).unwrap();
    let long = format!("/{}", "a;b.c%20d/".repeat(20_000));
    let start = std::time::Instant::now();
    assert_eq!(rules.decide(&long), Ok(PathDecision::Pass));
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    // Every segment a script and a cookieless one, every rest read and exempt: each is a slice.
    let long = format!("/{}x", "(S(a)).php/".repeat(20_000));
    let start = std::time::Instant::now();
    assert_eq!(rules.decide(&long), Ok(PathDecision::Pass));
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
}

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
        (&rules, "/x/twilio.php/sms"),
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
    assert_eq!(
        health.decide("/(S(abc))/static/a.css"),
        Ok(PathDecision::Verify)
    );
}

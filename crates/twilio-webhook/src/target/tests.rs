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
    // A require prefix protects its last segment as a string prefix too (routers that match
    // `/health/twilio` as a string serve `/health/twilioX` under it).
    assert_eq!(d("/health/twilioX"), Ok(PathDecision::Verify));
    assert_eq!(d("/health/twiliX"), Ok(PathDecision::Pass));
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
    assert_eq!(rules.decide("/twiliox"), Ok(PathDecision::Verify));
    assert_eq!(rules.decide("/twilix"), Ok(PathDecision::Pass));
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
        (&rules, "/twilix", Pass),
        (&rules, "/twiliox", Verify),
        (&rules, "/twilio-status", Verify),
        (&rules, "/a%20b", Pass),
        (&rules, "/docs/", Pass),
        (&rules, "/search?q=messages/sms&x=%2e%2e", Pass),
        (&rules, "/twilio", Verify),
        (&rules, "/twilio/", Verify),
        (&rules, "/twilio/sms", Verify),
        (&rules, "/twilio/voice?x=1", Verify),
        // An app mounted under `/x` that strips it routes this as `/twilio` (sixth outside attack).
        (&rules, "/x/twilio", Verify),
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
        // Spacing a server may drop (third outside attack, F14): protected, not exempt.
        (&rules, "/%20twilio/sms", Verify),
        (&rules, "/twilio%E3%80%80/sms", Verify),
        (&rules, "/%C2%A0twilio/sms", Verify),
        (&rules, "/twi%E2%80%8Blio/sms", Verify),
        (&rules, "/%EF%BB%BFtwilio/sms", Verify),
        // Every default-ignorable character, not only the zero-width ones (sixth outside attack, A5-F1).
        (&rules, "/twi%CD%8Flio/sms", Verify),
        (&rules, "/twilio%EF%B8%8F/sms", Verify),
        (&rules, "/tw%E1%A0%8Eilio/sms", Verify),
        (&rules, "/tw%E1%A0%8Bilio/sms", Verify),
        (&rules, "/twi%D8%9Clio/sms", Verify),
        (&rules, "/twi%F3%A0%80%A0lio/sms", Verify),
        (&rules, "/twi%F0%9D%85%B3lio/sms", Verify),
        (&rules, "/twi%E3%85%A4lio/sms", Verify),
        (&rules, "/twi%E1%85%9Flio/sms", Verify),
        (&rules, "/twi%EF%BE%A0lio/sms", Verify),
        (&rules, "/twi%E2%80%AElio/sms", Verify),
        (&rules, "/caf%C3%A9%C2%A0menu", Pass),
        (&rules, "/a%20b/c", Pass),
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

/// Deciding is bounded (issue 28, F6: a 60 KB path cost the guard 11 ms of CPU and was exempt): a
/// path is read up to `MAX_RULED_PATH` bytes and `MAX_RULED_SEGMENTS` segments, linear in both, and
/// past either it is verified, never exempt nor refused; so is a query over `MAX_RULED_PATH` bytes,
/// since it may hold a path a server routes on (F2). (What deciding
/// costs is measured by `cargo bench -p twilio-webhook-bench --bench paths`, not here.)
#[test]
fn long_paths_are_verified_past_the_caps() {
    use crate::{MAX_RULED_PATH, MAX_RULED_SEGMENTS};
    assert_eq!((MAX_RULED_PATH, MAX_RULED_SEGMENTS), (4 * 1024, 64));
    let rules = PathRules::only(["/twilio"]).unwrap();
    for long in [
        format!("/{}", "a;b.c%20d/".repeat(20_000)),
        format!("/{}x", "(S(a)).php/".repeat(20_000)),
        format!("/{}x", "a/".repeat(20_000)),
    ] {
        assert_eq!(rules.decide(&long), Ok(PathDecision::Verify));
    }
    // Within the caps: every segment a script and a cookieless one, every rest read and exempt
    // (each is a slice); one more segment, or one more byte, and it is verified.
    let scripts = |n: usize| format!("/{}x", "(S(a)).php/".repeat(n));
    assert_eq!(rules.decide(&scripts(63)), Ok(PathDecision::Pass));
    assert_eq!(rules.decide(&scripts(64)), Ok(PathDecision::Verify));
    let long = |n: usize| format!("/{}", "a".repeat(n));
    assert_eq!(rules.decide(&long(4 * 1024 - 1)), Ok(PathDecision::Pass));
    assert_eq!(rules.decide(&long(4 * 1024)), Ok(PathDecision::Verify));
    let query = |n: usize| format!("/a?q={}", "x".repeat(n));
    assert_eq!(rules.decide(&query(4 * 1024 - 2)), Ok(PathDecision::Pass));
    assert_eq!(rules.decide(&query(4 * 1024 - 1)), Ok(PathDecision::Verify));
    assert_eq!(rules.decide(&query(100_000)), Ok(PathDecision::Verify));
    // Past them what would be refused is verified: the rules never exempt it.
    let dots = |n: usize| format!("/{}../x", "a/".repeat(n));
    assert_eq!(rules.decide(&dots(62)), Err(TargetError::NotNormal));
    assert_eq!(rules.decide(&dots(63)), Ok(PathDecision::Verify));
    let twilio = |n: usize| format!("/twilio{}", "/x".repeat(n));
    assert_eq!(rules.decide(&twilio(63)), Ok(PathDecision::Verify));
    assert_eq!(rules.decide(&twilio(64)), Ok(PathDecision::Verify));
}

/// The readings of Windows, IIS, PHP and ASP.NET servers.
mod servers;

/// Every spelling of a protected path is verified: escapes, case, the query, a language tag.
mod spellings;

/// Fourth outside attack (F11): Yii (`?r=twilio/sms`), Drupal 7 (`?q=twilio/sms`) and CodeIgniter 3
/// (`?twilio/sms`) route on the query without a leading `/`. A protected prefix's last name anywhere
/// in the query makes the request verified.
#[test]
fn a_protected_name_anywhere_in_the_query_is_verified() {
    let rules = PathRules::only(["/twilio"]).expect("rules");
    for routed in [
        "/index.php?r=twilio/sms",
        "/?q=twilio/sms",
        "/index.php?twilio/sms",
        "/?r=twilio%2Fsms",
        "/?r=TWILIO/sms",
        "/?r=tw%2569lio/sms",
        "/search?q=twilio",
    ] {
        assert_eq!(rules.decide(routed), Ok(PathDecision::Verify), "{routed:?}");
    }
    for ordinary in ["/?r=site/index", "/search?q=twill", "/static/app.js?v=3"] {
        assert_eq!(
            rules.decide(ordinary),
            Ok(PathDecision::Pass),
            "{ordinary:?}"
        );
    }
}

/// The query's routes are read to their caps, not short of them (mutation testing, fourth session):
/// a query nested `MAX_DEPTH` (3) levels inside its route, a route of `MAX_RULED_SEGMENTS` (64)
/// segments and a route with a long segment are read, and exempt when every route is; one level
/// deeper or one segment more, and the request is verified.
#[test]
fn query_routes_are_read_up_to_their_caps() {
    let rules = PathRules::only(["/twilio"]).expect("rules");
    let nested = "/a?q=/b?q=/c?q=/d?q=/e";
    assert_eq!(rules.decide(nested), Ok(PathDecision::Pass));
    assert_eq!(
        rules.decide(&format!("{nested}?q=/f")),
        Ok(PathDecision::Verify)
    );
    let segments = |n: usize| format!("/a?q={}", "/x".repeat(n));
    assert_eq!(rules.decide(&segments(64)), Ok(PathDecision::Pass));
    assert_eq!(rules.decide(&segments(65)), Ok(PathDecision::Verify));
    // Only the `/`s count as segments: a long name is one segment.
    let long_name = format!("/a?q=/{}", "x".repeat(200));
    assert_eq!(rules.decide(&long_name), Ok(PathDecision::Pass));
}

/// A `+` is a space in a query component's first decoding only, as a form decodes it: decoded again
/// (`%2B/private` is `+/private` once), it is a `+`, so no route starts there and a public page's
/// query that mentions one passes (mutation testing, fourth session: `decode`'s `plus_is_space`).
#[test]
fn a_plus_decoded_from_the_query_is_not_a_space() {
    assert_eq!(super::query::routes("q=%2B/private"), Some(vec![]));
    assert_eq!(
        super::query::routes("q=+/private"),
        Some(vec!["/private".to_owned()])
    );
    let rules = PathRules::new().pass("/public").expect("pass");
    assert_eq!(
        rules.decide("/public/x?q=%2B/private"),
        Ok(PathDecision::Pass)
    );
    assert_eq!(
        rules.decide("/public/x?q=+/private"),
        Ok(PathDecision::Verify)
    );
}

/// Fifth outside attack (A4-F5): a 4 KiB path of segments each read twenty ways
/// (`%2520%e2%80%8bA%2520.%2520;x:y~1.php`) and a 4 KiB query of fifteen routes of sixty-three
/// segments cost the guard 2.4 ms of CPU per request (0.08 ms for `/static/app.css`). A segment read
/// more than twelve ways is refused; past sixty-four further readings in a path, or sixty-four
/// segments in all of a query's routes, the request is verified, unread; an ordinary path still passes.
#[test]
fn reading_a_path_is_bounded_in_readings_not_only_bytes() {
    use PathDecision::{Pass, Verify};
    let rules = PathRules::new()
        .pass("/")
        .and_then(|r| r.require("/twilio"))
        .unwrap();
    let path = |segment: &str, n: usize| format!("/static/{}", vec![segment; n].join("/"));
    // Twenty-two readings: refused, whatever follows.
    let heavy = "%2520%e2%80%8bA%2520.%2520;x:y~1.php";
    assert_eq!(rules.decide(&path(heavy, 1)), Err(TargetError::NotNormal));
    // Nine further readings each: seven are read, eight are not (verified).
    let ten = "%2520A%2520;x:y~1.php";
    assert_eq!(rules.decide(&path(ten, 7)), Ok(Pass));
    assert_eq!(rules.decide(&path(ten, 8)), Ok(Verify));
    // One further reading each: sixty-three segments are read, as before.
    assert_eq!(rules.decide(&path("a;b", 63)), Ok(Pass));
    // Query routes: sixty-four segments in all, not each.
    let route = |n: usize| format!("/{}", vec!["ab.c"; n].join("/"));
    let query = |routes: usize, n: usize| {
        let one = format!("a={}", route(n));
        format!("/static/x?{}", vec![one; routes].join("&"))
    };
    assert_eq!(rules.decide(&query(1, 63)), Ok(Pass));
    assert_eq!(rules.decide(&query(2, 32)), Ok(Pass));
    assert_eq!(rules.decide(&query(2, 33)), Ok(Verify));
    assert_eq!(rules.decide(&query(15, 63)), Ok(Verify));
}

//! Every way of writing a protected path that some server reads as that path is verified: escapes,
//! folded letters, backslashes, a path in the query, a language-tag segment in front.

use super::*;

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

/// A segment of only ASCII letters, digits, `-` and `_` is decided on as sent, without a copy (every
/// server reads it so); any other byte (`.`, an escape, `;`) makes it read in each of its readings.
#[test]
fn plain_segments_are_read_without_copies() {
    use reading::Segment;
    let path = reading::segments("/twilio/SMS-status_2/v1.2/a%41/b;c?x=1")
        .expect("a normal path")
        .expect("within the budget");
    assert!(
        matches!(
            path.as_slice(),
            [
                Segment::Plain("twilio"),
                Segment::Plain("SMS-status_2"),
                Segment::Read(_),
                Segment::Read(_),
                Segment::Read(_),
            ]
        ),
        "{path:?}"
    );
}

/// Issue 28, third audit, F2: WordPress routes `/?rest_route=/twilio/sms` as `/wp-json/twilio/sms`,
/// CodeIgniter `/index.php?/twilio/sms` as `/twilio/sms`. A path in the query must be exempt too.
#[test]
fn a_path_in_the_query_must_be_exempt_too() {
    let rules = PathRules::new()
        .pass("/")
        .and_then(|r| r.require("/wp-json/twilio"))
        .and_then(|r| r.require("/twilio"))
        .expect("rules");
    let decide = |t: &str| rules.decide(t);
    for routed in [
        "/?rest_route=/twilio/sms",
        "/index.php?rest_route=/twilio/sms",
        "/?rest_route=%2Ftwilio%2Fsms",
        "/?rest_route=%252Ftwilio%252Fsms",
        "/?rest_route=/TWILIO/sms",
        "/?rest_route=/twilio;x/sms",
        "/?rest_route=/index.php/twilio/sms",
        "/index.php?/twilio/sms",
        "/?q=+/twilio/sms",
        "/?a=1;rest_route=/twilio",
        "/login?next=/x%3Frest_route%3D/twilio/sms",
        "/?rest_route=/twilio-admin",
        // What no reading makes safe is verified, not refused: the path itself is fine.
        "/?rest_route=/a/../twilio",
        "/?rest_route=\\twilio",
        "/?rest_route=//twilio",
    ] {
        assert_eq!(decide(routed), Ok(PathDecision::Verify), "{routed:?}");
    }
    for ordinary in [
        "/login?next=/dashboard",
        "/?rest_route=/wp/v2/posts",
        "/static/app.js?v=1.2&theme=dark",
        "/search?q=messages/sms",
        "/?next=/",
    ] {
        assert_eq!(decide(ordinary), Ok(PathDecision::Pass), "{ordinary:?}");
    }
    // With exemptions only, a path in the query that is not exempt is verified.
    let rules = PathRules::new().pass("/health").expect("rules");
    assert_eq!(rules.decide("/health?x=1"), Ok(PathDecision::Pass));
    assert_eq!(rules.decide("/health?next=/sms"), Ok(PathDecision::Verify));
    assert_eq!(
        rules.decide("/health?next=/health/live"),
        Ok(PathDecision::Pass)
    );
    // A query past the caps is not read: verified.
    let long = format!("/health?x={}", "a".repeat(MAX_RULED_PATH));
    assert_eq!(rules.decide(&long), Ok(PathDecision::Verify));
}

/// Fourth outside attack (F9): Django's `i18n_patterns` (with `prefix_default_language=False`),
/// Symfony's `{_locale}` and Rails' `(:locale)` route `/fr/twilio/sms` as `/twilio/sms`. Sixth outside
/// attack (A5-F5, A5-F6): an application mounted under a prefix it strips itself (Django's
/// `FORCE_SCRIPT_NAME`, `FastAPI(root_path=…)` inside the middleware, Hono's `basePath` and `route`)
/// routes `/v2/twilio/sms` as `/twilio/sms`. A `require` prefix protects the rest of the path after
/// any of its segments; a `pass` prefix still exempts only its own paths.
#[test]
fn a_mount_or_language_prefix_does_not_hide_a_protected_path() {
    let rules = PathRules::only(["/twilio"]).expect("rules");
    for routed in [
        "/fr/twilio/sms",
        "/pt-br/twilio/sms",
        "/zh_Hans/twilio",
        "/en-US/twilio/voice",
        "/FR/twilio/sms",
        "/de/twilio-admin",
        "/v2/twilio/sms",
        "/static/twilio/x",
        "/news/twilio",
        "/fr-x/twilio",
        "/a/b/c/twilio/sms",
        "/api/v3/twilio",
    ] {
        assert_eq!(rules.decide(routed), Ok(PathDecision::Verify), "{routed:?}");
    }
    // A path none of whose tails starts with the protected name stays exempt.
    for ordinary in [
        "/fr/about",
        "/static/twilix/x",
        "/css/app.css",
        "/fr",
        "/twilix/v2",
    ] {
        assert_eq!(
            rules.decide(ordinary),
            Ok(PathDecision::Pass),
            "{ordinary:?}"
        );
    }
    let css = PathRules::new().pass("/css").expect("rules");
    assert_eq!(css.decide("/css/app.css"), Ok(PathDecision::Pass));
    // A `pass` prefix is not read after other segments: `/x/css/app.css` is not exempt.
    assert_eq!(css.decide("/x/css/app.css"), Ok(PathDecision::Verify));
}

//! Issue 28, finding 4: path rules against the real guard, started `--pass / --require /twilio` in
//! front of an echo upstream that counts what reaches it. Every spelling below is one that a common
//! server (Tomcat, Jetty, Spring, IIS, PHP, Node, Python, Go) can resolve to a path under `/twilio`;
//! sent unsigned, none may reach the upstream. Before the fix the guard forwarded
//! `/twilio;jsessionid=1/sms`, `%u002e`, overlong `%c0%ae`, `/twilio./` and `/twilio%20/`.

use twilio_webhook_http_suite as suite;

mod support;
use support::{Echo, FORM, Guard, signed, unsigned};

/// Spellings of a path under `/twilio` that some server routes there.
const SPELLINGS: &[&str] = &[
    // Path parameters: Tomcat, Jetty and Spring drop `;…` from every segment.
    "/twilio;jsessionid=1/sms",
    "/twilio;/sms",
    "/twilio;jsessionid=1",
    "/TWILIO;x/sms",
    "/twilio%3bx/sms",
    "/twilio%253bx/sms",
    "/;x/twilio/sms",
    "/static/..;x/twilio/sms",
    // IIS's `%u` escapes, and dot segments hidden in them.
    "/static/%u002e%u002e/twilio/sms",
    "/%u0074wilio/sms",
    "/static/%U002E%U002E/twilio/sms",
    // Overlong UTF-8 that lax decoders read as `.` or `/`.
    "/static/%c0%ae%c0%ae/twilio/sms",
    "/static/%e0%80%ae%e0%80%ae/twilio/sms",
    "/static/..%c0%aftwilio/sms",
    "/twilio%c0%ae/sms",
    // A trailing dot or space: Windows and IIS drop them.
    "/twilio./sms",
    "/twilio%2e/sms",
    "/twilio%20/sms",
    "/twilio.%20./sms",
    "/twilio.",
    "/twilio%20",
    // Spacing a server or a Unicode normaliser may drop (third outside attack, F14): a leading
    // space, a Unicode space around a name, a zero-width space or byte-order mark inside it.
    "/%20twilio/sms",
    "/%C2%A0twilio/sms",
    "/twilio%E3%80%80/sms",
    "/twi%E2%80%8Blio/sms",
    "/%EF%BB%BFtwilio/sms",
    // Every default-ignorable character collation skips (sixth outside attack, A5-F1): a combining
    // grapheme joiner, a variation selector, a Mongolian vowel separator, a tag, a Hangul filler.
    "/twi%CD%8Flio/sms",
    "/twilio%EF%B8%8F/sms",
    "/tw%E1%A0%8Eilio/sms",
    "/twi%F3%A0%80%A0lio/sms",
    "/twi%E3%85%A4lio/sms",
    // NUL and other control characters, which C-based servers end a path at.
    "/twilio%00/sms",
    "/twilio/sms%00.css",
    "/twilio%09/sms",
    // Case, and characters that case-insensitive servers fold to ASCII.
    "/TWILIO/sms",
    "/Twilio/sms",
    "/tw%C4%B1lio/sms",
    "/%EF%BD%94%EF%BD%97%EF%BD%89%EF%BD%8C%EF%BD%89%EF%BD%8F/sms",
    "/static/%EF%BC%8E%EF%BC%8E/twilio/sms",
    // Escapes decoded twice.
    "/%2574wilio/sms",
    "/static/%252e%252e/twilio/sms",
    // Spring's suffix pattern matching routes `/twilio.json` to `/twilio`.
    "/twilio.json",
    // Dot segments, backslashes and encoded slashes, already refused before.
    "/static/../twilio/sms",
    "/static/%2e%2e/twilio/sms",
    "/static\\..\\twilio\\sms",
    "/static%2f..%2ftwilio/sms",
    "/static//../twilio/sms",
];

#[test]
fn issue_28_no_spelling_of_a_protected_path_reaches_the_upstream_unsigned() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/", "--require", "/twilio"]);
    let form = b"Body=not+from+twilio";
    let mut forwarded = Vec::new();
    for &target in SPELLINGS {
        let request = unsigned(signed(guard.port, target, FORM, form, &[]));
        let before = echo.hits();
        let answer = suite::send(guard.port, &request).expect("an answer");
        let text = answer.text();
        let refused = text.contains("bad_request_target") || text.contains("missing_signature");
        if echo.hits() != before || answer.status != 400 || !refused {
            forwarded.push(format!("{target} -> {} {text}", answer.status));
        }
    }
    assert!(
        forwarded.is_empty(),
        "unsigned requests not refused:\n{}",
        forwarded.join("\n")
    );
    assert_eq!(echo.hits(), 0, "nothing reached the upstream");
}

/// Ordinary paths decide as before the fix: exempt ones reach the upstream unsigned, a Java session
/// parameter outside `/twilio` included, and `/twilio` is verified, not refused.
#[test]
fn issue_28_ordinary_paths_still_decide_as_before() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/", "--require", "/twilio"]);
    let send = |r: &suite::RawRequest| suite::send(guard.port, r).expect("an answer");
    let exempt = [
        "/",
        "/health",
        "/health/live?x=1",
        "/static/app.css",
        "/static/v1.2/app.min.js",
        "/static/caf%C3%A9.css",
        "/.well-known/acme-challenge/x",
        "/app;jsessionid=1/page",
        "/twilix",
        "/a%20b",
        "/docs/",
        "/search?q=messages/sms",
        "/login?next=/dashboard",
        "/?rest_route=/wp/v2/posts",
    ];
    for (n, target) in exempt.iter().enumerate() {
        let r = send(&unsigned(signed(guard.port, target, FORM, b"", &[])));
        assert_eq!(r.status, 200, "{target}: {}", r.text());
        assert_eq!(echo.hits(), n + 1, "{target} reached the upstream");
    }
    let hits = echo.hits();
    // Routers that match a prefix as a string (the JDK's `HttpServer` contexts, nginx
    // `location /twilio`, Apache `ProxyPass /twilio`) serve `/twiliox` and `/twilio-admin` under
    // `/twilio`: verified too (third outside attack, F13).
    for target in [
        "/twilio",
        "/twilio/",
        "/twilio/sms",
        "/twilio/voice?x=1",
        "/twiliox/sms",
        "/twilio-admin",
        "/TWILIO-status",
    ] {
        let form = b"Body=hello";
        let r = send(&unsigned(signed(guard.port, target, FORM, form, &[])));
        assert!(
            (r.status, r.text().contains("missing_signature")) == (400, true),
            "{target}: {} {}",
            r.status,
            r.text()
        );
        let r = send(&signed(guard.port, target, FORM, form, &[]));
        assert_eq!((r.status, r.body.as_slice()), (200, &form[..]), "{target}");
    }
    assert_eq!(echo.hits(), hits + 7, "only the signed ones reached it");
}

/// Issue 28, F4 (Windows and IIS upstreams): NTFS alternate data streams (`name::$INDEX_ALLOCATION`,
/// `name:$i30:$INDEX_ALLOCATION`, `file::$DATA`) open `name`, and an 8.3 short name (`TWILIO~1`)
/// opens the directory it stands for. With `--pass / --require /twilio-hooks`, each reached the
/// upstream unsigned; now each is verified (refused unsigned), and ordinary paths with a `:` or a `~`
/// still pass.
#[test]
fn issue_28_f4_ntfs_streams_and_short_names_reach_the_upstream_only_signed() {
    let echo = Echo::start();
    let guard = Guard::start(
        &echo.url(),
        &[
            "--pass",
            "/",
            "--require",
            "/twilio-hooks",
            "--require",
            "/api/sms.php",
        ],
    );
    let form = b"Body=not+from+twilio";
    let mut forwarded = Vec::new();
    for target in [
        "/twilio-hooks::$INDEX_ALLOCATION/sms",
        "/twilio-hooks:$i30:$INDEX_ALLOCATION/sms",
        "/twilio-hooks%3A%3A$INDEX_ALLOCATION/sms",
        "/TWILIO~1/sms",
        "/twilio~2/sms",
        "/TWILIO~1::$INDEX_ALLOCATION/sms",
        "/api/sms.php::$DATA",
        "/api/SMS~1.PHP",
    ] {
        let request = unsigned(signed(guard.port, target, FORM, form, &[]));
        let before = echo.hits();
        let answer = suite::send(guard.port, &request).expect("an answer");
        let text = answer.text();
        if echo.hits() != before || answer.status != 400 || !text.contains("missing_signature") {
            forwarded.push(format!("{target} -> {} {text}", answer.status));
        }
        // Signed, it is verified and forwarded.
        let answer = suite::send(guard.port, &signed(guard.port, target, FORM, form, &[]))
            .expect("an answer");
        assert_eq!(answer.status, 200, "{target}: {}", answer.text());
    }
    assert!(
        forwarded.is_empty(),
        "unsigned requests not refused:\n{}",
        forwarded.join("\n")
    );
    let hits = echo.hits();
    for target in [
        "/wiki/Special:Random",
        "/v1/projects/p:run",
        "/files/REPORT~1.PDF",
        "/~user/page",
        "/twilio-status",
    ] {
        let answer = suite::send(
            guard.port,
            &unsigned(signed(guard.port, target, FORM, b"", &[])),
        )
        .expect("an answer");
        assert_eq!(answer.status, 200, "{target}: {}", answer.text());
    }
    assert_eq!(echo.hits(), hits + 5);
}

/// Audit 2026-12-07 (`/work/attack/php_attack.sh`): a PHP front controller (Symfony, Laravel, any
/// `script.php/PATH_INFO`) routes `/index.php/twilio/sms` as `/twilio/sms`, ASP.NET's
/// `page.aspx/PATH_INFO` and CGI do the same, and ASP.NET drops cookieless session segments
/// (`/(S(abc))/twilio/sms`). With `--pass / --require /twilio` each reached the upstream unsigned;
/// now each is verified (refused unsigned, forwarded signed), and ordinary paths with dots and
/// parentheses still pass.
#[test]
fn path_info_and_cookieless_segments_reach_the_upstream_only_signed() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/", "--require", "/twilio"]);
    let form = b"Body=not+from+twilio";
    let mut forwarded = Vec::new();
    for target in [
        "/index.php/twilio/sms",
        "/app/index.php/twilio/sms",
        "/INDEX.PHP/twilio/sms",
        "/index.php;x/twilio/sms",
        "/default.aspx/twilio/sms",
        "/service.asmx/twilio/sms",
        "/cgi-bin/app.cgi/twilio/sms",
        "/cgi-bin/app.pl/twilio/sms",
        "/app.jsp/twilio/sms",
        "/anything.ext/twilio/sms",
        "/(S(abc))/twilio/sms",
        "/(A(xyz))/twilio/sms",
        "/(F(xyz))/twilio/sms",
        "/(S(abc))(A(xyz))(F(q))/twilio/sms",
        "/%28S%28abc%29%29/twilio/sms",
        "/index.php/(S(abc))/twilio/sms",
        "/x/twilio.php/sms",
    ] {
        let request = unsigned(signed(guard.port, target, FORM, form, &[]));
        let before = echo.hits();
        let answer = suite::send(guard.port, &request).expect("an answer");
        let text = answer.text();
        if echo.hits() != before || answer.status != 400 || !text.contains("missing_signature") {
            forwarded.push(format!("{target} -> {} {text}", answer.status));
        }
        let answer = suite::send(guard.port, &signed(guard.port, target, FORM, form, &[]))
            .expect("an answer");
        assert_eq!(answer.status, 200, "{target}: {}", answer.text());
    }
    assert!(
        forwarded.is_empty(),
        "unsigned requests not refused:\n{}",
        forwarded.join("\n")
    );
    let hits = echo.hits();
    let ordinary = [
        "/index.php",
        "/index.php/page/1",
        "/static/v1.2/app.min.js",
        "/wiki/Foo_(bar)/x",
        "/(S(abc))/page.aspx",
    ];
    for target in ordinary {
        let answer = suite::send(
            guard.port,
            &unsigned(signed(guard.port, target, FORM, b"", &[])),
        )
        .expect("an answer");
        assert_eq!(answer.status, 200, "{target}: {}", answer.text());
    }
    assert_eq!(echo.hits(), hits + ordinary.len());
}

/// Issue 28, "Trust, round two", F6 (audit of 2026-12-07, `/work/attack/guard_pathcost.py`): the
/// readings of a path cost the guard 4 to 11 ms of CPU for a 60 KB path (`a;b=c;d/` or `a.%20./`
/// repeated) under `--pass / --require /twilio`, against 0.6 ms for the same bytes in a header, and
/// such a path was exempt. The path rules now read at most `MAX_RULED_PATH` bytes and
/// `MAX_RULED_SEGMENTS` segments: past either, the request is verified (refused unsigned, forwarded
/// signed), never exempt; a path within both still passes.
#[test]
fn issue_28_f6_a_path_too_long_to_read_is_verified_never_exempt() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/", "--require", "/twilio"]);
    let form = b"Body=not+from+twilio";
    let repeat = |segment: &str, times: usize| format!("/{}", segment.repeat(times));
    for target in [
        repeat("a;b=c;d/", 60_000 / 8),
        repeat("a.%20./", 60_000 / 7),
        repeat("abcdefgh/", 60_000 / 9),
        repeat("%EF%BD%94%25%37%34/", 60_000 / 19),
        // Over the segment cap (65 `/`) in few bytes, and over the byte cap in one segment.
        repeat("a/", 64),
        repeat("a", 4 * 1024),
    ] {
        let before = echo.hits();
        let request = unsigned(signed(guard.port, &target, FORM, form, &[]));
        let answer = suite::send(guard.port, &request).expect("an answer");
        let shown = target.get(..24).unwrap_or_default();
        assert!(
            (answer.status, answer.text().contains("missing_signature")) == (400, true),
            "{shown}… ({} B): {} {}",
            target.len(),
            answer.status,
            answer.text()
        );
        assert_eq!(
            echo.hits(),
            before,
            "{shown}… reached the upstream unsigned"
        );
        let answer = suite::send(guard.port, &signed(guard.port, &target, FORM, form, &[]))
            .expect("an answer");
        assert_eq!(answer.status, 200, "{shown}…: {}", answer.text());
    }
    // Within both caps (64 `/`, 4 KiB), the same segments are read and pass as before.
    for target in [
        repeat("a;b=c;d/", 63),
        repeat("a.%20./", 63),
        repeat("a/", 63),
        repeat("a", 4 * 1024 - 1),
    ] {
        let before = echo.hits();
        let request = unsigned(signed(guard.port, &target, FORM, b"", &[]));
        let answer = suite::send(guard.port, &request).expect("an answer");
        assert_eq!(answer.status, 200, "{} B: {}", target.len(), answer.text());
        assert_eq!(echo.hits(), before + 1);
    }
}

/// Third outside attack, F2: WordPress routes `/?rest_route=/twilio/sms` as its REST route
/// `/wp-json/twilio/sms`, and CodeIgniter-style front controllers route `/index.php?/twilio/sms` as
/// `/twilio/sms`. Under `--pass / --require /wp-json/twilio --require /twilio`, each went through
/// unsigned before the fix (exempt: the path is `/`); now a path in the query must be exempt too.
#[test]
fn issue_28_f2_a_route_in_the_query_reaches_the_upstream_only_signed() {
    let echo = Echo::start();
    let rules = [
        "--pass",
        "/",
        "--require",
        "/wp-json/twilio",
        "--require",
        "/twilio",
    ];
    let guard = Guard::start(&echo.url(), &rules);
    let form = b"Body=not+from+twilio";
    for target in [
        "/?rest_route=/twilio/sms",
        "/index.php?rest_route=/twilio/sms",
        "/?rest_route=%2Ftwilio%2Fsms",
        "/?rest_route=/TWILIO/sms",
        "/index.php?/twilio/sms",
        "/?q=/twilio/sms",
        "/login?next=/x%3Frest_route%3D/twilio/sms",
        // Fourth outside attack (F11): routes read from the query without a leading `/` (Yii's
        // `?r=`, Drupal 7's `?q=`, CodeIgniter 3's bare query).
        "/index.php?r=twilio/sms",
        "/?q=twilio/sms",
        "/index.php?twilio/sms",
        "/?r=twilio%2Fsms",
    ] {
        let answer = suite::send(
            guard.port,
            &unsigned(signed(guard.port, target, FORM, form, &[])),
        )
        .expect("an answer");
        assert!(
            answer.status >= 400,
            "{target}: {} {}",
            answer.status,
            answer.text()
        );
        assert_eq!(echo.hits(), 0, "{target} reached the upstream unsigned");
    }
    // Signed, it is verified and forwarded; an ordinary query still passes unsigned.
    let genuine = suite::send(
        guard.port,
        &signed(guard.port, "/?rest_route=/twilio/sms", FORM, form, &[]),
    )
    .expect("an answer");
    assert_eq!(genuine.status, 200, "{}", genuine.text());
    let ordinary = unsigned(signed(guard.port, "/login?next=/dashboard", FORM, b"", &[]));
    assert_eq!(
        suite::send(guard.port, &ordinary)
            .expect("an answer")
            .status,
        200
    );
    assert_eq!(echo.hits(), 2);
}

/// Fourth outside attack (F9): Django's `i18n_patterns` (and Symfony's `{_locale}`, Rails'
/// `(:locale)`) route `/fr/twilio/sms` as `/twilio/sms`; under `--pass / --require /twilio` it went
/// through unsigned. Sixth outside attack (A5-F5, A5-F6): so does an app mounted under a prefix it
/// strips itself (`FORCE_SCRIPT_NAME`, `root_path`, Hono's `basePath`): `/v2/twilio/sms`,
/// `/api/v3/twilio/sms`. The rest of a path after any of its segments is protected too.
#[test]
fn issue_28_a_language_or_mount_prefix_reaches_the_upstream_only_signed() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/", "--require", "/twilio"]);
    let form = b"Body=not+from+twilio";
    for target in [
        "/fr/twilio/sms",
        "/pt-br/twilio/sms",
        "/en_US/twilio/voice",
        "/v2/twilio/sms",
        "/api/v3/twilio/sms",
    ] {
        let request = unsigned(signed(guard.port, target, FORM, form, &[]));
        let answer = suite::send(guard.port, &request).expect("an answer");
        assert!(
            answer.status >= 400,
            "{target}: {} {}",
            answer.status,
            answer.text()
        );
        assert_eq!(echo.hits(), 0, "{target} reached the upstream unsigned");
    }
    let genuine = suite::send(
        guard.port,
        &signed(guard.port, "/fr/twilio/sms", FORM, form, &[]),
    )
    .expect("an answer");
    assert_eq!(genuine.status, 200, "{}", genuine.text());
    let css = unsigned(signed(guard.port, "/css/app.css", FORM, b"", &[]));
    assert_eq!(
        suite::send(guard.port, &css).expect("an answer").status,
        200
    );
    assert_eq!(echo.hits(), 2);
}

/// Fifth outside attack (A4-F5, `/work/attack4/cost.py`): a path of segments each read many ways, and
/// a query of many routes, cost the guard 2.4 ms of CPU per unsigned request, and passed. A segment
/// read more than twelve ways is refused; past sixty-four further readings in a path, or sixty-four
/// segments in all of a query's routes, the request is verified; none reaches the upstream unsigned.
#[test]
fn issue_28_a_path_read_too_many_ways_is_refused_or_verified() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/", "--require", "/twilio"]);
    let path = |segment: &str, n: usize| format!("/static/{}", vec![segment; n].join("/"));
    let route = format!("/{}", vec!["ab.c"; 63].join("/"));
    let query = format!("/static/x?{}", vec![format!("a={route}"); 15].join("&"));
    for target in [
        path("%2520%e2%80%8bA%2520.%2520;x:y~1.php", 62),
        path("%2520A%2520;x:y~1.php", 8),
        query,
    ] {
        let before = echo.hits();
        let answer = suite::send(
            guard.port,
            &unsigned(signed(guard.port, &target, FORM, b"", &[])),
        )
        .expect("an answer");
        let shown = target.get(..40).unwrap_or_default();
        assert_eq!(answer.status, 400, "{shown}…: {}", answer.text());
        assert_eq!(
            echo.hits(),
            before,
            "{shown}… reached the upstream unsigned"
        );
    }
    // Within the budget, as before.
    let before = echo.hits();
    let target = path("%2520A%2520;x:y~1.php", 7);
    let answer = suite::send(
        guard.port,
        &unsigned(signed(guard.port, &target, FORM, b"", &[])),
    )
    .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(echo.hits(), before + 1);
}

//! Issue 28, F17 (third outside attack): with one public URL configured, the extractors
//! (`TwilioWebhook<T>` in axum and actix) verified a request signed for `hooks.example.com` that was
//! sent with `Host: admin.internal`, or with a client's `X-Forwarded-Host: admin.internal`, and the
//! handler's other extractors (axum's `HeaderMap`, actix's `connection_info().host()`) read
//! `admin.internal`. An extractor cannot change what they read, so it refuses such a request
//! (`400 bad_host`) and releases its replay key; a layer or middleware in front hands the handler the
//! verified origin instead.

use twilio_webhook::{MemoryStore, PublicUrl, ReplayGuard, RequestValidator, WebhookVerifier};

use crate::{Server, send};

/// The one public URL the contract's servers are configured with.
const PUBLIC_URL: &str = "https://hooks.example.com";

/// The peer the contract's requests come from, trusted as a proxy by the second server.
const PEER: &str = "127.0.0.1";

/// The verifier of the contract's servers: the one public URL, a replay guard, and the peer trusted as
/// a proxy or not.
fn verifier(trusted_proxy: Option<&str>) -> WebhookVerifier {
    let mut policy = PublicUrl::base(PUBLIC_URL).expect("the public URL");
    if let Some(proxy) = trusted_proxy {
        policy = policy.trust_proxy(proxy).expect("a proxy address");
    }
    WebhookVerifier::new(RequestValidator::new(crate::TOKEN))
        .public_url(policy)
        .replay_guard(ReplayGuard::new(MemoryStore::new()))
}

/// One request of the contract: the headers it adds to a form signed for the public URL, and what the
/// server must answer (a status and text the answer holds).
struct Case {
    name: &'static str,
    host: &'static str,
    extra: &'static [(&'static str, &'static str)],
    body: &'static [u8],
    status: u16,
    answer_has: &'static str,
}

const ATTACK: &[u8] = b"Body=hi";

/// With one public URL and no trusted proxy. Each attack has its own body; the genuine request that
/// follows has the first one's: it must pass once (the refusal released its replay key) and then be a
/// replay.
const DIRECT: &[Case] = &[
    Case {
        name: "F17: Host admin.internal",
        host: "admin.internal",
        extra: &[],
        body: ATTACK,
        status: 400,
        answer_has: "bad_host",
    },
    Case {
        name: "F17: the right Host and X-Forwarded-Host admin.internal",
        host: "hooks.example.com",
        extra: &[("X-Forwarded-Host", "admin.internal")],
        body: b"Body=x-forwarded-host",
        status: 400,
        answer_has: "bad_host",
    },
    Case {
        name: "Forwarded: host=admin.internal",
        host: "hooks.example.com",
        extra: &[("Forwarded", "for=192.0.2.1;host=admin.internal")],
        body: b"Body=forwarded",
        status: 400,
        answer_has: "bad_host",
    },
    // Fifth outside attack, A4-F7: actix splits `Forwarded` at every `;` and `,`, quotes or not.
    Case {
        name: "A4-F7: Forwarded: for=\"x;host=admin.internal\"",
        host: "hooks.example.com",
        extra: &[("Forwarded", "for=\"x;host=admin.internal\"")],
        body: b"Body=quoted",
        status: 400,
        answer_has: "bad_host",
    },
    Case {
        name: "A4-F3: Forwarded: host =admin.internal",
        host: "hooks.example.com",
        extra: &[("Forwarded", "host =admin.internal")],
        body: b"Body=spaced",
        status: 400,
        answer_has: "bad_host",
    },
    Case {
        name: "X-Forwarded-Proto: http",
        host: "hooks.example.com",
        extra: &[("X-Forwarded-Proto", "http")],
        body: b"Body=x-forwarded-proto",
        status: 400,
        answer_has: "bad_host",
    },
    Case {
        name: "the genuine request, after the refusals released its key",
        host: "hooks.example.com",
        extra: &[],
        body: ATTACK,
        status: 200,
        answer_has: "host=hooks.example.com xfh=-",
    },
    Case {
        name: "the genuine request again: a replay",
        host: "hooks.example.com",
        extra: &[],
        body: ATTACK,
        status: 409,
        answer_has: "replayed",
    },
    Case {
        name: "the public host in another case, with its default port, and forwarded headers naming it",
        host: "HOOKS.example.com:443",
        extra: &[
            ("X-Forwarded-Host", "hooks.example.com"),
            ("X-Forwarded-Proto", "https"),
        ],
        body: b"Body=two",
        status: 200,
        answer_has: "host=HOOKS.example.com:443 xfh=hooks.example.com",
    },
];

/// With one public URL and the peer trusted as a proxy: an internal `Host` is the proxy's choice
/// (nginx's default `proxy_pass`); the forwarded fields must still name the public origin.
const BEHIND_PROXY: &[Case] = &[
    Case {
        name: "a trusted proxy's internal Host",
        host: "app.internal:3000",
        extra: &[],
        body: b"Body=three",
        status: 200,
        answer_has: "host=app.internal:3000 xfh=-",
    },
    Case {
        name: "a trusted proxy's internal Host and the public X-Forwarded-Host",
        host: "app.internal:3000",
        extra: &[
            ("X-Forwarded-Host", "hooks.example.com"),
            ("X-Forwarded-Proto", "https"),
        ],
        body: b"Body=four",
        status: 200,
        answer_has: "host=app.internal:3000 xfh=hooks.example.com",
    },
    Case {
        name: "X-Forwarded-Host admin.internal, from the trusted proxy",
        host: "app.internal:3000",
        extra: &[("X-Forwarded-Host", "admin.internal")],
        body: b"Body=five",
        status: 400,
        answer_has: "bad_host",
    },
];

/// The extractor's origin contract: `start` serves, with the verifier it is given and on a free
/// loopback port, the adapter's app: `POST /sms` behind the adapter's extractor, its handler answering
/// `200` with `host=<Host> xfh=<X-Forwarded-Host, or ->` as it reads them with its framework's other
/// extractors. The requests come from 127.0.0.1.
pub fn extractor_origin_contract(label: &str, start: impl Fn(WebhookVerifier) -> Server) {
    let mut failures = Vec::new();
    for (trusted, cases) in [(None, DIRECT), (Some(PEER), BEHIND_PROXY)] {
        let server = start(verifier(trusted));
        for case in cases {
            let signed = format!("{PUBLIC_URL}/sms");
            let request = crate::form("/sms", case.host, &signed, case.body, case.extra);
            match send(server.port, &request) {
                Ok(r) if r.status == case.status && r.text().contains(case.answer_has) => {}
                Ok(r) => failures.push(format!(
                    "{}: expected {} with {:?}, got {} {:?}",
                    case.name,
                    case.status,
                    case.answer_has,
                    r.status,
                    r.text()
                )),
                Err(e) => failures.push(format!("{}: {e}", case.name)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{label}: {} of the origin contract's requests were answered otherwise:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Requests signed for `https://hooks.example.com/sms` (`Body=hi`) that name other origins as a
/// client may: `Host: admin.internal`, and each of these targets and extra header lines in turn.
/// Behind a layer or middleware the handler must read only the verified origin (third outside
/// attack, F5; fifth, A4-F3 and A4-F6).
pub fn handed_over_origin_requests() -> Vec<(String, String)> {
    let public = "https://hooks.example.com";
    let signature = RequestValidator::new(crate::TOKEN)
        .compute_signature(&format!("{public}/sms"), [("Body", "hi")]);
    [
        (
            "/sms",
            "X-Forwarded-Host: victim.example\r\nX-Forwarded-Proto: http\r\n\
             Forwarded: for=10.0.0.1;host=victim.example\r\n",
        ),
        // A `Forwarded` name with spaces around it, which actix and axum-extra trim, and a host
        // inside a quoted value, which actix splits.
        ("/sms", "Forwarded: host =victim.example\r\n"),
        ("/sms", "Forwarded: for=\"x;host=victim.example\"\r\n"),
        // An absolute-form target names the client's authority too.
        ("http://admin.internal/sms", ""),
    ]
    .into_iter()
    .map(|(target, headers)| {
        let request = format!(
            "POST {target} HTTP/1.1\r\nHost: admin.internal\r\n{headers}\
             Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\n\
             Content-Length: 7\r\nConnection: close\r\n\r\nBody=hi"
        );
        (format!("{target} {headers}"), request)
    })
    .collect()
}

/// Sixth outside attack (A5-F2, A5-F10, and the same class in the Rust hand-over): signed requests
/// for `https://hooks.example.com/sms`, each with headers that tell an app another origin, path
/// prefix, URL or method (`X-HTTP-Method-Override: DELETE` runs an app's DELETE handler behind a
/// method-override middleware, `X-Forwarded-Prefix` moves werkzeug's `ProxyFix` URLs), in the
/// spellings a server folds to them: `(case, raw request)`. A handler behind a layer or middleware
/// must read none of them ([`assert_routing_handed_over`]).
pub fn handed_over_routing_requests() -> Vec<(String, String)> {
    let public = "https://hooks.example.com";
    let signature = RequestValidator::new(crate::TOKEN)
        .compute_signature(&format!("{public}/sms"), [("Body", "hi")]);
    [
        "X-HTTP-Method-Override: DELETE\r\n",
        "X_HTTP_Method_Override: DELETE\r\nX-Method-Override: DELETE\r\n",
        "X-Forwarded-Prefix: /admin\r\nX-Forwarded-Port: 8443\r\n",
        "X_Forwarded_Prefix: /admin\r\nX.Forwarded.Host: admin.internal\r\n",
        "X-Original-URL: /admin/sms\r\nX-Rewrite-URL: /admin/sms\r\n",
        "X-Forwarded-Scheme: http\r\nX-Forwarded-Ssl: off\r\nX-Script-Name: /admin\r\n",
    ]
    .into_iter()
    .map(|headers| {
        let request = format!(
            "POST /sms HTTP/1.1\r\nHost: admin.internal\r\n{headers}\
             Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\n\
             Content-Length: 7\r\nConnection: close\r\n\r\nBody=hi"
        );
        (headers.replace("\r\n", " "), request)
    })
    .collect()
}

/// Asserts that a handler which answers with every header it read (`name=value`, one a line) read
/// none of the client's routing headers of [`handed_over_routing_requests`]: the request was let
/// through (`200`), and no method override, path prefix or URL, port `8443`, scheme or host the
/// client chose reached it.
pub fn assert_routing_handed_over(case: &str, answer: &str) {
    assert!(answer.starts_with("HTTP/1.1 200"), "{case}: {answer}");
    let read = answer.to_ascii_lowercase();
    for forged in [
        "delete",
        "override",
        "/admin",
        "8443",
        "admin.internal",
        "scheme",
        "ssl",
        "x-original-url",
        "x-rewrite-url",
    ] {
        assert!(!read.contains(forged), "{case}: {forged} in {answer}");
    }
    assert!(read.contains("host=hooks.example.com"), "{case}: {answer}");
}

//! The HTTP suite every server adapter of twilio-webhook runs: real servers on 127.0.0.1, real
//! requests signed with the library, one list of cases for every framework.
//!
//! A server under test follows the example servers' contract: `POST /sms` (form) answers `200` with
//! TwiML saying `Verified: N parameters`, `POST /events` (JSON with `bodySHA256`) answers `200`,
//! `POST /nested/sms` is `/sms` in a nested router, `GET /ws` (a WebSocket handshake, verified
//! against the `ws://` URL) answers `200` without upgrading; refusals are `400` (no signature), `413` (over
//! 1 MiB) and `403`, with the reason in the body.

mod attacks;
mod origin;
mod replay;
mod server;
mod tunnel;

pub use attacks::attack_contract;
pub use origin::{
    assert_routing_handed_over, extractor_origin_contract, handed_over_origin_requests,
    handed_over_routing_requests,
};
pub use replay::{
    RedisServer, lease_renewal_contract, replay_contract, report_only_contract, signed_form,
    signed_sms,
};
pub use tunnel::tunnel_contract;
pub use twilio_webhook_cli::wire::{RawRequest, RawResponse, send, send_to};

/// What a typed-payload handler answers for a message: what [`MMS_DESCRIPTION`] expects of [`MMS_BODY`].
pub fn describe_message(m: &twilio_webhook::payload::IncomingMessage) -> String {
    let media: Vec<_> = m
        .media
        .iter()
        .filter_map(|x| x.content_type.clone())
        .collect();
    let tags = m.other.get("Tag").cloned().unwrap_or_default();
    format!(
        "{} from {}: {:?} {} media {media:?} tags {tags:?}",
        m.message_sid, m.from, m.body, m.num_media
    )
}

/// [`describe_message`] of [`MMS_BODY`]: both media, in index order, and the repeated `Tag` kept.
pub const MMS_DESCRIPTION: &str = r#"MM0123456789abcdef0123456789abcdef from +15551234567: "Look!" 2 media ["image/jpeg", "image/png"] tags ["a", "b"]"#;

/// A real inbound MMS webhook body (two media, a repeated parameter), for typed-payload tests.
pub const MMS_BODY: &[u8] = b"ToCountry=US&MessageSid=MM0123456789abcdef0123456789abcdef&AccountSid=AC0123456789abcdef0123456789abcdef&From=%2B15551234567&To=%2B15557654321&Body=Look%21&NumMedia=2&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm0&MediaContentType0=image%2Fjpeg&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2Fm1&MediaContentType1=image%2Fpng&Tag=a&Tag=b";
pub use server::{
    Config, Example, Server, TOKEN, command_contract, example_binary, example_contract, exchange,
    free_port, spawn_example, spawn_example_with, wait_for,
};

use twilio_webhook::{Algorithm, Signer};

/// The configurations every server is started with.
pub const CONFIGS: [Config; 4] = [
    Config {
        name: "host",
        public_url: None,
        trusted_proxies: None,
    },
    Config {
        name: "public urls",
        public_url: Some("https://one.example.com, https://two.example.com/base"),
        trusted_proxies: None,
    },
    Config {
        name: "trusted proxy",
        public_url: None,
        trusted_proxies: Some("127.0.0.1"),
    },
    Config {
        name: "untrusted proxy",
        public_url: None,
        trusted_proxies: Some("10.0.0.0/8, ::1"),
    },
];

const FORM: &str = "application/x-www-form-urlencoded";

/// One request and what the server must answer.
struct Case {
    name: &'static str,
    request: RawRequest,
    status: u16,
    body_has: &'static str,
    /// A WebSocket server may answer the handshake by switching protocols (`101`) instead.
    or_switching: bool,
}

fn signer() -> Signer {
    Signer::new(TOKEN, Algorithm::HmacSha1).expect("suite token")
}

/// The signature Twilio sends for a form `body` posted to `signed_url`.
fn sign(signed_url: &str, body: &[u8]) -> String {
    signer()
        .sign_form_body(signed_url, body)
        .expect("a UTF-8 form body")
}

/// A form POST to `target` with `body`, signed over `signed_url`.
pub(crate) fn form(
    target: &str,
    host: &str,
    signed_url: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> RawRequest {
    request(target, host, FORM, &sign(signed_url, body), body, extra)
}

fn request(
    target: &str,
    host: &str,
    content_type: &str,
    signature: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> RawRequest {
    let mut headers = vec![
        ("Host".to_string(), host.to_string()),
        ("Content-Type".to_string(), content_type.to_string()),
    ];
    if !signature.is_empty() {
        headers.push(("X-Twilio-Signature".to_string(), signature.to_string()));
    }
    headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    RawRequest {
        method: "POST",
        target: target.to_string(),
        headers,
        body: body.to_vec(),
    }
}

/// A WebSocket handshake to `/ws` (a GET without a body), signed over `signed_url`.
fn handshake(host: &str, signed_url: &str) -> RawRequest {
    let upgrade = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let mut request = request("/ws", host, FORM, &sign(signed_url, b""), b"", &upgrade);
    request.method = "GET";
    request.headers.retain(|(name, _)| name != "Content-Type");
    request
}

const SMS: &[u8] = b"From=%2B15551234567&To=%2B15557654321&Body=Hello+there";
const TLS_PROXY: [(&str, &str); 2] = [
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "public.example.com"),
];

fn case(name: &'static str, request: RawRequest, status: u16, body_has: &'static str) -> Case {
    Case {
        name,
        request,
        status,
        body_has,
        or_switching: false,
    }
}

/// The cases for a server with `config` on `port`.
fn cases(config: &Config, port: u16) -> Vec<Case> {
    let host = format!("127.0.0.1:{port}");
    let local = format!("http://{host}");
    let ok = "<Response><Message>Verified: 3 parameters</Message></Response>";
    let by_host = |path: &str| format!("{local}{path}");
    let public = |path: &str| format!("https://public.example.com{path}");
    match config.name {
        "host" => {
            let json = br#"[{"type":"com.twilio.messaging.message.delivered","data":{"to":"+15557654321"}}]"#;
            let signed = signer()
                .sign_body(&by_host("/events"), json)
                .expect("signable URL");
            let events_target = signed.url.replace(&local, "");
            let json_request = |body: &[u8], content_type: &str| {
                request(
                    &events_target,
                    &host,
                    content_type,
                    &signed.signature,
                    body,
                    &[],
                )
            };
            let query = "/sms?name=O%27Brien&q=a+b";
            let reencoded = by_host("/sms?name=O'Brien&q=a%20b");
            let too_big = vec![b'a'; 1024 * 1024 + 1];
            vec![
                case(
                    "form",
                    form("/sms", &host, &by_host("/sms"), SMS, &[]),
                    200,
                    ok,
                ),
                case(
                    "form with charset",
                    request(
                        "/sms",
                        &host,
                        "application/x-www-form-urlencoded; charset=UTF-8",
                        &sign(&by_host("/sms"), SMS),
                        SMS,
                        &[],
                    ),
                    200,
                    ok,
                ),
                case(
                    "query kept byte for byte",
                    form(query, &host, &by_host(query), SMS, &[]),
                    200,
                    ok,
                ),
                case(
                    "query re-encoded is another URL",
                    form(query, &host, &reencoded, SMS, &[]),
                    403,
                    "signature_mismatch",
                ),
                case(
                    "repeated keys",
                    form(
                        "/sms",
                        &host,
                        &by_host("/sms"),
                        b"MediaUrl0=a&MediaUrl0=b&NumMedia=2",
                        &[],
                    ),
                    200,
                    ok,
                ),
                case("json", json_request(json, "application/json"), 200, ""),
                case(
                    "json replayed with the body stripped",
                    json_request(b"", FORM),
                    403,
                    "body_hash_mismatch",
                ),
                case(
                    "json with another body",
                    json_request(b"[]", "application/json"),
                    403,
                    "body_hash_mismatch",
                ),
                case(
                    "nested router",
                    form("/nested/sms", &host, &by_host("/nested/sms"), SMS, &[]),
                    200,
                    ok,
                ),
                case(
                    "nested router, signed without the prefix",
                    form("/nested/sms", &host, &by_host("/sms"), SMS, &[]),
                    403,
                    "signature_mismatch",
                ),
                case(
                    "wrong signature",
                    with_body(
                        form("/sms", &host, &by_host("/sms"), SMS, &[]),
                        b"From=%2B15550000000&To=%2B15557654321&Body=Hello+there",
                    ),
                    403,
                    "signature_mismatch",
                ),
                case(
                    "missing signature",
                    request("/sms", &host, FORM, "", SMS, &[]),
                    400,
                    "missing_signature",
                ),
                case(
                    "body over 1 MiB",
                    request(
                        "/sms",
                        &host,
                        FORM,
                        "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                        &too_big,
                        &[],
                    ),
                    413,
                    "body_too_large",
                ),
                case(
                    "body that is not UTF-8",
                    request(
                        "/sms",
                        &host,
                        FORM,
                        "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                        b"Body=caf\xe9",
                        &[],
                    ),
                    403,
                    "malformed_body",
                ),
                case(
                    "json without bodySHA256",
                    request(
                        "/events",
                        &host,
                        "application/json",
                        "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                        b"{}",
                        &[],
                    ),
                    403,
                    "body_hash_missing",
                ),
                case(
                    "forwarded headers from an untrusted peer",
                    form("/sms", &host, &public("/sms"), SMS, &TLS_PROXY),
                    403,
                    "signature_mismatch",
                ),
                Case {
                    or_switching: true,
                    ..case(
                        "websocket handshake signed for the ws:// URL",
                        handshake(&host, &format!("ws://{host}/ws")),
                        200,
                        "handshake verified",
                    )
                },
                case(
                    "websocket handshake signed for the http:// URL",
                    handshake(&host, &by_host("/ws")),
                    403,
                    "signature_mismatch",
                ),
            ]
        }
        // Genuine requests carry the public host, as Twilio sends it and a tunnel (ngrok, cloudflared)
        // forwards it: an extractor cannot hand the handler another origin, so it refuses a `Host`
        // other than the verified one from a peer that is not a trusted proxy (issue 28, F17).
        "public urls" => vec![
            case(
                "second base URL, prefix stripped before the app",
                form(
                    "/sms",
                    "two.example.com",
                    "https://two.example.com/base/sms",
                    SMS,
                    &[],
                ),
                200,
                ok,
            ),
            case(
                "first base URL",
                form(
                    "/sms?x=1",
                    "one.example.com",
                    "https://one.example.com/sms?x=1",
                    SMS,
                    &[],
                ),
                200,
                ok,
            ),
            case(
                "nested router under a base URL",
                form(
                    "/nested/sms",
                    "one.example.com",
                    "https://one.example.com/nested/sms",
                    SMS,
                    &[],
                ),
                200,
                ok,
            ),
            case(
                "a request signed for one base URL, with a Host naming the other's host",
                form(
                    "/sms",
                    "two.example.com",
                    "https://one.example.com/sms",
                    SMS,
                    &[],
                ),
                403,
                "signature_mismatch",
            ),
            case(
                "Host is not used once a base URL is configured",
                form("/sms", &host, &by_host("/sms"), SMS, &[]),
                403,
                "signature_mismatch",
            ),
        ],
        "trusted proxy" => vec![
            case(
                "TLS-terminating proxy (X-Forwarded-Proto/Host)",
                form("/sms", &host, &public("/sms"), SMS, &TLS_PROXY),
                200,
                ok,
            ),
            case(
                "TLS-terminating proxy (Forwarded)",
                form(
                    "/sms",
                    &host,
                    &public("/sms"),
                    SMS,
                    &[(
                        "Forwarded",
                        "for=192.0.2.60;proto=https;host=public.example.com",
                    )],
                ),
                200,
                ok,
            ),
            case(
                "proxy with a path prefix",
                form(
                    "/sms",
                    &host,
                    &public("/twilio/sms"),
                    SMS,
                    &[
                        TLS_PROXY[0],
                        TLS_PROXY[1],
                        ("X-Forwarded-Prefix", "/twilio"),
                    ],
                ),
                200,
                ok,
            ),
            // Issue 28, F6: the proxy sets X-Forwarded-Host but passes the client's Forwarded
            // through; Forwarded won, so the client chose the host (here one Twilio signed).
            case(
                "trusted proxy passes a client's Forwarded: host= that disagrees with X-Forwarded-Host",
                form(
                    "/sms",
                    &host,
                    "https://other.example.com/sms",
                    SMS,
                    &[
                        TLS_PROXY[0],
                        TLS_PROXY[1],
                        ("Forwarded", "host=other.example.com;proto=https"),
                    ],
                ),
                400,
                "bad_host",
            ),
            case(
                "trusted proxy, signed for the wrong host",
                form(
                    "/sms",
                    &host,
                    "https://other.example.com/sms",
                    SMS,
                    &TLS_PROXY,
                ),
                403,
                "signature_mismatch",
            ),
        ],
        _ => vec![case(
            "forwarded headers from a peer outside the trusted ranges",
            form("/sms", &host, &public("/sms"), SMS, &TLS_PROXY),
            403,
            "signature_mismatch",
        )],
    }
}

/// `request` with `body` instead of its own.
fn with_body(mut request: RawRequest, body: &[u8]) -> RawRequest {
    request.body = body.to_vec();
    request
}

/// Starts a server for each configuration with `start` and runs every case against it; panics with
/// the list of failures. Returns the number of cases run.
pub fn run(label: &str, start: impl Fn(&Config) -> Server) -> usize {
    run_configs(label, true, start)
}

/// [`run`], for a server that knows its peers' addresses (`peer`) or not: one without trusts no proxy,
/// so the trusted-proxy configuration, whose cases need a trusted peer, is left out.
pub fn run_configs(label: &str, peer: bool, start: impl Fn(&Config) -> Server) -> usize {
    let mut failures = Vec::new();
    let mut count = 0;
    for config in CONFIGS
        .iter()
        .filter(|c| peer || c.trusted_proxies != Some("127.0.0.1"))
    {
        let server = start(config);
        for case in cases(config, server.port) {
            count += 1;
            match send(server.port, &case.request) {
                Ok(r) if r.status == case.status && r.text().contains(case.body_has) => {}
                Ok(r) if case.or_switching && r.status == 101 => {}
                Ok(r) => failures.push(format!(
                    "[{}] {}: expected {} containing {:?}, got {} {:?}",
                    config.name,
                    case.name,
                    case.status,
                    case.body_has,
                    r.status,
                    r.text()
                )),
                Err(e) => failures.push(format!("[{}] {}: {e}", config.name, case.name)),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{label}: {} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    count
}

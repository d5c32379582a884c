//! The fail-open attacks of issue 18 against a real server that keeps the example contract, each with
//! the variants found on the way. An attacker here holds **one captured signature** and nothing else:
//! every request below must be refused, or reach the app only as the verified request it is.
//!
//! - **Upgrade smuggling** (actix): a `Connection` header holding `upgrade` made the adapter skip the
//!   body, verify an empty one, and hand the unread form to the handler. With a captured URL-only
//!   signature (a GET webhook, its parameters in the query), any form body got `200`.
//! - **A handshake that is not one**: a POST, or a GET with a body, carrying `Upgrade: websocket` was
//!   verified against the `ws://` URL of a captured handshake, its body unread. Servers disagree on
//!   where such a body ends (actix-web reads the rest of the connection), so it is refused (`400`).
//! - **Absolute-form targets**: only their path and query count, and never as another path.
//! - **Forged `Host` forms** (issue 28, spec §4.4 and §4.5): a form Twilio signed for `/voice`, sent to
//!   `/sms` with `Host: host/voice#`, rebuilds `http://host/voice#/sms`; cutting that fragment ran the
//!   `/sms` handler. A `Host` that is not a plain authority, or two `Host` fields, is `400 bad_host`.
//! - **A charset the client chooses** (issue 28): `Content-Type` is not signed, and Django decodes the
//!   query and the form in its `charset`: with `utf-7`, a signed `Body` of `hi+ACY-Digits+AD0-1234`
//!   reads as `Body=hi&Digits=1234`. Any charset but UTF-8 is `400 unsupported_charset`.
//! - **A field the verification reads, twice** (issue 28): the core reads the first `Content-Type` or
//!   `X-Twilio-Signature`; a framework that reads the last, or joins them, acts on one no check
//!   covered. `400 duplicate_header`.

use crate::{RawRequest, Server, TOKEN, send};
use twilio_webhook::{Algorithm, Signer};

const FORM: &str = "application/x-www-form-urlencoded";
const EVIL_FORM: &[u8] = b"Body=wire+the+money&From=%2B15550000000&To=%2B15551111111";

/// One attack and what the server must answer: a status, and text the body must (not) hold.
struct Attack {
    name: &'static str,
    request: RawRequest,
    status: u16,
    body_has: &'static str,
}

/// A URL-only signature (no form parameters): what a captured GET webhook or handshake carries.
fn url_only(url: &str) -> String {
    Signer::new(TOKEN, Algorithm::HmacSha1)
        .expect("suite token")
        .sign_form(url, std::iter::empty::<(&str, &str)>())
}

fn raw(
    method: &'static str,
    target: &str,
    headers: &[(&str, &str)],
    signature: &str,
    body: &[u8],
) -> RawRequest {
    let mut all: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    all.push(("X-Twilio-Signature".into(), signature.into()));
    RawRequest {
        method,
        target: target.to_string(),
        headers: all,
        body: body.to_vec(),
    }
}

fn attacks(port: u16) -> Vec<Attack> {
    let host = format!("127.0.0.1:{port}");
    let query = "/sms?From=%2B15551234567&To=%2B15557654321&Body=captured";
    let captured_get = url_only(&format!("http://{host}{query}"));
    let captured_handshake = url_only(&format!("ws://{host}/ws"));
    let captured_ws_sms = url_only(&format!("ws://{host}{query}"));
    let form_headers = |connection: &'static str| {
        vec![
            ("Host", host.clone()),
            ("Content-Type", FORM.to_string()),
            ("Connection", connection.to_string()),
        ]
    };
    let request = |method: &'static str,
                   target: &str,
                   headers: &[(&'static str, String)],
                   signature: &str,
                   body: &[u8]| {
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        raw(method, target, &pairs, signature, body)
    };
    let genuine_sms = crate::form(
        "/sms",
        &host,
        &format!("http://{host}/sms"),
        b"Body=hi&From=%2B1&To=%2B2",
        &[],
    );
    let voice_body: &[u8] = b"Body=hi&From=%2B1&To=%2B2";
    let forged_host = |forged: &str| {
        let mut r = crate::form(
            "/sms",
            forged,
            &format!("http://{host}/voice"),
            voice_body,
            &[],
        );
        r.target = "/sms".to_string();
        Attack {
            name: "a form signed for /voice, sent to /sms under a forged Host",
            request: r,
            status: 400,
            body_has: "bad_host",
        }
    };
    // A POST webhook's form, signed over URL and parameters, sent as a GET with that body: spec §2
    // signs a POST body alone, so the body is covered by nothing.
    // (To `/ws`, which every example routes for GET.)
    let mut get_with_body = crate::form(
        "/ws",
        &host,
        &format!("http://{host}/ws"),
        b"Body=hi&From=%2B1&To=%2B2",
        &[],
    );
    get_with_body.method = "GET";
    let captured_get_ws = url_only(&format!("http://{host}/ws"));
    let mut two_types = genuine_sms.clone();
    two_types
        .headers
        .push(("Content-Type".into(), "application/json".into()));
    let mut two_signatures = genuine_sms.clone();
    two_signatures.headers.push((
        "X-Twilio-Signature".into(),
        url_only(&format!("http://{host}/sms")),
    ));
    let mut two_hosts = genuine_sms.clone();
    two_hosts.headers.push(("Host".into(), host.clone()));
    let mut absolute_nested = genuine_sms.clone();
    absolute_nested.target = format!("http://{host}/nested/sms");
    let mut absolute_same = genuine_sms.clone();
    // A genuine form whose signed Body a UTF-7 reading turns into another parameter.
    let utf7_body: &[u8] = b"Body=hi+ACY-Digits+AD0-1234&From=%2B1&To=%2B2";
    let mut utf7 = crate::form("/sms", &host, &format!("http://{host}/sms"), utf7_body, &[]);
    for (name, value) in &mut utf7.headers {
        if name == "Content-Type" {
            *value = format!("{FORM}; charset=utf-7");
        }
    }
    absolute_same.target = format!("http://{host}/sms");
    // The URL verified is the target's, while the app reads `Host`: another virtual host's handler.
    let mut absolute_other_host = absolute_same.clone();
    for (name, value) in &mut absolute_other_host.headers {
        if name.eq_ignore_ascii_case("host") {
            *value = "admin.internal".into();
        }
    }
    vec![
        Attack {
            name: "unsigned form behind a URL-only signature, Connection: upgrade",
            request: request(
                "POST",
                query,
                &form_headers("upgrade"),
                &captured_get,
                EVIL_FORM,
            ),
            status: 403,
            body_has: "signature_mismatch",
        },
        Attack {
            name: "the same, Connection: keep-alive, x-upgradeish",
            request: request(
                "POST",
                query,
                &form_headers("keep-alive, x-upgradeish"),
                &captured_get,
                EVIL_FORM,
            ),
            status: 403,
            body_has: "signature_mismatch",
        },
        Attack {
            name: "a POST dressed as a handshake, behind a captured ws:// signature",
            request: request(
                "POST",
                query,
                &[
                    ("Host", host.clone()),
                    ("Content-Type", FORM.to_string()),
                    ("Connection", "Upgrade".to_string()),
                    ("Upgrade", "websocket".to_string()),
                ],
                &captured_ws_sms,
                EVIL_FORM,
            ),
            status: 400,
            body_has: "upgrade_not_handshake",
        },
        Attack {
            name: "a GET handshake with a body, behind a captured handshake signature",
            request: request(
                "GET",
                "/ws",
                &[
                    ("Host", host.clone()),
                    ("Connection", "Upgrade".to_string()),
                    ("Upgrade", "websocket".to_string()),
                    ("Sec-WebSocket-Version", "13".to_string()),
                    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==".to_string()),
                    ("Content-Type", FORM.to_string()),
                ],
                &captured_handshake,
                EVIL_FORM,
            ),
            status: 400,
            body_has: "upgrade_not_handshake",
        },
        Attack {
            name: "an absolute-form target to another path than the one signed",
            request: absolute_nested,
            status: 403,
            body_has: "signature_mismatch",
        },
        forged_host(&format!("{host}/voice#")),
        forged_host(&format!("{host}/voice?")),
        forged_host(&format!("x@{host}")),
        forged_host(&format!("{host}%2fvoice")),
        Attack {
            name: "a POST form's signature and body, sent as a GET",
            request: get_with_body,
            status: 400,
            body_has: "body_not_allowed",
        },
        Attack {
            name: "a captured GET's URL-only signature with a form body under it",
            request: request(
                "GET",
                "/ws",
                &form_headers("keep-alive"),
                &captured_get_ws,
                EVIL_FORM,
            ),
            status: 400,
            body_has: "body_not_allowed",
        },
        Attack {
            name: "a genuine form, replayed with Content-Type charset=utf-7",
            request: utf7,
            status: 400,
            body_has: "unsupported_charset",
        },
        Attack {
            name: "a genuine form with a second Content-Type",
            request: two_types,
            status: 400,
            body_has: "duplicate_header",
        },
        Attack {
            name: "a genuine form with a second X-Twilio-Signature",
            request: two_signatures,
            status: 400,
            body_has: "duplicate_header",
        },
        Attack {
            name: "a genuine form with its Host field twice",
            request: two_hosts,
            status: 400,
            body_has: "bad_host",
        },
        Attack {
            name: "a genuine form to an absolute-form target whose Host names another host",
            request: absolute_other_host,
            status: 400,
            body_has: "bad_host",
        },
        Attack {
            name: "control: an absolute-form target to the path signed is that request",
            request: absolute_same,
            status: 200,
            body_has: "Verified: 3 parameters",
        },
        Attack {
            name: "control: a real handshake, signed for its ws:// URL",
            request: request(
                "GET",
                "/ws",
                &[
                    ("Host", host.clone()),
                    ("Connection", "Upgrade".to_string()),
                    ("Upgrade", "websocket".to_string()),
                    ("Sec-WebSocket-Version", "13".to_string()),
                    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==".to_string()),
                ],
                &captured_handshake,
                b"",
            ),
            status: 200,
            body_has: "handshake verified",
        },
    ]
}

/// Runs every attack against `server` (it keeps the example contract and uses the `host`
/// configuration: no public URL, no trusted proxy); panics with every one that got through.
pub fn attack_contract(label: &str, server: &Server) {
    let mut failures = Vec::new();
    for attack in attacks(server.port) {
        match send(server.port, &attack.request) {
            Ok(r) if r.status == attack.status && r.text().contains(attack.body_has) => {}
            Ok(r) => failures.push(format!(
                "{}: expected {} containing {:?}, got {} {:?}",
                attack.name,
                attack.status,
                attack.body_has,
                r.status,
                r.text()
            )),
            Err(e) => failures.push(format!("{}: {e}", attack.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{label}: {} attacks got through:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

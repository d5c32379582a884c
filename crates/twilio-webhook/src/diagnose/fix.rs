//! The fixes, in the user's terms: the environment variable the example servers and the guard read, and
//! the builder call of the library.

use super::split::Split;
use super::{Cause, CauseCode, Diagnosis, Found, Suspect, describe};

/// The public base URL to configure: the signed URL's `scheme://host[:port]`, with the prefix Twilio's
/// path has before the one checked.
fn public_base(checked: &Split, signed: &Split) -> String {
    let prefix = signed
        .path
        .strip_suffix(checked.path.as_str())
        .filter(|p| p.starts_with('/'))
        .unwrap_or_default();
    format!("{}{}", signed.base(), prefix.trim_end_matches('/'))
}

/// "…, or trust the proxy …": only when the request came with forwarded headers that did not count.
fn or_trust(suspect: &Suspect<'_>) -> String {
    let hints = &suspect.hints;
    if !hints.forwarded || hints.trusted {
        return String::new();
    }
    match hints.peer {
        Some(peer) => format!(
            ", or trust the proxy at {peer}, which sent forwarded headers, with TWILIO_TRUSTED_PROXIES={peer} (PublicUrl::trust_proxy)"
        ),
        None => ", or trust the proxy that sends X-Forwarded-Proto/-Host with TWILIO_TRUSTED_PROXIES (PublicUrl::trust_proxy)"
            .to_string(),
    }
}

fn port_name(port: Option<&str>) -> String {
    port.map_or("no port".to_string(), |p| format!("port {p}"))
}

/// The fix alone, short, for a log line: empty when there is nothing to do.
pub(super) fn action(
    code: CauseCode,
    checked: &Split,
    signed: &Split,
    suspect: &Suspect<'_>,
) -> String {
    match code {
        CauseCode::Scheme | CauseCode::Host | CauseCode::Port => set_base(checked, signed, suspect),
        CauseCode::PathPrefix if signed.path.len() > checked.path.len() => {
            set_base(checked, signed, suspect)
        }
        CauseCode::PathPrefix => format!(
            "set TWILIO_PUBLIC_URL to a base URL without the prefix, or point the webhook in Twilio at {}",
            checked.path
        ),
        CauseCode::TrailingSlash => format!(
            "point the webhook in Twilio at {}, or opt in with allow_trailing_slash_variant()",
            checked.path
        ),
        CauseCode::QueryEncoding => {
            "check the query as received, or opt in with allow_query_reencoding()".to_string()
        }
        CauseCode::Fragment => String::new(),
        CauseCode::BodyMode if suspect_has_form(suspect) => {
            "verify the request as a body request (its URL alone was signed)".to_string()
        }
        CauseCode::BodyMode => "verify the request with its form body".to_string(),
        CauseCode::Secret => {
            "check X-Twilio-Webhooks-Signature-Settings against the SharedKeys configured"
                .to_string()
        }
    }
}

/// `set TWILIO_PUBLIC_URL=…`, and the proxy to trust if one sent forwarded headers.
fn set_base(checked: &Split, signed: &Split, suspect: &Suspect<'_>) -> String {
    format!(
        "set TWILIO_PUBLIC_URL={} (PublicUrl::base){}",
        public_base(checked, signed),
        or_trust(suspect)
    )
}

/// The fix for one difference between the URL checked and the one signed.
pub(super) fn fix(
    code: CauseCode,
    checked: &Split,
    signed: &Split,
    found: &Found,
    suspect: &Suspect<'_>,
) -> String {
    let set_base = || set_base(checked, signed, suspect);
    let (was, is) = (checked.join(), signed.join());
    match code {
        CauseCode::Scheme => format!(
            "Twilio signed {}://…, this server checked {}://… (TLS ends at a proxy or tunnel in front, or a \
             WebSocket scheme differs): {}",
            signed.scheme,
            checked.scheme,
            set_base()
        ),
        CauseCode::Host => format!(
            "Twilio signed host {}, this server checked {} (a tunnel or proxy rewrote Host): {}",
            signed.host,
            checked.host,
            set_base()
        ),
        CauseCode::Port => format!(
            "Twilio signed {}, this server checked {} (a port mapping or a proxy): {}",
            port_name(signed.port.as_deref()),
            port_name(checked.port.as_deref()),
            set_base()
        ),
        CauseCode::TrailingSlash => format!(
            "a rewrite adds or removes the trailing slash (Twilio signed {is}, this server checked {was}): \
             set the webhook URL in Twilio to the path the app receives, or opt in with \
             allow_trailing_slash_variant() (--allow-trailing-slash)"
        ),
        CauseCode::PathPrefix if signed.path.len() > checked.path.len() => format!(
            "an ingress, proxy or router strips a prefix (Twilio signed path {}, this server checked {}): {}, or \
             send X-Forwarded-Prefix from a trusted proxy",
            signed.path,
            checked.path,
            set_base()
        ),
        CauseCode::PathPrefix => format!(
            "the app sees a prefix Twilio did not call (Twilio signed path {}, this server checked {}): set \
             TWILIO_PUBLIC_URL to a base URL without it, or point the webhook in Twilio at {}",
            signed.path, checked.path, checked.path
        ),
        CauseCode::QueryEncoding => format!(
            "something between Twilio and the app re-encoded the query (Twilio signed ?{}, this server \
             checked ?{}): check the query exactly as received, or opt in with allow_query_reencoding() \
             (--allow-query-reencoding)",
            signed.query.as_deref().unwrap_or(""),
            checked.query.as_deref().unwrap_or("")
        ),
        CauseCode::Fragment => fragment(),
        CauseCode::BodyMode if suspect_has_form(suspect) => {
            "Twilio signed the URL alone (a JSON body, or no parameters), but the request was checked with \
             form parameters: check it as a body request (verify_body, --body-file)"
                .to_string()
        }
        CauseCode::BodyMode => "Twilio signed the URL with the form parameters, but the request was \
             checked without them: pass the form body (verify_form_body, --form-body-file)"
            .to_string(),
        CauseCode::Secret => format!(
            "the signature was made with {} ({}), which this request's X-Twilio-Webhooks-Signature-Settings \
             header does not select: check the header's key id and algorithm, and the SharedKeys configured \
             (RequestValidatorBuilder::shared_key)",
            describe(&found.secret),
            found.algorithm
        ),
    }
}

fn suspect_has_form(suspect: &Suspect<'_>) -> bool {
    !matches!(suspect.payload, super::Payload::Body(_))
}

/// A cut-off fragment: nothing to fix.
pub(super) fn fragment() -> String {
    "Twilio never signs a URL's fragment (its connection overrides such as #rc=2&rp=all or #ct=… live \
     there): the signed URL is the one without it. Validation already tries it that way (spec §4.4), so \
     nothing needs to change for the fragment itself"
        .to_string()
}

/// A signature that is not a base64 HMAC: nothing to search.
pub(super) fn malformed_signature() -> Vec<Cause> {
    let fix = "the X-Twilio-Signature header is not a base64 HMAC-SHA1 (28 characters) or HMAC-SHA256 \
               (44): it was not made by Twilio, or something between Twilio and the app changed it";
    vec![Cause {
        code: CauseCode::Secret,
        signed_url: None,
        fix: fix.to_string(),
        action: fix.to_string(),
    }]
}

/// The likely reasons when no variant matched.
pub(super) fn nothing_matched(suspect: &Suspect<'_>, diagnosis: &Diagnosis) -> Vec<Cause> {
    let searched = match diagnosis.skipped {
        Some(len) => format!(
            "diagnosis skipped the body, {len} bytes, too large to diagnose (MAX_DIAGNOSED_BODY), and \
             no variant of the URL alone matched"
        ),
        None if diagnosis.hmacs >= super::MAX_HMACS => {
            "the search stopped at its limit of HMACs".to_string()
        }
        None if diagnosis.exhausted => {
            "the search stopped at its limit of bytes hashed (MAX_DIAGNOSIS_BYTES)".to_string()
        }
        None => "no URL, body mode, algorithm or configured secret matched".to_string(),
    };
    let mut causes = vec![Cause {
        code: CauseCode::Secret,
        signed_url: None,
        fix: format!(
            "{searched}: the secret that signed is probably not configured (test credentials, another \
             account or a subaccount: StaticAccounts; a rotated token: add the previous one with \
             RequestValidatorBuilder::auth_token), or the request was changed or forged"
        ),
        action:
            "a forged or changed request, or a secret that is not configured (another account, a \
                 rotated token)"
                .to_string(),
    }];
    if suspect.hints.hosts.is_empty() {
        causes.push(Cause {
            code: CauseCode::Host,
            signed_url: None,
            fix: "the host may differ in a way the request does not announce (a tunnel or proxy rewrote \
                  Host): set TWILIO_PUBLIC_URL to the URL configured in Twilio (PublicUrl::base; explain \
                  --public-url)"
                .to_string(),
            action: "or a host this request does not announce: set TWILIO_PUBLIC_URL to the URL \
                     configured in Twilio"
                .to_string(),
        });
    }
    causes
}

//! The diagnosis behind `explain`: try far more URLs than validation ever accepts (schemes, ports,
//! trailing slash, mount prefixes, query re-encodings, body mode, algorithm) and say which one Twilio
//! signed. It only answers "why"; it never turns a rejection into an acceptance.

use serde::Serialize;
use twilio_webhook::{Algorithm, Signer};

/// What differs between the URL checked and the one Twilio signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Code {
    Scheme,
    Port,
    TrailingSlash,
    PathPrefix,
    QueryEncoding,
    Fragment,
    BodyMode,
    Secret,
}

/// One reason, with the URL that really matched (none when nothing matched) and the fix.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Cause {
    pub(crate) code: Code,
    pub(crate) signed_url: Option<String>,
    pub(crate) fix: String,
}

/// What the request holds, as checked.
pub(crate) struct Checked<'a> {
    pub(crate) url: &'a str,
    /// The decoded form pairs, when the request was checked as a form.
    pub(crate) params: Option<&'a [(String, String)]>,
    /// The form pairs a non-form check could have had (a body that parses as a form).
    pub(crate) alternative_params: Option<&'a [(String, String)]>,
    pub(crate) signature: &'a str,
    pub(crate) secret: &'a str,
    pub(crate) algorithm: Algorithm,
    pub(crate) prefixes: &'a [String],
}

/// The variant that matched: the URL and string Twilio signed, and what differs.
pub(crate) struct Found {
    pub(crate) signed_url: String,
    pub(crate) string_to_sign: String,
    pub(crate) causes: Vec<Cause>,
}

const SCHEMES: [&str; 4] = ["https", "http", "wss", "ws"];
const PORTS: [&str; 7] = ["443", "80", "3000", "5000", "8000", "8080", "8443"];
const PREFIXES: [&str; 6] = ["/api", "/twilio", "/webhooks", "/webhook", "/app", "/v1"];

/// A URL split by hand (never `url::Url`, which would normalise what Twilio signed).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Split {
    scheme: String,
    userinfo: String,
    host: String,
    port: Option<String>,
    path: String,
    query: Option<String>,
    fragment: Option<String>,
}

impl Split {
    fn parse(url: &str) -> Option<Split> {
        let (scheme, rest) = url.split_once("://")?;
        let (rest, fragment) = match rest.split_once('#') {
            Some((r, f)) => (r, Some(f.to_string())),
            None => (rest, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q.to_string())),
            None => (rest, None),
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (userinfo, host_port) = match authority.rfind('@') {
            Some(at) => authority.split_at(at + 1),
            None => ("", authority),
        };
        let colon = if host_port.starts_with('[') {
            host_port
                .find(']')
                .map(|close| close + 1)
                .filter(|&i| host_port.get(i..i + 1) == Some(":"))
        } else {
            host_port.find(':')
        };
        let (host, port) = match colon {
            Some(i) => (
                host_port.get(..i)?,
                Some(host_port.get(i + 1..)?.to_string()),
            ),
            None => (host_port, None),
        };
        Some(Split {
            scheme: scheme.to_string(),
            userinfo: userinfo.to_string(),
            host: host.to_string(),
            port,
            path: path.to_string(),
            query,
            fragment,
        })
    }

    fn join(&self) -> String {
        let mut url = format!("{}://{}{}", self.scheme, self.userinfo, self.host);
        if let Some(port) = &self.port {
            url.push(':');
            url.push_str(port);
        }
        url.push_str(&self.path);
        if let Some(q) = &self.query {
            url.push('?');
            url.push_str(q);
        }
        if let Some(f) = &self.fragment {
            url.push('#');
            url.push_str(f);
        }
        url
    }

    fn base(&self) -> String {
        let port = self
            .port
            .as_ref()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        format!("{}://{}{}", self.scheme, self.host, port)
    }
}

/// One value of one dimension, and the cause it stands for when it is not the original.
type Variant<T> = (T, Option<Code>);

/// Form pairs to sign after the URL, or none (the URL alone).
type Pairs<'a> = Option<&'a [(String, String)]>;

fn schemes(s: &Split) -> Vec<Variant<String>> {
    let mut out = vec![(s.scheme.clone(), None)];
    out.extend(
        SCHEMES
            .iter()
            .filter(|x| !x.eq_ignore_ascii_case(&s.scheme))
            .map(|x| (x.to_string(), Some(Code::Scheme))),
    );
    out
}

fn ports(s: &Split) -> Vec<Variant<Option<String>>> {
    let mut out = vec![(s.port.clone(), None)];
    if s.port.is_some() {
        out.push((None, Some(Code::Port)));
    }
    out.extend(
        PORTS
            .iter()
            .filter(|p| s.port.as_deref() != Some(**p))
            .map(|p| (Some(p.to_string()), Some(Code::Port))),
    );
    out
}

fn paths(s: &Split, extra: &[String]) -> Vec<Variant<String>> {
    let path = s.path.as_str();
    let mut out = vec![(path.to_string(), None)];
    if path.len() > 1 {
        let toggled = match path.strip_suffix('/') {
            Some(without) => without.to_string(),
            None => format!("{path}/"),
        };
        out.push((toggled, Some(Code::TrailingSlash)));
    }
    let prefixes = PREFIXES
        .iter()
        .map(|p| p.to_string())
        .chain(extra.iter().cloned());
    for prefix in prefixes {
        let prefix = format!("/{}", prefix.trim_matches('/'));
        if prefix.len() > 1 && !path.starts_with(&format!("{prefix}/")) {
            out.push((format!("{prefix}{path}"), Some(Code::PathPrefix)));
        }
    }
    let segments = path.trim_start_matches('/');
    if let Some((_, rest)) = segments.split_once('/') {
        if !rest.is_empty() {
            out.push((format!("/{rest}"), Some(Code::PathPrefix)));
        }
    }
    out
}

/// The query as WHATWG URL parsers re-encode it (`'`, space, non-ASCII), and the common reverses.
fn queries(s: &Split) -> Vec<Variant<Option<String>>> {
    let Some(q) = s.query.as_deref() else {
        return vec![(None, None)];
    };
    let whatwg: String = q
        .chars()
        .map(|c| match c {
            '\'' => "%27".to_string(),
            ' ' => "%20".to_string(),
            c if c.is_ascii() => c.to_string(),
            c => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
        })
        .collect();
    let candidates = [
        whatwg,
        q.replace('+', "%20"),
        q.replace("%20", "+"),
        q.replace("%27", "'"),
        q.replace("%40", "@")
            .replace("%3A", ":")
            .replace("%3a", ":"),
    ];
    let mut out = vec![(Some(q.to_string()), None)];
    for c in candidates {
        if out.iter().all(|(x, _)| x.as_deref() != Some(c.as_str())) {
            out.push((Some(c), Some(Code::QueryEncoding)));
        }
    }
    out
}

/// The fragment as received, and cut off (spec §4.4: Twilio never signs it).
fn fragments(s: &Split) -> Vec<Variant<Option<String>>> {
    let mut out = vec![(s.fragment.clone(), None)];
    if s.fragment.is_some() {
        out.push((None, Some(Code::Fragment)));
    }
    out
}

/// Tries every combination, fewest changes first, and returns the first that matches with the number
/// of strings tried.
pub(crate) fn diagnose(checked: &Checked<'_>) -> (Option<Found>, usize) {
    let Some(split) = Split::parse(checked.url) else {
        return (None, 0);
    };
    let mut modes: Vec<Variant<Pairs<'_>>> = vec![(checked.params, None)];
    match (checked.params, checked.alternative_params) {
        (Some(_), _) => modes.push((None, Some(Code::BodyMode))),
        (None, Some(alt)) => modes.push((Some(alt), Some(Code::BodyMode))),
        (None, None) => {}
    }
    let other = match checked.algorithm {
        Algorithm::HmacSha1 => Algorithm::HmacSha256,
        _ => Algorithm::HmacSha1,
    };
    let algorithms = [(checked.algorithm, None), (other, Some(Code::Secret))];
    let (schemes, ports, paths, queries, fragments) = (
        schemes(&split),
        ports(&split),
        paths(&split, checked.prefixes),
        queries(&split),
        fragments(&split),
    );
    let mut combos = Vec::new();
    for s in &schemes {
        for p in &ports {
            for path in &paths {
                for q in &queries {
                    for f in &fragments {
                        let url = Split {
                            scheme: s.0.clone(),
                            port: p.0.clone(),
                            path: path.0.clone(),
                            query: q.0.clone(),
                            fragment: f.0.clone(),
                            ..split.clone()
                        };
                        let codes: Vec<Code> =
                            [s.1, p.1, path.1, q.1, f.1].into_iter().flatten().collect();
                        combos.push((url, codes));
                    }
                }
            }
        }
    }
    combos.sort_by_key(|(_, codes)| codes.len());
    let mut tried = 0;
    let mut best: Option<(usize, Found)> = None;
    for (url, url_codes) in &combos {
        let joined = url.join();
        for (params, mode_code) in &modes {
            let string = match params {
                Some(pairs) => twilio_webhook::string_to_sign(&joined, pairs.iter()),
                None => joined.clone(),
            };
            for (algorithm, algorithm_code) in algorithms {
                tried += 1;
                let Ok(signer) = Signer::new(checked.secret, algorithm) else {
                    continue;
                };
                if signer.sign_form(&string, std::iter::empty::<(&str, &str)>())
                    != checked.signature.trim()
                {
                    continue;
                }
                let codes: Vec<Code> = url_codes
                    .iter()
                    .copied()
                    .chain(*mode_code)
                    .chain(algorithm_code)
                    .collect();
                if best.as_ref().is_none_or(|(n, _)| codes.len() < *n) {
                    let causes = codes
                        .iter()
                        .map(|&code| Cause {
                            code,
                            signed_url: Some(joined.clone()),
                            fix: fix(code, &split, url, algorithm, params.is_some()),
                        })
                        .collect();
                    best = Some((
                        codes.len(),
                        Found {
                            signed_url: joined.clone(),
                            string_to_sign: string.clone(),
                            causes,
                        },
                    ));
                }
            }
        }
        if best.as_ref().is_some_and(|(n, _)| *n <= url_codes.len()) {
            break;
        }
    }
    (best.map(|(_, found)| found), tried)
}

/// The plain-words fix for one difference between the checked URL and the signed one.
fn fix(code: Code, checked: &Split, signed: &Split, algorithm: Algorithm, form: bool) -> String {
    let (was, is) = (checked.join(), signed.join());
    match code {
        Code::Scheme => format!(
            "Twilio signed {}://…, you checked {}://… (a proxy or tunnel terminates TLS, or the WebSocket \
             scheme differs): configure the public URL as {} (TWILIO_PUBLIC_URL / PublicUrl::base), or trust \
             the proxy that sets X-Forwarded-Proto",
            signed.scheme, checked.scheme, signed.base()
        ),
        Code::Port => format!(
            "Twilio signed {} and you checked {} (a port mapping or proxy): configure the public URL as {}",
            signed.port.as_deref().map_or("no port".to_string(), |p| format!("port {p}")),
            checked.port.as_deref().map_or("no port".to_string(), |p| format!("port {p}")),
            signed.base()
        ),
        Code::TrailingSlash => format!(
            "a rewrite adds or removes the trailing slash (Twilio signed {is}, you checked {was}): set the \
             webhook URL in Twilio to the path your app receives, or opt in with --allow-trailing-slash / \
             allow_trailing_slash_variant()"
        ),
        Code::PathPrefix => format!(
            "a proxy, ingress or router strips or adds a path prefix (Twilio signed path {}, you checked {}): \
             configure the public URL with the prefix (TWILIO_PUBLIC_URL=https://host/prefix), send \
             X-Forwarded-Prefix from a trusted proxy, or read axum's OriginalUri",
            signed.path, checked.path
        ),
        Code::QueryEncoding => format!(
            "something between Twilio and your app re-encoded the query (Twilio signed ?{}, you checked ?{}): \
             use the query exactly as received, or opt in with --allow-query-reencoding / \
             allow_query_reencoding()",
            signed.query.as_deref().unwrap_or(""),
            checked.query.as_deref().unwrap_or("")
        ),
        Code::Fragment => fragment_fix(),
        Code::BodyMode if form => "Twilio signed the URL with the form parameters, but the request was \
             checked without them: pass the form body (verify_form_body / --form-body-file)"
            .to_string(),
        Code::BodyMode => "Twilio signed the URL alone (a JSON body, or no parameters), but the request \
             was checked with form parameters: check it as a body request (verify_body / --body-file)"
            .to_string(),
        Code::Secret => format!(
            "the signature is {algorithm}, but the request's settings header selects another algorithm: \
             check X-Twilio-Webhooks-Signature-Settings and the SharedKey id"
        ),
    }
}

/// What a cut-off fragment means: nothing to fix, the validator already cuts it.
pub(crate) fn fragment_fix() -> String {
    "Twilio never signs a URL's fragment (its connection overrides such as #rc=2&rp=all or #ct=… live \
     there): the signed URL is the one without it. Validation already tries it that way (spec §4.4), so \
     nothing needs to change for the fragment itself"
        .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_and_join_unchanged() {
        for url in [
            "https://a.com/x?y=1#f",
            "http://u:p@a.com:8080/",
            "wss://[2001:db8::1]:8443/ws?q=a+b",
            "https://a.com",
            "https://a.com?x",
        ] {
            assert_eq!(
                Split::parse(url).map(|s| s.join()).as_deref(),
                Some(url),
                "{url}"
            );
        }
        let s = Split::parse("https://[::1]:9/p").unwrap();
        assert_eq!((s.host.as_str(), s.port.as_deref()), ("[::1]", Some("9")));
        assert!(Split::parse("not a url").is_none());
    }
}

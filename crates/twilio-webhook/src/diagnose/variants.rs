//! What a diagnosis tries in each part of the URL, cheapest (likeliest) first: the value as checked
//! (cost 0), what the request itself announced (its `Host`, forwarded headers, configured prefixes:
//! cost 1), then common mistakes (cost 2 and 3).

use super::split::Split;
use super::{CauseCode, Hints};

/// One value a part of the URL may take: the value, its cost, and the cause it stands for (`None` for
/// the value as checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variant<T> {
    pub(crate) value: T,
    pub(crate) cost: u8,
    pub(crate) code: Option<CauseCode>,
}

/// The values of one part, the one as checked first, then by cost; no value twice.
pub(crate) struct Variants<T>(pub(crate) Vec<Variant<T>>);

impl<T: PartialEq> Variants<T> {
    fn new(checked: T) -> Self {
        Variants(vec![Variant {
            value: checked,
            cost: 0,
            code: None,
        }])
    }

    fn push(&mut self, value: T, cost: u8, code: CauseCode) {
        if self.0.iter().all(|v| v.value != value) {
            self.0.push(Variant {
                value,
                cost,
                code: Some(code),
            });
        }
    }

    fn sorted(mut self) -> Self {
        // Stable: among equal costs, the order pushed (the likelier first).
        self.0.sort_by_key(|v| v.cost);
        self
    }
}

/// Ports a proxy, a tunnel or a development server commonly adds or listens on.
const PORTS: [&str; 7] = ["443", "80", "8080", "8443", "3000", "5000", "8000"];

/// Path segments that mounts and ingresses commonly add or strip.
const WORDS: [&str; 10] = [
    "api", "twilio", "webhooks", "webhook", "hooks", "app", "v1", "v2", "sms", "voice",
];

/// Two-segment mounts: the first word of a pair, then the second.
const FIRSTS: [&str; 5] = ["api", "app", "twilio", "webhooks", "hooks"];
const SECONDS: [&str; 6] = ["v1", "v2", "twilio", "webhooks", "sms", "voice"];

pub(crate) fn schemes(s: &Split, hints: &Hints) -> Variants<String> {
    let mut out = Variants::new(s.scheme.clone());
    let checked = s.scheme.to_ascii_lowercase();
    for proto in &hints.schemes {
        out.push(proto.clone(), 1, CauseCode::Scheme);
    }
    let (flip, websocket) = match checked.as_str() {
        "http" => ("https", "ws"),
        "https" => ("http", "wss"),
        "ws" => ("wss", "http"),
        "wss" => ("ws", "https"),
        _ => ("https", "http"),
    };
    out.push(flip.to_string(), 1, CauseCode::Scheme);
    out.push(websocket.to_string(), 2, CauseCode::Scheme);
    for other in ["https", "http", "wss", "ws"] {
        if other != checked {
            out.push(other.to_string(), 3, CauseCode::Scheme);
        }
    }
    out.sorted()
}

pub(crate) fn hosts(s: &Split, hints: &Hints) -> Variants<String> {
    let mut out = Variants::new(s.host.clone());
    for host in &hints.hosts {
        let (host, _) = super::split::split_port(host);
        if !host.is_empty() {
            out.push(host.to_string(), 1, CauseCode::Host);
        }
    }
    out.sorted()
}

pub(crate) fn ports(s: &Split, hints: &Hints) -> Variants<Option<String>> {
    let mut out = Variants::new(s.port.clone());
    for port in hints.ports.iter().chain(&hints.host_ports) {
        out.push(Some(port.clone()), 1, CauseCode::Port);
    }
    if s.port.is_some() {
        out.push(None, 1, CauseCode::Port);
    }
    for port in PORTS {
        out.push(Some(port.to_string()), 2, CauseCode::Port);
    }
    out.sorted()
}

/// The path as checked, with and without its trailing slash, with a prefix added (announced or
/// configured: cost 1; a common word: 2; two common words: 3) or its first one or two segments dropped.
pub(crate) fn paths(s: &Split, hints: &Hints) -> Variants<String> {
    let path = s.path.as_str();
    let mut out = Variants::new(path.to_string());
    if path.len() > 1 {
        let toggled = match path.strip_suffix('/') {
            Some(without) => without.to_string(),
            None => format!("{path}/"),
        };
        out.push(toggled, 1, CauseCode::TrailingSlash);
    }
    let mut add = |prefix: &str, cost: u8| {
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() && !path.starts_with(&format!("/{prefix}/")) {
            out.push(format!("/{prefix}{path}"), cost, CauseCode::PathPrefix);
        }
    };
    for prefix in &hints.prefixes {
        add(prefix, 1);
    }
    for word in WORDS {
        add(word, 2);
    }
    for first in FIRSTS {
        for second in SECONDS {
            if first != second {
                add(&format!("{first}/{second}"), 3);
            }
        }
    }
    let segments: Vec<&str> = path.trim_start_matches('/').splitn(3, '/').collect();
    if let [_, rest @ ..] = segments.as_slice() {
        if !rest.is_empty() {
            out.push(format!("/{}", rest.join("/")), 1, CauseCode::PathPrefix);
        }
        if let [_, rest @ ..] = rest {
            if !rest.is_empty() {
                out.push(format!("/{}", rest.join("/")), 2, CauseCode::PathPrefix);
            }
        }
    }
    out.sorted()
}

/// The query as checked, and as the common re-encodings between Twilio and an app leave it: WHATWG
/// (`'`, space, non-ASCII escaped), `+` and `%20` swapped, `%27`, `%40` and `%3A` decoded.
pub(crate) fn queries(s: &Split) -> Variants<Option<String>> {
    let Some(q) = s.query.as_deref() else {
        return Variants::new(None);
    };
    let mut out = Variants::new(Some(q.to_string()));
    let whatwg: String = q
        .chars()
        .map(|c| match c {
            '\'' => "%27".to_string(),
            ' ' => "%20".to_string(),
            c if c.is_ascii() => c.to_string(),
            c => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
        })
        .collect();
    for variant in [
        whatwg,
        q.replace('+', "%20"),
        q.replace("%20", "+"),
        q.replace("%27", "'"),
        q.replace("%40", "@")
            .replace("%3A", ":")
            .replace("%3a", ":"),
    ] {
        out.push(Some(variant), 2, CauseCode::QueryEncoding);
    }
    out
}

/// The fragment as checked, and cut off (spec §4.4: Twilio never signs it).
pub(crate) fn fragments(s: &Split) -> Variants<Option<String>> {
    let mut out = Variants::new(s.fragment.clone());
    if s.fragment.is_some() {
        out.push(None, 1, CauseCode::Fragment);
    }
    out
}

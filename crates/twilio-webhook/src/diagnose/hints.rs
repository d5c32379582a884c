//! The clues a request announces about the URL Twilio called: its `Host`, `Forwarded` and
//! `X-Forwarded-*` headers, read from any peer (a diagnosis only explains).

use std::net::IpAddr;

use http::HeaderMap;

use super::Hints;
use crate::public_url::{split_quoted, unquote};

impl Hints {
    /// No clue.
    pub fn new() -> Self {
        Hints::default()
    }

    /// The clues of a request's headers: hosts from `Host`, `X-Forwarded-Host` and `Forwarded`
    /// (`host=`), schemes from `X-Forwarded-Proto` and `Forwarded` (`proto=`), ports from
    /// `X-Forwarded-Port` and the hosts, prefixes from `X-Forwarded-Prefix`; every entry of every
    /// occurrence, whoever sent it.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut hints = Hints::default();
        let values = |name: &str| -> Vec<String> {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        };
        let mut hosts = values("host");
        hosts.extend(values("x-forwarded-host"));
        let mut schemes = values("x-forwarded-proto");
        let forwarded: Vec<String> = headers
            .get_all(http::header::FORWARDED)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| split_quoted(v, b',').flat_map(|e| split_quoted(e, b';')))
            .map(str::to_string)
            .collect();
        for pair in &forwarded {
            if let Some((name, value)) = pair.split_once('=') {
                let value = unquote(value.trim()).to_string();
                match name.trim().to_ascii_lowercase().as_str() {
                    "host" => hosts.push(value),
                    "proto" => schemes.push(value),
                    _ => {}
                }
            }
        }
        hints.forwarded = !forwarded.is_empty()
            || [
                "x-forwarded-host",
                "x-forwarded-proto",
                "x-forwarded-port",
                "x-forwarded-prefix",
            ]
            .iter()
            .any(|n| headers.contains_key(*n));
        for host in &hosts {
            if let (_, Some(port)) = super::split::split_port(host) {
                push(&mut hints.host_ports, port.to_string());
            }
        }
        for host in hosts {
            push(&mut hints.hosts, host);
        }
        for scheme in schemes {
            let scheme = scheme.to_ascii_lowercase();
            if matches!(scheme.as_str(), "http" | "https" | "ws" | "wss") {
                push(&mut hints.schemes, scheme);
            }
        }
        for port in values("x-forwarded-port") {
            if port.bytes().all(|b| b.is_ascii_digit()) && port.len() <= 5 {
                push(&mut hints.ports, port);
            }
        }
        for prefix in values("x-forwarded-prefix") {
            push(&mut hints.prefixes, prefix);
        }
        hints
    }

    /// Another mount prefix to try (a configured one, the CLI's `--prefix`).
    #[must_use]
    pub fn prefix(mut self, prefix: &str) -> Self {
        push(&mut self.prefixes, prefix.to_string());
        self
    }

    /// Another host to try.
    #[must_use]
    pub fn host(mut self, host: &str) -> Self {
        push(&mut self.hosts, host.to_string());
        self
    }

    /// The base URL the user says Twilio calls (`https://abc123.ngrok.app/prefix`): its scheme, host,
    /// port and prefix are tried first. Not a URL: ignored.
    #[must_use]
    pub fn public_url(mut self, url: &str) -> Self {
        if let Some(base) = super::split::Split::parse(url) {
            push(&mut self.schemes, base.scheme.to_ascii_lowercase());
            push(&mut self.hosts, base.host);
            if let Some(port) = base.port {
                push(&mut self.host_ports, port);
            }
            let prefix = base.path.trim_end_matches('/');
            if !prefix.is_empty() {
                push(&mut self.prefixes, prefix.to_string());
            }
        }
        self
    }

    /// The connection's peer, and whether its forwarded headers counted: a fix then names it.
    #[must_use]
    pub fn peer(mut self, peer: Option<IpAddr>, trusted: bool) -> Self {
        self.peer = peer;
        self.trusted = trusted;
        self
    }
}

fn push(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

//! A URL split by hand into the parts a diagnosis varies: never `url::Url`, which would normalise what
//! Twilio signed.

/// A URL's parts, each exactly as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Split {
    pub(crate) scheme: String,
    pub(crate) userinfo: String,
    pub(crate) host: String,
    pub(crate) port: Option<String>,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
    pub(crate) fragment: Option<String>,
}

impl Split {
    /// The parts of `scheme://[userinfo@]host[:port][/path][?query][#fragment]`; `None` for anything else.
    pub(crate) fn parse(url: &str) -> Option<Split> {
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
        let (host, port) = split_port(host_port);
        Some(Split {
            scheme: scheme.to_string(),
            userinfo: userinfo.to_string(),
            host: host.to_string(),
            port: port.map(str::to_string),
            path: path.to_string(),
            query,
            fragment,
        })
    }

    /// The URL again, from its parts.
    pub(crate) fn join(&self) -> String {
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

    /// `scheme://host[:port]`: what a public base URL holds (a WebSocket scheme as its `http` twin, the
    /// scheme a base URL is written with).
    pub(crate) fn base(&self) -> String {
        let scheme = match self.scheme.to_ascii_lowercase().as_str() {
            "wss" => "https".to_string(),
            "ws" => "http".to_string(),
            _ => self.scheme.clone(),
        };
        let port = self
            .port
            .as_ref()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        format!("{scheme}://{}{port}", self.host)
    }
}

/// A host and its port (`[::1]:9` is `[::1]` and `9`); an IPv6 literal's colons are not a port's.
pub(crate) fn split_port(host_port: &str) -> (&str, Option<&str>) {
    let colon = if host_port.starts_with('[') {
        host_port
            .find(']')
            .map(|close| close + 1)
            .filter(|&i| host_port.get(i..i + 1) == Some(":"))
    } else {
        host_port.find(':')
    };
    match colon {
        Some(i) => (
            host_port.get(..i).unwrap_or(host_port),
            host_port.get(i + 1..),
        ),
        None => (host_port, None),
    }
}

#[cfg(test)]
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
            "https://a.com:/x",
        ] {
            assert_eq!(
                Split::parse(url).map(|s| s.join()).as_deref(),
                Some(url),
                "{url}"
            );
        }
        let s = Split::parse("wss://u@[::1]:9/p").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port.as_deref(), s.userinfo.as_str()),
            ("[::1]", Some("9"), "u@")
        );
        assert_eq!(s.base(), "https://[::1]:9");
        assert!(Split::parse("not a url").is_none());
    }
}

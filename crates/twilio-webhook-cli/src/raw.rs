//! A captured raw HTTP/1.1 request, as a proxy log or `nc -l` prints it: the request line, headers, a
//! blank line and the body.

use crate::UsageError;

/// What `explain` needs from a captured request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRequest {
    /// The request target as received (`/sms?x=1`, or an absolute URL).
    pub(crate) target: String,
    /// `(name, value)` pairs in order.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (up to `Content-Length` when given).
    pub(crate) body: Vec<u8>,
}

impl RawRequest {
    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The URL Twilio requested: an absolute target as is; else `public_url` joined with the target;
    /// else `http://` + `Host` + the target (what a server without configuration sees).
    pub(crate) fn url(&self, public_url: Option<&str>) -> Result<String, UsageError> {
        if self.target.contains("://") {
            return Ok(self.target.clone());
        }
        match (public_url, self.header("host")) {
            (Some(base), _) => Ok(format!("{}{}", base.trim_end_matches('/'), self.target)),
            (None, Some(host)) => Ok(format!("http://{host}{}", self.target)),
            (None, None) => Err(UsageError(
                "the request has no Host header: pass --public-url with the URL configured in Twilio".into(),
            )),
        }
    }
}

/// Parses a captured request. Lines may end with CRLF or LF.
pub(crate) fn parse(bytes: &[u8]) -> Result<RawRequest, UsageError> {
    let bad = |why: &str| UsageError(format!("--raw: {why}"));
    let (head, body) = match find(bytes, b"\r\n\r\n") {
        Some(i) => (bytes.get(..i), bytes.get(i + 4..)),
        None => match find(bytes, b"\n\n") {
            Some(i) => (bytes.get(..i), bytes.get(i + 2..)),
            None => (Some(bytes), Some(&b""[..])),
        },
    };
    let head =
        std::str::from_utf8(head.unwrap_or_default()).map_err(|_| bad("the head is not UTF-8"))?;
    let mut lines = head.lines().map(|l| l.trim_end_matches('\r'));
    let request_line = lines.next().ok_or_else(|| bad("empty"))?;
    let mut parts = request_line.split_whitespace();
    let (_method, target, version) = (parts.next(), parts.next(), parts.next());
    let target = target
        .filter(|_| version.is_some_and(|v| v.starts_with("HTTP/")))
        .ok_or_else(|| bad(&format!("not an HTTP request line: {request_line:?}")))?;
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split_once(':')
                .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| bad(&format!("not a header line: {l:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut body = body.unwrap_or_default().to_vec();
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    if let Some(length) = length {
        if body.len() < length {
            return Err(bad(&format!(
                "the body has {} bytes, Content-Length says {length}",
                body.len()
            )));
        }
        body.truncate(length);
    }
    Ok(RawRequest {
        target: target.to_string(),
        headers,
        body,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_captured_request_is_read_as_received() {
        let raw =
            b"POST /sms?a=%27 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nX-Twilio-Signature: abc=\r\n\
Content-Length: 7\r\n\r\nBody=Hi\r\n";
        let r = parse(raw).unwrap();
        assert_eq!(r.target, "/sms?a=%27");
        assert_eq!(r.header("x-twilio-signature"), Some("abc="));
        assert_eq!(r.body, b"Body=Hi");
        assert_eq!(r.url(None).unwrap(), "http://127.0.0.1:3000/sms?a=%27");
        assert_eq!(
            r.url(Some("https://abc.ngrok.app/")).unwrap(),
            "https://abc.ngrok.app/sms?a=%27"
        );
        let lf = parse(b"GET http://a.com/x HTTP/1.0\nHost: b\n\n").unwrap();
        assert_eq!(lf.url(None).unwrap(), "http://a.com/x");
        assert!(parse(b"hello").is_err());
        assert!(parse(b"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nshort").is_err());
    }
}

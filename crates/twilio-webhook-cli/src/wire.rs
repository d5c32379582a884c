//! A raw HTTP/1.1 client: the request goes on the wire byte for byte as written (the target's query,
//! the headers), which no HTTP client library promises, as Twilio would send it. `twilio-webhook send`
//! sends with it, and so does this project's HTTP test suite.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

/// A request as bytes on the wire; `Content-Length` is added (except to a `GET` without a body), and
/// `Connection: close` unless the request has a `Connection` header of its own.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// The method (`POST`, or `GET` for a WebSocket handshake).
    pub method: &'static str,
    /// The request target (`/sms?x=1`), exactly as sent.
    pub target: String,
    /// Header lines, in order (`Host` included: the suite chooses it).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// A response: status and body.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The body, decoded from chunked if needed.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `request` to `127.0.0.1:port`.
pub fn send(port: u16, request: &RawRequest) -> Result<RawResponse, String> {
    send_to(&format!("127.0.0.1:{port}"), request)
}

/// Sends `request` to `addr` (`host:port`). The body is written from another thread while the
/// response is read, so a server that answers before reading the whole body (413) is seen answering.
pub fn send_to(addr: &str, request: &RawRequest) -> Result<RawResponse, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    // A GET without a body goes without Content-Length, as every client sends it (a WebSocket
    // handshake with `Content-Length: 0` is refused by some servers, Deno's among them).
    if !(request.method == "GET" && request.body.is_empty()) {
        head.push_str(&format!("Content-Length: {}\r\n", request.body.len()));
    }
    let has_connection = request
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("connection"));
    if !has_connection {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&request.body);
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    // A write error (the server closed after answering) is not the test's concern: the response is.
    let sender = std::thread::spawn(move || writer.write_all(&bytes));
    let response = read_response(&mut stream);
    let _ = sender.join();
    response
}

fn read_response(stream: &mut TcpStream) -> Result<RawResponse, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(response) = parse(&buf, false)? {
            return Ok(response);
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return parse(&buf, true)?.ok_or_else(|| incomplete(&buf)),
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
}

fn incomplete(buf: &[u8]) -> String {
    format!(
        "connection closed before a whole response: {:?}",
        String::from_utf8_lossy(buf)
    )
}

/// A whole response from `buf`, or `None` if more bytes are needed. A body with neither a length nor
/// chunks ends with the connection (`closed`), as an HTTP/1.0 server such as wsgiref sends it; a `101`
/// has none.
fn parse(buf: &[u8], closed: bool) -> Result<Option<RawResponse>, String> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).into_owned();
    let rest = buf.get(end + 4..).unwrap_or_default();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {head:?}"))?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return Ok(dechunk(rest).map(|body| RawResponse { status, body }));
    }
    let length = match header("content-length").and_then(|v| v.parse().ok()) {
        Some(length) => length,
        None if status == 101 || status == 204 || status == 304 => 0,
        None if closed => rest.len(),
        None => return Ok(None),
    };
    Ok(rest.get(..length).map(|body| RawResponse {
        status,
        body: body.to_vec(),
    }))
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(rest.get(..line_end)?).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = rest.get(line_end + 2..)?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

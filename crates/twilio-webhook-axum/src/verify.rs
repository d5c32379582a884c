//! The one path the extractor and the layer share: translate the request (the URI the server received,
//! `OriginalUri` inside nested routers, and the peer, `ConnectInfo`) into the core's view, let the core
//! decide whether the body is read, buffer it up to the limit, verify, and record the verdict in the
//! request's extensions. Every decision about the request is the core's; this file only translates.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, OriginalUri};
use bytes::Bytes;
use http::request::Parts;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use twilio_webhook::{
    Incoming, Refusal, StoredAnswer, VerifiedRequest, WebhookRejection, WebhookVerifier,
};

/// The error type of bodies this crate can read.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Reads `body` (refusing more than the verifier's limit) and verifies the request; on success puts a
/// copy of the verdict in `parts.extensions` (for `Extension<VerifiedRequest>`) and returns the body to
/// hand on: the bytes read, or the body untouched when the core says there is none to read.
pub(crate) async fn verify<B>(
    verifier: &WebhookVerifier,
    parts: &mut Parts,
    body: B,
) -> Result<(Unread<B>, VerifiedRequest), WebhookRejection>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    let body = read_body(verifier, parts, body).await?;
    let verified = check(verifier, parts, body.bytes()).await?;
    Ok((body, verified))
}

/// A body read whole, or left unread (a real WebSocket handshake, which has none).
pub(crate) enum Unread<B> {
    Read(Bytes),
    Unread(B),
}

impl<B> Unread<B> {
    /// The bytes to verify: those read, or none.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Unread::Read(bytes) => bytes,
            Unread::Unread(_) => &[],
        }
    }

    /// The body to hand on.
    pub(crate) fn into_body(self) -> B
    where
        B: From<Bytes>,
    {
        match self {
            Unread::Read(bytes) => B::from(bytes),
            Unread::Unread(body) => body,
        }
    }
}

/// Reads `body` whole, refusing more than the limit (declared or sent) and a broken body, unless the
/// core says the request has none to read.
pub(crate) async fn read_body<B>(
    verifier: &WebhookVerifier,
    parts: &Parts,
    body: B,
) -> Result<Unread<B>, WebhookRejection>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    if !verifier.reads_body(&incoming(parts))? {
        return Ok(Unread::Unread(body));
    }
    verifier.check_declared_length(&parts.headers)?;
    let limit = verifier.limit();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return Err(WebhookRejection::new(
                Refusal::BodyTooLarge { limit },
                Vec::new(),
            ));
        }
        // A server that puts a deadline on the body (twilio-webhook guard) fails it as TimedOut.
        Err(e) if timed_out(&*e) => {
            return Err(WebhookRejection::new(Refusal::ClientTimeout, Vec::new()));
        }
        Err(_) => return Err(WebhookRejection::new(Refusal::BodyUnreadable, Vec::new())),
    };
    Ok(Unread::Read(bytes))
}

/// What the core needs: the target as received (`OriginalUri` inside nested routers), the method, the
/// headers and the peer (`ConnectInfo`).
fn incoming(parts: &Parts) -> Incoming<'_> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let original = parts.extensions.get::<OriginalUri>();
    let target = original
        .and_then(|OriginalUri(uri)| uri.path_and_query())
        .or_else(|| parts.uri.path_and_query())
        .map_or("/", |pq| pq.as_str());
    Incoming::from_parts(parts)
        .with_target(target)
        .with_peer(peer)
}

/// Verifies the request with its body; on success puts a copy of the verdict in `parts.extensions`.
pub(crate) async fn check(
    verifier: &WebhookVerifier,
    parts: &mut Parts,
    bytes: &[u8],
) -> Result<VerifiedRequest, WebhookRejection> {
    let verified = verifier.verify_async(&incoming(parts), bytes).await?;
    parts.extensions.insert(verified.clone());
    Ok(verified)
}

/// Whether an error, or any error it wraps, is an I/O time-out.
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        current = e.source();
    }
    false
}

/// Answer mode: reads the app's response (its length is known and within the limit: the core said
/// so), keeps it for the request's duplicates, and hands the same bytes on. A body that fails half-way
/// is a failed delivery: `502`, and the replay key released.
pub(crate) async fn keep_answer<ResBody>(
    verifier: &WebhookVerifier,
    verified: &VerifiedRequest,
    response: http::Response<ResBody>,
) -> http::Response<ResBody>
where
    ResBody: http_body::Body<Data = Bytes> + From<Bytes>,
{
    let (parts, body) = response.into_parts();
    match body.collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let headers = parts
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes()));
            let answer = StoredAnswer::new(parts.status.as_u16(), headers, bytes.to_vec());
            verifier.delivered_answer(verified, &answer).await;
            http::Response::from_parts(parts, ResBody::from(bytes))
        }
        Err(_) => {
            verifier
                .delivered(verified, http::StatusCode::BAD_GATEWAY)
                .await;
            let mut failed = http::Response::new(ResBody::from(Bytes::from_static(
                b"the app's response failed half-way\n",
            )));
            *failed.status_mut() = http::StatusCode::BAD_GATEWAY;
            failed
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use http_body::Frame;
    use twilio_webhook::RequestValidator;

    use super::*;

    /// A body whose first read fails with an I/O error of `kind`, wrapped the way hyper wraps it.
    struct Failing(std::io::ErrorKind);

    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("reading the body failed")
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    impl http_body::Body for Failing {
        type Data = Bytes;
        type Error = Wrapped;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Wrapped>>> {
            Poll::Ready(Some(Err(Wrapped(std::io::Error::from(self.0)))))
        }
    }

    fn parts() -> Parts {
        http::Request::post("/sms")
            .body(())
            .expect("a request")
            .into_parts()
            .0
    }

    fn code<B>(result: Result<Unread<B>, WebhookRejection>) -> &'static str {
        match result {
            Ok(_) => "read",
            Err(rejection) => rejection.code(),
        }
    }

    #[tokio::test]
    async fn a_body_is_read_to_its_limit_and_its_failures_are_named() {
        let verifier = WebhookVerifier::new(RequestValidator::new("token")).body_limit(16);
        let full = |n: usize| http_body_util::Full::new(Bytes::from(vec![b'a'; n]));
        assert_eq!(code(read_body(&verifier, &parts(), full(16)).await), "read");
        assert_eq!(
            code(read_body(&verifier, &parts(), full(17)).await),
            "body_too_large",
            "undeclared, found while reading"
        );
        let timed_out = Failing(std::io::ErrorKind::TimedOut);
        assert_eq!(
            code(read_body(&verifier, &parts(), timed_out).await),
            "client_timeout"
        );
        let reset = Failing(std::io::ErrorKind::ConnectionReset);
        assert_eq!(
            code(read_body(&verifier, &parts(), reset).await),
            "body_unreadable"
        );
    }
}

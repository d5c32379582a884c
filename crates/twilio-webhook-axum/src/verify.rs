//! The one path the extractor and the layer share: translate the request (the URI the server received,
//! `OriginalUri` inside nested routers, and the peer, `ConnectInfo`) into the core's view and its body
//! into the core's `BodyReader`, run the core's verification sequence
//! (`WebhookVerifier::read_and_verify`), and record the verdict in the request's extensions. Every
//! decision about the request is the core's; this file only translates.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::{ConnectInfo, OriginalUri};
use bytes::{Buf as _, Bytes};
use http::request::Parts;
use http_body_util::BodyExt as _;
use twilio_webhook::{
    BodyError, BodyReader, Delivery, Incoming, StoredAnswer, VerifiedRequest, WebhookRejection,
    WebhookVerifier,
};

/// The error type of bodies this crate can read.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A body as the core's reader: its data frames, in order (trailers are not part of what is signed).
struct Reader<B>(B);

impl<B> BodyReader for Reader<B>
where
    B: http_body::Body + Unpin,
    B::Error: Into<BoxError>,
{
    type Chunk = Bytes;

    fn poll_chunk(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BodyError>>> {
        loop {
            let frame = match Pin::new(&mut self.0).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => {
                    let e: BoxError = e.into();
                    // A server that puts a deadline on the body (twilio-webhook guard) fails it as
                    // TimedOut.
                    let error = if timed_out(&*e) {
                        BodyError::TimedOut
                    } else {
                        BodyError::Unreadable
                    };
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            if let Ok(mut data) = frame.into_data() {
                let len = data.remaining();
                return Poll::Ready(Some(Ok(data.copy_to_bytes(len))));
            }
        }
    }
}

/// Runs the core's verification sequence on the request; on success hands it over ([`hand_over`]).
/// Returns the body to hand on (exactly the bytes verified, or the body untouched when the core says
/// there is none to read: a real WebSocket handshake) and the verdict; `Err` when no body could be
/// read.
pub(crate) async fn read_and_verify<B>(
    verifier: &WebhookVerifier,
    parts: &mut Parts,
    body: B,
) -> Result<(B, Result<Delivery, WebhookRejection>), WebhookRejection>
where
    B: http_body::Body + From<Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let (body, verdict) = read_and_verify_as_sent(verifier, parts, body).await?;
    if let Ok(delivery) = &verdict {
        hand_over(parts, delivery.verified());
    }
    Ok((body, verdict))
}

/// [`read_and_verify`] without handing the request over: `parts` stay as the client sent them, for
/// the extractor's [`check_origin`] first.
pub(crate) async fn read_and_verify_as_sent<B>(
    verifier: &WebhookVerifier,
    parts: &Parts,
    body: B,
) -> Result<(B, Result<Delivery, WebhookRejection>), WebhookRejection>
where
    B: http_body::Body + From<Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let mut reader = Reader(body);
    let checked = verifier
        .read_and_verify(&incoming(parts), &mut reader)
        .await?;
    let body = match checked.body {
        Some(bytes) => B::from(Bytes::from(bytes)),
        None => reader.0,
    };
    Ok((body, checked.verdict))
}

/// The core's rule for an extractor ([`WebhookVerifier::check_origin`]): `parts`, as the handler's
/// other extractors read them, name the origin `verified` was verified for.
pub(crate) fn check_origin(
    verifier: &WebhookVerifier,
    parts: &Parts,
    verified: &VerifiedRequest,
) -> Result<(), WebhookRejection> {
    verifier.check_origin(verified, &incoming(parts))
}

/// Hands a verified request over: a copy of the verdict in `parts.extensions` (for
/// `Extension<VerifiedRequest>`), and the headers and an absolute URI naming the origin the signature
/// was made for ([`VerifiedRequest::hand_over`]).
pub(crate) fn hand_over(parts: &mut Parts, verified: &VerifiedRequest) {
    parts.extensions.insert(verified.clone());
    // The app reads the origin the signature was made for, not the client's.
    verified.hand_over(&mut parts.headers);
    // An absolute-form or HTTP/2 target names an authority too, and so does the router's
    // `OriginalUri` (fifth outside attack, A4-F6: a handler building links from it read the
    // client's authority): the verified one.
    if let Some(uri) = verified.handed_over_uri(&parts.uri) {
        parts.uri = uri;
    }
    let original = parts.extensions.get::<OriginalUri>();
    if let Some(uri) = original.and_then(|OriginalUri(uri)| verified.handed_over_uri(uri)) {
        parts.extensions.insert(OriginalUri(uri));
    }
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
/// so), keeps it for the request's duplicates, and hands the same bytes on, the request's lease
/// renewed while it is read. A body that fails half-way is a failed delivery: `502`, and the replay
/// key released.
pub(crate) async fn keep_answer<ResBody>(
    delivery: Delivery,
    response: http::Response<ResBody>,
) -> http::Response<ResBody>
where
    ResBody: http_body::Body<Data = Bytes> + From<Bytes>,
{
    let (parts, body) = response.into_parts();
    match delivery.renewing(body.collect(), tokio::time::sleep).await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            let headers = parts
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes()));
            let answer = StoredAnswer::new(parts.status.as_u16(), headers, bytes.to_vec());
            delivery.finish_with_answer(&answer).await;
            http::Response::from_parts(parts, ResBody::from(bytes))
        }
        Err(_) => {
            delivery.finish(http::StatusCode::BAD_GATEWAY).await;
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

    impl From<Bytes> for Failing {
        fn from(_: Bytes) -> Self {
            Failing(std::io::ErrorKind::Other)
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

    type Outcome<B> = Result<(B, Result<Delivery, WebhookRejection>), WebhookRejection>;

    fn code<B>(result: Outcome<B>) -> &'static str {
        match result {
            Ok(_) => "read",
            Err(rejection) => rejection.code(),
        }
    }

    #[tokio::test]
    async fn a_body_is_read_to_its_limit_and_its_failures_are_named() {
        let verifier = WebhookVerifier::new(RequestValidator::new("token")).body_limit(16);
        let full = |n: usize| http_body_util::Full::new(Bytes::from(vec![b'a'; n]));
        assert_eq!(
            code(read_and_verify(&verifier, &mut parts(), full(16)).await),
            "read"
        );
        assert_eq!(
            code(read_and_verify(&verifier, &mut parts(), full(17)).await),
            "body_too_large",
            "undeclared, found while reading"
        );
        let timed_out = Failing(std::io::ErrorKind::TimedOut);
        assert_eq!(
            code(read_and_verify(&verifier, &mut parts(), timed_out).await),
            "client_timeout"
        );
        let reset = Failing(std::io::ErrorKind::ConnectionReset);
        assert_eq!(
            code(read_and_verify(&verifier, &mut parts(), reset).await),
            "body_unreadable"
        );
    }
}

//! The one path the extractor and the layer share: buffer the body up to the limit, build the
//! request's public URL from the URI the server received (`OriginalUri` inside nested routers) and the
//! peer (`ConnectInfo`), verify, and record the verdict in the request's extensions.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, OriginalUri};
use bytes::Bytes;
use http::request::Parts;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use twilio_webhook::{Incoming, Refusal, VerifiedRequest, WebhookRejection, WebhookVerifier};

/// The error type of bodies this crate can read.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Reads `body` (refusing more than the verifier's limit) and verifies the request; on success puts a
/// copy of the verdict in `parts.extensions` (for `Extension<VerifiedRequest>`) and returns both.
pub(crate) async fn verify<B>(
    verifier: &WebhookVerifier,
    parts: &mut Parts,
    body: B,
) -> Result<(Bytes, VerifiedRequest), WebhookRejection>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    let bytes = read_body(verifier.limit(), parts, body).await?;
    let verified = check(verifier, parts, &bytes).await?;
    Ok((bytes, verified))
}

/// Reads `body` whole, refusing more than `limit` bytes (declared or sent) and a broken body.
pub(crate) async fn read_body<B>(
    limit: usize,
    parts: &Parts,
    body: B,
) -> Result<Bytes, WebhookRejection>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(WebhookRejection::new(
            Refusal::BodyTooLarge { limit },
            Vec::new(),
        ));
    }
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
    Ok(bytes)
}

/// Verifies the request with its body; on success puts a copy of the verdict in `parts.extensions`.
pub(crate) async fn check(
    verifier: &WebhookVerifier,
    parts: &mut Parts,
    bytes: &[u8],
) -> Result<VerifiedRequest, WebhookRejection> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let original = parts.extensions.get::<OriginalUri>();
    let target = original
        .and_then(|OriginalUri(uri)| uri.path_and_query())
        .or_else(|| parts.uri.path_and_query())
        .map_or("/", |pq| pq.as_str());
    let incoming = Incoming::from_parts(parts)
        .with_target(target)
        .with_peer(peer);
    let verified = verifier.verify_async(&incoming, bytes).await?;
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

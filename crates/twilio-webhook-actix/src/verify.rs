//! The one path the extractor and the middleware share: read the payload up to the limit, translate
//! actix's request head (`http` 0.2 types) into the core's `http` 1 view, verify.

use actix_web::HttpRequest;
use actix_web::dev::Payload;
use actix_web::web::Bytes;
use futures_util::StreamExt as _;
use twilio_webhook::{Incoming, Refusal, VerifiedRequest, WebhookRejection, WebhookVerifier};

/// The verifier from the app data: `App::app_data(verifier)` or `App::app_data(web::Data::new(verifier))`.
pub(crate) fn verifier(req: &HttpRequest) -> Option<WebhookVerifier> {
    req.app_data::<WebhookVerifier>().cloned().or_else(|| {
        req.app_data::<actix_web::web::Data<WebhookVerifier>>()
            .map(|d| d.get_ref().clone())
    })
}

/// Reads the body from `payload` (refusing more than the verifier's limit) and verifies the request.
/// Returns the body read, to be put back as the payload.
pub(crate) async fn verify(
    verifier: &WebhookVerifier,
    req: &HttpRequest,
    payload: &mut Payload,
) -> Result<(Option<Bytes>, VerifiedRequest), WebhookRejection> {
    let body = read_body(verifier.limit(), req, payload).await?;
    let verified = check(verifier, req, body.as_deref().unwrap_or_default()).await?;
    Ok((body, verified))
}

/// Reads the body whole, refusing more than `limit` bytes (declared or sent) and a broken payload.
///
/// An upgrade request (a WebSocket handshake) has no body: in actix its payload is the upgraded
/// connection, which never ends. It is not read (`None`), and `payload` is left for the handler.
pub(crate) async fn read_body(
    limit: usize,
    req: &HttpRequest,
    payload: &mut Payload,
) -> Result<Option<Bytes>, WebhookRejection> {
    if req.head().upgrade() {
        return Ok(None);
    }
    let too_large = || WebhookRejection::new(Refusal::BodyTooLarge { limit }, Vec::new());
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    let mut payload = payload.take();
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| WebhookRejection::new(Refusal::BodyUnreadable, Vec::new()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(Bytes::from(body)))
}

/// Verifies the request with its body (empty for a handshake).
pub(crate) async fn check(
    verifier: &WebhookVerifier,
    req: &HttpRequest,
    body: &[u8],
) -> Result<VerifiedRequest, WebhookRejection> {
    let headers = headers(req);
    verifier.verify_async(&incoming(req, &headers), body).await
}

/// The request's headers as `http` 1 types: actix-web 4 speaks `http` 0.2, whose types stop here.
fn headers(req: &HttpRequest) -> http::HeaderMap {
    let mut headers = http::HeaderMap::with_capacity(req.headers().len());
    for (name, value) in req.headers() {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes());
        let value = http::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(value)) = (name, value) {
            headers.append(name, value);
        }
    }
    headers
}

/// What the public-URL policy needs: the target as received (actix keeps scopes in the URI), the
/// headers and the connection's peer.
fn incoming<'a>(req: &'a HttpRequest, headers: &'a http::HeaderMap) -> Incoming<'a> {
    let uri = req.uri();
    Incoming {
        target: uri.path_and_query().map_or("/", |pq| pq.as_str()),
        headers,
        peer: req.peer_addr().map(|addr| addr.ip()),
        scheme: uri.scheme_str(),
        authority: uri.authority().map(|a| a.as_str()),
    }
}

/// A refusal as an actix response: its status and a plain-text body naming the reason.
pub(crate) fn response(rejection: &WebhookRejection) -> actix_web::HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(rejection.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::FORBIDDEN);
    actix_web::HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(rejection.body_text())
}

//! The one path the extractor and the middleware share: translate actix's request head (`http` 0.2
//! types) into the core's `http` 1 view, let the core decide whether the body is read, read it up to
//! the limit, verify. Every decision about the request is the core's; this file only translates.

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

/// The request's method and headers as `http` 1 types: actix-web 4 speaks `http` 0.2, whose types
/// stop here.
pub(crate) struct Head {
    method: http::Method,
    headers: http::HeaderMap,
}

impl Head {
    pub(crate) fn of(req: &HttpRequest) -> Head {
        let mut headers = http::HeaderMap::with_capacity(req.headers().len());
        for (name, value) in req.headers() {
            let name = http::HeaderName::from_bytes(name.as_str().as_bytes());
            let value = http::HeaderValue::from_bytes(value.as_bytes());
            if let (Ok(name), Ok(value)) = (name, value) {
                headers.append(name, value);
            }
        }
        // An unknown method stays unknown: never a GET, so never a handshake.
        let method = http::Method::from_bytes(req.method().as_str().as_bytes())
            .unwrap_or(http::Method::POST);
        Head { method, headers }
    }

    /// What the core needs: the target as received (actix keeps scopes in the URI), the method, the
    /// headers and the connection's peer.
    fn incoming<'a>(&'a self, req: &'a HttpRequest) -> Incoming<'a> {
        let uri = req.uri();
        Incoming {
            method: &self.method,
            target: uri.path_and_query().map_or("/", |pq| pq.as_str()),
            headers: &self.headers,
            peer: req.peer_addr().map(|addr| addr.ip()),
            scheme: uri.scheme_str(),
            authority: uri.authority().map(|a| a.as_str()),
        }
    }
}

/// Reads the body from `payload` (refusing more than the verifier's limit) and verifies the request.
/// Returns the body read, to be put back as the payload.
pub(crate) async fn verify(
    verifier: &WebhookVerifier,
    req: &HttpRequest,
    payload: &mut Payload,
) -> Result<(Option<Bytes>, VerifiedRequest), WebhookRejection> {
    let head = Head::of(req);
    let body = read_body(verifier, req, &head, payload).await?;
    let verified = check(verifier, req, &head, body.as_deref().unwrap_or_default()).await?;
    Ok((body, verified))
}

/// Reads the body whole, refusing more than the limit (declared or sent) and a broken payload, unless
/// the core says the request has none to read: a real WebSocket handshake, whose payload in actix is the
/// upgraded connection (`None`, and `payload` is left for the handler). The core refuses a request that
/// asks for a WebSocket without being a handshake (actix would read the rest of the connection as its
/// body); anything else is read, whatever its `Connection` or `Upgrade` headers say.
pub(crate) async fn read_body(
    verifier: &WebhookVerifier,
    req: &HttpRequest,
    head: &Head,
    payload: &mut Payload,
) -> Result<Option<Bytes>, WebhookRejection> {
    if !verifier.reads_body(&head.incoming(req))? {
        return Ok(None);
    }
    verifier.check_declared_length(&head.headers)?;
    let limit = verifier.limit();
    let mut payload = payload.take();
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| WebhookRejection::new(Refusal::BodyUnreadable, Vec::new()))?;
        if body.len() + chunk.len() > limit {
            return Err(WebhookRejection::new(
                Refusal::BodyTooLarge { limit },
                Vec::new(),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(Bytes::from(body)))
}

/// Verifies the request with its body (empty for a handshake).
pub(crate) async fn check(
    verifier: &WebhookVerifier,
    req: &HttpRequest,
    head: &Head,
    body: &[u8],
) -> Result<VerifiedRequest, WebhookRejection> {
    verifier.verify_async(&head.incoming(req), body).await
}

/// An actix status as an `http` 1 status.
pub(crate) fn status(status: actix_web::http::StatusCode) -> http::StatusCode {
    http::StatusCode::from_u16(status.as_u16()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
}

/// A refusal as an actix response: its status and a plain-text body naming the reason.
pub(crate) fn response(rejection: &WebhookRejection) -> actix_web::HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(rejection.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::FORBIDDEN);
    // Answer mode: a duplicate gets the first delivery's response, as the core kept it.
    if let Some(answer) = rejection.stored_answer() {
        let mut response = actix_web::HttpResponse::build(status);
        for (name, value) in answer.headers() {
            if let (Ok(name), Ok(value)) = (
                actix_web::http::header::HeaderName::from_bytes(name.as_bytes()),
                actix_web::http::header::HeaderValue::from_bytes(value),
            ) {
                response.append_header((name, value));
            }
        }
        return response.body(answer.body().to_vec());
    }
    actix_web::HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(rejection.body_text())
}

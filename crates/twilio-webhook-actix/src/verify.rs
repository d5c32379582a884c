//! The one path the extractor and the middleware share: translate actix's request head (`http` 0.2
//! types) into the core's `http` 1 view and its payload into the core's [`BodyReader`], and run the
//! core's verification sequence ([`WebhookVerifier::read_and_verify`]). Every decision about the
//! request is the core's; this file only translates.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::HttpMessage as _;
use actix_web::HttpRequest;
use actix_web::dev::Payload;
use actix_web::web::Bytes;
use futures_util::Stream as _;
use twilio_webhook::{
    BodyError, BodyReader, BodySource, Checked, Incoming, WebhookRejection, WebhookVerifier,
};

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

/// actix's payload as the core's body reader.
pub(crate) struct Reader {
    payload: Payload,
    source: BodySource,
}

/// A verified WebSocket handshake's upgraded connection, which in actix is the request's payload. It
/// is taken from the request before verification, so that no body extractor or handler reads it as a
/// body (bytes no signature covers), and kept in the request's extensions once the handshake is
/// verified, for [`TwilioWebSocket`](crate::TwilioWebSocket) alone.
pub(crate) struct Tunnel(pub(crate) Payload);

impl Reader {
    /// Takes the request's payload. When the core says the request has no body to read (a real
    /// WebSocket handshake, whose payload in actix is the rest of the connection) the sequence reads
    /// nothing, and the payload comes back apart as the tunnel, for [`keep_tunnel`] once verified.
    ///
    /// A payload that is already gone (`Payload::None`) is what actix leaves after another extractor
    /// took it, and also what it gives an HTTP/1 request without a body: the core tells the two apart
    /// by what the request declares. Over HTTP/2 actix always gives a stream, so none means taken.
    pub(crate) fn take(
        verifier: &WebhookVerifier,
        req: &HttpRequest,
        head: &Head,
        payload: &mut Payload,
    ) -> (Reader, Option<Tunnel>) {
        if let Ok(false) = verifier.reads_body(&head.incoming(req)) {
            let reader = Reader {
                payload: Payload::None,
                source: BodySource::Stream,
            };
            return (reader, Some(Tunnel(payload.take())));
        }
        let source = match (&*payload, req.version()) {
            (Payload::None, actix_web::http::Version::HTTP_2) => BodySource::Taken,
            (Payload::None, _) => BodySource::NoStream,
            _ => BodySource::Stream,
        };
        let reader = Reader {
            payload: payload.take(),
            source,
        };
        (reader, None)
    }
}

/// Keeps a verified handshake's connection in the request's extensions, for
/// [`TwilioWebSocket`](crate::TwilioWebSocket). Call only once the request is verified.
pub(crate) fn keep_tunnel(req: &HttpRequest, tunnel: Option<Tunnel>) {
    if let Some(tunnel) = tunnel {
        req.extensions_mut().insert(tunnel);
    }
}

impl BodyReader for Reader {
    type Chunk = Bytes;

    fn source(&self) -> BodySource {
        self.source
    }

    fn poll_chunk(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BodyError>>> {
        Pin::new(&mut self.payload)
            .poll_next(cx)
            .map(|chunk| chunk.map(|c| c.map_err(|_| BodyError::Unreadable)))
    }
}

/// Runs the core's sequence on the request and the payload `reader` took.
pub(crate) async fn read_and_verify(
    verifier: &WebhookVerifier,
    req: &HttpRequest,
    head: &Head,
    mut reader: Reader,
) -> Result<Checked, WebhookRejection> {
    verifier
        .read_and_verify(&head.incoming(req), &mut reader)
        .await
}

/// The core's rule for the extractor ([`WebhookVerifier::check_origin`]): the request, as the
/// handler reads it (its headers and `connection_info()`), names the origin `verified` was verified
/// for.
pub(crate) fn check_origin(
    verifier: &WebhookVerifier,
    req: &HttpRequest,
    head: &Head,
    verified: &twilio_webhook::VerifiedRequest,
) -> Result<(), WebhookRejection> {
    verifier.check_origin(verified, &head.incoming(req))
}

/// The body to hand on: the bytes verified, or none (a handshake, whose body was not read).
pub(crate) fn payload(body: Option<Vec<u8>>) -> Payload {
    body.map_or(Payload::None, |bytes| Payload::from(Bytes::from(bytes)))
}

/// Makes the request name the origin it was verified for (the core's decision,
/// [`VerifiedRequest::hand_over_changes`]), so the app never reads the client's: its headers, an
/// absolute-form URI's authority, and actix's `ConnectionInfo`, which `connection_info()` caches in
/// the request's extensions the first time anything (a `Logger` outside this middleware) reads it
/// (fifth outside attack, A4-F2).
pub(crate) fn hand_over(
    verified: &twilio_webhook::VerifiedRequest,
    req: &mut actix_web::dev::ServiceRequest,
) {
    origin_headers(verified, req.headers_mut());
    let head = req.head_mut();
    let handed = http::Uri::try_from(head.uri.to_string())
        .ok()
        .and_then(|uri| verified.handed_over_uri(&uri))
        .and_then(|uri| actix_web::http::Uri::try_from(uri.to_string()).ok());
    if let Some(uri) = handed {
        head.uri = uri;
    }
    req.extensions_mut()
        .remove::<actix_web::dev::ConnectionInfo>();
}

/// Makes actix's headers name only the verified origin, path and method: the core's changes
/// ([`VerifiedRequest::hand_over_changes`], decided on the request's headers translated to `http` 1),
/// applied to actix's map. Every routing header counts, in every spelling (`X-Forwarded-Prefix`,
/// `X-Original-URL`, `X-HTTP-Method-Override`, …: sixth outside attack).
fn origin_headers(
    verified: &twilio_webhook::VerifiedRequest,
    headers: &mut actix_web::http::header::HeaderMap,
) {
    use actix_web::http::header::{HeaderName, HeaderValue};
    let mut seen = http::HeaderMap::new();
    for (name, value) in headers.iter() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            seen.append(name, value);
        }
    }
    for change in verified.hand_over_changes(&seen) {
        let Ok(name) = HeaderName::from_bytes(change.name().as_str().as_bytes()) else {
            continue;
        };
        headers.remove(&name);
        if let Some(value) = change.value() {
            if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
                headers.insert(name, value);
            }
        }
    }
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

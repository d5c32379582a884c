//! The middleware: the extractor's behaviour for a whole app or scope.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::HttpMessage as _;
use actix_web::body::{BodySize, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::LocalBoxFuture;
use twilio_webhook::{ReportOnly, StoredAnswer, WebhookVerifier};

/// Requires a valid Twilio signature on every request of the app or scope it wraps; refused requests
/// get `400`, `403` or `413` with a plain-text reason and never reach a handler. Handlers see the body
/// unchanged and the verdict as `web::ReqData<VerifiedRequest>`.
///
/// A real WebSocket handshake has no body and is verified without one; its payload, which in actix is
/// the upgraded connection, is never handed on as a body: the handler sees none, and takes the
/// connection with [`TwilioWebSocket`](crate::TwilioWebSocket).
///
/// ```
/// use actix_web::{App, web};
/// use twilio_webhook_actix::{TwilioWebhookMiddleware, WebhookVerifier};
///
/// # fn app(verifier: WebhookVerifier) {
/// App::new().service(
///     web::scope("/twilio")
///         .wrap(TwilioWebhookMiddleware::new(verifier))
///         .route("/sms", web::post().to(|body: String| async move { body })),
/// );
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TwilioWebhookMiddleware {
    verifier: WebhookVerifier,
    report_only: Option<ReportOnly>,
}

impl TwilioWebhookMiddleware {
    /// A middleware that verifies with `verifier` (its validator, public-URL policy, body limit and
    /// replay guard) and refuses what fails.
    pub fn new(verifier: WebhookVerifier) -> Self {
        TwilioWebhookMiddleware {
            verifier,
            report_only: None,
        }
    }

    /// Report-only mode, for rolling validation out: a request that fails verification (signature or
    /// replay) reaches the handler without a `VerifiedRequest`, logged at `warn` and counted in
    /// [`would_reject`](Self::would_reject); building it logs that verification is **not enforced**.
    /// Every other refusal is still enforced, as the core's [`ReportOnly::passes`] decides: a body over
    /// the limit or unreadable (it was not read, so it cannot be passed), and a request whose shape
    /// would show the app something other than what was checked (an ambiguous host or target, a
    /// charset other than UTF-8, a body on a bodiless method, a length other than declared).
    pub fn report_only_without_enforcing(mut self) -> Self {
        self.report_only = Some(ReportOnly::without_enforcing());
        self
    }

    /// How many requests report-only mode passed that enforcement would have refused (0 when
    /// enforcing).
    pub fn would_reject(&self) -> u64 {
        self.report_only
            .as_ref()
            .map_or(0, ReportOnly::would_reject)
    }
}

impl<S, B> Transform<S, ServiceRequest> for TwilioWebhookMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequireTwilioSignature<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireTwilioSignature {
            service: Rc::new(service),
            verifier: self.verifier.clone(),
            report_only: self.report_only.clone(),
        }))
    }
}

/// The service made by [`TwilioWebhookMiddleware`].
#[derive(Debug)]
pub struct RequireTwilioSignature<S> {
    service: Rc<S>,
    verifier: WebhookVerifier,
    report_only: Option<ReportOnly>,
}

impl<S, B> Service<ServiceRequest> for RequireTwilioSignature<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let verifier = self.verifier.clone();
        let report_only = self.report_only.clone();
        Box::pin(async move {
            let refuse = |req: ServiceRequest, rejection| {
                let response = crate::verify::response(&rejection);
                Ok(req.into_response(response).map_into_right_body())
            };
            let (http_request, payload) = req.parts_mut();
            let head = crate::verify::Head::of(http_request);
            let (reader, tunnel) =
                crate::verify::Reader::take(&verifier, http_request, &head, payload);
            let checked =
                match crate::verify::read_and_verify(&verifier, req.request(), &head, reader).await
                {
                    Ok(checked) => checked,
                    Err(rejection) => return refuse(req, rejection),
                };
            let delivery = match (checked.verdict, &report_only) {
                (Ok(delivery), _) => {
                    req.extensions_mut().insert(delivery.verified().clone());
                    crate::verify::hand_over(delivery.verified(), &mut req);
                    crate::verify::keep_tunnel(req.request(), tunnel);
                    Some(delivery)
                }
                (Err(rejection), Some(report)) if report.passes(&rejection) => None,
                (Err(rejection), _) => return refuse(req, rejection),
            };
            // The app gets exactly the bytes verified; a handshake's payload (the upgraded
            // connection) only through `TwilioWebSocket`.
            if let Some(body) = checked.body {
                req.set_payload(crate::verify::payload(Some(body)));
            }
            let call = service.call(req);
            let Some(delivery) = delivery else {
                return Ok(call.await?.map_into_left_body());
            };
            // Answer mode: the request's lease is renewed while the handler works on it.
            let response = delivery.renewing(call, actix_web::rt::time::sleep).await;
            // A failed delivery (502, 503, 504) releases the replay key; in answer mode, the answer
            // is kept for duplicates when the core says so.
            let response = match response {
                Ok(response) => response,
                Err(e) => {
                    let status = e.as_response_error().status_code();
                    delivery.finish(crate::verify::status(status)).await;
                    return Err(e);
                }
            };
            let status = crate::verify::status(response.status());
            let length = match response.response().body().size() {
                BodySize::Sized(n) => Some(n),
                BodySize::None => Some(0),
                BodySize::Stream => None,
            };
            if !delivery.keeps_answer(status, length) {
                delivery.finish(status).await;
                return Ok(response.map_into_left_body());
            }
            let (request, response) = response.into_parts();
            let (head, body) = response.into_parts();
            // The lease is renewed while the answer is read whole.
            let read = actix_web::body::to_bytes(body);
            let Ok(bytes) = delivery.renewing(read, actix_web::rt::time::sleep).await else {
                // The body failed half-way: a failed delivery.
                delivery.finish(http::StatusCode::BAD_GATEWAY).await;
                let failed = actix_web::HttpResponse::BadGateway()
                    .body("the app's response failed half-way\n");
                return Ok(ServiceResponse::new(request, failed).map_into_right_body());
            };
            let headers = head
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes()));
            let answer = StoredAnswer::new(status.as_u16(), headers, bytes.to_vec());
            delivery.finish_with_answer(&answer).await;
            let response = head.set_body(bytes).map_into_boxed_body();
            Ok(ServiceResponse::new(request, response).map_into_right_body())
        })
    }
}

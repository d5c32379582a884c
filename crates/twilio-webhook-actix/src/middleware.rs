//! The middleware: the extractor's behaviour for a whole app or scope.

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::HttpMessage as _;
use actix_web::body::EitherBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use futures_util::future::LocalBoxFuture;
use twilio_webhook::WebhookVerifier;

/// Requires a valid Twilio signature on every request of the app or scope it wraps; refused requests
/// get `400`, `403` or `413` with a plain-text reason and never reach a handler. Handlers see the body
/// unchanged and the verdict as `web::ReqData<VerifiedRequest>`.
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
}

impl TwilioWebhookMiddleware {
    /// A middleware that verifies with `verifier` (its validator, public-URL policy and body limit).
    pub fn new(verifier: WebhookVerifier) -> Self {
        TwilioWebhookMiddleware { verifier }
    }
}

impl<S, B> Transform<S, ServiceRequest> for TwilioWebhookMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
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
        }))
    }
}

/// The service made by [`TwilioWebhookMiddleware`].
#[derive(Debug)]
pub struct RequireTwilioSignature<S> {
    service: Rc<S>,
    verifier: WebhookVerifier,
}

impl<S, B> Service<ServiceRequest> for RequireTwilioSignature<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            let (http_request, payload) = req.parts_mut();
            match crate::verify::verify(&verifier, http_request, payload).await {
                Ok((bytes, verified)) => {
                    req.extensions_mut().insert(verified);
                    if let Some(bytes) = bytes {
                        req.set_payload(Payload::from(bytes));
                    }
                    let response = service.call(req).await?;
                    Ok(response.map_into_left_body())
                }
                Err(rejection) => {
                    let response = crate::verify::response(&rejection);
                    Ok(req.into_response(response).map_into_right_body())
                }
            }
        })
    }
}

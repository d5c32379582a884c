//! The extractors' check of a verified request's origin (issue 28, F17): what a handler reads as its
//! host must be the host the signature was made for. The rule is the policy's
//! (`PublicUrl::other_origin`); this file answers it, with a log line that says what to do.

use super::rejection::clipped;
use super::{Refusal, VerifiedRequest, WebhookRejection, WebhookVerifier};
use crate::public_url::{Incoming, OtherOrigin};

impl WebhookVerifier {
    /// For an extractor, which verifies a request but cannot hand it over
    /// ([`VerifiedRequest::hand_over`]): refuses `request`, verified as `verified`, when a handler
    /// could read another origin from it than the one the signature was made for (`400`,
    /// [`Refusal::BadHost`]). A layer or middleware hands the request over instead, so it never
    /// needs this.
    ///
    /// The request must name the verified [`authority`](VerifiedRequest::authority) and
    /// [`scheme`](VerifiedRequest::scheme) wherever a handler may read them:
    ///
    /// - in every `X-Forwarded-Host` and `X-Forwarded-Proto` element and every `Forwarded` `host=`
    ///   and `proto=`, from any peer (Twilio never sends them; a proxy that sets them sets the public
    ///   origin), an `X-Forwarded-Host` without a port taking the nearest `X-Forwarded-Port`'s;
    /// - in every `Host` field and the URI's authority (HTTP/2 `:authority`, an absolute-form
    ///   target), unless the peer is a trusted proxy, which may set an internal `Host` on purpose
    ///   (nginx's default `proxy_pass` does).
    ///
    /// Hosts compare without ASCII case, a port equal to the scheme's default the same as none;
    /// a port the signature did not cover is another origin. The refusal is logged at `warn` with
    /// what to do: put the layer (axum) or the middleware (actix) in front, which hands the handler
    /// the signed origin, or name the proxy in `TWILIO_TRUSTED_PROXIES`. The caller releases the
    /// request's replay key (the app never got it: [`Delivery::not_delivered`](crate::Delivery::not_delivered)).
    ///
    /// ```
    /// use twilio_webhook::{Incoming, PublicUrl, RequestValidator, WebhookVerifier};
    ///
    /// let validator = RequestValidator::try_new("12345")?;
    /// let signature = validator.compute_signature("https://hooks.example.com/sms", [("Body", "Hi")]);
    /// let verifier = WebhookVerifier::new(validator)
    ///     .public_url(PublicUrl::base("https://hooks.example.com")?.trust_proxy("10.0.0.7")?);
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("host", "admin.internal".parse()?);
    /// headers.insert("content-type", "application/x-www-form-urlencoded".parse()?);
    /// headers.insert("x-twilio-signature", signature.parse()?);
    /// let request = Incoming::new(&http::Method::POST, "/sms", &headers);
    /// let verified = verifier.verify(&request, b"Body=Hi")?;
    /// // One public URL: the client's Host decided nothing, and the handler would read it.
    /// let refused = verifier.check_origin(&verified, &request).unwrap_err();
    /// assert_eq!(refused.code(), "bad_host");
    /// // From the trusted proxy, an internal Host is the proxy's choice.
    /// let from_proxy = request.with_peer(Some("10.0.0.7".parse()?));
    /// assert!(verifier.check_origin(&verified, &from_proxy).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_origin(
        &self,
        verified: &VerifiedRequest,
        request: &Incoming<'_>,
    ) -> Result<(), WebhookRejection> {
        let Some(other) = self.public_url.other_origin(verified, request) else {
            return Ok(());
        };
        let head = format!(
            "rejected {} {} (bad_host)",
            request.method,
            request.target.split('?').next().unwrap_or_default()
        );
        let explanation = explain(verified, request, &other, self.public_url.trusts_proxies());
        let urls = vec![verified.url().to_string()];
        tracing::warn!(
            target: "twilio_webhook",
            reason = "bad_host",
            urls_tried = ?super::rejection::Logged(&urls),
            "{}: {explanation}",
            clipped(&head),
        );
        let mut rejection = WebhookRejection::quiet(Refusal::BadHost, urls);
        rejection.explanation = Some(format!("{}: {explanation}", clipped(&head)));
        Err(rejection)
    }
}

/// What the log says: what the handler would read, and what to do. Each client-chosen text in it is
/// [`clipped`], and the advice is never cut.
fn explain(
    verified: &VerifiedRequest,
    request: &Incoming<'_>,
    other: &OtherOrigin<'_>,
    trusts_proxies: bool,
) -> String {
    // Without a public URL the authority verified is the client's `Host`: bounded too.
    let signed = format!("{}://{}", verified.scheme(), clipped(verified.authority()));
    let said = format!(
        "the signature was made for {signed}, but {} says {:?}, which the handler would read as \
         its origin; an extractor cannot change what the handler's other extractors read",
        other.field,
        clipped(&other.value)
    );
    let layer = "put the layer (axum TwilioWebhookLayer) or the middleware (actix \
                 TwilioWebhookMiddleware) in front of the route, which hands the handler the signed \
                 origin";
    if !other.is_host() {
        return format!(
            "{said}: {layer}. Twilio never sends {header}, and a proxy that sets it must set the \
             public origin ({signed})",
            header = other.field.split(' ').next().unwrap_or_default()
        );
    }
    let peer = match request.peer {
        Some(ip) => format!("the peer {ip} is not a trusted proxy"),
        None if trusts_proxies => {
            "the server gives no peer address, so no proxy is trusted (in axum, serve with \
             into_make_service_with_connect_info::<SocketAddr>())"
                .to_string()
        }
        None => "no proxy is trusted".to_string(),
    };
    format!(
        "{said} ({peer}): {layer}, or, if a proxy in front sets this Host on purpose, name it in \
         TWILIO_TRUSTED_PROXIES (PublicUrl::trust_proxy; in axum, serve with \
         into_make_service_with_connect_info::<SocketAddr>())"
    )
}

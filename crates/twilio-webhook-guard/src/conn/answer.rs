//! The answers a connection writes itself (refusals, failures, kept answers) and every write to the
//! client, each bounded by the send time-out.

use std::io;
use std::time::Duration;

use http::StatusCode;
use http::header::{HeaderName, HeaderValue};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use twilio_webhook::{Delivery, Refusal, WebhookRejection};

use super::super::h1::{self, Framing, RequestHead};
use super::{Conn, Next};

impl Conn<'_> {
    /// Answers with a refusal: the first answer for an answered duplicate (framed as the core says a
    /// fresh answer with its status is: no length and no body for a `204` or `304`), else its status
    /// and reason; counted.
    pub(super) async fn refuse(
        &mut self,
        rejection: &WebhookRejection,
        head: &RequestHead,
        next: Next,
    ) -> io::Result<Next> {
        let metrics = &self.worker.metrics;
        match rejection.refusal() {
            Refusal::AnsweredDuplicate => metrics.duplicate("answered"),
            Refusal::Replayed => metrics.duplicate("refused"),
            _ => metrics.rejected(rejection.code(), rejection.cause()),
        }
        if let Some(answer) = rejection.stored_answer() {
            let mut lines = Vec::new();
            let mut has_date = false;
            for (name, value) in answer.headers() {
                // Kept from the upstream's answer; checked again all the same.
                if HeaderName::from_bytes(name.as_bytes()).is_ok()
                    && HeaderValue::from_bytes(value).is_ok()
                {
                    has_date |= name.eq_ignore_ascii_case("date");
                    h1::push_line(&mut lines, name.as_bytes(), value);
                }
            }
            let framing = answer.content_length().map(Framing::Length);
            return self
                .answer_framed(
                    rejection.status(),
                    (&lines, has_date),
                    framing,
                    answer.body(),
                    head.http10,
                    next,
                )
                .await;
        }
        self.answer_text(
            rejection.status(),
            &rejection.body_text(),
            head.http10,
            next,
        )
        .await
    }

    /// The guard's own answer when the upstream's cannot be had; a verified delivery that failed
    /// releases its replay key (the core decides by the status: [`Delivery::finish`]).
    pub(super) async fn fail(
        &mut self,
        head: &RequestHead,
        delivery: Option<Delivery>,
        status: StatusCode,
        text: &str,
        why: &'static str,
        next: Next,
    ) -> io::Result<Next> {
        if let Some(delivery) = delivery {
            delivery.finish(status).await;
        }
        self.worker.metrics.upstream_failed(why);
        self.answer_text(status, &format!("{text}\n"), head.http10, next)
            .await
    }

    /// A plain-text answer.
    pub(super) async fn answer_text(
        &mut self,
        status: StatusCode,
        text: &str,
        http10: bool,
        next: Next,
    ) -> io::Result<Next> {
        self.answer(status, (TEXT, false), text.as_bytes(), http10, next)
            .await
    }

    /// A whole answer, with its length.
    pub(super) async fn answer(
        &mut self,
        status: StatusCode,
        lines: (&[u8], bool),
        body: &[u8],
        http10: bool,
        next: Next,
    ) -> io::Result<Next> {
        let framing = Some(Framing::Length(body.len() as u64));
        self.answer_framed(status, lines, framing, body, http10, next)
            .await
    }

    /// A whole answer, framed as `framing` says: `Some` with the length of `body`, or `None` for an
    /// answer that has no body (a `204` or `304`, or one to `HEAD` whose `lines` hold its own
    /// `Content-Length`), whose `body` is then never sent.
    pub(super) async fn answer_framed(
        &mut self,
        status: StatusCode,
        lines: (&[u8], bool),
        framing: Option<Framing>,
        body: &[u8],
        http10: bool,
        next: Next,
    ) -> io::Result<Next> {
        self.out.clear();
        h1::write_response_head(
            &mut self.out,
            http10,
            status,
            lines,
            framing,
            connection(http10, next),
        );
        // An answer to `HEAD` says its length and ends at its head: a body there would be read as
        // the next answer by a client or a front proxy reusing the connection.
        if framing.is_some() && !self.head_only {
            self.out.extend_from_slice(body);
        }
        self.send_out().await?;
        Ok(next)
    }

    /// The guard's own refusal of a request the core was not asked about (its method, or its body
    /// on a passed route): `status` with `code` in its text, counted; the connection then closes
    /// (what follows the head cannot be trusted to be the next request).
    pub(super) async fn refuse_request(
        &mut self,
        status: StatusCode,
        code: &'static str,
        lines: &[u8],
        http10: bool,
    ) -> io::Result<Next> {
        self.worker.metrics.rejected(code, None);
        let text = format!("bad request: {code}\n");
        let mut head = Vec::with_capacity(lines.len() + TEXT.len());
        head.extend_from_slice(TEXT);
        head.extend_from_slice(lines);
        self.answer(status, (&head, false), text.as_bytes(), http10, Next::Close)
            .await
    }

    /// `503 body_memory_exhausted`: the request's body would take the bodies being read past
    /// `--max-body-memory`. Never forwarded, and counted; `Retry-After` is the client time-out, by
    /// when every body held now has been read or refused. The connection closes: the rest of the
    /// body is left unread.
    pub(super) async fn over_budget(&mut self, http10: bool) -> io::Result<Next> {
        self.worker.metrics.rejected(BODY_MEMORY_EXHAUSTED, None);
        let seconds = retry_after(self.worker.config.client_timeout);
        let mut lines = TEXT.to_vec();
        lines.extend_from_slice(format!("retry-after: {seconds}\r\n").as_bytes());
        let text = format!("service unavailable: {BODY_MEMORY_EXHAUSTED}\n");
        self.answer(
            StatusCode::SERVICE_UNAVAILABLE,
            (&lines, false),
            text.as_bytes(),
            http10,
            Next::Close,
        )
        .await
    }

    /// `400 bad_host`: a passed request whose `Host` is repeated or not a plain authority.
    pub(super) async fn bad_host(&mut self, http10: bool) -> io::Result<Next> {
        self.refuse_request(StatusCode::BAD_REQUEST, "bad_host", b"", http10)
            .await
    }

    /// Writes `out` to the client, then empties it.
    pub(super) async fn send_out(&mut self) -> io::Result<()> {
        send(
            &mut self.client.stream,
            &self.out,
            self.worker.config.send_timeout,
        )
        .await?;
        self.out.clear();
        Ok(())
    }
}

/// The `Retry-After` of a `503 body_memory_exhausted`, in whole seconds: the client time-out rounded
/// up (a client told to come back before then could find the same bodies still held), at least 1.
fn retry_after(client_timeout: Duration) -> u64 {
    (client_timeout.as_secs() + u64::from(client_timeout.subsec_nanos() > 0)).max(1)
}

/// The reason of a `503` for a body over `--max-body-memory`, in its text and its metric.
const BODY_MEMORY_EXHAUSTED: &str = "body_memory_exhausted";

/// The content type of the guard's own answers.
const TEXT: &[u8] = b"content-type: text/plain; charset=utf-8\r\n";

/// Writes all of `bytes` to the client, each write making progress within `within` (nginx's
/// `send_timeout`, `--send-timeout`): a client that stops reading ends its connection, and with it
/// the upstream connection of the answer being relayed, instead of holding both for ever.
pub(super) async fn send(
    stream: &mut TcpStream,
    mut bytes: &[u8],
    within: Duration,
) -> io::Result<()> {
    while !bytes.is_empty() {
        match tokio::time::timeout(within, stream.write(bytes)).await {
            Ok(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(Ok(n)) => bytes = bytes.get(n..).unwrap_or_default(),
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading",
                ));
            }
        }
    }
    Ok(())
}

/// The `Connection` header an answer needs: `close` when the connection ends after it, `keep-alive`
/// to an HTTP/1.0 client that keeps it.
pub(super) fn connection(http10: bool, next: Next) -> Option<&'static str> {
    match (next, http10) {
        (Next::Close, _) => Some("close"),
        (Next::KeepAlive, true) => Some("keep-alive"),
        (Next::KeepAlive, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_the_client_timeout_rounded_up_to_a_whole_second() {
        assert_eq!(retry_after(Duration::from_secs(30)), 30);
        assert_eq!(retry_after(Duration::from_millis(29_500)), 30);
        assert_eq!(retry_after(Duration::from_millis(30_001)), 31);
        assert_eq!(retry_after(Duration::from_millis(200)), 1, "never 0");
    }
}

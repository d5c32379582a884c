use std::collections::VecDeque;

use http::StatusCode;

use super::*;
use crate::replay::tests::block_on;
use crate::{Algorithm, MemoryStore, RequestValidator, Signer};

const TOKEN: &str = "sequence-test-token";
const FORM: &str = "application/x-www-form-urlencoded";

/// A body given in the chunks listed, from a source of the kind given.
struct Chunks(BodySource, VecDeque<Result<Vec<u8>, BodyError>>);

impl Chunks {
    fn of(chunks: &[&[u8]]) -> Self {
        Chunks(
            BodySource::Stream,
            chunks.iter().map(|c| Ok(c.to_vec())).collect(),
        )
    }
}

impl BodyReader for Chunks {
    type Chunk = Vec<u8>;

    fn source(&self) -> BodySource {
        self.0
    }

    fn poll_chunk(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Vec<u8>, BodyError>>> {
        Poll::Ready(self.1.pop_front())
    }
}

fn headers(extra: &[(&str, &str)]) -> http::HeaderMap {
    let signature = Signer::new(TOKEN, Algorithm::HmacSha1)
        .unwrap()
        .sign_form("http://a.com/sms", [("Body", "Hi")]);
    let mut headers = http::HeaderMap::new();
    headers.insert("host", "a.com".parse().unwrap());
    headers.insert("content-type", FORM.parse().unwrap());
    headers.insert("x-twilio-signature", signature.parse().unwrap());
    for (name, value) in extra {
        let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        headers.append(name, value.parse().unwrap());
    }
    headers
}

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(RequestValidator::new(TOKEN)).body_limit(16)
}

/// The sequence's outcome: the refusal's code, or `verified`/`refused:<code>` with the body read.
fn run(
    verifier: &WebhookVerifier,
    method: &http::Method,
    headers: &http::HeaderMap,
    mut body: Chunks,
) -> String {
    let request = Incoming::new(method, "/sms", headers);
    match block_on(verifier.read_and_verify(&request, &mut body)) {
        Err(rejection) => rejection.code().to_string(),
        Ok(Checked { body, verdict }) => {
            let body = body.map_or("unread".to_string(), |b| {
                String::from_utf8_lossy(&b).into_owned()
            });
            match verdict {
                Ok(delivery) => {
                    block_on(delivery.finish(StatusCode::OK));
                    format!("verified {body}")
                }
                Err(rejection) => format!("refused:{} {body}", rejection.code()),
            }
        }
    }
}

#[test]
fn the_body_is_read_in_any_chunks_and_verified() {
    let post = http::Method::POST;
    let declared = headers(&[("content-length", "7")]);
    for chunks in [&[&b"Body=Hi"[..]][..], &[b"Bo", b"dy=", b"", b"Hi"]] {
        assert_eq!(
            run(&verifier(), &post, &declared, Chunks::of(chunks)),
            "verified Body=Hi"
        );
    }
    // Chunked: nothing declared, nothing to compare.
    let chunked = headers(&[("transfer-encoding", "chunked")]);
    assert_eq!(
        run(&verifier(), &post, &chunked, Chunks::of(&[b"Body=Hi"])),
        "verified Body=Hi"
    );
    // A wrong signature still comes with its body (report-only mode passes it on).
    assert_eq!(
        run(&verifier(), &post, &declared, Chunks::of(&[b"Body=Ho"])),
        "refused:signature_mismatch Body=Ho"
    );
}

#[test]
fn a_body_whose_length_differs_from_its_declared_one_is_refused() {
    let post = http::Method::POST;
    for (declared, body) in [("9", &b"Body=Hi"[..]), ("5", b"Body=Hi"), ("7", b"Body=")] {
        let headers = headers(&[("content-length", declared)]);
        assert_eq!(
            run(&verifier(), &post, &headers, Chunks::of(&[body])),
            "body_length_mismatch",
            "{declared} declared"
        );
    }
    let rejection = WebhookRejection::new(Refusal::BodyLengthMismatch, Vec::new());
    assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
    // Two lengths that disagree are no length at all: refused, never verified on either reading.
    let two = headers(&[("content-length", "7"), ("content-length", "8")]);
    assert_eq!(
        run(&verifier(), &post, &two, Chunks::of(&[b"Body=Hi"])),
        "bad_content_length"
    );
}

#[test]
fn a_body_another_extractor_took_is_never_verified_on_what_is_left() {
    let post = http::Method::POST;
    let taken = |source| Chunks(source, VecDeque::new());
    for declared in [
        &[("content-length", "7")][..],
        &[("transfer-encoding", "chunked")],
    ] {
        let headers = headers(declared);
        assert_eq!(
            run(&verifier(), &post, &headers, taken(BodySource::NoStream)),
            "body_taken",
            "{declared:?}"
        );
    }
    // A length that is not a number is refused before the body is looked at.
    assert_eq!(
        run(
            &verifier(),
            &post,
            &headers(&[("content-length", "x")]),
            taken(BodySource::NoStream)
        ),
        "bad_content_length"
    );
    // No body declared: no stream is an empty body, verified as such (the signature covers none).
    for declared in [&[][..], &[("content-length", "0")]] {
        let headers = headers(declared);
        assert_eq!(
            run(&verifier(), &post, &headers, taken(BodySource::NoStream)),
            "refused:signature_mismatch ",
            "{declared:?}"
        );
    }
    // Taken for certain: refused whatever is declared.
    assert_eq!(
        run(&verifier(), &post, &headers(&[]), taken(BodySource::Taken)),
        "body_taken"
    );
    let rejection = WebhookRejection::new(Refusal::BodyTaken, Vec::new());
    assert_eq!(rejection.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(rejection.to_string().contains("another extractor"));
}

#[test]
fn limits_failures_and_handshakes() {
    let post = http::Method::POST;
    let none = headers(&[]);
    assert_eq!(
        run(&verifier(), &post, &none, Chunks::of(&[&[b'a'; 16]])),
        // Read whole, then refused: a form of one bare name is never Twilio's.
        "refused:ambiguous_form aaaaaaaaaaaaaaaa"
    );
    for chunks in [&[&[b'a'; 17][..]][..], &[&[b'a'; 8], &[b'a'; 9]]] {
        assert_eq!(
            run(&verifier(), &post, &none, Chunks::of(chunks)),
            "body_too_large"
        );
    }
    let declared = headers(&[("content-length", "17")]);
    assert_eq!(
        run(&verifier(), &post, &declared, Chunks::of(&[])),
        "body_too_large",
        "refused before reading"
    );
    for (error, code) in [
        (BodyError::Unreadable, "body_unreadable"),
        (BodyError::TimedOut, "client_timeout"),
    ] {
        let failing = Chunks(BodySource::Stream, [Ok(b"Bo".to_vec()), Err(error)].into());
        assert_eq!(run(&verifier(), &post, &none, failing), code);
    }
    // A real handshake: its body is never read, whatever the reader holds.
    let handshake = headers(&[("upgrade", "websocket"), ("connection", "upgrade")]);
    let get = http::Method::GET;
    assert_eq!(
        run(&verifier(), &get, &handshake, Chunks::of(&[b"Body=evil"])),
        "refused:signature_mismatch unread"
    );
    assert_eq!(
        run(&verifier(), &post, &handshake, Chunks::of(&[b"Body=Hi"])),
        "upgrade_not_handshake"
    );
}

/// What a delivery leaves in the replay store: its key released or kept, its answer kept.
mod deliveries;

/// Bodies passed or read by the host, and the framing headers that say where a body ends.
mod framing;

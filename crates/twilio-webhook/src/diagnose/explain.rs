//! `explain`: the strict verdict of a request, then, if it was rejected, the diagnosis; and its JSON
//! document, the contract `twilio-webhook explain --json` and the JavaScript package's `explain()` share:
//! `{"valid", "reason", "matched_url", "causes": [{"code", "signed_url", "fix"}]}`.

use core::fmt::Write as _;

use super::{Cause, CauseCode, Diagnosis, Payload, Suspect, fix};
use crate::headers::SignatureHeaders;
use crate::validator::RequestValidator;
use crate::verdict::{Rejection, Verified};

/// The verdict of a request and, when it was rejected, why: what [`RequestValidator::explain`]
/// answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    verdict: Result<Verified, Rejection>,
    matched_url: Option<String>,
    string_to_sign: Option<String>,
    causes: Vec<Cause>,
    diagnosis: Option<Diagnosis>,
}

impl Explanation {
    /// The strict verdict (spec §4: nothing the diagnosis tried counts).
    pub fn verdict(&self) -> &Result<Verified, Rejection> {
        &self.verdict
    }

    /// The URL the signature covers: the one matched when valid, the one found when rejected.
    pub fn signed_url(&self) -> Option<&str> {
        self.matched_url
            .as_deref()
            .or_else(|| self.diagnosis.as_ref().and_then(Diagnosis::signed_url))
    }

    /// The exact string the signature covers (it holds no secret), when known.
    pub fn string_to_sign(&self) -> Option<&str> {
        self.string_to_sign
            .as_deref()
            .or_else(|| self.diagnosis.as_ref().and_then(Diagnosis::string_to_sign))
    }

    /// The causes: the differences found and their fixes, the likely reasons when nothing matched, or,
    /// for a valid request, a fragment that had to be cut off.
    pub fn causes(&self) -> &[Cause] {
        &self.causes
    }

    /// The diagnosis of a rejected request.
    pub fn diagnosis(&self) -> Option<&Diagnosis> {
        self.diagnosis.as_ref()
    }

    /// The JSON document: `{"valid", "reason", "matched_url", "causes": [{"code", "signed_url",
    /// "fix"}]}`, fields in that order, `null` where absent. A contract: `explain --json` prints it.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"valid\":");
        out.push_str(if self.verdict.is_ok() {
            "true"
        } else {
            "false"
        });
        out.push_str(",\"reason\":");
        json_opt(&mut out, self.verdict.as_ref().err().map(|r| r.as_str()));
        out.push_str(",\"matched_url\":");
        json_opt(&mut out, self.matched_url.as_deref());
        out.push_str(",\"causes\":[");
        for (i, cause) in self.causes.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"code\":");
            json_str(&mut out, cause.code.as_str());
            out.push_str(",\"signed_url\":");
            json_opt(&mut out, cause.signed_url.as_deref());
            out.push_str(",\"fix\":");
            json_str(&mut out, &cause.fix);
            out.push('}');
        }
        out.push_str("]}");
        out
    }
}

#[cfg(test)]
impl Explanation {
    /// An explanation with these causes, for tests of the document.
    pub(crate) fn for_test(causes: Vec<Cause>) -> Self {
        Explanation {
            verdict: Err(Rejection::SignatureMismatch),
            matched_url: None,
            string_to_sign: None,
            causes,
            diagnosis: None,
        }
    }
}

/// A JSON string: quoted, with `"`, `\` and control characters escaped.
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_opt(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.push_str("null"),
    }
}

impl RequestValidator {
    /// Verifies the request strictly, through the entry point its payload calls for (decoded
    /// parameters, a raw form body, or a non-form body), and diagnoses it if it was rejected.
    ///
    /// ```
    /// use twilio_webhook::{Payload, RequestValidator, Suspect};
    ///
    /// let validator = RequestValidator::new("12345");
    /// let signature = validator.compute_signature("https://example.com/sms", [("Body", "Hi")]);
    /// let body = b"Body=Hi";
    /// let explained = validator.explain(&Suspect::new("http://example.com/sms", Payload::FormBody(body), &signature));
    /// assert!(explained.verdict().is_err());
    /// assert_eq!(explained.signed_url(), Some("https://example.com/sms"));
    /// assert!(explained.to_json().starts_with(r#"{"valid":false,"reason":"signature_mismatch","matched_url":null,"causes":[{"code":"scheme""#));
    /// ```
    pub fn explain(&self, suspect: &Suspect<'_>) -> Explanation {
        let headers = SignatureHeaders::new(suspect.signature).with_settings(suspect.settings);
        let url = suspect.url;
        let verdict = match suspect.payload {
            Payload::Params(pairs) => self.verify_form(url, pairs, headers),
            Payload::FormBody(body) => self.verify_form_body(url, body, headers),
            Payload::Body(body) => self.verify_body(url, body, headers),
        };
        match &verdict {
            Ok(verified) => {
                let matched = verified.matched_url(url);
                let suffix = match suspect.payload {
                    Payload::Params(pairs) => super::modes::joined_params(pairs),
                    Payload::FormBody(body) if !crate::url::carries_body_hash(url) => {
                        super::modes::joined_form(body).unwrap_or_default()
                    }
                    _ => Vec::new(),
                };
                // A valid request may still have needed its fragment cut off: it explains why the
                // signed URL differs from the one checked.
                let causes = verified
                    .fragment_removed()
                    .then(|| Cause {
                        code: CauseCode::Fragment,
                        signed_url: Some(matched.clone()),
                        fix: fix::fragment(),
                        action: String::new(),
                    })
                    .into_iter()
                    .collect();
                Explanation {
                    string_to_sign: Some(format!("{matched}{}", String::from_utf8_lossy(&suffix))),
                    matched_url: Some(matched),
                    verdict,
                    causes,
                    diagnosis: None,
                }
            }
            Err(_) => {
                let diagnosis = self.diagnose(suspect);
                Explanation {
                    verdict,
                    matched_url: None,
                    string_to_sign: None,
                    causes: diagnosis.causes().to_vec(),
                    diagnosis: Some(diagnosis),
                }
            }
        }
    }
}

//! The benchmark's cases: lines of the conformance corpus, grouped, with each contestant's prepared input.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use twilio_webhook::{RequestValidator, SignatureHeaders};

/// The three workloads of the comparison.
pub const GROUPS: [&str; 3] = ["form_valid", "json_valid", "form_rejected"];

/// One corpus line (only the fields the benchmark reads).
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub id: String,
    pub kind: String,
    pub url: String,
    pub params: Vec<(String, String)>,
    pub body: Option<String>,
    pub signature: Option<String>,
    pub auth_token: String,
    pub expected: bool,
    pub signed_url: Option<String>,
}

impl Case {
    /// The URL a floor hashes: a valid case is signed over `signed_url`, a rejected one is checked over
    /// the URL as received.
    fn hashed_url(&self) -> &str {
        self.signed_url
            .as_deref()
            .filter(|_| self.expected)
            .unwrap_or(&self.url)
    }

    /// The workload this case belongs to, if any.
    pub fn group(&self) -> Option<&'static str> {
        match (self.kind.as_str(), self.expected) {
            ("form", true) => Some("form_valid"),
            ("json", true) => Some("json_valid"),
            ("form", false) => Some("form_rejected"),
            _ => None,
        }
    }
}

/// Reads a JSON Lines corpus.
pub fn load(path: &Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// The validators of a run, one per Auth Token, built beforehand and shared by every case signed with
/// that token, as an application builds one validator rather than one per request.
#[derive(Default)]
pub struct Validators(HashMap<String, RequestValidator>);

impl Validators {
    fn get(&mut self, token: &str) -> RequestValidator {
        self.0
            .entry(token.to_string())
            .or_insert_with(|| RequestValidator::new(token))
            .clone()
    }
}

/// This library's input for one case: the request as a server holds it once parsed (URL, decoded
/// parameters or raw body, signature header), and the validator for its token.
pub struct Ours {
    validator: RequestValidator,
    url: String,
    params: Vec<(String, String)>,
    json_body: Option<String>,
    signature: Option<String>,
}

impl Ours {
    pub fn new(case: &Case, validators: &mut Validators) -> Self {
        Ours {
            validator: validators.get(&case.auth_token),
            url: case.url.clone(),
            params: case.params.clone(),
            json_body: case.body.clone().filter(|_| case.kind == "json"),
            signature: case.signature.clone(),
        }
    }

    /// Validates the case; `true` when valid.
    pub fn run(&self) -> bool {
        let headers = SignatureHeaders {
            signature: self.signature.as_deref(),
            settings: None,
        };
        match &self.json_body {
            Some(body) => self
                .validator
                .verify_body(&self.url, body.as_bytes(), headers)
                .is_ok(),
            None => self
                .validator
                .verify_form(&self.url, &self.params, headers)
                .is_ok(),
        }
    }
}

/// The floor for one case: what any correct validator must compute, with everything else done
/// beforehand. A pre-keyed HMAC-SHA1 and base64 over the string to sign, plus, for a JSON case, the
/// SHA-256 of its body (the same floor as the scaling chart's).
pub struct Floor {
    keyed: Hmac<Sha1>,
    string_to_sign: Vec<u8>,
    body: Option<Vec<u8>>,
}

/// The floor plus reading the parameters from where the caller keeps them: each key and value, in the
/// order given, copied from the case's own `Vec<(String, String)>` (two heap strings per parameter, as
/// [`Ours`] holds them) into one reused buffer, then the floor's HMAC over the URL and that buffer. Not
/// a validator (nothing is sorted, so only the order of the bytes differs from the floor's): it shows
/// what reading this representation costs before any of a validator's own work.
pub struct Gathered {
    keyed: Hmac<Sha1>,
    url: String,
    params: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

thread_local! {
    /// The buffer [`Gathered`] copies into: cleared, never zeroed or reallocated once large enough.
    static GATHER_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Gathered {
    pub fn new(case: &Case) -> Self {
        Gathered {
            keyed: keyed(&case.auth_token),
            url: case.hashed_url().to_string(),
            params: case.params.clone(),
            body: case
                .body
                .clone()
                .filter(|_| case.kind == "json")
                .map(String::into_bytes),
        }
    }

    /// As [`Floor::run`], reading the parameters from their strings first.
    pub fn run(&self) -> usize {
        floor_work(&self.keyed, self.body.as_deref(), |mac| {
            mac.update(self.url.as_bytes());
            GATHER_BUFFER.with_borrow_mut(|buffer| {
                buffer.clear();
                for (k, v) in &self.params {
                    buffer.extend_from_slice(k.as_bytes());
                    buffer.extend_from_slice(v.as_bytes());
                }
                mac.update(buffer);
            });
        })
    }
}

fn keyed(token: &str) -> Hmac<Sha1> {
    Hmac::<Sha1>::new_from_slice(token.as_bytes()).unwrap_or_else(|_| unreachable!())
}

/// The work of a floor: SHA-256 of the body (JSON only), one HMAC of what `feed` gives it, base64;
/// returns a length so the work cannot be optimised away.
fn floor_work(
    keyed: &Hmac<Sha1>,
    body: Option<&[u8]>,
    feed: impl FnOnce(&mut Hmac<Sha1>),
) -> usize {
    let digest = body.map_or(0, |body| usize::from(Sha256::digest(body)[0]));
    let mut mac = keyed.clone();
    feed(&mut mac);
    base64::engine::general_purpose::STANDARD
        .encode(mac.finalize().into_bytes())
        .len()
        + digest
}

/// `P` of spec §2 written plainly: distinct pairs sorted by key then value bytes, concatenated.
pub fn params_string(params: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> = params.iter().collect();
    pairs.sort();
    pairs.dedup();
    pairs
        .iter()
        .flat_map(|(k, v)| [k.as_str(), v.as_str()])
        .collect()
}

impl Floor {
    pub fn new(case: &Case) -> Self {
        let url = case.hashed_url();
        if case.kind == "json" {
            let mut floor = Floor::from_parts(&case.auth_token, url, "");
            floor.body = Some(case.body.clone().unwrap_or_default().into_bytes());
            floor
        } else {
            Floor::from_parts(&case.auth_token, url, &params_string(&case.params))
        }
    }

    pub fn from_parts(token: &str, url: &str, p: &str) -> Self {
        Floor {
            keyed: keyed(token),
            string_to_sign: format!("{url}{p}").into_bytes(),
            body: None,
        }
    }

    /// SHA-256 of the body (JSON only), one HMAC + base64 (see [`floor_work`]).
    pub fn run(&self) -> usize {
        floor_work(&self.keyed, self.body.as_deref(), |mac| {
            mac.update(&self.string_to_sign)
        })
    }
}

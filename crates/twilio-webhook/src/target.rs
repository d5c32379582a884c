//! The request target (feature `http`): which path a request was sent to, and whether a path rule
//! exempts it from verification. Decided here once, for every adapter, the guard and the bindings,
//! because each fail-open bug found so far was such a decision taken in an adapter.
//!
//! - A request target is used in **origin form** (`/sms?x=1`) exactly as received. An **absolute-form**
//!   target (`http://host/sms?x=1`, which any client may send and some servers pass on whole, such as
//!   werkzeug's `RAW_URI`) is reduced to its path and query, which is what servers route on. Any other
//!   form (`*`, `host:443`, a relative path) and any target with a fragment is refused: no HTTP request
//!   carries one (RFC 9112), so spec §4.4's cut never applies to what a client sends.
//! - [`PathRules`] decide which paths are verified (the guard's `--pass` / `--require`, the Python
//!   middleware's `paths`). Prefixes match on segment boundaries, on the percent-decoded path, and a
//!   path a server could resolve to another one (dot segments, encoded dots, slashes or backslashes,
//!   empty segments) is refused whenever a rule depends on it: such a path is never passed unverified.

use std::borrow::Cow;

use core::fmt;

/// Why a request target was refused (answered `400`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetError {
    /// Neither origin form (`/path?query`) nor absolute form (`scheme://host/path?query`), or it
    /// carries a fragment.
    Form,
    /// The path is not in normal form: a dot segment (`/a/../b`, `/a/%2e%2e/b`), an encoded slash or
    /// backslash (`%2F`, `%5C`), a backslash, a double-encoded one of these, an empty segment
    /// (`/a//b`) or a control character. A server or proxy behind could resolve it to another path.
    NotNormal,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetError::Form => "the request target is not a path (origin or absolute form)",
            TargetError::NotNormal => {
                "the request path has dot segments, encoded slashes or empty segments"
            }
        })
    }
}

impl std::error::Error for TargetError {}

/// The path and query a request was sent to: an origin-form target as is; the path and query of an
/// absolute-form one (`/` when its path is empty). Anything else, or a fragment, is refused.
///
/// ```
/// use twilio_webhook::{TargetError, origin_form};
///
/// assert_eq!(origin_form("/sms?x=1").as_deref(), Ok("/sms?x=1"));
/// assert_eq!(origin_form("http://hooks.example.com/admin?x=1").as_deref(), Ok("/admin?x=1"));
/// assert_eq!(origin_form("https://hooks.example.com?x=1").as_deref(), Ok("/?x=1"));
/// assert_eq!(origin_form("*"), Err(TargetError::Form));
/// assert_eq!(origin_form("/sms#rc=2"), Err(TargetError::Form));
/// ```
pub fn origin_form(target: &str) -> Result<Cow<'_, str>, TargetError> {
    if target.contains('#') {
        return Err(TargetError::Form);
    }
    if target.starts_with('/') {
        return Ok(Cow::Borrowed(target));
    }
    let (scheme, rest) = target.split_once("://").ok_or(TargetError::Form)?;
    let mut chars = scheme.chars();
    let is_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    let path_start = rest.find(['/', '?']).unwrap_or(rest.len());
    if !is_scheme || path_start == 0 {
        return Err(TargetError::Form);
    }
    let path = rest.get(path_start..).unwrap_or_default();
    Ok(if path.starts_with('/') {
        Cow::Borrowed(path)
    } else {
        Cow::Owned(format!("/{path}"))
    })
}

/// The path of an origin-form target, percent-decoded, if it is in normal form (see
/// [`TargetError::NotNormal`]). The path decoded twice must be in normal form too: a server that
/// decodes again would see what an escape encoded twice (`%252e%252e`) hides.
fn normal_path(origin: &str) -> Result<Vec<u8>, TargetError> {
    let raw = origin.split('?').next().unwrap_or_default().as_bytes();
    let slashes = raw.iter().filter(|&&b| b == b'/').count();
    let decoded = percent_decode(raw);
    check_normal(&decoded, slashes)?;
    check_normal(&percent_decode(&decoded), slashes)?;
    Ok(decoded)
}

/// A decoded path (of a target in origin form, or a prefix: both start with `/`) is in normal form: as
/// many slashes as the raw path (none was encoded), no backslash or control character, no dot segment
/// (also as Tomcat reads one with a parameter, `..;x`) and no empty segment but the last (a trailing
/// slash).
fn check_normal(path: &[u8], raw_slashes: usize) -> Result<(), TargetError> {
    let bad_byte = |b: &u8| *b == b'\\' || b.is_ascii_control();
    if path.iter().filter(|&&b| b == b'/').count() != raw_slashes || path.iter().any(bad_byte) {
        return Err(TargetError::NotNormal);
    }
    let segments: Vec<&[u8]> = path.split(|&b| b == b'/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        let name = segment.split(|&b| b == b';').next().unwrap_or_default();
        if name == b"." || name == b".." || (segment.is_empty() && i != last) {
            return Err(TargetError::NotNormal);
        }
    }
    Ok(())
}

/// `%XX` escapes decoded to bytes; anything else, invalid escapes included, kept as is.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => crate::form::hex_value(h)
                .zip(crate::form::hex_value(l))
                .map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// What a path rule decides for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathDecision {
    /// The request must be verified.
    Verify,
    /// The request is exempt: it reaches the application unverified.
    Pass,
}

/// A path prefix, percent-decoded, without a trailing slash (`/` stays `/`).
#[derive(Clone, PartialEq, Eq)]
struct Prefix(Vec<u8>);

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

impl Prefix {
    fn parse(prefix: &str) -> Result<Prefix, TargetError> {
        let prefix = prefix.trim();
        if !prefix.starts_with('/') || prefix.contains(['?', '#']) {
            return Err(TargetError::Form);
        }
        let mut path = normal_path(prefix)?;
        while path.len() > 1 && path.last() == Some(&b'/') {
            path.pop();
        }
        Ok(Prefix(path))
    }

    /// Whether `path` is this prefix or below it, on a segment boundary; `fold_case` compares ASCII
    /// letters case-insensitively.
    fn covers(&self, path: &[u8], fold_case: bool) -> bool {
        let prefix = self.0.as_slice();
        if prefix == b"/" {
            return true;
        }
        let Some(head) = path.get(..prefix.len()) else {
            return false;
        };
        let same = if fold_case {
            head.eq_ignore_ascii_case(prefix)
        } else {
            head == prefix
        };
        same && matches!(path.get(prefix.len()), None | Some(b'/'))
    }
}

/// Which requests must be verified, by path prefix: by default every one; [`pass`](Self::pass)
/// exempts a prefix, and a [`require`](Self::require) prefix at least as long wins over it.
///
/// - Prefixes match whole segments: `/health` covers `/health` and `/health/live`, never
///   `/healthcheck`.
/// - The path is matched percent-decoded (`/%68ealth` is `/health`), and `require` prefixes ignore
///   ASCII case (`/TWILIO/sms` is verified under `--require /twilio`, in case the app's routes ignore
///   case). In both, an ambiguity is decided toward verification.
/// - Once any prefix is configured, a path that is not in normal form ([`TargetError::NotNormal`]) is
///   refused, because a server behind could resolve `/health/../sms` to `/sms`. With no prefix every
///   request is verified and the path decides nothing.
///
/// ```
/// use twilio_webhook::{PathDecision, PathRules, TargetError};
///
/// let rules = PathRules::new().pass("/health")?.require("/health/twilio")?;
/// assert_eq!(rules.decide("/health"), Ok(PathDecision::Pass));
/// assert_eq!(rules.decide("/health/twilio/sms"), Ok(PathDecision::Verify));
/// assert_eq!(rules.decide("/healthcheck"), Ok(PathDecision::Verify));
/// assert_eq!(rules.decide("/health/../sms"), Err(TargetError::NotNormal));
/// assert_eq!(rules.decide("/health/%2e%2e/sms"), Err(TargetError::NotNormal));
/// # Ok::<(), TargetError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathRules {
    pass: Vec<Prefix>,
    require: Vec<Prefix>,
}

impl PathRules {
    /// Every request is verified.
    pub fn new() -> Self {
        PathRules::default()
    }

    /// Only requests under `prefixes` are verified; every other one passes (the Python middleware's
    /// `paths`).
    pub fn only<I: IntoIterator<Item = S>, S: AsRef<str>>(
        prefixes: I,
    ) -> Result<Self, TargetError> {
        prefixes
            .into_iter()
            .try_fold(PathRules::new().pass("/")?, |rules, p| {
                rules.require(p.as_ref())
            })
    }

    /// Exempts requests under `prefix` from verification (a health check, static files). A prefix
    /// must be a path in normal form.
    pub fn pass(mut self, prefix: &str) -> Result<Self, TargetError> {
        self.pass.push(Prefix::parse(prefix)?);
        Ok(self)
    }

    /// Requires verification under `prefix`, also inside a shorter [`pass`](Self::pass) prefix.
    pub fn require(mut self, prefix: &str) -> Result<Self, TargetError> {
        self.require.push(Prefix::parse(prefix)?);
        Ok(self)
    }

    /// Whether every request is verified (no prefix exempts anything).
    pub fn verifies_everything(&self) -> bool {
        self.pass.is_empty()
    }

    /// What to do with a request to `target` (origin or absolute form, as received): the longest
    /// matching prefix decides, a `require` one on a tie; by default, verify.
    pub fn decide(&self, target: &str) -> Result<PathDecision, TargetError> {
        if self.verifies_everything() {
            return Ok(PathDecision::Verify);
        }
        let path = normal_path(&origin_form(target)?)?;
        let longest = |prefixes: &[Prefix], fold_case: bool| {
            prefixes
                .iter()
                .filter(|p| p.covers(&path, fold_case))
                .map(|p| p.0.len())
                .max()
        };
        Ok(
            match (longest(&self.pass, false), longest(&self.require, true)) {
                (Some(pass), Some(require)) if pass > require => PathDecision::Pass,
                (Some(_), None) => PathDecision::Pass,
                _ => PathDecision::Verify,
            },
        )
    }
}

#[cfg(test)]
mod tests;

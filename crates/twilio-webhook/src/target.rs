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
//!   middleware's `paths`, the wasm binding). Prefixes match on segment boundaries, on the
//!   percent-decoded path, under every reading a common server (Tomcat, Jetty, Spring, IIS, PHP, Node,
//!   Python, Go) could give it: a path is exempt only if it is exempt under every one, and protected
//!   if it is protected under any one. A path no reading makes safe (dot segments in any encoding,
//!   encoded slashes, backslashes, NUL, `%u` escapes, overlong UTF-8, empty segments) is refused
//!   whenever a rule depends on it: such a path is never passed unverified.

use std::borrow::Cow;

use core::fmt;

mod query;
mod reading;

/// Why a request target was refused (answered `400`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetError {
    /// Neither origin form (`/path?query`) nor absolute form (`scheme://host/path?query`), or it
    /// carries a fragment.
    Form,
    /// The path is not in normal form: a server or proxy behind could resolve it to another path.
    /// That is a dot segment under any reading (`/a/../b`, `/a/%2e%2e/b`, `..;x`, `..::$DATA`,
    /// `%c0%ae%c0%ae`, `．．`, `. .`), an encoded slash or backslash (`%2F`, `%5C`), a backslash, a
    /// double-encoded one of these, an empty segment (`/a//b`, `/;x/b`, `/:x/b`), a control character
    /// (NUL included), an invalid or `%u` escape, a `?` or `#` made by decoding, or bytes that are
    /// not UTF-8 once decoded. Also a [`pass`](PathRules::pass) prefix with a segment shaped like a
    /// Windows 8.3 short name.
    NotNormal,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetError::Form => "the request target is not a path (origin or absolute form)",
            TargetError::NotNormal => {
                "the request path has dot segments, encoded slashes, empty segments or another \
                 spelling a server could resolve to a different path"
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

/// The longest path (before its query), and the longest query, that [`PathRules`] read, in bytes: a
/// request with a longer one is verified, never exempt. Reading a path costs time linear in it (a 60 KB one cost the guard 11 ms of CPU,
/// issue 28), and IIS refuses a longer URL by default (Apache, nginx and Tomcat a request line over
/// 8 KiB).
pub const MAX_RULED_PATH: usize = 4 * 1024;

/// The most segments (`/` characters) in a path that [`PathRules`] read: a path with more is
/// verified, never exempt. Each segment's readings are worked out, which costs more than its bytes.
pub const MAX_RULED_SEGMENTS: usize = 64;

/// What a path rule decides for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathDecision {
    /// The request must be verified.
    Verify,
    /// The request is exempt: it reaches the application unverified.
    Pass,
}

/// A path prefix, percent-decoded, as segments, without a trailing slash (`/` has none): each
/// segment's name, and its name folded for protection (see [`reading::fold`]).
#[derive(Clone, PartialEq, Eq)]
struct Prefix {
    names: Vec<String>,
    folded: Vec<String>,
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", format!("/{}", self.names.join("/")))
    }
}

impl Prefix {
    /// A prefix must be a path in normal form that every server reads the same way.
    fn parse(prefix: &str) -> Result<Prefix, TargetError> {
        let prefix = prefix.trim();
        if !prefix.starts_with('/') || prefix.contains(['?', '#']) {
            return Err(TargetError::Form);
        }
        let mut names = Vec::new();
        for segment in reading::segments(prefix)?.ok_or(TargetError::NotNormal)? {
            let name = segment.only_name().ok_or(TargetError::NotNormal)?;
            names.push(name.to_owned());
        }
        if names.last().is_some_and(String::is_empty) {
            names.pop();
        }
        let folded = names
            .iter()
            .map(|n| reading::fold(n))
            .collect::<Result<_, _>>()?;
        Ok(Prefix { names, folded })
    }

    /// Whether this prefix covers `path` under every reading of it, on segment boundaries: each
    /// reading of each of its segments is the prefix's, in the same case.
    fn exempts(&self, path: &[&reading::Segment]) -> bool {
        path.len() >= self.names.len()
            && self
                .names
                .iter()
                .zip(path)
                .all(|(name, segment)| segment.is_only(name))
    }

    /// Whether this prefix covers `path` under some reading of it, case folded: some reading of
    /// each of its segments is the prefix's, or a short name it may have; its last segment may be
    /// followed by more characters (`/twilio` protects `/twiliox` and `/twilio-admin`), as routers
    /// that match a prefix as a string read it.
    fn protects(&self, path: &[&reading::Segment]) -> bool {
        let last = self.folded.len().saturating_sub(1);
        path.len() >= self.folded.len()
            && self
                .folded
                .iter()
                .zip(path)
                .enumerate()
                .all(|(i, (name, segment))| {
                    if i == last {
                        segment.may_start_with(name)
                    } else {
                        segment.may_be(name)
                    }
                })
    }
}

/// Which requests must be verified, by path prefix: by default every one; [`pass`](Self::pass)
/// exempts a prefix, and a [`require`](Self::require) prefix at least as long wins over it.
///
/// - A `pass` prefix matches whole segments: `/health` exempts `/health` and `/health/live`, never
///   `/healthcheck`. A `require` prefix also protects its last segment followed by more characters
///   (`/twilio` protects `/twiliox` and `/twilio-admin`): routers that match a prefix as a string
///   (the JDK's `HttpServer` contexts, nginx `location /twilio`, Apache `ProxyPass /twilio`) serve
///   those under it.
/// - The path is matched percent-decoded (`/%68ealth` is `/health`), under every reading a common
///   server could give it ([`TargetError::NotNormal`] lists what none can): decoded once or twice,
///   with `;…` path parameters dropped from each segment (Tomcat, Jetty, Spring), with trailing dots
///   and spaces dropped (Windows, IIS), without the white space around it or invisible characters
///   in it, cut at a `:` (NTFS alternate data streams, `/twilio::$INDEX_ALLOCATION/sms`), and a segment shaped like a Windows 8.3 short name
///   (`/TWILIO~1/sms`) as any name it may be short for. A `pass` prefix exempts a path only if it
///   covers every reading, in the same case; a `require` prefix protects it if it covers any reading,
///   ignoring case (`/TWILIO/sms`, `/tw%C4%B1lio/sms`, fullwidth letters) and an extension
///   (`/twilio.json`, for Spring's suffix patterns). The path is also read as the rest after a
///   segment with a `.` (`/index.php/twilio/sms` as `/twilio/sms`, PHP and ASP.NET path info, CGI)
///   and without ASP.NET cookieless segments (`/(S(abc))/twilio/sms`): a `require` prefix protects
///   those readings too, and the rest after a script (`.php`, `.aspx`, `.cgi`…) must be exempt as
///   well. So `/twilio;jsessionid=1/sms`, `/twilio./sms`, `/twilio%20/sms`, `/twilio::$DATA`,
///   `/index.php/twilio/sms`, `/(S(abc))/twilio/sms` and, under `--require /twilio-hooks`,
///   `/TWILIO~1/sms` are verified, and an ambiguity is always decided toward verification.
/// - A path in the query is read as another path the request may be routed as, since some
///   applications route on it: WordPress serves `/?rest_route=/twilio/sms` as `/wp-json/twilio/sms`,
///   PHP front controllers `/index.php?/twilio/sms` as `/twilio/sms`. Each key and value that,
///   decoded once or twice, starts with `/` or `\` must be exempt too (cut at its own `?`, whose
///   query is read the same way), or the request is verified: under `--pass / --require /twilio`,
///   `/login?next=/dashboard` passes and `/?rest_route=/twilio/sms` is verified. And since a router may
///   read a route without a leading `/` from any parameter (Yii's `?r=twilio/sms`, Drupal 7's
///   `?q=twilio/sms`, CodeIgniter's `?twilio/sms`), the last name of a `require` prefix anywhere in
///   the decoded query, in any case, makes the request verified (`/search?q=Twilio` too).
/// - A path or a query longer than [`MAX_RULED_PATH`] bytes (4 KiB each) or with more than
///   [`MAX_RULED_SEGMENTS`] segments (64) is verified without being read, so the rules cost each
///   request a bounded time: no prefix exempts it, and what would be refused is verified instead.
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
///
/// let rules = PathRules::new().pass("/")?.require("/twilio")?;
/// assert_eq!(rules.decide("/static/app.css"), Ok(PathDecision::Pass));
/// assert_eq!(rules.decide("/twilio;jsessionid=1/sms"), Ok(PathDecision::Verify));
/// assert_eq!(rules.decide("/twilio./sms"), Ok(PathDecision::Verify));
/// assert_eq!(rules.decide("/index.php/twilio/sms"), Ok(PathDecision::Verify));
/// assert_eq!(rules.decide("/(S(abc))/twilio/sms"), Ok(PathDecision::Verify));
/// assert_eq!(rules.decide("/?rest_route=/twilio/sms"), Ok(PathDecision::Verify));
/// assert_eq!(rules.decide("/login?next=/dashboard"), Ok(PathDecision::Pass));
/// assert_eq!(rules.decide("/static/%u002e%u002e/twilio"), Err(TargetError::NotNormal));
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
    /// must be a path in normal form that every server reads alike (no `;` parameter, no `:`, no
    /// trailing dot or space in a segment), and a `pass` prefix has no segment shaped like a Windows
    /// 8.3 short name (`NAME~1`), which names whatever directory has that short name.
    pub fn pass(mut self, prefix: &str) -> Result<Self, TargetError> {
        let prefix = Prefix::parse(prefix)?;
        let short = |name: &String| reading::short_name_prefix(name).is_some();
        if prefix.folded.iter().any(short) {
            return Err(TargetError::NotNormal);
        }
        self.pass.push(prefix);
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
        let origin = origin_form(target)?;
        // Past the caps the path is not read: verified, whatever it is.
        let path = origin.split('?').next().unwrap_or_default();
        let slashes = path.bytes().filter(|&b| b == b'/').count();
        if path.len() > MAX_RULED_PATH || slashes > MAX_RULED_SEGMENTS {
            return Ok(PathDecision::Verify);
        }
        let Some(path) = reading::segments(&origin)? else {
            return Ok(PathDecision::Verify);
        };
        // The longest `pass` prefix that exempts `path`, and the longest `require` one that protects it.
        let longest = |path: &[&reading::Segment]| {
            let pass = self.pass.iter().filter(|p| p.exempts(path));
            let require = self.require.iter().filter(|p| p.protects(path));
            (
                pass.map(|p| p.names.len()).max(),
                require.map(|p| p.names.len()).max(),
            )
        };
        let sent: Vec<&reading::Segment> = path.iter().collect();
        let exempt = match longest(&sent) {
            (Some(pass), Some(require)) => pass > require,
            (pass, None) => pass.is_some(),
            (None, Some(_)) => false,
        };
        // Another path a server may route it as (path info, ASP.NET cookieless segments): verified if
        // a `require` prefix protects it, and if it is strict, unless a `pass` prefix exempts it.
        let rerouted_verified = |path: &[&reading::Segment], strict: bool| match longest(path) {
            (Some(pass), Some(require)) => pass <= require,
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (None, None) => strict,
        };
        if !exempt || reading::reroutes(&path, rerouted_verified) {
            return Ok(PathDecision::Verify);
        }
        // A path in the query (`?rest_route=/twilio/sms`) must be exempt too, or the request is
        // verified: strict, as some applications route on it (see `query`).
        let query = origin.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let Some(routes) = query::routes(query) else {
            return Ok(PathDecision::Verify);
        };
        // A route without a leading `/` (`?r=twilio/sms`) cannot be told from any other text: the
        // last name of a `require` prefix anywhere in the query makes the request verified.
        let names = self.require.iter().filter_map(|p| p.folded.last());
        if query::mentions(query, names.map(String::as_str)) {
            return Ok(PathDecision::Verify);
        }
        for route in routes {
            let Ok(Some(path)) = reading::segments(&route) else {
                return Ok(PathDecision::Verify);
            };
            let sent: Vec<&reading::Segment> = path.iter().collect();
            if rerouted_verified(&sent, true) || reading::reroutes(&path, rerouted_verified) {
                return Ok(PathDecision::Verify);
            }
        }
        Ok(PathDecision::Pass)
    }
}

#[cfg(test)]
mod tests;

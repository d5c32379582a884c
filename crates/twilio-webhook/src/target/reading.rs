//! Every way a common server reads a request path, segment by segment, for the path rules.
//!
//! A server behind an adapter or the guard may route a path other than as it was written. These are
//! the readings kept for each segment (between two `/` of the raw path):
//!
//! - percent-decoded once, and twice (a server or proxy that decodes again);
//! - with its `;…` parameters dropped (Tomcat, Jetty, Spring), whether the `;` was written or
//!   encoded;
//! - with trailing dots and spaces dropped (Windows and IIS), with the white space around it
//!   trimmed (any Unicode space) and its default-ignorable characters (`U+200B`, `U+FEFF`, `U+034F`…) dropped;
//! - cut at its first `:` (NTFS alternate data streams: on Windows and IIS `twilio::$INDEX_ALLOCATION`,
//!   `twilio:$i30:$INDEX_ALLOCATION` and `sms.php::$DATA` open `twilio` and `sms.php`);
//! - when it is shaped like a Windows 8.3 short name, `PREFIX~N` or `PREFIX~N.EXT`, as any name that
//!   starts with `PREFIX` (`TWILIO~1` may open `twilio-hooks`; see [`short_name_covers`]): a
//!   `require` prefix protects such a segment when its name could have that short name;
//! - folded: letters in any case, fullwidth forms as ASCII, and the few non-ASCII letters whose case
//!   mapping is ASCII (`ı`, `İ`, `ſ`, `K`), as a case-insensitive server or a "best fit" code page
//!   matches them; and with an extension dropped (Spring's suffix pattern matching).
//!
//! And the other paths a server may route the whole path as ([`reroutes`]):
//!
//! - after a segment with a `.` that more segments follow, the rest of the path on its own: PHP front
//!   controllers (Symfony, Laravel, any `script.php/PATH_INFO`), ASP.NET's `page.aspx/PATH_INFO` and
//!   CGI route `/index.php/twilio/sms` as `/twilio/sms`. A `require` prefix protects it whatever the
//!   extension; after a script extension (`.php`, `.aspx`, `.asmx`, `.cgi`, `.pl`, `.jsp`, see
//!   [`SCRIPT_EXTENSIONS`]) it must also be exempt for the path to be exempt, so `/static/v1.2/app.js`
//!   still passes under `--pass /static` and `/static/x.php/sms` does not;
//! - without its ASP.NET cookieless session segments (a segment `(…)`: `(S(abc))`, `(A(…))`,
//!   `(F(…))`, several in one), which ASP.NET drops before routing: `/(S(abc))/twilio/sms` is
//!   routed as `/twilio/sms`.
//!
//! What no reading can make safe is refused as [`TargetError::NotNormal`]: a dot segment under any
//! reading (`..;x`, `%u002e`, `%c0%ae`, `．．`, `. .`), an encoded slash or backslash, a backslash, a
//! control character (NUL included), an invalid or IIS `%u` escape, a `?` or `#` that decoding makes,
//! bytes that are not UTF-8 once decoded (overlong forms included), an empty segment, also one a
//! reading empties (`/;x/`, `/:x/`), and a segment read more than `MAX_READINGS` ways. A path whose
//! segments are read more than [`MAX_PATH_READINGS`] further ways together is not read: verified.

use super::TargetError;

/// One segment of a path: every name a server could read it as.
#[derive(Debug)]
pub(super) enum Segment<'a> {
    /// Only ASCII letters, digits, `-` and `_` (`twilio`, `sms`, `v2`): every server reads it as
    /// written, and a case-insensitive one in any case. Most segments are such, and deciding on them
    /// costs no copy.
    Plain(&'a str),
    /// Any other segment, with each of its readings.
    Read(Readings),
}

/// Every name a server could read a segment as, when that is not only the segment as written.
#[derive(Debug, Default)]
pub(super) struct Readings {
    /// The names as written, decoded: a prefix exempts this segment only if every one is its name.
    exact: Vec<String>,
    /// The names folded (see [`fold`]), extensions dropped too: a prefix protects this segment if
    /// any one is its folded name.
    folded: Vec<String>,
    /// The `PREFIX` (folded) of each name shaped like an 8.3 short name (`PREFIX~N[.EXT]`): a prefix
    /// protects this segment if one of them [covers](short_name_covers) its folded name.
    short: Vec<String>,
    /// Whether a server may take this segment for a file and the rest of the path for its path info
    /// (see [`reroutes`]).
    script: Script,
    /// Whether ASP.NET may read it as cookieless session values, `(S(…))`, and drop it.
    cookieless: bool,
}

impl Segment<'_> {
    /// Its one reading, when every server reads it as the same name.
    pub(super) fn only_name(&self) -> Option<&str> {
        match self {
            Segment::Plain(name) => Some(name),
            Segment::Read(r) => match r.exact.as_slice() {
                [name] => Some(name),
                _ => None,
            },
        }
    }

    /// Whether every reading of it is `name`, in the same case: then a prefix naming it exempts it.
    pub(super) fn is_only(&self, name: &str) -> bool {
        match self {
            Segment::Plain(plain) => *plain == name,
            Segment::Read(r) => r.exact.iter().all(|reading| reading == name),
        }
    }

    /// Whether some reading of it, folded, is `folded` (a [folded](fold) name), or a short name
    /// `folded` may have: then a prefix naming it protects it.
    pub(super) fn may_be(&self, folded: &str) -> bool {
        match self {
            // Its fold is its ASCII lowercase; a folded name with other bytes is not it.
            Segment::Plain(plain) => {
                plain.len() == folded.len()
                    && plain
                        .bytes()
                        .zip(folded.bytes())
                        .all(|(p, f)| p.to_ascii_lowercase() == f)
            }
            Segment::Read(r) => {
                r.folded.iter().any(|reading| reading == folded)
                    || r.short.iter().any(|short| short_name_covers(short, folded))
            }
        }
    }

    /// Whether some reading of it, folded, starts with `folded` (or is a short name `folded` may
    /// have): a router that matches a prefix as a string (`/twilio` serving `/twiliox`, as the JDK's
    /// `HttpServer` contexts, nginx `location /twilio` and Apache `ProxyPass /twilio` do) routes it
    /// under that prefix.
    pub(super) fn may_start_with(&self, folded: &str) -> bool {
        match self {
            Segment::Plain(plain) => plain
                .as_bytes()
                .get(..folded.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(folded.as_bytes())),
            Segment::Read(r) => {
                r.folded.iter().any(|reading| reading.starts_with(folded))
                    || r.short.iter().any(|short| short_name_covers(short, folded))
            }
        }
    }

    /// Whether a server may take it for a file and route the rest of the path as its path info.
    pub(super) fn script(&self) -> Script {
        match self {
            Segment::Plain(_) => Script::No,
            Segment::Read(r) => r.script,
        }
    }

    /// Whether ASP.NET may read it as cookieless session values and drop it.
    fn cookieless(&self) -> bool {
        match self {
            Segment::Plain(_) => false,
            Segment::Read(r) => r.cookieless,
        }
    }
}

/// Whether every reading of `raw` (a segment as sent) is `raw` itself, up to ASCII case: it is not
/// empty and has only ASCII letters, digits, `-` and `_` (no escape, `.`, `;`, `:`, `~`, `(`, space).
fn is_plain(raw: &[u8]) -> bool {
    !raw.is_empty()
        && raw
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// Whether a segment names a file that a server may run with the rest of the path as its path info
/// (`/index.php/twilio/sms` runs `index.php`, whose front controller routes `/twilio/sms`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Script {
    /// No reading of it has a `.`.
    #[default]
    No,
    /// Some reading has a `.` (`v1.2`, `app.min`): it may be a file, so a `require` prefix protects
    /// the rest of the path read on its own.
    Maybe,
    /// Some reading has an extension that servers run (`.php`, `.aspx`, `.cgi`, see
    /// [`SCRIPT_EXTENSIONS`]): the rest of the path, read on its own, is also decided like a path.
    Yes,
}

/// Extensions that common servers run as scripts and hand the rest of the path as `PATH_INFO`:
/// PHP, ASP and ASP.NET, CGI, Perl, Python, Ruby, Java (JSP, Struts), ColdFusion, and ISAPI.
const SCRIPT_EXTENSIONS: &[&str] = &[
    "php", "php3", "php4", "php5", "php7", "php8", "phtml", "pht", "phar", "asp", "aspx", "asmx",
    "ashx", "axd", "svc", "cshtml", "vbhtml", "rem", "soap", "cgi", "fcgi", "pl", "pm", "py", "rb",
    "jsp", "jspx", "jspa", "do", "action", "cfm", "cfc", "dll", "exe", "shtml",
];

/// Calls `visit` with every other path a server may route `path` as, and whether it is
/// [strict](Script::Yes), until `visit` returns `true`; returns whether it did:
///
/// - without its ASP.NET cookieless segments (`/(S(abc))/twilio/sms` is routed as `/twilio/sms`),
///   strict;
/// - after any of its segments, the rest of the path on its own: an application mounted under a prefix
///   it strips itself routes `/v2/twilio/sms` as `/twilio/sms` (Django's `FORCE_SCRIPT_NAME`,
///   `FastAPI(root_path=…)`, Starlette's `Mount`, Hono's `basePath` and `route`, Express's
///   `app.use(prefix, router)`, a language prefix such as Django's `i18n_patterns`, Symfony's
///   `{_locale}` or Rails' `(:locale)`, a PHP front controller's `/index.php/twilio/sms`, ASP.NET's
///   `page.aspx/PATH_INFO`, CGI), in the path as sent and without its cookieless segments. Strict when
///   the segment has a [script extension](SCRIPT_EXTENSIONS), else not: `/static/twilio/x` is then
///   protected by a `require /twilio` prefix, but never exempted by a `pass` prefix.
///
/// A strict reading must be exempt too for the path to be exempt; any reading is protected by a
/// `require` prefix that covers it. Each reading is a slice of at most two lists, so a long path
/// costs time linear in its segments times the prefixes.
pub(super) fn reroutes<'a, 'p>(
    path: &'a [Segment<'p>],
    mut visit: impl FnMut(&[&'a Segment<'p>], bool) -> bool,
) -> bool {
    let sent: Vec<&Segment> = path.iter().collect();
    let stripped: Vec<&Segment> = path.iter().filter(|s| !s.cookieless()).collect();
    if stripped.len() != sent.len() && visit(&stripped, true) {
        return true;
    }
    let bases: &[&[&Segment]] = if stripped.len() == sent.len() {
        &[&sent]
    } else {
        &[&sent, &stripped]
    };
    for base in bases {
        for (i, segment) in base.iter().enumerate() {
            let rest = base.get(i + 1..).unwrap_or_default();
            if !rest.is_empty() && visit(rest, segment.script() == Script::Yes) {
                return true;
            }
        }
    }
    false
}

/// The segments of the path of `origin` (an origin-form target), with every reading of each, or
/// `NotNormal` when some reading is ambiguous, or `None` when its segments are read more than
/// [`MAX_PATH_READINGS`] further ways together (not read: the caller verifies it). A trailing slash
/// gives a last, empty segment.
pub(super) fn segments(origin: &str) -> Result<Option<Vec<Segment<'_>>>, TargetError> {
    let path = origin.split('?').next().unwrap_or_default();
    let raw = path.as_bytes();
    check_escapes(raw)?;
    let once = percent_decode(raw);
    let twice = percent_decode(&once);
    let slashes = count_slashes(raw);
    for decoded in [&once, &twice] {
        let bad = |b: &u8| matches!(b, b'\\' | b'?' | b'#') || b.is_ascii_control();
        if count_slashes(decoded) != slashes || decoded.iter().any(bad) {
            return Err(TargetError::NotNormal);
        }
        std::str::from_utf8(decoded).map_err(|_| TargetError::NotNormal)?;
    }
    // IIS decodes `%uXXXX`; once decoded, `%25u002e` is one.
    if once.windows(2).any(|w| w.eq_ignore_ascii_case(b"%u")) {
        return Err(TargetError::NotNormal);
    }
    let raw_segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = raw_segments.len().saturating_sub(1);
    let mut budget = MAX_PATH_READINGS;
    let mut out = Vec::with_capacity(raw_segments.len());
    for (i, raw) in raw_segments.iter().enumerate() {
        if is_plain(raw.as_bytes()) {
            out.push(Segment::Plain(raw));
            continue;
        }
        let read = readings(raw.as_bytes(), i == last)?;
        // A segment read one way costs what a plain one does; each further way counts.
        let Some(left) = budget.checked_sub(read.exact.len().saturating_sub(1)) else {
            return Ok(None);
        };
        budget = left;
        out.push(Segment::Read(read));
    }
    Ok(Some(out))
}

/// Every reading of one raw segment, checked.
fn readings(raw: &[u8], last: bool) -> Result<Readings, TargetError> {
    let before_param = raw.split(|&b| b == b';').next().unwrap_or_default();
    let once = percent_decode(raw);
    let once_named = percent_decode(before_param);
    let mut decoded = Vec::with_capacity(4);
    for bytes in [
        percent_decode(&once),
        percent_decode(&once_named),
        once_named,
        once,
    ] {
        let text = String::from_utf8(bytes).map_err(|_| TargetError::NotNormal)?;
        push_new(&mut decoded, text);
    }
    let mut out = Readings::default();
    for name in &decoded {
        let unparamed = name.split(';').next().unwrap_or_default();
        for reading in [name.as_str(), unparamed] {
            // NTFS: `name:stream[:type]` opens `name` (a stream of it, or `::$DATA` its content, or
            // `:$I30:$INDEX_ALLOCATION` the directory itself).
            let file = reading.split(':').next().unwrap_or_default();
            for reading in [reading, file] {
                push_new(&mut out.exact, reading.to_owned());
                push_new(&mut out.exact, trim_windows(reading).to_owned());
            }
        }
    }
    // Spacing some server or normaliser removes (reported, not shown on a real server; kept because
    // a reading only ever adds protection): white space around a name, any Unicode space included
    // (U+00A0, U+3000), and invisible format characters (U+200B, U+FEFF, U+2060) anywhere in it.
    let spaced: Vec<String> = out.exact.iter().flat_map(|name| unspaced(name)).collect();
    for reading in spaced {
        push_new(&mut out.exact, reading);
    }
    // Each reading is folded and matched: a segment read too many ways is refused, not read
    // (a 4 KiB path of such segments cost the guard 2.4 ms, fifth outside attack).
    if out.exact.len() > MAX_READINGS {
        return Err(TargetError::NotNormal);
    }
    for name in &out.exact {
        let folded = fold(name)?;
        if let Some(prefix) = short_name_prefix(&folded) {
            push_new(&mut out.short, prefix.to_owned());
        }
        push_new(&mut out.folded, trim_windows(&folded).to_owned());
        // Spring's suffix patterns: `/twilio.json` is routed as `/twilio`.
        match folded.split_once('.') {
            Some((stem, _)) if !stem.is_empty() => push_new(&mut out.folded, stem.to_owned()),
            _ => {}
        }
        push_new(&mut out.folded, folded);
    }
    let mut script = Script::No;
    for name in out.exact.iter().chain(&out.folded) {
        let mut parts = name.split('.');
        parts.next();
        // Once a script, the other extensions change nothing.
        for extension in parts {
            if script == Script::Yes {
                break;
            }
            script = script.max(if SCRIPT_EXTENSIONS.contains(&extension) {
                Script::Yes
            } else {
                Script::Maybe
            });
        }
        // ASP.NET cookieless values: `(S(…))`, `(A(…))(F(…))`, in any case.
        out.cookieless |= name.len() > 1 && name.starts_with('(') && name.ends_with(')');
    }
    out.script = script;
    let ambiguous = |reading: &String| {
        (reading.is_empty() && !last && !raw.is_empty())
            || (!reading.is_empty() && reading.bytes().all(|b| matches!(b, b'.' | b' ')))
    };
    if out.exact.iter().chain(&out.folded).any(ambiguous) || (raw.is_empty() && !last) {
        return Err(TargetError::NotNormal);
    }
    Ok(out)
}

/// The part before `~` of a folded name shaped like a Windows 8.3 short name: `PREFIX~N` or
/// `PREFIX~N.EXT`, with at most eight characters before the dot, `PREFIX` not empty, `N` one or more
/// digits, and an extension of at most three characters.
pub(super) fn short_name_prefix(folded: &str) -> Option<&str> {
    let (base, extension) = folded.split_once('.').unwrap_or((folded, ""));
    if base.chars().count() > 8 || extension.chars().count() > 3 || extension.contains('.') {
        return None;
    }
    let (prefix, n) = base.rsplit_once('~')?;
    (!prefix.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(prefix)
}

/// Whether a short name whose part before `~` is `prefix` may be the short name of `name` (both
/// folded). Windows makes a short name from the first characters of the name without its dots and
/// spaces, with `_` for a character an 8.3 name cannot hold (so `_` here stands for any character);
/// once several names share those characters, from the first one or two and four hex digits of a
/// hash (`TW1A2B~1`), so a `prefix` that ends in four hex digits also covers every name starting with
/// what comes before them. Wider than Windows, never narrower: it only ever adds protection.
pub(super) fn short_name_covers(prefix: &str, name: &str) -> bool {
    let long: Vec<char> = name.chars().filter(|c| !matches!(c, '.' | ' ')).collect();
    let starts = |prefix: &[char]| {
        prefix.len() <= long.len() && prefix.iter().zip(&long).all(|(p, c)| *p == '_' || p == c)
    };
    let prefix: Vec<char> = prefix.chars().collect();
    if starts(&prefix) {
        return true;
    }
    let hashed = prefix.len().checked_sub(4).filter(|&cut| cut > 0);
    hashed.is_some_and(|cut| {
        let (kept, hash) = prefix.split_at(cut);
        hash.iter().all(char::is_ascii_hexdigit) && starts(kept)
    })
}

/// The most names one segment may be read as (decoded once and twice, with and without its `;…`
/// parameters, its NTFS stream, its trailing dots and spaces, its spacing): past it, the segment is
/// [`TargetError::NotNormal`]. An ordinary segment has one to four; a genuine Twilio URL never more.
const MAX_READINGS: usize = 12;

/// The most further names (past the first of each segment) all the segments of one path may be
/// read as together: past it, the path is not read, and so verified, as past
/// [`MAX_RULED_SEGMENTS`](crate::MAX_RULED_SEGMENTS). Each name costs its folding and matching:
/// sixty segments read twelve ways each cost the guard a millisecond and a half (fifth outside
/// attack), while an ordinary path has a few segments read more than one way.
pub(super) const MAX_PATH_READINGS: usize = 64;

/// Whether `c` is a Unicode default-ignorable code point (`Default_Ignorable_Code_Point` in
/// DerivedCoreProperties.txt): a character that renders as nothing and that collation (ICU, and with
/// it JavaScript's `localeCompare`, .NET's culture comparisons, Java's `Collator`) and many normalisers
/// ignore: soft hyphen, combining grapheme joiner, variation selectors, Mongolian free variation
/// selectors and vowel separator, Arabic letter mark, zero-width and bidirectional controls, Hangul
/// fillers, tags, musical formatting. A server comparing paths that way routes `/k\u{34F}si` as `/ksi`
/// (sixth outside attack, A5-F1: only U+200B–U+200F, U+2060–U+2064, U+FEFF and U+00AD were read).
fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}'..='\u{1160}' | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// `name` with the white space around it trimmed, and with its default-ignorable characters
/// dropped: the readings that differ from `name`.
fn unspaced(name: &str) -> impl Iterator<Item = String> + '_ {
    let trimmed = name.trim_matches(char::is_whitespace);
    let visible: String = name.chars().filter(|&c| !is_default_ignorable(c)).collect();
    let both = visible.trim_matches(char::is_whitespace).to_owned();
    [trimmed.to_owned(), visible, both]
        .into_iter()
        .filter(move |reading| reading != name)
}

/// `name` without its trailing dots and spaces, as Windows opens a file.
fn trim_windows(name: &str) -> &str {
    name.trim_end_matches(['.', ' '])
}

fn push_new(readings: &mut Vec<String>, reading: String) {
    if !readings.contains(&reading) {
        readings.push(reading);
    }
}

/// `name` as a case-insensitive server compares it: lowercase, fullwidth ASCII forms as ASCII, the
/// non-ASCII letters whose case mapping is ASCII as that letter, and the compatibility forms of `.`,
/// `/` and `\`. A `/` or `\` it makes is refused: it would split the segment.
pub(super) fn fold(name: &str) -> Result<String, TargetError> {
    // ASCII only: its lowercase (no ASCII character has another mapping below).
    if name.is_ascii() {
        if name.contains(['/', '\\']) {
            return Err(TargetError::NotNormal);
        }
        return Ok(name.to_ascii_lowercase());
    }
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let mapped = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{0130}' | '\u{0131}' => 'i',
            '\u{017F}' => 's',
            '\u{212A}' => 'k',
            '\u{2024}' | '\u{FE52}' => '.',
            '\u{2215}' | '\u{2044}' => '/',
            '\u{2216}' | '\u{FE68}' => '\\',
            _ => c,
        };
        if matches!(mapped, '/' | '\\') {
            return Err(TargetError::NotNormal);
        }
        out.extend(mapped.to_lowercase());
    }
    Ok(out)
}

/// Every `%` starts an escape of two hex digits: IIS reads `%u002e` as `.`, and other servers
/// refuse or keep an invalid escape, so it is ambiguous.
fn check_escapes(raw: &[u8]) -> Result<(), TargetError> {
    if crate::form::has_bad_escape(raw) {
        return Err(TargetError::NotNormal);
    }
    Ok(())
}

fn count_slashes(path: &[u8]) -> usize {
    path.iter().filter(|&&b| b == b'/').count()
}

/// `%XX` escapes decoded to bytes; anything else, invalid escapes included, kept as is.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    super::query::decode(bytes, false)
}

//! The paths a server may route a request as from its query string, for the path rules.
//!
//! Some applications route on a query parameter, not on the path: WordPress serves
//! `/?rest_route=/twilio/sms` (and `/index.php?rest_route=…`) as its REST route `/wp-json/twilio/sms`,
//! CodeIgniter and other PHP front controllers serve `/index.php?/twilio/sms` as `/twilio/sms`, and a
//! Drupal or Joomla site reads `?q=/twilio/sms`. A path rule that read only the path would exempt
//! such a request while the application runs its protected route (issue 28, third audit, F2).
//!
//! So each key and each value of the query that, decoded, is shaped like a path (it starts with `/`
//! or `\`) is one more path the request may be routed as: for the request to be exempt, each of them
//! must be exempt too, and one a `require` prefix protects is verified. A path-like component that
//! carries its own query (`?next=/a%3Fq%3D/twilio`) has that query read the same way, a few levels
//! deep. Anything past the caps (the query's length, its depth, and [`MAX_RULED_SEGMENTS`] segments
//! in all its routes together) is not read and makes the request verified.

use super::{MAX_RULED_PATH, MAX_RULED_SEGMENTS};

/// How deep a query inside a path-like query component is read; deeper, the request is verified.
const MAX_DEPTH: usize = 3;

/// The path-like components of `query` (the text after a target's `?`), each decoded once or twice
/// (whichever first starts with `/` or `\`) and cut at its own `?` or `#`; or `None` when the query
/// is too long, nests too deep, or is not UTF-8 once decoded, so the request must be verified.
pub(super) fn routes(query: &str) -> Option<Vec<String>> {
    if query.len() > MAX_RULED_PATH {
        return None;
    }
    let mut found = Vec::new();
    collect(query.as_bytes(), 0, &mut found)?;
    Some(found)
}

fn collect(query: &[u8], depth: usize, found: &mut Vec<String>) -> Option<()> {
    if depth > MAX_DEPTH {
        return None;
    }
    // `&` everywhere, `;` as some older servers and frameworks also split.
    for pair in query.split(|&b| b == b'&' || b == b';') {
        for component in pair.splitn(2, |&b| b == b'=') {
            let Some(path) = path_like(component)? else {
                continue;
            };
            let cut = path.find(['?', '#']).unwrap_or(path.len());
            let (route, rest) = path.split_at(cut);
            // The segments of every route together, not of each: each is read as a path.
            let read: usize = found.iter().map(|r: &String| r.matches('/').count()).sum();
            if read + route.matches('/').count() > MAX_RULED_SEGMENTS {
                return None;
            }
            // What follows the route's own `?` is a query too (and a `#…` is kept inside it, so
            // whatever a server makes of it is read as well).
            if let Some(inner) = rest.strip_prefix(['?', '#']) {
                collect(inner.as_bytes(), depth + 1, found)?;
            }
            found.push(route.to_owned());
        }
    }
    Some(())
}

/// `component` decoded as a form component (`+` is a space, `%XX` a byte), and once more, when that
/// starts with `/` or `\` after any leading whitespace: `Some(None)` when it is not path-like, `None`
/// when the decoded bytes are not UTF-8.
fn path_like(component: &[u8]) -> Option<Option<String>> {
    let once: Vec<u8> = decode(component, true);
    let twice: Vec<u8> = decode(&once, false);
    for decoded in [once, twice] {
        let start = decoded
            .iter()
            .position(|b| !b.is_ascii_whitespace() && !b.is_ascii_control())
            .unwrap_or(decoded.len());
        let trimmed = decoded.get(start..).unwrap_or_default();
        if matches!(trimmed.first(), Some(b'/' | b'\\')) {
            return String::from_utf8(trimmed.to_vec()).ok().map(Some);
        }
    }
    Some(None)
}

/// Whether `query`, decoded once and twice, mentions any of `names` (folded, see `reading::fold`),
/// ignoring ASCII case: a router that reads a route from the query without a leading `/` (Yii's
/// `?r=twilio/sms`, Drupal 7's `?q=twilio/sms`, CodeIgniter's `?twilio/sms`) may route it anywhere,
/// so a protected prefix's name anywhere in the query makes the request verified.
pub(super) fn mentions<'n>(query: &str, mut names: impl Iterator<Item = &'n str>) -> bool {
    let once = decode(query.as_bytes(), true).to_ascii_lowercase();
    let twice = decode(&once, false).to_ascii_lowercase();
    names.any(|name| {
        let name = name.as_bytes();
        !name.is_empty()
            && [&once, &twice]
                .iter()
                .any(|text| text.windows(name.len()).any(|w| w == name))
    })
}

/// `%XX` escapes decoded to bytes (and `+` to a space when `plus_is_space`, as in a form); anything
/// else, invalid escapes included, kept as is.
pub(super) fn decode(bytes: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).copied().and_then(crate::form::hex_value);
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(h << 4 | l);
                i += 3;
            }
            (b'+', _, _) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::routes;

    #[test]
    fn path_like_keys_and_values_are_routes() {
        let found = |q: &str| routes(q).expect("readable");
        assert_eq!(found("rest_route=/twilio/sms"), ["/twilio/sms"]);
        assert_eq!(found("/twilio/sms"), ["/twilio/sms"]);
        assert_eq!(found("rest_route=%2Ftwilio%2Fsms"), ["/twilio/sms"]);
        assert_eq!(found("rest_route=%252Ftwilio"), ["/twilio"]);
        assert_eq!(found("q=+/twilio"), ["/twilio"]);
        assert_eq!(found("q=%5Ctwilio"), ["\\twilio"]);
        assert_eq!(found("a=1;b=/x"), ["/x"]);
        assert_eq!(found("next=/a%3Fq%3D/twilio"), ["/twilio", "/a"]);
        assert!(found("x=1&y=abc/def&z=").is_empty());
    }

    #[test]
    fn what_cannot_be_read_is_none() {
        assert_eq!(routes(&"a".repeat(super::MAX_RULED_PATH + 1)), None);
        assert_eq!(routes("q=%FF/x").map(|v| v.len()), Some(0));
        assert_eq!(routes("q=/%FFx"), None);
        let nested = "q=/a?q=/b?q=/c?q=/d?q=/e";
        assert_eq!(routes(nested), None);
        let deep = format!("q={}", "/a".repeat(super::MAX_RULED_SEGMENTS + 1));
        assert_eq!(routes(&deep), None);
    }
}

//! Spec §4.4, written out plainly for the fuzz targets: a fragment (what follows the first `#`) is cut
//! only when it is empty or made only of Twilio's connection overrides: `name=value` pairs joined by
//! `&`, each name one of `ct`, `rt`, `tt`, `rc`, `rp`, `e`, `sni`, each value of letters, digits, `,`,
//! `.`, `_` and `-`.

pub fn cuttable(fragment: &str) -> bool {
    const NAMES: [&str; 7] = ["ct", "rt", "tt", "rc", "rp", "e", "sni"];
    fragment.is_empty()
        || fragment.split('&').all(|pair| match pair.split_once('=') {
            Some((name, value)) => {
                NAMES.contains(&name)
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ",._-".contains(c))
            }
            None => false,
        })
}

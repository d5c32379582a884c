//! Spec §5, modelled independently of the library: a URL is in body mode when a name in its query (after
//! the first `?`, before any `#`), percent-decoded, is `bodySHA256`. Decoded form parameters cannot
//! prove such a request's body, so the form entry point must reject it as `body_not_hashed`.

pub fn is_body_mode(url: &str) -> bool {
    let before_fragment = url.split('#').next().unwrap_or(url);
    before_fragment.split_once('?').is_some_and(|(_, query)| {
        form_urlencoded::parse(query.as_bytes()).any(|(name, _)| name == "bodySHA256")
    })
}

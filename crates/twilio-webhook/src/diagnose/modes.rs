//! What a diagnosis tries after each URL: the payload as checked and the other body mode, unless the
//! payload is too large to diagnose.

use super::{CauseCode, Payload, cost};
use crate::canonical::{Suffix, with_form_body, with_params};

/// `P` of decoded parameters.
pub(super) fn joined_params(pairs: &[(String, String)]) -> Vec<u8> {
    with_params(pairs.iter(), |canonical| {
        let mut p = Vec::new();
        canonical.feed(|run| p.extend_from_slice(run));
        p
    })
}

/// `P` of a raw form body, if its decoded fields are UTF-8.
pub(super) fn joined_form(body: &[u8]) -> Option<Vec<u8>> {
    with_form_body(body, |canonical| {
        let mut p = Vec::new();
        canonical.feed(|run| p.extend_from_slice(run));
        p
    })
}

/// A suffix to try after a URL, and the cause it stands for.
pub(super) type Mode = (Vec<u8>, Option<CauseCode>);

/// The suffixes to try after a URL: the payload as checked, then the other mode (`BodyMode`). A
/// payload too large to diagnose is neither decoded nor tried: the URL alone is, and its length is
/// returned.
pub(super) fn modes(payload: Payload<'_>) -> (Vec<Mode>, Option<usize>) {
    let len = match payload {
        Payload::Params(pairs) => pairs.iter().fold(0usize, |n, (k, v)| {
            n.saturating_add(k.len()).saturating_add(v.len())
        }),
        Payload::FormBody(body) | Payload::Body(body) => body.len(),
    };
    if !cost::diagnosable(len) {
        let alone = match payload {
            Payload::Body(_) => None,
            _ => Some(CauseCode::BodyMode),
        };
        return (vec![(Vec::new(), alone)], Some(len));
    }
    (all_modes(payload), None)
}

/// [`modes`] of a payload small enough to diagnose.
fn all_modes(payload: Payload<'_>) -> Vec<Mode> {
    let url_only = (Vec::new(), Some(CauseCode::BodyMode));
    match payload {
        Payload::Params(pairs) => vec![(joined_params(pairs), None), url_only],
        Payload::FormBody(body) => joined_form(body)
            .map(|p| (p, None))
            .into_iter()
            .chain([url_only])
            .collect(),
        Payload::Body(body) => {
            let as_form = body
                .contains(&b'=')
                .then(|| joined_form(body))
                .flatten()
                .map(|p| (p, Some(CauseCode::BodyMode)));
            [(Vec::new(), None)].into_iter().chain(as_form).collect()
        }
    }
}

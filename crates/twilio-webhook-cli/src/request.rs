//! The request given on the command line: URL plus params, raw form body, or non-form body.

use std::io::Read as _;
use std::path::Path;

use crate::UsageError;
use crate::args::RequestArgs;

/// What was given, read and checked.
pub(crate) enum Request {
    /// Decoded form parameters.
    Params(Vec<(String, String)>),
    /// A raw `application/x-www-form-urlencoded` body.
    FormBody(Vec<u8>),
    /// A non-form body (the `bodySHA256` scheme).
    Body(Vec<u8>),
}

/// The URL (required) and the request.
pub(crate) fn read(args: &RequestArgs) -> Result<(String, Request), UsageError> {
    let url = args
        .url
        .clone()
        .ok_or_else(|| UsageError("--url is required".into()))?;
    let request = if let Some(path) = &args.body_file {
        Request::Body(read_file(path)?)
    } else if let Some(path) = &args.form_body_file {
        Request::FormBody(read_file(path)?)
    } else {
        Request::Params(
            args.data
                .iter()
                .map(|d| split_pair(d))
                .collect::<Result<_, _>>()?,
        )
    };
    Ok((url, request))
}

fn split_pair(pair: &str) -> Result<(String, String), UsageError> {
    pair.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| UsageError(format!("-d takes KEY=VALUE, got {pair:?}")))
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, UsageError> {
    let result = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    };
    result.map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))
}

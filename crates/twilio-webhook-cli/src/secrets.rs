//! Where the secret comes from: `--token`, `--token-file` or `TWILIO_AUTH_TOKEN`.

use crate::UsageError;
use crate::args::SecretArgs;

/// The environment variable read when no option names the secret.
pub(crate) const TOKEN_ENV: &str = "TWILIO_AUTH_TOKEN";

/// The secret if one is configured (`verify --batch` lines may carry their own): `None` when no
/// option names one and `TWILIO_AUTH_TOKEN` is unset; an unreadable file or an empty secret is still
/// an error.
pub(crate) fn configured(args: &SecretArgs) -> Result<Option<String>, UsageError> {
    if args.token.is_none() && args.token_file.is_none() && std::env::var_os(TOKEN_ENV).is_none() {
        return Ok(None);
    }
    read(args).map(Some)
}

/// The secret, from the first source given: `--token`, `--token-file`, then `TWILIO_AUTH_TOKEN`.
/// Errors never contain the secret.
pub(crate) fn read(args: &SecretArgs) -> Result<String, UsageError> {
    let secret = if let Some(token) = &args.token {
        token.clone()
    } else if let Some(path) = &args.token_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            UsageError(format!(
                "cannot read the token file {}: {e}",
                path.display()
            ))
        })?;
        text.trim().to_string()
    } else {
        std::env::var(TOKEN_ENV).map_err(|_| {
            UsageError(format!(
                "no secret: set {TOKEN_ENV}, or pass --token-file FILE"
            ))
        })?
    };
    if secret.is_empty() {
        return Err(UsageError("the secret is empty".into()));
    }
    Ok(secret)
}

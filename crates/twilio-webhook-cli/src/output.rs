//! Standard output that tolerates a closed pipe (`twilio-webhook explain … | head -1`): the program
//! ends quietly with its verdict's exit code instead of panicking as `println!` would.

use std::io::Write as _;

use crate::UsageError;

/// Writes `text` and a newline to stdout. A closed pipe is not an error (the reader has what it
/// wanted); any other write error is.
pub(crate) fn line(text: &str) -> Result<(), UsageError> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(UsageError(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// `println!` through [`line`], returning its error with `?`.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::line(&format!($($arg)*))?
    };
}
pub(crate) use out;

//! `twilio-webhook`: sign, verify (also in batch) and explain Twilio webhook signatures from the
//! command line.
//!
//! A thin layer over the `twilio-webhook` library: `main` parses the arguments, runs one subcommand and
//! turns its outcome into an exit code (0 success / valid, 1 rejected, 2 usage or I/O error).

#![forbid(unsafe_code)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod args;
mod batch;
mod explain;
mod guard;
mod kinds;
mod output;
mod raw;
mod request;
mod secrets;
mod send;
mod sign;
mod verify;

use std::process::ExitCode;

use clap::Parser as _;

/// What a subcommand asks `main` to exit with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the request was rejected.
    Rejected,
}

/// An error that ends the program with exit code 2 (usage or I/O), printed as `error: …`.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Sign(a) => sign::run(&a),
        args::Command::Verify(a) if a.batch => batch::run(&a),
        args::Command::Verify(a) => verify::run(&a),
        args::Command::Explain(a) => explain::run(&a),
        args::Command::Send(a) => send::run(&a),
        args::Command::Guard(a) => guard::run(&a),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Rejected) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

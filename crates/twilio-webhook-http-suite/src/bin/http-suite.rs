//! The example contract against any server command, for the examples that are not Rust:
//!
//! ```sh
//! cargo run -p twilio-webhook-http-suite --bin http-suite -- python3 python/examples/flask_app.py
//! ```
//!
//! `--no-peer` first for a server that has no peer address (a Cloudflare Worker): the trusted-proxy
//! configuration is then left out.
//!
//! Exit code 0 when the server keeps the contract (the cases it ran are counted on stdout), 1 with each
//! failure on stderr when it does not, 2 on a usage error.

use std::process::ExitCode;

use twilio_webhook_http_suite::{Example, command_contract};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    // --no-peer: the server has no peer address (a Worker), so it trusts no proxy.
    let peer = args.next_if(|a| a == "--no-peer").is_none();
    let Some(program) = args.next() else {
        eprintln!(
            "usage: http-suite [--no-peer] PROGRAM [ARGS...]   (the server to test, started with PORT and the contract's environment)"
        );
        return ExitCode::from(2);
    };
    let args: Vec<String> = args.collect();
    let name = std::iter::once(program.as_str())
        .chain(args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let example = Example::command(&name, &program, &args);
    let example = if peer {
        example
    } else {
        example.without_peer()
    };
    match std::panic::catch_unwind(|| command_contract(&example)) {
        Ok(cases) => {
            println!("{name}: the contract holds ({cases} cases)");
            ExitCode::SUCCESS
        }
        Err(_) => ExitCode::FAILURE,
    }
}

//! The example contract against any server command, for the examples that are not Rust:
//!
//! ```sh
//! cargo run -p twilio-webhook-http-suite --bin http-suite -- python3 python/examples/flask_app.py
//! ```
//!
//! Exit code 0 when the server keeps the contract (the cases it ran are counted on stdout), 1 with each
//! failure on stderr when it does not, 2 on a usage error.

use std::process::ExitCode;

use twilio_webhook_http_suite::{Example, command_contract};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(program) = args.next() else {
        eprintln!(
            "usage: http-suite PROGRAM [ARGS...]   (the server to test, started with PORT and the contract's environment)"
        );
        return ExitCode::from(2);
    };
    let args: Vec<String> = args.collect();
    let name = std::iter::once(program.as_str())
        .chain(args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let example = Example::command(&name, &program, &args);
    match std::panic::catch_unwind(|| command_contract(&example)) {
        Ok(cases) => {
            println!("{name}: the contract holds ({cases} cases)");
            ExitCode::SUCCESS
        }
        Err(_) => ExitCode::FAILURE,
    }
}

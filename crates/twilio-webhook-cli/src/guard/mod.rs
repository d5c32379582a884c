//! `twilio-webhook guard`: a validating reverse proxy, the `twilio-webhook-guard` crate. This command
//! reads its settings (`config`: flags, environment, TOML file), sets up the log and runs it.

mod config;

use crate::args::GuardArgs;
use crate::{Outcome, UsageError};

pub(crate) fn run(args: &GuardArgs) -> Result<Outcome, UsageError> {
    let config = config::load(args)?;
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if config.log_json {
        subscriber.json().init();
    } else {
        subscriber.init();
    }
    for warning in &config.warnings {
        tracing::warn!(target: "twilio_webhook::guard", "{warning}");
    }
    twilio_webhook_guard::run(config).map_err(|e| UsageError(e.to_string()))?;
    Ok(Outcome::Success)
}

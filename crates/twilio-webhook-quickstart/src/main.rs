//! The Python SDK's "Validate Incoming Requests" example, in Rust.
//!
//! Run it with `cargo run -p twilio-webhook-quickstart` (its own package, so that it builds the core and
//! its few dependencies only).

use std::collections::HashMap;
use std::process::ExitCode;

use twilio_webhook::{RequestValidator, SignatureHeaders};

fn main() -> ExitCode {
    // Your Twilio Auth Token (found in your Console). Read it from the environment in a real app.
    const AUTH_TOKEN: &str = "12345";

    let validator = RequestValidator::new(AUTH_TOKEN);

    // The callback URL you provided to Twilio.
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";

    // The POST variables attached to the request (e.g. "From", "To").
    let post_vars = HashMap::from([
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]);

    // The X-Twilio-Signature header value.
    let signature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

    let genuine = validator.validate(url, &post_vars, signature);
    if genuine {
        println!("Confirmed to have come from Twilio.");
    } else {
        println!("NOT VALID.  It might have been spoofed!");
    }

    // A spoofed request: someone replays the signature with a different "Digits".
    let mut spoofed_vars = post_vars.clone();
    spoofed_vars.insert("Digits", "9999");
    let spoofed = validator.verify_form(url, &spoofed_vars, SignatureHeaders::new(signature));
    match &spoofed {
        Ok(v) => println!("Spoofed request accepted?! {v}"),
        Err(reason) => println!(
            "Spoofed request: NOT VALID ({}): {reason}.",
            reason.as_str()
        ),
    }

    if genuine && spoofed.is_err() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

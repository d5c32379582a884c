//! The library half of `twilio-webhook-cli`: what the `twilio-webhook` binary shares with other tools.
//!
//! The command-line tool is the point of this crate (`cargo install twilio-webhook-cli`); its
//! verification logic lives in the [`twilio_webhook`](https://docs.rs/twilio-webhook) library. The one
//! piece exposed here is [`wire`], the raw HTTP/1.1 client that `twilio-webhook send` uses to put a
//! request on the wire byte for byte, as Twilio would send it; this project's HTTP test suite sends
//! with it too. It is not meant as a general HTTP client: one request per connection, plain `http`,
//! a whole response read into memory.

#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod wire;

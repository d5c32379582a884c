//! The guard's answer framing: an upstream's answer relayed to a client reads back with its status,
//! its header lines and the one framing the guard chose, and its body relayed in chunks reads back as
//! itself (`twilio_webhook_guard::fuzz::answer`). The first byte picks the request's method, whether
//! the client speaks HTTP/1.0 and whether it keeps the connection.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, answer)) = data.split_first() else {
        return;
    };
    twilio_webhook_guard::fuzz::answer(answer, flags, flags & 4 != 0, flags & 8 != 0);
});

//! The guard's request-head parser: the head scanned as its bytes arrive, a few at a time as a slow
//! client sends them, is the head parsed at once (or the same refusal), and a head found is well
//! formed (`twilio_webhook_guard::fuzz::request_head`). The first byte picks the piece size.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, head)) = data.split_first() else {
        return;
    };
    twilio_webhook_guard::fuzz::request_head(head, usize::from(step % 64) + 1);
});

//! The guard's chunked decoder: the same body, end and refusals whether the bytes come at once or a
//! few at a time, and a body written in chunks as the guard writes them decodes to itself
//! (`twilio_webhook_guard::fuzz::chunked`). The first byte picks the piece size.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, body)) = data.split_first() else {
        return;
    };
    twilio_webhook_guard::fuzz::chunked(body, usize::from(step % 64) + 1);
});

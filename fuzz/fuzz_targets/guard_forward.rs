//! The differential property of the guard: what it writes upstream for a request (head and body),
//! parsed again by the same parser, is the request it verified: the same method, target, headers and
//! body, and nothing after it (`twilio_webhook_guard::fuzz::forward`). The first byte says whether the
//! upstream URL has a path prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, request)) = data.split_first() else {
        return;
    };
    twilio_webhook_guard::fuzz::forward(request, flags & 1 != 0);
});

//! An event stream's bytes, fed to the SSE decoder in chunks whose sizes the input chooses
//! (its first byte), so events split anywhere: never a panic, never more than the bound.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;

const MAX_EVENT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, body)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut decoder = rcload::targets::sse::Decoder::new(MAX_EVENT);
    let mut out = VecDeque::new();
    for piece in body.chunks(chunk) {
        if decoder.feed(piece, &mut out).is_err() {
            return;
        }
        for ev in out.drain(..) {
            assert!(ev.data.len() <= MAX_EVENT, "an event over the bound");
        }
    }
});

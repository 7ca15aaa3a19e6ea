//! An adapter mapping file's text: parsed, checked and compiled, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = rcload::profile::Source {
        name: "fuzz-mapping.yaml".into(),
        text: text.into(),
    };
    let _ = rcload::targets::mapped::parse(&source);
});

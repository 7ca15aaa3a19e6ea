//! A profile's text: parsed, overridden with nothing and validated, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = rcload::profile::Source {
        name: "fuzz.yaml".into(),
        text: text.into(),
    };
    if let Ok(p) = rcload::profile::load(&source, &[]) {
        // What `validate` prints and what a run writes back must not panic either.
        let _ = rcload::profile::to_yaml(&p);
    }
});

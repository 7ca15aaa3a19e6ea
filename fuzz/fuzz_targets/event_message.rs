//! A WebSocket (or polled) event message read through the vendor-x mapping: JSON, then the
//! mapping's fields: never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::Duration;

fn target() -> &'static rcload::targets::mapped::MappedTarget {
    static T: OnceLock<rcload::targets::mapped::MappedTarget> = OnceLock::new();
    T.get_or_init(|| {
        let source = rcload::profile::Source {
            name: "vendor-x.yaml".into(),
            text: include_str!("../../adapters/vendor-x.yaml").into(),
        };
        let mapping = rcload::targets::mapped::parse(&source).expect("vendor-x parses");
        rcload::targets::mapped::MappedTarget::new(
            mapping,
            "http://127.0.0.1:9",
            Duration::from_secs(1),
            &rcload::targets::auth::Credentials::None,
            &rcload::targets::transport::Transport::default(),
        )
        .expect("target")
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = target().decode_message("room01-con01", data);
});

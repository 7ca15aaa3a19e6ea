//! A `latency.hlog` file's bytes, read back as `rcload report` reads them: never a panic,
//! never an allocation the file only declares.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("fuzz.hlog");
    let _ = rcload::report::hlog::read_from(std::io::Cursor::new(data), path, |_| Ok(()));
});

//! A Lambda event payload (JSON bytes), decoded as the handler decodes it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lightsail_alerts::fuzzing::event(data));

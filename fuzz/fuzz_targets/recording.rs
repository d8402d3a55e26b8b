//! A recording (`check --replay FILE`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lightsail_alerts::fuzzing::recording(data));

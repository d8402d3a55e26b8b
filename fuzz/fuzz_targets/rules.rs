//! A rules document (YAML or JSON bytes), as a file, S3 object or event gives it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| lightsail_alerts::fuzzing::rules(data));

//! cargo-fuzz target: see `ferrocast::fuzzing::amf3`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocast::fuzzing::amf3(data));

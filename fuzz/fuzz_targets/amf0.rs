//! cargo-fuzz target: see `ferrocast::fuzzing::amf0`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocast::fuzzing::amf0(data));

//! cargo-fuzz target: see `ferrocast::fuzzing::envelope`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocast::fuzzing::envelope(data));

//! cargo-fuzz target: see `ferrocast::fuzzing::session`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocast::fuzzing::session(data));

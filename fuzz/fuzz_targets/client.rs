//! cargo-fuzz target: see `ferrocast::fuzzing::client`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocast::fuzzing::client(data));

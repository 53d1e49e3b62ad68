//! cargo-fuzz target: see `ferrocast::fuzzing::chunk`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocast::fuzzing::chunk(data));

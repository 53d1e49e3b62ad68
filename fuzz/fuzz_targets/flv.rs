//! cargo-fuzz target: see `ferrocast::fuzzing::flv`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocast::fuzzing::flv(data));

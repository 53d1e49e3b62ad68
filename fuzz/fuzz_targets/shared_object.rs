//! cargo-fuzz target: see `ferrocast::fuzzing::shared_object`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocast::fuzzing::shared_object(data));

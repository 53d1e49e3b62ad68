//! cargo-fuzz target: see `ferrocast::fuzzing::command`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocast::fuzzing::command(data));

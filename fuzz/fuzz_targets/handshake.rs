//! cargo-fuzz target: see `ferrocast::fuzzing::handshake`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ferrocast::fuzzing::handshake(data));

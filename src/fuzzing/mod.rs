//! Fuzz entry points, one per decoder.
//!
//! Each function takes arbitrary bytes and drives one decoder the way a peer
//! could; none may panic for any input (an `assert!` inside one checks an
//! invariant of the codec itself, never of the input). The cargo-fuzz targets in
//! `fuzz/fuzz_targets/` are one-line wrappers around these, and
//! `tests/fuzz_replay.rs` runs the committed corpus and generated seeds through
//! the same functions on stable Rust in every test run.

mod amf;
mod chunk;
mod flv;
mod handshake;
mod messages;
#[cfg(test)]
mod seeds;

pub use amf::{amf0, amf3};
pub use chunk::chunk;
pub use flv::flv;
pub use handshake::handshake;
pub use messages::{command, shared_object};

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
mod client;
mod envelope;
mod flv;
mod handshake;
mod messages;
#[cfg(test)]
mod seeds;
mod session;

pub use amf::{amf0, amf3};
pub use chunk::chunk;
pub use client::{client, client_seed};
pub use envelope::{envelope, envelope_seed};
pub use flv::flv;
pub use handshake::handshake;
pub use messages::{command, shared_object};
pub use session::session;

/// A deterministic xorshift source: the fuzzer must be reproducible.
pub(crate) struct XorShift(pub(crate) u64);

impl rand::RngCore for XorShift {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for b in dst {
            *b = self.next_u64() as u8;
        }
    }
}

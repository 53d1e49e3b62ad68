//! Session tests: an in-memory client built from the project's own
//! `ClientHandshake`, `ChunkEncoder`/`ChunkDecoder` and command builders
//! drives a `ServerSession`; no network.

mod client;
mod flows;
mod input;
mod mini_server;
mod props;
mod streams;

//! Ferrocast: a clustered RTMP server.
//!
//! # Layout
//!
//! - [`protocol`]: the pure (sans-IO) protocol core — handshake, chunk stream,
//!   RTMP messages, AMF0/AMF3, commands, SharedObject events, FLV and media
//!   sniffing. It never touches sockets, clocks, tasks or Redis: bytes and the
//!   current time come in as arguments, values and bytes come out.
//!
//! - [`fanout`]: live media fan-out — frames, the per-stream GOP cache, the
//!   per-player bounded queue with its slow-consumer policy, counters. Pure
//!   like the protocol core.
//!
//! - [`settings`]: the one door for configuration.
//!
//! Later layers (actors, cluster bus, stores, HTTP) build on it; see
//! `docs/architecture.md`.
#![forbid(unsafe_code)]

pub mod fanout;
pub mod protocol;
pub mod settings;

#[doc(hidden)]
pub mod fuzzing;

//! Ferrocast: a clustered RTMP server.
//!
//! # Layout
//!
//! - [`protocol`]: the pure (sans-IO) protocol core — handshake, chunk stream,
//!   RTMP messages, AMF0/AMF3, commands, SharedObject events, FLV and media
//!   sniffing. It never touches sockets, clocks, tasks or Redis: bytes and the
//!   current time come in as arguments, values and bytes come out.
//!
//! - [`settings`]: the one door for configuration.
//!
//! Later layers (actors, cluster bus, stores, HTTP) build on it; see
//! `docs/architecture.md`.
#![forbid(unsafe_code)]

pub mod protocol;
pub mod settings;

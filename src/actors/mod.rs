//! The thin actix layer: one actor per connection, one per published stream,
//! and the node's registry. All protocol work is done by calling
//! [`crate::protocol`]; all fan-out bookkeeping by calling [`crate::fanout`].
//! See `docs/architecture.md` for who owns what.

pub mod clients;
pub mod cluster;
pub mod connection;
pub mod messages;
pub mod registry;
pub mod shared_object;
pub mod shared_objects;
pub mod stream;
pub mod stream_relay;

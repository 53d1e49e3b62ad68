//! The pure (sans-IO) RTMP protocol core.
//!
//! Nothing in here touches sockets, clocks, tasks, threads or Redis: callers pass
//! bytes (and, where it matters, the current time or a random source) in and get
//! typed values and bytes out. The actor layer drives these state machines; tests,
//! fuzzers and the client library drive the very same code.
//!
//! # Layout
//!
//! - [`handshake`]: C0/C1/C2 ↔ S0/S1/S2, simple and digest ("complex") handshakes,
//!   server and client roles.
//! - [`chunk`]: the chunk stream decoder and encoder (RTMP spec §5.3).
//! - [`message`]: typed RTMP messages with named type ids (spec §5.4, §6, §7).
//! - [`amf`]: one ActionScript value model, AMF0 and AMF3 codecs, serde bridge.
//! - [`command`]: NetConnection/NetStream commands as typed requests and response
//!   builders.
//! - [`client`]: the client side of one connection as a state machine, and
//!   the local replica of a remote SharedObject.
//! - [`session`]: the server side of one connection as a state machine
//!   (handshake, chunk codec, NetConnection/NetStream state, events out).
//! - [`shared_object`]: SharedObject messages (types 16 and 19) and their events.
//! - [`flv`]: FLV file tags; [`media`]: keyframe / sequence-header sniffing for
//!   legacy and Enhanced RTMP payloads.
//! - [`limits`]: the plain config structs that bound every allocation driven by
//!   peer bytes.
//!
//! See `docs/protocol.md` for how the modules fit and where real clients deviate
//! from the specification.

pub mod amf;
pub mod chunk;
pub mod client;
pub mod command;
pub mod flv;
pub mod handshake;
pub mod limits;
pub mod media;
pub mod message;
pub mod session;
pub mod shared_object;

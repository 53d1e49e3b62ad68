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
//! - [`client`]: an async RTMP client (tokio) over the protocol core's
//!   `ClientSession`: connect, calls both ways, publish/play, remote
//!   SharedObjects with a local replica. Used by the tests, the load tool
//!   and bots.
//!
//! Later layers (actors, cluster bus, stores, HTTP) build on it; see
//! `docs/protocol.md`.
//!
//! # Example: a command through AMF0 and the chunk stream
//!
//! ```
//! use bytes::BytesMut;
//! use ferrocast::protocol::chunk::{ChunkDecoder, ChunkEncoder, RawMessage};
//! use ferrocast::protocol::command::{Command, CommandEncoding, CommandMessage};
//! use ferrocast::protocol::amf::AmfValue;
//! use ferrocast::protocol::limits::ProtocolLimits;
//!
//! let limits = ProtocolLimits::default();
//! // A client's `NetConnection.call("echo", null, "hi")`, as an AMF0 command body.
//! let call = CommandMessage::new("echo", 2.0, AmfValue::Null, vec![AmfValue::string("hi")]);
//! let mut body = BytesMut::new();
//! call.encode(CommandEncoding::Amf0, &mut body)?;
//!
//! // Chunked on csid 3 with the default 128-byte chunks, then decoded again.
//! let message = RawMessage { csid: 3, timestamp: 0, type_id: 20, stream_id: 0, payload: body.freeze() };
//! let mut wire = BytesMut::new();
//! ChunkEncoder::new().encode(&message, &mut wire)?;
//! let decoded = ChunkDecoder::new(limits.chunk).decode(&mut wire)?.expect("one whole message");
//! assert_eq!(decoded, message);
//!
//! match Command::decode(decoded.payload, CommandEncoding::Amf0, limits.amf)? {
//!     Command::Call(m) => assert_eq!((m.name.as_ref(), m.args.as_slice()), ("echo", &[AmfValue::string("hi")][..])),
//!     other => panic!("not a call: {other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Example: Rust values to and from AMF
//!
//! ```
//! use ferrocast::protocol::amf::{amf3, from_value, to_value};
//! use ferrocast::protocol::limits::AmfLimits;
//!
//! #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
//! struct Score { player: String, points: u32 }
//!
//! let value = to_value(&Score { player: "ada".into(), points: 7 })?;
//! let mut wire = bytes::BytesMut::new();
//! amf3::encode_all(&[value], &mut wire)?;
//! let back = amf3::decode_all(wire.freeze(), AmfLimits::default())?;
//! let score: Score = from_value(back.into_iter().next().expect("one value"))?;
//! assert_eq!(score, Score { player: "ada".into(), points: 7 });
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

pub mod actors;
pub mod app;
pub mod bench;
pub mod client;
pub mod cluster;
pub mod directory;
pub mod fanout;
pub mod http;
pub mod metrics;
pub mod node;
pub mod protocol;
pub mod settings;
pub mod sharedobject;
pub mod store;
pub mod telemetry;

#[doc(hidden)]
pub mod fuzzing;

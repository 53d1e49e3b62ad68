//! NetConnection / NetStream commands (RTMP spec §7.2) as typed values.
//!
//! A command message is a list of AMF values: the command name, a transaction
//! id, a command object (or `null`) and any further arguments. This module turns
//! that list into a typed [`Command`] (`request.rs`, `connect.rs`,
//! `stream.rs`), builds the server's answers (`response.rs`, [`status`]) and
//! reads and writes the message bodies of types 20 (AMF0) and 17 (AMF3)
//! (`encoding.rs`, [`Command::decode`], [`Command::encode`]).
//!
//! The value-level logic ([`Command::from_values`], [`CommandMessage`]) does not
//! depend on the wire encoding, so the session layer and tests can work with
//! plain [`AmfValue`](crate::protocol::amf::AmfValue) lists.
//!
//! See `docs/protocol/commands.md` for the defaults applied to missing
//! arguments and the places where real clients deviate from the spec.

mod args;
mod connect;
mod encoding;
mod error;
mod request;
mod response;
pub mod status;
mod stream;

pub use connect::Connect;
pub use encoding::{decode_values, encode_values, CommandEncoding};
pub use error::CommandError;
pub use request::{Command, CommandMessage};
pub use response::{
    call_error, call_result, connect_error, connect_result, create_stream_result, on_bw_done,
    on_fc_publish, on_fc_unpublish, on_status, rtmp_sample_access, ConnectResultOptions,
    StatusInfo, DEFAULT_CAPABILITIES, DEFAULT_FMS_VERSION, DEFAULT_MODE,
};
pub use stream::{Pause, Play, PlayStart, Publish, PublishType};

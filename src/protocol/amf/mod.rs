//! Action Message Format: one value model, two wire encodings.
//!
//! - [`AmfValue`] is the ActionScript value model shared by [`amf0`] and [`amf3`]:
//!   a value decoded from an AMF3 client can be re-encoded for an AMF0 client and
//!   the reverse (see `docs/protocol/amf.md` for what is lossy).
//! - [`convert`] bridges serde: Rust structs and JSON to and from [`AmfValue`].
//!
//! Containers are held in [`Arc`](std::sync::Arc) so that a reference on the wire
//! decodes to a shared node (O(1), no blow-up from repeated references) and the
//! encoders can emit a reference when they meet the same node twice.

pub mod amf0;
pub mod amf3;
pub mod convert;
mod error;
mod nesting;
mod table;
mod value;

pub use convert::{from_value, to_value, ConvertError};
pub use error::AmfError;
pub use value::{AmfDate, AmfObject, AmfValue, AmfVector, Dictionary, EcmaArray, ObjectVector};

//! serde bridge for [`AmfValue`]: Rust types and JSON to and from the AMF value
//! model.
//!
//! - [`to_value`] serializes any `Serialize` type into an [`AmfValue`] (structs
//!   and maps → anonymous objects, sequences → strict arrays, bytes → byte
//!   arrays, integers → Numbers within ±2^53).
//! - [`from_value`] / [`from_value_ref`] deserialize typed values out of an
//!   [`AmfValue`], e.g. RPC arguments into a struct.
//! - `AmfValue` implements `Serialize` and `Deserialize` with a documented JSON
//!   mapping (tagged forms such as `{"$date": millis}` for the types JSON lacks),
//!   so `serde_json::to_string(&value)` and `serde_json::from_str::<AmfValue>(..)`
//!   work; [`AmfValueSeed`] bounds nesting for untrusted JSON.
//!
//! The full mapping tables, and which directions are lossy, are in
//! `docs/protocol/amf-serde.md`. This is not a wire codec: nothing here reads or
//! writes AMF bytes.
//!
//! [`AmfValue`]: crate::protocol::amf::AmfValue

mod base64;
mod de;
mod de_access;
mod error;
mod key;
mod ser;
mod tags;
mod value_serde;
mod view;

pub use de::{from_value, from_value_ref};
pub use error::ConvertError;
pub use ser::to_value;
pub use value_serde::{AmfValueSeed, DEFAULT_MAX_SERDE_DEPTH};

#[cfg(test)]
mod tests;

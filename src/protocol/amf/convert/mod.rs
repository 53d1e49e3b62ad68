//! serde bridge for [`AmfValue`](super::AmfValue). STUB.

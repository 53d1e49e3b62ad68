//! Typed RTMP messages (RTMP specification 1.0, §5.4 protocol control, §6.2 user
//! control, §7.1 RTMP message types).
//!
//! [`RtmpMessage::decode`] turns a message type id and payload (as the chunk
//! decoder delivers them in a [`RawMessage`]) into a typed value;
//! [`RtmpMessage::encode`] is its inverse. Media, data, command and SharedObject
//! payloads stay `Bytes`: AMF and media parsing live in their own modules. Type
//! ids are named constants ([`SET_CHUNK_SIZE`], [`AUDIO`], ...). AMF3 variants
//! (15, 16, 17) carry their payload as sent, including the leading format byte
//! (0x00) that Flash puts before AMF0-encoded command/data bodies.

mod aggregate;
mod control;
mod user_control;

use bytes::{Bytes, BytesMut};

use crate::protocol::chunk::RawMessage;

pub use aggregate::{
    Aggregate, AggregatePart, AGGREGATE_BACK_POINTER_LEN, AGGREGATE_PART_HEADER_LEN,
};
pub use control::LimitType;
pub use user_control::{
    UserControlEvent, EVENT_PING_REQUEST, EVENT_PING_RESPONSE, EVENT_SET_BUFFER_LENGTH,
    EVENT_STREAM_BEGIN, EVENT_STREAM_DRY, EVENT_STREAM_EOF, EVENT_STREAM_IS_RECORDED,
};

/// Type 1: Set Chunk Size (§5.4.1).
pub const SET_CHUNK_SIZE: u8 = 1;
/// Type 2: Abort Message (§5.4.2).
pub const ABORT: u8 = 2;
/// Type 3: Acknowledgement (§5.4.3).
pub const ACKNOWLEDGEMENT: u8 = 3;
/// Type 4: User Control Message (§6.2).
pub const USER_CONTROL: u8 = 4;
/// Type 5: Window Acknowledgement Size (§5.4.4).
pub const WINDOW_ACK_SIZE: u8 = 5;
/// Type 6: Set Peer Bandwidth (§5.4.5).
pub const SET_PEER_BANDWIDTH: u8 = 6;
/// Type 8: Audio (§7.1.4).
pub const AUDIO: u8 = 8;
/// Type 9: Video (§7.1.5).
pub const VIDEO: u8 = 9;
/// Type 15: Data message, AMF3 (§7.1.2).
pub const DATA_AMF3: u8 = 15;
/// Type 16: Shared Object message, AMF3 (§7.1.3).
pub const SHARED_OBJECT_AMF3: u8 = 16;
/// Type 17: Command message, AMF3 (§7.1.1).
pub const COMMAND_AMF3: u8 = 17;
/// Type 18: Data message, AMF0 (§7.1.2).
pub const DATA_AMF0: u8 = 18;
/// Type 19: Shared Object message, AMF0 (§7.1.3).
pub const SHARED_OBJECT_AMF0: u8 = 19;
/// Type 20: Command message, AMF0 (§7.1.1).
pub const COMMAND_AMF0: u8 = 20;
/// Type 22: Aggregate message (§7.1.6).
pub const AGGREGATE: u8 = 22;

/// Errors decoding or encoding typed RTMP messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// A fixed-size message body was shorter than its fields.
    #[error("message of type {type_id} has {got} bytes, needs {needed}")]
    Truncated {
        /// Message type id.
        type_id: u8,
        /// Bytes the fields need.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// Set Chunk Size carried 0 or had its top bit set.
    #[error("invalid chunk size {size:#x}: must be between 1 and 0x7fffffff")]
    InvalidChunkSize {
        /// The raw 32-bit value.
        size: u32,
    },
    /// Set Peer Bandwidth carried a limit type other than 0, 1 or 2.
    #[error("invalid Set Peer Bandwidth limit type {value}")]
    InvalidLimitType {
        /// The raw byte.
        value: u8,
    },
    /// A known User Control event lacked its data.
    #[error("user control event {event_type} has {got} data bytes, needs {needed}")]
    UserControlTruncated {
        /// Event type.
        event_type: u16,
        /// Bytes the event data needs.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// An aggregate sub-message ran past the end of the aggregate payload.
    #[error("aggregate sub-message at offset {offset} needs {needed} bytes, {available} left")]
    AggregateTruncated {
        /// Offset of the sub-message within the aggregate payload.
        offset: usize,
        /// Bytes the sub-message (header, body, back pointer) needs.
        needed: usize,
        /// Bytes left in the payload.
        available: usize,
    },
    /// An aggregate sub-message body is too long for its 24-bit size field.
    #[error("aggregate sub-message {index} has {length} bytes, more than 24 bits allow")]
    AggregatePartTooLong {
        /// Index of the sub-message.
        index: usize,
        /// Its body length.
        length: usize,
    },
}

/// One RTMP message, typed by its message type id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtmpMessage {
    /// Set Chunk Size: the sender's new maximum chunk size (1..=0x7FFFFFFF).
    SetChunkSize(u32),
    /// Abort: discard the partial message on this chunk stream.
    Abort {
        /// Chunk stream id whose partial message is discarded.
        csid: u32,
    },
    /// Acknowledgement: bytes the sender has received so far.
    Acknowledgement {
        /// Sequence number (total bytes received, wrapping).
        sequence_number: u32,
    },
    /// User Control event.
    UserControl(UserControlEvent),
    /// Window Acknowledgement Size: acknowledge after this many bytes.
    WindowAckSize(u32),
    /// Set Peer Bandwidth: limit the receiver's output.
    SetPeerBandwidth {
        /// Window size in bytes.
        window: u32,
        /// How to apply it.
        limit_type: LimitType,
    },
    /// Audio data (FLV audio tag body).
    Audio(Bytes),
    /// Video data (FLV video tag body).
    Video(Bytes),
    /// Data message, AMF3 (type 15).
    DataAmf3(Bytes),
    /// Shared Object message, AMF3 (type 16).
    SharedObjectAmf3(Bytes),
    /// Command message, AMF3 (type 17).
    CommandAmf3(Bytes),
    /// Data message, AMF0 (type 18), e.g. `@setDataFrame`/`onMetaData`.
    DataAmf0(Bytes),
    /// Shared Object message, AMF0 (type 19).
    SharedObjectAmf0(Bytes),
    /// Command message, AMF0 (type 20), e.g. `connect`, `play`.
    CommandAmf0(Bytes),
    /// Aggregate of sub-messages (type 22).
    Aggregate(Aggregate),
    /// Any other type id, kept raw.
    Unknown {
        /// Message type id.
        type_id: u8,
        /// Raw payload.
        payload: Bytes,
    },
}

impl RtmpMessage {
    /// Decodes a message from its type id and payload. Payload-carrying variants
    /// hold the same `Bytes` (no copy).
    ///
    /// # Errors
    ///
    /// A [`MessageError`] when a control, user control or aggregate body is
    /// malformed. Media, data, command and SharedObject payloads are not inspected.
    pub fn decode(type_id: u8, payload: Bytes) -> Result<Self, MessageError> {
        Ok(match type_id {
            SET_CHUNK_SIZE => {
                Self::SetChunkSize(control::decode_set_chunk_size(type_id, &payload)?)
            }
            ABORT => Self::Abort {
                csid: control::read_u32(type_id, &payload)?,
            },
            ACKNOWLEDGEMENT => Self::Acknowledgement {
                sequence_number: control::read_u32(type_id, &payload)?,
            },
            USER_CONTROL => Self::UserControl(UserControlEvent::decode(&payload)?),
            WINDOW_ACK_SIZE => Self::WindowAckSize(control::read_u32(type_id, &payload)?),
            SET_PEER_BANDWIDTH => {
                let (window, limit_type) = control::decode_set_peer_bandwidth(type_id, &payload)?;
                Self::SetPeerBandwidth { window, limit_type }
            }
            AUDIO => Self::Audio(payload),
            VIDEO => Self::Video(payload),
            DATA_AMF3 => Self::DataAmf3(payload),
            SHARED_OBJECT_AMF3 => Self::SharedObjectAmf3(payload),
            COMMAND_AMF3 => Self::CommandAmf3(payload),
            DATA_AMF0 => Self::DataAmf0(payload),
            SHARED_OBJECT_AMF0 => Self::SharedObjectAmf0(payload),
            COMMAND_AMF0 => Self::CommandAmf0(payload),
            AGGREGATE => Self::Aggregate(Aggregate::decode(&payload)?),
            _ => Self::Unknown { type_id, payload },
        })
    }

    /// Decodes the type id and payload of a message from the chunk decoder.
    ///
    /// # Errors
    ///
    /// As [`decode`](Self::decode).
    pub fn from_raw(raw: &RawMessage) -> Result<Self, MessageError> {
        Self::decode(raw.type_id, raw.payload.clone())
    }

    /// The message type id.
    pub fn type_id(&self) -> u8 {
        match self {
            Self::SetChunkSize(_) => SET_CHUNK_SIZE,
            Self::Abort { .. } => ABORT,
            Self::Acknowledgement { .. } => ACKNOWLEDGEMENT,
            Self::UserControl(_) => USER_CONTROL,
            Self::WindowAckSize(_) => WINDOW_ACK_SIZE,
            Self::SetPeerBandwidth { .. } => SET_PEER_BANDWIDTH,
            Self::Audio(_) => AUDIO,
            Self::Video(_) => VIDEO,
            Self::DataAmf3(_) => DATA_AMF3,
            Self::SharedObjectAmf3(_) => SHARED_OBJECT_AMF3,
            Self::CommandAmf3(_) => COMMAND_AMF3,
            Self::DataAmf0(_) => DATA_AMF0,
            Self::SharedObjectAmf0(_) => SHARED_OBJECT_AMF0,
            Self::CommandAmf0(_) => COMMAND_AMF0,
            Self::Aggregate(_) => AGGREGATE,
            Self::Unknown { type_id, .. } => *type_id,
        }
    }

    /// Encodes the message: its type id and payload. Payload-carrying variants
    /// return their `Bytes` without copying.
    ///
    /// # Errors
    ///
    /// [`MessageError::AggregatePartTooLong`] for an aggregate whose sub-message
    /// body exceeds 24 bits; every other message encodes infallibly.
    pub fn encode(&self) -> Result<(u8, Bytes), MessageError> {
        let payload = match self.raw_payload() {
            Some(p) => p.clone(),
            None => {
                let mut dst = BytesMut::new();
                self.encode_into(&mut dst)?;
                dst.freeze()
            }
        };
        Ok((self.type_id(), payload))
    }

    /// Appends the payload to `dst` (copying media payloads) and returns the type id.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode).
    pub fn encode_into(&self, dst: &mut BytesMut) -> Result<u8, MessageError> {
        use bytes::BufMut;
        if let Some(p) = self.raw_payload() {
            dst.put_slice(p);
            return Ok(self.type_id());
        }
        match self {
            Self::SetChunkSize(v) | Self::WindowAckSize(v) => dst.put_u32(*v),
            Self::Abort { csid } => dst.put_u32(*csid),
            Self::Acknowledgement { sequence_number } => dst.put_u32(*sequence_number),
            Self::UserControl(event) => event.encode(dst),
            Self::SetPeerBandwidth { window, limit_type } => {
                control::encode_set_peer_bandwidth(*window, *limit_type, dst);
            }
            Self::Aggregate(agg) => agg.encode(dst)?,
            // Carried as raw payload bytes: written above.
            _ => {}
        }
        Ok(self.type_id())
    }

    /// The payload of a message carried as raw bytes (media, data, commands,
    /// SharedObjects, unknown types); `None` for the typed control messages
    /// and aggregates.
    fn raw_payload(&self) -> Option<&Bytes> {
        match self {
            Self::Audio(p)
            | Self::Video(p)
            | Self::DataAmf3(p)
            | Self::SharedObjectAmf3(p)
            | Self::CommandAmf3(p)
            | Self::DataAmf0(p)
            | Self::SharedObjectAmf0(p)
            | Self::CommandAmf0(p)
            | Self::Unknown { payload: p, .. } => Some(p),
            _ => None,
        }
    }

    /// Encodes the message as a [`RawMessage`] for the chunk encoder.
    ///
    /// # Errors
    ///
    /// As [`encode`](Self::encode).
    pub fn to_raw(
        &self,
        csid: u32,
        timestamp: u32,
        stream_id: u32,
    ) -> Result<RawMessage, MessageError> {
        let (type_id, payload) = self.encode()?;
        Ok(RawMessage {
            csid,
            timestamp,
            type_id,
            stream_id,
            payload,
        })
    }
}

#[cfg(test)]
mod tests;

//! User Control messages (message type 4; spec §6.2 and §7.1.7).
//!
//! Body: a big-endian 16-bit event type, then event data (a 32-bit stream id or
//! timestamp; Set Buffer Length adds a 32-bit buffer length in milliseconds).
//! Event types we do not model — including the non-standard 31 "BufferEmpty" and
//! 32 "BufferReady" sent by FMS/Red5 to rtmpdump-style clients — are kept raw.
//! Trailing bytes after a known event's data are ignored.

use bytes::{BufMut, Bytes, BytesMut};

use super::MessageError;
use crate::protocol::message::USER_CONTROL;

/// Event type 0: the server tells the client a stream became functional.
pub const EVENT_STREAM_BEGIN: u16 = 0;
/// Event type 1: playback of the stream ended.
pub const EVENT_STREAM_EOF: u16 = 1;
/// Event type 2: no more data on the stream for now.
pub const EVENT_STREAM_DRY: u16 = 2;
/// Event type 3: the client announces its buffer length for a stream.
pub const EVENT_SET_BUFFER_LENGTH: u16 = 3;
/// Event type 4: the stream is a recorded stream.
pub const EVENT_STREAM_IS_RECORDED: u16 = 4;
/// Event type 6: the server pings the client.
pub const EVENT_PING_REQUEST: u16 = 6;
/// Event type 7: the client answers a ping.
pub const EVENT_PING_RESPONSE: u16 = 7;

/// One User Control event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserControlEvent {
    /// Stream Begin (0) for a message stream id.
    StreamBegin {
        /// Message stream id.
        stream_id: u32,
    },
    /// Stream EOF (1).
    StreamEof {
        /// Message stream id.
        stream_id: u32,
    },
    /// Stream Dry (2).
    StreamDry {
        /// Message stream id.
        stream_id: u32,
    },
    /// Set Buffer Length (3).
    SetBufferLength {
        /// Message stream id.
        stream_id: u32,
        /// Buffer length in milliseconds.
        buffer_ms: u32,
    },
    /// Stream Is Recorded (4).
    StreamIsRecorded {
        /// Message stream id.
        stream_id: u32,
    },
    /// Ping Request (6) carrying the sender's local time.
    PingRequest {
        /// Timestamp in milliseconds, echoed back by the response.
        timestamp: u32,
    },
    /// Ping Response (7) echoing the request's timestamp.
    PingResponse {
        /// The timestamp from the request.
        timestamp: u32,
    },
    /// Any other event type, kept as raw event data.
    Unknown {
        /// Event type.
        event_type: u16,
        /// Event data after the 2-byte type.
        data: Bytes,
    },
}

impl UserControlEvent {
    /// The event type number.
    pub fn event_type(&self) -> u16 {
        match self {
            Self::StreamBegin { .. } => EVENT_STREAM_BEGIN,
            Self::StreamEof { .. } => EVENT_STREAM_EOF,
            Self::StreamDry { .. } => EVENT_STREAM_DRY,
            Self::SetBufferLength { .. } => EVENT_SET_BUFFER_LENGTH,
            Self::StreamIsRecorded { .. } => EVENT_STREAM_IS_RECORDED,
            Self::PingRequest { .. } => EVENT_PING_REQUEST,
            Self::PingResponse { .. } => EVENT_PING_RESPONSE,
            Self::Unknown { event_type, .. } => *event_type,
        }
    }

    /// Decodes a User Control message body.
    ///
    /// # Errors
    ///
    /// [`MessageError::Truncated`] if the body is shorter than the event type, or
    /// [`MessageError::UserControlTruncated`] if a known event lacks its data.
    pub fn decode(payload: &Bytes) -> Result<Self, MessageError> {
        let Some(&[hi, lo]) = payload.get(..2) else {
            return Err(MessageError::Truncated {
                type_id: USER_CONTROL,
                needed: 2,
                got: payload.len(),
            });
        };
        let event_type = u16::from_be_bytes([hi, lo]);
        let data = payload.slice(2..);
        let word = |i: usize| -> Result<u32, MessageError> {
            match data.get(i * 4..i * 4 + 4) {
                Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
                _ => Err(MessageError::UserControlTruncated {
                    event_type,
                    needed: i * 4 + 4,
                    got: data.len(),
                }),
            }
        };
        Ok(match event_type {
            EVENT_STREAM_BEGIN => Self::StreamBegin {
                stream_id: word(0)?,
            },
            EVENT_STREAM_EOF => Self::StreamEof {
                stream_id: word(0)?,
            },
            EVENT_STREAM_DRY => Self::StreamDry {
                stream_id: word(0)?,
            },
            EVENT_SET_BUFFER_LENGTH => Self::SetBufferLength {
                stream_id: word(0)?,
                buffer_ms: word(1)?,
            },
            EVENT_STREAM_IS_RECORDED => Self::StreamIsRecorded {
                stream_id: word(0)?,
            },
            EVENT_PING_REQUEST => Self::PingRequest {
                timestamp: word(0)?,
            },
            EVENT_PING_RESPONSE => Self::PingResponse {
                timestamp: word(0)?,
            },
            _ => Self::Unknown { event_type, data },
        })
    }

    /// Appends the message body (event type and data) to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_u16(self.event_type());
        match self {
            Self::StreamBegin { stream_id }
            | Self::StreamEof { stream_id }
            | Self::StreamDry { stream_id }
            | Self::StreamIsRecorded { stream_id } => dst.put_u32(*stream_id),
            Self::SetBufferLength {
                stream_id,
                buffer_ms,
            } => {
                dst.put_u32(*stream_id);
                dst.put_u32(*buffer_ms);
            }
            Self::PingRequest { timestamp } | Self::PingResponse { timestamp } => {
                dst.put_u32(*timestamp);
            }
            Self::Unknown { data, .. } => dst.put_slice(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<UserControlEvent, MessageError> {
        UserControlEvent::decode(&Bytes::copy_from_slice(bytes))
    }

    #[test]
    fn decodes_stream_begin_as_sent_after_connect() {
        // Spec §7.1.7 / FMS capture: event 0, stream id 1.
        assert_eq!(
            decode(&[0, 0, 0, 0, 0, 1]),
            Ok(UserControlEvent::StreamBegin { stream_id: 1 })
        );
    }

    #[test]
    fn decodes_set_buffer_length_with_stream_and_milliseconds() {
        // ffmpeg sends this before play: stream 1, 3000 ms.
        assert_eq!(
            decode(&[0, 3, 0, 0, 0, 1, 0, 0, 0x0B, 0xB8]),
            Ok(UserControlEvent::SetBufferLength {
                stream_id: 1,
                buffer_ms: 3000
            })
        );
    }

    #[test]
    fn keeps_buffer_empty_event_31_raw() {
        assert_eq!(
            decode(&[0, 31, 0, 0, 0, 1]),
            Ok(UserControlEvent::Unknown {
                event_type: 31,
                data: Bytes::from_static(&[0, 0, 0, 1])
            })
        );
    }

    #[test]
    fn known_events_without_their_data_are_errors() {
        assert_eq!(
            decode(&[0, 3, 0, 0, 0, 1]),
            Err(MessageError::UserControlTruncated {
                event_type: 3,
                needed: 8,
                got: 4
            })
        );
        assert_eq!(
            decode(&[0]),
            Err(MessageError::Truncated {
                type_id: USER_CONTROL,
                needed: 2,
                got: 1
            })
        );
    }
}

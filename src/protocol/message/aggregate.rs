//! Aggregate messages (message type 22; spec §7.1.6).
//!
//! The body is a sequence of sub-messages, each laid out like an FLV tag:
//! 1-byte type, 3-byte body size, 3-byte timestamp plus 1 byte holding its upper
//! 8 bits, 3-byte stream id, the body, then a 4-byte back pointer (the size of the
//! sub-message including its 11-byte header, i.e. FLV's "previous tag size").
//!
//! Timestamps: the sub-messages' own timestamps are only relative to each other.
//! The first sub-message takes the aggregate's timestamp and each later one keeps
//! its offset from the first: `ts_i = aggregate_ts + (sub_ts_i − sub_ts_0)`
//! (wrapping). This is ffmpeg's `handle_metadata` rule in rtmpproto.c and what FMS
//! produces; ffmpeg's one quirk (a first sub-timestamp of 0 is not taken as the
//! base) is not reproduced. The sub-message stream id is ignored in favour of the
//! aggregate's message stream id, and the back pointer value is not checked
//! (ffmpeg and FLV readers ignore it too); a truncated sub-message is an error.

use bytes::{BufMut, Bytes, BytesMut};

use super::MessageError;
use crate::protocol::chunk::{MessageHeader, RawMessage, MAX_MESSAGE_LEN};

/// Size of a sub-message header.
pub const AGGREGATE_PART_HEADER_LEN: usize = 11;
/// Size of the back pointer after each sub-message body.
pub const AGGREGATE_BACK_POINTER_LEN: usize = 4;

/// One sub-message of an aggregate, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatePart {
    /// Message type id (usually 8 audio, 9 video, 18 data).
    pub type_id: u8,
    /// The sub-message's own 32-bit timestamp (not yet re-based).
    pub timestamp: u32,
    /// The sub-message's 24-bit stream id field (ignored when re-basing).
    pub stream_id: u32,
    /// The sub-message body.
    pub body: Bytes,
}

/// A decoded aggregate message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Aggregate {
    /// The sub-messages in order.
    pub parts: Vec<AggregatePart>,
}

impl Aggregate {
    /// Splits an aggregate body into its sub-messages (bodies are slices of
    /// `payload`, not copies).
    ///
    /// # Errors
    ///
    /// [`MessageError::AggregateTruncated`] when a sub-message header, body or
    /// back pointer runs past the end of the payload.
    pub fn decode(payload: &Bytes) -> Result<Self, MessageError> {
        let mut parts = Vec::new();
        let mut offset = 0usize;
        while offset < payload.len() {
            let truncated = |needed: usize| MessageError::AggregateTruncated {
                offset,
                needed,
                available: payload.len() - offset,
            };
            let Some(&[type_id, s0, s1, s2, t0, t1, t2, t3, i0, i1, i2]) =
                payload.get(offset..offset + AGGREGATE_PART_HEADER_LEN)
            else {
                return Err(truncated(AGGREGATE_PART_HEADER_LEN));
            };
            let size = u32::from_be_bytes([0, s0, s1, s2]) as usize;
            let needed = AGGREGATE_PART_HEADER_LEN + size + AGGREGATE_BACK_POINTER_LEN;
            if payload.len() - offset < needed {
                return Err(truncated(needed));
            }
            let body_start = offset + AGGREGATE_PART_HEADER_LEN;
            parts.push(AggregatePart {
                type_id,
                // Lower 24 bits first, then the extension byte with the upper 8.
                timestamp: u32::from_be_bytes([t3, t0, t1, t2]),
                stream_id: u32::from_be_bytes([0, i0, i1, i2]),
                body: payload.slice(body_start..body_start + size),
            });
            offset += needed;
        }
        Ok(Self { parts })
    }

    /// Appends the aggregate body to `dst`, writing FLV-style back pointers
    /// (11 + body size).
    ///
    /// # Errors
    ///
    /// [`MessageError::AggregatePartTooLong`] if a body exceeds the 24-bit size
    /// field. `dst` may then hold the parts before the offending one.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), MessageError> {
        for (index, part) in self.parts.iter().enumerate() {
            let size = match u32::try_from(part.body.len()) {
                Ok(s) if s <= MAX_MESSAGE_LEN => s,
                _ => {
                    return Err(MessageError::AggregatePartTooLong {
                        index,
                        length: part.body.len(),
                    })
                }
            };
            dst.reserve(AGGREGATE_PART_HEADER_LEN + part.body.len() + AGGREGATE_BACK_POINTER_LEN);
            dst.put_u8(part.type_id);
            dst.put_uint(u64::from(size), 3);
            dst.put_uint(u64::from(part.timestamp & 0x00FF_FFFF), 3);
            dst.put_u8((part.timestamp >> 24) as u8);
            dst.put_uint(u64::from(part.stream_id & 0x00FF_FFFF), 3);
            dst.put_slice(&part.body);
            dst.put_u32(size + AGGREGATE_PART_HEADER_LEN as u32);
        }
        Ok(())
    }

    /// The sub-messages as ordinary messages of the aggregate's chunk stream and
    /// message stream, with timestamps re-based onto `aggregate.timestamp` (see
    /// the module docs for the rule).
    pub fn messages<'a>(
        &'a self,
        aggregate: &MessageHeader,
    ) -> impl Iterator<Item = RawMessage> + 'a {
        let base = self.parts.first().map_or(0, |p| p.timestamp);
        let header = *aggregate;
        self.parts.iter().map(move |part| RawMessage {
            csid: header.csid,
            timestamp: header
                .timestamp
                .wrapping_add(part.timestamp.wrapping_sub(base)),
            type_id: part.type_id,
            stream_id: header.stream_id,
            payload: part.body.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two sub-messages as FMS sends them when serving a recorded stream: audio at
    /// sub-timestamp 0x01000010 (exercising the extension byte), video 23 ms later.
    fn fms_style_vector() -> Vec<u8> {
        let mut v = vec![
            8, 0, 0, 2, // audio, 2 bytes
            0x00, 0x00, 0x10, 0x01, // ts lower 24 = 0x000010, upper 8 = 0x01
            0, 0, 1, // stream id 1
            0xAF, 0x01, // body
            0, 0, 0, 13, // back pointer 11 + 2
        ];
        v.extend_from_slice(&[
            9, 0, 0, 3, // video, 3 bytes
            0x00, 0x00, 0x27, 0x01, // 0x01000027 = first + 23
            0, 0, 1, 0x17, 0x01, 0x00, // body
            0, 0, 0, 14,
        ]);
        v
    }

    #[test]
    fn splits_sub_messages_and_rebases_their_timestamps_on_the_aggregate() {
        let payload = Bytes::from(fms_style_vector());
        let agg = Aggregate::decode(&payload).unwrap();
        assert_eq!(agg.parts.len(), 2);
        assert_eq!(agg.parts[0].timestamp, 0x0100_0010);
        let header = MessageHeader {
            csid: 6,
            timestamp: 5000,
            type_id: 22,
            stream_id: 1,
        };
        let msgs: Vec<_> = agg.messages(&header).collect();
        assert_eq!(msgs[0].timestamp, 5000);
        assert_eq!(msgs[0].type_id, 8);
        assert_eq!(msgs[0].payload.as_ref(), &[0xAF, 0x01]);
        assert_eq!(msgs[1].timestamp, 5023);
        assert_eq!(msgs[1].type_id, 9);
        assert_eq!(msgs[1].stream_id, 1);
        assert_eq!(msgs[1].csid, 6);
    }

    #[test]
    fn encodes_back_to_the_same_bytes() {
        let payload = Bytes::from(fms_style_vector());
        let agg = Aggregate::decode(&payload).unwrap();
        let mut out = BytesMut::new();
        agg.encode(&mut out).unwrap();
        assert_eq!(out.as_ref(), payload.as_ref());
    }

    #[test]
    fn sub_message_bodies_are_slices_of_the_payload() {
        let payload = Bytes::from(fms_style_vector());
        let agg = Aggregate::decode(&payload).unwrap();
        let range = payload.as_ptr() as usize..payload.as_ptr() as usize + payload.len();
        assert!(range.contains(&(agg.parts[1].body.as_ptr() as usize)));
    }

    #[test]
    fn truncated_aggregates_are_errors_at_every_cut() {
        let v = fms_style_vector();
        for cut in 1..v.len() {
            if cut == 17 {
                continue; // exactly one whole sub-message: valid
            }
            let r = Aggregate::decode(&Bytes::copy_from_slice(&v[..cut]));
            assert!(
                matches!(r, Err(MessageError::AggregateTruncated { .. })),
                "cut {cut}: {r:?}"
            );
        }
        assert_eq!(
            Aggregate::decode(&Bytes::copy_from_slice(&v[..17]))
                .unwrap()
                .parts
                .len(),
            1
        );
    }

    #[test]
    fn empty_aggregate_has_no_parts() {
        assert_eq!(Aggregate::decode(&Bytes::new()), Ok(Aggregate::default()));
    }

    #[test]
    fn declared_size_beyond_the_payload_is_an_error_not_an_allocation() {
        let v = [9u8, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            Aggregate::decode(&Bytes::copy_from_slice(&v)),
            Err(MessageError::AggregateTruncated {
                offset: 0,
                needed: 11 + 0xFF_FFFF + 4,
                available: 11
            })
        );
    }
}

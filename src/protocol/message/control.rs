//! Protocol control messages (spec §5.4): Set Chunk Size (1), Abort (2),
//! Acknowledgement (3), Window Acknowledgement Size (5), Set Peer Bandwidth (6).
//!
//! Each body is one big-endian 32-bit value; Set Peer Bandwidth adds a limit-type
//! byte. Trailing bytes after the fields are ignored (nothing in the spec gives
//! them meaning, and rejecting them would only break odd peers).

use bytes::{BufMut, BytesMut};

use super::MessageError;

/// Limit type of Set Peer Bandwidth (spec §5.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitType {
    /// 0 — the peer SHOULD limit its output bandwidth to the window size.
    Hard,
    /// 1 — limit to this window or the one already in effect, whichever is smaller.
    Soft,
    /// 2 — treat as Hard if the previous limit was Hard, else ignore.
    Dynamic,
}

impl LimitType {
    /// The wire byte.
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Hard => 0,
            Self::Soft => 1,
            Self::Dynamic => 2,
        }
    }

    /// Parses the wire byte.
    ///
    /// # Errors
    ///
    /// [`MessageError::InvalidLimitType`] for values other than 0, 1, 2.
    pub fn from_u8(value: u8) -> Result<Self, MessageError> {
        match value {
            0 => Ok(Self::Hard),
            1 => Ok(Self::Soft),
            2 => Ok(Self::Dynamic),
            _ => Err(MessageError::InvalidLimitType { value }),
        }
    }
}

/// Reads the big-endian u32 at the start of a control message body.
pub(super) fn read_u32(type_id: u8, payload: &[u8]) -> Result<u32, MessageError> {
    match payload.get(..4) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(MessageError::Truncated {
            type_id,
            needed: 4,
            got: payload.len(),
        }),
    }
}

/// Decodes a Set Chunk Size body (spec §5.4.1).
pub(super) fn decode_set_chunk_size(type_id: u8, payload: &[u8]) -> Result<u32, MessageError> {
    let size = read_u32(type_id, payload)?;
    // "The first bit of this field MUST be zero"; a size of 0 is meaningless.
    if size == 0 || size & 0x8000_0000 != 0 {
        return Err(MessageError::InvalidChunkSize { size });
    }
    Ok(size)
}

/// Decodes a Set Peer Bandwidth body (spec §5.4.5): window then limit type.
pub(super) fn decode_set_peer_bandwidth(
    type_id: u8,
    payload: &[u8],
) -> Result<(u32, LimitType), MessageError> {
    let window = read_u32(type_id, payload)?;
    let Some(&limit) = payload.get(4) else {
        return Err(MessageError::Truncated {
            type_id,
            needed: 5,
            got: payload.len(),
        });
    };
    Ok((window, LimitType::from_u8(limit)?))
}

/// Encodes a Set Peer Bandwidth body.
pub(super) fn encode_set_peer_bandwidth(window: u32, limit: LimitType, dst: &mut BytesMut) {
    dst.put_u32(window);
    dst.put_u8(limit.as_u8());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_types_roundtrip_and_unknown_values_are_rejected() {
        for t in [LimitType::Hard, LimitType::Soft, LimitType::Dynamic] {
            assert_eq!(LimitType::from_u8(t.as_u8()), Ok(t));
        }
        assert_eq!(
            LimitType::from_u8(3),
            Err(MessageError::InvalidLimitType { value: 3 })
        );
    }

    #[test]
    fn set_chunk_size_with_top_bit_or_zero_is_rejected() {
        assert_eq!(
            decode_set_chunk_size(1, &[0x80, 0, 0, 1]),
            Err(MessageError::InvalidChunkSize { size: 0x8000_0001 })
        );
        assert_eq!(
            decode_set_chunk_size(1, &[0, 0, 0, 0]),
            Err(MessageError::InvalidChunkSize { size: 0 })
        );
        assert_eq!(
            decode_set_chunk_size(1, &[0x7F, 0xFF, 0xFF, 0xFF]),
            Ok(0x7FFF_FFFF)
        );
    }

    #[test]
    fn short_control_bodies_are_truncation_errors() {
        assert_eq!(
            read_u32(5, &[0, 0, 1]),
            Err(MessageError::Truncated {
                type_id: 5,
                needed: 4,
                got: 3
            })
        );
        assert_eq!(
            decode_set_peer_bandwidth(6, &[0, 0, 1, 0]),
            Err(MessageError::Truncated {
                type_id: 6,
                needed: 5,
                got: 4
            })
        );
    }
}

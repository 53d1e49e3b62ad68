//! Chunk header wire forms (spec §5.3.1.1 basic header, §5.3.1.2 message header).
//!
//! Basic header: the top two bits of the first byte are the chunk format (`fmt`);
//! the low six bits are the chunk stream id (csid) for csids 2..=63, `0` for the
//! 2-byte form (csid 64..=319, second byte = csid − 64) or `1` for the 3-byte form
//! (csid 64..=65599, little-endian 16 bits = csid − 64). Message header sizes by
//! format: 11, 7, 3 and 0 bytes.

use bytes::BufMut;

use super::{ChunkError, MAX_CHUNK_STREAM_ID, MIN_CHUNK_STREAM_ID};

/// Largest possible chunk header: 3-byte basic + 11-byte message + 4 extended.
pub(super) const MAX_CHUNK_HEADER_LEN: usize = 18;

/// A parsed basic header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BasicHeader {
    /// Chunk format 0..=3.
    pub(super) fmt: u8,
    /// Chunk stream id.
    pub(super) csid: u32,
    /// Bytes the basic header occupied (1, 2 or 3).
    pub(super) len: usize,
}

/// Parses a basic header from the start of `buf`; `None` if `buf` is too short.
pub(super) fn parse_basic_header(buf: &[u8]) -> Option<BasicHeader> {
    let first = *buf.first()?;
    let fmt = first >> 6;
    match first & 0x3F {
        0 => {
            let b1 = *buf.get(1)?;
            Some(BasicHeader {
                fmt,
                csid: 64 + u32::from(b1),
                len: 2,
            })
        }
        1 => {
            let b1 = *buf.get(1)?;
            let b2 = *buf.get(2)?;
            Some(BasicHeader {
                fmt,
                csid: 64 + u32::from(b1) + 256 * u32::from(b2),
                len: 3,
            })
        }
        csid => Some(BasicHeader {
            fmt,
            csid: u32::from(csid),
            len: 1,
        }),
    }
}

/// Writes a basic header using the shortest form for `csid`.
///
/// # Errors
///
/// [`ChunkError::InvalidChunkStreamId`] if `csid` is outside 2..=65599.
pub(super) fn write_basic_header(
    dst: &mut impl BufMut,
    fmt: u8,
    csid: u32,
) -> Result<(), ChunkError> {
    let fmt_bits = (fmt & 0x03) << 6;
    match csid {
        // The ranges guarantee the `as` casts below are lossless.
        MIN_CHUNK_STREAM_ID..=63 => dst.put_u8(fmt_bits | csid as u8),
        64..=319 => {
            dst.put_u8(fmt_bits);
            dst.put_u8((csid - 64) as u8);
        }
        320..=MAX_CHUNK_STREAM_ID => {
            dst.put_u8(fmt_bits | 1);
            dst.put_u16_le((csid - 64) as u16);
        }
        _ => return Err(ChunkError::InvalidChunkStreamId { csid }),
    }
    Ok(())
}

/// Reads a big-endian 24-bit integer; the caller guarantees 3 bytes.
pub(super) fn be24(b: [u8; 3]) -> u32 {
    u32::from_be_bytes([0, b[0], b[1], b[2]])
}

/// Copies `N` bytes at `at` out of `buf`, or `None` if `buf` is too short.
pub(super) fn array_at<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(fmt: u8, csid: u32) -> Vec<u8> {
        let mut v = Vec::new();
        write_basic_header(&mut v, fmt, csid).unwrap();
        v
    }

    #[test]
    fn one_byte_form_covers_csid_2_to_63() {
        assert_eq!(encoded(0, 2), [0x02]);
        assert_eq!(encoded(3, 63), [0xFF]);
        assert_eq!(
            parse_basic_header(&[0x83]),
            Some(BasicHeader {
                fmt: 2,
                csid: 3,
                len: 1
            })
        );
    }

    #[test]
    fn two_byte_form_covers_csid_64_to_319() {
        assert_eq!(encoded(1, 64), [0x40, 0x00]);
        assert_eq!(encoded(0, 319), [0x00, 0xFF]);
        assert_eq!(
            parse_basic_header(&[0x40, 0x00]),
            Some(BasicHeader {
                fmt: 1,
                csid: 64,
                len: 2
            })
        );
        assert_eq!(parse_basic_header(&[0x40]), None);
    }

    #[test]
    fn three_byte_form_covers_csid_320_to_65599_little_endian() {
        // csid 320 = 64 + 256: low byte 0, high byte 1.
        assert_eq!(encoded(0, 320), [0x01, 0x00, 0x01]);
        assert_eq!(encoded(3, 65_599), [0xC1, 0xFF, 0xFF]);
        assert_eq!(
            parse_basic_header(&[0xC1, 0xFF, 0xFF]),
            Some(BasicHeader {
                fmt: 3,
                csid: 65_599,
                len: 3
            })
        );
        assert_eq!(parse_basic_header(&[0x01, 0xFF]), None);
    }

    #[test]
    fn three_byte_form_also_decodes_small_csids_as_peers_may_send_them() {
        // The spec allows any csid in 64..=65599 in the 3-byte form.
        assert_eq!(
            parse_basic_header(&[0x01, 0x05, 0x00]),
            Some(BasicHeader {
                fmt: 0,
                csid: 69,
                len: 3
            })
        );
    }

    #[test]
    fn unencodable_chunk_stream_ids_are_rejected() {
        for csid in [0, 1, 65_600, u32::MAX] {
            let mut v = Vec::new();
            assert_eq!(
                write_basic_header(&mut v, 0, csid),
                Err(ChunkError::InvalidChunkStreamId { csid })
            );
        }
    }
}

//! The incremental FLV reader (Annex E.2-E.4).

use bytes::{Buf, BytesMut};

use super::{
    FlvConfig, FlvError, FlvHeader, FlvTag, FlvTagType, FILTER_BIT, FLAG_AUDIO, FLAG_VIDEO,
    FLV_HEADER_LEN, FLV_SIGNATURE, FLV_TAG_HEADER_LEN, PREVIOUS_TAG_SIZE_LEN, TAG_TYPE_MASK,
};

/// One item read from an FLV stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlvItem {
    /// The file header; always the first item.
    Header(FlvHeader),
    /// One tag.
    Tag(FlvTag),
}

/// Where the reader is in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the 9-byte file header.
    Header,
    /// Skipping the rest of a header whose `DataOffset` is over 9.
    Padding { remaining: u32 },
    /// Reading `PreviousTagSize` + tag, repeatedly.
    Tags,
}

/// Reads an FLV stream fed in arbitrary pieces.
///
/// Each call to [`decode`](Self::decode) consumes at most one item from the
/// front of the buffer: the header, then one tag per call. Each tag is read
/// together with the `PreviousTagSize` field *before* it, so a tag is returned as
/// soon as its last byte is in (live HTTP-FLV) and a file cut off after its last
/// tag still yields that tag. Call [`finish`](Self::finish) at end of input.
#[derive(Debug, Clone)]
pub struct FlvDecoder {
    config: FlvConfig,
    state: State,
    /// What the next `PreviousTagSize` must be: 0 before the first tag, then
    /// 11 + the last tag's data size.
    expected_previous_tag_size: u32,
    mismatches: u64,
    last_mismatch: Option<(u32, u32)>,
}

impl FlvDecoder {
    /// A reader expecting the file header first.
    pub fn new(config: FlvConfig) -> Self {
        Self {
            config,
            state: State::Header,
            expected_previous_tag_size: 0,
            mismatches: 0,
            last_mismatch: None,
        }
    }

    /// How many `PreviousTagSize` fields did not match the tag before them.
    pub fn previous_tag_size_mismatches(&self) -> u64 {
        self.mismatches
    }

    /// The last mismatch seen, as `(expected, found)`.
    pub fn last_previous_tag_size_mismatch(&self) -> Option<(u32, u32)> {
        self.last_mismatch
    }

    /// Reads the next item from the front of `buf`.
    ///
    /// Returns `Ok(None)` when `buf` does not yet hold a whole item (nothing is
    /// consumed then, except header padding); `Ok(Some(item))` after consuming
    /// exactly one item.
    ///
    /// # Errors
    /// [`FlvError`] when the input is not a valid FLV stream: bad signature,
    /// `DataOffset` out of range, a tag over [`FlvConfig::max_tag_size`], a
    /// filtered (encrypted) tag, a non-zero stream id, or (strict mode only) a
    /// wrong `PreviousTagSize`. The reader must not be used after an error.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<FlvItem>, FlvError> {
        loop {
            match self.state {
                State::Header => return self.decode_header(buf),
                State::Padding { remaining } => {
                    let skip = buf.len().min(remaining as usize);
                    buf.advance(skip);
                    // `skip <= remaining`, which is a u32.
                    let remaining = remaining - skip as u32;
                    if remaining > 0 {
                        self.state = State::Padding { remaining };
                        return Ok(None);
                    }
                    self.state = State::Tags;
                }
                State::Tags => return self.decode_tag(buf),
            }
        }
    }

    /// Checks that the input ended at a clean boundary: after a tag, with or
    /// without the final `PreviousTagSize`.
    ///
    /// # Errors
    /// [`FlvError::Truncated`] when `rest` (the unread input) holds part of the
    /// header or of a tag; in strict mode, [`FlvError::PreviousTagSizeMismatch`]
    /// for a wrong final `PreviousTagSize`.
    pub fn finish(&mut self, rest: &[u8]) -> Result<(), FlvError> {
        match self.state {
            State::Header | State::Padding { .. } => Err(FlvError::Truncated {
                what: "the file header",
                remaining: rest.len(),
            }),
            State::Tags => match rest {
                [] => Ok(()),
                [a, b, c, d] => self.check_previous_tag_size(u32::from_be_bytes([*a, *b, *c, *d])),
                _ => Err(FlvError::Truncated {
                    what: "a tag",
                    remaining: rest.len(),
                }),
            },
        }
    }

    fn decode_header(&mut self, buf: &mut BytesMut) -> Result<Option<FlvItem>, FlvError> {
        // Check the signature as soon as its bytes are in, so non-FLV input fails fast.
        let sig_len = buf.len().min(FLV_SIGNATURE.len());
        if buf.get(..sig_len) != FLV_SIGNATURE.get(..sig_len) {
            let mut found = [0u8; 3];
            for (dst, src) in found.iter_mut().zip(buf.iter()) {
                *dst = *src;
            }
            return Err(FlvError::BadSignature { found });
        }
        if buf.len() < FLV_HEADER_LEN {
            return Ok(None);
        }
        buf.advance(FLV_SIGNATURE.len());
        let version = buf.get_u8();
        let flags = buf.get_u8();
        let data_offset = buf.get_u32();
        // "DataOffset: the length of this header in bytes" — 9 for version 1.
        if data_offset < FLV_HEADER_LEN as u32 {
            return Err(FlvError::DataOffsetTooSmall {
                offset: data_offset,
            });
        }
        let padding = data_offset - FLV_HEADER_LEN as u32;
        if padding > self.config.max_tag_size {
            return Err(FlvError::DataOffsetTooLarge {
                offset: data_offset,
                limit: self.config.max_tag_size,
            });
        }
        self.state = if padding > 0 {
            State::Padding { remaining: padding }
        } else {
            State::Tags
        };
        Ok(Some(FlvItem::Header(FlvHeader {
            version,
            // The reserved flag bits "shall be 0"; they are ignored, as ffmpeg does.
            has_audio: flags & FLAG_AUDIO != 0,
            has_video: flags & FLAG_VIDEO != 0,
            data_offset,
        })))
    }

    fn decode_tag(&mut self, buf: &mut BytesMut) -> Result<Option<FlvItem>, FlvError> {
        const PREFIX_LEN: usize = PREVIOUS_TAG_SIZE_LEN + FLV_TAG_HEADER_LEN;
        let Some(prefix) = buf.get(..PREFIX_LEN) else {
            return Ok(None);
        };
        let mut head = prefix;
        let previous_tag_size = head.get_u32();
        let type_byte = head.get_u8();
        let data_size = get_u24(&mut head);
        let timestamp_low = get_u24(&mut head);
        let timestamp_ext = head.get_u8();
        let stream_id = get_u24(&mut head);
        // "TimestampExtended: extension of the Timestamp field to form a SI32
        // value. This field represents the upper 8 bits."
        let timestamp = (u32::from(timestamp_ext) << 24) | timestamp_low;
        let tag_type = type_byte & TAG_TYPE_MASK;

        // Reject bad tags as soon as their header is in, before buffering a body.
        if type_byte & FILTER_BIT != 0 {
            return Err(FlvError::EncryptedTag {
                tag_type,
                timestamp,
            });
        }
        if data_size > self.config.max_tag_size {
            return Err(FlvError::TagTooLarge {
                tag_type,
                size: data_size,
                limit: self.config.max_tag_size,
            });
        }
        // "StreamID: always 0."
        if stream_id != 0 {
            return Err(FlvError::NonZeroStreamId { stream_id });
        }
        if self.config.strict_previous_tag_size {
            self.check_previous_tag_size(previous_tag_size)?;
        }
        let total = PREFIX_LEN + data_size as usize;
        if buf.len() < total {
            return Ok(None);
        }
        if !self.config.strict_previous_tag_size {
            // Cannot fail in lenient mode; counts the mismatch exactly once.
            self.check_previous_tag_size(previous_tag_size)?;
        }
        buf.advance(PREFIX_LEN);
        let data = buf.split_to(data_size as usize).freeze();
        self.expected_previous_tag_size = FLV_TAG_HEADER_LEN as u32 + data_size;
        Ok(Some(FlvItem::Tag(FlvTag {
            tag_type: FlvTagType::from_u8(tag_type),
            timestamp,
            data,
        })))
    }

    fn check_previous_tag_size(&mut self, found: u32) -> Result<(), FlvError> {
        let expected = self.expected_previous_tag_size;
        if found == expected {
            return Ok(());
        }
        if self.config.strict_previous_tag_size {
            return Err(FlvError::PreviousTagSizeMismatch { expected, found });
        }
        self.mismatches += 1;
        self.last_mismatch = Some((expected, found));
        tracing::debug!(expected, found, "FLV PreviousTagSize mismatch (ignored)");
        Ok(())
    }
}

/// Reads a big-endian 24-bit value; the caller has checked 3 bytes remain.
fn get_u24(buf: &mut &[u8]) -> u32 {
    let value = buf.get_uint(3);
    // At most 0xFF_FFFF.
    value as u32
}

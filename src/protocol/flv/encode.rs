//! The FLV writer: header, tags and `PreviousTagSize` fields (Annex E.2-E.4).

use bytes::{BufMut, BytesMut};

use super::{
    FlvError, FlvHeader, FlvTag, FLAG_AUDIO, FLAG_VIDEO, FLV_HEADER_LEN, FLV_SIGNATURE,
    FLV_TAG_HEADER_LEN, MAX_TAG_DATA_SIZE, TAG_TYPE_MASK,
};

/// Writes an FLV stream: [`encode_header`](Self::encode_header) once, then
/// [`encode_tag`](Self::encode_tag) per tag.
///
/// The output layout is the one ffmpeg and Flash Media Server write: header,
/// `PreviousTagSize0` = 0, then each tag followed by its own `PreviousTagSize`
/// (11 + data size). Files produced this way read back with [`super::FlvDecoder`]
/// with no mismatch.
#[derive(Debug, Clone, Default)]
pub struct FlvEncoder {
    bytes_written: u64,
}

impl FlvEncoder {
    /// A writer that has written nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Total bytes this writer has appended so far (the file size, e.g. for a
    /// final `onMetaData.filesize`).
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Appends the file header, zero padding up to its `data_offset` (if over 9)
    /// and `PreviousTagSize0`.
    pub fn encode_header(&mut self, header: &FlvHeader, dst: &mut BytesMut) {
        let data_offset = header.data_offset.max(FLV_HEADER_LEN as u32);
        let padding = (data_offset - FLV_HEADER_LEN as u32) as usize;
        dst.reserve(FLV_HEADER_LEN + padding + 4);
        dst.put_slice(&FLV_SIGNATURE);
        dst.put_u8(header.version);
        let mut flags = 0;
        if header.has_audio {
            flags |= FLAG_AUDIO;
        }
        if header.has_video {
            flags |= FLAG_VIDEO;
        }
        dst.put_u8(flags);
        dst.put_u32(data_offset);
        dst.put_bytes(0, padding);
        dst.put_u32(0);
        self.bytes_written += (FLV_HEADER_LEN + padding + 4) as u64;
    }

    /// Appends one tag and the `PreviousTagSize` that follows it.
    ///
    /// # Errors
    /// [`FlvError::BodyTooLarge`] when the body exceeds the 24-bit `DataSize`
    /// field; [`FlvError::InvalidTagType`] for an `Other` type over 31. Nothing
    /// is written then.
    pub fn encode_tag(&mut self, tag: &FlvTag, dst: &mut BytesMut) -> Result<(), FlvError> {
        let type_byte = tag.tag_type.as_u8();
        if type_byte & !TAG_TYPE_MASK != 0 {
            return Err(FlvError::InvalidTagType {
                tag_type: type_byte,
            });
        }
        let size = tag.data.len();
        let data_size = u32::try_from(size)
            .ok()
            .filter(|s| *s <= MAX_TAG_DATA_SIZE)
            .ok_or(FlvError::BodyTooLarge { size })?;
        dst.reserve(FLV_TAG_HEADER_LEN + size + 4);
        dst.put_u8(type_byte);
        dst.put_uint(u64::from(data_size), 3);
        dst.put_uint(u64::from(tag.timestamp & 0x00FF_FFFF), 3);
        dst.put_u8((tag.timestamp >> 24) as u8);
        dst.put_uint(0, 3); // StreamID: always 0.
        dst.put_slice(&tag.data);
        dst.put_u32(FLV_TAG_HEADER_LEN as u32 + data_size);
        self.bytes_written += (FLV_TAG_HEADER_LEN + size + 4) as u64;
        Ok(())
    }
}

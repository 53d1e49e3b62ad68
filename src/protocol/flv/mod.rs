//! FLV files and streams (Adobe "Video File Format Specification" v10.1, Annex E).
//!
//! An FLV file is a 9-byte header (`"FLV"`, version, audio/video flags, data
//! offset), then `PreviousTagSize0` (always 0), then tags, each followed by its
//! own `PreviousTagSize` (11 + the tag's data size). A tag has an 11-byte header
//! (type, 24-bit data size, 24-bit timestamp plus an 8-bit extension holding the
//! high bits, 24-bit stream id that is always 0) and a body whose format is the
//! one of an RTMP audio (8), video (9) or script data (18) message body — see
//! [`crate::protocol::media`] to classify audio/video bodies and [`ScriptTag`] for
//! script data.
//!
//! - [`FlvDecoder`]: incremental reader following the decode contract (`Ok(None)`
//!   = feed more bytes); works with input split at any byte. Tag bodies are
//!   zero-copy [`Bytes`] slices of the input buffer.
//! - [`FlvEncoder`]: writes the header, tags and the `PreviousTagSize` fields.
//! - [`ScriptTag`]: a script-data tag (`onMetaData` …) as AMF0 values.
//!
//! See `docs/protocol/media.md` for the limits enforced and how files seen in the
//! wild deviate from the specification.

mod decode;
mod encode;
mod script;

use bytes::Bytes;

pub use decode::{FlvDecoder, FlvItem};
pub use encode::FlvEncoder;
pub use script::{ScriptTag, ON_METADATA, SET_DATA_FRAME};

use crate::protocol::amf::AmfError;

/// The three signature bytes every FLV file starts with.
pub const FLV_SIGNATURE: [u8; 3] = *b"FLV";
/// Length of the FLV file header as defined by version 1 (its smallest legal
/// `DataOffset`).
pub const FLV_HEADER_LEN: usize = 9;
/// Length of a tag header (type, data size, timestamp, extension, stream id).
pub const FLV_TAG_HEADER_LEN: usize = 11;
/// Length of a `PreviousTagSize` field.
pub const PREVIOUS_TAG_SIZE_LEN: usize = 4;
/// Largest data size the 24-bit `DataSize` field can express.
pub const MAX_TAG_DATA_SIZE: u32 = 0x00FF_FFFF;
/// Tag type of an audio tag.
pub const TAG_TYPE_AUDIO: u8 = 8;
/// Tag type of a video tag.
pub const TAG_TYPE_VIDEO: u8 = 9;
/// Tag type of a script data tag.
pub const TAG_TYPE_SCRIPT_DATA: u8 = 18;

/// Bit 5 of the tag type byte: the tag is filtered (encrypted) and its body
/// starts with an encryption header.
const FILTER_BIT: u8 = 0x20;
/// The low 5 bits of the tag type byte are the tag type.
const TAG_TYPE_MASK: u8 = 0x1F;
/// Header flag: audio tags are present.
const FLAG_AUDIO: u8 = 0x04;
/// Header flag: video tags are present.
const FLAG_VIDEO: u8 = 0x01;

/// Settings of the FLV reader. A plain struct so the settings layer can fill it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlvConfig {
    /// Largest tag body (`DataSize`) accepted; larger tags are an error before any
    /// of the body is buffered. Also bounds the padding skipped after a header
    /// whose `DataOffset` is larger than 9.
    pub max_tag_size: u32,
    /// When `true`, a `PreviousTagSize` that does not equal 11 + the previous
    /// tag's data size is an error. When `false` (the default) it is counted (see
    /// [`FlvDecoder::previous_tag_size_mismatches`]) and reading goes on, because
    /// files with wrong values are common (see the doc page).
    pub strict_previous_tag_size: bool,
}

impl Default for FlvConfig {
    fn default() -> Self {
        Self {
            max_tag_size: 8 * 1024 * 1024,
            strict_previous_tag_size: false,
        }
    }
}

/// The FLV file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlvHeader {
    /// File version; 1 for every file in existence. Other values are accepted on
    /// read and kept.
    pub version: u8,
    /// `TypeFlagsAudio`: audio tags are present.
    pub has_audio: bool,
    /// `TypeFlagsVideo`: video tags are present.
    pub has_video: bool,
    /// `DataOffset`: the header's length, 9 for version 1. Larger values are
    /// tolerated on read (the extra bytes are skipped) and written back as zero
    /// padding.
    pub data_offset: u32,
}

impl FlvHeader {
    /// A version 1 header with the given flags and the standard 9-byte length.
    pub fn new(has_audio: bool, has_video: bool) -> Self {
        Self {
            version: 1,
            has_audio,
            has_video,
            data_offset: FLV_HEADER_LEN as u32,
        }
    }
}

/// The kind of a tag, from the low 5 bits of its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlvTagType {
    /// 8: an audio tag (body as an RTMP audio message).
    Audio,
    /// 9: a video tag (body as an RTMP video message).
    Video,
    /// 18: script data (AMF0 name and values, e.g. `onMetaData`).
    ScriptData,
    /// Any other 5-bit type; passed through so a caller can skip it.
    Other(u8),
}

impl FlvTagType {
    /// The type for a 5-bit wire value (higher bits are ignored).
    pub fn from_u8(value: u8) -> Self {
        match value & TAG_TYPE_MASK {
            TAG_TYPE_AUDIO => Self::Audio,
            TAG_TYPE_VIDEO => Self::Video,
            TAG_TYPE_SCRIPT_DATA => Self::ScriptData,
            other => Self::Other(other),
        }
    }

    /// The wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Audio => TAG_TYPE_AUDIO,
            Self::Video => TAG_TYPE_VIDEO,
            Self::ScriptData => TAG_TYPE_SCRIPT_DATA,
            Self::Other(other) => other,
        }
    }
}

/// One FLV tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlvTag {
    /// What the body holds.
    pub tag_type: FlvTagType,
    /// Milliseconds; the wire carries the low 24 bits and an extension byte with
    /// bits 24-31.
    pub timestamp: u32,
    /// The tag body (for audio/video: exactly an RTMP message body).
    pub data: Bytes,
}

impl FlvTag {
    /// A tag of the given type.
    pub fn new(tag_type: FlvTagType, timestamp: u32, data: Bytes) -> Self {
        Self {
            tag_type,
            timestamp,
            data,
        }
    }
}

/// Why FLV data could not be read or written.
///
/// A read error means the input is not a usable FLV stream: FLV has no sync
/// markers, so the reader cannot resynchronise after one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlvError {
    /// The file does not start with `"FLV"`.
    #[error("not an FLV file: signature {found:02x?}")]
    BadSignature {
        /// The first three bytes.
        found: [u8; 3],
    },
    /// `DataOffset` smaller than the 9-byte header itself.
    #[error("FLV header DataOffset {offset} is smaller than the 9-byte header")]
    DataOffsetTooSmall {
        /// The offset on the wire.
        offset: u32,
    },
    /// `DataOffset` leaves more padding than [`FlvConfig::max_tag_size`].
    #[error("FLV header DataOffset {offset} exceeds the limit of {limit} bytes")]
    DataOffsetTooLarge {
        /// The offset on the wire.
        offset: u32,
        /// The configured limit.
        limit: u32,
    },
    /// A tag whose data size exceeds [`FlvConfig::max_tag_size`].
    #[error("FLV tag of type {tag_type} declares {size} bytes, over the limit of {limit}")]
    TagTooLarge {
        /// The tag type byte (low 5 bits).
        tag_type: u8,
        /// The declared data size.
        size: u32,
        /// The configured limit.
        limit: u32,
    },
    /// A filtered (encrypted) tag: bit 5 of the type byte is set. Its body starts
    /// with an encryption header and filter parameters and cannot be relayed as
    /// media.
    #[error("FLV tag of type {tag_type} at timestamp {timestamp} is filtered (encrypted); not supported")]
    EncryptedTag {
        /// The tag type (low 5 bits).
        tag_type: u8,
        /// The tag's timestamp.
        timestamp: u32,
    },
    /// A tag whose `StreamID` is not 0 ("always 0", spec Annex E.4.1). In a
    /// stream with no sync markers this almost always means misaligned input.
    #[error("FLV tag stream id is {stream_id}, must be 0 (corrupt or misaligned input)")]
    NonZeroStreamId {
        /// The stream id on the wire.
        stream_id: u32,
    },
    /// A `PreviousTagSize` that does not match the previous tag (only reported
    /// as an error with [`FlvConfig::strict_previous_tag_size`]).
    #[error("PreviousTagSize is {found}, expected {expected}")]
    PreviousTagSizeMismatch {
        /// 11 + the previous tag's data size (0 before the first tag).
        expected: u32,
        /// The value on the wire.
        found: u32,
    },
    /// The input ended in the middle of the header or of a tag.
    #[error("FLV input ends in the middle of {what} ({remaining} bytes left over)")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes left unread.
        remaining: usize,
    },
    /// A tag body too large for the 24-bit `DataSize` field (encoding).
    #[error("FLV tag body of {size} bytes does not fit the 24-bit DataSize field")]
    BodyTooLarge {
        /// The body length.
        size: usize,
    },
    /// A tag type that does not fit in 5 bits (encoding).
    #[error("FLV tag type {tag_type} does not fit in 5 bits")]
    InvalidTagType {
        /// The requested type.
        tag_type: u8,
    },
    /// Script data whose first value is not the string naming it.
    #[error("FLV script data must start with a string name, found {found}")]
    ScriptNameNotString {
        /// The type of the first value (`"nothing"` for an empty body).
        found: &'static str,
    },
    /// Script data that is not valid AMF0.
    #[error("FLV script data: {0}")]
    Amf(#[from] AmfError),
}

#[cfg(test)]
pub(crate) mod tests;

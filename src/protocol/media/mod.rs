//! Media sniffing: classify RTMP/FLV audio (type 8) and video (type 9) payloads
//! without decoding the media.
//!
//! The server needs a handful of facts per frame to cache a GOP for late joiners
//! and to drop frames for slow players: is it a keyframe, a codec sequence header
//! (decoder configuration), an end of sequence, or a frame a player can skip?
//! [`VideoTagInfo::parse`] and [`AudioTagInfo::parse`] answer that for any codec,
//! in both signalling schemes:
//!
//! - the legacy FLV `VIDEODATA`/`AUDIODATA` headers (FLV spec v10.1 Annex E.4.2,
//!   E.4.3), including the de-facto legacy codec ids HEVC = 12 and AV1 = 13 of
//!   the widely deployed ffmpeg patches used by Chinese CDNs;
//! - Enhanced RTMP (veovera E-RTMP v1 and v2): the `IsExHeader` bit, FourCC
//!   codecs, packet types, `ModEx` modifier extensions and multitrack messages.
//!
//! [`AvcConfig`], [`HevcConfig`] and [`AacConfig`] read the few codec-config facts
//! the admin API shows (profile/level, sample rate, channels).
//!
//! Parsing is bounds-checked and allocation-free. Unknown-but-valid ids never
//! error: they classify conservatively (never droppable). See
//! `docs/protocol/media.md`.

mod audio;
mod config;
mod reader;
mod video;

pub use audio::{AudioCodec, AudioPacket, AudioTagInfo, SoundParams};
pub use config::{AacConfig, AvcConfig, HevcConfig};
pub use video::{VideoCodec, VideoFrameType, VideoPacket, VideoTagInfo};

/// Builds a FourCC code: the four ASCII bytes read as a big-endian u32
/// (`"av01"` = 0x6176_3031).
pub const fn fourcc(code: &[u8; 4]) -> u32 {
    u32::from_be_bytes(*code)
}

/// How the tracks of an Enhanced RTMP multitrack message are laid out
/// (`AvMultitrackType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AvMultitrackType {
    /// 0: one track, with a track id, no size field.
    OneTrack,
    /// 1: several tracks of one codec, each with an id and a 24-bit size.
    ManyTracks,
    /// 2: several tracks, each with its own FourCC, id and size.
    ManyTracksManyCodecs,
    /// 3-15: reserved; the track list cannot be walked.
    Reserved(u8),
}

impl AvMultitrackType {
    fn from_u4(value: u8) -> Self {
        match value {
            0 => Self::OneTrack,
            1 => Self::ManyTracks,
            2 => Self::ManyTracksManyCodecs,
            other => Self::Reserved(other),
        }
    }
}

/// What a multitrack message holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Multitrack {
    /// The layout.
    pub kind: AvMultitrackType,
    /// How many tracks the message carries (0 for a reserved layout).
    pub track_count: usize,
    /// The id of the first track (the info's codec and data are the first
    /// track's); `None` for a reserved layout or an empty track list.
    pub first_track_id: Option<u8>,
}

/// Why a media payload could not be classified.
///
/// These are malformed payloads, not unknown codecs. A caller that only needs
/// to route the frame should treat it like an unknown codec: relay it, never
/// drop it, never start a GOP at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The payload ended inside a header field.
    #[error(
        "media payload truncated: {what} needs {needed} bytes at offset {offset}, payload is {len}"
    )]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Where the field starts.
        offset: usize,
        /// The payload length.
        len: usize,
    },
    /// A multitrack message whose inner packet type is Multitrack again ("This
    /// fetch MUST not result in a Multitrack", E-RTMP v2).
    #[error("nested multitrack packet type in an Enhanced RTMP {kind} message")]
    NestedMultitrack {
        /// `"audio"` or `"video"`.
        kind: &'static str,
    },
    /// A track whose `sizeOfTrack` runs past the end of the payload.
    #[error("multitrack track {track_id} declares {size} bytes, only {remaining} remain")]
    TrackSizeExceedsPayload {
        /// The track id.
        track_id: u8,
        /// The declared size.
        size: usize,
        /// Bytes left in the payload.
        remaining: usize,
    },
    /// A codec configuration record with an unusable field.
    #[error("invalid codec configuration: {reason}")]
    InvalidConfig {
        /// What was wrong.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests;

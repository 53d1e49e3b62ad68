//! [`Frame`]: one media message as the fan-out sees it, classified once at
//! ingest.
//!
//! The classification uses the protocol's sniffers
//! ([`VideoTagInfo`], [`AudioTagInfo`]) and follows `docs/protocol/media.md`: a
//! payload the sniffers cannot read (malformed) is relayed but never dropped,
//! never a keyframe and never cached as a header.

use bytes::Bytes;

use crate::protocol::flv::{ON_METADATA, SET_DATA_FRAME};
use crate::protocol::media::{
    AudioCodec, AudioPacket, AudioTagInfo, VideoCodec, VideoPacket, VideoTagInfo,
};

/// AMF0 string marker.
const AMF0_STRING: u8 = 0x02;
/// Name of the data message that asks a server to forget the stored metadata
/// (FMS "data keyframes").
const CLEAR_DATA_FRAME: &str = "@clearDataFrame";

/// Which RTMP message family a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// Audio (message type 8).
    Audio,
    /// Video (message type 9).
    Video,
    /// AMF0 data (message type 18): metadata, cue points, text.
    Data,
}

/// The codec of an audio or video frame, for the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// A video codec.
    Video(VideoCodec),
    /// An audio codec.
    Audio(AudioCodec),
}

/// Which decoder configuration a header frame carries. The GOP cache keeps the
/// latest frame of each kind (per E-RTMP track) for late joiners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderKind {
    /// Video sequence header (AVC/HEVC packet type 0, E-RTMP SequenceStart).
    VideoSequenceStart,
    /// E-RTMP MPEG2TSSequenceStart (AV1 video descriptor).
    VideoMpeg2TsSequenceStart,
    /// E-RTMP video Metadata (e.g. HDR `colorInfo`): not a decoder config, but
    /// it describes every following frame, so it is cached like one.
    VideoMetadata,
    /// Audio sequence header (AAC packet type 0, E-RTMP SequenceStart).
    AudioSequenceStart,
    /// E-RTMP audio MultichannelConfig.
    AudioMultichannelConfig,
}

/// What a data (type 18) frame means to the fan-out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// Stream metadata (`@setDataFrame` with the prefix stripped, or a plain
    /// `onMetaData`): replaces the cached metadata.
    Metadata,
    /// `@clearDataFrame`: forget the cached metadata. Not for players.
    ClearMetadata,
    /// Anything else (`onCuePoint`, `onTextData`, …): relayed live, not cached.
    Other,
}

/// One audio, video or data message, as shared by the GOP cache and every
/// player queue. Cloning it clones a [`Bytes`] handle (a reference count), never
/// the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    kind: FrameKind,
    timestamp: u32,
    payload: Bytes,
    keyframe: bool,
    droppable: bool,
    header: Option<HeaderKind>,
    /// E-RTMP multitrack: the (first) track id, part of the header slot key.
    track: Option<u8>,
    codec: Option<Codec>,
    data: Option<DataKind>,
}

impl Frame {
    fn new(kind: FrameKind, timestamp: u32, payload: Bytes) -> Self {
        Self {
            kind,
            timestamp,
            payload,
            keyframe: false,
            droppable: false,
            header: None,
            track: None,
            codec: None,
            data: None,
        }
    }

    /// A video message body (= FLV video tag body) at `timestamp` (RTMP ms).
    pub fn video(timestamp: u32, payload: Bytes) -> Self {
        let mut frame = Self::new(FrameKind::Video, timestamp, payload);
        // Malformed payloads keep the defaults: relayed, never dropped, never a
        // keyframe or header (media.md "treat an error like an unknown codec").
        if let Ok(info) = VideoTagInfo::parse(&frame.payload) {
            frame.keyframe = info.is_keyframe();
            frame.droppable = info.is_droppable();
            frame.header = match info.packet {
                VideoPacket::SequenceStart => Some(HeaderKind::VideoSequenceStart),
                VideoPacket::Mpeg2TsSequenceStart => Some(HeaderKind::VideoMpeg2TsSequenceStart),
                VideoPacket::Metadata => Some(HeaderKind::VideoMetadata),
                _ => None,
            };
            frame.track = info.multitrack.and_then(|m| m.first_track_id);
            frame.codec = Some(Codec::Video(info.codec()));
        }
        frame
    }

    /// An audio message body (= FLV audio tag body) at `timestamp` (RTMP ms).
    pub fn audio(timestamp: u32, payload: Bytes) -> Self {
        let mut frame = Self::new(FrameKind::Audio, timestamp, payload);
        if let Ok(info) = AudioTagInfo::parse(&frame.payload) {
            frame.droppable = info.is_droppable();
            frame.header = match info.packet {
                AudioPacket::SequenceStart => Some(HeaderKind::AudioSequenceStart),
                AudioPacket::MultichannelConfig => Some(HeaderKind::AudioMultichannelConfig),
                _ => None,
            };
            frame.track = info.multitrack.and_then(|m| m.first_track_id);
            frame.codec = Some(Codec::Audio(info.codec()));
        }
        frame
    }

    /// An AMF0 data message body (type 18) at `timestamp`.
    ///
    /// `@setDataFrame(name, values…)` is what a publisher sends to have the
    /// server store metadata; players must receive `name(values…)`, so the
    /// leading `@setDataFrame` string is cut off here — a zero-copy
    /// [`Bytes::slice`] — and the frame is [`DataKind::Metadata`]. A plain
    /// `onMetaData` is metadata too (as nginx-rtmp and SRS treat it). Nothing
    /// else is parsed: the admin API can decode the metadata with
    /// [`ScriptTag::parse`](crate::protocol::flv::ScriptTag::parse) on demand.
    pub fn data(timestamp: u32, payload: Bytes) -> Self {
        let mut frame = Self::new(FrameKind::Data, timestamp, payload);
        let kind = match leading_amf0_string(&frame.payload) {
            Some((SET_DATA_FRAME, rest_at)) if frame.payload.get(rest_at) == Some(&AMF0_STRING) => {
                frame.payload = frame.payload.slice(rest_at..);
                DataKind::Metadata
            }
            Some((ON_METADATA, _)) => DataKind::Metadata,
            Some((CLEAR_DATA_FRAME, _)) => DataKind::ClearMetadata,
            _ => DataKind::Other,
        };
        frame.data = Some(kind);
        frame
    }

    /// The same frame at another timestamp (the payload is shared).
    pub fn with_timestamp(&self, timestamp: u32) -> Self {
        Self {
            timestamp,
            ..self.clone()
        }
    }

    /// Audio, video or data.
    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// The RTMP timestamp in milliseconds (wraps at 2^32).
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// The message body, shared.
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    /// Whether the payload is empty (ffmpeg sends 0-byte media at times).
    pub fn is_empty(&self) -> bool {
        self.payload.is_empty()
    }

    /// A coded video keyframe: a player may start decoding here.
    pub fn is_keyframe(&self) -> bool {
        self.keyframe
    }

    /// Decoder configuration a player needs before any frame: video
    /// SequenceStart / MPEG2TSSequenceStart, audio SequenceStart /
    /// MultichannelConfig. (E-RTMP video Metadata is cached like a header but is
    /// not one; see [`header_kind`](Self::header_kind).)
    pub fn is_sequence_header(&self) -> bool {
        matches!(
            self.header,
            Some(
                HeaderKind::VideoSequenceStart
                    | HeaderKind::VideoMpeg2TsSequenceStart
                    | HeaderKind::AudioSequenceStart
                    | HeaderKind::AudioMultichannelConfig
            )
        )
    }

    /// Which header slot this frame fills in the GOP cache, if any.
    pub fn header_kind(&self) -> Option<HeaderKind> {
        self.header
    }

    /// The E-RTMP multitrack track id (of the first track), if multitrack.
    pub fn track(&self) -> Option<u8> {
        self.track
    }

    /// Whether a slow player may skip this frame: video inter frames and coded
    /// audio of a known layout. Never keyframes, headers, data or anything the
    /// sniffers could not read.
    pub fn is_droppable(&self) -> bool {
        self.droppable
    }

    /// The codec, for audio/video the sniffers could read.
    pub fn codec(&self) -> Option<Codec> {
        self.codec
    }

    /// For data frames, what they mean to the fan-out.
    pub fn data_kind(&self) -> Option<DataKind> {
        self.data
    }

    /// Metadata (see [`DataKind::Metadata`]).
    pub fn is_metadata(&self) -> bool {
        self.data == Some(DataKind::Metadata)
    }
}

/// Reads the leading AMF0 string of a data body: its text (when valid UTF-8)
/// and the offset just after it. Bounds-checked; `None` for anything else.
fn leading_amf0_string(payload: &[u8]) -> Option<(&str, usize)> {
    let (&marker, rest) = payload.split_first()?;
    if marker != AMF0_STRING {
        return None;
    }
    let len_bytes: [u8; 2] = rest.get(..2)?.try_into().ok()?;
    let len = usize::from(u16::from_be_bytes(len_bytes));
    let text = rest.get(2..2 + len)?;
    Some((std::str::from_utf8(text).ok()?, 3 + len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::flv::ScriptTag;
    use crate::protocol::limits::AmfLimits;

    /// AMF0 string value bytes (marker, u16 length, text).
    pub(crate) fn amf0_string(text: &str) -> Vec<u8> {
        let mut out = vec![AMF0_STRING];
        out.extend_from_slice(&u16::try_from(text.len()).unwrap().to_be_bytes());
        out.extend_from_slice(text.as_bytes());
        out
    }

    #[test]
    fn avc_frames_are_classified_once_at_ingest() {
        // FLV spec E.4.3: 0x17 = keyframe + AVC; packet type 0 = sequence header.
        let header = Frame::video(0, Bytes::from_static(&[0x17, 0x00, 0, 0, 0, 0x01]));
        assert!(header.is_sequence_header() && !header.is_keyframe() && !header.is_droppable());
        assert_eq!(header.codec(), Some(Codec::Video(VideoCodec::Avc)));
        let key = Frame::video(40, Bytes::from_static(&[0x17, 0x01, 0, 0, 0, 0x65]));
        assert!(key.is_keyframe() && !key.is_droppable() && !key.is_sequence_header());
        let inter = Frame::video(80, Bytes::from_static(&[0x27, 0x01, 0, 0, 0, 0x41]));
        assert!(inter.is_droppable() && !inter.is_keyframe());
        assert_eq!(inter.kind(), FrameKind::Video);
        assert_eq!(inter.timestamp(), 80);
    }

    #[test]
    fn enhanced_rtmp_frames_are_classified() {
        // E-RTMP v2: 0x90 = IsExHeader | key | SequenceStart, FourCC hvc1.
        let start = Frame::video(0, Bytes::from_static(b"\x90hvc1\x01"));
        assert!(start.is_sequence_header());
        assert_eq!(start.header_kind(), Some(HeaderKind::VideoSequenceStart));
        assert_eq!(start.codec(), Some(Codec::Video(VideoCodec::Hevc)));
        // 0x93 = key | CodedFramesX; 0xA3 = inter | CodedFramesX.
        assert!(Frame::video(0, Bytes::from_static(b"\x93av01\x12")).is_keyframe());
        assert!(Frame::video(0, Bytes::from_static(b"\xA3av01\x12")).is_droppable());
        // 0x95 = MPEG2TSSequenceStart; 0x84 = Metadata.
        let ts = Frame::video(0, Bytes::from_static(b"\x95av01\x80"));
        assert_eq!(
            ts.header_kind(),
            Some(HeaderKind::VideoMpeg2TsSequenceStart)
        );
        let meta = Frame::video(0, Bytes::from_static(b"\x84vp09\x02"));
        assert_eq!(meta.header_kind(), Some(HeaderKind::VideoMetadata));
        assert!(!meta.is_sequence_header() && !meta.is_droppable());
        // Audio: 0x90 = ExHeader SequenceStart (Opus); 0x94 MultichannelConfig;
        // 0x91 CodedFrames.
        let opus = Frame::audio(0, Bytes::from_static(b"\x90Opus\x01"));
        assert!(opus.is_sequence_header());
        assert_eq!(opus.codec(), Some(Codec::Audio(AudioCodec::Opus)));
        let mc = Frame::audio(0, Bytes::from_static(b"\x94Opus\x01\x02\0\0\0\x03"));
        assert_eq!(mc.header_kind(), Some(HeaderKind::AudioMultichannelConfig));
        assert!(mc.is_sequence_header());
        assert!(Frame::audio(0, Bytes::from_static(b"\x91Opus\xFC")).is_droppable());
    }

    #[test]
    fn aac_header_and_raw_frames() {
        // ffmpeg's AAC sequence header (0xAF 0x00 + AudioSpecificConfig).
        let header = Frame::audio(0, Bytes::from_static(&[0xAF, 0x00, 0x12, 0x08]));
        assert!(header.is_sequence_header() && !header.is_droppable());
        let raw = Frame::audio(23, Bytes::from_static(&[0xAF, 0x01, 0x21]));
        assert!(raw.is_droppable() && !raw.is_sequence_header() && !raw.is_keyframe());
    }

    #[test]
    fn malformed_and_empty_payloads_are_never_dropped_or_keyframes() {
        // AVC keyframe cut inside its composition time.
        for frame in [
            Frame::video(0, Bytes::from_static(&[0x17, 0x01, 0x00])),
            Frame::video(0, Bytes::new()),
            Frame::audio(0, Bytes::from_static(&[0xAF])),
            Frame::audio(0, Bytes::new()),
        ] {
            assert!(!frame.is_droppable() && !frame.is_keyframe());
            assert!(!frame.is_sequence_header());
        }
        assert_eq!(
            Frame::video(0, Bytes::from_static(&[0x17, 0x01])).codec(),
            None
        );
    }

    #[test]
    fn set_data_frame_is_stripped_without_copying() {
        let mut body = amf0_string(SET_DATA_FRAME);
        body.extend(amf0_string(ON_METADATA));
        body.extend([0x05]); // AMF0 null
        let payload = Bytes::from(body);
        let frame = Frame::data(0, payload.clone());
        assert!(frame.is_metadata());
        assert_eq!(frame.payload().as_ptr(), payload[16..].as_ptr());
        let script = ScriptTag::parse(frame.payload().clone(), AmfLimits::default()).unwrap();
        assert!(script.is_metadata());
    }

    #[test]
    fn data_messages_are_sorted_by_their_name() {
        let on_meta = Frame::data(0, Bytes::from(amf0_string(ON_METADATA)));
        assert_eq!(on_meta.data_kind(), Some(DataKind::Metadata));
        assert_eq!(on_meta.payload().len(), 13);
        let clear = Frame::data(0, Bytes::from(amf0_string(CLEAR_DATA_FRAME)));
        assert_eq!(clear.data_kind(), Some(DataKind::ClearMetadata));
        let cue = Frame::data(0, Bytes::from(amf0_string("onCuePoint")));
        assert_eq!(cue.data_kind(), Some(DataKind::Other));
        // @setDataFrame not followed by a string: relayed as is, not metadata.
        let odd = Frame::data(0, Bytes::from(amf0_string(SET_DATA_FRAME)));
        assert_eq!(odd.data_kind(), Some(DataKind::Other));
        for frame in [on_meta, clear, cue, odd] {
            assert!(!frame.is_droppable() && !frame.is_keyframe());
        }
    }

    #[test]
    fn every_prefix_of_a_data_body_classifies_without_panic() {
        let mut body = amf0_string(SET_DATA_FRAME);
        body.extend(amf0_string(ON_METADATA));
        for end in 0..=body.len() {
            let _ = Frame::data(0, Bytes::copy_from_slice(&body[..end]));
            let _ = Frame::video(0, Bytes::copy_from_slice(&body[..end]));
            let _ = Frame::audio(0, Bytes::copy_from_slice(&body[..end]));
        }
    }
}

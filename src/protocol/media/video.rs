//! Video payload classification: legacy `VIDEODATA` (FLV spec Annex E.4.3) and
//! Enhanced RTMP `ExVideoTagHeader` (E-RTMP v1/v2 "Enhanced Video").

use std::fmt;

use super::reader::{read_enhanced_body, skip_mod_ex, Labels, Reader};
use super::{fourcc, AvMultitrackType, MediaError, Multitrack};

/// `IsExVideoHeader`: the top bit of the first byte.
const EX_HEADER_BIT: u8 = 0x80;
/// Legacy codec ids whose body starts with AVCPacketType + SI24 composition
/// time: AVC (7) and the de-facto HEVC (12) and AV1 (13).
const LEGACY_AVC_LIKE: [u8; 3] = [7, 12, 13];
/// E-RTMP video packet types.
const PT_SEQUENCE_START: u8 = 0;
const PT_CODED_FRAMES: u8 = 1;
const PT_SEQUENCE_END: u8 = 2;
const PT_CODED_FRAMES_X: u8 = 3;
const PT_METADATA: u8 = 4;
const PT_MPEG2TS_SEQUENCE_START: u8 = 5;
const PT_MULTITRACK: u8 = 6;
/// Names of video header fields in errors.
const LABELS: Labels = Labels {
    kind: "video",
    multitrack_type: "video multitrack type",
    fourcc: "video FourCC",
};
/// Frame type of a video info/command frame.
const FRAME_TYPE_COMMAND: u8 = 5;

/// `FrameType` (UB[4] legacy, UB[3] enhanced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoFrameType {
    /// 1: keyframe (a seekable frame).
    Key,
    /// 2: inter frame (non-seekable).
    Inter,
    /// 3: disposable inter frame (H.263 only).
    DisposableInter,
    /// 4: generated keyframe (reserved for server use).
    GeneratedKey,
    /// 5: video info/command frame.
    Command,
    /// 0 or 6-15: reserved.
    Reserved(u8),
}

impl VideoFrameType {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Key,
            2 => Self::Inter,
            3 => Self::DisposableInter,
            4 => Self::GeneratedKey,
            5 => Self::Command,
            other => Self::Reserved(other),
        }
    }
}

/// The video codec, however it was signalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    /// Legacy id 2: Sorenson H.263.
    SorensonH263,
    /// Legacy id 3: Screen video.
    Screen,
    /// Legacy id 4: On2 VP6.
    Vp6,
    /// Legacy id 5: On2 VP6 with alpha.
    Vp6Alpha,
    /// Legacy id 6: Screen video version 2.
    Screen2,
    /// Legacy id 7 or FourCC `avc1`: H.264/AVC.
    Avc,
    /// FourCC `hvc1` or de-facto legacy id 12: H.265/HEVC.
    Hevc,
    /// FourCC `av01` or de-facto legacy id 13: AV1.
    Av1,
    /// FourCC `vp08`.
    Vp8,
    /// FourCC `vp09`.
    Vp9,
    /// Another FourCC (E-RTMP), as its big-endian u32.
    FourCc(u32),
    /// Another legacy codec id (0, 1, 8-11, 14, 15).
    Unknown(u8),
    /// No codec is signalled: an empty payload or an E-RTMP command frame.
    NotSignalled,
}

impl VideoCodec {
    fn from_legacy_id(id: u8) -> Self {
        match id {
            2 => Self::SorensonH263,
            3 => Self::Screen,
            4 => Self::Vp6,
            5 => Self::Vp6Alpha,
            6 => Self::Screen2,
            7 => Self::Avc,
            12 => Self::Hevc,
            13 => Self::Av1,
            other => Self::Unknown(other),
        }
    }

    /// The codec for an E-RTMP `VideoFourCc`.
    pub fn from_fourcc(code: u32) -> Self {
        match code {
            c if c == fourcc(b"avc1") => Self::Avc,
            c if c == fourcc(b"hvc1") => Self::Hevc,
            c if c == fourcc(b"av01") => Self::Av1,
            c if c == fourcc(b"vp08") => Self::Vp8,
            c if c == fourcc(b"vp09") => Self::Vp9,
            other => Self::FourCc(other),
        }
    }
}

impl fmt::Display for VideoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SorensonH263 => f.write_str("H.263"),
            Self::Screen => f.write_str("Screen"),
            Self::Vp6 => f.write_str("VP6"),
            Self::Vp6Alpha => f.write_str("VP6A"),
            Self::Screen2 => f.write_str("Screen2"),
            Self::Avc => f.write_str("H.264"),
            Self::Hevc => f.write_str("H.265"),
            Self::Av1 => f.write_str("AV1"),
            Self::Vp8 => f.write_str("VP8"),
            Self::Vp9 => f.write_str("VP9"),
            Self::FourCc(code) => write_fourcc(f, *code),
            Self::Unknown(id) => write!(f, "codec {id}"),
            Self::NotSignalled => f.write_str("none"),
        }
    }
}

/// Writes a FourCC as text when printable, else as hex.
pub(super) fn write_fourcc(f: &mut fmt::Formatter<'_>, code: u32) -> fmt::Result {
    let bytes = code.to_be_bytes();
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        bytes
            .iter()
            .try_for_each(|b| write!(f, "{}", char::from(*b)))
    } else {
        write!(f, "0x{code:08x}")
    }
}

/// What a video message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoPacket {
    /// Decoder configuration (AVC/HEVC packet type 0, E-RTMP SequenceStart).
    SequenceStart,
    /// E-RTMP MPEG2TSSequenceStart (an AV1 video descriptor).
    Mpeg2TsSequenceStart,
    /// Coded frame(s), with a composition time (AVC/HEVC packet type 1,
    /// E-RTMP CodedFrames), or a whole frame of a legacy codec with no packet
    /// type (H.263, VP6, Screen).
    CodedFrames,
    /// Coded frame(s) with an implicit zero composition time (E-RTMP
    /// CodedFramesX).
    CodedFramesX,
    /// End of sequence (AVC/HEVC packet type 2, E-RTMP SequenceEnd).
    SequenceEnd,
    /// E-RTMP Metadata: AMF-encoded video metadata such as `colorInfo`.
    Metadata,
    /// A video info/command frame; the UI8 command (0 = start of client-side
    /// seek, 1 = end of seek).
    Command(u8),
    /// An unknown packet type (AVCPacketType > 2, E-RTMP 8-15, a ModEx after a
    /// multitrack header).
    Unknown(u8),
    /// A legacy codec whose layout is unknown: only the frame type is known.
    Unclassified,
    /// A zero-length payload (ffmpeg sends these at times).
    Empty,
}

/// What [`VideoTagInfo::parse`] learned about one video payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoTagInfo {
    /// The frame type (ignored by E-RTMP for Metadata packets).
    pub frame_type: VideoFrameType,
    /// The codec (of the first track, for multitrack messages).
    pub codec: VideoCodec,
    /// What the payload carries.
    pub packet: VideoPacket,
    /// Composition time offset in milliseconds (PTS - DTS); 0 when absent.
    pub composition_time: i32,
    /// Whether the E-RTMP `IsExVideoHeader` bit was set.
    pub enhanced: bool,
    /// The multitrack layout, for E-RTMP multitrack messages.
    pub multitrack: Option<Multitrack>,
    /// E-RTMP v2 ModEx `TimestampOffsetNano`, if present.
    pub timestamp_offset_nanos: Option<u32>,
    /// Where the codec data (of the first track) starts in the payload: after
    /// the packet type and composition time, e.g. the
    /// AVCDecoderConfigurationRecord of a sequence start.
    pub data_offset: usize,
    /// Length of that codec data.
    pub data_len: usize,
}

impl VideoTagInfo {
    fn new(frame_type: VideoFrameType, codec: VideoCodec, packet: VideoPacket) -> Self {
        Self {
            frame_type,
            codec,
            packet,
            composition_time: 0,
            enhanced: false,
            multitrack: None,
            timestamp_offset_nanos: None,
            data_offset: 0,
            data_len: 0,
        }
    }

    /// Classifies one video message body (= FLV video tag body).
    ///
    /// # Errors
    /// [`MediaError`] when a header field is cut short, a multitrack track size
    /// runs past the payload, or a multitrack message nests another. Unknown
    /// codec ids, FourCCs, frame types and packet types are not errors.
    pub fn parse(payload: &[u8]) -> Result<Self, MediaError> {
        let Some(&first) = payload.first() else {
            return Ok(Self::new(
                VideoFrameType::Reserved(0),
                VideoCodec::NotSignalled,
                VideoPacket::Empty,
            ));
        };
        let mut r = Reader::new(payload);
        r.u8("video header")?;
        if first & EX_HEADER_BIT != 0 {
            parse_enhanced(&mut r, first)
        } else {
            let mut info = parse_legacy(&mut r, first)?;
            info.data_offset = r.pos();
            info.data_len = r.remaining();
            Ok(info)
        }
    }

    /// The codec.
    pub fn codec(&self) -> VideoCodec {
        self.codec
    }

    /// A coded keyframe (or generated keyframe): a player can start decoding
    /// here once it has the sequence header. Sequence headers themselves are
    /// not keyframes. A keyframe of an unknown legacy codec counts.
    pub fn is_keyframe(&self) -> bool {
        matches!(
            self.frame_type,
            VideoFrameType::Key | VideoFrameType::GeneratedKey
        ) && matches!(
            self.packet,
            VideoPacket::CodedFrames | VideoPacket::CodedFramesX | VideoPacket::Unclassified
        )
    }

    /// Decoder configuration (SequenceStart or MPEG2TSSequenceStart) that every
    /// player needs before any frame.
    pub fn is_sequence_header(&self) -> bool {
        matches!(
            self.packet,
            VideoPacket::SequenceStart | VideoPacket::Mpeg2TsSequenceStart
        )
    }

    /// End of sequence.
    pub fn is_sequence_end(&self) -> bool {
        self.packet == VideoPacket::SequenceEnd
    }

    /// E-RTMP video metadata (e.g. HDR `colorInfo`), worth caching like a
    /// sequence header.
    pub fn is_metadata(&self) -> bool {
        self.packet == VideoPacket::Metadata
    }

    /// An inter or disposable inter coded frame of a known layout: a slow
    /// consumer may drop it (and, for inter frames, everything up to the next
    /// keyframe). Never true for keyframes, sequence headers/ends, metadata,
    /// command frames, unknown packet types or unknown codecs.
    pub fn is_droppable(&self) -> bool {
        matches!(
            self.frame_type,
            VideoFrameType::Inter | VideoFrameType::DisposableInter
        ) && matches!(
            self.packet,
            VideoPacket::CodedFrames | VideoPacket::CodedFramesX
        )
    }

    /// The codec data of the first track: `payload[data_offset..][..data_len]`,
    /// or empty if `payload` is not the one parsed.
    pub fn data<'a>(&self, payload: &'a [u8]) -> &'a [u8] {
        self.data_offset
            .checked_add(self.data_len)
            .and_then(|end| payload.get(self.data_offset..end))
            .unwrap_or_default()
    }
}

/// Legacy `VIDEODATA`: FrameType UB[4], CodecID UB[4], then for AVC-like codecs
/// AVCPacketType UI8 and CompositionTime SI24.
fn parse_legacy(r: &mut Reader<'_>, first: u8) -> Result<VideoTagInfo, MediaError> {
    let frame_type = VideoFrameType::from_u8(first >> 4);
    let codec_id = first & 0x0F;
    let codec = VideoCodec::from_legacy_id(codec_id);
    // "If FrameType = 5, instead of a video payload, the message stream contains
    // a UI8 with the following meaning: 0 = start of client-side seeking video
    // frame sequence, 1 = end".
    if frame_type == VideoFrameType::Command {
        let command = r.u8("video command")?;
        return Ok(VideoTagInfo::new(
            frame_type,
            codec,
            VideoPacket::Command(command),
        ));
    }
    let packet = if LEGACY_AVC_LIKE.contains(&codec_id) {
        let packet_type = r.u8("AVCPacketType")?;
        let composition_time = r.si24("CompositionTime")?;
        let packet = match packet_type {
            PT_SEQUENCE_START => VideoPacket::SequenceStart,
            PT_CODED_FRAMES => VideoPacket::CodedFrames,
            PT_SEQUENCE_END => VideoPacket::SequenceEnd,
            other => VideoPacket::Unknown(other),
        };
        let mut info = VideoTagInfo::new(frame_type, codec, packet);
        // "CompositionTime: if AVCPacketType == 1, composition time offset, else 0".
        if packet == VideoPacket::CodedFrames {
            info.composition_time = composition_time;
        }
        return Ok(info);
    } else if matches!(codec, VideoCodec::Unknown(_)) {
        VideoPacket::Unclassified
    } else {
        VideoPacket::CodedFrames
    };
    Ok(VideoTagInfo::new(frame_type, codec, packet))
}

/// E-RTMP `ExVideoTagHeader`: IsExVideoHeader UB[1], FrameType UB[3],
/// VideoPacketType UB[4], ModEx extensions, then a command byte, a multitrack
/// header, or a FourCC.
fn parse_enhanced(r: &mut Reader<'_>, first: u8) -> Result<VideoTagInfo, MediaError> {
    let frame_type = VideoFrameType::from_u8((first >> 4) & 0x07);
    let mod_ex = skip_mod_ex(r, first & 0x0F)?;
    let packet_type = mod_ex.packet_type;
    let mut info = VideoTagInfo::new(frame_type, VideoCodec::NotSignalled, VideoPacket::Empty);
    info.enhanced = true;
    info.timestamp_offset_nanos = mod_ex.timestamp_offset_nanos;

    // "if (videoPacketType != Metadata && videoFrameType == Command)
    //  videoCommand = UI8" — and no FourCC, no body.
    if packet_type != PT_METADATA && (first >> 4) & 0x07 == FRAME_TYPE_COMMAND {
        info.packet = VideoPacket::Command(r.u8("video command")?);
        info.data_offset = r.pos();
        return Ok(info);
    }
    let body = read_enhanced_body(r, packet_type, PT_MULTITRACK, &LABELS)?;
    info.multitrack = body.multitrack;
    info.data_offset = body.data_offset;
    info.data_len = body.data_len;
    info.codec = body
        .fourcc
        .map_or(VideoCodec::NotSignalled, VideoCodec::from_fourcc);
    info.packet = match body.packet_type {
        PT_SEQUENCE_START => VideoPacket::SequenceStart,
        PT_CODED_FRAMES => VideoPacket::CodedFrames,
        PT_SEQUENCE_END => VideoPacket::SequenceEnd,
        PT_CODED_FRAMES_X => VideoPacket::CodedFramesX,
        PT_METADATA => VideoPacket::Metadata,
        PT_MPEG2TS_SEQUENCE_START => VideoPacket::Mpeg2TsSequenceStart,
        other => VideoPacket::Unknown(other),
    };
    // For avc1/hvc1 CodedFrames the body starts with an SI24 composition time.
    let has_cts = info.packet == VideoPacket::CodedFrames
        && matches!(info.codec, VideoCodec::Avc | VideoCodec::Hevc)
        && !matches!(
            info.multitrack.map(|m| m.kind),
            Some(AvMultitrackType::Reserved(_))
        );
    if has_cts {
        let mut track = Reader::new(info.data(r.buf()));
        info.composition_time = track.si24("CompositionTime")?;
        info.data_offset += 3;
        info.data_len -= 3;
    }
    Ok(info)
}

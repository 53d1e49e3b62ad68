//! Audio payload classification: legacy `AUDIODATA` (FLV spec Annex E.4.2) and
//! Enhanced RTMP `ExAudioTagHeader` (E-RTMP v2 "Enhanced Audio").

use std::fmt;

use super::reader::{read_enhanced_body, skip_mod_ex, Labels, Reader};
use super::video::write_fourcc;
use super::{fourcc, MediaError, Multitrack};

/// `SoundFormat` 9: the E-RTMP ExHeader escape.
const SOUND_FORMAT_EX_HEADER: u8 = 9;
/// `SoundFormat` 10: AAC, followed by AACPacketType.
const SOUND_FORMAT_AAC: u8 = 10;
/// E-RTMP audio packet types.
const PT_SEQUENCE_START: u8 = 0;
const PT_CODED_FRAMES: u8 = 1;
const PT_SEQUENCE_END: u8 = 2;
const PT_MULTICHANNEL_CONFIG: u8 = 4;
const PT_MULTITRACK: u8 = 5;
/// Names of audio header fields in errors.
const LABELS: Labels = Labels {
    kind: "audio",
    multitrack_type: "audio multitrack type",
    fourcc: "audio FourCC",
};

/// The audio codec, however it was signalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    /// SoundFormat 0: linear PCM, platform endian.
    PcmPlatformEndian,
    /// SoundFormat 1: ADPCM.
    AdPcm,
    /// SoundFormat 2 or FourCC `.mp3`: MP3.
    Mp3,
    /// SoundFormat 3: linear PCM, little endian.
    PcmLittleEndian,
    /// SoundFormat 4: Nellymoser 16 kHz mono.
    Nellymoser16kMono,
    /// SoundFormat 5: Nellymoser 8 kHz mono.
    Nellymoser8kMono,
    /// SoundFormat 6: Nellymoser.
    Nellymoser,
    /// SoundFormat 7: G.711 A-law.
    G711ALaw,
    /// SoundFormat 8: G.711 mu-law.
    G711MuLaw,
    /// SoundFormat 10 or FourCC `mp4a`: AAC.
    Aac,
    /// SoundFormat 11: Speex.
    Speex,
    /// SoundFormat 14: MP3 8 kHz.
    Mp3_8k,
    /// SoundFormat 15: device-specific sound.
    DeviceSpecific,
    /// FourCC `Opus`.
    Opus,
    /// FourCC `fLaC`.
    Flac,
    /// FourCC `ac-3`.
    Ac3,
    /// FourCC `ec-3`.
    Eac3,
    /// Another FourCC, as its big-endian u32.
    FourCc(u32),
    /// A reserved legacy SoundFormat (12, 13).
    Unknown(u8),
    /// No codec is signalled: an empty payload.
    NotSignalled,
}

impl AudioCodec {
    fn from_sound_format(format: u8) -> Self {
        match format {
            0 => Self::PcmPlatformEndian,
            1 => Self::AdPcm,
            2 => Self::Mp3,
            3 => Self::PcmLittleEndian,
            4 => Self::Nellymoser16kMono,
            5 => Self::Nellymoser8kMono,
            6 => Self::Nellymoser,
            7 => Self::G711ALaw,
            8 => Self::G711MuLaw,
            10 => Self::Aac,
            11 => Self::Speex,
            14 => Self::Mp3_8k,
            15 => Self::DeviceSpecific,
            other => Self::Unknown(other),
        }
    }

    /// The codec for an E-RTMP `AudioFourCc`.
    pub fn from_fourcc(code: u32) -> Self {
        match code {
            c if c == fourcc(b"mp4a") => Self::Aac,
            c if c == fourcc(b"Opus") => Self::Opus,
            c if c == fourcc(b"fLaC") => Self::Flac,
            c if c == fourcc(b"ac-3") => Self::Ac3,
            c if c == fourcc(b"ec-3") => Self::Eac3,
            c if c == fourcc(b".mp3") => Self::Mp3,
            other => Self::FourCc(other),
        }
    }
}

impl fmt::Display for AudioCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::PcmPlatformEndian => "PCM",
            Self::AdPcm => "ADPCM",
            Self::Mp3 => "MP3",
            Self::PcmLittleEndian => "PCM-LE",
            Self::Nellymoser16kMono | Self::Nellymoser8kMono | Self::Nellymoser => "Nellymoser",
            Self::G711ALaw => "G.711 A-law",
            Self::G711MuLaw => "G.711 mu-law",
            Self::Aac => "AAC",
            Self::Speex => "Speex",
            Self::Mp3_8k => "MP3 8kHz",
            Self::DeviceSpecific => "device-specific",
            Self::Opus => "Opus",
            Self::Flac => "FLAC",
            Self::Ac3 => "AC-3",
            Self::Eac3 => "E-AC-3",
            Self::FourCc(code) => return write_fourcc(f, *code),
            Self::Unknown(id) => return write!(f, "sound format {id}"),
            Self::NotSignalled => "none",
        };
        f.write_str(name)
    }
}

/// What an audio message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioPacket {
    /// Decoder configuration (AAC packet type 0, E-RTMP SequenceStart).
    SequenceStart,
    /// Coded audio (AAC packet type 1, E-RTMP CodedFrames, or any legacy
    /// format without a packet type).
    CodedFrames,
    /// End of sequence (E-RTMP SequenceEnd).
    SequenceEnd,
    /// E-RTMP MultichannelConfig: channel order and mapping, configuration data.
    MultichannelConfig,
    /// An unknown packet type (AACPacketType > 1, E-RTMP 3, 6, 8-15, a ModEx
    /// after a multitrack header).
    Unknown(u8),
    /// A reserved legacy SoundFormat whose layout is unknown.
    Unclassified,
    /// A zero-length payload: the "audio silence" message E-RTMP v2 documents
    /// (ffmpeg sends these at times).
    Empty,
}

/// The legacy SoundRate/SoundSize/SoundType bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SoundParams {
    /// SoundRate, 0-3: 5.5, 11, 22 or 44 kHz. AAC always says 3.
    pub rate: u8,
    /// SoundSize: 16-bit samples (else 8-bit).
    pub sixteen_bit: bool,
    /// SoundType: stereo (else mono). AAC always says stereo.
    pub stereo: bool,
}

impl SoundParams {
    /// The nominal sample rate in Hz.
    pub fn sample_rate_hz(&self) -> u32 {
        match self.rate {
            0 => 5_512,
            1 => 11_025,
            2 => 22_050,
            _ => 44_100,
        }
    }
}

/// What [`AudioTagInfo::parse`] learned about one audio payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AudioTagInfo {
    /// The codec (of the first track, for multitrack messages).
    pub codec: AudioCodec,
    /// What the payload carries.
    pub packet: AudioPacket,
    /// The legacy rate/size/type bits (`None` for E-RTMP and empty payloads).
    pub sound: Option<SoundParams>,
    /// Whether SoundFormat was 9 (E-RTMP ExHeader).
    pub enhanced: bool,
    /// The multitrack layout, for E-RTMP multitrack messages.
    pub multitrack: Option<Multitrack>,
    /// E-RTMP v2 ModEx `TimestampOffsetNano`, if present.
    pub timestamp_offset_nanos: Option<u32>,
    /// Where the codec data (of the first track) starts in the payload, e.g. the
    /// AAC AudioSpecificConfig of a sequence start.
    pub data_offset: usize,
    /// Length of that codec data.
    pub data_len: usize,
}

impl AudioTagInfo {
    fn new(codec: AudioCodec, packet: AudioPacket) -> Self {
        Self {
            codec,
            packet,
            sound: None,
            enhanced: false,
            multitrack: None,
            timestamp_offset_nanos: None,
            data_offset: 0,
            data_len: 0,
        }
    }

    /// Classifies one audio message body (= FLV audio tag body).
    ///
    /// # Errors
    /// [`MediaError`] when a header field is cut short, a multitrack track size
    /// runs past the payload, or a multitrack message nests another. Unknown
    /// formats, FourCCs and packet types are not errors.
    pub fn parse(payload: &[u8]) -> Result<Self, MediaError> {
        let Some(&first) = payload.first() else {
            return Ok(Self::new(AudioCodec::NotSignalled, AudioPacket::Empty));
        };
        let mut r = Reader::new(payload);
        r.u8("audio header")?;
        let format = first >> 4;
        if format == SOUND_FORMAT_EX_HEADER {
            return parse_enhanced(&mut r, first);
        }
        let codec = AudioCodec::from_sound_format(format);
        let packet = if format == SOUND_FORMAT_AAC {
            match r.u8("AACPacketType")? {
                0 => AudioPacket::SequenceStart,
                1 => AudioPacket::CodedFrames,
                other => AudioPacket::Unknown(other),
            }
        } else if matches!(codec, AudioCodec::Unknown(_)) {
            AudioPacket::Unclassified
        } else {
            AudioPacket::CodedFrames
        };
        let mut info = Self::new(codec, packet);
        info.sound = Some(SoundParams {
            rate: (first >> 2) & 0x03,
            sixteen_bit: first & 0x02 != 0,
            stereo: first & 0x01 != 0,
        });
        info.data_offset = r.pos();
        info.data_len = r.remaining();
        Ok(info)
    }

    /// The codec.
    pub fn codec(&self) -> AudioCodec {
        self.codec
    }

    /// Decoder configuration (AAC AudioSpecificConfig, E-RTMP SequenceStart).
    pub fn is_sequence_header(&self) -> bool {
        self.packet == AudioPacket::SequenceStart
    }

    /// Any configuration a player needs before frames: a sequence header or an
    /// E-RTMP multichannel configuration. Cache these for late joiners.
    pub fn is_config(&self) -> bool {
        matches!(
            self.packet,
            AudioPacket::SequenceStart | AudioPacket::MultichannelConfig
        )
    }

    /// End of sequence.
    pub fn is_sequence_end(&self) -> bool {
        self.packet == AudioPacket::SequenceEnd
    }

    /// Coded audio of a known layout, which a slow consumer may drop without
    /// breaking the decoder (every audio frame is independently decodable).
    /// Never true for configuration, sequence ends, empty (silence) messages,
    /// unknown packet types or unknown formats.
    pub fn is_droppable(&self) -> bool {
        self.packet == AudioPacket::CodedFrames
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

/// E-RTMP `ExAudioTagHeader`: SoundFormat 9, AudioPacketType UB[4], ModEx
/// extensions, then a multitrack header or a FourCC.
fn parse_enhanced(r: &mut Reader<'_>, first: u8) -> Result<AudioTagInfo, MediaError> {
    let mod_ex = skip_mod_ex(r, first & 0x0F)?;
    let mut info = AudioTagInfo::new(AudioCodec::NotSignalled, AudioPacket::Empty);
    info.enhanced = true;
    info.timestamp_offset_nanos = mod_ex.timestamp_offset_nanos;
    let body = read_enhanced_body(r, mod_ex.packet_type, PT_MULTITRACK, &LABELS)?;
    info.multitrack = body.multitrack;
    info.data_offset = body.data_offset;
    info.data_len = body.data_len;
    info.codec = body
        .fourcc
        .map_or(AudioCodec::NotSignalled, AudioCodec::from_fourcc);
    info.packet = match body.packet_type {
        PT_SEQUENCE_START => AudioPacket::SequenceStart,
        PT_CODED_FRAMES => AudioPacket::CodedFrames,
        PT_SEQUENCE_END => AudioPacket::SequenceEnd,
        PT_MULTICHANNEL_CONFIG => AudioPacket::MultichannelConfig,
        other => AudioPacket::Unknown(other),
    };
    Ok(info)
}

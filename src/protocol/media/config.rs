//! The few codec-configuration facts worth showing an operator, read from
//! sequence-start payloads: AVC and HEVC profile/level (ISO/IEC 14496-15
//! §5.3.3.1 `AVCDecoderConfigurationRecord`, §8.3.3.1
//! `HEVCDecoderConfigurationRecord`) and AAC object type, sample rate and
//! channels (ISO/IEC 14496-3 §1.6.2.1 `AudioSpecificConfig`).

use super::reader::Reader;
use super::MediaError;

/// Facts from an `AVCDecoderConfigurationRecord`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AvcConfig {
    /// `AVCProfileIndication` (66 Baseline, 77 Main, 100 High, 244 High 4:4:4).
    pub profile: u8,
    /// `profile_compatibility` (constraint flags).
    pub compatibility: u8,
    /// `AVCLevelIndication` (level × 10, e.g. 31 = level 3.1).
    pub level: u8,
    /// NAL unit length prefix size in bytes (`lengthSizeMinusOne` + 1).
    pub nalu_length_size: u8,
}

impl AvcConfig {
    /// Reads the record's first five bytes (the codec data of an AVC sequence
    /// start, see [`super::VideoTagInfo::data`]).
    ///
    /// # Errors
    /// [`MediaError::Truncated`] under five bytes; [`MediaError::InvalidConfig`]
    /// when `configurationVersion` is not 1.
    pub fn parse(record: &[u8]) -> Result<Self, MediaError> {
        let mut r = Reader::new(record);
        if r.u8("configurationVersion")? != 1 {
            return Err(MediaError::InvalidConfig {
                reason: "AVC configurationVersion is not 1",
            });
        }
        let profile = r.u8("AVCProfileIndication")?;
        let compatibility = r.u8("profile_compatibility")?;
        let level = r.u8("AVCLevelIndication")?;
        let nalu_length_size = (r.u8("lengthSizeMinusOne")? & 0x03) + 1;
        Ok(Self {
            profile,
            compatibility,
            level,
            nalu_length_size,
        })
    }
}

/// Facts from an `HEVCDecoderConfigurationRecord`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HevcConfig {
    /// `general_profile_idc` (1 Main, 2 Main 10, 3 Main Still Picture, 4 RExt).
    pub profile: u8,
    /// `general_tier_flag`: high tier.
    pub high_tier: bool,
    /// `general_level_idc` (level × 30, e.g. 93 = level 3.1).
    pub level: u8,
}

impl HevcConfig {
    /// Reads the record's first 13 bytes.
    ///
    /// # Errors
    /// [`MediaError::Truncated`] under 13 bytes; [`MediaError::InvalidConfig`]
    /// when `configurationVersion` is not 1.
    pub fn parse(record: &[u8]) -> Result<Self, MediaError> {
        let mut r = Reader::new(record);
        if r.u8("configurationVersion")? != 1 {
            return Err(MediaError::InvalidConfig {
                reason: "HEVC configurationVersion is not 1",
            });
        }
        let byte = r.u8("general_profile_space/tier/profile_idc")?;
        // general_profile_compatibility_flags (4) + constraint flags (6).
        r.take(10, "general profile flags")?;
        let level = r.u8("general_level_idc")?;
        Ok(Self {
            profile: byte & 0x1F,
            high_tier: byte & 0x20 != 0,
            level,
        })
    }
}

/// Sampling frequencies by `samplingFrequencyIndex` (ISO/IEC 14496-3 Table 1.18).
const AAC_SAMPLE_RATES: [u32; 13] = [
    96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000,
    7_350,
];

/// Facts from an AAC `AudioSpecificConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AacConfig {
    /// `audioObjectType` (1 Main, 2 LC, 5 SBR/HE-AAC, 29 PS/HE-AACv2, …).
    pub object_type: u8,
    /// The sample rate in Hz; `None` for a reserved frequency index.
    pub sample_rate: Option<u32>,
    /// `channelConfiguration` (0 = defined in the bitstream, 1-6 = that many
    /// channels, 7 = 7.1).
    pub channel_configuration: u8,
}

impl AacConfig {
    /// Reads the first fields of an AudioSpecificConfig (the codec data of an
    /// AAC sequence start, see [`super::AudioTagInfo::data`]).
    ///
    /// # Errors
    /// [`MediaError::Truncated`] when the config ends inside these fields.
    pub fn parse(config: &[u8]) -> Result<Self, MediaError> {
        let mut bits = BitReader {
            bytes: config,
            pos: 0,
        };
        let mut object_type = bits.read(5)?;
        if object_type == 31 {
            object_type = 32 + bits.read(6)?;
        }
        let index = bits.read(4)?;
        let sample_rate = if index == 0x0F {
            Some(bits.read(24)?)
        } else {
            AAC_SAMPLE_RATES.get(index as usize).copied()
        };
        let channel_configuration = bits.read(4)? as u8;
        Ok(Self {
            // At most 32 + 63.
            object_type: object_type as u8,
            sample_rate,
            channel_configuration,
        })
    }

    /// The number of channels, when the channel configuration defines it.
    pub fn channel_count(&self) -> Option<u8> {
        match self.channel_configuration {
            1..=6 => Some(self.channel_configuration),
            7 => Some(8),
            _ => None,
        }
    }
}

/// MSB-first bit reader over a byte slice.
struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn read(&mut self, count: usize) -> Result<u32, MediaError> {
        let mut value = 0u32;
        for _ in 0..count {
            let byte = self.bytes.get(self.pos / 8).ok_or(MediaError::Truncated {
                what: "AudioSpecificConfig",
                needed: count.div_ceil(8),
                offset: self.pos / 8,
                len: self.bytes.len(),
            })?;
            let bit = (byte >> (7 - self.pos % 8)) & 1;
            value = (value << 1) | u32::from(bit);
            self.pos += 1;
        }
        Ok(value)
    }
}

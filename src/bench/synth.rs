//! A synthetic H.264 + AAC stream shaped like a real one: an AVC sequence
//! header (High profile, 1280×720 SPS/PPS as x264 writes them), an AAC-LC
//! sequence header (44.1 kHz stereo), a keyframe every `gop` seconds about
//! eight times the size of an inter frame, and AAC frames of 1024 samples;
//! frame sizes are set so that video + audio payloads add up to the asked
//! bitrate. Nobody decodes it: the NAL units past their headers are
//! filler. Pure: frames come out in timestamp order, the caller paces them.

use bytes::{BufMut, Bytes, BytesMut};

use super::BenchError;
use crate::protocol::amf::AmfValue;
use crate::protocol::session::MediaKind;

/// An x264 SPS for 1280×720 High@3.1.
const SPS: [u8; 25] = [
    0x67, 0x64, 0x00, 0x1F, 0xAC, 0xD9, 0x40, 0x50, 0x05, 0xBB, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
    0x10, 0x00, 0x00, 0x03, 0x03, 0xC0, 0xF1, 0x83, 0x19,
];
/// The matching PPS.
const PPS: [u8; 6] = [0x68, 0xEB, 0xE3, 0xCB, 0x22, 0xC0];
/// AAC-LC, 44.1 kHz, 2 channels (AudioSpecificConfig).
const AAC_CONFIG: [u8; 2] = [0x12, 0x10];
/// AAC sample rate and samples per frame.
const AAC_RATE_HZ: u64 = 44_100;
const AAC_FRAME_SAMPLES: u64 = 1024;
/// A keyframe weighs this many inter frames.
const KEYFRAME_WEIGHT: u64 = 8;
/// Audio takes an eighth of the bitrate, at most this much.
const MAX_AUDIO_KBPS: u64 = 128;
/// FLV video tag header (5) + NALU length (4) + NAL header (1).
const VIDEO_OVERHEAD: usize = 10;
/// FLV AAC tag header.
const AUDIO_OVERHEAD: usize = 2;

/// One frame to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Frame {
    /// Audio or video.
    pub(super) kind: MediaKind,
    /// Milliseconds from the stream's start.
    pub(super) timestamp: u32,
    /// The FLV tag body.
    pub(super) payload: Bytes,
}

/// The synthetic stream; see the module docs.
#[derive(Debug)]
pub(super) struct Synth {
    bitrate_kbps: u32,
    fps: u32,
    frames_per_gop: u64,
    keyframe: Bytes,
    inter: Bytes,
    audio: Bytes,
    video_index: u64,
    audio_index: u64,
}

impl Synth {
    /// A stream of `bitrate_kbps` (video + audio payload), `fps` video
    /// frames per second and a keyframe every `gop_seconds`.
    ///
    /// # Errors
    ///
    /// [`BenchError::Args`] for a zero rate or a GOP under one frame (or
    /// over a million).
    pub(super) fn new(bitrate_kbps: u32, fps: u32, gop_seconds: f64) -> Result<Self, BenchError> {
        let gop_frames = gop_seconds * f64::from(fps);
        if bitrate_kbps == 0 || fps == 0 || !(1.0..=1e6).contains(&gop_frames) {
            return Err(BenchError::Args(format!(
                "synthetic stream: bitrate {bitrate_kbps} kbit/s, {fps} fps, GOP {gop_seconds} s"
            )));
        }
        let frames_per_gop = gop_frames.round() as u64;
        let total_bps = u64::from(bitrate_kbps) * 1000;
        let audio_bps = (total_bps / 8).min(MAX_AUDIO_KBPS * 1000);
        let video_bps = total_bps - audio_bps;
        let gop_bytes = video_bps / 8 * frames_per_gop / u64::from(fps);
        let inter_len = (gop_bytes / (frames_per_gop - 1 + KEYFRAME_WEIGHT)) as usize;
        let key_len = inter_len * KEYFRAME_WEIGHT as usize;
        let audio_len = (audio_bps / 8 * AAC_FRAME_SAMPLES / AAC_RATE_HZ) as usize;
        Ok(Self {
            bitrate_kbps,
            fps,
            frames_per_gop,
            keyframe: video_frame(true, key_len),
            inter: video_frame(false, inter_len),
            audio: audio_frame(audio_len),
            video_index: 0,
            audio_index: 0,
        })
    }

    /// `onMetaData` for the stream.
    pub(super) fn metadata(&self) -> AmfValue {
        AmfValue::object([
            ("width", AmfValue::Number(1280.0)),
            ("height", AmfValue::Number(720.0)),
            ("framerate", AmfValue::Number(f64::from(self.fps))),
            ("videocodecid", AmfValue::Number(7.0)),
            ("audiocodecid", AmfValue::Number(10.0)),
            ("audiosamplerate", AmfValue::Number(AAC_RATE_HZ as f64)),
            ("stereo", AmfValue::Boolean(true)),
            (
                "videodatarate",
                AmfValue::Number(f64::from(self.bitrate_kbps)),
            ),
            ("encoder", AmfValue::string("ferrocast bench synthetic")),
        ])
    }

    /// The AVC and AAC sequence headers, to send before any frame.
    pub(super) fn sequence_headers(&self) -> [Frame; 2] {
        let mut avc = BytesMut::new();
        avc.put_slice(&[0x17, 0x00, 0, 0, 0]);
        avc.put_slice(&[1, SPS[1], SPS[2], SPS[3], 0xFF, 0xE1]);
        avc.put_u16(SPS.len() as u16);
        avc.put_slice(&SPS);
        avc.put_u8(1);
        avc.put_u16(PPS.len() as u16);
        avc.put_slice(&PPS);
        let mut aac = BytesMut::new();
        aac.put_slice(&[0xAF, 0x00]);
        aac.put_slice(&AAC_CONFIG);
        [
            Frame {
                kind: MediaKind::Video,
                timestamp: 0,
                payload: avc.freeze(),
            },
            Frame {
                kind: MediaKind::Audio,
                timestamp: 0,
                payload: aac.freeze(),
            },
        ]
    }

    /// The next frame, in timestamp order (video first on a tie).
    pub(super) fn next_frame(&mut self) -> Frame {
        let video_ms = self.video_index * 1000 / u64::from(self.fps);
        let audio_ms = self.audio_index * AAC_FRAME_SAMPLES * 1000 / AAC_RATE_HZ;
        if video_ms <= audio_ms {
            let key = self.video_index % self.frames_per_gop == 0;
            self.video_index += 1;
            Frame {
                kind: MediaKind::Video,
                timestamp: video_ms as u32,
                payload: if key {
                    self.keyframe.clone()
                } else {
                    self.inter.clone()
                },
            }
        } else {
            self.audio_index += 1;
            Frame {
                kind: MediaKind::Audio,
                timestamp: audio_ms as u32,
                payload: self.audio.clone(),
            }
        }
    }
}

/// An AVC NALU frame of `len` bytes in all (at least the headers).
fn video_frame(key: bool, len: usize) -> Bytes {
    let len = len.max(VIDEO_OVERHEAD + 1);
    let mut b = BytesMut::with_capacity(len);
    b.put_slice(&[if key { 0x17 } else { 0x27 }, 0x01, 0, 0, 0]);
    b.put_u32((len - 9) as u32);
    b.put_u8(if key { 0x65 } else { 0x41 });
    // The slice header's first bits as x264 writes them (first_mb 0, I or P
    // slice, PPS 0), so parsers that peek at it find a known PPS.
    let slice: &[u8] = if key { &[0x88, 0x84] } else { &[0x9A, 0x02] };
    let body = len - VIDEO_OVERHEAD;
    b.put_slice(&slice[..slice.len().min(body)]);
    filler(&mut b, body.saturating_sub(slice.len()));
    b.freeze()
}

/// An AAC raw frame of `len` bytes in all.
fn audio_frame(len: usize) -> Bytes {
    let len = len.max(AUDIO_OVERHEAD + 1);
    let mut b = BytesMut::with_capacity(len);
    b.put_slice(&[0xAF, 0x01]);
    filler(&mut b, len - AUDIO_OVERHEAD);
    b.freeze()
}

/// Bytes that look like entropy-coded data (xorshift).
fn filler(b: &mut BytesMut, n: usize) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ n as u64;
    for _ in 0..n {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        b.put_u8((state >> 24) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::media::{AacConfig, AvcConfig, VideoTagInfo};

    #[test]
    fn one_second_of_frames_adds_up_to_the_bitrate() {
        let mut synth = Synth::new(1000, 30, 2.0).unwrap();
        let mut bytes = 0u64;
        let mut frames = Vec::new();
        loop {
            let f = synth.next_frame();
            if f.timestamp >= 2000 {
                break;
            }
            bytes += f.payload.len() as u64;
            frames.push(f);
        }
        let kbps = bytes * 8 / 2 / 1000;
        assert!((980..=1010).contains(&kbps), "{kbps} kbit/s");
        assert!(frames.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        let keys = frames
            .iter()
            .filter(|f| f.kind == MediaKind::Video)
            .filter(|f| VideoTagInfo::parse(&f.payload).unwrap().is_keyframe())
            .count();
        assert_eq!(keys, 1);
        assert_eq!(
            frames.iter().filter(|f| f.kind == MediaKind::Video).count(),
            60
        );
    }

    #[test]
    fn the_sequence_headers_parse_as_avc_and_aac_configurations() {
        let synth = Synth::new(1000, 30, 2.0).unwrap();
        let [avc, aac] = synth.sequence_headers();
        let info = VideoTagInfo::parse(&avc.payload).unwrap();
        assert!(info.is_sequence_header());
        assert!(AvcConfig::parse(info.data(&avc.payload)).is_ok());
        assert!(AacConfig::parse(&aac.payload[2..]).is_ok());
    }

    #[test]
    fn impossible_shapes_are_refused() {
        assert!(Synth::new(0, 30, 2.0).is_err());
        assert!(Synth::new(1000, 0, 2.0).is_err());
        assert!(Synth::new(1000, 30, 0.0).is_err());
        assert!(Synth::new(1000, 30, f64::NAN).is_err());
        assert!(Synth::new(1000, 30, f64::INFINITY).is_err());
    }
}

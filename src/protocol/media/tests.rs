//! Tests of the audio/video sniffers and codec-config readers.
//!
//! Vectors are hand-built from the FLV spec v10.1 Annex E.4.2/E.4.3 (legacy),
//! the veovera Enhanced RTMP v2 spec "Enhanced Audio"/"Enhanced Video" tables
//! (E-RTMP), or cut from the ffmpeg-made FLV in `tests/vectors/media/out.flv`.

use bytes::BytesMut;
use proptest::prelude::*;

use super::*;
use crate::protocol::flv::{FlvConfig, FlvDecoder, FlvItem, FlvTagType};

/// ffmpeg 5.1's H.264 sequence header from out.flv (frame type 1, codec 7,
/// AVCPacketType 0, CTS 0, then avcC: version 1, profile 244, compat 0, level 10,
/// 0xff = 4-byte NALU lengths, 0xe1 = one SPS …), first 13 bytes.
const FFMPEG_AVC_SEQUENCE_HEADER: &[u8] = &[
    0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0xF4, 0x00, 0x0A, 0xFF, 0xE1, 0x00, 0x1A,
];
/// ffmpeg's first H.264 keyframe in out.flv: 0x17 0x01 and CTS 200 ms.
const FFMPEG_AVC_KEYFRAME: &[u8] = &[0x17, 0x01, 0x00, 0x00, 0xC8, 0x00, 0x00, 0x02, 0xA9];
/// ffmpeg's trailing AVC end-of-sequence tag body in out.flv.
const FFMPEG_AVC_END: &[u8] = &[0x17, 0x02, 0x00, 0x00, 0x00];
/// ffmpeg's AAC sequence header in out.flv: 0xAF (AAC, 44 kHz, 16-bit, stereo
/// bits), AACPacketType 0, AudioSpecificConfig 0x12 0x08 (LC, 44.1 kHz, mono).
const FFMPEG_AAC_SEQUENCE_HEADER: &[u8] = &[0xAF, 0x00, 0x12, 0x08];

fn video(payload: &[u8]) -> VideoTagInfo {
    VideoTagInfo::parse(payload).unwrap()
}

fn audio(payload: &[u8]) -> AudioTagInfo {
    AudioTagInfo::parse(payload).unwrap()
}

/// Concatenates byte pieces (keeps hand-built E-RTMP vectors readable).
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------- legacy video

#[test]
fn ffmpeg_avc_sequence_header_is_a_sequence_header_with_its_profile_and_level() {
    let info = video(FFMPEG_AVC_SEQUENCE_HEADER);
    assert_eq!(info.codec(), VideoCodec::Avc);
    assert_eq!(info.frame_type, VideoFrameType::Key);
    assert!(info.is_sequence_header());
    assert!(!info.is_keyframe() && !info.is_droppable() && !info.enhanced);
    assert_eq!(info.data_offset, 5);
    let config = AvcConfig::parse(info.data(FFMPEG_AVC_SEQUENCE_HEADER)).unwrap();
    assert_eq!(
        config,
        AvcConfig {
            profile: 244,
            compatibility: 0,
            level: 10,
            nalu_length_size: 4
        }
    );
}

#[test]
fn ffmpeg_avc_keyframe_is_a_keyframe_with_composition_time() {
    let info = video(FFMPEG_AVC_KEYFRAME);
    assert!(info.is_keyframe());
    assert!(!info.is_droppable() && !info.is_sequence_header());
    assert_eq!(info.composition_time, 200);
    assert_eq!(info.data(FFMPEG_AVC_KEYFRAME), &[0x00, 0x00, 0x02, 0xA9]);
}

#[test]
fn avc_inter_frame_is_droppable_and_reads_a_negative_composition_time() {
    // 0x27 = frame type 2 (inter), codec 7; CTS 0xFFFFFE = -2 (SI24).
    let info = video(&[0x27, 0x01, 0xFF, 0xFF, 0xFE, 0x41]);
    assert!(info.is_droppable() && !info.is_keyframe());
    assert_eq!(info.composition_time, -2);
}

#[test]
fn avc_end_of_sequence_is_flagged_and_never_droppable() {
    let info = video(FFMPEG_AVC_END);
    assert!(info.is_sequence_end());
    assert!(!info.is_droppable() && !info.is_keyframe());
}

#[test]
fn sequence_header_ignores_a_nonzero_composition_time() {
    // Annex E.4.3.1: "CompositionTime: if AVCPacketType == 1 … else 0".
    assert_eq!(video(&[0x17, 0x00, 0x00, 0x00, 0x05]).composition_time, 0);
}

#[test]
fn legacy_command_frame_reads_its_command_and_is_kept() {
    // Frame type 5 with codec 7: "a UI8 … 0 = start of client-side seeking".
    let info = video(&[0x57, 0x00]);
    assert_eq!(info.packet, VideoPacket::Command(0));
    assert!(!info.is_droppable() && !info.is_keyframe());
}

#[test]
fn legacy_codecs_without_packet_type_are_whole_frames() {
    // Sorenson H.263 keyframe, disposable inter; VP6 inter; Screen keyframe.
    let key = video(&[0x12, 0x00, 0x00, 0x84]);
    assert_eq!(key.codec(), VideoCodec::SorensonH263);
    assert!(key.is_keyframe());
    assert_eq!(key.data_offset, 1);
    let disposable = video(&[0x32, 0x00]);
    assert_eq!(disposable.frame_type, VideoFrameType::DisposableInter);
    assert!(disposable.is_droppable());
    assert!(video(&[0x24, 0x00]).is_droppable());
    assert_eq!(video(&[0x13]).codec(), VideoCodec::Screen);
    assert_eq!(video(&[0x15]).codec(), VideoCodec::Vp6Alpha);
    assert_eq!(video(&[0x16]).codec(), VideoCodec::Screen2);
}

#[test]
fn de_facto_legacy_hevc_and_av1_ids_use_the_avc_layout() {
    // Codec id 12 (HEVC) and 13 (AV1) as written by the ksvc/runner365 ffmpeg
    // patches: AVCPacketType + SI24 CTS like AVC.
    let header = video(&[0x1C, 0x00, 0x00, 0x00, 0x00, 0x01]);
    assert_eq!(header.codec(), VideoCodec::Hevc);
    assert!(header.is_sequence_header());
    let inter = video(&[0x2C, 0x01, 0x00, 0x00, 0x28, 0x00]);
    assert!(inter.is_droppable());
    assert_eq!(inter.composition_time, 40);
    let av1 = video(&[0x1D, 0x01, 0x00, 0x00, 0x00, 0x12]);
    assert_eq!(av1.codec(), VideoCodec::Av1);
    assert!(av1.is_keyframe());
}

#[test]
fn unknown_legacy_codec_is_never_droppable_but_its_keyframes_count() {
    let inter = video(&[0x2A, 0x01, 0x02]);
    assert_eq!(inter.codec(), VideoCodec::Unknown(10));
    assert_eq!(inter.packet, VideoPacket::Unclassified);
    assert!(!inter.is_droppable());
    assert!(video(&[0x1E]).is_keyframe());
}

#[test]
fn unknown_avc_packet_type_and_reserved_frame_type_are_kept() {
    let info = video(&[0x27, 0x03, 0x00, 0x00, 0x00]);
    assert_eq!(info.packet, VideoPacket::Unknown(3));
    assert!(!info.is_droppable());
    let reserved = video(&[0x07, 0x01, 0x00, 0x00, 0x00]);
    assert_eq!(reserved.frame_type, VideoFrameType::Reserved(0));
    assert!(!reserved.is_droppable() && !reserved.is_keyframe());
}

#[test]
fn empty_video_payload_classifies_as_empty() {
    let info = video(&[]);
    assert_eq!(info.packet, VideoPacket::Empty);
    assert_eq!(info.codec(), VideoCodec::NotSignalled);
    assert!(!info.is_droppable() && !info.is_keyframe() && !info.is_sequence_header());
}

#[test]
fn truncated_avc_header_is_an_error() {
    assert!(matches!(
        VideoTagInfo::parse(&[0x17]),
        Err(MediaError::Truncated {
            what: "AVCPacketType",
            ..
        })
    ));
    assert!(matches!(
        VideoTagInfo::parse(&[0x17, 0x01, 0x00]),
        Err(MediaError::Truncated {
            what: "CompositionTime",
            ..
        })
    ));
}

// ---------------------------------------------------------------- E-RTMP video

#[test]
fn enhanced_hevc_sequence_start_reads_fourcc_and_config() {
    // 0x90: IsExHeader, frame type 1, SequenceStart; hvcC of x265 Main@L3.1.
    let hvcc: &[u8] = &[
        0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5D, 0xF0,
    ];
    let payload = cat(&[&[0x90], b"hvc1", hvcc]);
    let info = video(&payload);
    assert!(info.enhanced && info.is_sequence_header());
    assert_eq!(info.codec(), VideoCodec::Hevc);
    assert_eq!(info.data(&payload), hvcc);
    let config = HevcConfig::parse(info.data(&payload)).unwrap();
    assert_eq!(
        config,
        HevcConfig {
            profile: 1,
            high_tier: false,
            level: 93
        }
    );
}

#[test]
fn enhanced_coded_frames_carry_cts_only_for_avc_and_hevc() {
    let hevc = cat(&[&[0x91], b"hvc1", &[0x00, 0x00, 0x10, 0xAA]]);
    let info = video(&hevc);
    assert!(info.is_keyframe());
    assert_eq!(info.composition_time, 16);
    assert_eq!(info.data(&hevc), &[0xAA]);
    // AV1 CodedFrames: no composition time in the body.
    let av1 = cat(&[&[0xA1], b"av01", &[0x12, 0x00]]);
    let info = video(&av1);
    assert_eq!(info.codec(), VideoCodec::Av1);
    assert!(info.is_droppable());
    assert_eq!(info.data(&av1), &[0x12, 0x00]);
}

#[test]
fn enhanced_coded_frames_x_has_an_implicit_zero_cts() {
    let payload = cat(&[&[0xA3], b"hvc1", &[0x00, 0x00, 0x10]]);
    let info = video(&payload);
    assert_eq!(info.packet, VideoPacket::CodedFramesX);
    assert_eq!(info.composition_time, 0);
    assert!(info.is_droppable());
    assert_eq!(info.data_len, 3);
}

#[test]
fn enhanced_vp8_vp9_and_sequence_end() {
    let end = video(&cat(&[&[0x92], b"vp09"]));
    assert_eq!(end.codec(), VideoCodec::Vp9);
    assert!(end.is_sequence_end());
    assert_eq!(
        video(&cat(&[&[0x91], b"vp08", &[0]])).codec(),
        VideoCodec::Vp8
    );
    assert_eq!(video(&cat(&[&[0x90], b"avc1"])).codec(), VideoCodec::Avc);
}

#[test]
fn enhanced_metadata_is_kept_whatever_its_frame_type() {
    // Frame type 2 (inter) is ignored for Metadata; body is AMF ("colorInfo" …).
    let info = video(&cat(&[&[0xA4], b"hvc1", &[0x02, 0x00, 0x09]]));
    assert!(info.is_metadata());
    assert!(!info.is_droppable() && !info.is_keyframe());
}

#[test]
fn enhanced_mpeg2ts_sequence_start_is_a_sequence_header() {
    let info = video(&cat(&[&[0x95], b"av01", &[0x80]]));
    assert_eq!(info.packet, VideoPacket::Mpeg2TsSequenceStart);
    assert!(info.is_sequence_header());
}

#[test]
fn enhanced_command_frame_has_no_fourcc() {
    // 0xD1: IsExHeader, frame type 5 (command), CodedFrames; then UI8 command.
    let info = video(&[0xD1, 0x01]);
    assert_eq!(info.packet, VideoPacket::Command(1));
    assert_eq!(info.codec(), VideoCodec::NotSignalled);
    assert!(!info.is_droppable());
}

#[test]
fn enhanced_unknown_packet_type_and_fourcc_never_error() {
    let info = video(&cat(&[&[0x98], b"avc1"]));
    assert_eq!(info.packet, VideoPacket::Unknown(8));
    assert!(!info.is_droppable() && !info.is_keyframe());
    let vvc = video(&cat(&[&[0x91], b"vvc1", &[1, 2, 3]]));
    assert_eq!(vvc.codec(), VideoCodec::FourCc(fourcc(b"vvc1")));
    assert_eq!(vvc.codec().to_string(), "vvc1");
    assert!(vvc.is_keyframe());
}

#[test]
fn mod_ex_timestamp_offset_is_read_and_skipped() {
    // 0x97: key frame, ModEx; size UI8 2 => 3 bytes of data (0x000100 = 256 ns);
    // then ModExType 0 (TimestampOffsetNano) | packet type 1; FourCC; CTS; data.
    let payload = cat(&[
        &[0x97, 0x02, 0x00, 0x01, 0x00, 0x01],
        b"avc1",
        &[0x00, 0x00, 0x21, 0x65],
    ]);
    let info = video(&payload);
    assert_eq!(info.timestamp_offset_nanos, Some(256));
    assert!(info.is_keyframe());
    assert_eq!(info.composition_time, 33);
    assert_eq!(info.data(&payload), &[0x65]);
}

#[test]
fn mod_ex_with_a_sixteen_bit_size_is_skipped() {
    // UI8 0xFF => 256 => read UI16 0x0100 => 257 bytes; an unknown ModEx type
    // (0x5) whose data is ignored; then CodedFramesX.
    let payload = cat(&[
        &[0xA7, 0xFF, 0x01, 0x00],
        &[0xEE; 257],
        &[0x53],
        b"av01",
        &[0x0A],
    ]);
    let info = video(&payload);
    assert_eq!(info.packet, VideoPacket::CodedFramesX);
    assert_eq!(info.timestamp_offset_nanos, None);
    assert_eq!(info.data(&payload), &[0x0A]);
    // Cut inside the ModEx data: an error, not a panic.
    assert!(VideoTagInfo::parse(&payload[..100]).is_err());
}

#[test]
fn multitrack_one_track_reads_its_track_id() {
    // 0x96: key, Multitrack; 0x01: OneTrack | CodedFrames; FourCC; track id 7;
    // CTS 0; data.
    let payload = cat(&[&[0x96, 0x01], b"avc1", &[0x07, 0x00, 0x00, 0x00, 0x65]]);
    let info = video(&payload);
    let mt = info.multitrack.unwrap();
    assert_eq!(mt.kind, AvMultitrackType::OneTrack);
    assert_eq!((mt.track_count, mt.first_track_id), (1, Some(7)));
    assert!(info.is_keyframe());
    assert_eq!(info.data(&payload), &[0x65]);
}

#[test]
fn multitrack_many_tracks_walks_every_track() {
    // 0xA6: inter, Multitrack; 0x13: ManyTracks | CodedFramesX; two tracks.
    let payload = cat(&[
        &[0xA6, 0x13],
        b"hvc1",
        &[0x00, 0x00, 0x00, 0x02, 0xAA, 0xBB],
        &[0x01, 0x00, 0x00, 0x01, 0xCC],
    ]);
    let info = video(&payload);
    let mt = info.multitrack.unwrap();
    assert_eq!((mt.kind, mt.track_count), (AvMultitrackType::ManyTracks, 2));
    assert_eq!(info.codec(), VideoCodec::Hevc);
    assert!(info.is_droppable());
    assert_eq!(info.data(&payload), &[0xAA, 0xBB]);
}

#[test]
fn multitrack_many_codecs_takes_the_first_tracks_codec() {
    let payload = cat(&[
        &[0x96, 0x20],
        b"av01",
        &[0x00, 0x00, 0x00, 0x01, 0x0A],
        b"vp09",
        &[0x01, 0x00, 0x00, 0x00],
    ]);
    let info = video(&payload);
    assert_eq!(info.codec(), VideoCodec::Av1);
    assert!(info.is_sequence_header());
    let mt = info.multitrack.unwrap();
    assert_eq!(
        (mt.kind, mt.track_count),
        (AvMultitrackType::ManyTracksManyCodecs, 2)
    );
}

#[test]
fn multitrack_errors_on_nesting_and_oversized_tracks() {
    assert_eq!(
        VideoTagInfo::parse(&[0x96, 0x06]),
        Err(MediaError::NestedMultitrack { kind: "video" })
    );
    let payload = cat(&[
        &[0x96, 0x11],
        b"avc1",
        &[0x00, 0x00, 0x00, 0x09, 0x01, 0x02],
    ]);
    assert_eq!(
        VideoTagInfo::parse(&payload),
        Err(MediaError::TrackSizeExceedsPayload {
            track_id: 0,
            size: 9,
            remaining: 2
        })
    );
}

#[test]
fn reserved_multitrack_type_is_classified_without_walking_tracks() {
    let info = video(&cat(&[&[0xA6, 0x31], b"avc1", &[1, 2, 3, 4]]));
    let mt = info.multitrack.unwrap();
    assert_eq!(mt.kind, AvMultitrackType::Reserved(3));
    assert_eq!(mt.track_count, 0);
    assert_eq!(info.composition_time, 0);
}

// ---------------------------------------------------------------- audio

#[test]
fn ffmpeg_aac_sequence_header_reads_its_audio_specific_config() {
    let info = audio(FFMPEG_AAC_SEQUENCE_HEADER);
    assert_eq!(info.codec(), AudioCodec::Aac);
    assert!(info.is_sequence_header() && info.is_config() && !info.is_droppable());
    let sound = info.sound.unwrap();
    assert_eq!(sound.sample_rate_hz(), 44_100);
    assert!(sound.sixteen_bit && sound.stereo);
    let config = AacConfig::parse(info.data(FFMPEG_AAC_SEQUENCE_HEADER)).unwrap();
    assert_eq!(config.object_type, 2);
    assert_eq!(config.sample_rate, Some(44_100));
    assert_eq!(config.channel_count(), Some(1));
}

#[test]
fn aac_raw_frames_are_droppable() {
    let info = audio(&[0xAF, 0x01, 0x21, 0x10]);
    assert_eq!(info.packet, AudioPacket::CodedFrames);
    assert!(info.is_droppable());
    assert_eq!(info.data_offset, 2);
}

#[test]
fn legacy_sound_formats_are_named() {
    // SoundFormat in the high nibble (Annex E.4.2.1).
    let cases: &[(u8, AudioCodec)] = &[
        (0x0E, AudioCodec::PcmPlatformEndian),
        (0x1E, AudioCodec::AdPcm),
        (0x2F, AudioCodec::Mp3),
        (0x3E, AudioCodec::PcmLittleEndian),
        (0x42, AudioCodec::Nellymoser16kMono),
        (0x52, AudioCodec::Nellymoser8kMono),
        (0x66, AudioCodec::Nellymoser),
        (0x72, AudioCodec::G711ALaw),
        (0x82, AudioCodec::G711MuLaw),
        (0xB6, AudioCodec::Speex),
        (0xE2, AudioCodec::Mp3_8k),
        (0xF2, AudioCodec::DeviceSpecific),
    ];
    for (byte, codec) in cases {
        let info = audio(&[*byte, 0x00]);
        assert_eq!(info.codec(), *codec, "byte 0x{byte:02x}");
        assert!(info.is_droppable());
    }
    assert_eq!(audio(&[0x72]).sound.unwrap().sample_rate_hz(), 5_512);
}

#[test]
fn reserved_sound_formats_and_unknown_aac_packet_types_are_kept() {
    let info = audio(&[0xC2, 0x00]);
    assert_eq!(info.codec(), AudioCodec::Unknown(12));
    assert_eq!(info.packet, AudioPacket::Unclassified);
    assert!(!info.is_droppable());
    let info = audio(&[0xAF, 0x02]);
    assert_eq!(info.packet, AudioPacket::Unknown(2));
    assert!(!info.is_droppable());
}

#[test]
fn empty_audio_payload_is_the_silence_message() {
    let info = audio(&[]);
    assert_eq!(info.packet, AudioPacket::Empty);
    assert!(!info.is_droppable() && !info.is_sequence_header());
}

#[test]
fn truncated_aac_header_is_an_error() {
    assert!(matches!(
        AudioTagInfo::parse(&[0xAF]),
        Err(MediaError::Truncated {
            what: "AACPacketType",
            ..
        })
    ));
}

#[test]
fn enhanced_audio_fourccs_and_packet_types() {
    let start = audio(&cat(&[&[0x90], b"mp4a", &[0x12, 0x10]]));
    assert!(start.enhanced && start.is_sequence_header());
    assert_eq!(start.codec(), AudioCodec::Aac);
    assert_eq!(start.sound, None);
    let cases: &[(&[u8; 4], AudioCodec)] = &[
        (b"Opus", AudioCodec::Opus),
        (b"fLaC", AudioCodec::Flac),
        (b"ac-3", AudioCodec::Ac3),
        (b"ec-3", AudioCodec::Eac3),
        (b".mp3", AudioCodec::Mp3),
        (b"mp4a", AudioCodec::Aac),
        (b"alac", AudioCodec::FourCc(fourcc(b"alac"))),
    ];
    for (code, codec) in cases {
        let info = audio(&cat(&[&[0x91], *code, &[0x00]]));
        assert_eq!(info.codec(), *codec);
        assert!(info.is_droppable());
    }
    assert!(audio(&cat(&[&[0x92], b"Opus"])).is_sequence_end());
    let unknown = audio(&cat(&[&[0x93], b"Opus"]));
    assert_eq!(unknown.packet, AudioPacket::Unknown(3));
    assert!(!unknown.is_droppable());
}

#[test]
fn enhanced_multichannel_config_is_config_not_droppable() {
    // 0x94: MultichannelConfig; Native order (1), 2 channels, UI32 mask FL|FR.
    let payload = cat(&[&[0x94], b"Opus", &[0x01, 0x02, 0x00, 0x00, 0x00, 0x03]]);
    let info = audio(&payload);
    assert_eq!(info.packet, AudioPacket::MultichannelConfig);
    assert!(info.is_config() && !info.is_sequence_header() && !info.is_droppable());
}

#[test]
fn enhanced_audio_mod_ex_and_multitrack() {
    let payload = cat(&[&[0x97, 0x02, 0x00, 0x00, 0x10, 0x01], b"Opus", &[0xFC]]);
    let info = audio(&payload);
    assert_eq!(info.timestamp_offset_nanos, Some(16));
    assert_eq!(info.data(&payload), &[0xFC]);

    // 0x95: Multitrack; 0x21: ManyTracksManyCodecs | CodedFrames.
    let payload = cat(&[
        &[0x95, 0x21],
        b"Opus",
        &[0x00, 0x00, 0x00, 0x02, 0xFC, 0xFF],
        b"mp4a",
        &[0x01, 0x00, 0x00, 0x01, 0x21],
    ]);
    let info = audio(&payload);
    assert_eq!(info.codec(), AudioCodec::Opus);
    assert_eq!(info.multitrack.unwrap().track_count, 2);
    assert_eq!(info.data(&payload), &[0xFC, 0xFF]);
    assert!(info.is_droppable());

    let one = audio(&cat(&[&[0x95, 0x00], b"mp4a", &[0x02, 0x12, 0x10]]));
    assert!(one.is_sequence_header());
    assert_eq!(one.multitrack.unwrap().first_track_id, Some(2));

    assert_eq!(
        AudioTagInfo::parse(&[0x95, 0x05]),
        Err(MediaError::NestedMultitrack { kind: "audio" })
    );
}

// ---------------------------------------------------------------- configs

#[test]
fn aac_config_handles_escapes_and_explicit_frequency() {
    // HE-AAC (5), 24 kHz, stereo.
    let he = AacConfig::parse(&[0x2B, 0x10]).unwrap();
    assert_eq!((he.object_type, he.sample_rate), (5, Some(24_000)));
    assert_eq!(he.channel_count(), Some(2));
    // Escaped object type 31 + 10 = 42 (USAC), 48 kHz, stereo.
    let usac = AacConfig::parse(&[0xF9, 0x46, 0x40]).unwrap();
    assert_eq!((usac.object_type, usac.sample_rate), (42, Some(48_000)));
    // Frequency index 15: explicit 24-bit 44100, mono.
    let explicit = AacConfig::parse(&[0x17, 0x80, 0x56, 0x22, 0x08]).unwrap();
    assert_eq!(explicit.sample_rate, Some(44_100));
    assert_eq!(explicit.channel_configuration, 1);
    // Reserved index 13; channel configuration 7 = 8 channels.
    let reserved = AacConfig::parse(&[0x16, 0xB8]).unwrap();
    assert_eq!(reserved.sample_rate, None);
    assert_eq!(reserved.channel_count(), Some(8));
    assert!(AacConfig::parse(&[0x12]).is_err());
}

#[test]
fn avc_and_hevc_configs_check_version_and_length() {
    assert!(matches!(
        AvcConfig::parse(&[0x00, 0x42, 0x00, 0x1E, 0xFF]),
        Err(MediaError::InvalidConfig { .. })
    ));
    assert!(matches!(
        AvcConfig::parse(&[0x01, 0x42]),
        Err(MediaError::Truncated { .. })
    ));
    assert!(HevcConfig::parse(&[0x01, 0x01, 0x60]).is_err());
}

// ---------------------------------------------------------------- ffmpeg file

#[test]
fn ffmpeg_file_keyframes_and_sequence_headers_match_ffprobe() {
    let mut decoder = FlvDecoder::new(FlvConfig::default());
    let mut buf = BytesMut::from(crate::protocol::flv::tests::FFMPEG_FLV);
    let mut packets = crate::protocol::flv::tests::FFMPEG_FLV_PACKETS.lines();
    let (mut video_headers, mut audio_headers, mut keyframes, mut ends) = (0, 0, 0, 0);
    while let Some(item) = decoder.decode(&mut buf).unwrap() {
        let FlvItem::Tag(tag) = item else { continue };
        let (kind, size, key) = match tag.tag_type {
            FlvTagType::Video => {
                let info = video(&tag.data);
                if info.is_sequence_header() {
                    video_headers += 1;
                    continue;
                }
                if info.is_sequence_end() {
                    ends += 1;
                    continue;
                }
                keyframes += usize::from(info.is_keyframe());
                assert_eq!(info.is_droppable(), !info.is_keyframe());
                ("video", info.data_len, info.is_keyframe())
            }
            FlvTagType::Audio => {
                let info = audio(&tag.data);
                if info.is_sequence_header() {
                    audio_headers += 1;
                    continue;
                }
                assert!(info.is_droppable());
                ("audio", info.data_len, true)
            }
            _ => continue,
        };
        // ffprobe: codec_type,dts,size,flags — in file order.
        let line = packets.next().expect("one ffprobe packet per media tag");
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[0], kind, "{line}");
        assert_eq!(fields[1], tag.timestamp.to_string(), "{line}");
        assert_eq!(fields[2], size.to_string(), "{line}");
        assert_eq!(fields[3].starts_with('K'), key, "{line}");
    }
    assert!(packets.next().is_none());
    assert_eq!((video_headers, audio_headers, ends), (1, 1, 1));
    // -g 5 at 10 fps for 1 s: keyframes at frames 0 and 5.
    assert_eq!(keyframes, 2);
}

// ---------------------------------------------------------------- robustness

fn vectors() -> Vec<Vec<u8>> {
    vec![
        FFMPEG_AVC_SEQUENCE_HEADER.to_vec(),
        FFMPEG_AVC_KEYFRAME.to_vec(),
        FFMPEG_AAC_SEQUENCE_HEADER.to_vec(),
        cat(&[
            &[0xA7, 0xFF, 0x01, 0x00],
            &[0xEE; 257],
            &[0x53],
            b"av01",
            &[0x0A],
        ]),
        cat(&[
            &[0x96, 0x20],
            b"av01",
            &[0, 0, 0, 1, 0x0A],
            b"vp09",
            &[1, 0, 0, 0],
        ]),
        cat(&[
            &[0x95, 0x21],
            b"Opus",
            &[0, 0, 0, 2, 0xFC, 0xFF],
            b"mp4a",
            &[1, 0, 0, 1, 0x21],
        ]),
        cat(&[
            &[0x97, 0x02, 0x00, 0x01, 0x00, 0x01],
            b"avc1",
            &[0x00, 0x00, 0x21, 0x65],
        ]),
        cat(&[
            &[0x90],
            b"hvc1",
            &[0x01, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0x5D],
        ]),
    ]
}

/// Parses `payload` every way the server would and checks the invariants.
fn sniff_all(payload: &[u8]) {
    if let Ok(v) = VideoTagInfo::parse(payload) {
        assert!(!(v.is_droppable() && (v.is_keyframe() || v.is_sequence_header())));
        assert!(v.data(payload).len() == v.data_len);
        let _ = AvcConfig::parse(v.data(payload));
        let _ = HevcConfig::parse(v.data(payload));
    }
    if let Ok(a) = AudioTagInfo::parse(payload) {
        assert!(!(a.is_droppable() && a.is_config()));
        assert!(a.data(payload).len() == a.data_len);
        let _ = AacConfig::parse(a.data(payload));
    }
}

#[test]
fn every_prefix_of_every_vector_sniffs_without_panic() {
    for vector in vectors() {
        for end in 0..=vector.len() {
            sniff_all(&vector[..end]);
        }
    }
}

#[test]
fn every_prefix_of_every_ffmpeg_tag_header_sniffs_without_panic() {
    let mut decoder = FlvDecoder::new(FlvConfig::default());
    let mut buf = BytesMut::from(crate::protocol::flv::tests::FFMPEG_FLV);
    while let Some(item) = decoder.decode(&mut buf).unwrap() {
        if let FlvItem::Tag(tag) = item {
            for end in 0..=tag.data.len().min(24) {
                sniff_all(&tag.data[..end]);
            }
        }
    }
}

proptest! {
    #[test]
    fn corrupted_vectors_never_panic_the_sniffers(
        which in 0usize..8,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let mut payload = vectors().swap_remove(which);
        for (at, byte) in flips {
            let len = payload.len();
            payload[at % len] = byte;
        }
        sniff_all(&payload);
    }

    #[test]
    fn arbitrary_payloads_never_panic_the_sniffers(
        payload in proptest::collection::vec(any::<u8>(), 0..48),
    ) {
        sniff_all(&payload);
    }
}

//! Tests of the FLV reader and writer.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;

/// A minimal FLV file built by hand from Annex E: header (audio+video), then
/// PreviousTagSize0, then one AAC sequence header tag (AudioSpecificConfig
/// 0x12 0x10 = AAC LC, 44.1 kHz, stereo) and one AVC end-of-sequence tag at
/// timestamp 0x0200_0001 (extended byte 0x02), each with its PreviousTagSize.
const HAND_BUILT: &[u8] = &[
    b'F', b'L', b'V', 0x01, 0x05, 0x00, 0x00, 0x00, 0x09, // header
    0x00, 0x00, 0x00, 0x00, // PreviousTagSize0
    0x08, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // audio, 4 bytes, ts 0
    0xAF, 0x00, 0x12, 0x10, // AAC sequence header
    0x00, 0x00, 0x00, 0x0F, // PreviousTagSize = 11 + 4
    0x09, 0x00, 0x00, 0x05, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, // video, 5 bytes
    0x17, 0x02, 0x00, 0x00, 0x00, // AVC end of sequence
    0x00, 0x00, 0x00, 0x10, // PreviousTagSize = 11 + 5
];

/// Made with ffmpeg 5.1 (Debian 12): `ffmpeg -f lavfi -i testsrc=size=160x120:rate=10
/// -f lavfi -i sine -t 1 -c:v libx264 -g 5 -c:a aac -b:a 32k -fflags +bitexact
/// -flags +bitexact out.flv`.
pub(crate) const FFMPEG_FLV: &[u8] = include_bytes!("../../../tests/vectors/media/out.flv");
/// `ffprobe -show_packets -show_entries packet=codec_type,dts,size,flags -of csv=p=0`
/// of [`FFMPEG_FLV`].
pub(crate) const FFMPEG_FLV_PACKETS: &str =
    include_str!("../../../tests/vectors/media/out.flv.packets.csv");

fn decode_all(config: FlvConfig, input: &[u8]) -> Result<(Vec<FlvItem>, FlvDecoder), FlvError> {
    let mut decoder = FlvDecoder::new(config);
    let mut buf = BytesMut::from(input);
    let mut items = Vec::new();
    while let Some(item) = decoder.decode(&mut buf)? {
        items.push(item);
    }
    decoder.finish(&buf)?;
    Ok((items, decoder))
}

/// Feeds `input` in pieces of `piece` bytes, collecting every item.
fn decode_in_pieces(input: &[u8], piece: usize) -> Result<Vec<FlvItem>, FlvError> {
    let mut decoder = FlvDecoder::new(FlvConfig::default());
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for chunk in input.chunks(piece.max(1)) {
        buf.extend_from_slice(chunk);
        while let Some(item) = decoder.decode(&mut buf)? {
            items.push(item);
        }
    }
    decoder.finish(&buf)?;
    Ok(items)
}

fn tags(items: &[FlvItem]) -> Vec<&FlvTag> {
    items
        .iter()
        .filter_map(|i| match i {
            FlvItem::Tag(t) => Some(t),
            FlvItem::Header(_) => None,
        })
        .collect()
}

#[test]
fn reads_hand_built_file_with_extended_timestamp() {
    let (items, decoder) = decode_all(FlvConfig::default(), HAND_BUILT).unwrap();
    assert_eq!(items[0], FlvItem::Header(FlvHeader::new(true, true)));
    let tags = tags(&items);
    assert_eq!(tags.len(), 2);
    assert_eq!(tags[0].tag_type, FlvTagType::Audio);
    assert_eq!(tags[0].timestamp, 0);
    assert_eq!(&tags[0].data[..], &[0xAF, 0x00, 0x12, 0x10]);
    assert_eq!(tags[1].tag_type, FlvTagType::Video);
    assert_eq!(tags[1].timestamp, 0x0200_0001);
    assert_eq!(decoder.previous_tag_size_mismatches(), 0);
}

#[test]
fn reads_the_same_items_when_fed_one_byte_at_a_time() {
    let whole = decode_all(FlvConfig::default(), HAND_BUILT).unwrap().0;
    for piece in [1, 2, 3, 7, 13] {
        assert_eq!(decode_in_pieces(HAND_BUILT, piece).unwrap(), whole);
    }
}

#[test]
fn tag_body_is_a_zero_copy_slice_of_the_input() {
    let mut buf = BytesMut::from(HAND_BUILT);
    let base = buf.as_ptr() as usize;
    let mut decoder = FlvDecoder::new(FlvConfig::default());
    decoder.decode(&mut buf).unwrap();
    let Some(FlvItem::Tag(tag)) = decoder.decode(&mut buf).unwrap() else {
        panic!("expected a tag");
    };
    assert_eq!(tag.data.as_ptr() as usize, base + 24);
}

#[test]
fn returns_none_until_a_whole_tag_is_in() {
    let mut decoder = FlvDecoder::new(FlvConfig::default());
    let mut buf = BytesMut::from(&HAND_BUILT[..20]);
    assert!(matches!(
        decoder.decode(&mut buf),
        Ok(Some(FlvItem::Header(_)))
    ));
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert_eq!(buf.len(), 11, "a partial tag is not consumed");
}

#[test]
fn skips_header_padding_when_data_offset_exceeds_nine() {
    let mut input = vec![b'F', b'L', b'V', 1, 0x01, 0, 0, 0, 12, 0xAA, 0xBB, 0xCC];
    input.extend_from_slice(&HAND_BUILT[9..]);
    let (items, _) = decode_all(FlvConfig::default(), &input).unwrap();
    let FlvItem::Header(header) = items[0] else {
        panic!("header first");
    };
    assert_eq!(header.data_offset, 12);
    assert!(header.has_video && !header.has_audio);
    assert_eq!(tags(&items).len(), 2);
    // And the padding may arrive in pieces.
    let mut decoder = FlvDecoder::new(FlvConfig::default());
    let mut buf = BytesMut::from(&input[..10]);
    assert!(decoder.decode(&mut buf).unwrap().is_some());
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert!(buf.is_empty());
}

#[test]
fn rejects_a_bad_signature_from_its_first_byte() {
    let mut decoder = FlvDecoder::new(FlvConfig::default());
    let err = decoder.decode(&mut BytesMut::from(&b"G"[..])).unwrap_err();
    assert_eq!(
        err,
        FlvError::BadSignature {
            found: [b'G', 0, 0]
        }
    );
    let err = decode_all(FlvConfig::default(), b"FLX\x01\x05\0\0\0\x09").unwrap_err();
    assert!(matches!(err, FlvError::BadSignature { .. }));
}

#[test]
fn rejects_data_offset_below_nine_and_above_the_limit() {
    let err = decode_all(FlvConfig::default(), b"FLV\x01\x05\0\0\0\x08").unwrap_err();
    assert_eq!(err, FlvError::DataOffsetTooSmall { offset: 8 });
    let err = decode_all(FlvConfig::default(), b"FLV\x01\x05\xff\0\0\0").unwrap_err();
    assert!(matches!(err, FlvError::DataOffsetTooLarge { .. }));
}

#[test]
fn counts_a_wrong_previous_tag_size_but_keeps_reading() {
    let mut input = HAND_BUILT.to_vec();
    input[31] = 0x04; // second PreviousTagSize says 4 (some writers omit the 11)
    let (items, decoder) = decode_all(FlvConfig::default(), &input).unwrap();
    assert_eq!(tags(&items).len(), 2);
    assert_eq!(decoder.previous_tag_size_mismatches(), 1);
    assert_eq!(decoder.last_previous_tag_size_mismatch(), Some((15, 4)));
}

#[test]
fn strict_mode_rejects_a_wrong_previous_tag_size() {
    let strict = FlvConfig {
        strict_previous_tag_size: true,
        ..FlvConfig::default()
    };
    assert!(decode_all(strict, HAND_BUILT).is_ok());
    let mut input = HAND_BUILT.to_vec();
    input[12] = 1; // PreviousTagSize0 must be 0
    assert_eq!(
        decode_all(strict, &input).unwrap_err(),
        FlvError::PreviousTagSizeMismatch {
            expected: 0,
            found: 1
        }
    );
    let mut input = HAND_BUILT.to_vec();
    let last = input.len() - 1;
    input[last] = 0; // final PreviousTagSize, checked by finish()
    assert!(matches!(
        decode_all(strict, &input).unwrap_err(),
        FlvError::PreviousTagSizeMismatch { .. }
    ));
}

#[test]
fn rejects_filtered_tags_with_a_clear_error() {
    let mut input = HAND_BUILT.to_vec();
    input[13] = 0x28; // audio with the Filter bit (Annex E.4.1)
    assert_eq!(
        decode_all(FlvConfig::default(), &input).unwrap_err(),
        FlvError::EncryptedTag {
            tag_type: 8,
            timestamp: 0
        }
    );
}

#[test]
fn rejects_a_non_zero_stream_id() {
    let mut input = HAND_BUILT.to_vec();
    input[23] = 1;
    assert_eq!(
        decode_all(FlvConfig::default(), &input).unwrap_err(),
        FlvError::NonZeroStreamId { stream_id: 1 }
    );
}

#[test]
fn rejects_an_oversized_tag_before_its_body_arrives() {
    let config = FlvConfig {
        max_tag_size: 3,
        ..FlvConfig::default()
    };
    let mut decoder = FlvDecoder::new(config);
    let mut buf = BytesMut::from(&HAND_BUILT[..24]);
    decoder.decode(&mut buf).unwrap();
    assert_eq!(
        decoder.decode(&mut buf).unwrap_err(),
        FlvError::TagTooLarge {
            tag_type: 8,
            size: 4,
            limit: 3
        }
    );
}

#[test]
fn passes_unknown_tag_types_through_and_ignores_reserved_bits() {
    let mut input = HAND_BUILT.to_vec();
    input[13] = 0xC0 | 0x0F; // reserved bits set, type 15
    let (items, _) = decode_all(FlvConfig::default(), &input).unwrap();
    assert_eq!(tags(&items)[0].tag_type, FlvTagType::Other(15));
}

#[test]
fn finish_accepts_a_missing_final_previous_tag_size_but_not_a_cut_tag() {
    let cut = &HAND_BUILT[..HAND_BUILT.len() - 4];
    assert_eq!(decode_all(FlvConfig::default(), cut).unwrap().0.len(), 3);
    let err = decode_all(FlvConfig::default(), &HAND_BUILT[..40]).unwrap_err();
    assert!(matches!(err, FlvError::Truncated { what: "a tag", .. }));
    let err = decode_all(FlvConfig::default(), &HAND_BUILT[..5]).unwrap_err();
    assert!(matches!(err, FlvError::Truncated { .. }));
}

#[test]
fn writer_reproduces_the_hand_built_file() {
    let (items, _) = decode_all(FlvConfig::default(), HAND_BUILT).unwrap();
    assert_eq!(rewrite(&items), HAND_BUILT);
}

#[test]
fn writer_rejects_oversized_bodies_and_wide_tag_types() {
    let mut enc = FlvEncoder::new();
    let mut dst = BytesMut::new();
    let big = FlvTag::new(FlvTagType::Video, 0, Bytes::from(vec![0; 0x0100_0000]));
    assert_eq!(
        enc.encode_tag(&big, &mut dst),
        Err(FlvError::BodyTooLarge { size: 0x0100_0000 })
    );
    let wide = FlvTag::new(FlvTagType::Other(0x20), 0, Bytes::new());
    assert_eq!(
        enc.encode_tag(&wide, &mut dst),
        Err(FlvError::InvalidTagType { tag_type: 0x20 })
    );
    assert!(dst.is_empty());
    assert_eq!(enc.bytes_written(), 0);
}

fn rewrite(items: &[FlvItem]) -> Vec<u8> {
    let mut enc = FlvEncoder::new();
    let mut out = BytesMut::new();
    for item in items {
        match item {
            FlvItem::Header(h) => enc.encode_header(h, &mut out),
            FlvItem::Tag(t) => enc.encode_tag(t, &mut out).unwrap(),
        }
    }
    assert_eq!(enc.bytes_written(), out.len() as u64);
    out.to_vec()
}

#[test]
fn reads_and_rewrites_the_ffmpeg_file_byte_for_byte() {
    let (items, decoder) = decode_all(FlvConfig::default(), FFMPEG_FLV).unwrap();
    assert_eq!(decoder.previous_tag_size_mismatches(), 0);
    let tags = tags(&items);
    assert_eq!(tags[0].tag_type, FlvTagType::ScriptData);
    // One script tag, plus one tag per ffprobe packet, plus the two sequence
    // headers, plus ffmpeg's trailing AVC end-of-sequence tag.
    assert_eq!(tags.len(), 1 + FFMPEG_FLV_PACKETS.lines().count() + 2 + 1);
    assert_eq!(rewrite(&items), FFMPEG_FLV);
    assert_eq!(decode_in_pieces(FFMPEG_FLV, 1000).unwrap(), items);
}

#[test]
fn every_prefix_of_every_vector_decodes_without_panic() {
    for vector in [HAND_BUILT, FFMPEG_FLV] {
        for end in 0..=vector.len() {
            let _ = decode_all(FlvConfig::default(), &vector[..end]);
        }
    }
}

#[test]
fn seeded_corruptions_of_the_ffmpeg_file_never_panic() {
    // xorshift, so the test is reproducible without a dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..300 {
        let mut input = FFMPEG_FLV.to_vec();
        for _ in 0..(next() % 8 + 1) {
            let at = (next() % input.len() as u64) as usize;
            input[at] = next() as u8;
        }
        let cut = (next() % input.len() as u64) as usize;
        let _ = decode_all(FlvConfig::default(), &input[..cut]);
    }
}

fn arb_tag() -> impl Strategy<Value = FlvTag> {
    (
        prop_oneof![
            Just(FlvTagType::Audio),
            Just(FlvTagType::Video),
            Just(FlvTagType::ScriptData),
            (0u8..32).prop_map(FlvTagType::from_u8),
        ],
        any::<u32>(),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(tag_type, timestamp, data)| FlvTag::new(tag_type, timestamp, data.into()))
}

proptest! {
    #[test]
    fn tags_roundtrip_through_writer_and_reader(
        audio in any::<bool>(),
        video in any::<bool>(),
        padding in 0u32..8,
        tags in proptest::collection::vec(arb_tag(), 0..8),
        piece in 1usize..40,
    ) {
        let header = FlvHeader { version: 1, has_audio: audio, has_video: video, data_offset: 9 + padding };
        let mut items = vec![FlvItem::Header(header)];
        items.extend(tags.into_iter().map(FlvItem::Tag));
        let bytes = rewrite(&items);
        prop_assert_eq!(decode_in_pieces(&bytes, piece).unwrap(), items);
    }

    #[test]
    fn arbitrary_input_never_panics_the_reader(input in proptest::collection::vec(any::<u8>(), 0..128)) {
        let mut prefixed = b"FLV\x01\x05\0\0\0\x09".to_vec();
        prefixed.extend_from_slice(&input);
        let _ = decode_all(FlvConfig::default(), &input);
        let _ = decode_all(FlvConfig::default(), &prefixed);
    }
}

//! The FLV reader (fed in arbitrary pieces) and both media sniffers.

use crate::protocol::flv::{FlvConfig, FlvDecoder, FlvItem, ScriptTag};
use crate::protocol::limits::AmfLimits;
use crate::protocol::media::{AacConfig, AudioTagInfo, AvcConfig, HevcConfig, VideoTagInfo};
use bytes::{Bytes, BytesMut};

fn sniff(payload: &[u8]) {
    if let Ok(info) = VideoTagInfo::parse(payload) {
        let _ = (
            info.is_keyframe(),
            info.is_droppable(),
            info.is_sequence_header(),
        );
        let _ = AvcConfig::parse(info.data(payload));
        let _ = HevcConfig::parse(info.data(payload));
    }
    if let Ok(info) = AudioTagInfo::parse(payload) {
        let _ = (info.is_sequence_header(), info.is_droppable());
        let _ = AacConfig::parse(info.data(payload));
    }
}

/// Byte 0 picks the piece size (0 = everything at once) and whether
/// PreviousTagSize checking is strict; the rest is the FLV stream. Every tag read
/// is also sniffed as audio, video and script data, and the raw input is sniffed
/// directly too.
pub fn flv(data: &[u8]) {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    sniff(input);
    let piece = usize::from(control & 0x7F);
    let config = FlvConfig {
        max_tag_size: 64 * 1024,
        strict_previous_tag_size: control & 0x80 != 0,
    };
    let mut decoder = FlvDecoder::new(config);
    let mut buf = BytesMut::new();
    let pieces: Vec<&[u8]> = if piece == 0 {
        vec![input]
    } else {
        input.chunks(piece).collect()
    };
    for chunk in pieces {
        buf.extend_from_slice(chunk);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(FlvItem::Tag(tag))) => {
                    sniff(&tag.data);
                    let _ = ScriptTag::parse(Bytes::clone(&tag.data), AmfLimits::default());
                }
                Ok(Some(FlvItem::Header(_))) => {}
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    let _ = decoder.finish(&buf);
}

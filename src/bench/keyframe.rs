//! Telling a keyframe from the first bytes of a video message.

/// Whether the first bytes of a video message start a coded keyframe (not a
/// sequence header or end of sequence): legacy FLV `FrameType` 1 in the high
/// nibble (for AVC, HEVC and AV1 with packet type 1, NALUs), or the Enhanced
/// RTMP form (top bit set, frame type 1 in bits 4–6, packet type
/// CodedFrames or CodedFramesX, also inside a multitrack message).
pub fn is_video_keyframe(head: &[u8]) -> bool {
    let Some(&first) = head.first() else {
        return false;
    };
    if first & 0x80 != 0 {
        if (first >> 4) & 0x07 != 1 {
            return false;
        }
        return match first & 0x0F {
            1 | 3 => true,
            // Multitrack: the packet type is the low nibble of the next byte.
            6 => head.get(1).is_some_and(|b| matches!(b & 0x0F, 1 | 3)),
            // ModEx: the real packet type follows the modifiers.
            7 => true,
            _ => false,
        };
    }
    if first >> 4 != 1 {
        return false;
    }
    match first & 0x0F {
        // AVCPacketType 1 = NALUs (0 = sequence header, 2 = end of sequence).
        7 | 12 | 13 => head.get(1) == Some(&1),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframes_are_told_from_sequence_headers_in_both_signalling_schemes() {
        assert!(is_video_keyframe(&[0x17, 0x01]));
        assert!(!is_video_keyframe(&[0x17, 0x00]));
        assert!(!is_video_keyframe(&[0x27, 0x01]));
        assert!(is_video_keyframe(&[0x12]));
        assert!(!is_video_keyframe(&[]));
        assert!(!is_video_keyframe(&[0x17]));
        // E-RTMP: IsExHeader | frame type 1 | CodedFrames / CodedFramesX.
        assert!(is_video_keyframe(&[0x91, b'h']));
        assert!(is_video_keyframe(&[0x93]));
        assert!(!is_video_keyframe(&[0x90, b'h']));
        assert!(!is_video_keyframe(&[0xA1, b'h']));
        // Multitrack with inner CodedFrames.
        assert!(is_video_keyframe(&[0x96, 0x01]));
        assert!(!is_video_keyframe(&[0x96, 0x00]));
    }
}

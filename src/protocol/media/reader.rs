//! A bounds-checked cursor over a payload, and the Enhanced RTMP parts that
//! audio and video share (ModEx, multitrack track lists).

use super::{AvMultitrackType, MediaError, Multitrack};

/// `ModEx` packet type value, the same for audio and video.
pub(super) const PACKET_TYPE_MOD_EX: u8 = 7;
/// `TimestampOffsetNano`, the only defined ModEx type (audio and video).
const MOD_EX_TIMESTAMP_OFFSET_NANO: u8 = 0;

/// Reads big-endian fields from a payload; every getter checks the length.
#[derive(Debug, Clone)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// The whole payload.
    pub(super) fn buf(&self) -> &'a [u8] {
        self.buf
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }

    pub(super) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Takes `n` bytes.
    pub(super) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], MediaError> {
        let bytes = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or(MediaError::Truncated {
                what,
                needed: n,
                offset: self.pos,
                len: self.buf.len(),
            })?;
        self.pos += n;
        Ok(bytes)
    }

    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8, MediaError> {
        Ok(self.take(1, what)?.first().copied().unwrap_or_default())
    }

    pub(super) fn uint(&mut self, n: usize, what: &'static str) -> Result<u32, MediaError> {
        Ok(self
            .take(n, what)?
            .iter()
            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
    }

    /// A signed 24-bit value (composition time offsets).
    pub(super) fn si24(&mut self, what: &'static str) -> Result<i32, MediaError> {
        let raw = self.uint(3, what)?;
        // Sign-extend from bit 23.
        Ok(((raw << 8) as i32) >> 8)
    }
}

/// The outcome of skipping ModEx extensions.
pub(super) struct ModEx {
    /// The packet type that follows the extensions.
    pub(super) packet_type: u8,
    /// A `TimestampOffsetNano` value, if one was present.
    pub(super) timestamp_offset_nanos: Option<u32>,
}

/// Skips `ModEx` extensions while `packet_type` is ModEx (E-RTMP v2): each is a
/// size (UI8 + 1, or UI16 + 1 when the UI8 says 256), that many bytes of data,
/// then a byte holding the ModEx type (high nibble) and the next packet type
/// (low nibble). Each pass consumes at least two bytes, so the loop is bounded by
/// the payload length.
pub(super) fn skip_mod_ex(r: &mut Reader<'_>, mut packet_type: u8) -> Result<ModEx, MediaError> {
    let mut timestamp_offset_nanos = None;
    while packet_type == PACKET_TYPE_MOD_EX {
        let mut size = usize::from(r.u8("ModEx data size")?) + 1;
        if size == 256 {
            size = r.uint(2, "ModEx 16-bit data size")? as usize + 1;
        }
        let data = r.take(size, "ModEx data")?;
        let next = r.u8("ModEx type and packet type")?;
        packet_type = next & 0x0F;
        if next >> 4 == MOD_EX_TIMESTAMP_OFFSET_NANO {
            // "modExData must be at least 3 bytes"; shorter data is ignored.
            if let Some([a, b, c]) = data.get(..3).and_then(|d| <[u8; 3]>::try_from(d).ok()) {
                timestamp_offset_nanos = Some(u32::from_be_bytes([0, a, b, c]));
            }
        }
    }
    Ok(ModEx {
        packet_type,
        timestamp_offset_nanos,
    })
}

/// The first track of a multitrack body, and the track list summary.
pub(super) struct Tracks {
    pub(super) multitrack: Multitrack,
    /// The first track's FourCC (from the header, or per track).
    pub(super) fourcc: Option<u32>,
    /// Where the first track's data starts and how long it is.
    pub(super) data_offset: usize,
    pub(super) data_len: usize,
}

/// Walks the track list of a multitrack body (E-RTMP v2 "ExVideoTagBody" /
/// "ExAudioTagBody"), checking every declared size against the payload.
/// `header_fourcc` is the FourCC read in the header (absent for
/// ManyTracksManyCodecs).
pub(super) fn walk_tracks(
    r: &mut Reader<'_>,
    kind: AvMultitrackType,
    header_fourcc: Option<u32>,
) -> Result<Tracks, MediaError> {
    let mut tracks = Tracks {
        multitrack: Multitrack {
            kind,
            track_count: 0,
            first_track_id: None,
        },
        fourcc: header_fourcc,
        data_offset: r.pos(),
        data_len: 0,
    };
    match kind {
        AvMultitrackType::Reserved(_) => {
            tracks.data_len = r.remaining();
        }
        AvMultitrackType::OneTrack => {
            let id = r.u8("track id")?;
            tracks.multitrack.track_count = 1;
            tracks.multitrack.first_track_id = Some(id);
            tracks.data_offset = r.pos();
            tracks.data_len = r.remaining();
        }
        AvMultitrackType::ManyTracks | AvMultitrackType::ManyTracksManyCodecs => {
            while r.remaining() > 0 {
                let fourcc = if kind == AvMultitrackType::ManyTracksManyCodecs {
                    Some(r.uint(4, "track FourCC")?)
                } else {
                    header_fourcc
                };
                let id = r.u8("track id")?;
                let size = r.uint(3, "track size")? as usize;
                let offset = r.pos();
                if size > r.remaining() {
                    return Err(MediaError::TrackSizeExceedsPayload {
                        track_id: id,
                        size,
                        remaining: r.remaining(),
                    });
                }
                r.take(size, "track data")?;
                if tracks.multitrack.track_count == 0 {
                    tracks.multitrack.first_track_id = Some(id);
                    tracks.fourcc = fourcc;
                    tracks.data_offset = offset;
                    tracks.data_len = size;
                }
                tracks.multitrack.track_count += 1;
            }
        }
    }
    Ok(tracks)
}

/// The labels one media kind uses in errors.
pub(super) struct Labels {
    /// "audio" or "video".
    pub(super) kind: &'static str,
    /// The multitrack type byte.
    pub(super) multitrack_type: &'static str,
    /// The FourCC field.
    pub(super) fourcc: &'static str,
}

/// Where the codec data of an enhanced packet is, after its FourCC or its
/// multitrack header and track list.
pub(super) struct EnhancedBody {
    /// The packet type (of the tracks, for a multitrack packet).
    pub(super) packet_type: u8,
    /// The FourCC (of the first track, for a multitrack packet).
    pub(super) fourcc: Option<u32>,
    /// The multitrack layout, for a multitrack packet.
    pub(super) multitrack: Option<Multitrack>,
    /// Offset of the (first track's) codec data in the payload.
    pub(super) data_offset: usize,
    /// Length of the (first track's) codec data.
    pub(super) data_len: usize,
}

/// Reads what follows the ModEx prefix of an E-RTMP audio or video packet:
/// for packet type `multitrack_packet_type` a multitrack header (type and
/// inner packet type, a FourCC unless every track has its own) and the track
/// list, otherwise one FourCC followed by the codec data.
///
/// # Errors
/// [`MediaError::Truncated`] for a short header, [`MediaError::NestedMultitrack`]
/// when the inner packet type is multitrack again, and the track list errors
/// of [`walk_tracks`].
pub(super) fn read_enhanced_body(
    r: &mut Reader<'_>,
    packet_type: u8,
    multitrack_packet_type: u8,
    labels: &Labels,
) -> Result<EnhancedBody, MediaError> {
    if packet_type != multitrack_packet_type {
        let fourcc = r.uint(4, labels.fourcc)?;
        return Ok(EnhancedBody {
            packet_type,
            fourcc: Some(fourcc),
            multitrack: None,
            data_offset: r.pos(),
            data_len: r.remaining(),
        });
    }
    let byte = r.u8(labels.multitrack_type)?;
    let kind = AvMultitrackType::from_u4(byte >> 4);
    let packet_type = byte & 0x0F;
    // "This fetch MUST not result in a {Audio,Video}PacketType.Multitrack".
    if packet_type == multitrack_packet_type {
        return Err(MediaError::NestedMultitrack { kind: labels.kind });
    }
    let header_fourcc = if kind == AvMultitrackType::ManyTracksManyCodecs {
        None
    } else {
        Some(r.uint(4, labels.fourcc)?)
    };
    let tracks = walk_tracks(r, kind, header_fourcc)?;
    Ok(EnhancedBody {
        packet_type,
        fourcc: tracks.fourcc,
        multitrack: Some(tracks.multitrack),
        data_offset: tracks.data_offset,
        data_len: tracks.data_len,
    })
}

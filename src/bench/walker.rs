//! [`ChunkWalker`]: a player's view of the incoming chunk stream (RTMP spec
//! §5.3) that tracks message boundaries without reassembling media.
//!
//! A load-test player must not spend the tool's one core on media it only
//! counts. The walker parses every chunk header (all four formats, the three
//! basic header forms, extended timestamps), keeps per chunk stream only what
//! the next header inherits, and then:
//!
//! - skips media payload bytes (types 8, 9, 22) without copying them, only
//!   counting them and keeping the first two bytes of each audio/video
//!   message (enough to tell a keyframe from a sequence header);
//! - reassembles the small messages a player must act on — protocol control
//!   (types 1–6) and commands (types 17, 20) — each bounded by
//!   [`WalkerLimits::max_kept_len`];
//! - skips everything else (data messages, SharedObjects) like media.
//!
//! As the chunk decoder does, it applies Set Chunk Size, Abort and Window
//! Acknowledgement Size itself before the next chunk (spec §5.4), and says
//! when an Acknowledgement is due (§5.4.3). Input may be cut anywhere, one
//! byte at a time included. Pure: bytes in, [`WalkEvent`]s out; malformed
//! input is a [`WalkError`], never a panic.

use crate::protocol::chunk::{DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP_MARKER};
use crate::protocol::message::{
    ABORT, ACKNOWLEDGEMENT, AGGREGATE, AUDIO, COMMAND_AMF0, COMMAND_AMF3, SET_CHUNK_SIZE,
    SET_PEER_BANDWIDTH, USER_CONTROL, VIDEO, WINDOW_ACK_SIZE,
};

/// Longest chunk header: 3-byte basic + 11-byte message header + 4 extended.
const MAX_HEADER_LEN: usize = 18;
/// Bytes of an audio/video message reported in [`WalkEvent::MediaHead`].
pub const MEDIA_HEAD_LEN: usize = 2;

/// Bounds on what a server can make a player hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkerLimits {
    /// Largest chunk size a Set Chunk Size may announce.
    pub max_chunk_size: u32,
    /// Most chunk streams the server may open.
    pub max_chunk_streams: usize,
    /// Largest control or command message reassembled.
    pub max_kept_len: u32,
}

impl Default for WalkerLimits {
    fn default() -> Self {
        Self {
            max_chunk_size: 16 * 1024 * 1024,
            max_chunk_streams: 64,
            max_kept_len: 64 * 1024,
        }
    }
}

/// What the walker reports while it walks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkEvent<'a> {
    /// A whole control (types 1–6) or command (17, 20) message. Set Chunk
    /// Size, Abort and Window Acknowledgement Size are already applied.
    Message {
        /// Message type id.
        type_id: u8,
        /// Message stream id.
        stream_id: u32,
        /// The payload.
        payload: Vec<u8>,
    },
    /// The first bytes of an audio or video message have arrived.
    MediaHead {
        /// 8 (audio) or 9 (video).
        type_id: u8,
        /// Message stream id.
        stream_id: u32,
        /// The first `min(2, length)` payload bytes.
        head: &'a [u8],
        /// The message's declared length.
        length: u32,
    },
}

/// Why the walker stopped: the server broke the chunk stream protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    /// A chunk of format 1–3 on a chunk stream without a previous header.
    #[error("chunk of format {fmt} on chunk stream {csid}, which has no previous header")]
    NoPreviousHeader {
        /// Chunk stream id.
        csid: u32,
        /// Chunk format.
        fmt: u8,
    },
    /// A chunk of format 0–2 interrupted an incomplete message.
    #[error("chunk of format {fmt} on chunk stream {csid} interrupts an incomplete message")]
    HeaderInsideMessage {
        /// Chunk stream id.
        csid: u32,
        /// Chunk format.
        fmt: u8,
    },
    /// More chunk streams than [`WalkerLimits::max_chunk_streams`].
    #[error("chunk stream {csid} exceeds the limit of {limit} chunk streams")]
    TooManyChunkStreams {
        /// The chunk stream id that would have been opened.
        csid: u32,
        /// The limit.
        limit: usize,
    },
    /// A control or command message longer than
    /// [`WalkerLimits::max_kept_len`].
    #[error("message of type {type_id} has {length} bytes, more than the {limit} kept")]
    KeptMessageTooLong {
        /// Message type id.
        type_id: u8,
        /// Declared length.
        length: u32,
        /// The limit.
        limit: u32,
    },
    /// A Set Chunk Size of 0, with the top bit set, or above the limit.
    #[error("invalid chunk size {size:#x} (limit {limit})")]
    InvalidChunkSize {
        /// The announced size.
        size: u32,
        /// The limit.
        limit: u32,
    },
    /// Set Chunk Size, Abort or Window Acknowledgement Size under 4 bytes.
    #[error("control message of type {type_id} has {len} bytes, needs 4")]
    ControlMessageTooShort {
        /// Message type id.
        type_id: u8,
        /// Its length.
        len: usize,
    },
    /// Input after an error.
    #[error("the walker stopped at an earlier error")]
    Stopped,
}

/// Whether a type's messages are reassembled.
fn is_kept(type_id: u8) -> bool {
    matches!(
        type_id,
        SET_CHUNK_SIZE
            | ABORT
            | ACKNOWLEDGEMENT
            | USER_CONTROL
            | WINDOW_ACK_SIZE
            | SET_PEER_BANDWIDTH
            | COMMAND_AMF0
            | COMMAND_AMF3
    )
}

/// Whether a type's payload counts as media.
fn is_media(type_id: u8) -> bool {
    matches!(type_id, AUDIO | VIDEO | AGGREGATE)
}

/// What one chunk stream remembers.
#[derive(Debug)]
struct Stream {
    csid: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    /// The extended timestamp of the last header, when it had one.
    extended: Option<u32>,
    /// Payload bytes of the current message seen; 0 between messages.
    received: u32,
    /// The message being reassembled (kept types only).
    kept: Option<Vec<u8>>,
    /// The first payload bytes of a media message.
    head: [u8; MEDIA_HEAD_LEN],
}

/// Whether the server repeats the extended timestamp on continuation chunks
/// (spec §5.3.1.3 says it does; old librtmp did not). Learned once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    Unknown,
    Repeats,
    Omits,
}

/// Where the walker is between two input bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Collecting a chunk header into `header`.
    Header,
    /// Inside a chunk's payload: `left` bytes of stream `index`.
    Payload { index: usize, left: u32 },
}

/// The header length needed so far, or the parsed header.
enum Need {
    Bytes(usize),
    Done(Header),
}

/// A parsed chunk header.
struct Header {
    fmt: u8,
    csid: u32,
    /// `(length, type_id, stream_id)` from formats 0 and 1.
    fields: Option<(u32, u8, Option<u32>)>,
    /// The extended timestamp, when the header carried one.
    extended: Option<u32>,
    learned: Option<Repeat>,
}

/// Walks a server's chunk stream; see the module docs.
#[derive(Debug)]
pub struct ChunkWalker {
    limits: WalkerLimits,
    chunk_size: u32,
    streams: Vec<Stream>,
    header: [u8; MAX_HEADER_LEN],
    header_len: usize,
    position: Position,
    repeat: Repeat,
    bytes_received: u64,
    media_bytes: u64,
    ack_window: u32,
    last_ack: u64,
    stopped: bool,
}

impl ChunkWalker {
    /// A walker at the start of the chunk stream (chunk size 128).
    pub fn new(limits: WalkerLimits) -> Self {
        Self {
            limits,
            chunk_size: DEFAULT_CHUNK_SIZE,
            streams: Vec::new(),
            header: [0; MAX_HEADER_LEN],
            header_len: 0,
            position: Position::Header,
            repeat: Repeat::Unknown,
            bytes_received: 0,
            media_bytes: 0,
            ack_window: 0,
            last_ack: 0,
            stopped: false,
        }
    }

    /// Walks `input`, calling `on_event` for each event, in order.
    ///
    /// # Errors
    ///
    /// A [`WalkError`] when the input breaks the protocol; the walker then
    /// accepts no more input.
    pub fn feed(
        &mut self,
        input: &[u8],
        mut on_event: impl FnMut(WalkEvent<'_>),
    ) -> Result<(), WalkError> {
        if self.stopped {
            return Err(WalkError::Stopped);
        }
        self.bytes_received = self.bytes_received.saturating_add(input.len() as u64);
        let result = self.walk(input, &mut on_event);
        if result.is_err() {
            self.stopped = true;
        }
        result
    }

    /// Counts bytes received before the chunk stream (the handshake), so that
    /// acknowledgements cover the whole connection.
    pub fn add_bytes_received(&mut self, n: u64) {
        self.bytes_received = self.bytes_received.saturating_add(n);
    }

    /// Total bytes received.
    pub fn bytes_received(&self) -> u64 {
        self.bytes_received
    }

    /// Payload bytes of audio, video and aggregate messages received.
    pub fn media_bytes(&self) -> u64 {
        self.media_bytes
    }

    /// The chunk size the server writes with.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Once per window: the sequence number of an Acknowledgement due now
    /// (total bytes received, wrapping at 2^32), when the server announced a
    /// window and that many bytes arrived since the last one.
    pub fn take_ack_due(&mut self) -> Option<u32> {
        if self.ack_window == 0 || self.bytes_received - self.last_ack < u64::from(self.ack_window)
        {
            return None;
        }
        self.last_ack = self.bytes_received;
        Some((self.bytes_received & 0xFFFF_FFFF) as u32)
    }

    fn walk(
        &mut self,
        mut input: &[u8],
        on_event: &mut impl FnMut(WalkEvent<'_>),
    ) -> Result<(), WalkError> {
        while !input.is_empty() {
            match self.position {
                Position::Header => {
                    let header = loop {
                        match self.need()? {
                            Need::Done(header) => break Some(header),
                            Need::Bytes(n) => {
                                let (take, rest) =
                                    input.split_at((n - self.header_len).min(input.len()));
                                self.header[self.header_len..self.header_len + take.len()]
                                    .copy_from_slice(take);
                                self.header_len += take.len();
                                input = rest;
                                if self.header_len < n {
                                    break None;
                                }
                            }
                        }
                    };
                    if let Some(header) = header {
                        self.header_len = 0;
                        self.begin_chunk(header, on_event)?;
                    }
                }
                Position::Payload { index, left } => {
                    let n = (left as usize).min(input.len());
                    let (data, rest) = input.split_at(n);
                    input = rest;
                    self.position = Position::Payload {
                        index,
                        left: left - n as u32,
                    };
                    self.payload(index, data, on_event)?;
                    if left as usize == n {
                        self.position = Position::Header;
                        self.end_chunk(index, on_event)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn stream(&self, csid: u32) -> Option<&Stream> {
        self.streams.iter().find(|s| s.csid == csid)
    }

    /// How long the header in `self.header` is, as far as its bytes tell.
    fn need(&self) -> Result<Need, WalkError> {
        let h = &self.header[..self.header_len];
        let Some(&first) = h.first() else {
            return Ok(Need::Bytes(1));
        };
        let fmt = first >> 6;
        let (basic, csid) = match first & 0x3F {
            0 => match h.get(1) {
                Some(&b) => (2, 64 + u32::from(b)),
                None => return Ok(Need::Bytes(2)),
            },
            1 => match (h.get(1), h.get(2)) {
                (Some(&b1), Some(&b2)) => (3, 64 + u32::from(b1) + 256 * u32::from(b2)),
                _ => return Ok(Need::Bytes(3)),
            },
            c => (1, u32::from(c)),
        };
        let prev = self.stream(csid);
        let in_progress = prev.is_some_and(|s| s.received > 0);
        if in_progress && fmt != 3 {
            return Err(WalkError::HeaderInsideMessage { csid, fmt });
        }
        let message_len = [11, 7, 3, 0][usize::from(fmt)];
        let end = basic + message_len;
        if h.len() < end {
            return Ok(Need::Bytes(end));
        }
        let fields = match fmt {
            0 | 1 => {
                let length = be24(&h[basic + 3..basic + 6]);
                let type_id = h[basic + 6];
                let stream_id = (fmt == 0).then(|| {
                    u32::from_le_bytes([h[basic + 7], h[basic + 8], h[basic + 9], h[basic + 10]])
                });
                Some((length, type_id, stream_id))
            }
            _ => None,
        };
        if prev.is_none() && fmt >= 2 {
            return Err(WalkError::NoPreviousHeader { csid, fmt });
        }
        // Is there an extended timestamp field, and is it complete?
        let mut learned = None;
        let has_extended = if fmt < 3 {
            be24(&h[basic..basic + 3]) == EXTENDED_TIMESTAMP_MARKER
        } else {
            match prev.and_then(|s| s.extended) {
                None => false,
                // A format 3 chunk starting a message carries the field.
                Some(_) if !in_progress => true,
                Some(stored) => match self.repeat {
                    Repeat::Repeats => true,
                    Repeat::Omits => false,
                    Repeat::Unknown => {
                        if h.len() < end + 4 {
                            return Ok(Need::Bytes(end + 4));
                        }
                        let repeats = be32(&h[end..end + 4]) == stored;
                        learned = Some(if repeats {
                            Repeat::Repeats
                        } else {
                            Repeat::Omits
                        });
                        repeats
                    }
                },
            }
        };
        let extended = if has_extended {
            if h.len() < end + 4 {
                return Ok(Need::Bytes(end + 4));
            }
            Some(be32(&h[end..end + 4]))
        } else {
            None
        };
        Ok(Need::Done(Header {
            fmt,
            csid,
            fields,
            extended,
            learned,
        }))
    }

    /// Commits a complete header and positions the walker in its payload.
    fn begin_chunk(
        &mut self,
        header: Header,
        on_event: &mut impl FnMut(WalkEvent<'_>),
    ) -> Result<(), WalkError> {
        if let Some(learned) = header.learned {
            self.repeat = learned;
        }
        let index = match self.streams.iter().position(|s| s.csid == header.csid) {
            Some(i) => i,
            None => {
                if self.streams.len() >= self.limits.max_chunk_streams {
                    return Err(WalkError::TooManyChunkStreams {
                        csid: header.csid,
                        limit: self.limits.max_chunk_streams,
                    });
                }
                // Format 1 on a fresh chunk stream inherits stream id 0
                // (librtmp does this; the chunk decoder accepts it too).
                self.streams.push(Stream {
                    csid: header.csid,
                    length: 0,
                    type_id: 0,
                    stream_id: 0,
                    extended: None,
                    received: 0,
                    kept: None,
                    head: [0; MEDIA_HEAD_LEN],
                });
                self.streams.len() - 1
            }
        };
        let max_kept_len = self.limits.max_kept_len;
        let stream = &mut self.streams[index];
        if header.fmt < 3 || stream.received == 0 {
            stream.extended = header.extended;
        }
        if let Some((length, type_id, stream_id)) = header.fields {
            stream.length = length;
            stream.type_id = type_id;
            if let Some(stream_id) = stream_id {
                stream.stream_id = stream_id;
            }
        }
        if stream.received == 0 {
            // A new message starts with this chunk.
            if is_kept(stream.type_id) {
                if stream.length > max_kept_len {
                    return Err(WalkError::KeptMessageTooLong {
                        type_id: stream.type_id,
                        length: stream.length,
                        limit: max_kept_len,
                    });
                }
                stream.kept = Some(Vec::with_capacity(stream.length as usize));
            }
        }
        let left = (stream.length - stream.received).min(self.chunk_size);
        self.position = Position::Payload { index, left };
        if left == 0 {
            // A zero-length message: complete with its header.
            self.position = Position::Header;
            self.end_chunk(index, on_event)?;
        }
        Ok(())
    }

    /// Takes in one piece of a chunk's payload.
    fn payload(
        &mut self,
        index: usize,
        data: &[u8],
        on_event: &mut impl FnMut(WalkEvent<'_>),
    ) -> Result<(), WalkError> {
        let stream = &mut self.streams[index];
        let before = stream.received as usize;
        stream.received += data.len() as u32;
        if let Some(kept) = stream.kept.as_mut() {
            kept.extend_from_slice(data);
            return Ok(());
        }
        if !is_media(stream.type_id) {
            return Ok(());
        }
        self.media_bytes += data.len() as u64;
        if before < MEDIA_HEAD_LEN && matches!(stream.type_id, AUDIO | VIDEO) {
            let want = MEDIA_HEAD_LEN.min(stream.length as usize);
            let take = (want - before).min(data.len());
            stream.head[before..before + take].copy_from_slice(&data[..take]);
            if before + take == want {
                on_event(WalkEvent::MediaHead {
                    type_id: stream.type_id,
                    stream_id: stream.stream_id,
                    head: &stream.head[..want],
                    length: stream.length,
                });
            }
        }
        Ok(())
    }

    /// Finishes a chunk; completes its message when it was the last one.
    fn end_chunk(
        &mut self,
        index: usize,
        on_event: &mut impl FnMut(WalkEvent<'_>),
    ) -> Result<(), WalkError> {
        let stream = &mut self.streams[index];
        if stream.received < stream.length {
            return Ok(());
        }
        stream.received = 0;
        let Some(payload) = stream.kept.take() else {
            return Ok(());
        };
        let (type_id, stream_id) = (stream.type_id, stream.stream_id);
        self.apply_control(type_id, &payload)?;
        on_event(WalkEvent::Message {
            type_id,
            stream_id,
            payload,
        });
        Ok(())
    }

    /// Applies what changes how the next chunk is read (spec §5.4).
    fn apply_control(&mut self, type_id: u8, payload: &[u8]) -> Result<(), WalkError> {
        if !matches!(type_id, SET_CHUNK_SIZE | ABORT | WINDOW_ACK_SIZE) {
            return Ok(());
        }
        let Some(value) = payload.get(..4).map(be32) else {
            return Err(WalkError::ControlMessageTooShort {
                type_id,
                len: payload.len(),
            });
        };
        match type_id {
            SET_CHUNK_SIZE => {
                let limit = self.limits.max_chunk_size;
                if value == 0 || value & 0x8000_0000 != 0 || value > limit {
                    return Err(WalkError::InvalidChunkSize { size: value, limit });
                }
                self.chunk_size = value;
            }
            ABORT => {
                if let Some(stream) = self.streams.iter_mut().find(|s| s.csid == value) {
                    stream.received = 0;
                    stream.kept = None;
                }
            }
            _ => self.ack_window = value,
        }
        Ok(())
    }
}

fn be24(b: &[u8]) -> u32 {
    b.iter()
        .take(3)
        .fold(0, |acc, &x| (acc << 8) | u32::from(x))
}

fn be32(b: &[u8]) -> u32 {
    b.iter()
        .take(4)
        .fold(0, |acc, &x| (acc << 8) | u32::from(x))
}

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
    use bytes::{Bytes, BytesMut};

    use super::*;
    use crate::protocol::chunk::{ChunkEncoder, RawMessage};
    use crate::protocol::message::DATA_AMF0;

    fn raw(csid: u32, timestamp: u32, type_id: u8, stream_id: u32, payload: Vec<u8>) -> RawMessage {
        RawMessage {
            csid,
            timestamp,
            type_id,
            stream_id,
            payload: Bytes::from(payload),
        }
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    }

    /// What a server writes to a player, chunked by the project's encoder:
    /// a multi-chunk command, chunk size and window changes, a ping, media
    /// of every size class, a data message, extended timestamps.
    fn session() -> (Vec<RawMessage>, Bytes) {
        let mut keyframe = pattern(10_000, 3);
        keyframe[..2].copy_from_slice(&[0x17, 0x01]);
        let mut late = pattern(9_000, 5);
        late[..2].copy_from_slice(&[0x27, 0x01]);
        let messages = vec![
            raw(2, 0, WINDOW_ACK_SIZE, 0, vec![0, 0, 0x10, 0]),
            raw(3, 0, COMMAND_AMF0, 0, pattern(300, 1)),
            raw(2, 0, SET_CHUNK_SIZE, 0, vec![0, 0, 0x10, 0]),
            raw(2, 0, USER_CONTROL, 0, vec![0, 6, 0, 0, 0, 9]),
            raw(6, 0, VIDEO, 1, vec![0x17, 0x00, 0, 0, 0, 1, 0x64]),
            raw(4, 0, AUDIO, 1, vec![0xAF]),
            raw(6, 40, VIDEO, 1, keyframe),
            raw(5, 40, DATA_AMF0, 1, pattern(200, 2)),
            raw(4, 60, AUDIO, 1, pattern(300, 4)),
            raw(6, 0x0100_0000, VIDEO, 1, late.clone()),
            raw(6, 0x0100_0021, VIDEO, 1, late),
            raw(3, 0x0100_0030, COMMAND_AMF3, 1, pattern(5000, 6)),
            raw(6, 0x0100_0042, VIDEO, 1, Vec::new()),
        ];
        let mut encoder = ChunkEncoder::new();
        let mut wire = BytesMut::new();
        for m in &messages {
            encoder.encode(m, &mut wire).unwrap();
        }
        (messages, wire.freeze())
    }

    /// An event as owned values: (is media, type id, stream id, bytes,
    /// declared length).
    type Seen = (bool, u8, u32, Vec<u8>, u32);

    fn seen(event: WalkEvent<'_>) -> Seen {
        match event {
            WalkEvent::Message {
                type_id,
                stream_id,
                payload,
            } => {
                let len = payload.len() as u32;
                (false, type_id, stream_id, payload, len)
            }
            WalkEvent::MediaHead {
                type_id,
                stream_id,
                head,
                length,
            } => (true, type_id, stream_id, head.to_vec(), length),
        }
    }

    fn expected_events(messages: &[RawMessage]) -> Vec<Seen> {
        messages
            .iter()
            .filter_map(|m| {
                let len = m.payload.len() as u32;
                match m.type_id {
                    t if is_kept(t) => Some((false, t, m.stream_id, m.payload.to_vec(), len)),
                    AUDIO | VIDEO if len > 0 => Some((
                        true,
                        m.type_id,
                        m.stream_id,
                        m.payload[..m.payload.len().min(2)].to_vec(),
                        len,
                    )),
                    _ => None,
                }
            })
            .collect()
    }

    fn walk_pieces<'a>(
        pieces: impl IntoIterator<Item = &'a [u8]>,
    ) -> (ChunkWalker, Result<Vec<Seen>, WalkError>) {
        let mut walker = ChunkWalker::new(WalkerLimits::default());
        let mut events = Vec::new();
        for piece in pieces {
            if let Err(e) = walker.feed(piece, |e| events.push(seen(e))) {
                return (walker, Err(e));
            }
        }
        (walker, Ok(events))
    }

    #[test]
    fn a_session_split_at_every_byte_boundary_yields_the_same_events_and_counts() {
        let (messages, wire) = session();
        let expected = expected_events(&messages);
        let media: u64 = messages
            .iter()
            .filter(|m| is_media(m.type_id))
            .map(|m| m.payload.len() as u64)
            .sum();
        for cut in 0..=wire.len() {
            let (walker, events) = walk_pieces([&wire[..cut], &wire[cut..]]);
            assert_eq!(events.as_ref(), Ok(&expected), "cut at {cut}");
            assert_eq!(walker.media_bytes(), media);
            assert_eq!(walker.bytes_received(), wire.len() as u64);
            assert_eq!(walker.chunk_size(), 4096);
        }
        let (walker, events) = walk_pieces(wire.chunks(1));
        assert_eq!(events, Ok(expected));
        assert_eq!(walker.media_bytes(), media);
    }

    #[test]
    fn chunks_of_two_messages_may_interleave() {
        // csid 6 video of 200 bytes and csid 4 audio of 150 bytes, 128-byte
        // chunks, alternating.
        let video = pattern(200, 7);
        let audio = pattern(150, 8);
        let mut wire = vec![0x06, 0, 0, 0, 0, 0, 200, VIDEO, 1, 0, 0, 0];
        wire.extend_from_slice(&video[..128]);
        wire.extend_from_slice(&[0x04, 0, 0, 0, 0, 0, 150, AUDIO, 1, 0, 0, 0]);
        wire.extend_from_slice(&audio[..128]);
        wire.push(0xC6);
        wire.extend_from_slice(&video[128..]);
        wire.push(0xC4);
        wire.extend_from_slice(&audio[128..]);
        let (walker, events) = walk_pieces([&wire[..]]);
        let heads: Vec<u8> = events
            .unwrap()
            .iter()
            .map(|e| {
                assert!(e.0, "only media heads: {e:?}");
                e.1
            })
            .collect();
        assert_eq!(heads, vec![VIDEO, AUDIO]);
        assert_eq!(walker.media_bytes(), 350);
    }

    #[test]
    fn an_acknowledgement_is_due_once_per_window() {
        let mut walker = ChunkWalker::new(WalkerLimits::default());
        walker.add_bytes_received(3073);
        walker
            .feed(
                &[
                    0x02,
                    0,
                    0,
                    0,
                    0,
                    0,
                    4,
                    WINDOW_ACK_SIZE,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0x0C,
                    0x80,
                ],
                |_| {},
            )
            .unwrap();
        assert_eq!(walker.take_ack_due(), None);
        // A window of 3200 bytes; the next 140 bytes pass it.
        let mut video = vec![0x06, 0, 0, 0, 0, 0x10, 0, VIDEO, 1, 0, 0, 0];
        video.extend(std::iter::repeat_n(0, 128));
        walker.feed(&video, |_| {}).unwrap();
        let due = walker.take_ack_due();
        assert_eq!(due, Some((3073 + 16 + video.len()) as u32));
        assert_eq!(walker.take_ack_due(), None);
    }

    #[test]
    fn an_abort_discards_the_partial_message() {
        let mut wire = vec![0x03, 0, 0, 0, 0, 1, 0, COMMAND_AMF0, 0, 0, 0, 0];
        wire.extend(std::iter::repeat_n(1, 128));
        wire.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 4, ABORT, 0, 0, 0, 0, 0, 0, 0, 3]);
        // A fresh message may now start on csid 3 with a format 0 header.
        wire.extend_from_slice(&[0x03, 0, 0, 0, 0, 0, 1, COMMAND_AMF0, 0, 0, 0, 0, 42]);
        let (_, events) = walk_pieces([&wire[..]]);
        let events = events.unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1], (false, COMMAND_AMF0, 0, vec![42], 1));
    }

    #[test]
    fn malformed_streams_are_errors() {
        let cases: Vec<(Vec<u8>, WalkError)> = vec![
            (
                vec![0xC5, 1, 2],
                WalkError::NoPreviousHeader { csid: 5, fmt: 3 },
            ),
            (
                vec![0x83, 0, 0, 0],
                WalkError::NoPreviousHeader { csid: 3, fmt: 2 },
            ),
            (
                [
                    &[0x03, 0, 0, 0, 0, 1, 0, VIDEO, 0, 0, 0, 0][..],
                    &[0; 128],
                    &[0x43],
                ]
                .concat(),
                WalkError::HeaderInsideMessage { csid: 3, fmt: 1 },
            ),
            (
                vec![
                    0x02,
                    0,
                    0,
                    0,
                    0,
                    0,
                    4,
                    SET_CHUNK_SIZE,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                ],
                WalkError::InvalidChunkSize {
                    size: 0,
                    limit: 16 * 1024 * 1024,
                },
            ),
            (
                vec![0x02, 0, 0, 0, 0, 0, 2, SET_CHUNK_SIZE, 0, 0, 0, 0, 0, 1],
                WalkError::ControlMessageTooShort {
                    type_id: SET_CHUNK_SIZE,
                    len: 2,
                },
            ),
            (
                vec![0x03, 0, 0, 0, 0x10, 0, 0, COMMAND_AMF0, 0, 0, 0, 0],
                WalkError::KeptMessageTooLong {
                    type_id: COMMAND_AMF0,
                    length: 0x10_0000,
                    limit: 64 * 1024,
                },
            ),
        ];
        for (wire, error) in cases {
            let mut walker = ChunkWalker::new(WalkerLimits::default());
            assert_eq!(walker.feed(&wire, |_| {}), Err(error));
            assert_eq!(walker.feed(&[0], |_| {}), Err(WalkError::Stopped));
        }
    }

    #[test]
    fn too_many_chunk_streams_are_refused() {
        let limits = WalkerLimits {
            max_chunk_streams: 2,
            ..WalkerLimits::default()
        };
        let mut walker = ChunkWalker::new(limits);
        let mut wire = Vec::new();
        for csid in 3..6u8 {
            wire.extend_from_slice(&[csid, 0, 0, 0, 0, 0, 1, DATA_AMF0, 0, 0, 0, 0, 0]);
        }
        assert_eq!(
            walker.feed(&wire, |_| {}),
            Err(WalkError::TooManyChunkStreams { csid: 5, limit: 2 })
        );
    }

    #[test]
    fn garbage_never_panics() {
        let (_, wire) = session();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for round in 0..2000 {
            let mut bytes = wire[..(round * 7) % wire.len()].to_vec();
            for _ in 0..64 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = (state as usize) % (bytes.len() + 1);
                if i < bytes.len() {
                    bytes[i] = (state >> 32) as u8;
                } else {
                    bytes.push((state >> 40) as u8);
                }
            }
            let mut walker = ChunkWalker::new(WalkerLimits::default());
            for piece in bytes.chunks(1 + round % 97) {
                if walker.feed(piece, |_| {}).is_err() {
                    break;
                }
            }
        }
    }

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

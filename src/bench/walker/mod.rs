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

mod control;
mod error;
mod events;

pub use error::WalkError;
pub use events::{WalkEvent, WalkerLimits};

use crate::protocol::chunk::{DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP_MARKER};
use crate::protocol::message::{
    ABORT, ACKNOWLEDGEMENT, AGGREGATE, AUDIO, COMMAND_AMF0, COMMAND_AMF3, SET_CHUNK_SIZE,
    SET_PEER_BANDWIDTH, USER_CONTROL, VIDEO, WINDOW_ACK_SIZE,
};
use control::{be24, be32};

/// Longest chunk header: 3-byte basic + 11-byte message header + 4 extended.
const MAX_HEADER_LEN: usize = 18;
/// Bytes of an audio/video message reported in [`WalkEvent::MediaHead`].
pub const MEDIA_HEAD_LEN: usize = 2;

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
}

#[cfg(test)]
mod tests;

//! [`ChunkWriter`]: one side's outbound chunk stream, ready for the socket.
//!
//! Small messages (control, commands) are chunked into one growing buffer;
//! large shared payloads (media, relayed data) are chunked with
//! [`ChunkEncoder::encode_segments_into`] into their own segments, so a frame
//! fanned out to many players is never copied. Their chunk headers are
//! written into the same buffer, which is cut into a segment whenever a
//! shared payload follows it, so the order of the segments is the order of
//! the messages, and the headers of a few hundred frames share one
//! allocation (a slab of [`HEADER_SLAB_BYTES`]) instead of one each. The
//! server and the client sessions both write through one of these.

use bytes::{Bytes, BytesMut};

use super::{ChunkEncoder, ChunkError, MessageHeader, RawMessage};

/// Room reserved at a time for the chunk headers of shared payloads (a
/// format 0 header is at most 18 bytes, a continuation at most 7): about a
/// hundred frames' headers per allocation.
const HEADER_SLAB_BYTES: usize = 2048;
/// Below this much free room, a new slab is reserved before a frame.
const HEADER_SLAB_LOW_BYTES: usize = 64;

/// An outbound chunk stream: an encoder and the bytes it produced, not yet
/// taken for the socket.
#[derive(Debug, Default)]
pub struct ChunkWriter {
    encoder: ChunkEncoder,
    /// Small messages, chunked back to back.
    buf: BytesMut,
    /// Segments ready to be written, in order (the buffer comes after them).
    segments: Vec<Bytes>,
}

impl ChunkWriter {
    /// A writer with the default chunk size (128 bytes).
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoder (its chunk size and byte count).
    pub fn encoder(&self) -> &ChunkEncoder {
        &self.encoder
    }

    /// Chunks `message`, copying its payload into the shared buffer.
    ///
    /// # Errors
    ///
    /// As [`ChunkEncoder::encode`]; nothing is queued on error.
    pub fn queue(&mut self, message: &RawMessage) -> Result<(), ChunkError> {
        self.encoder.encode(message, &mut self.buf)
    }

    /// Chunks a message whose payload is shared, without copying it.
    ///
    /// # Errors
    ///
    /// As [`ChunkEncoder::encode_segments`]; nothing is queued on error.
    pub fn queue_shared(
        &mut self,
        header: &MessageHeader,
        payload: &Bytes,
    ) -> Result<(), ChunkError> {
        if self.buf.capacity() - self.buf.len() < HEADER_SLAB_LOW_BYTES {
            self.buf.reserve(HEADER_SLAB_BYTES);
        }
        self.encoder
            .encode_segments_into(header, payload, &mut self.buf, &mut self.segments)
    }

    /// Queues bytes that are not chunks (the handshake's), in order.
    pub fn push_bytes(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.cut();
            self.segments.push(bytes);
        }
    }

    /// Everything queued so far, in order, for the socket.
    pub fn take(&mut self) -> Vec<Bytes> {
        self.cut();
        // The next flush likely needs as many (one allocation instead of a
        // few regrowths), within reason for connections that go quiet.
        let capacity = self.segments.len().min(64);
        std::mem::replace(&mut self.segments, Vec::with_capacity(capacity))
    }

    /// Whether anything waits to be taken.
    pub fn has_pending(&self) -> bool {
        !self.buf.is_empty() || !self.segments.is_empty()
    }

    /// Moves the buffer's bytes into a segment.
    fn cut(&mut self) {
        if !self.buf.is_empty() {
            self.segments.push(self.buf.split().freeze());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::chunk::ChunkDecoder;
    use crate::protocol::limits::ChunkLimits;

    fn raw(csid: u32, type_id: u8, payload: &'static [u8]) -> RawMessage {
        RawMessage {
            csid,
            timestamp: 0,
            type_id,
            stream_id: 1,
            payload: Bytes::from_static(payload),
        }
    }

    #[test]
    fn copied_and_shared_messages_come_out_in_the_order_they_were_queued() {
        let mut writer = ChunkWriter::new();
        writer.queue(&raw(3, 20, b"first")).unwrap();
        let frame = Bytes::from(vec![7u8; 300]);
        let header = MessageHeader {
            csid: 6,
            timestamp: 40,
            type_id: 9,
            stream_id: 1,
        };
        writer.queue_shared(&header, &frame).unwrap();
        writer.queue(&raw(3, 20, b"third")).unwrap();
        assert!(writer.has_pending());

        let mut wire = BytesMut::new();
        for segment in writer.take() {
            wire.extend_from_slice(&segment);
        }
        assert!(!writer.has_pending());
        let mut decoder = ChunkDecoder::new(ChunkLimits::default());
        let payloads: Vec<Bytes> = std::iter::from_fn(|| decoder.decode(&mut wire).unwrap())
            .map(|m| m.payload)
            .collect();
        assert_eq!(
            payloads,
            vec![
                Bytes::from_static(b"first"),
                frame,
                Bytes::from_static(b"third")
            ]
        );
    }

    #[test]
    fn a_shared_payload_is_handed_out_without_a_copy() {
        let mut writer = ChunkWriter::new();
        let frame = Bytes::from(vec![1u8; 100]);
        let header = MessageHeader {
            csid: 4,
            timestamp: 0,
            type_id: 8,
            stream_id: 1,
        };
        writer.queue_shared(&header, &frame).unwrap();
        let segments = writer.take();
        assert!(segments
            .iter()
            .any(|s| s.as_ptr() == frame.as_ptr() && s.len() == frame.len()));
    }

    #[test]
    fn the_chunk_headers_of_many_frames_share_one_buffer_and_decode_in_order() {
        let mut writer = ChunkWriter::new();
        let frames: Vec<Bytes> = (0..50u8).map(|i| Bytes::from(vec![i; 300])).collect();
        for (i, frame) in frames.iter().enumerate() {
            let header = MessageHeader {
                csid: 6,
                timestamp: u32::try_from(i).unwrap() * 33,
                type_id: 9,
                stream_id: 1,
            };
            writer.queue_shared(&header, frame).unwrap();
            if i % 10 == 0 {
                writer.queue(&raw(3, 20, b"status")).unwrap();
            }
        }
        let segments = writer.take();
        // Header segments (not payload slices) lie back to back in memory.
        let headers: Vec<&Bytes> = segments
            .iter()
            .filter(|s| {
                !frames
                    .iter()
                    .any(|f| f.as_ptr_range().contains(&s.as_ptr()))
            })
            .collect();
        let adjacent = headers
            .windows(2)
            .filter(|w| w[0].as_ptr_range().end == w[1].as_ptr())
            .count();
        assert!(
            adjacent > headers.len() / 2,
            "{adjacent} of {}",
            headers.len()
        );

        let mut wire = BytesMut::new();
        for segment in &segments {
            wire.extend_from_slice(segment);
        }
        let mut decoder = ChunkDecoder::new(ChunkLimits::default());
        let payloads: Vec<Bytes> = std::iter::from_fn(|| decoder.decode(&mut wire).unwrap())
            .map(|m| m.payload)
            .filter(|p| p.len() == 300)
            .collect();
        assert_eq!(payloads, frames);
    }

    #[test]
    fn handshake_bytes_keep_their_place_before_later_chunks() {
        let mut writer = ChunkWriter::new();
        writer.push_bytes(Bytes::from_static(b"C0C1"));
        writer.push_bytes(Bytes::new());
        writer.queue(&raw(2, 1, &[0, 0, 16, 0])).unwrap();
        let segments = writer.take();
        assert_eq!(segments.len(), 2);
        assert_eq!(segments[0], Bytes::from_static(b"C0C1"));
    }

    #[test]
    fn a_refused_message_queues_nothing() {
        let mut writer = ChunkWriter::new();
        assert!(writer.queue(&raw(1, 20, b"bad csid")).is_err());
        assert!(!writer.has_pending());
    }
}

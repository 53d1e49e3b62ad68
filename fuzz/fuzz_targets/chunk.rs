//! Fuzz the chunk decoder and the typed message decoder.
//!
//! The first byte picks how the input is split into reads (to exercise partial
//! chunks); every decoded message goes through `RtmpMessage::decode`, and the
//! decoded sequence is re-chunked and decoded again, which must give the same
//! messages (an invariant of the codec, not of the input).
#![no_main]

use bytes::BytesMut;
use ferrocast::protocol::chunk::{ChunkDecoder, ChunkEncoder, RawMessage};
use ferrocast::protocol::limits::ChunkLimits;
use ferrocast::protocol::message::RtmpMessage;

fn limits() -> ChunkLimits {
    ChunkLimits {
        max_chunk_size: 1 << 16,
        max_message_len: 1 << 16,
        max_chunk_streams: 16,
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let step = usize::from(split).max(1);
    let mut decoder = ChunkDecoder::new(limits());
    let mut buf = BytesMut::new();
    let mut messages: Vec<RawMessage> = Vec::new();
    'feed: for piece in data.chunks(step) {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(msg)) => {
                    if let Ok(RtmpMessage::Aggregate(agg)) = RtmpMessage::from_raw(&msg) {
                        for _sub in agg.messages(&msg.header()) {}
                    }
                    let _ = decoder.take_ack_due();
                    messages.push(msg);
                }
                Ok(None) => break,
                Err(_) => break 'feed,
            }
        }
    }

    // Re-chunk what was decoded and decode it again.
    let mut encoder = ChunkEncoder::new();
    let mut wire = BytesMut::new();
    for msg in &messages {
        if encoder.encode(msg, &mut wire).is_err() {
            return;
        }
    }
    let mut again = ChunkDecoder::new(limits());
    let mut decoded = Vec::new();
    while let Ok(Some(msg)) = again.decode(&mut wire) {
        decoded.push(msg);
    }
    assert_eq!(decoded, messages);
});

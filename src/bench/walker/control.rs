//! Protocol control messages that change how the walker reads the next
//! chunk, and the big-endian field readers of chunk headers.

use super::{ChunkWalker, WalkError};
use crate::protocol::message::{ABORT, SET_CHUNK_SIZE, WINDOW_ACK_SIZE};

impl ChunkWalker {
    /// Applies what changes how the next chunk is read (spec §5.4).
    pub(super) fn apply_control(&mut self, type_id: u8, payload: &[u8]) -> Result<(), WalkError> {
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

pub(super) fn be24(b: &[u8]) -> u32 {
    b.iter()
        .take(3)
        .fold(0, |acc, &x| (acc << 8) | u32::from(x))
}

pub(super) fn be32(b: &[u8]) -> u32 {
    b.iter()
        .take(4)
        .fold(0, |acc, &x| (acc << 8) | u32::from(x))
}

//! A fixed-size accumulator for one handshake packet, so input may arrive in
//! any fragmentation without ever buffering more than 1536 bytes.

use super::HANDSHAKE_PACKET_LEN;

/// Collects exactly [`HANDSHAKE_PACKET_LEN`] bytes from successive inputs.
#[derive(Debug, Clone)]
pub(super) struct PacketBuf {
    /// The packet being filled; only `data[..filled]` is meaningful.
    data: Box<[u8; HANDSHAKE_PACKET_LEN]>,
    /// How many bytes have arrived so far.
    filled: usize,
}

impl PacketBuf {
    /// An empty accumulator.
    pub(super) fn new() -> Self {
        Self {
            data: Box::new([0; HANDSHAKE_PACKET_LEN]),
            filled: 0,
        }
    }

    /// Takes as many bytes from the front of `input` as the packet still needs
    /// and advances `input` past them. Returns the complete packet once all
    /// [`HANDSHAKE_PACKET_LEN`] bytes are in, `None` while more are needed.
    pub(super) fn fill(&mut self, input: &mut &[u8]) -> Option<&[u8; HANDSHAKE_PACKET_LEN]> {
        let missing = HANDSHAKE_PACKET_LEN.saturating_sub(self.filled);
        let (head, tail) = input.split_at(missing.min(input.len()));
        if let Some(dst) = self.data.get_mut(self.filled..self.filled + head.len()) {
            dst.copy_from_slice(head);
            self.filled += head.len();
        }
        *input = tail;
        (self.filled == HANDSHAKE_PACKET_LEN).then_some(&*self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_across_fragments_and_leaves_the_rest_of_the_input() {
        let bytes: Vec<u8> = (0..HANDSHAKE_PACKET_LEN + 10).map(|i| i as u8).collect();
        let mut buf = PacketBuf::new();
        let mut first = &bytes[..1000];
        assert!(buf.fill(&mut first).is_none());
        assert!(first.is_empty());
        let mut second = &bytes[1000..];
        let packet = *buf.fill(&mut second).expect("complete");
        assert_eq!(&packet[..], &bytes[..HANDSHAKE_PACKET_LEN]);
        assert_eq!(second, &bytes[HANDSHAKE_PACKET_LEN..]);
    }

    #[test]
    fn empty_input_needs_more() {
        let mut buf = PacketBuf::new();
        let mut empty: &[u8] = &[];
        assert!(buf.fill(&mut empty).is_none());
    }
}

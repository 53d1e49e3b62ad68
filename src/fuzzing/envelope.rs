//! The cluster envelope decoder: bytes as they arrive from the bus (another
//! node, or anything that can publish on Redis). A decoded envelope must
//! encode again and decode to the same value.

use bytes::Bytes;

use crate::cluster::envelope::MAX_ENVELOPE_LEN;
use crate::cluster::{ClusterEvent, Envelope, NodeId};

/// Decodes `data` (both the copying and the slicing decoder); whatever
/// decodes must survive an encode/decode round trip unchanged.
pub fn envelope(data: &[u8]) {
    let copied = Envelope::decode(data, MAX_ENVELOPE_LEN);
    let shared = Envelope::decode_shared(&Bytes::copy_from_slice(data), MAX_ENVELOPE_LEN);
    assert_eq!(
        copied.is_ok(),
        shared.is_ok(),
        "both decoders agree on what is valid"
    );
    if let Ok(envelope) = copied {
        let bytes = envelope.encode().expect("a decoded envelope encodes");
        let again = Envelope::decode(&bytes, MAX_ENVELOPE_LEN).expect("and decodes again");
        assert_eq!(again, envelope, "the round trip keeps the envelope");
    }
}

/// A valid envelope for the corpus and the replay test.
pub fn envelope_seed() -> Vec<u8> {
    let event = ClusterEvent::Broadcast {
        scope: "live/room".into(),
        method: "onNews".into(),
        args: Bytes::from_static(b"\x02\x00\x02hi"),
    };
    Envelope::new(NodeId::from("node-a"), 7, event)
        .encode()
        .map(|b| b.to_vec())
        .unwrap_or_default()
}

//! The cluster wire format: one [`Envelope`] per bus message, around a typed
//! [`ClusterEvent`]. This is the ONLY file that touches bincode (DESIGN.md
//! §6), so the format can move (postcard is the likely successor) without
//! touching anything else.
//!
//! # Wire layout
//!
//! ```text
//! byte 0      format version (FORMAT_VERSION = 1), raw, so a future format is
//!             recognised before any decoding
//! bytes 1..   bincode 2, standard config (little endian, varint integers):
//!             node_id: string, seq: u64, event: ClusterEvent
//! ```
//!
//! `seq` counts per sender node and per channel, from 1: a receiver subscribed
//! to a channel sees every sequence number a sender used on it, so a jump is a
//! gap (see [`events`](super::events)).
//!
//! AMF values never go through bincode: AMF0/AMF3 are self-describing and
//! cannot round-trip through a non-self-describing format. SharedObject slot
//! values and call arguments travel as their AMF encoding, as opaque bytes.
//!
//! Copies: encoding writes the event (payload included) into one buffer;
//! [`Envelope::decode_shared`] hands out byte fields as slices of the input
//! `Bytes`, so a received media frame costs the one copy out of the Redis
//! client and no more.
//!
//! Decoding is bounded: the input length is checked against a limit the
//! caller gives (at most [`MAX_ENVELOPE_LEN`]), bincode itself is capped at
//! that same hard limit, and trailing bytes are an error. Decoding never
//! panics, whatever the bytes.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::NodeId;

/// The format version this code writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Hard upper bound of an encoded envelope, in bytes (16 MiB). Settings may
/// only lower it.
pub const MAX_ENVELOPE_LEN: usize = 16 * 1024 * 1024;

/// Errors of the envelope codec.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The input is empty.
    #[error("empty envelope")]
    Empty,
    /// The input is longer than the limit.
    #[error("envelope of {len} bytes exceeds the {max}-byte limit")]
    TooLarge {
        /// The input's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The first byte names a format this code does not read.
    #[error("unsupported envelope format version {found} (this node reads {FORMAT_VERSION})")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// The body is not a valid envelope (truncated, bad tag, bad UTF-8, ...).
    #[error("malformed envelope: {reason}")]
    Malformed {
        /// bincode's description.
        reason: String,
    },
    /// The body decoded but bytes were left over.
    #[error("{extra} trailing bytes after the envelope")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// The envelope could not be encoded.
    #[error("cannot encode envelope: {reason}")]
    Encode {
        /// bincode's description.
        reason: String,
    },
}

/// One bus message: who sent it, its sequence number and the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The format version it was (or will be) written in.
    pub format_version: u8,
    /// The sending node.
    pub node_id: NodeId,
    /// Per sender, per channel, from 1.
    pub seq: u64,
    /// The event.
    pub event: ClusterEvent,
}

/// A SharedObject's cluster identity. Persistent and non-persistent objects
/// of one name are different objects (as in FMS).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    /// The scope (`APP[/ROOM...]`).
    pub scope: String,
    /// The object's name.
    pub name: String,
    /// Whether it is persistent.
    pub persistent: bool,
}

/// A stream's cluster identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StreamKey {
    /// The scope (`APP[/ROOM...]`).
    pub scope: String,
    /// The stream name.
    pub name: String,
}

/// How the opaque AMF bytes in an event are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AmfEncoding {
    /// AMF0.
    Amf0,
    /// AMF3.
    Amf3,
}

/// One slot change inside a SharedObject delta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotChange {
    /// The slot name.
    pub slot: String,
    /// The new value, AMF-encoded; `None` deletes the slot.
    #[serde(with = "opt_bytes")]
    pub value: Option<Bytes>,
}

/// The result of a cross-node `callClient`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallOutcome {
    /// The client answered `_result` with these AMF0-encoded values.
    Result(#[serde(with = "bytes_serde")] Bytes),
    /// The client answered `_error` with this AMF0-encoded info object.
    Error(#[serde(with = "bytes_serde")] Bytes),
    /// No client with that id is connected on the node that answered.
    NoSuchClient,
}

/// What a media frame carries (RTMP message types 8, 9, 18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaKind {
    /// Audio (type 8).
    Audio,
    /// Video (type 9).
    Video,
    /// Data, e.g. `@setDataFrame onMetaData` (type 18).
    Data,
}

/// Every event nodes exchange. New variants may be added (the format
/// version is bumped when old nodes could misread the new ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ClusterEvent {
    /// Slot changes that made a SharedObject reach `version` (applied in
    /// Redis before being published; nodes apply deltas in version order).
    SharedObjectDelta {
        /// The object.
        object: ObjectKey,
        /// The version after these changes.
        version: u32,
        /// How slot values are encoded.
        encoding: AmfEncoding,
        /// The changes, in order.
        changes: Vec<SlotChange>,
    },
    /// `SharedObject.send(handler, ...args)` to every subscriber, ordered
    /// after the change that produced `version`.
    SharedObjectSend {
        /// The object.
        object: ObjectKey,
        /// The object's version when the message was sent.
        version: u32,
        /// The handler name.
        handler: String,
        /// How `args` is encoded.
        encoding: AmfEncoding,
        /// The arguments, AMF-encoded one after another.
        #[serde(with = "bytes_serde")]
        args: Bytes,
    },
    /// All slots were cleared, giving `version`.
    SharedObjectClear {
        /// The object.
        object: ObjectKey,
        /// The version after the clear.
        version: u32,
    },
    /// `broadcast(method, ...args)`: invoke `method` on every client in
    /// `scope` on every node.
    Broadcast {
        /// The scope.
        scope: String,
        /// The client-side method.
        method: String,
        /// The arguments, AMF0-encoded one after another.
        #[serde(with = "bytes_serde")]
        args: Bytes,
    },
    /// `callClient(clientId, method, ...args)` routed to the node holding the
    /// client (published to every node's inbox, or to the owner's).
    CallClientRequest {
        /// Chosen by the origin node, unique among its pending calls.
        correlation_id: u64,
        /// Where the reply goes (that node's inbox channel).
        origin_node: NodeId,
        /// The cluster-unique client id.
        target_client: String,
        /// The client-side method.
        method: String,
        /// The arguments, AMF0-encoded one after another.
        #[serde(with = "bytes_serde")]
        args: Bytes,
    },
    /// The answer to a [`ClusterEvent::CallClientRequest`], sent to the
    /// origin node's inbox.
    CallClientReply {
        /// The request's correlation id.
        correlation_id: u64,
        /// The client that was asked.
        target_client: String,
        /// What happened.
        outcome: CallOutcome,
    },
    /// A node has players for a stream and wants its frames (sent to the
    /// owner; the owner answers with its GOP cache, then live frames).
    StreamWanted {
        /// The stream.
        stream: StreamKey,
        /// The node that wants it.
        node: NodeId,
    },
    /// A node has no players left for a stream.
    StreamUnwanted {
        /// The stream.
        stream: StreamKey,
        /// The node that no longer wants it.
        node: NodeId,
    },
    /// One media message of a stream, on the stream's channel.
    MediaFrame {
        /// The stream.
        stream: StreamKey,
        /// Audio, video or data.
        kind: MediaKind,
        /// RTMP timestamp in milliseconds.
        timestamp: u32,
        /// The RTMP message body, as published.
        #[serde(with = "bytes_serde")]
        payload: Bytes,
    },
    /// The stream's publisher stopped (or its lease was lost).
    StreamUnpublished {
        /// The stream.
        stream: StreamKey,
    },
    /// A stream was just published on `node` (on the stream's channel):
    /// nodes with players waiting for it ask for it at once.
    StreamPublished {
        /// The stream.
        stream: StreamKey,
        /// The owner node.
        node: NodeId,
    },
    /// The owner's answer to [`ClusterEvent::StreamWanted`], sent to the
    /// wanting node's inbox: the GOP cache (metadata, sequence headers,
    /// frames from the last keyframe). Live frames follow on the stream's
    /// channel.
    StreamBurst {
        /// The stream.
        stream: StreamKey,
        /// The cached frames, in order.
        frames: Vec<RelayFrame>,
    },
}

/// One media message inside a [`ClusterEvent::StreamBurst`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayFrame {
    /// Audio, video or data.
    pub kind: MediaKind,
    /// RTMP timestamp in milliseconds.
    pub timestamp: u32,
    /// The RTMP message body.
    #[serde(with = "bytes_serde")]
    pub payload: Bytes,
}

impl Envelope {
    /// An envelope in the current format.
    pub fn new(node_id: NodeId, seq: u64, event: ClusterEvent) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            node_id,
            seq,
            event,
        }
    }

    /// Encodes the envelope (always in [`FORMAT_VERSION`]).
    ///
    /// # Errors
    ///
    /// [`EnvelopeError::Encode`] if bincode refuses, [`EnvelopeError::TooLarge`]
    /// past [`MAX_ENVELOPE_LEN`].
    pub fn encode(&self) -> Result<Bytes, EnvelopeError> {
        let mut out = Vec::with_capacity(64 + payload_hint(&self.event));
        out.push(FORMAT_VERSION);
        let body = WireRef {
            node_id: &self.node_id,
            seq: self.seq,
            event: &self.event,
        };
        bincode::serde::encode_into_std_write(&body, &mut out, config()).map_err(|e| {
            EnvelopeError::Encode {
                reason: e.to_string(),
            }
        })?;
        if out.len() > MAX_ENVELOPE_LEN {
            return Err(EnvelopeError::TooLarge {
                len: out.len(),
                max: MAX_ENVELOPE_LEN,
            });
        }
        Ok(Bytes::from(out))
    }

    /// Decodes one envelope that must fill `input` exactly.
    ///
    /// # Errors
    ///
    /// [`EnvelopeError::Empty`], [`EnvelopeError::TooLarge`] (beyond
    /// `max_len`, itself capped at [`MAX_ENVELOPE_LEN`]),
    /// [`EnvelopeError::UnsupportedVersion`], [`EnvelopeError::Malformed`],
    /// [`EnvelopeError::TrailingBytes`].
    pub fn decode(input: &[u8], max_len: usize) -> Result<Self, EnvelopeError> {
        Self::decode_inner(input, max_len)
    }

    /// As [`Envelope::decode`], but byte fields (media payloads, AMF
    /// arguments, slot values) share `input`'s memory instead of being
    /// copied.
    ///
    /// # Errors
    ///
    /// As [`Envelope::decode`].
    pub fn decode_shared(input: &Bytes, max_len: usize) -> Result<Self, EnvelopeError> {
        let previous = bytes_serde::SOURCE.with(|s| s.replace(Some(input.clone())));
        let result = Self::decode_inner(input, max_len);
        bytes_serde::SOURCE.with(|s| s.replace(previous));
        result
    }

    fn decode_inner(input: &[u8], max_len: usize) -> Result<Self, EnvelopeError> {
        let max = max_len.min(MAX_ENVELOPE_LEN);
        if input.len() > max {
            return Err(EnvelopeError::TooLarge {
                len: input.len(),
                max,
            });
        }
        let (&version, body) = input.split_first().ok_or(EnvelopeError::Empty)?;
        if version != FORMAT_VERSION {
            return Err(EnvelopeError::UnsupportedVersion { found: version });
        }
        let (wire, used): (Wire, usize) = bincode::serde::decode_from_slice(body, config())
            .map_err(|e| EnvelopeError::Malformed {
                reason: e.to_string(),
            })?;
        if used != body.len() {
            return Err(EnvelopeError::TrailingBytes {
                extra: body.len().saturating_sub(used),
            });
        }
        Ok(Self {
            format_version: version,
            node_id: wire.node_id,
            seq: wire.seq,
            event: wire.event,
        })
    }
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_ENVELOPE_LEN>()
}

fn payload_hint(event: &ClusterEvent) -> usize {
    match event {
        ClusterEvent::MediaFrame { payload, .. } => payload.len(),
        ClusterEvent::StreamBurst { frames, .. } => {
            frames.iter().map(|f| f.payload.len() + 8).sum()
        }
        ClusterEvent::Broadcast { args, .. }
        | ClusterEvent::CallClientRequest { args, .. }
        | ClusterEvent::SharedObjectSend { args, .. } => args.len(),
        _ => 0,
    }
}

#[derive(Serialize)]
struct WireRef<'a> {
    node_id: &'a NodeId,
    seq: u64,
    event: &'a ClusterEvent,
}

#[derive(Deserialize)]
struct Wire {
    node_id: NodeId,
    seq: u64,
    event: ClusterEvent,
}

mod byte_fields;
use byte_fields::{bytes_serde, opt_bytes};

#[cfg(test)]
mod tests {
    use super::*;

    fn object() -> ObjectKey {
        ObjectKey {
            scope: "live/room1".into(),
            name: "chat".into(),
            persistent: true,
        }
    }

    fn stream() -> StreamKey {
        StreamKey {
            scope: "live".into(),
            name: "cam".into(),
        }
    }

    /// One of every event, with non-trivial contents.
    fn every_event() -> Vec<ClusterEvent> {
        vec![
            ClusterEvent::SharedObjectDelta {
                object: object(),
                version: 42,
                encoding: AmfEncoding::Amf0,
                changes: vec![
                    SlotChange {
                        slot: "x".into(),
                        value: Some(Bytes::from_static(&[0x00, 0x40, 0x45, 0, 0, 0, 0, 0, 0])),
                    },
                    SlotChange {
                        slot: "gone".into(),
                        value: None,
                    },
                    SlotChange {
                        slot: "empty".into(),
                        value: Some(Bytes::new()),
                    },
                ],
            },
            ClusterEvent::SharedObjectSend {
                object: object(),
                version: 43,
                handler: "onMsg".into(),
                encoding: AmfEncoding::Amf3,
                args: Bytes::from_static(b"\x06\x05hi"),
            },
            ClusterEvent::SharedObjectClear {
                object: object(),
                version: 44,
            },
            ClusterEvent::Broadcast {
                scope: "live".into(),
                method: "onNews".into(),
                args: Bytes::from_static(b"\x02\x00\x02hi"),
            },
            ClusterEvent::CallClientRequest {
                correlation_id: u64::MAX,
                origin_node: NodeId::from("node-a"),
                target_client: "node-b-17".into(),
                method: "ask".into(),
                args: Bytes::new(),
            },
            ClusterEvent::CallClientReply {
                correlation_id: 7,
                target_client: "node-b-17".into(),
                outcome: CallOutcome::Result(Bytes::from_static(b"\x05")),
            },
            ClusterEvent::CallClientReply {
                correlation_id: 8,
                target_client: "x".into(),
                outcome: CallOutcome::NoSuchClient,
            },
            ClusterEvent::StreamWanted {
                stream: stream(),
                node: NodeId::from("node-b"),
            },
            ClusterEvent::StreamUnwanted {
                stream: stream(),
                node: NodeId::from("node-b"),
            },
            ClusterEvent::MediaFrame {
                stream: stream(),
                kind: MediaKind::Video,
                timestamp: 123_456,
                payload: Bytes::from((0..=255u8).cycle().take(5000).collect::<Vec<_>>()),
            },
            ClusterEvent::StreamUnpublished { stream: stream() },
            ClusterEvent::StreamPublished {
                stream: stream(),
                node: NodeId::from("node-a"),
            },
            ClusterEvent::StreamBurst {
                stream: stream(),
                frames: vec![
                    RelayFrame {
                        kind: MediaKind::Data,
                        timestamp: 0,
                        payload: Bytes::from_static(b"meta"),
                    },
                    RelayFrame {
                        kind: MediaKind::Video,
                        timestamp: 40,
                        payload: Bytes::from_static(&[0x17, 0, 0, 0, 0]),
                    },
                ],
            },
        ]
    }

    #[test]
    fn every_event_roundtrips_through_an_envelope() {
        for (i, event) in every_event().into_iter().enumerate() {
            let envelope = Envelope::new(NodeId::from("node-a"), i as u64 + 1, event);
            let wire = envelope.encode().expect("encodes");
            assert_eq!(wire[0], FORMAT_VERSION);
            let back = Envelope::decode(&wire, MAX_ENVELOPE_LEN).expect("decodes");
            assert_eq!(back, envelope);
        }
    }

    #[test]
    fn every_truncation_of_every_envelope_is_an_error_not_a_panic() {
        for event in every_event() {
            let wire = Envelope::new(NodeId::from("n"), 1, event)
                .encode()
                .expect("encodes");
            for cut in 0..wire.len() {
                assert!(
                    Envelope::decode(&wire[..cut], MAX_ENVELOPE_LEN).is_err(),
                    "prefix {cut}"
                );
            }
        }
    }

    #[test]
    fn a_shared_decode_slices_payloads_out_of_the_input_without_copying() {
        let event = every_event().remove(9);
        let wire = Envelope::new(NodeId::from("n"), 1, event.clone())
            .encode()
            .expect("encodes");
        let back = Envelope::decode_shared(&wire, MAX_ENVELOPE_LEN).expect("decodes");
        assert_eq!(back.event, event);
        let ClusterEvent::MediaFrame { payload, .. } = back.event else {
            panic!("a media frame")
        };
        let start = payload.as_ptr() as usize - wire.as_ptr() as usize;
        assert!(
            start + payload.len() <= wire.len(),
            "payload points into the input"
        );
        // A plain decode copies, and leaves no shared source behind.
        let copied = Envelope::decode(&wire, MAX_ENVELOPE_LEN).expect("decodes");
        let ClusterEvent::MediaFrame { payload, .. } = copied.event else {
            panic!("a media frame")
        };
        let inside = (payload.as_ptr() as usize).wrapping_sub(wire.as_ptr() as usize) < wire.len();
        assert!(!inside);
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut wire = Envelope::new(NodeId::from("n"), 1, every_event().remove(2))
            .encode()
            .expect("encodes")
            .to_vec();
        wire.push(0);
        assert!(matches!(
            Envelope::decode(&wire, MAX_ENVELOPE_LEN),
            Err(EnvelopeError::TrailingBytes { extra: 1 })
        ));
    }

    #[test]
    fn an_unknown_format_version_is_refused_before_decoding() {
        let mut wire = Envelope::new(NodeId::from("n"), 1, every_event().remove(0))
            .encode()
            .expect("encodes")
            .to_vec();
        wire[0] = 2;
        assert!(matches!(
            Envelope::decode(&wire, MAX_ENVELOPE_LEN),
            Err(EnvelopeError::UnsupportedVersion { found: 2 })
        ));
    }

    #[test]
    fn input_over_the_limit_is_refused_without_decoding() {
        let wire = Envelope::new(NodeId::from("n"), 1, every_event().remove(9))
            .encode()
            .expect("encodes");
        assert!(matches!(
            Envelope::decode(&wire, 100),
            Err(EnvelopeError::TooLarge { max: 100, .. })
        ));
    }

    #[test]
    fn a_huge_claimed_length_is_an_error_not_an_allocation() {
        // version, node id claiming u64::MAX bytes (varint 0xFF + 8 bytes).
        let mut wire = vec![FORMAT_VERSION, 0xFF];
        wire.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(Envelope::decode(&wire, MAX_ENVELOPE_LEN).is_err());
        // A media frame whose payload claims 1 GiB but carries nothing.
        let mut wire = Envelope::new(NodeId::from("n"), 1, every_event().remove(9))
            .encode()
            .expect("encodes")
            .to_vec();
        wire.truncate(40);
        assert!(Envelope::decode(&wire, MAX_ENVELOPE_LEN).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        // A small deterministic generator (xorshift), so failures reproduce.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 64) as usize;
            let mut bytes: Vec<u8> = (0..len)
                .map(|i| (state.rotate_left(i as u32 * 5) & 0xFF) as u8)
                .collect();
            if let Some(first) = bytes.first_mut() {
                *first = FORMAT_VERSION;
            }
            let _ = Envelope::decode(&bytes, MAX_ENVELOPE_LEN);
        }
    }
}

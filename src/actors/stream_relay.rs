//! A stream's side of the cluster relay (DESIGN.md §4 "Streams", issue 5
//! "Streams across nodes"): what an owner's [`StreamActor`] publishes for
//! other nodes, and how frames from the bus become [`Frame`]s again.
//!
//! The owner publishes frames on the stream's channel only while some node
//! wants them ([`RelayOut::wanting`]); a node that starts wanting first gets
//! the GOP cache as one [`ClusterEvent::StreamBurst`] on its inbox, then the
//! live frames on the channel. Both go through the same bus connection in
//! order, so the burst and the live frames that follow it join without a
//! gap or an overlap. Payloads are shared `Bytes`; the only copy is the
//! encoding into the envelope. The bus's outbox is bounded: a frame it
//! refuses (full, Redis unreachable) is dropped and counted
//! (`ferrocast_cluster_media_dropped_total`).
//!
//! [`StreamActor`]: super::stream::StreamActor

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use super::messages::StreamKey;
use crate::cluster::envelope::{MediaKind, RelayFrame, StreamKey as WireStreamKey};
use crate::cluster::node::ClusterNode;
use crate::cluster::{ClusterEvent, NodeId};
use crate::fanout::{Frame, FrameKind};

/// Largest GOP burst published in one envelope, in payload bytes: below the
/// Redis bus's 8 MiB payload limit with room for the envelope. A larger
/// cache is sent as metadata and sequence headers only (the relay then
/// starts at the next keyframe).
pub const BURST_MAX_BYTES: usize = 6 * 1024 * 1024;

/// The owner side of one stream's relay.
pub struct RelayOut {
    cluster: Arc<ClusterNode>,
    key: WireStreamKey,
    channel: String,
    /// Nodes with players for this stream.
    wanting: HashSet<NodeId>,
}

impl RelayOut {
    /// The relay of the local stream `key`, wanted by nobody yet.
    pub fn new(cluster: Arc<ClusterNode>, key: &StreamKey) -> Self {
        Self {
            channel: cluster.keys().stream_channel(&key.scope, &key.name),
            key: wire_key(key),
            cluster,
            wanting: HashSet::new(),
        }
    }

    /// The nodes that want this stream's frames.
    pub fn wanting(&self) -> &HashSet<NodeId> {
        &self.wanting
    }

    /// Publishes a live frame if some node wants it.
    pub fn frame(&self, frame: &Frame) {
        if self.wanting.is_empty() {
            return;
        }
        let event = ClusterEvent::MediaFrame {
            stream: self.key.clone(),
            kind: media_kind(frame.kind()),
            timestamp: frame.timestamp(),
            payload: frame.payload().clone(),
        };
        self.send(&self.channel, event);
    }

    /// `node` wants the stream: remember it and send it `burst` (the GOP
    /// cache's join burst) on its inbox.
    pub fn wanted(&mut self, node: NodeId, burst: Vec<Frame>) {
        let total: usize = burst.iter().map(Frame::len).sum();
        let frames = burst
            .iter()
            .filter(|f| total <= BURST_MAX_BYTES || is_header_or_metadata(f))
            .map(|f| RelayFrame {
                kind: media_kind(f.kind()),
                timestamp: f.timestamp(),
                payload: f.payload().clone(),
            })
            .collect();
        let event = ClusterEvent::StreamBurst {
            stream: self.key.clone(),
            frames,
        };
        self.send(&self.cluster.keys().node_channel(&node), event);
        self.wanting.insert(node);
    }

    /// `node` no longer wants the stream.
    pub fn unwanted(&mut self, node: &NodeId) {
        self.wanting.remove(node);
    }

    fn send(&self, channel: &str, event: ClusterEvent) {
        let counters = &self.cluster.media;
        match self.cluster.publish_event(channel, event) {
            Ok(_) => counters.sent.fetch_add(1, Ordering::Relaxed),
            Err(error) => {
                tracing::trace!(%channel, %error, "media not relayed");
                counters.dropped.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

fn is_header_or_metadata(frame: &Frame) -> bool {
    frame.header_kind().is_some() || frame.kind() == FrameKind::Data
}

/// The cluster's name of a stream.
pub fn wire_key(key: &StreamKey) -> WireStreamKey {
    WireStreamKey {
        scope: key.scope.clone(),
        name: key.name.clone(),
    }
}

/// The node's name of a stream from the cluster's.
pub fn local_key(key: WireStreamKey) -> StreamKey {
    StreamKey {
        scope: key.scope,
        name: key.name,
    }
}

/// The wire kind of a frame kind.
pub fn media_kind(kind: FrameKind) -> MediaKind {
    match kind {
        FrameKind::Audio => MediaKind::Audio,
        FrameKind::Video => MediaKind::Video,
        FrameKind::Data => MediaKind::Data,
    }
}

/// A frame from the bus, classified as the owner's ingest did.
pub fn frame_from_wire(kind: MediaKind, timestamp: u32, payload: Bytes) -> Frame {
    match kind {
        MediaKind::Audio => Frame::audio(timestamp, payload),
        MediaKind::Video => Frame::video(timestamp, payload),
        MediaKind::Data => Frame::data(timestamp, payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_keeps_its_kind_timestamp_and_bytes_across_the_wire() {
        let payload = Bytes::from_static(&[0x17, 0x01, 0, 0, 0, 1, 2, 3]);
        for frame in [
            Frame::video(40, payload.clone()),
            Frame::audio(41, Bytes::from_static(&[0xAF, 0x01, 9])),
        ] {
            let back = frame_from_wire(
                media_kind(frame.kind()),
                frame.timestamp(),
                frame.payload().clone(),
            );
            assert_eq!(back.kind(), frame.kind());
            assert_eq!(back.timestamp(), frame.timestamp());
            assert_eq!(back.payload(), frame.payload());
            assert_eq!(back.is_keyframe(), frame.is_keyframe());
        }
    }

    #[test]
    fn stream_keys_convert_both_ways() {
        let key = StreamKey {
            scope: "live/room".into(),
            name: "cam".into(),
        };
        assert_eq!(local_key(wire_key(&key)), key);
    }
}

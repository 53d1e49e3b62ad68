//! What the admin API lists: the node's live connections and streams.
//!
//! Actors update it on rare events (connect, publish, play, close, codec
//! change); per-frame counters are atomics in a per-stream cell, so the media
//! path takes no lock here. HTTP handlers read snapshots.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// One connection as `GET /api/connections` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionInfo {
    /// The node-local connection id.
    pub id: u64,
    /// The peer's address.
    pub peer: String,
    /// The scope it connected to (`APP[/ROOM...]`), empty before connect.
    pub app: String,
    /// Milliseconds since the Unix epoch when it was accepted.
    pub connected_at_ms: u64,
    /// Streams it publishes (`scope/name`).
    pub publishing: Vec<String>,
    /// Streams it plays (`scope/name`).
    pub playing: Vec<String>,
}

/// Live counters of one published stream, shared with its StreamActor.
#[derive(Debug)]
pub struct StreamCell {
    /// The stream's scope.
    pub scope: String,
    /// The stream's name.
    pub name: String,
    /// The publishing connection.
    pub publisher: u64,
    started: Instant,
    started_at_ms: u64,
    /// Media bytes received from the publisher.
    pub bytes_in: AtomicU64,
    /// Frames received from the publisher.
    pub frames_in: AtomicU64,
    /// Attached players.
    pub players: AtomicU64,
    /// Frames dropped for this stream's slow players.
    pub dropped_frames: AtomicU64,
    codecs: Mutex<(Option<String>, Option<String>)>,
}

impl StreamCell {
    /// Records the current video and audio codecs (on sequence headers).
    pub fn set_codecs(&self, video: Option<String>, audio: Option<String>) {
        *self.codecs.lock().unwrap_or_else(|p| p.into_inner()) = (video, audio);
    }
}

/// One stream as `GET /api/streams` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StreamInfo {
    /// The scope (`APP[/ROOM...]`).
    pub scope: String,
    /// The stream name.
    pub name: String,
    /// The publishing connection's id.
    pub publisher: u64,
    /// Milliseconds since the Unix epoch when publishing started.
    pub started_at_ms: u64,
    /// Video codec, once a sequence header was seen.
    pub video_codec: Option<String>,
    /// Audio codec, once a sequence header was seen.
    pub audio_codec: Option<String>,
    /// Average incoming bitrate since the publish started, in kbit/s.
    pub bitrate_kbps: u64,
    /// Media bytes received.
    pub bytes_in: u64,
    /// Attached players on this node.
    pub players: u64,
    /// Frames dropped for slow players.
    pub dropped_frames: u64,
}

/// The node's live connections and streams.
#[derive(Debug, Default)]
pub struct Directory {
    connections: Mutex<BTreeMap<u64, ConnectionInfo>>,
    streams: Mutex<BTreeMap<String, Arc<StreamCell>>>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Directory {
    /// Adds an accepted connection.
    pub fn connection_opened(&self, id: u64, peer: SocketAddr) {
        let info = ConnectionInfo {
            id,
            peer: peer.to_string(),
            app: String::new(),
            connected_at_ms: now_ms(),
            publishing: Vec::new(),
            playing: Vec::new(),
        };
        self.lock_connections().insert(id, info);
    }

    /// Changes a connection's entry.
    pub fn update_connection(&self, id: u64, change: impl FnOnce(&mut ConnectionInfo)) {
        if let Some(info) = self.lock_connections().get_mut(&id) {
            change(info);
        }
    }

    /// Removes a closed connection.
    pub fn connection_closed(&self, id: u64) {
        self.lock_connections().remove(&id);
    }

    /// Adds a published stream and returns its live cell.
    pub fn stream_published(&self, scope: &str, name: &str, publisher: u64) -> Arc<StreamCell> {
        let cell = Arc::new(StreamCell {
            scope: scope.to_string(),
            name: name.to_string(),
            publisher,
            started: Instant::now(),
            started_at_ms: now_ms(),
            bytes_in: AtomicU64::new(0),
            frames_in: AtomicU64::new(0),
            players: AtomicU64::new(0),
            dropped_frames: AtomicU64::new(0),
            codecs: Mutex::new((None, None)),
        });
        self.lock_streams()
            .insert(format!("{scope}/{name}"), cell.clone());
        cell
    }

    /// Removes an unpublished stream.
    pub fn stream_unpublished(&self, scope: &str, name: &str) {
        self.lock_streams().remove(&format!("{scope}/{name}"));
    }

    /// A snapshot of every connection, by id.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        self.lock_connections().values().cloned().collect()
    }

    /// A snapshot of every stream, by scope and name.
    pub fn streams(&self) -> Vec<StreamInfo> {
        let cells: Vec<Arc<StreamCell>> = self.lock_streams().values().cloned().collect();
        cells
            .iter()
            .map(|c| {
                let bytes_in = c.bytes_in.load(Ordering::Relaxed);
                let secs = c.started.elapsed().as_secs_f64().max(0.001);
                let (video_codec, audio_codec) =
                    c.codecs.lock().unwrap_or_else(|p| p.into_inner()).clone();
                StreamInfo {
                    scope: c.scope.clone(),
                    name: c.name.clone(),
                    publisher: c.publisher,
                    started_at_ms: c.started_at_ms,
                    video_codec,
                    audio_codec,
                    bitrate_kbps: (bytes_in as f64 * 8.0 / 1000.0 / secs) as u64,
                    bytes_in,
                    players: c.players.load(Ordering::Relaxed),
                    dropped_frames: c.dropped_frames.load(Ordering::Relaxed),
                }
            })
            .collect()
    }

    fn lock_connections(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, ConnectionInfo>> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_streams(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<StreamCell>>> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_listed_with_its_counters_until_unpublished() {
        let d = Directory::default();
        let cell = d.stream_published("live", "cam", 7);
        cell.bytes_in.fetch_add(1000, Ordering::Relaxed);
        cell.players.fetch_add(2, Ordering::Relaxed);
        cell.set_codecs(Some("avc".into()), Some("aac".into()));
        let s = &d.streams()[0];
        assert_eq!(
            (s.scope.as_str(), s.name.as_str(), s.publisher, s.players),
            ("live", "cam", 7, 2)
        );
        assert_eq!(s.video_codec.as_deref(), Some("avc"));
        d.stream_unpublished("live", "cam");
        assert!(d.streams().is_empty());
    }

    #[test]
    fn connections_are_listed_by_id_with_their_streams() {
        let d = Directory::default();
        d.connection_opened(2, "127.0.0.1:2".parse().unwrap());
        d.connection_opened(1, "127.0.0.1:1".parse().unwrap());
        d.update_connection(2, |c| c.playing.push("live/cam".into()));
        let list = d.connections();
        assert_eq!(list.iter().map(|c| c.id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(list[1].playing, ["live/cam"]);
        d.connection_closed(1);
        assert_eq!(d.connections().len(), 1);
    }
}

//! The fan-out publisher: one [`Client`] publishing a stream paced in real
//! time, from an FLV file (looped) or the [`Synth`] stream.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::keyframe::is_video_keyframe;
use super::synth::{Frame, Synth};
use super::BenchError;
use crate::client::{Client, ConnectOptions};
use crate::protocol::amf::AmfValue;
use crate::protocol::flv::{FlvConfig, FlvDecoder, FlvItem, FlvTagType, ScriptTag};
use crate::protocol::limits::AmfLimits;
use crate::protocol::session::MediaKind;

/// Largest FLV file read into memory.
const MAX_FLV_FILE_BYTES: u64 = 1 << 30;
/// Time between the last tag of a loop and the first of the next.
const LOOP_GAP_MS: u32 = 40;
/// Keyframe send times kept (hours of a 2 s GOP).
const MAX_KEYFRAMES_KEPT: usize = 16_384;

/// Where frames come from.
#[derive(Debug)]
pub(super) enum Source {
    /// The synthetic stream.
    Synth(Synth),
    /// An FLV file's tags, looped.
    Flv(FlvLoop),
}

/// An FLV file's audio/video tags, replayed forever with growing
/// timestamps.
#[derive(Debug)]
pub(super) struct FlvLoop {
    metadata: Option<AmfValue>,
    frames: Vec<Frame>,
    next: usize,
    /// Added to the file's timestamps in this loop.
    offset: u32,
    /// One loop's length in ms.
    span: u32,
}

impl FlvLoop {
    /// Reads `path`.
    ///
    /// # Errors
    ///
    /// [`BenchError::Io`] when it cannot be read; [`BenchError::Args`] when
    /// it is not FLV or holds no audio or video.
    pub(super) fn read(path: &Path) -> Result<Self, BenchError> {
        let context = || format!("reading {}", path.display());
        let len = std::fs::metadata(path)
            .map_err(|e| BenchError::io(context(), e))?
            .len();
        if len > MAX_FLV_FILE_BYTES {
            return Err(BenchError::Args(format!(
                "{}: {len} bytes, more than the {MAX_FLV_FILE_BYTES} read",
                path.display()
            )));
        }
        let mut buf =
            BytesMut::from(&std::fs::read(path).map_err(|e| BenchError::io(context(), e))?[..]);
        let mut decoder = FlvDecoder::new(FlvConfig::default());
        let (mut metadata, mut frames) = (None, Vec::new());
        loop {
            let item = decoder
                .decode(&mut buf)
                .map_err(|e| BenchError::Args(format!("{}: {e}", path.display())))?;
            let Some(item) = item else { break };
            let FlvItem::Tag(tag) = item else { continue };
            let kind = match tag.tag_type {
                FlvTagType::Audio => MediaKind::Audio,
                FlvTagType::Video => MediaKind::Video,
                FlvTagType::ScriptData => {
                    if metadata.is_none() {
                        metadata = ScriptTag::parse(tag.data, AmfLimits::default())
                            .ok()
                            .map(ScriptTag::strip_set_data_frame)
                            .filter(ScriptTag::is_metadata)
                            .and_then(|s| s.first_value().cloned());
                    }
                    continue;
                }
                FlvTagType::Other(_) => continue,
            };
            frames.push(Frame {
                kind,
                timestamp: tag.timestamp,
                payload: tag.data,
            });
        }
        let (Some(first), Some(last)) = (frames.first(), frames.last()) else {
            return Err(BenchError::Args(format!(
                "{}: no audio or video tags",
                path.display()
            )));
        };
        let base = first.timestamp;
        let span = last.timestamp.saturating_sub(base) + LOOP_GAP_MS;
        for f in &mut frames {
            f.timestamp = f.timestamp.saturating_sub(base);
        }
        Ok(Self {
            metadata,
            frames,
            next: 0,
            offset: 0,
            span,
        })
    }

    fn next_frame(&mut self) -> Frame {
        if self.next >= self.frames.len() {
            self.next = 0;
            self.offset = self.offset.wrapping_add(self.span);
        }
        let mut frame = self.frames[self.next].clone();
        self.next += 1;
        frame.timestamp = frame.timestamp.wrapping_add(self.offset);
        frame
    }
}

impl Source {
    fn metadata(&self) -> Option<AmfValue> {
        match self {
            Source::Synth(s) => Some(s.metadata()),
            Source::Flv(f) => f.metadata.clone(),
        }
    }

    fn next_frame(&mut self) -> Frame {
        match self {
            Source::Synth(s) => s.next_frame(),
            Source::Flv(f) => f.next_frame(),
        }
    }
}

/// A running publisher.
#[derive(Debug)]
pub(super) struct Publisher {
    client: Client,
    task: JoinHandle<Result<(), String>>,
    /// Audio/video payload bytes handed to the connection.
    pub(super) sent: Arc<AtomicU64>,
    /// When each video keyframe was handed to the connection, µs since the
    /// scenario's epoch, in order.
    keyframes_us: Arc<Mutex<Vec<u64>>>,
}

impl Publisher {
    /// Connects, publishes `stream` and starts pacing `source` in real time;
    /// keyframe send times are kept as µs since `epoch`.
    ///
    /// # Errors
    ///
    /// [`BenchError::Client`] when connecting or publishing fails.
    pub(super) async fn start(
        url: &str,
        stream: &str,
        source: Source,
        epoch: Instant,
    ) -> Result<Self, BenchError> {
        let (client, _events) = Client::connect(url, ConnectOptions::default())
            .await
            .map_err(|e| BenchError::client(format!("publisher connecting to {url}"), e))?;
        let stream_id = client
            .create_stream()
            .await
            .map_err(|e| BenchError::client("publisher createStream", e))?;
        client
            .publish(stream_id, stream)
            .await
            .map_err(|e| BenchError::client(format!("publishing {stream:?}"), e))?;
        if let Some(metadata) = source.metadata() {
            client
                .send_metadata(stream_id, metadata)
                .await
                .map_err(|e| BenchError::client("publisher metadata", e))?;
        }
        let headers = match &source {
            Source::Synth(s) => s.sequence_headers().to_vec(),
            Source::Flv(_) => Vec::new(),
        };
        let sent = Arc::new(AtomicU64::new(0));
        let keyframes_us = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(pace(
            Pacing {
                client: client.clone(),
                stream_id,
                sent: sent.clone(),
                keyframes_us: keyframes_us.clone(),
                epoch,
            },
            headers,
            source,
        ));
        Ok(Self {
            client,
            task,
            sent,
            keyframes_us,
        })
    }

    /// When each video keyframe was sent, µs since the epoch, in order.
    pub(super) fn keyframes_us(&self) -> Vec<u64> {
        self.keyframes_us
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Whether the publisher stopped (its connection failed).
    pub(super) fn has_stopped(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops publishing and closes the connection.
    pub(super) async fn stop(self) {
        self.task.abort();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.client.close()).await;
    }
}

/// Where the pacing task sends and what it records.
struct Pacing {
    client: Client,
    stream_id: u32,
    sent: Arc<AtomicU64>,
    keyframes_us: Arc<Mutex<Vec<u64>>>,
    epoch: Instant,
}

async fn pace(to: Pacing, headers: Vec<Frame>, mut source: Source) -> Result<(), String> {
    let Pacing {
        client,
        stream_id,
        sent,
        keyframes_us,
        epoch,
    } = to;
    let start = Instant::now();
    let mut pending = headers.into_iter();
    loop {
        let frame = match pending.next() {
            Some(f) => f,
            None => source.next_frame(),
        };
        tokio::time::sleep_until(start + Duration::from_millis(u64::from(frame.timestamp))).await;
        let len = frame.payload.len() as u64;
        let result = match frame.kind {
            MediaKind::Audio => {
                client
                    .send_audio(stream_id, frame.timestamp, frame.payload)
                    .await
            }
            MediaKind::Video => {
                if is_video_keyframe(&frame.payload) {
                    if let Ok(mut kept) = keyframes_us.lock() {
                        if kept.len() < MAX_KEYFRAMES_KEPT {
                            let us = epoch.elapsed().as_micros();
                            kept.push(u64::try_from(us).unwrap_or(u64::MAX));
                        }
                    }
                }
                client
                    .send_video(stream_id, frame.timestamp, frame.payload)
                    .await
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "the publisher stopped");
            return Err(e.to_string());
        }
        sent.fetch_add(len, Ordering::Relaxed);
    }
}

//! Media helpers shared by the integration tests: reading FLV files, comparing
//! payload lists, and starting real ffmpeg / rtmpdump peers.

use std::path::Path;

use bytes::{Bytes, BytesMut};
use ferrocast::protocol::flv::{FlvConfig, FlvDecoder, FlvItem, FlvTag, FlvTagType};

use super::process::Peer;

/// Every tag of an FLV file (reading stops at the first malformed tag, so a
/// file cut off by a killed writer still yields what it holds).
pub fn read_flv(path: &Path) -> Vec<FlvTag> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut buf = BytesMut::from(&bytes[..]);
    let mut decoder = FlvDecoder::new(FlvConfig::default());
    let mut tags = Vec::new();
    while let Ok(Some(item)) = decoder.decode(&mut buf) {
        if let FlvItem::Tag(tag) = item {
            tags.push(tag);
        }
    }
    tags
}

/// The payloads of one tag type longer than `min_len` bytes, in order.
pub fn payloads(tags: &[FlvTag], kind: FlvTagType, min_len: usize) -> Vec<Bytes> {
    tags.iter()
        .filter(|t| t.tag_type == kind && t.data.len() > min_len)
        .map(|t| t.data.clone())
        .collect()
}

/// Asserts two payload lists are equal, reporting counts and the first
/// difference instead of dumping megabytes.
pub fn assert_same_payloads(got: &[Bytes], want: &[Bytes], what: &str) {
    let first_diff = got.iter().zip(want).position(|(a, b)| a != b);
    assert!(
        got.len() == want.len() && first_diff.is_none(),
        "{what}: got {} payloads, want {}; first difference at index {first_diff:?}",
        got.len(),
        want.len(),
    );
}

/// ffmpeg playing `url` into an FLV file (`-c copy`).
pub fn ffmpeg_player(url: &str, out: &Path) -> Peer {
    Peer::spawn(
        "ffmpeg",
        &[
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            url,
            "-c",
            "copy",
            "-f",
            "flv",
            out.to_str().unwrap(),
        ],
    )
}

/// rtmpdump playing the live stream at `url` into an FLV file.
pub fn rtmpdump_player(url: &str, out: &Path) -> Peer {
    Peer::spawn(
        "rtmpdump",
        &["-q", "--live", "-r", url, "-o", out.to_str().unwrap()],
    )
}

/// ffmpeg publishing `source` to `url` in real time (`-re -c copy`).
pub fn ffmpeg_publisher(url: &str, source: &Path) -> Peer {
    Peer::spawn(
        "ffmpeg",
        &[
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-i",
            source.to_str().unwrap(),
            "-c",
            "copy",
            "-f",
            "flv",
            url,
        ],
    )
}

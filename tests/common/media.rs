//! Media helpers shared by the integration tests: reading FLV files, comparing
//! payload lists, and starting real ffmpeg / rtmpdump peers.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrocast::protocol::flv::{FlvConfig, FlvDecoder, FlvItem, FlvTag, FlvTagType};

use super::node::Node;
use super::process::{make_test_flv, Peer, TempDir};

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

/// Two ffmpeg players and one rtmpdump player wait on `node` for
/// `live/cam`; ffmpeg publishes a generated 3 s test file and leaves; every
/// player must have received every audio and video packet of the source, in
/// order, byte for byte (librtmp's own drops of tiny payloads excepted).
pub fn three_players_get_the_source_byte_for_byte(node: &Node, name: &str) {
    const PEER_LIMIT: Duration = Duration::from_secs(60);
    let dir = TempDir::new(name);
    let source = dir.0.join("source.flv");
    make_test_flv(&source, 3, 25);
    let url = node.url("live/cam");

    let outs = [
        dir.0.join("p1.flv"),
        dir.0.join("p2.flv"),
        dir.0.join("p3.flv"),
    ];
    let players = [
        ffmpeg_player(&url, &outs[0]),
        ffmpeg_player(&url, &outs[1]),
        rtmpdump_player(&url, &outs[2]),
    ];
    let deadline = Instant::now() + Duration::from_secs(20);
    while node.log().matches("playing").count() < 3 {
        assert!(
            Instant::now() < deadline,
            "three players did not start:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let (status, output) = ffmpeg_publisher(&url, &source).finish(PEER_LIMIT);
    assert!(
        status.is_some_and(|s| s.success()),
        "publisher failed: {output}\n{}",
        node.log()
    );
    for (i, player) in players.into_iter().enumerate() {
        let (status, output) = player.finish(PEER_LIMIT);
        assert!(
            status.is_some(),
            "player {i} did not stop after the publisher left: {output}"
        );
    }

    let tags = read_flv(&source);
    for (i, out) in outs.iter().enumerate() {
        let got = read_flv(out);
        // librtmp (rtmpdump) drops video payloads of <= 5 bytes and audio of
        // <= 1 byte when writing its file; ffmpeg keeps everything.
        let (min_video, min_audio) = if i == 2 { (5, 1) } else { (0, 0) };
        let what = |k: &str| format!("player {i} {k}");
        assert_same_payloads(
            &payloads(&got, FlvTagType::Video, min_video),
            &payloads(&tags, FlvTagType::Video, min_video),
            &what("video"),
        );
        assert_same_payloads(
            &payloads(&got, FlvTagType::Audio, min_audio),
            &payloads(&tags, FlvTagType::Audio, min_audio),
            &what("audio"),
        );
    }
}

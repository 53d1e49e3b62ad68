//! Bad input closes (or is answered on) only the offending connection, with a
//! logged reason; the node keeps serving everyone else. Each test ends by
//! publishing and playing with real ffmpeg on the same node.

mod common;

use std::io::Write;
use std::time::Duration;

use bytes::BufMut;
use common::media::{ffmpeg_player, ffmpeg_publisher};
use common::node::Node;
use common::process::{make_test_flv, TempDir};
use common::raw_client::{closed_within, command, connect, handshake};
use ferrocast::protocol::amf::AmfValue;
use ferrocast::protocol::chunk::{ChunkEncoder, RawMessage};
use ferrocast::protocol::command::CommandMessage;

const CLOSE_LIMIT: Duration = Duration::from_secs(5);

/// The node still serves: ffmpeg publishes a clip and ffmpeg plays it back.
fn still_serves(node: &Node) {
    let dir = TempDir::new("abuse-after");
    let source = dir.0.join("s.flv");
    make_test_flv(&source, 2, 25);
    let url = node.url("live/after");
    let out = dir.0.join("o.flv");
    let player = ffmpeg_player(&url, &out);
    node.wait_for_log("stream=live/after", Duration::from_secs(20));
    let (status, output) = ffmpeg_publisher(&url, &source).finish(Duration::from_secs(60));
    assert!(
        status.is_some_and(|s| s.success()),
        "publish after abuse: {output}\n{}",
        node.log()
    );
    let (status, output) = player.finish(Duration::from_secs(60));
    assert!(status.is_some(), "play after abuse: {output}");
    assert!(
        std::fs::metadata(&out)
            .map(|m| m.len() > 1000)
            .unwrap_or(false),
        "the player got media"
    );
}

#[test]
fn a_tls_hello_instead_of_a_handshake_closes_that_connection_and_is_counted() {
    let node = Node::start();
    let mut sock = std::net::TcpStream::connect(&node.rtmp).unwrap();
    // A TLS ClientHello starts with 0x16 0x03 0x01: not RTMP version 3.
    sock.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
        .unwrap();
    assert!(
        closed_within(&mut sock, CLOSE_LIMIT),
        "the server closes the connection"
    );
    node.wait_for_log("protocol error", CLOSE_LIMIT);
    assert_eq!(node.metric("ferrocast_handshake_failures_total"), 1);
    still_serves(&node);
}

#[test]
fn a_chunk_that_continues_a_message_never_started_closes_that_connection() {
    let node = Node::start();
    let (mut sock, mut wire) = handshake(&node.rtmp);
    // Basic header fmt 3 on csid 9, which has never had a header.
    wire.put_u8(0xC9);
    wire.put_slice(&[0u8; 32]);
    sock.write_all(&wire).unwrap();
    assert!(
        closed_within(&mut sock, CLOSE_LIMIT),
        "the server closes the connection"
    );
    node.wait_for_log("protocol error", CLOSE_LIMIT);
    assert_eq!(node.metric("ferrocast_protocol_errors_total"), 1);
    let (_, metrics) = node.get("/metrics");
    assert!(
        metrics.contains("ferrocast_protocol_errors_total{kind=\"chunk\"} 1"),
        "{metrics}"
    );
    still_serves(&node);
}

#[test]
fn a_message_longer_than_the_configured_limit_closes_that_connection() {
    let node = Node::start_with_env(&[("FERROCAST__LIMITS__MAX_MESSAGE_LEN", "65536")]);
    let (mut sock, mut wire) = handshake(&node.rtmp);
    let raw = RawMessage {
        csid: 4,
        timestamp: 0,
        type_id: 9,
        stream_id: 1,
        payload: vec![0x17; 70_000].into(),
    };
    ChunkEncoder::new().encode(&raw, &mut wire).unwrap();
    sock.write_all(&wire).unwrap();
    assert!(
        closed_within(&mut sock, CLOSE_LIMIT),
        "the server closes the connection"
    );
    node.wait_for_log("protocol error", CLOSE_LIMIT);
    assert!(
        node.log().contains("65536"),
        "the log says which limit:\n{}",
        node.log()
    );
    still_serves(&node);
}

#[test]
fn malformed_amf_in_a_command_closes_that_connection() {
    let node = Node::start();
    let (mut sock, mut wire) = handshake(&node.rtmp);
    let mut encoder = ChunkEncoder::new();
    command(&mut encoder, &mut wire, 0, connect(&node.rtmp, "live"));
    // A command whose body is an AMF0 string that claims 200 bytes but has 3.
    let raw = RawMessage {
        csid: 3,
        timestamp: 0,
        type_id: 20,
        stream_id: 0,
        payload: vec![2, 0, 200, b'a', b'b', b'c'].into(),
    };
    encoder.encode(&raw, &mut wire).unwrap();
    sock.write_all(&wire).unwrap();
    assert!(
        closed_within(&mut sock, CLOSE_LIMIT),
        "the server closes the connection"
    );
    node.wait_for_log("protocol error", CLOSE_LIMIT);
    still_serves(&node);
}

#[test]
fn unknown_message_types_and_commands_on_streams_never_created_leave_the_connection_open() {
    let node = Node::start();
    let (mut sock, mut wire) = handshake(&node.rtmp);
    let mut encoder = ChunkEncoder::new();
    command(&mut encoder, &mut wire, 0, connect(&node.rtmp, "live"));
    let unknown = RawMessage {
        csid: 5,
        timestamp: 0,
        type_id: 0x30,
        stream_id: 0,
        payload: vec![1, 2, 3].into(),
    };
    encoder.encode(&unknown, &mut wire).unwrap();
    let publish = CommandMessage::new(
        "publish",
        3.0,
        AmfValue::Null,
        vec!["ghost".into(), "live".into()],
    );
    command(&mut encoder, &mut wire, 7, publish);
    sock.write_all(&wire).unwrap();
    assert!(
        !closed_within(&mut sock, Duration::from_secs(1)),
        "the connection stays open:\n{}",
        node.log()
    );
    assert_eq!(node.metric("ferrocast_protocol_errors_total"), 0);
    assert!(
        !node.log().contains("stream=live/ghost"),
        "nothing was published:\n{}",
        node.log()
    );
    drop(sock);
    still_serves(&node);
}

#[test]
fn many_abusive_connections_at_once_do_not_disturb_a_live_stream() {
    let node = Node::start_with_env(&[("FERROCAST__RTMP__HANDSHAKE_TIMEOUT_MS", "500")]);
    let mut socks: Vec<std::net::TcpStream> = (0..50)
        .map(|i| {
            let mut s = std::net::TcpStream::connect(&node.rtmp).unwrap();
            let junk: Vec<u8> = (0..200u32).map(|b| (b * 7 + i) as u8).collect();
            let _ = s.write_all(&junk);
            s
        })
        .collect();
    still_serves(&node);
    // Junk starting with 3 is a valid C0 and then waits for C1: those are
    // closed by the handshake timeout; every one of the 50 ends as a failure.
    for s in &mut socks {
        assert!(
            closed_within(s, CLOSE_LIMIT),
            "every junk connection is closed"
        );
    }
    assert_eq!(
        node.metric("ferrocast_handshake_failures_total"),
        50,
        "{}",
        node.log()
    );
    assert_eq!(node.metric("ferrocast_connections"), 0);
}

#[test]
fn a_connection_that_stops_in_the_middle_of_the_handshake_is_closed_after_the_timeout() {
    let node = Node::start_with_env(&[("FERROCAST__RTMP__HANDSHAKE_TIMEOUT_MS", "500")]);
    let mut sock = std::net::TcpStream::connect(&node.rtmp).unwrap();
    sock.write_all(&[3, 0, 0, 0, 0]).unwrap();
    assert!(
        closed_within(&mut sock, CLOSE_LIMIT),
        "closed after the handshake timeout"
    );
    node.wait_for_log("handshake timeout", CLOSE_LIMIT);
    assert_eq!(node.metric("ferrocast_handshake_failures_total"), 1);
}

#[test]
fn a_silent_client_is_closed_on_idle_while_a_client_that_answers_pings_stays() {
    let node = Node::start_with_env(&[
        ("FERROCAST__RTMP__PING_INTERVAL_MS", "200"),
        ("FERROCAST__RTMP__IDLE_TIMEOUT_MS", "1500"),
    ]);
    // ffmpeg waits to play a stream nobody publishes; it answers our pings.
    let dir = TempDir::new("abuse-idle");
    let url = node.url("live/nothing");
    let out = dir.0.join("o.flv");
    let player = ffmpeg_player(&url, &out);
    node.wait_for_log("stream=live/nothing", Duration::from_secs(20));
    // A raw client connects and then says nothing, not even ping responses.
    let (mut sock, mut wire) = handshake(&node.rtmp);
    command(
        &mut ChunkEncoder::new(),
        &mut wire,
        0,
        connect(&node.rtmp, "live"),
    );
    sock.write_all(&wire).unwrap();
    assert!(
        closed_within(&mut sock, CLOSE_LIMIT),
        "the silent client is closed"
    );
    node.wait_for_log("idle timeout", CLOSE_LIMIT);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        node.log().matches("idle timeout").count(),
        1,
        "ffmpeg stayed:\n{}",
        node.log()
    );
    assert_eq!(
        node.metric("ferrocast_connections"),
        1,
        "ffmpeg is still connected"
    );
    drop(player);
}

#[test]
fn a_client_that_calls_but_never_reads_is_closed_at_the_unwritten_bytes_limit() {
    let node = Node::start_with_env(&[("FERROCAST__RTMP__MAX_UNWRITTEN_BYTES", "8388608")]);
    let rss_before = node.rss_bytes();
    let (mut sock, mut wire) = handshake(&node.rtmp);
    sock.set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut encoder = ChunkEncoder::new();
    command(&mut encoder, &mut wire, 0, connect(&node.rtmp, "live"));
    sock.write_all(&wire).unwrap();
    // 96 echo calls of 1 MB each: every answer is 1 MB the client never reads.
    let big = AmfValue::string("x".repeat(1024 * 1024));
    for tx in 0..96 {
        let mut wire = bytes::BytesMut::new();
        let call =
            CommandMessage::new("echo", f64::from(2 + tx), AmfValue::Null, vec![big.clone()]);
        command(&mut encoder, &mut wire, 0, call);
        if sock.write_all(&wire).is_err() {
            break; // closed by the server already
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while node.metric("ferrocast_outbound_overflows_total") < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the connection is closed for leaving its output unread\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    node.wait_for_log("too much of our output unread", CLOSE_LIMIT);
    assert!(
        closed_within(&mut sock, CLOSE_LIMIT),
        "the server drops the socket even though the peer never read"
    );
    let growth = node.rss_bytes().saturating_sub(rss_before);
    assert!(
        growth < 64 * 1024 * 1024,
        "server memory stays bounded: grew {growth} bytes for 96 MB of unread answers"
    );
    still_serves(&node);
}

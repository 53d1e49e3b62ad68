//! Message roundtrips for every type, hand-built vectors and robustness.

use bytes::Bytes;
use proptest::prelude::*;

use super::*;

fn decode(type_id: u8, bytes: &[u8]) -> Result<RtmpMessage, MessageError> {
    RtmpMessage::decode(type_id, Bytes::copy_from_slice(bytes))
}

/// What FMS and nginx-rtmp send right after `connect` (and ffmpeg as a server
/// expects): Window Ack Size 2500000, Set Peer Bandwidth 2500000 dynamic, Set
/// Chunk Size 4096.
#[test]
fn decodes_the_control_messages_a_server_sends_after_connect() {
    assert_eq!(
        decode(WINDOW_ACK_SIZE, &[0x00, 0x26, 0x25, 0xA0]),
        Ok(RtmpMessage::WindowAckSize(2_500_000))
    );
    assert_eq!(
        decode(SET_PEER_BANDWIDTH, &[0x00, 0x26, 0x25, 0xA0, 0x02]),
        Ok(RtmpMessage::SetPeerBandwidth {
            window: 2_500_000,
            limit_type: LimitType::Dynamic
        })
    );
    assert_eq!(
        decode(SET_CHUNK_SIZE, &[0x00, 0x00, 0x10, 0x00]),
        Ok(RtmpMessage::SetChunkSize(4096))
    );
}

#[test]
fn decodes_acknowledgement_and_abort() {
    assert_eq!(
        decode(ACKNOWLEDGEMENT, &[0, 0x26, 0x25, 0xA0]),
        Ok(RtmpMessage::Acknowledgement {
            sequence_number: 2_500_000
        })
    );
    assert_eq!(
        decode(ABORT, &[0, 0, 0, 4]),
        Ok(RtmpMessage::Abort { csid: 4 })
    );
}

#[test]
fn decodes_ping_request_user_control() {
    assert_eq!(
        decode(USER_CONTROL, &[0, 6, 0, 0, 0x12, 0x34]),
        Ok(RtmpMessage::UserControl(UserControlEvent::PingRequest {
            timestamp: 0x1234
        }))
    );
}

#[test]
fn media_and_amf_payloads_are_shared_not_copied() {
    let payload = Bytes::from_static(b"\x02\x00\x07connect");
    let msg = RtmpMessage::decode(COMMAND_AMF0, payload.clone()).unwrap();
    let (type_id, out) = msg.encode().unwrap();
    assert_eq!(type_id, COMMAND_AMF0);
    assert_eq!(out.as_ptr(), payload.as_ptr());
}

#[test]
fn unknown_type_ids_are_kept_raw() {
    assert_eq!(
        decode(7, &[1, 2, 3]),
        Ok(RtmpMessage::Unknown {
            type_id: 7,
            payload: Bytes::from_static(&[1, 2, 3])
        })
    );
}

#[test]
fn trailing_bytes_after_control_fields_are_ignored() {
    assert_eq!(
        decode(WINDOW_ACK_SIZE, &[0, 0, 0, 9, 0xEE]),
        Ok(RtmpMessage::WindowAckSize(9))
    );
}

#[test]
fn to_raw_carries_the_header_and_encoded_payload() {
    let raw = RtmpMessage::SetChunkSize(4096).to_raw(2, 0, 0).unwrap();
    assert_eq!(raw.type_id, SET_CHUNK_SIZE);
    assert_eq!(raw.payload.as_ref(), &[0, 0, 0x10, 0]);
    assert_eq!(
        RtmpMessage::from_raw(&raw),
        Ok(RtmpMessage::SetChunkSize(4096))
    );
}

#[test]
fn aggregate_part_longer_than_24_bits_cannot_be_encoded() {
    let msg = RtmpMessage::Aggregate(Aggregate {
        parts: vec![AggregatePart {
            type_id: 9,
            timestamp: 0,
            stream_id: 1,
            body: Bytes::from(vec![0; 0x0100_0000]),
        }],
    });
    assert_eq!(
        msg.encode(),
        Err(MessageError::AggregatePartTooLong {
            index: 0,
            length: 0x0100_0000
        })
    );
}

// ---- roundtrips for every type ------------------------------------------------

fn bytes_strategy() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from)
}

fn event_strategy() -> impl Strategy<Value = UserControlEvent> {
    prop_oneof![
        any::<u32>().prop_map(|stream_id| UserControlEvent::StreamBegin { stream_id }),
        any::<u32>().prop_map(|stream_id| UserControlEvent::StreamEof { stream_id }),
        any::<u32>().prop_map(|stream_id| UserControlEvent::StreamDry { stream_id }),
        (any::<u32>(), any::<u32>()).prop_map(|(stream_id, buffer_ms)| {
            UserControlEvent::SetBufferLength {
                stream_id,
                buffer_ms,
            }
        }),
        any::<u32>().prop_map(|stream_id| UserControlEvent::StreamIsRecorded { stream_id }),
        any::<u32>().prop_map(|timestamp| UserControlEvent::PingRequest { timestamp }),
        any::<u32>().prop_map(|timestamp| UserControlEvent::PingResponse { timestamp }),
        (
            prop::sample::select(vec![5u16, 8, 31, 32, 0xFFFF]),
            bytes_strategy()
        )
            .prop_map(|(event_type, data)| UserControlEvent::Unknown { event_type, data }),
    ]
}

fn part_strategy() -> impl Strategy<Value = AggregatePart> {
    (
        prop::sample::select(vec![8u8, 9, 18]),
        any::<u32>(),
        0u32..0x0100_0000,
        bytes_strategy(),
    )
        .prop_map(|(type_id, timestamp, stream_id, body)| AggregatePart {
            type_id,
            timestamp,
            stream_id,
            body,
        })
}

fn message_strategy() -> impl Strategy<Value = RtmpMessage> {
    let known: Vec<u8> = vec![1, 2, 3, 4, 5, 6, 8, 9, 15, 16, 17, 18, 19, 20, 22];
    prop_oneof![
        (1u32..=0x7FFF_FFFF).prop_map(RtmpMessage::SetChunkSize),
        any::<u32>().prop_map(|csid| RtmpMessage::Abort { csid }),
        any::<u32>().prop_map(|sequence_number| RtmpMessage::Acknowledgement { sequence_number }),
        event_strategy().prop_map(RtmpMessage::UserControl),
        any::<u32>().prop_map(RtmpMessage::WindowAckSize),
        (
            any::<u32>(),
            prop::sample::select(vec![LimitType::Hard, LimitType::Soft, LimitType::Dynamic])
        )
            .prop_map(|(window, limit_type)| RtmpMessage::SetPeerBandwidth { window, limit_type }),
        bytes_strategy().prop_map(RtmpMessage::Audio),
        bytes_strategy().prop_map(RtmpMessage::Video),
        bytes_strategy().prop_map(RtmpMessage::DataAmf3),
        bytes_strategy().prop_map(RtmpMessage::SharedObjectAmf3),
        bytes_strategy().prop_map(RtmpMessage::CommandAmf3),
        bytes_strategy().prop_map(RtmpMessage::DataAmf0),
        bytes_strategy().prop_map(RtmpMessage::SharedObjectAmf0),
        bytes_strategy().prop_map(RtmpMessage::CommandAmf0),
        prop::collection::vec(part_strategy(), 0..5)
            .prop_map(|parts| RtmpMessage::Aggregate(Aggregate { parts })),
        (
            any::<u8>().prop_filter("unknown type ids only", move |t| !known.contains(t)),
            bytes_strategy()
        )
            .prop_map(|(type_id, payload)| RtmpMessage::Unknown { type_id, payload }),
    ]
}

proptest! {
    #[test]
    fn every_message_type_roundtrips(msg in message_strategy()) {
        let (type_id, payload) = msg.encode().unwrap();
        prop_assert_eq!(type_id, msg.type_id());
        let mut into = bytes::BytesMut::new();
        prop_assert_eq!(msg.encode_into(&mut into).unwrap(), type_id);
        prop_assert_eq!(into.as_ref(), payload.as_ref());
        prop_assert_eq!(RtmpMessage::decode(type_id, payload).unwrap(), msg);
    }

    #[test]
    fn random_payloads_of_every_type_decode_without_panicking(
        type_id in any::<u8>(),
        payload in prop::collection::vec(any::<u8>(), 0..96),
    ) {
        let payload = Bytes::from(payload);
        for len in 0..=payload.len() {
            let _ = RtmpMessage::decode(type_id, payload.slice(..len));
        }
    }
}

//! Tests for SharedObject message decoding and encoding.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::protocol::limits::{AmfLimits, SharedObjectLimits};

fn decode(
    bytes: &[u8],
    enc: SharedObjectEncoding,
) -> Result<SharedObjectMessage, SharedObjectError> {
    SharedObjectMessage::decode(
        Bytes::copy_from_slice(bytes),
        enc,
        SharedObjectLimits::default(),
        AmfLimits::default(),
    )
}

fn encode(msg: &SharedObjectMessage, enc: SharedObjectEncoding) -> Vec<u8> {
    let mut dst = BytesMut::new();
    msg.encode(enc, &mut dst).unwrap();
    dst.to_vec()
}

/// Header for SharedObject "so", version 0, flags 0x10 (as FMS/AMS writes),
/// reserved 0.
fn header(version: u32, flags: u32) -> Vec<u8> {
    let mut v = vec![0, 2, b's', b'o'];
    v.extend_from_slice(&version.to_be_bytes());
    v.extend_from_slice(&flags.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v
}

/// Event vectors without AMF values, from csimi/rtmp-client `SharedObject.md`
/// (reverse-engineered FMS/AMS traffic): Use, Release, Status
/// (NoReadAccess/error), Clear, Remove "foo", RequestRemove "foo",
/// UseSuccess, and the undocumented type 12 (`foo` + 4 bytes).
pub(super) fn value_free_vectors() -> Vec<(Vec<u8>, Vec<SharedObjectEvent>)> {
    let status: Vec<u8> = [
        &[7u8, 0, 0, 0, 34, 0, 25][..],
        b"SharedObject.NoReadAccess",
        &[0, 5],
        b"error",
    ]
    .concat();
    vec![
        (vec![1, 0, 0, 0, 0], vec![SharedObjectEvent::Use]),
        (vec![2, 0, 0, 0, 0], vec![SharedObjectEvent::Release]),
        (
            status,
            vec![SharedObjectEvent::Status {
                code: "SharedObject.NoReadAccess".into(),
                level: "error".into(),
            }],
        ),
        (vec![8, 0, 0, 0, 0], vec![SharedObjectEvent::Clear]),
        (
            vec![9, 0, 0, 0, 5, 0, 3, b'f', b'o', b'o'],
            vec![SharedObjectEvent::Remove(vec!["foo".into()])],
        ),
        (
            vec![10, 0, 0, 0, 5, 0, 3, b'f', b'o', b'o'],
            vec![SharedObjectEvent::RequestRemove(vec!["foo".into()])],
        ),
        (vec![11, 0, 0, 0, 0], vec![SharedObjectEvent::UseSuccess]),
        (
            vec![12, 0, 0, 0, 9, 0, 3, b'f', b'o', b'o', 0, 0, 0, 1],
            vec![SharedObjectEvent::Unknown {
                event_type: 12,
                data: Bytes::from_static(&[0, 3, b'f', b'o', b'o', 0, 0, 0, 1]),
            }],
        ),
        (
            // Success for two slots in one event (Red5 writes one per event).
            vec![5, 0, 0, 0, 8, 0, 1, b'a', 0, 3, b'b', b'c', b'd'],
            vec![SharedObjectEvent::Success(vec!["a".into(), "bcd".into()])],
        ),
    ]
}

#[test]
fn decodes_fms_event_vectors_without_values_in_both_encodings() {
    for (event, expected) in value_free_vectors() {
        let mut body = header(7, 0x10);
        body.extend_from_slice(&event);
        let msg = decode(&body, SharedObjectEncoding::Amf0).unwrap();
        assert_eq!(
            (&*msg.name, msg.version, msg.flags, msg.reserved),
            ("so", 7, 0x10, 0)
        );
        assert!(!msg.is_persistent());
        assert_eq!(msg.events, expected);
        assert_eq!(
            encode(&msg, SharedObjectEncoding::Amf0),
            body,
            "re-encodes byte for byte"
        );

        let mut body3 = vec![0u8];
        body3.extend_from_slice(&body);
        let msg3 = decode(&body3, SharedObjectEncoding::Amf3).unwrap();
        assert_eq!(msg3, msg);
        assert_eq!(encode(&msg3, SharedObjectEncoding::Amf3), body3);
    }
}

#[test]
fn decodes_a_use_request_with_red5_persistent_flag_and_several_events() {
    // A Flash Player getRemote("so", uri, true).connect(nc): Use, version 0,
    // flags 2 (what Red5 tests for); plus a Release, to check event sequencing.
    let mut body = header(0, flags::PERSISTENT);
    body.extend_from_slice(&[1, 0, 0, 0, 0, 2, 0, 0, 0, 0]);
    let msg = decode(&body, SharedObjectEncoding::Amf0).unwrap();
    assert!(msg.is_persistent());
    assert_eq!(
        msg.events,
        vec![SharedObjectEvent::Use, SharedObjectEvent::Release]
    );
    assert_eq!(msg, {
        let mut m = SharedObjectMessage::new("so", 0, true);
        m.events = vec![SharedObjectEvent::Use, SharedObjectEvent::Release];
        m
    });
}

#[test]
fn unknown_flag_bits_are_kept() {
    let body = header(1, 0xFFFF_FFFF);
    let msg = decode(&body, SharedObjectEncoding::Amf0).unwrap();
    assert_eq!(msg.flags, 0xFFFF_FFFF);
    assert!(msg.is_persistent());
    assert!(msg.events.is_empty());
}

#[test]
fn payload_less_events_ignore_stray_data_and_status_ignores_trailing_bytes() {
    let mut body = header(0, 0);
    body.extend_from_slice(&[1, 0, 0, 0, 2, 0xAB, 0xCD]);
    body.extend_from_slice(&[7, 0, 0, 0, 7, 0, 1, b'c', 0, 1, b'l', 0xEE]);
    let msg = decode(&body, SharedObjectEncoding::Amf0).unwrap();
    assert_eq!(msg.events[0], SharedObjectEvent::Use);
    assert_eq!(
        msg.events[1],
        SharedObjectEvent::Status {
            code: "c".into(),
            level: "l".into()
        }
    );
}

#[test]
fn an_event_longer_than_the_message_is_an_error() {
    let mut body = header(0, 0);
    body.extend_from_slice(&[9, 0, 0, 0, 6, 0, 3, b'f', b'o', b'o']);
    assert_eq!(
        decode(&body, SharedObjectEncoding::Amf0),
        Err(SharedObjectError::EventOverrun {
            event_type: 9,
            declared: 6,
            remaining: 5
        })
    );
}

#[test]
fn a_slot_name_running_past_its_event_is_an_error() {
    // Remove whose name claims 4 bytes but the event holds 3 of them; the
    // next event's bytes must not be borrowed.
    let mut body = header(0, 0);
    body.extend_from_slice(&[9, 0, 0, 0, 5, 0, 4, b'f', b'o', b'o', 8, 0, 0, 0, 0]);
    assert!(matches!(
        decode(&body, SharedObjectEncoding::Amf0),
        Err(SharedObjectError::Truncated {
            what: "slot name",
            ..
        })
    ));
}

#[test]
fn limits_bound_the_name_and_the_event_count() {
    let limits = SharedObjectLimits {
        max_events_per_message: 2,
        max_name_len: 1,
    };
    let mut body = header(0, 0);
    body.extend_from_slice(&[1, 0, 0, 0, 0]);
    let err = SharedObjectMessage::decode(
        Bytes::from(body),
        SharedObjectEncoding::Amf0,
        limits,
        AmfLimits::default(),
    );
    assert_eq!(
        err,
        Err(SharedObjectError::NameTooLong { len: 2, limit: 1 })
    );

    let limits = SharedObjectLimits {
        max_events_per_message: 2,
        max_name_len: 10,
    };
    let mut body = header(0, 0);
    body.extend_from_slice(&[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    let err = SharedObjectMessage::decode(
        Bytes::from(body),
        SharedObjectEncoding::Amf0,
        limits,
        AmfLimits::default(),
    );
    assert_eq!(err, Err(SharedObjectError::TooManyEvents { limit: 2 }));
}

#[test]
fn type_16_needs_the_zero_format_byte_and_names_must_be_utf8() {
    let mut body = vec![3u8];
    body.extend_from_slice(&header(0, 0));
    assert_eq!(
        decode(&body, SharedObjectEncoding::Amf3),
        Err(SharedObjectError::UnknownFormatByte { byte: 3 })
    );
    assert!(matches!(
        decode(&[], SharedObjectEncoding::Amf3),
        Err(SharedObjectError::Truncated { .. })
    ));
    let bad = [0, 2, 0xC3, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        decode(&bad, SharedObjectEncoding::Amf0),
        Err(SharedObjectError::InvalidUtf8 {
            what: "SharedObject name"
        })
    );
}

#[test]
fn truncated_header_and_partial_event_header_are_errors() {
    assert!(matches!(
        decode(&[0, 2, b's'], SharedObjectEncoding::Amf0),
        Err(SharedObjectError::Truncated {
            what: "SharedObject name",
            ..
        })
    ));
    let mut body = header(0, 0);
    body.extend_from_slice(&[1, 0, 0]);
    assert!(matches!(
        decode(&body, SharedObjectEncoding::Amf0),
        Err(SharedObjectError::Truncated {
            what: "event header",
            ..
        })
    ));
}

#[test]
fn encoding_refuses_names_longer_than_u16() {
    let msg = SharedObjectMessage::new("x".repeat(70_000), 0, false);
    let mut dst = BytesMut::new();
    assert!(matches!(
        msg.encode(SharedObjectEncoding::Amf0, &mut dst),
        Err(SharedObjectError::TooLong {
            what: "SharedObject name",
            len: 70_000
        })
    ));
}

#[test]
fn message_type_ids_map_to_encodings() {
    assert_eq!(
        SharedObjectEncoding::from_message_type(19),
        Some(SharedObjectEncoding::Amf0)
    );
    assert_eq!(
        SharedObjectEncoding::from_message_type(16),
        Some(SharedObjectEncoding::Amf3)
    );
    assert_eq!(SharedObjectEncoding::from_message_type(20), None);
    assert_eq!(SharedObjectEncoding::Amf3.message_type(), 16);
}

/// All vectors, both encodings, as complete message bodies.
fn all_vector_bodies() -> Vec<(Vec<u8>, SharedObjectEncoding)> {
    let mut out = Vec::new();
    for (event, _) in value_free_vectors() {
        let mut body = header(3, 0x10);
        body.extend_from_slice(&event);
        let mut body3 = vec![0u8];
        body3.extend_from_slice(&body);
        out.push((body, SharedObjectEncoding::Amf0));
        out.push((body3, SharedObjectEncoding::Amf3));
    }
    for (body, enc) in super::value_tests::value_vector_bodies() {
        out.push((body, enc));
    }
    out
}

#[test]
fn every_prefix_of_every_vector_decodes_without_panic() {
    for (body, enc) in all_vector_bodies() {
        for end in 0..=body.len() {
            let _ = decode(&body[..end], enc);
        }
    }
}

proptest! {
    #[test]
    fn random_corruptions_of_vectors_never_panic(
        pick in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let bodies = all_vector_bodies();
        let (mut body, enc) = bodies[pick.index(bodies.len())].clone();
        for (at, byte) in flips {
            let i = at.index(body.len());
            body[i] = byte;
        }
        let _ = decode(&body, enc);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), amf3 in any::<bool>()) {
        let enc = if amf3 { SharedObjectEncoding::Amf3 } else { SharedObjectEncoding::Amf0 };
        let _ = decode(&bytes, enc);
    }

    #[test]
    fn value_free_messages_roundtrip(
        version in any::<u32>(),
        flag_bits in any::<u32>(),
        reserved in any::<u32>(),
        events in prop::collection::vec(value_free_event(), 0..8),
        amf3 in any::<bool>(),
    ) {
        let enc = if amf3 { SharedObjectEncoding::Amf3 } else { SharedObjectEncoding::Amf0 };
        let msg = SharedObjectMessage { name: "room/chat".into(), version, flags: flag_bits, reserved, events };
        let bytes = encode(&msg, enc);
        prop_assert_eq!(decode(&bytes, enc).unwrap(), msg);
    }
}

fn slot_name() -> impl Strategy<Value = bytestring::ByteString> {
    "[a-zA-Z0-9_ é]{0,12}".prop_map(bytestring::ByteString::from)
}

/// Events whose payloads hold no AMF values.
fn value_free_event() -> impl Strategy<Value = SharedObjectEvent> {
    prop_oneof![
        Just(SharedObjectEvent::Use),
        Just(SharedObjectEvent::Release),
        Just(SharedObjectEvent::Clear),
        Just(SharedObjectEvent::UseSuccess),
        prop::collection::vec(slot_name(), 1..4).prop_map(SharedObjectEvent::Success),
        prop::collection::vec(slot_name(), 1..4).prop_map(SharedObjectEvent::Remove),
        prop::collection::vec(slot_name(), 1..4).prop_map(SharedObjectEvent::RequestRemove),
        (slot_name(), slot_name())
            .prop_map(|(code, level)| SharedObjectEvent::Status { code, level }),
        (12u8..=255, prop::collection::vec(any::<u8>(), 0..16)).prop_map(|(event_type, data)| {
            SharedObjectEvent::Unknown {
                event_type,
                data: Bytes::from(data),
            }
        }),
    ]
}

//! Wire tests for SharedObject events that carry AMF values.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use proptest::prelude::*;

use super::*;
use crate::protocol::amf::AmfValue;
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

/// Header of SharedObject "so", version 1, flags 0x10, reserved 0.
const HEADER: [u8; 16] = [0, 2, b's', b'o', 0, 0, 0, 1, 0, 0, 0, 0x10, 0, 0, 0, 0];

fn body(events: &[&[u8]]) -> Vec<u8> {
    let mut v = HEADER.to_vec();
    for e in events {
        v.extend_from_slice(e);
    }
    v
}

/// csimi/rtmp-client `SharedObject.md` (FMS/AMS traffic): RequestChange and
/// Change of `foo` = "bar".
const REQUEST_CHANGE_FOO_BAR: &[u8] = &[
    3, 0, 0, 0, 11, 0, 3, b'f', b'o', b'o', 2, 0, 3, b'b', b'a', b'r',
];
const CHANGE_FOO_BAR: &[u8] = &[
    4, 0, 0, 0, 11, 0, 3, b'f', b'o', b'o', 2, 0, 3, b'b', b'a', b'r',
];
/// Same source: type 13, the echo FMS sends to the client that made a change.
const TYPE_13_FOO_BAR: &[u8] = &[
    13, 0, 0, 0, 11, 0, 3, b'f', b'o', b'o', 2, 0, 3, b'b', b'a', b'r',
];
/// Red5 `doEncodeSharedObject` layout for SendMessage: handler name as a full
/// AMF0 string (with marker), then the arguments: `chat("hi", 2)`.
const SEND_MESSAGE_CHAT: &[u8] = &[
    6, 0, 0, 0, 21, 2, 0, 4, b'c', b'h', b'a', b't', 2, 0, 2, b'h', b'i', 0, 0x40, 0, 0, 0, 0, 0,
    0, 0,
];
/// One Change event carrying two pairs: `a` = true, `b` = null (Red5 reads
/// pairs until the event's length is used up).
const CHANGE_TWO_PAIRS: &[u8] = &[4, 0, 0, 0, 9, 0, 1, b'a', 1, 1, 0, 1, b'b', 5];
/// A type 16 Change from an AMF3 client: `n` = AVM+ AMF3 integer 5.
const AMF3_CHANGE_INT: &[u8] = &[4, 0, 0, 0, 6, 0, 1, b'n', 0x11, 0x04, 0x05];

pub(super) fn value_vector_bodies() -> Vec<(Vec<u8>, SharedObjectEncoding)> {
    let mut amf3 = vec![0u8];
    amf3.extend_from_slice(&body(&[AMF3_CHANGE_INT, SEND_MESSAGE_CHAT]));
    vec![
        (body(&[REQUEST_CHANGE_FOO_BAR]), SharedObjectEncoding::Amf0),
        (
            body(&[CHANGE_FOO_BAR, TYPE_13_FOO_BAR]),
            SharedObjectEncoding::Amf0,
        ),
        (body(&[SEND_MESSAGE_CHAT]), SharedObjectEncoding::Amf0),
        (body(&[CHANGE_TWO_PAIRS]), SharedObjectEncoding::Amf0),
        (amf3, SharedObjectEncoding::Amf3),
    ]
}

fn pair(k: &str, v: AmfValue) -> (ByteString, AmfValue) {
    (k.into(), v)
}

#[test]
fn decodes_fms_request_change_change_and_type_13() {
    let msg = decode(&body(&[REQUEST_CHANGE_FOO_BAR]), SharedObjectEncoding::Amf0).unwrap();
    assert_eq!(
        msg.events,
        vec![SharedObjectEvent::RequestChange(vec![pair(
            "foo",
            "bar".into()
        )])]
    );

    let bytes = body(&[CHANGE_FOO_BAR, TYPE_13_FOO_BAR]);
    let msg = decode(&bytes, SharedObjectEncoding::Amf0).unwrap();
    assert_eq!(
        msg.events[0],
        SharedObjectEvent::Change(vec![pair("foo", "bar".into())])
    );
    assert_eq!(
        msg.events[1],
        SharedObjectEvent::Unknown {
            event_type: 13,
            data: Bytes::copy_from_slice(&TYPE_13_FOO_BAR[5..])
        }
    );
    assert_eq!(encode(&msg, SharedObjectEncoding::Amf0), bytes);
}

#[test]
fn decodes_red5_send_message_layout() {
    let bytes = body(&[SEND_MESSAGE_CHAT]);
    let msg = decode(&bytes, SharedObjectEncoding::Amf0).unwrap();
    assert_eq!(
        msg.events,
        vec![SharedObjectEvent::SendMessage {
            method: "chat".into(),
            args: vec!["hi".into(), AmfValue::Number(2.0)],
        }]
    );
    assert_eq!(encode(&msg, SharedObjectEncoding::Amf0), bytes);
}

#[test]
fn accepts_several_pairs_in_one_change_event() {
    let bytes = body(&[CHANGE_TWO_PAIRS]);
    let msg = decode(&bytes, SharedObjectEncoding::Amf0).unwrap();
    assert_eq!(
        msg.events,
        vec![SharedObjectEvent::Change(vec![
            pair("a", AmfValue::Boolean(true)),
            pair("b", AmfValue::Null)
        ])]
    );
    assert_eq!(encode(&msg, SharedObjectEncoding::Amf0), bytes);
}

#[test]
fn decodes_type_16_with_avmplus_values_and_writes_it_back() {
    let mut bytes = vec![0u8];
    bytes.extend_from_slice(&body(&[AMF3_CHANGE_INT]));
    let msg = decode(&bytes, SharedObjectEncoding::Amf3).unwrap();
    assert_eq!(
        msg.events,
        vec![SharedObjectEvent::Change(vec![pair(
            "n",
            AmfValue::Integer(5)
        )])]
    );
    assert_eq!(encode(&msg, SharedObjectEncoding::Amf3), bytes);
}

#[test]
fn type_16_writes_every_value_behind_avmplus_but_the_handler_name_as_amf0() {
    let mut msg = SharedObjectMessage::new("so", 1, false);
    msg.flags = 0x10;
    msg.events = vec![SharedObjectEvent::SendMessage {
        method: "m".into(),
        args: vec![AmfValue::Boolean(true)],
    }];
    let mut expected = vec![0u8];
    expected.extend_from_slice(&body(&[&[6, 0, 0, 0, 6, 2, 0, 1, b'm', 0x11, 0x03]]));
    assert_eq!(encode(&msg, SharedObjectEncoding::Amf3), expected);
}

#[test]
fn a_key_without_a_value_reads_as_null() {
    let bytes = body(&[&[3, 0, 0, 0, 5, 0, 3, b'f', b'o', b'o']]);
    let msg = decode(&bytes, SharedObjectEncoding::Amf0).unwrap();
    assert_eq!(
        msg.events,
        vec![SharedObjectEvent::RequestChange(vec![pair(
            "foo",
            AmfValue::Null
        )])]
    );
}

#[test]
fn a_value_running_past_its_event_is_an_amf_error() {
    // Declared length 9 cuts the string "bar" after "ba"; the next event's
    // first byte must not be read as its last.
    let bytes = body(&[
        &[4, 0, 0, 0, 10, 0, 3, b'f', b'o', b'o', 2, 0, 3, b'b', b'a'],
        b"r",
    ]);
    assert!(matches!(
        decode(&bytes, SharedObjectEncoding::Amf0),
        Err(SharedObjectError::Amf(_))
    ));
}

#[test]
fn send_message_needs_a_string_handler_name() {
    let bytes = body(&[&[6, 0, 0, 0, 1, 5]]);
    assert_eq!(
        decode(&bytes, SharedObjectEncoding::Amf0),
        Err(SharedObjectError::MissingHandlerName { found: "null" })
    );
    let bytes = body(&[&[6, 0, 0, 0, 0]]);
    assert!(matches!(
        decode(&bytes, SharedObjectEncoding::Amf0),
        Err(SharedObjectError::Amf(_))
    ));
}

fn amf_value() -> impl Strategy<Value = AmfValue> {
    let leaf = prop_oneof![
        Just(AmfValue::Null),
        any::<bool>().prop_map(AmfValue::Boolean),
        (-1e9f64..1e9).prop_map(AmfValue::Number),
        "[a-z0-9 ]{0,8}".prop_map(AmfValue::from),
    ];
    leaf.prop_recursive(2, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(("[a-z]{1,5}", inner.clone()), 0..3).prop_map(AmfValue::object),
            prop::collection::vec(inner, 0..3).prop_map(AmfValue::strict_array),
        ]
    })
}

fn name() -> impl Strategy<Value = ByteString> {
    "[a-zA-Z0-9_ é]{0,10}".prop_map(ByteString::from)
}

fn event() -> impl Strategy<Value = SharedObjectEvent> {
    let pairs = || prop::collection::vec((name(), amf_value()), 1..4);
    prop_oneof![
        Just(SharedObjectEvent::Use),
        Just(SharedObjectEvent::Release),
        Just(SharedObjectEvent::Clear),
        Just(SharedObjectEvent::UseSuccess),
        pairs().prop_map(SharedObjectEvent::RequestChange),
        pairs().prop_map(SharedObjectEvent::Change),
        prop::collection::vec(name(), 1..3).prop_map(SharedObjectEvent::Success),
        prop::collection::vec(name(), 1..3).prop_map(SharedObjectEvent::Remove),
        prop::collection::vec(name(), 1..3).prop_map(SharedObjectEvent::RequestRemove),
        (name(), prop::collection::vec(amf_value(), 0..3))
            .prop_map(|(method, args)| SharedObjectEvent::SendMessage { method, args }),
        (name(), name()).prop_map(|(code, level)| SharedObjectEvent::Status { code, level }),
        (12u8..=255, prop::collection::vec(any::<u8>(), 0..12)).prop_map(|(event_type, data)| {
            SharedObjectEvent::Unknown {
                event_type,
                data: Bytes::from(data),
            }
        }),
    ]
}

proptest! {
    #[test]
    fn messages_with_random_events_roundtrip_in_both_encodings(
        so_name in name(),
        version in any::<u32>(),
        flag_bits in any::<u32>(),
        events in prop::collection::vec(event(), 0..8),
        amf3 in any::<bool>(),
    ) {
        let enc = if amf3 { SharedObjectEncoding::Amf3 } else { SharedObjectEncoding::Amf0 };
        let msg = SharedObjectMessage { name: so_name, version, flags: flag_bits, reserved: 0, events };
        let bytes = encode(&msg, enc);
        prop_assert_eq!(decode(&bytes, enc).unwrap(), msg);
    }
}

//! Test helpers shared by the AMF0 and AMF3 tests: value generators, the
//! documented lossy mappings ("canonical forms"), the `amf` crate oracle
//! conversions, and the prefix/corruption fuzz loop.

use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;

use super::encode::key_string;
use crate::protocol::amf::{
    AmfDate, AmfObject, AmfValue, AmfVector, Dictionary, EcmaArray, ObjectVector,
};

/// Bytes from hex text; whitespace is ignored (vectors are written grouped).
pub(crate) fn hex(s: &str) -> Bytes {
    let s: String = s.split_whitespace().collect();
    Bytes::from(
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
            .collect::<Vec<u8>>(),
    )
}

/// Concatenates byte pieces into one vector (for readable hand-built vectors).
pub(crate) fn cat(pieces: &[&[u8]]) -> Bytes {
    Bytes::from(pieces.concat())
}

/// Feeds every prefix of `bytes`, and `corruptions` seeded random corruptions
/// of it, to `decode`; it must return (Ok or Err) and never panic.
pub(crate) fn never_panics(bytes: &[u8], corruptions: u64, decode: impl Fn(Bytes)) {
    for end in 0..=bytes.len() {
        decode(Bytes::copy_from_slice(&bytes[..end]));
    }
    if bytes.is_empty() {
        return;
    }
    // xorshift64*: deterministic, no dependency on a seeded RNG API.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ bytes.len() as u64;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    for _ in 0..corruptions {
        let mut copy = bytes.to_vec();
        let flips = 1 + next() % 4;
        for _ in 0..flips {
            let at = (next() % copy.len() as u64) as usize;
            copy[at] = match next() % 3 {
                0 => next() as u8,
                1 => copy[at] ^ (1 << (next() % 8)),
                _ => 0xFF,
            };
        }
        decode(Bytes::from(copy));
    }
}

fn key() -> impl Strategy<Value = String> + Clone {
    // A small alphabet so that names repeat (exercises AMF3 string references).
    "[a-e]{1,3}|[a-zA-Z_ü€]{1,8}"
}

fn leaf() -> impl Strategy<Value = AmfValue> {
    prop_oneof![
        Just(AmfValue::Undefined),
        Just(AmfValue::Null),
        Just(AmfValue::Unsupported),
        any::<bool>().prop_map(AmfValue::Boolean),
        any::<i32>().prop_map(AmfValue::Integer),
        (-(1i32 << 28)..(1 << 28)).prop_map(AmfValue::Integer),
        any::<f64>()
            .prop_filter("NaN != NaN", |n| !n.is_nan())
            .prop_map(AmfValue::Number),
        "\\PC{0,12}".prop_map(AmfValue::from),
        key().prop_map(AmfValue::from),
        (
            any::<f64>().prop_filter("NaN", |n| !n.is_nan()),
            any::<i16>()
        )
            .prop_map(|(millis, timezone_minutes)| AmfValue::Date(AmfDate {
                millis,
                timezone_minutes
            })),
        "\\PC{0,12}".prop_map(|s| AmfValue::XmlDocument(s.into())),
        "\\PC{0,12}".prop_map(|s| AmfValue::Xml(s.into())),
        prop::collection::vec(any::<u8>(), 0..6).prop_map(|b| AmfValue::ByteArray(Bytes::from(b))),
        (any::<bool>(), prop::collection::vec(any::<i32>(), 0..4)).prop_map(|(fixed, items)| {
            AmfValue::VectorInt(Arc::new(AmfVector { fixed, items }))
        }),
        (any::<bool>(), prop::collection::vec(any::<u32>(), 0..4)).prop_map(|(fixed, items)| {
            AmfValue::VectorUint(Arc::new(AmfVector { fixed, items }))
        }),
        (
            any::<bool>(),
            prop::collection::vec(any::<f64>().prop_filter("NaN", |n| !n.is_nan()), 0..4)
        )
            .prop_map(|(fixed, items)| AmfValue::VectorDouble(Arc::new(AmfVector {
                fixed,
                items
            }))),
    ]
}

/// Arbitrary value trees covering every variant (no NaN: NaN != NaN).
pub(crate) fn arb_value() -> impl Strategy<Value = AmfValue> {
    leaf().prop_recursive(4, 48, 5, |inner| {
        let members = prop::collection::vec((key(), inner.clone()), 0..5);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(AmfValue::strict_array),
            (prop::collection::vec(inner.clone(), 0..3), members.clone()).prop_map(
                |(dense, assoc)| AmfValue::EcmaArray(Arc::new(EcmaArray {
                    dense,
                    assoc: assoc.into_iter().map(|(k, v)| (k.into(), v)).collect(),
                }))
            ),
            (
                prop::option::of("[a-z]{1,4}(\\.[A-Z][a-z]{0,4})?"),
                members.clone(),
                any::<usize>(),
                any::<bool>()
            )
                .prop_map(|(class, members, sealed, dynamic)| {
                    let sealed_count = if members.is_empty() {
                        0
                    } else {
                        sealed % (members.len() + 1)
                    };
                    AmfValue::Object(Arc::new(AmfObject {
                        class_name: class.map(Into::into),
                        members: members.into_iter().map(|(k, v)| (k.into(), v)).collect(),
                        sealed_count,
                        dynamic,
                        external: None,
                    }))
                }),
            members.prop_map(AmfValue::object),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|items| {
                AmfValue::Object(Arc::new(AmfObject {
                    class_name: Some("flex.messaging.io.ArrayCollection".into()),
                    external: Some(AmfValue::strict_array(items)),
                    ..AmfObject::default()
                }))
            }),
            (
                any::<bool>(),
                "[A-Za-z.*]{0,6}",
                prop::collection::vec(inner.clone(), 0..4)
            )
                .prop_map(|(fixed, type_name, items)| {
                    AmfValue::VectorObject(Arc::new(ObjectVector {
                        fixed,
                        type_name: type_name.into(),
                        items,
                    }))
                }),
            (
                any::<bool>(),
                prop::collection::vec((inner.clone(), inner), 0..4)
            )
                .prop_map(|(weak_keys, entries)| AmfValue::Dictionary(Arc::new(
                    Dictionary { weak_keys, entries }
                ))),
        ]
    })
}

fn numbers(items: impl Iterator<Item = f64>) -> AmfValue {
    AmfValue::strict_array(items.map(AmfValue::Number))
}

/// What an AMF0 roundtrip of `v` yields, per the mappings documented on
/// [`AmfValue`] and in `docs/protocol/amf.md`.
pub(crate) fn amf0_canonical(v: &AmfValue) -> AmfValue {
    match v {
        AmfValue::Integer(i) => AmfValue::Number(f64::from(*i)),
        AmfValue::Xml(s) => AmfValue::XmlDocument(s.clone()),
        AmfValue::ByteArray(b) => numbers(b.iter().map(|x| f64::from(*x))),
        AmfValue::VectorInt(x) => numbers(x.items.iter().map(|n| f64::from(*n))),
        AmfValue::VectorUint(x) => numbers(x.items.iter().map(|n| f64::from(*n))),
        AmfValue::VectorDouble(x) => numbers(x.items.iter().copied()),
        AmfValue::VectorObject(x) => AmfValue::strict_array(x.items.iter().map(amf0_canonical)),
        AmfValue::StrictArray(x) => AmfValue::strict_array(x.iter().map(amf0_canonical)),
        AmfValue::Dictionary(d) => AmfValue::ecma_array(
            d.entries
                .iter()
                .map(|(k, v)| (key_string(k), amf0_canonical(v))),
        ),
        AmfValue::EcmaArray(a) => AmfValue::ecma_array(
            a.dense
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string().into(), amf0_canonical(v)))
                .chain(a.assoc.iter().map(|(k, v)| (k.clone(), amf0_canonical(v))))
                .collect::<Vec<(bytestring::ByteString, AmfValue)>>(),
        ),
        AmfValue::Object(o) => {
            if let Some(payload) = &o.external {
                return amf0_canonical(payload);
            }
            let members: Vec<_> = o
                .members
                .iter()
                .map(|(k, v)| (k.clone(), amf0_canonical(v)))
                .collect();
            let typed = o.class_name.is_some();
            AmfValue::Object(Arc::new(AmfObject {
                class_name: o.class_name.clone(),
                sealed_count: if typed { members.len() } else { 0 },
                dynamic: !typed,
                members,
                external: None,
            }))
        }
        other => other.clone(),
    }
}

/// Our value from the `amf` crate's AMF0 value (the oracle).
pub(crate) fn from_oracle0(v: amf::Amf0Value) -> AmfValue {
    use amf::Amf0Value as O;
    match v {
        O::Number(n) => AmfValue::Number(n),
        O::Boolean(b) => AmfValue::Boolean(b),
        O::String(s) => AmfValue::from(s),
        O::Null => AmfValue::Null,
        O::Undefined => AmfValue::Undefined,
        O::Object {
            class_name,
            entries,
        } => {
            let members: Vec<_> = entries
                .into_iter()
                .map(|p| (p.key.into(), from_oracle0(p.value)))
                .collect();
            let typed = class_name.is_some();
            AmfValue::Object(Arc::new(AmfObject {
                class_name: class_name.map(Into::into),
                sealed_count: if typed { members.len() } else { 0 },
                dynamic: !typed,
                members,
                external: None,
            }))
        }
        O::EcmaArray { entries } => {
            AmfValue::ecma_array(entries.into_iter().map(|p| (p.key, from_oracle0(p.value))))
        }
        O::Array { entries } => AmfValue::strict_array(entries.into_iter().map(from_oracle0)),
        O::Date {
            unix_time,
            time_zone,
        } => AmfValue::Date(AmfDate {
            millis: unix_time.as_millis() as f64,
            timezone_minutes: time_zone,
        }),
        O::XmlDocument(s) => AmfValue::XmlDocument(s.into()),
        O::AvmPlus(v) => from_oracle3(v),
    }
}

/// Our value from the `amf` crate's AMF3 value (the oracle).
pub(crate) fn from_oracle3(v: amf::Amf3Value) -> AmfValue {
    use amf::Amf3Value as O;
    match v {
        O::Undefined => AmfValue::Undefined,
        O::Null => AmfValue::Null,
        O::Boolean(b) => AmfValue::Boolean(b),
        O::Integer(i) => AmfValue::Integer(i),
        O::Double(n) => AmfValue::Number(n),
        O::String(s) => AmfValue::from(s),
        O::XmlDocument(s) => AmfValue::XmlDocument(s.into()),
        O::Xml(s) => AmfValue::Xml(s.into()),
        O::Date { unix_time } => AmfValue::Date(AmfDate {
            millis: unix_time.as_millis() as f64,
            timezone_minutes: 0,
        }),
        O::Array {
            assoc_entries,
            dense_entries,
        } => {
            let dense: Vec<_> = dense_entries.into_iter().map(from_oracle3).collect();
            if assoc_entries.is_empty() {
                AmfValue::strict_array(dense)
            } else {
                AmfValue::EcmaArray(Arc::new(EcmaArray {
                    dense,
                    assoc: assoc_entries
                        .into_iter()
                        .map(|p| (p.key.into(), from_oracle3(p.value)))
                        .collect(),
                }))
            }
        }
        O::Object {
            class_name,
            sealed_count,
            entries,
        } => {
            let members: Vec<_> = entries
                .into_iter()
                .map(|p| (p.key.into(), from_oracle3(p.value)))
                .collect();
            AmfValue::Object(Arc::new(AmfObject {
                class_name: class_name.map(Into::into),
                // The oracle does not report the dynamic flag: infer it.
                dynamic: members.len() > sealed_count,
                sealed_count,
                members,
                external: None,
            }))
        }
        O::ByteArray(b) => AmfValue::ByteArray(b.into()),
        O::IntVector { is_fixed, entries } => AmfValue::VectorInt(Arc::new(AmfVector {
            fixed: is_fixed,
            items: entries,
        })),
        O::UintVector { is_fixed, entries } => AmfValue::VectorUint(Arc::new(AmfVector {
            fixed: is_fixed,
            items: entries,
        })),
        O::DoubleVector { is_fixed, entries } => AmfValue::VectorDouble(Arc::new(AmfVector {
            fixed: is_fixed,
            items: entries,
        })),
        O::ObjectVector {
            class_name,
            is_fixed,
            entries,
        } => AmfValue::VectorObject(Arc::new(ObjectVector {
            fixed: is_fixed,
            type_name: class_name.unwrap_or_else(|| "*".to_owned()).into(),
            items: entries.into_iter().map(from_oracle3).collect(),
        })),
        O::Dictionary { is_weak, entries } => AmfValue::Dictionary(Arc::new(Dictionary {
            weak_keys: is_weak,
            entries: entries
                .into_iter()
                .map(|p| (from_oracle3(p.key), from_oracle3(p.value)))
                .collect(),
        })),
    }
}

/// Rewrites `v` into what the `amf` crate can represent: it rejects negative,
/// fractional and non-finite dates, AMF0 "unsupported", externalizable objects
/// and (AMF3) dynamic objects' flag, so those are replaced by near values.
pub(crate) fn oracle_safe(v: &AmfValue) -> AmfValue {
    let map = |items: &[AmfValue]| items.iter().map(oracle_safe).collect::<Vec<_>>();
    match v {
        AmfValue::Date(d) => AmfValue::Date(AmfDate {
            millis: if d.millis.is_finite() {
                d.millis.abs().trunc().min(1e15)
            } else {
                0.0
            },
            timezone_minutes: d.timezone_minutes,
        }),
        AmfValue::Unsupported => AmfValue::Undefined,
        AmfValue::StrictArray(x) => AmfValue::strict_array(map(x)),
        AmfValue::EcmaArray(a) => AmfValue::EcmaArray(Arc::new(EcmaArray {
            dense: map(&a.dense),
            assoc: a
                .assoc
                .iter()
                .map(|(k, v)| (k.clone(), oracle_safe(v)))
                .collect(),
        })),
        AmfValue::Object(o) => match &o.external {
            Some(payload) => oracle_safe(payload),
            None => AmfValue::Object(Arc::new(AmfObject {
                members: o
                    .members
                    .iter()
                    .map(|(k, v)| (k.clone(), oracle_safe(v)))
                    .collect(),
                ..(**o).clone()
            })),
        },
        AmfValue::VectorObject(x) => AmfValue::VectorObject(Arc::new(ObjectVector {
            items: map(&x.items),
            ..(**x).clone()
        })),
        AmfValue::Dictionary(d) => AmfValue::Dictionary(Arc::new(Dictionary {
            weak_keys: d.weak_keys,
            entries: d
                .entries
                .iter()
                .map(|(k, v)| (oracle_safe(k), oracle_safe(v)))
                .collect(),
        })),
        other => other.clone(),
    }
}

/// What an AMF3 roundtrip of `v` yields, per the documented mappings.
pub(crate) fn amf3_canonical(v: &AmfValue) -> AmfValue {
    let map = |items: &[AmfValue]| items.iter().map(amf3_canonical).collect::<Vec<_>>();
    match v {
        AmfValue::Unsupported => AmfValue::Undefined,
        AmfValue::Integer(i) if !(-(1 << 28)..(1 << 28)).contains(i) => {
            AmfValue::Number(f64::from(*i))
        }
        AmfValue::Date(d) => AmfValue::Date(AmfDate {
            millis: d.millis,
            timezone_minutes: 0,
        }),
        AmfValue::StrictArray(x) => AmfValue::strict_array(map(x)),
        AmfValue::EcmaArray(a) if a.assoc.iter().all(|(k, _)| k.is_empty()) => {
            AmfValue::strict_array(map(&a.dense))
        }
        AmfValue::EcmaArray(a) => AmfValue::EcmaArray(Arc::new(EcmaArray {
            dense: map(&a.dense),
            assoc: a
                .assoc
                .iter()
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.clone(), amf3_canonical(v)))
                .collect(),
        })),
        AmfValue::Object(o) => {
            let class_name = o.class_name.clone().filter(|c| !c.is_empty());
            AmfValue::Object(Arc::new(match &o.external {
                Some(payload) => AmfObject {
                    class_name,
                    external: Some(amf3_canonical(payload)),
                    ..AmfObject::default()
                },
                None => {
                    let sealed_count = o.sealed_count.min(o.members.len());
                    AmfObject {
                        class_name,
                        members: o
                            .members
                            .iter()
                            .enumerate()
                            .filter(|(i, (k, _))| *i < sealed_count || !k.is_empty())
                            .map(|(_, (k, v))| (k.clone(), amf3_canonical(v)))
                            .collect(),
                        sealed_count,
                        dynamic: o.dynamic || o.members.len() > sealed_count,
                        external: None,
                    }
                }
            }))
        }
        AmfValue::VectorObject(x) => AmfValue::VectorObject(Arc::new(ObjectVector {
            items: map(&x.items),
            ..(**x).clone()
        })),
        AmfValue::Dictionary(d) => AmfValue::Dictionary(Arc::new(Dictionary {
            weak_keys: d.weak_keys,
            entries: d
                .entries
                .iter()
                .map(|(k, v)| (amf3_canonical(k), amf3_canonical(v)))
                .collect(),
        })),
        other => other.clone(),
    }
}

/// The `amf` crate does not report an object's dynamic flag; compare with
/// the flag it infers (members past the sealed ones).
pub(crate) fn infer_dynamic(v: &AmfValue) -> AmfValue {
    let map = |items: &[AmfValue]| items.iter().map(infer_dynamic).collect::<Vec<_>>();
    match v {
        AmfValue::StrictArray(x) => AmfValue::strict_array(map(x)),
        AmfValue::EcmaArray(a) => AmfValue::EcmaArray(Arc::new(EcmaArray {
            dense: map(&a.dense),
            assoc: a
                .assoc
                .iter()
                .map(|(k, v)| (k.clone(), infer_dynamic(v)))
                .collect(),
        })),
        AmfValue::Object(o) => AmfValue::Object(Arc::new(AmfObject {
            members: o
                .members
                .iter()
                .map(|(k, v)| (k.clone(), infer_dynamic(v)))
                .collect(),
            dynamic: o.members.len() > o.sealed_count,
            ..(**o).clone()
        })),
        AmfValue::VectorObject(x) => AmfValue::VectorObject(Arc::new(ObjectVector {
            items: map(&x.items),
            ..(**x).clone()
        })),
        AmfValue::Dictionary(d) => AmfValue::Dictionary(Arc::new(Dictionary {
            weak_keys: d.weak_keys,
            entries: d
                .entries
                .iter()
                .map(|(k, v)| (infer_dynamic(k), infer_dynamic(v)))
                .collect(),
        })),
        other => other.clone(),
    }
}

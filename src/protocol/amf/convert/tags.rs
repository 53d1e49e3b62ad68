//! Tagged forms: how a JSON object stands for an AMF-only type.
//!
//! A JSON object is a tagged form exactly when it is non-empty, every key starts
//! with `$`, and at least one key is a reserved name ([`is_tag_shape`]). This file
//! reads such objects back into values; `value_serde` writes them. The table of
//! forms is in `docs/protocol/amf-serde.md`.

use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;

use super::base64;
use super::error::{tag_error, ConvertError};
use crate::protocol::amf::{
    AmfDate, AmfObject, AmfValue, AmfVector, Dictionary, EcmaArray, ObjectVector,
};

const I32_MIN: i64 = i32::MIN as i64;
const I32_MAX: i64 = i32::MAX as i64;

/// Tag names that stand for a value.
const TAGS: [&str; 15] = [
    "$undefined",
    "$unsupported",
    "$int",
    "$number",
    "$date",
    "$xml",
    "$xmldocument",
    "$bytes",
    "$ecma",
    "$object",
    "$vector_int",
    "$vector_uint",
    "$vector_double",
    "$vector_object",
    "$dictionary",
];

/// Tag names that qualify a value tag.
const MODIFIERS: [&str; 9] = [
    "$tz",
    "$dense",
    "$class",
    "$sealed",
    "$dynamic",
    "$external",
    "$fixed",
    "$type",
    "$weak",
];

fn modifiers_of(tag: &str) -> &'static [&'static str] {
    match tag {
        "$date" => &["$tz"],
        "$ecma" => &["$dense"],
        "$object" => &["$class", "$sealed", "$dynamic", "$external"],
        "$vector_int" | "$vector_uint" | "$vector_double" => &["$fixed"],
        "$vector_object" => &["$fixed", "$type"],
        "$dictionary" => &["$weak"],
        _ => &[],
    }
}

fn is_reserved(key: &str) -> bool {
    TAGS.contains(&key) || MODIFIERS.contains(&key)
}

/// Whether an object with these keys is read as a tagged form.
pub(crate) fn is_tag_shape<'k>(mut keys: impl Iterator<Item = &'k str> + Clone) -> bool {
    let mut probe = keys.clone();
    probe.next().is_some() && keys.clone().all(|k| k.starts_with('$')) && keys.any(is_reserved)
}

/// Whether `object` is written as a bare JSON object (anonymous, default traits,
/// and not mistakable for a tagged form).
pub(crate) fn is_plain_object(object: &AmfObject) -> bool {
    object.class_name.is_none()
        && object.sealed_count == 0
        && object.dynamic
        && object.external.is_none()
        && !is_tag_shape(object.members.iter().map(|(k, _)| &**k))
}

/// A value whose JSON objects are not yet interpreted: the payload of
/// `$object`/`$ecma` is a member map even when it looks like a tagged form.
#[derive(Debug)]
pub(crate) enum Node {
    /// Anything but an object, already converted.
    Value(AmfValue),
    /// An object, members in order.
    Map(Vec<(ByteString, Node)>),
}

impl Node {
    pub(crate) fn into_value(self) -> Result<AmfValue, ConvertError> {
        match self {
            Self::Value(v) => Ok(v),
            Self::Map(entries) => interpret(entries),
        }
    }
}

/// Reads a tagged form back from an `AmfValue` built by
/// [`ValueSerializer`](super::ser::ValueSerializer) from an `AmfValue`'s own
/// `Serialize` output.
pub(crate) fn untag_value(value: AmfValue) -> Result<AmfValue, ConvertError> {
    match value {
        AmfValue::Object(object) if object.class_name.is_none() => {
            let object = Arc::unwrap_or_clone(object);
            let entries = object.members.into_iter().map(|(k, v)| (k, Node::Value(v)));
            interpret(entries.collect())
        }
        other => Ok(other),
    }
}

/// Interprets a JSON object: a tagged form or an anonymous object.
fn interpret(entries: Vec<(ByteString, Node)>) -> Result<AmfValue, ConvertError> {
    if is_tag_shape(entries.iter().map(|(k, _)| &**k)) {
        return parse_tag(entries);
    }
    let members = entries
        .into_iter()
        .map(|(k, node)| node.into_value().map(|v| (k, v)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AmfValue::object(members))
}

fn parse_tag(entries: Vec<(ByteString, Node)>) -> Result<AmfValue, ConvertError> {
    let mut primary: Option<(&'static str, Node)> = None;
    let mut mods: Vec<(&'static str, Node)> = Vec::new();
    for (key, node) in entries {
        if let Some(tag) = TAGS.iter().find(|t| **t == &*key) {
            if primary.is_some() {
                return Err(tag_error(tag, "a value carries exactly one tag"));
            }
            primary = Some((tag, node));
        } else if let Some(name) = MODIFIERS.iter().find(|m| **m == &*key) {
            if mods.iter().any(|(m, _)| m == name) {
                return Err(tag_error(name, "given twice"));
            }
            mods.push((name, node));
        } else {
            return Err(tag_error(
                &key,
                "unknown key beside reserved tag names (write such an object as {\"$object\": {...}})",
            ));
        }
    }
    let Some((tag, payload)) = primary else {
        let name = mods.first().map_or("", |(m, _)| m);
        return Err(tag_error(name, "a modifier needs a tag beside it"));
    };
    if let Some((name, _)) = mods.iter().find(|(m, _)| !modifiers_of(tag).contains(m)) {
        return Err(tag_error(
            &format!("{name} with {tag}"),
            "modifier not allowed with this tag",
        ));
    }
    let mut mods = Modifiers(mods);
    let value = match tag {
        "$undefined" | "$unsupported" => {
            if !matches!(payload.into_value()?, AmfValue::Null) {
                return Err(tag_error(tag, "payload must be null"));
            }
            if tag == "$undefined" {
                AmfValue::Undefined
            } else {
                AmfValue::Unsupported
            }
        }
        "$int" => {
            AmfValue::Integer(integer_in(tag, &payload.into_value()?, I32_MIN, I32_MAX)? as i32)
        }
        "$number" => AmfValue::Number(extended_number(tag, &payload.into_value()?)?),
        "$date" => AmfValue::Date(AmfDate {
            millis: extended_number(tag, &payload.into_value()?)?,
            timezone_minutes: match mods.take("$tz")? {
                Some(tz) => integer_in("$tz", &tz, i16::MIN.into(), i16::MAX.into())? as i16,
                None => 0,
            },
        }),
        "$xml" => AmfValue::Xml(string(tag, payload.into_value()?)?),
        "$xmldocument" => AmfValue::XmlDocument(string(tag, payload.into_value()?)?),
        "$bytes" => AmfValue::ByteArray(match payload.into_value()? {
            AmfValue::ByteArray(bytes) => bytes,
            AmfValue::String(text) => base64::decode(&text)
                .map(Bytes::from)
                .ok_or_else(|| tag_error(tag, "payload is not canonical padded base64"))?,
            _ => return Err(tag_error(tag, "payload must be a base64 string")),
        }),
        "$ecma" => AmfValue::EcmaArray(Arc::new(EcmaArray {
            assoc: members(tag, payload)?,
            dense: match mods.take("$dense")? {
                Some(dense) => array("$dense", dense)?,
                None => Vec::new(),
            },
        })),
        "$object" => object(payload, &mut mods)?,
        "$vector_int" => AmfValue::VectorInt(Arc::new(AmfVector {
            items: array(tag, payload.into_value()?)?
                .iter()
                .map(|v| integer_in(tag, v, I32_MIN, I32_MAX).map(|n| n as i32))
                .collect::<Result<_, _>>()?,
            fixed: mods.flag("$fixed", false)?,
        })),
        "$vector_uint" => AmfValue::VectorUint(Arc::new(AmfVector {
            items: array(tag, payload.into_value()?)?
                .iter()
                .map(|v| integer_in(tag, v, 0, u32::MAX.into()).map(|n| n as u32))
                .collect::<Result<_, _>>()?,
            fixed: mods.flag("$fixed", false)?,
        })),
        "$vector_double" => AmfValue::VectorDouble(Arc::new(AmfVector {
            items: array(tag, payload.into_value()?)?
                .iter()
                .map(|v| extended_number(tag, v))
                .collect::<Result<_, _>>()?,
            fixed: mods.flag("$fixed", false)?,
        })),
        "$vector_object" => AmfValue::VectorObject(Arc::new(ObjectVector {
            items: array(tag, payload.into_value()?)?,
            type_name: match mods.take("$type")? {
                Some(name) => string("$type", name)?,
                None => ByteString::new(),
            },
            fixed: mods.flag("$fixed", false)?,
        })),
        "$dictionary" => AmfValue::Dictionary(Arc::new(Dictionary {
            entries: array(tag, payload.into_value()?)?
                .into_iter()
                .map(|pair| match pair {
                    AmfValue::StrictArray(pair) if pair.len() == 2 => {
                        let mut pair = Arc::unwrap_or_clone(pair).into_iter();
                        match (pair.next(), pair.next()) {
                            (Some(k), Some(v)) => Ok((k, v)),
                            _ => Err(tag_error(tag, "entries must be [key, value] pairs")),
                        }
                    }
                    _ => Err(tag_error(tag, "entries must be [key, value] pairs")),
                })
                .collect::<Result<_, _>>()?,
            weak_keys: mods.flag("$weak", false)?,
        })),
        _ => return Err(tag_error(tag, "unknown tag")),
    };
    Ok(value)
}

fn object(payload: Node, mods: &mut Modifiers) -> Result<AmfValue, ConvertError> {
    let members = members("$object", payload)?;
    let class_name = match mods.take("$class")? {
        Some(class) => Some(string("$class", class)?),
        None => None,
    };
    let default_sealed = if class_name.is_some() {
        members.len()
    } else {
        0
    };
    let sealed_count = match mods.take("$sealed")? {
        Some(n) => integer_in("$sealed", &n, 0, members.len() as i64)? as usize,
        None => default_sealed,
    };
    let dynamic = mods.flag("$dynamic", class_name.is_none())?;
    let external = mods.take("$external")?;
    Ok(AmfValue::Object(Arc::new(AmfObject {
        class_name,
        members,
        sealed_count,
        dynamic,
        external,
    })))
}

/// The modifiers of one tagged form, taken one by one.
struct Modifiers(Vec<(&'static str, Node)>);

impl Modifiers {
    fn take(&mut self, name: &str) -> Result<Option<AmfValue>, ConvertError> {
        match self.0.iter().position(|(m, _)| *m == name) {
            Some(index) => self.0.swap_remove(index).1.into_value().map(Some),
            None => Ok(None),
        }
    }

    fn flag(&mut self, name: &'static str, default: bool) -> Result<bool, ConvertError> {
        match self.take(name)? {
            Some(AmfValue::Boolean(b)) => Ok(b),
            Some(_) => Err(tag_error(name, "must be true or false")),
            None => Ok(default),
        }
    }
}

fn members(tag: &str, payload: Node) -> Result<Vec<(ByteString, AmfValue)>, ConvertError> {
    match payload {
        Node::Map(entries) => entries
            .into_iter()
            .map(|(k, node)| node.into_value().map(|v| (k, v)))
            .collect(),
        // From `to_value`: the member map arrives already built.
        Node::Value(AmfValue::Object(object)) if object.class_name.is_none() => {
            Ok(Arc::unwrap_or_clone(object).members)
        }
        Node::Value(_) => Err(tag_error(tag, "payload must be an object of members")),
    }
}

fn array(tag: &str, value: AmfValue) -> Result<Vec<AmfValue>, ConvertError> {
    match value {
        AmfValue::StrictArray(items) => Ok(Arc::unwrap_or_clone(items)),
        _ => Err(tag_error(tag, "payload must be an array")),
    }
}

fn string(tag: &str, value: AmfValue) -> Result<ByteString, ConvertError> {
    match value {
        AmfValue::String(s) => Ok(s),
        _ => Err(tag_error(tag, "payload must be a string")),
    }
}

fn extended_number(tag: &str, value: &AmfValue) -> Result<f64, ConvertError> {
    match value {
        AmfValue::Number(n) => Ok(*n),
        AmfValue::Integer(i) => Ok(f64::from(*i)),
        AmfValue::String(s) => match &**s {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(tag_error(tag, "string must be NaN, Infinity or -Infinity")),
        },
        _ => Err(tag_error(tag, "payload must be a number")),
    }
}

fn integer_in(tag: &str, value: &AmfValue, min: i64, max: i64) -> Result<i64, ConvertError> {
    let n = value
        .as_f64()
        .ok_or_else(|| tag_error(tag, "payload must be an integer"))?;
    if n.fract() != 0.0 || n < min as f64 || n > max as f64 {
        return Err(tag_error(tag, "integer out of range"));
    }
    Ok(n as i64)
}

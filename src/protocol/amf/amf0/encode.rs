//! AMF0 encoding (AMF0 spec §2), with Flash Player's reference emission.

use std::collections::HashMap;

use bytes::{BufMut, BytesMut};

use super::marker;
use crate::protocol::amf::amf3::Amf3Encoder;
use crate::protocol::amf::nesting::{enter_encode as enter, node_addr as addr};
use crate::protocol::amf::{AmfError, AmfValue};

/// Encodes AMF0 values into one message; holds the message's reference table.
///
/// Use one encoder per message. When the same container node
/// ([`Arc::ptr_eq`](std::sync::Arc::ptr_eq)) is written a second time in the message, a reference
/// (0x07) to its first occurrence is written instead, as Flash Player does.
#[derive(Debug, Default)]
pub struct Amf0Encoder {
    /// Reference-table slots used so far: mirrors the decoder's table, which
    /// also counts containers that have no identity here (a ByteArray written
    /// as a strict array).
    slots: usize,
    /// Address of each container written so far → its slot.
    seen: HashMap<usize, usize>,
    /// Clones of the containers in `seen`: while the encoder lives, no new
    /// allocation can reuse one of those addresses and be mistaken for it.
    keep_alive: Vec<AmfValue>,
    /// The AMF3 encoder behind [`encode_avmplus`](Self::encode_avmplus); its
    /// tables persist across switches in one message, as the decoder's do.
    amf3: Option<Amf3Encoder>,
}

impl Amf0Encoder {
    /// An encoder with empty reference tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `value` to `dst`.
    ///
    /// AMF3-only values are mapped as [`AmfValue`] documents: `Integer` → number,
    /// `Xml` → XML document, `ByteArray` and vectors → strict array,
    /// `Dictionary` → ECMA array with stringified keys; an externalizable object
    /// is written as its payload (an `ArrayCollection` as its source array).
    ///
    /// # Errors
    /// [`AmfError::Unencodable`] when the value cannot be represented (a name
    /// longer than 65535 bytes, more than 2^32-1 elements, nesting deeper than 256). `dst` and the reference table are
    /// then left as they were before the call.
    pub fn encode(&mut self, value: &AmfValue, dst: &mut BytesMut) -> Result<(), AmfError> {
        let mark = (dst.len(), self.slots, self.keep_alive.len());
        let result = self.write(value, dst, 0);
        if result.is_err() {
            dst.truncate(mark.0);
            self.slots = mark.1;
            self.seen.retain(|_, slot| *slot < mark.1);
            self.keep_alive.truncate(mark.2);
        }
        result
    }

    /// Appends the AVM+ marker (0x11) followed by the AMF3 encoding of `value`:
    /// how a server answers an AMF3 client inside type-17/15 messages.
    ///
    /// # Errors
    /// [`AmfError::Unencodable`], as for the AMF3 encoder; `dst` is then left
    /// as it was.
    pub fn encode_avmplus(&mut self, value: &AmfValue, dst: &mut BytesMut) -> Result<(), AmfError> {
        let start = dst.len();
        dst.put_u8(marker::AVMPLUS);
        let result = self
            .amf3
            .get_or_insert_with(Amf3Encoder::new)
            .encode(value, dst);
        if result.is_err() {
            dst.truncate(start);
        }
        result
    }

    fn write(
        &mut self,
        value: &AmfValue,
        dst: &mut BytesMut,
        depth: usize,
    ) -> Result<(), AmfError> {
        match value {
            AmfValue::Undefined => dst.put_u8(marker::UNDEFINED),
            AmfValue::Null => dst.put_u8(marker::NULL),
            AmfValue::Unsupported => dst.put_u8(marker::UNSUPPORTED),
            AmfValue::Boolean(b) => {
                dst.put_u8(marker::BOOLEAN);
                dst.put_u8(u8::from(*b));
            }
            AmfValue::Integer(i) => write_number(f64::from(*i), dst),
            AmfValue::Number(n) => write_number(*n, dst),
            AmfValue::String(s) => {
                if let Ok(len) = u16::try_from(s.len()) {
                    dst.put_u8(marker::STRING);
                    dst.put_u16(len);
                    dst.put_slice(s.as_bytes());
                } else {
                    dst.put_u8(marker::LONG_STRING);
                    write_long_utf8(s, dst)?;
                }
            }
            AmfValue::Date(d) => {
                dst.put_u8(marker::DATE);
                dst.put_f64(d.millis);
                dst.put_i16(d.timezone_minutes);
            }
            AmfValue::XmlDocument(s) | AmfValue::Xml(s) => {
                dst.put_u8(marker::XML_DOCUMENT);
                write_long_utf8(s, dst)?;
            }
            AmfValue::ByteArray(bytes) => {
                enter(depth)?;
                self.slots += 1;
                strict_header(bytes.len(), dst)?;
                bytes.iter().for_each(|b| write_number(f64::from(*b), dst));
            }
            AmfValue::StrictArray(items) => {
                let depth = enter(depth)?;
                if self.reference(addr(items), value, dst) {
                    return Ok(());
                }
                strict_header(items.len(), dst)?;
                for item in items.iter() {
                    self.write(item, dst, depth)?;
                }
            }
            AmfValue::EcmaArray(array) => {
                let depth = enter(depth)?;
                if self.reference(addr(array), value, dst) {
                    return Ok(());
                }
                ecma_header(array.dense.len().saturating_add(array.assoc.len()), dst)?;
                for (i, item) in array.dense.iter().enumerate() {
                    write_name(&i.to_string(), dst)?;
                    self.write(item, dst, depth)?;
                }
                for (name, item) in &array.assoc {
                    write_name(name, dst)?;
                    self.write(item, dst, depth)?;
                }
                write_object_end(dst);
            }
            AmfValue::Object(object) => {
                if let Some(payload) = &object.external {
                    // AMF0 has no externalizable objects: the payload is the
                    // value (an ArrayCollection's source array, an ObjectProxy's
                    // object).
                    return self.write(payload, dst, enter(depth)?);
                }
                let depth = enter(depth)?;
                if self.reference(addr(object), value, dst) {
                    return Ok(());
                }
                match &object.class_name {
                    Some(class) => {
                        dst.put_u8(marker::TYPED_OBJECT);
                        write_utf8(class, "AMF0 class name longer than 65535 bytes", dst)?;
                    }
                    None => dst.put_u8(marker::OBJECT),
                }
                for (name, item) in &object.members {
                    write_name(name, dst)?;
                    self.write(item, dst, depth)?;
                }
                write_object_end(dst);
            }
            AmfValue::VectorInt(v) => self.number_list(
                addr(v),
                value,
                v.items.iter().map(|n| f64::from(*n)),
                dst,
                depth,
            )?,
            AmfValue::VectorUint(v) => self.number_list(
                addr(v),
                value,
                v.items.iter().map(|n| f64::from(*n)),
                dst,
                depth,
            )?,
            AmfValue::VectorDouble(v) => {
                self.number_list(addr(v), value, v.items.iter().copied(), dst, depth)?
            }
            AmfValue::VectorObject(v) => {
                let depth = enter(depth)?;
                if self.reference(addr(v), value, dst) {
                    return Ok(());
                }
                strict_header(v.items.len(), dst)?;
                for item in &v.items {
                    self.write(item, dst, depth)?;
                }
            }
            AmfValue::Dictionary(dict) => {
                let depth = enter(depth)?;
                if self.reference(addr(dict), value, dst) {
                    return Ok(());
                }
                ecma_header(dict.entries.len(), dst)?;
                for (key, item) in &dict.entries {
                    write_name(&key_string(key), dst)?;
                    self.write(item, dst, depth)?;
                }
                write_object_end(dst);
            }
        }
        Ok(())
    }

    /// A vector of numbers, written as a strict array of numbers.
    fn number_list(
        &mut self,
        key: usize,
        value: &AmfValue,
        numbers: impl ExactSizeIterator<Item = f64>,
        dst: &mut BytesMut,
        depth: usize,
    ) -> Result<(), AmfError> {
        enter(depth)?;
        if self.reference(key, value, dst) {
            return Ok(());
        }
        strict_header(numbers.len(), dst)?;
        numbers.for_each(|n| write_number(n, dst));
        Ok(())
    }

    /// Writes a reference if the container at `key` was written before in this
    /// message and returns `true`; otherwise takes its table slot (it is about
    /// to be written) and returns `false`.
    fn reference(&mut self, key: usize, value: &AmfValue, dst: &mut BytesMut) -> bool {
        if let Some(index) = self.seen.get(&key).and_then(|i| u16::try_from(*i).ok()) {
            dst.put_u8(marker::REFERENCE);
            dst.put_u16(index);
            return true;
        }
        let slot = self.slots;
        self.slots += 1;
        // A slot past 65535 cannot be referenced (16-bit index): not remembered.
        if slot <= usize::from(u16::MAX) {
            self.seen.insert(key, slot);
            self.keep_alive.push(value.clone());
        }
        false
    }
}

fn write_number(n: f64, dst: &mut BytesMut) {
    dst.put_u8(marker::NUMBER);
    dst.put_f64(n);
}

fn strict_header(len: usize, dst: &mut BytesMut) -> Result<(), AmfError> {
    let len = u32::try_from(len).map_err(|_| AmfError::Unencodable {
        reason: "AMF0 strict array longer than 2^32-1 elements",
    })?;
    dst.put_u8(marker::STRICT_ARRAY);
    dst.put_u32(len);
    Ok(())
}

fn ecma_header(len: usize, dst: &mut BytesMut) -> Result<(), AmfError> {
    dst.put_u8(marker::ECMA_ARRAY);
    // Only a hint to readers (spec §2.10); saturate rather than fail.
    dst.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
    Ok(())
}

fn write_utf8(s: &str, too_long: &'static str, dst: &mut BytesMut) -> Result<(), AmfError> {
    let len = u16::try_from(s.len()).map_err(|_| AmfError::Unencodable { reason: too_long })?;
    dst.put_u16(len);
    dst.put_slice(s.as_bytes());
    Ok(())
}

fn write_long_utf8(s: &str, dst: &mut BytesMut) -> Result<(), AmfError> {
    let len = u32::try_from(s.len()).map_err(|_| AmfError::Unencodable {
        reason: "AMF0 long string longer than 2^32-1 bytes",
    })?;
    dst.put_u32(len);
    dst.put_slice(s.as_bytes());
    Ok(())
}

/// A member name. An empty name is allowed: the object end is an empty name
/// *followed by 0x09*, and every decoder we know of (BlazeDS, the `amf` crate,
/// ours) reads an empty name followed by a value as a member, as
/// ActionScript's `o[""]` needs.
fn write_name(name: &str, dst: &mut BytesMut) -> Result<(), AmfError> {
    write_utf8(name, "AMF0 member name longer than 65535 bytes", dst)
}

fn write_object_end(dst: &mut BytesMut) {
    dst.put_u16(0);
    dst.put_u8(marker::OBJECT_END);
}

/// The ECMA-array key for a Dictionary key: an approximation of ActionScript's
/// `String(key)` (lossy: distinct keys may collide).
pub(in crate::protocol::amf) fn key_string(key: &AmfValue) -> String {
    match key {
        AmfValue::String(s) | AmfValue::Xml(s) | AmfValue::XmlDocument(s) => s.to_string(),
        AmfValue::Integer(i) => i.to_string(),
        AmfValue::Number(n) => number_string(*n),
        AmfValue::Date(d) => number_string(d.millis),
        AmfValue::Boolean(b) => b.to_string(),
        AmfValue::Null => "null".to_owned(),
        AmfValue::Undefined | AmfValue::Unsupported => "undefined".to_owned(),
        AmfValue::Object(o) => match &o.class_name {
            Some(class) => format!("[object {class}]"),
            None => "[object Object]".to_owned(),
        },
        other => format!("[object {}]", other.type_name()),
    }
}

/// ActionScript's `String(n)` for the common cases.
fn number_string(n: f64) -> String {
    if n.is_nan() {
        "NaN".to_owned()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else if n == 0.0 {
        "0".to_owned()
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_keys_stringify_like_actionscript() {
        assert_eq!(key_string(&AmfValue::Number(1.0)), "1");
        assert_eq!(key_string(&AmfValue::Number(-0.0)), "0");
        assert_eq!(key_string(&AmfValue::Number(0.5)), "0.5");
        assert_eq!(key_string(&AmfValue::Number(f64::NAN)), "NaN");
        assert_eq!(key_string(&AmfValue::Integer(-3)), "-3");
        assert_eq!(key_string(&AmfValue::Boolean(true)), "true");
        assert_eq!(
            key_string(&AmfValue::object([("a", AmfValue::Null)])),
            "[object Object]"
        );
    }
}

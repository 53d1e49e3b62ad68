//! AMF3 encoding (AMF3 spec §3), with Flash Player's reference emission.

use std::collections::HashMap;

use bytes::{BufMut, BytesMut};
use bytestring::ByteString;

use super::{marker, INT_MAX, INT_MIN, U28_MAX, U29_MAX};
use crate::protocol::amf::nesting::{enter_encode as enter, node_addr as addr};
use crate::protocol::amf::{AmfError, AmfObject, AmfValue};

/// Encodes AMF3 values into one message; holds the message's reference tables.
///
/// Use one encoder per message. References are emitted as Flash Player does:
/// a non-empty string already written is referenced by value; traits by
/// (class name, sealed member names, dynamic, externalizable); containers
/// (arrays, objects, vectors, dictionaries) by identity ([`Arc::ptr_eq`](std::sync::Arc::ptr_eq)).
/// Dates, XML and ByteArrays have no identity in the model, so they are always
/// written inline (they still take their object-table slot).
#[derive(Debug, Default)]
pub struct Amf3Encoder {
    /// Index of each non-empty string written inline.
    strings: HashMap<ByteString, usize>,
    string_count: usize,
    /// Index of each traits written inline.
    traits: HashMap<TraitsKey, usize>,
    trait_count: usize,
    /// Address of each container written → its object-table index.
    objects: HashMap<usize, usize>,
    /// Object-table slots used so far (mirrors the decoder's table).
    object_count: usize,
    /// Clones of the containers in `objects`, so that no new allocation can
    /// reuse one of their addresses while the encoder lives.
    keep_alive: Vec<AmfValue>,
}

/// What makes two traits the same (spec §3.12).
#[derive(Debug, PartialEq, Eq, Hash)]
struct TraitsKey {
    class_name: ByteString,
    sealed: Vec<ByteString>,
    dynamic: bool,
    externalizable: bool,
}

impl Amf3Encoder {
    /// An encoder with empty reference tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `value` to `dst`.
    ///
    /// AMF0-only and model-only cases: `Unsupported` → undefined; an `Integer`
    /// outside -2^28..2^28-1 → double; a date's time-zone is dropped; an object
    /// with members past `sealed_count` is written as dynamic; dynamic members
    /// and associative entries with an empty name are dropped.
    ///
    /// # Errors
    /// [`AmfError::Unencodable`] when the value cannot be represented (a string
    /// or byte array longer than 2^28-1 bytes, an externalizable object
    /// without a class name,
    /// nesting deeper than 256). `dst` and the tables are then left as they
    /// were before the call.
    pub fn encode(&mut self, value: &AmfValue, dst: &mut BytesMut) -> Result<(), AmfError> {
        let mark = (
            dst.len(),
            self.string_count,
            self.trait_count,
            self.object_count,
            self.keep_alive.len(),
        );
        let result = self.write(value, dst, 0);
        if result.is_err() {
            dst.truncate(mark.0);
            self.string_count = mark.1;
            self.strings.retain(|_, i| *i < mark.1);
            self.trait_count = mark.2;
            self.traits.retain(|_, i| *i < mark.2);
            self.object_count = mark.3;
            self.objects.retain(|_, i| *i < mark.3);
            self.keep_alive.truncate(mark.4);
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
            AmfValue::Undefined | AmfValue::Unsupported => dst.put_u8(marker::UNDEFINED),
            AmfValue::Null => dst.put_u8(marker::NULL),
            AmfValue::Boolean(false) => dst.put_u8(marker::FALSE),
            AmfValue::Boolean(true) => dst.put_u8(marker::TRUE),
            AmfValue::Integer(i) if (INT_MIN..=INT_MAX).contains(i) => {
                dst.put_u8(marker::INTEGER);
                // Two's complement truncated to 29 bits (spec §3.6).
                put_u29(dst, (*i as u32) & U29_MAX);
            }
            AmfValue::Integer(i) => {
                dst.put_u8(marker::DOUBLE);
                dst.put_f64(f64::from(*i));
            }
            AmfValue::Number(n) => {
                dst.put_u8(marker::DOUBLE);
                dst.put_f64(*n);
            }
            AmfValue::String(s) => {
                dst.put_u8(marker::STRING);
                self.string(s, dst)?;
            }
            AmfValue::XmlDocument(s) => self.inline_bytes(marker::XML_DOC, s.as_bytes(), dst)?,
            AmfValue::Xml(s) => self.inline_bytes(marker::XML, s.as_bytes(), dst)?,
            AmfValue::ByteArray(b) => self.inline_bytes(marker::BYTE_ARRAY, b, dst)?,
            AmfValue::Date(d) => {
                dst.put_u8(marker::DATE);
                self.object_count += 1;
                put_u29(dst, 1);
                dst.put_f64(d.millis);
            }
            AmfValue::StrictArray(items) => {
                dst.put_u8(marker::ARRAY);
                let depth = enter(depth)?;
                if self.reference(addr(items), value, dst) {
                    return Ok(());
                }
                put_u29(
                    dst,
                    inline_len(items.len(), "AMF3 array longer than 2^28-1 elements")?,
                );
                put_u29(dst, 1); // no associative part
                for item in items.iter() {
                    self.write(item, dst, depth)?;
                }
            }
            AmfValue::EcmaArray(array) => {
                dst.put_u8(marker::ARRAY);
                let depth = enter(depth)?;
                if self.reference(addr(array), value, dst) {
                    return Ok(());
                }
                put_u29(
                    dst,
                    inline_len(array.dense.len(), "AMF3 array longer than 2^28-1 elements")?,
                );
                self.dynamic_members(&array.assoc, dst, depth)?;
                for item in &array.dense {
                    self.write(item, dst, depth)?;
                }
            }
            AmfValue::Object(object) => {
                dst.put_u8(marker::OBJECT);
                let depth = enter(depth)?;
                if self.reference(addr(object), value, dst) {
                    return Ok(());
                }
                self.object(object, dst, depth)?;
            }
            AmfValue::VectorInt(v) => {
                dst.put_u8(marker::VECTOR_INT);
                if !self.vector_header(addr(v), value, v.items.len(), v.fixed, dst, depth)? {
                    v.items.iter().for_each(|n| dst.put_i32(*n));
                }
            }
            AmfValue::VectorUint(v) => {
                dst.put_u8(marker::VECTOR_UINT);
                if !self.vector_header(addr(v), value, v.items.len(), v.fixed, dst, depth)? {
                    v.items.iter().for_each(|n| dst.put_u32(*n));
                }
            }
            AmfValue::VectorDouble(v) => {
                dst.put_u8(marker::VECTOR_DOUBLE);
                if !self.vector_header(addr(v), value, v.items.len(), v.fixed, dst, depth)? {
                    v.items.iter().for_each(|n| dst.put_f64(*n));
                }
            }
            AmfValue::VectorObject(v) => {
                dst.put_u8(marker::VECTOR_OBJECT);
                if !self.vector_header(addr(v), value, v.items.len(), v.fixed, dst, depth)? {
                    self.string(&v.type_name, dst)?;
                    for item in &v.items {
                        self.write(item, dst, depth + 1)?;
                    }
                }
            }
            AmfValue::Dictionary(d) => {
                dst.put_u8(marker::DICTIONARY);
                if !self.vector_header(addr(d), value, d.entries.len(), d.weak_keys, dst, depth)? {
                    for (key, item) in &d.entries {
                        self.write(key, dst, depth + 1)?;
                        self.write(item, dst, depth + 1)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes a reference and returns `true` if the container at `key` was
    /// written before in this message; otherwise takes its object-table slot
    /// (it is about to be written) and returns `false`.
    fn reference(&mut self, key: usize, value: &AmfValue, dst: &mut BytesMut) -> bool {
        if let Some(index) = self.objects.get(&key) {
            put_u29(dst, (*index as u32) << 1);
            return true;
        }
        let slot = self.object_count;
        self.object_count += 1;
        if slot <= U28_MAX {
            self.objects.insert(key, slot);
            self.keep_alive.push(value.clone());
        }
        false
    }

    /// The header shared by vectors and dictionaries: a reference (returns
    /// `true`, nothing more to write) or count + fixed/weak flag.
    fn vector_header(
        &mut self,
        key: usize,
        value: &AmfValue,
        len: usize,
        flag: bool,
        dst: &mut BytesMut,
        depth: usize,
    ) -> Result<bool, AmfError> {
        enter(depth)?;
        if self.reference(key, value, dst) {
            return Ok(true);
        }
        put_u29(
            dst,
            inline_len(len, "AMF3 vector or dictionary longer than 2^28-1 elements")?,
        );
        dst.put_u8(u8::from(flag));
        Ok(false)
    }

    /// XML, XMLDocument, ByteArray: marker, U29 length, bytes; one object slot.
    fn inline_bytes(&mut self, m: u8, bytes: &[u8], dst: &mut BytesMut) -> Result<(), AmfError> {
        let header = inline_len(
            bytes.len(),
            "AMF3 XML or ByteArray longer than 2^28-1 bytes",
        )?;
        dst.put_u8(m);
        self.object_count += 1;
        put_u29(dst, header);
        dst.put_slice(bytes);
        Ok(())
    }

    /// A `UTF-8-vr`: the empty string inline, a known one by reference.
    fn string(&mut self, s: &ByteString, dst: &mut BytesMut) -> Result<(), AmfError> {
        if s.is_empty() {
            put_u29(dst, 1);
            return Ok(());
        }
        if let Some(index) = self.strings.get(s) {
            put_u29(dst, (*index as u32) << 1);
            return Ok(());
        }
        put_u29(
            dst,
            inline_len(s.len(), "AMF3 string longer than 2^28-1 bytes")?,
        );
        dst.put_slice(s.as_bytes());
        let index = self.string_count;
        self.string_count += 1;
        if index <= U28_MAX {
            self.strings.insert(s.clone(), index);
        }
        Ok(())
    }

    /// Name/value pairs closed by the empty name.
    ///
    /// A pair with an empty name cannot be written (it would read as the end)
    /// and is dropped: AMF0 peers do send `o[""]` members, and relaying the
    /// rest of the message beats refusing it.
    fn dynamic_members(
        &mut self,
        members: &[(ByteString, AmfValue)],
        dst: &mut BytesMut,
        depth: usize,
    ) -> Result<(), AmfError> {
        for (name, item) in members.iter().filter(|(name, _)| !name.is_empty()) {
            self.string(name, dst)?;
            self.write(item, dst, depth)?;
        }
        put_u29(dst, 1);
        Ok(())
    }

    /// Traits and members of an object whose marker and slot are written.
    fn object(&mut self, o: &AmfObject, dst: &mut BytesMut, depth: usize) -> Result<(), AmfError> {
        let class = o.class_name.clone().unwrap_or_default();
        if let Some(payload) = &o.external {
            if class.is_empty() {
                return Err(AmfError::Unencodable {
                    reason: "externalizable object without a class name",
                });
            }
            let key = TraitsKey {
                class_name: class.clone(),
                sealed: Vec::new(),
                dynamic: false,
                externalizable: true,
            };
            if !self.traits_ref(&key, dst) {
                put_u29(dst, 0b0111);
                self.string(&class, dst)?;
            }
            return self.write(payload, dst, depth);
        }
        let sealed_count = o.sealed_count.min(o.members.len());
        let (sealed, dynamic) = o.members.split_at(sealed_count);
        let is_dynamic = o.dynamic || !dynamic.is_empty();
        let key = TraitsKey {
            class_name: class.clone(),
            sealed: sealed.iter().map(|(k, _)| k.clone()).collect(),
            dynamic: is_dynamic,
            externalizable: false,
        };
        if !self.traits_ref(&key, dst) {
            let count = u32::try_from(sealed_count)
                .ok()
                .filter(|c| *c <= U29_MAX >> 4)
                .ok_or(AmfError::Unencodable {
                    reason: "AMF3 object with more than 2^25-1 sealed members",
                })?;
            put_u29(dst, (count << 4) | (u32::from(is_dynamic) << 3) | 0b011);
            self.string(&class, dst)?;
            for (name, _) in sealed {
                self.string(name, dst)?;
            }
        }
        for (_, item) in sealed {
            self.write(item, dst, depth)?;
        }
        if is_dynamic {
            self.dynamic_members(dynamic, dst, depth)?;
        }
        Ok(())
    }

    /// Writes a traits reference and returns `true` if these traits were
    /// written before; otherwise registers them (the caller writes them).
    fn traits_ref(&mut self, key: &TraitsKey, dst: &mut BytesMut) -> bool {
        if let Some(index) = self.traits.get(key) {
            put_u29(dst, ((*index as u32) << 2) | 0b01);
            return true;
        }
        let index = self.trait_count;
        self.trait_count += 1;
        if index <= (U29_MAX >> 2) as usize {
            self.traits.insert(
                TraitsKey {
                    class_name: key.class_name.clone(),
                    sealed: key.sealed.clone(),
                    dynamic: key.dynamic,
                    externalizable: key.externalizable,
                },
                index,
            );
        }
        false
    }
}

/// An inline U29 header: `len << 1 | 1`.
fn inline_len(len: usize, reason: &'static str) -> Result<u32, AmfError> {
    if len > U28_MAX {
        return Err(AmfError::Unencodable { reason });
    }
    // `len <= 2^28 - 1`, so this fits in 29 bits.
    Ok(((len as u32) << 1) | 1)
}

/// Writes a U29 (spec §1.3.1); `n` must be at most 2^29-1.
fn put_u29(dst: &mut BytesMut, n: u32) {
    let n = n & U29_MAX;
    if n < 0x80 {
        dst.put_u8(n as u8);
    } else if n < 0x4000 {
        dst.put_u8(((n >> 7) as u8) | 0x80);
        dst.put_u8((n & 0x7F) as u8);
    } else if n < 0x20_0000 {
        dst.put_u8(((n >> 14) as u8) | 0x80);
        dst.put_u8((((n >> 7) & 0x7F) as u8) | 0x80);
        dst.put_u8((n & 0x7F) as u8);
    } else {
        dst.put_u8((((n >> 22) & 0x7F) as u8) | 0x80);
        dst.put_u8((((n >> 15) & 0x7F) as u8) | 0x80);
        dst.put_u8((((n >> 8) & 0x7F) as u8) | 0x80);
        dst.put_u8((n & 0xFF) as u8);
    }
}

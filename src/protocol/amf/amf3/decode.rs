//! AMF3 decoding (AMF3 spec §3).

use std::sync::Arc;

use bytes::Bytes;
use bytestring::ByteString;

use super::externalizable::is_single_value_class;
use super::marker;
use crate::protocol::amf::amf0::wire;
use crate::protocol::amf::nesting::enter_decode;
use crate::protocol::amf::table::{ObjectTable, NUMBER_ELEMENT_COST};
use crate::protocol::amf::{
    AmfDate, AmfError, AmfObject, AmfValue, AmfVector, Dictionary, EcmaArray, ObjectVector,
};
use crate::protocol::limits::AmfLimits;

/// Decodes AMF3 values from one message; holds the message's reference tables.
///
/// Use one decoder per message: AMF3 spec §4.1, the tables "must be reset each
/// time a new context header or message is processed".
#[derive(Debug)]
pub struct Amf3Decoder {
    limits: AmfLimits,
    /// Non-empty strings sent inline, in order (spec §3.8: the empty string is
    /// never added).
    strings: Vec<ByteString>,
    /// Object traits sent inline, in order.
    traits: Vec<Arc<Traits>>,
    /// Dates, arrays, objects, XML, XMLDocuments, ByteArrays, vectors and
    /// dictionaries, in the order they *began* (a reference to one still being
    /// decoded is a cycle), with the expansion accounting.
    objects: ObjectTable,
}

/// An object's traits (spec §3.12).
#[derive(Debug)]
struct Traits {
    class_name: Option<ByteString>,
    sealed: Vec<ByteString>,
    /// Total length of the sealed names: what each object using these traits
    /// by reference copies.
    sealed_len: u64,
    dynamic: bool,
    externalizable: bool,
}

/// A U29 with its low "inline" bit split off.
enum Header {
    /// A reference: the index into the table.
    Reference(usize),
    /// An inline value: the remaining 28 bits (a length, a count or flags).
    Inline(usize),
}

impl Amf3Decoder {
    /// A decoder with empty reference tables.
    pub fn new(limits: AmfLimits) -> Self {
        Self {
            limits,
            strings: Vec::new(),
            traits: Vec::new(),
            objects: ObjectTable::new(limits),
        }
    }

    /// Expanded size of everything decoded so far (see [`ObjectTable`]).
    pub(in crate::protocol::amf) fn expanded(&self) -> u64 {
        self.objects.expanded()
    }

    /// Decodes one value from the front of `buf`, advancing it.
    ///
    /// # Errors
    /// Any [`AmfError`]: the peer sent malformed AMF3. `buf` is then left at an
    /// unspecified position and the decoder must not be reused.
    pub fn decode(&mut self, buf: &mut Bytes) -> Result<AmfValue, AmfError> {
        self.decode_nested(buf, 0)
    }

    /// Decodes one value nested `depth` containers deep (after an AVM+ switch).
    pub(in crate::protocol::amf) fn decode_nested(
        &mut self,
        buf: &mut Bytes,
        depth: usize,
    ) -> Result<AmfValue, AmfError> {
        let m = wire::u8(buf, "AMF3 type marker")?;
        self.objects.grow(1);
        Ok(match m {
            marker::UNDEFINED => AmfValue::Undefined,
            marker::NULL => AmfValue::Null,
            marker::FALSE => AmfValue::Boolean(false),
            marker::TRUE => AmfValue::Boolean(true),
            marker::INTEGER => {
                // Spec §3.6: a 29-bit two's-complement integer; sign-extend.
                let u = u29(buf)?;
                AmfValue::Integer(((u << 3) as i32) >> 3)
            }
            marker::DOUBLE => AmfValue::Number(wire::f64(buf, "AMF3 double")?),
            marker::STRING => AmfValue::String(self.string(buf)?),
            marker::XML_DOC => self.text(buf, AmfValue::XmlDocument)?,
            marker::XML => self.text(buf, AmfValue::Xml)?,
            marker::DATE => match header(buf)? {
                Header::Reference(i) => self.object_ref(i)?,
                Header::Inline(_) => {
                    let slot = self.reserve()?;
                    let millis = wire::f64(buf, "AMF3 date")?;
                    let v = AmfValue::Date(AmfDate {
                        millis,
                        timezone_minutes: 0,
                    });
                    self.complete(slot, v)
                }
            },
            marker::ARRAY => self.array(buf, depth)?,
            marker::OBJECT => self.object(buf, depth)?,
            marker::BYTE_ARRAY => match header(buf)? {
                Header::Reference(i) => self.object_ref(i)?,
                Header::Inline(len) => {
                    let slot = self.reserve()?;
                    let bytes = wire::take(buf, len, "AMF3 ByteArray length")?;
                    self.objects.grow(bytes.len() as u64 * NUMBER_ELEMENT_COST);
                    self.complete(slot, AmfValue::ByteArray(bytes))
                }
            },
            marker::VECTOR_INT => self.scalars(
                buf,
                depth,
                4,
                |b| wire::i32(b, "AMF3 Vector.<int>"),
                |v| AmfValue::VectorInt(Arc::new(v)),
            )?,
            marker::VECTOR_UINT => self.scalars(
                buf,
                depth,
                4,
                |b| wire::u32(b, "AMF3 Vector.<uint>"),
                |v| AmfValue::VectorUint(Arc::new(v)),
            )?,
            marker::VECTOR_DOUBLE => self.scalars(
                buf,
                depth,
                8,
                |b| wire::f64(b, "AMF3 Vector.<Number>"),
                |v| AmfValue::VectorDouble(Arc::new(v)),
            )?,
            marker::VECTOR_OBJECT => self.object_vector(buf, depth)?,
            marker::DICTIONARY => self.dictionary(buf, depth)?,
            _ => return Err(AmfError::UnknownAmf3Marker { marker: m }),
        })
    }

    fn enter(&self, depth: usize) -> Result<usize, AmfError> {
        enter_decode(depth, &self.limits)
    }

    fn check_table(&self, len: usize, table: &'static str) -> Result<(), AmfError> {
        if len >= self.limits.max_references {
            Err(AmfError::TooManyReferences {
                table,
                limit: self.limits.max_references,
            })
        } else {
            Ok(())
        }
    }

    /// Takes the next object-table slot for a value about to be decoded. Spec
    /// §2.2: the object is added before its members are read.
    fn reserve(&mut self) -> Result<usize, AmfError> {
        self.objects.reserve()
    }

    fn complete(&mut self, slot: usize, value: AmfValue) -> AmfValue {
        self.objects.complete(slot, &value);
        value
    }

    /// The finished value at object-table `index`: an `Arc` clone, O(1).
    ///
    /// The referenced value's type is not checked against the marker (a date
    /// marker may reference an array): Flash Player does not check either.
    fn object_ref(&mut self, index: usize) -> Result<AmfValue, AmfError> {
        self.objects.get(index)
    }

    /// A `UTF-8-vr` (spec §1.3.2): an inline string or a string reference.
    fn string(&mut self, buf: &mut Bytes) -> Result<ByteString, AmfError> {
        match header(buf)? {
            Header::Reference(index) => {
                let s = self
                    .strings
                    .get(index)
                    .cloned()
                    .ok_or(AmfError::BadReference {
                        table: "string",
                        index,
                        len: self.strings.len(),
                    })?;
                self.objects.refer(s.len() as u64)?;
                Ok(s)
            }
            Header::Inline(len) => {
                let s = wire::utf8(wire::take(buf, len, "AMF3 string length")?);
                self.objects.grow(len as u64);
                // Spec §3.8: "the empty String is never sent by reference".
                if !s.is_empty() {
                    self.check_table(self.strings.len(), "string")?;
                    self.strings.push(s.clone());
                }
                Ok(s)
            }
        }
    }

    /// XML and XMLDocument: object-table entries carrying a string.
    fn text(
        &mut self,
        buf: &mut Bytes,
        make: fn(ByteString) -> AmfValue,
    ) -> Result<AmfValue, AmfError> {
        match header(buf)? {
            Header::Reference(i) => self.object_ref(i),
            Header::Inline(len) => {
                let slot = self.reserve()?;
                let s = wire::utf8(wire::take(buf, len, "AMF3 XML length")?);
                self.objects.grow(len as u64);
                Ok(self.complete(slot, make(s)))
            }
        }
    }

    /// Spec §3.11: associative part (name/value pairs up to the empty name),
    /// then `count` dense values.
    fn array(&mut self, buf: &mut Bytes, depth: usize) -> Result<AmfValue, AmfError> {
        let count = match header(buf)? {
            Header::Reference(i) => return self.object_ref(i),
            Header::Inline(count) => count,
        };
        wire::check_count(buf, count, 1, "AMF3 array dense count")?;
        let depth = self.enter(depth)?;
        let slot = self.reserve()?;
        let assoc = self.dynamic_members(buf, depth)?;
        let mut dense = Vec::new();
        for _ in 0..count {
            dense.push(self.decode_nested(buf, depth)?);
        }
        let v = if assoc.is_empty() {
            AmfValue::StrictArray(Arc::new(dense))
        } else {
            AmfValue::EcmaArray(Arc::new(EcmaArray { dense, assoc }))
        };
        Ok(self.complete(slot, v))
    }

    /// Name/value pairs up to the empty name.
    fn dynamic_members(
        &mut self,
        buf: &mut Bytes,
        depth: usize,
    ) -> Result<Vec<(ByteString, AmfValue)>, AmfError> {
        let mut members = Vec::new();
        loop {
            let name = self.string(buf)?;
            if name.is_empty() {
                return Ok(members);
            }
            let value = self.decode_nested(buf, depth)?;
            members.push((name, value));
        }
    }

    /// Spec §3.12.
    fn object(&mut self, buf: &mut Bytes, depth: usize) -> Result<AmfValue, AmfError> {
        let flags = match header(buf)? {
            Header::Reference(i) => return self.object_ref(i),
            Header::Inline(flags) => flags,
        };
        let traits = self.traits(buf, flags)?;
        if flags & 0b1 == 0 {
            // Traits by reference: this object copies their sealed names.
            self.objects.refer(traits.sealed_len)?;
        }
        let depth = self.enter(depth)?;
        let slot = self.reserve()?;
        let object = if traits.externalizable {
            let class = traits.class_name.as_deref().unwrap_or("");
            if !is_single_value_class(class) {
                return Err(AmfError::UnknownExternalizable {
                    class: class.to_owned(),
                });
            }
            let payload = self.decode_nested(buf, depth)?;
            AmfObject {
                class_name: traits.class_name.clone(),
                members: Vec::new(),
                sealed_count: 0,
                dynamic: false,
                external: Some(payload),
            }
        } else {
            let mut members = Vec::new();
            for name in &traits.sealed {
                members.push((name.clone(), self.decode_nested(buf, depth)?));
            }
            if traits.dynamic {
                members.extend(self.dynamic_members(buf, depth)?);
            }
            AmfObject {
                class_name: traits.class_name.clone(),
                members,
                sealed_count: traits.sealed.len(),
                dynamic: traits.dynamic,
                external: None,
            }
        };
        Ok(self.complete(slot, AmfValue::Object(Arc::new(object))))
    }

    /// The traits of an inline object; `flags` is the U29O with its low
    /// (inline-object) bit removed.
    fn traits(&mut self, buf: &mut Bytes, flags: usize) -> Result<Arc<Traits>, AmfError> {
        if flags & 0b1 == 0 {
            // U29O-traits-ref.
            let index = flags >> 1;
            return self
                .traits
                .get(index)
                .cloned()
                .ok_or(AmfError::BadReference {
                    table: "trait",
                    index,
                    len: self.traits.len(),
                });
        }
        self.check_table(self.traits.len(), "trait")?;
        let externalizable = flags & 0b10 != 0;
        let class_name = Some(self.string(buf)?).filter(|c| !c.is_empty());
        let traits = if externalizable {
            Traits {
                class_name,
                sealed: Vec::new(),
                sealed_len: 0,
                dynamic: false,
                externalizable,
            }
        } else {
            let count = flags >> 3;
            wire::check_count(buf, count, 1, "AMF3 sealed member count")?;
            let mut sealed = Vec::new();
            for _ in 0..count {
                sealed.push(self.string(buf)?);
            }
            Traits {
                class_name,
                sealed_len: sealed.iter().map(|s| s.len() as u64).sum(),
                sealed,
                dynamic: flags & 0b100 != 0,
                externalizable,
            }
        };
        let traits = Arc::new(traits);
        self.traits.push(traits.clone());
        Ok(traits)
    }

    /// `Vector.<int>`, `Vector.<uint>`, `Vector.<Number>` (spec §3.15).
    fn scalars<T>(
        &mut self,
        buf: &mut Bytes,
        depth: usize,
        size: usize,
        read: fn(&mut Bytes) -> Result<T, AmfError>,
        make: fn(AmfVector<T>) -> AmfValue,
    ) -> Result<AmfValue, AmfError> {
        let count = match header(buf)? {
            Header::Reference(i) => return self.object_ref(i),
            Header::Inline(count) => count,
        };
        self.enter(depth)?;
        let slot = self.reserve()?;
        let fixed = wire::u8(buf, "AMF3 vector fixed flag")? != 0;
        wire::check_count(buf, count, size, "AMF3 vector count")?;
        self.objects.grow(count as u64 * NUMBER_ELEMENT_COST);
        // Bounded: `count * size` bytes are present.
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(read(buf)?);
        }
        Ok(self.complete(slot, make(AmfVector { fixed, items })))
    }

    /// `Vector.<Object>` / `Vector.<T>` (spec §3.15).
    fn object_vector(&mut self, buf: &mut Bytes, depth: usize) -> Result<AmfValue, AmfError> {
        let count = match header(buf)? {
            Header::Reference(i) => return self.object_ref(i),
            Header::Inline(count) => count,
        };
        let depth = self.enter(depth)?;
        let slot = self.reserve()?;
        let fixed = wire::u8(buf, "AMF3 vector fixed flag")? != 0;
        let type_name = self.string(buf)?;
        wire::check_count(buf, count, 1, "AMF3 vector count")?;
        let mut items = Vec::new();
        for _ in 0..count {
            items.push(self.decode_nested(buf, depth)?);
        }
        let v = AmfValue::VectorObject(Arc::new(ObjectVector {
            fixed,
            type_name,
            items,
        }));
        Ok(self.complete(slot, v))
    }

    /// `Dictionary` (spec §3.16): `count` key/value pairs.
    fn dictionary(&mut self, buf: &mut Bytes, depth: usize) -> Result<AmfValue, AmfError> {
        let count = match header(buf)? {
            Header::Reference(i) => return self.object_ref(i),
            Header::Inline(count) => count,
        };
        let depth = self.enter(depth)?;
        let slot = self.reserve()?;
        let weak_keys = wire::u8(buf, "AMF3 dictionary weak-keys flag")? != 0;
        wire::check_count(buf, count, 2, "AMF3 dictionary count")?;
        let mut entries = Vec::new();
        for _ in 0..count {
            let key = self.decode_nested(buf, depth)?;
            let value = self.decode_nested(buf, depth)?;
            entries.push((key, value));
        }
        let v = AmfValue::Dictionary(Arc::new(Dictionary { weak_keys, entries }));
        Ok(self.complete(slot, v))
    }
}

/// A U29 (spec §1.3.1): 1 to 4 bytes, 7 bits each with a continuation flag,
/// the 4th byte contributing all 8 bits.
fn u29(buf: &mut Bytes) -> Result<u32, AmfError> {
    let mut n = 0u32;
    for _ in 0..3 {
        let b = wire::u8(buf, "AMF3 U29")?;
        n = (n << 7) | u32::from(b & 0x7F);
        if b & 0x80 == 0 {
            return Ok(n);
        }
    }
    let b = wire::u8(buf, "AMF3 U29")?;
    Ok((n << 8) | u32::from(b))
}

fn header(buf: &mut Bytes) -> Result<Header, AmfError> {
    let u = u29(buf)?;
    // A U29 is at most 29 bits: the shifted value always fits a usize.
    let rest = (u >> 1) as usize;
    Ok(if u & 1 == 0 {
        Header::Reference(rest)
    } else {
        Header::Inline(rest)
    })
}

//! AMF0 decoding (AMF0 spec §2).

use std::sync::Arc;

use bytes::{Buf, Bytes};
use bytestring::ByteString;

use super::marker;
use super::wire;
use crate::protocol::amf::amf3::Amf3Decoder;
use crate::protocol::amf::nesting::enter_decode;
use crate::protocol::amf::table::ObjectTable;
use crate::protocol::amf::{AmfDate, AmfError, AmfObject, AmfValue, EcmaArray};
use crate::protocol::limits::AmfLimits;

/// Decodes AMF0 values from one message; holds the message's reference table.
///
/// Use one decoder per message: references (0x07) index the complex values
/// decoded so far *in this message* (spec §2.9), and the AMF3 tables used
/// after AVM+ switches (0x11) persist across all switches of the message.
#[derive(Debug)]
pub struct Amf0Decoder {
    limits: AmfLimits,
    /// Objects, typed objects, ECMA arrays and strict arrays in the order they
    /// *began* (spec §2.9); a reference to one still being decoded is a
    /// cycle. Also counts the expanded size of what the message decoded.
    objects: ObjectTable,
    /// The AMF3 decoder for AVM+ switches, created at the first switch. It is
    /// kept for the whole message, as BlazeDS (`Amf0Input.avmPlusInput`), PyAMF
    /// (`amf0.Context.amf3_context`) and Red5 (one AMF3 `Input` for all
    /// remaining parameters) do: a reference in a later switched value may point
    /// into an earlier one.
    amf3: Option<Amf3Decoder>,
}

impl Amf0Decoder {
    /// A decoder with empty reference tables.
    pub fn new(limits: AmfLimits) -> Self {
        Self {
            limits,
            objects: ObjectTable::new(limits),
            amf3: None,
        }
    }

    /// Decodes one value from the front of `buf`, advancing it.
    ///
    /// An AVM+ marker (0x11) decodes the AMF3 value that follows it; the result
    /// is that value itself (the model has no "AMF3 wrapper").
    ///
    /// # Errors
    /// Any [`AmfError`]: the peer sent malformed AMF0. `buf` is then left at an
    /// unspecified position and the decoder must not be reused.
    pub fn decode(&mut self, buf: &mut Bytes) -> Result<AmfValue, AmfError> {
        self.value(buf, 0)
    }

    fn value(&mut self, buf: &mut Bytes, depth: usize) -> Result<AmfValue, AmfError> {
        let m = wire::u8(buf, "AMF0 type marker")?;
        self.objects.grow(1);
        Ok(match m {
            marker::NUMBER => AmfValue::Number(wire::f64(buf, "AMF0 number")?),
            marker::BOOLEAN => AmfValue::Boolean(wire::u8(buf, "AMF0 boolean")? != 0),
            marker::STRING => AmfValue::String(self.counted(short_string(buf)?)),
            marker::OBJECT => self.object(buf, depth, None)?,
            marker::NULL => AmfValue::Null,
            marker::UNDEFINED => AmfValue::Undefined,
            marker::REFERENCE => self.reference(buf)?,
            marker::ECMA_ARRAY => self.ecma_array(buf, depth)?,
            marker::OBJECT_END => {
                return Err(AmfError::Invalid {
                    reason: "AMF0 object-end marker outside an object",
                })
            }
            marker::STRICT_ARRAY => self.strict_array(buf, depth)?,
            marker::DATE => {
                let millis = wire::f64(buf, "AMF0 date")?;
                // Spec §2.13: the time-zone field is reserved, "should be set to
                // 0x0000"; kept (not interpreted) so a value roundtrips.
                let timezone_minutes = wire::i16(buf, "AMF0 date time zone")?;
                AmfValue::Date(AmfDate {
                    millis,
                    timezone_minutes,
                })
            }
            marker::LONG_STRING => AmfValue::String(self.counted(long_string(buf)?)),
            marker::UNSUPPORTED => AmfValue::Unsupported,
            marker::XML_DOCUMENT => AmfValue::XmlDocument(self.counted(long_string(buf)?)),
            marker::TYPED_OBJECT => {
                let class = self.counted(short_string(buf)?);
                self.object(buf, depth, Some(class))?
            }
            marker::AVMPLUS => {
                let limits = self.limits;
                let amf3 = self.amf3.get_or_insert_with(|| Amf3Decoder::new(limits));
                let before = amf3.expanded();
                let value = amf3.decode_nested(buf, depth)?;
                // What the AMF3 part expanded to is part of any AMF0 value
                // (and so of any 0x07 reference) that contains it.
                self.objects.grow(amf3.expanded().saturating_sub(before));
                value
            }
            // MovieClip (0x04) and RecordSet (0x0E) are reserved "not supported"
            // types (spec §2.6, §2.14).
            marker::MOVIECLIP | marker::RECORDSET => {
                return Err(AmfError::UnknownAmf0Marker { marker: m })
            }
            // Anything above 0x11 is undefined.
            _ => return Err(AmfError::UnknownAmf0Marker { marker: m }),
        })
    }

    /// Counts a string's length into the expanded size (see [`ObjectTable`]).
    fn counted(&mut self, s: ByteString) -> ByteString {
        self.objects.grow(s.len() as u64);
        s
    }

    /// Enters one level of container nesting.
    fn enter(&self, depth: usize) -> Result<usize, AmfError> {
        enter_decode(depth, &self.limits)
    }

    /// Takes the next reference-table slot for a complex value that is about to
    /// be decoded.
    fn reserve(&mut self) -> Result<usize, AmfError> {
        self.objects.reserve()
    }

    /// Fills a slot taken by [`reserve`](Self::reserve).
    fn complete(&mut self, slot: usize, value: &AmfValue) {
        self.objects.complete(slot, value);
    }

    /// A reference (0x07): the finished value at a 16-bit table index.
    fn reference(&mut self, buf: &mut Bytes) -> Result<AmfValue, AmfError> {
        let index = usize::from(wire::u16(buf, "AMF0 reference")?);
        self.objects.get(index)
    }

    fn object(
        &mut self,
        buf: &mut Bytes,
        depth: usize,
        class_name: Option<ByteString>,
    ) -> Result<AmfValue, AmfError> {
        let depth = self.enter(depth)?;
        let slot = self.reserve()?;
        let members = self.members(buf, depth, false)?;
        let typed = class_name.is_some();
        let value = AmfValue::Object(Arc::new(AmfObject {
            class_name,
            sealed_count: if typed { members.len() } else { 0 },
            dynamic: !typed,
            members,
            external: None,
        }));
        self.complete(slot, &value);
        Ok(value)
    }

    fn ecma_array(&mut self, buf: &mut Bytes, depth: usize) -> Result<AmfValue, AmfError> {
        // Spec §2.10: the associative-count. Real encoders write wrong counts
        // (0, or the count of only some keys), so it is read and ignored; the
        // entries run to the object-end marker as for objects.
        let _count_hint = wire::u32(buf, "AMF0 ECMA array count")?;
        let depth = self.enter(depth)?;
        let slot = self.reserve()?;
        let assoc = self.members(buf, depth, true)?;
        let value = AmfValue::EcmaArray(Arc::new(EcmaArray {
            dense: Vec::new(),
            assoc,
        }));
        self.complete(slot, &value);
        Ok(value)
    }

    fn strict_array(&mut self, buf: &mut Bytes, depth: usize) -> Result<AmfValue, AmfError> {
        let count = wire::u32(buf, "AMF0 strict array count")?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        // Every element needs at least its marker byte.
        wire::check_count(buf, count, 1, "AMF0 strict array count")?;
        let depth = self.enter(depth)?;
        let slot = self.reserve()?;
        // No `with_capacity(count)`: an in-memory value is ~40x a 1-byte element.
        let mut items = Vec::new();
        for _ in 0..count {
            items.push(self.value(buf, depth)?);
        }
        let value = AmfValue::StrictArray(Arc::new(items));
        self.complete(slot, &value);
        Ok(value)
    }

    /// Reads `name value` pairs up to the object end (`00 00 09`).
    ///
    /// `eof_ends`: for ECMA arrays, the input ending cleanly at an entry boundary
    /// (or right after the empty name) also ends the array. Some `onMetaData`
    /// writers (old FLV muxers, some hardware encoders) omit the end marker of
    /// the last ECMA array in a message; ffmpeg's FLV demuxer likewise stops at
    /// the end of the data. A value cut in its middle is still an error.
    fn members(
        &mut self,
        buf: &mut Bytes,
        depth: usize,
        eof_ends: bool,
    ) -> Result<Vec<(ByteString, AmfValue)>, AmfError> {
        let mut members = Vec::new();
        loop {
            if eof_ends && buf.is_empty() {
                break;
            }
            let name = self.counted(short_string(buf)?);
            if name.is_empty() {
                match buf.first() {
                    Some(&marker::OBJECT_END) => {
                        buf.advance(1);
                        break;
                    }
                    None if eof_ends => break,
                    // An empty name followed by a value: ActionScript allows
                    // `o[""]`, so keep it as a member.
                    _ => {}
                }
            }
            let value = self.value(buf, depth)?;
            members.push((name, value));
        }
        Ok(members)
    }
}

/// A UTF-8 string with a 16-bit length (spec §1.3 `UTF-8`).
fn short_string(buf: &mut Bytes) -> Result<ByteString, AmfError> {
    let len = usize::from(wire::u16(buf, "AMF0 string length")?);
    Ok(wire::utf8(wire::take(buf, len, "AMF0 string length")?))
}

/// A UTF-8 string with a 32-bit length (spec §1.3 `UTF-8-long`).
fn long_string(buf: &mut Bytes) -> Result<ByteString, AmfError> {
    let len = wire::u32(buf, "AMF0 long string length")?;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    Ok(wire::utf8(wire::take(buf, len, "AMF0 long string length")?))
}

//! Writing SharedObject message bodies (types 19 and 16).
//!
//! The encoder writes exactly the events it is given. For the widest client
//! compatibility the SharedObject actor should put one `(slot, value)` pair in
//! each `Change` event, as Red5 does; several pairs per event are valid and
//! are what this module's decoder accepts.

use bytes::{BufMut, BytesMut};
use bytestring::ByteString;

use super::event::SharedObjectEvent;
use super::{SharedObjectEncoding, SharedObjectError, SharedObjectMessage};
use crate::protocol::amf::{amf0::Amf0Encoder, AmfValue};

impl SharedObjectMessage {
    /// Appends the message body for the given encoding to `dst`.
    ///
    /// Type 16 gets the 0x00 format byte and every value as 0x11 + AMF3 (as
    /// Red5 writes for AMF3 clients); type 19 gets AMF0 values. The
    /// `SendMessage` handler name is always an AMF0 string (Red5, Flash Player).
    ///
    /// # Errors
    /// [`SharedObjectError::TooLong`] for a name or slot longer than 65535
    /// bytes or an event longer than 4 GiB; [`SharedObjectError::Amf`] when a
    /// value cannot be encoded.
    pub fn encode(
        &self,
        encoding: SharedObjectEncoding,
        dst: &mut BytesMut,
    ) -> Result<(), SharedObjectError> {
        if encoding == SharedObjectEncoding::Amf3 {
            dst.put_u8(0);
        }
        write_string(dst, &self.name, "SharedObject name")?;
        dst.put_u32(self.version);
        dst.put_u32(self.flags);
        dst.put_u32(self.reserved);
        let mut values = ValueWriter::new(encoding);
        for event in &self.events {
            dst.put_u8(event.type_byte());
            let len_at = dst.len();
            dst.put_u32(0);
            write_event_data(event, &mut values, dst)?;
            let len = dst.len() - len_at - 4;
            let len = u32::try_from(len)
                .map_err(|_| SharedObjectError::TooLong { what: "event", len })?;
            if let Some(slot) = dst.get_mut(len_at..len_at + 4) {
                slot.copy_from_slice(&len.to_be_bytes());
            }
        }
        Ok(())
    }
}

fn write_event_data(
    event: &SharedObjectEvent,
    values: &mut ValueWriter,
    dst: &mut BytesMut,
) -> Result<(), SharedObjectError> {
    match event {
        SharedObjectEvent::Use
        | SharedObjectEvent::Release
        | SharedObjectEvent::Clear
        | SharedObjectEvent::UseSuccess => {}
        SharedObjectEvent::RequestChange(pairs) | SharedObjectEvent::Change(pairs) => {
            for (key, value) in pairs {
                write_string(dst, key, "slot name")?;
                values.write(value, dst)?;
            }
        }
        SharedObjectEvent::Success(names)
        | SharedObjectEvent::Remove(names)
        | SharedObjectEvent::RequestRemove(names) => {
            for name in names {
                write_string(dst, name, "slot name")?;
            }
        }
        SharedObjectEvent::SendMessage { method, args } => {
            values.amf0.encode(&AmfValue::String(method.clone()), dst)?;
            for arg in args {
                values.write(arg, dst)?;
            }
        }
        SharedObjectEvent::Status { code, level } => {
            write_string(dst, code, "status code")?;
            write_string(dst, level, "status level")?;
        }
        SharedObjectEvent::Unknown { data, .. } => dst.extend_from_slice(data),
    }
    Ok(())
}

/// Writes values: AMF0, or AVM+ (0x11) + AMF3, with one set of reference
/// tables for the whole message (Red5 reads a whole SharedObject body with one
/// AMF0 and one AMF3 input).
struct ValueWriter {
    encoding: SharedObjectEncoding,
    amf0: Amf0Encoder,
}

impl ValueWriter {
    fn new(encoding: SharedObjectEncoding) -> Self {
        Self {
            encoding,
            amf0: Amf0Encoder::new(),
        }
    }

    fn write(&mut self, value: &AmfValue, dst: &mut BytesMut) -> Result<(), SharedObjectError> {
        match self.encoding {
            SharedObjectEncoding::Amf0 => self.amf0.encode(value, dst)?,
            SharedObjectEncoding::Amf3 => self.amf0.encode_avmplus(value, dst)?,
        }
        Ok(())
    }
}

fn write_string(
    dst: &mut BytesMut,
    s: &ByteString,
    what: &'static str,
) -> Result<(), SharedObjectError> {
    let len =
        u16::try_from(s.len()).map_err(|_| SharedObjectError::TooLong { what, len: s.len() })?;
    dst.put_u16(len);
    dst.extend_from_slice(s.as_bytes());
    Ok(())
}

//! Reading SharedObject message bodies (types 19 and 16).
//!
//! Every read checks `remaining()` first; every allocation is bounded by the
//! bytes present, [`SharedObjectLimits`] or [`AmfLimits`]. Each event's data is
//! cut out by its declared length before it is parsed, so a value can never
//! read into the next event: one that runs past its event is an AMF
//! `Truncated` error.

use bytes::{Buf, Bytes};
use bytestring::ByteString;

use super::event::{SharedObjectEvent, SharedObjectEventType as T};
use super::{SharedObjectEncoding, SharedObjectError, SharedObjectMessage};
use crate::protocol::amf::{amf0::Amf0Decoder, AmfValue};
use crate::protocol::limits::{AmfLimits, SharedObjectLimits};

/// Size of version + flags + reserved.
const HEADER_WORDS_LEN: usize = 12;
/// Size of an event's type byte + length word.
const EVENT_HEADER_LEN: usize = 5;

impl SharedObjectMessage {
    /// Decodes one SharedObject message body.
    ///
    /// # Errors
    /// [`SharedObjectError`]: truncated header or string, an unknown type 16
    /// format byte, a name or event count over the limits, an event longer
    /// than the message, invalid UTF-8, or malformed AMF in an event.
    pub fn decode(
        mut payload: Bytes,
        encoding: SharedObjectEncoding,
        limits: SharedObjectLimits,
        amf_limits: AmfLimits,
    ) -> Result<Self, SharedObjectError> {
        if encoding == SharedObjectEncoding::Amf3 {
            need(&payload, 1, "format byte")?;
            // Red5 writes 0x00 ("unknown (not AMF version)"); Flash Player too.
            let byte = payload.get_u8();
            if byte != 0 {
                return Err(SharedObjectError::UnknownFormatByte { byte });
            }
        }
        let name = read_string(&mut payload, "SharedObject name", Some(limits.max_name_len))?;
        need(&payload, HEADER_WORDS_LEN, "header")?;
        let version = payload.get_u32();
        let flags = payload.get_u32();
        let reserved = payload.get_u32();

        // One AMF0 decoder (and so one set of AMF0/AMF3 reference tables) for
        // the whole body, as Red5 reads it.
        let mut decoder = Amf0Decoder::new(amf_limits);
        let mut events = Vec::new();
        while !payload.is_empty() {
            if events.len() >= limits.max_events_per_message {
                return Err(SharedObjectError::TooManyEvents {
                    limit: limits.max_events_per_message,
                });
            }
            need(&payload, EVENT_HEADER_LEN, "event header")?;
            let event_type = payload.get_u8();
            let declared = payload.get_u32() as usize;
            if declared > payload.remaining() {
                return Err(SharedObjectError::EventOverrun {
                    event_type,
                    declared,
                    remaining: payload.remaining(),
                });
            }
            let data = payload.split_to(declared);
            events.push(decode_event(event_type, data, &mut decoder)?);
        }
        Ok(Self {
            name,
            version,
            flags,
            reserved,
            events,
        })
    }
}

fn decode_event(
    event_type: u8,
    mut data: Bytes,
    decoder: &mut Amf0Decoder,
) -> Result<SharedObjectEvent, SharedObjectError> {
    let Some(known) = T::from_u8(event_type) else {
        return Ok(SharedObjectEvent::Unknown { event_type, data });
    };
    Ok(match known {
        // Payload-less events: any data is ignored (no known peer sends any).
        T::Use => SharedObjectEvent::Use,
        T::Release => SharedObjectEvent::Release,
        T::Clear => SharedObjectEvent::Clear,
        T::UseSuccess => SharedObjectEvent::UseSuccess,
        T::RequestChange => SharedObjectEvent::RequestChange(read_pairs(data, decoder)?),
        T::Change => SharedObjectEvent::Change(read_pairs(data, decoder)?),
        T::Success => SharedObjectEvent::Success(read_names(data)?),
        T::Remove => SharedObjectEvent::Remove(read_names(data)?),
        T::RequestRemove => SharedObjectEvent::RequestRemove(read_names(data)?),
        T::Status => {
            // Code first, then level (FMS traffic; Red5's decoder agrees).
            let code = read_string(&mut data, "status code", None)?;
            let level = read_string(&mut data, "status level", None)?;
            SharedObjectEvent::Status { code, level }
        }
        T::SendMessage => {
            let method = match decoder.decode(&mut data)? {
                AmfValue::String(s) => s,
                other => {
                    return Err(SharedObjectError::MissingHandlerName {
                        found: other.type_name(),
                    })
                }
            };
            let mut args = Vec::new();
            while !data.is_empty() {
                args.push(decoder.decode(&mut data)?);
            }
            SharedObjectEvent::SendMessage { method, args }
        }
    })
}

/// `(key, value)` pairs until the event data is used up. A key with no bytes
/// left for its value reads as `null` (Red5 writes such events for deleted
/// slots in old versions and reads them the same way).
fn read_pairs(
    mut data: Bytes,
    decoder: &mut Amf0Decoder,
) -> Result<Vec<(ByteString, AmfValue)>, SharedObjectError> {
    let mut pairs = Vec::new();
    while !data.is_empty() {
        let key = read_string(&mut data, "slot name", None)?;
        let value = if data.is_empty() {
            AmfValue::Null
        } else {
            decoder.decode(&mut data)?
        };
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// Slot names until the event data is used up.
fn read_names(mut data: Bytes) -> Result<Vec<ByteString>, SharedObjectError> {
    let mut names = Vec::new();
    while !data.is_empty() {
        names.push(read_string(&mut data, "slot name", None)?);
    }
    Ok(names)
}

/// A u16-length UTF-8 string without a type marker.
fn read_string(
    buf: &mut Bytes,
    what: &'static str,
    max_len: Option<usize>,
) -> Result<ByteString, SharedObjectError> {
    need(buf, 2, what)?;
    let len = usize::from(buf.get_u16());
    if let Some(limit) = max_len {
        if len > limit {
            return Err(SharedObjectError::NameTooLong { len, limit });
        }
    }
    need(buf, len, what)?;
    ByteString::try_from(buf.split_to(len)).map_err(|_| SharedObjectError::InvalidUtf8 { what })
}

fn need(buf: &Bytes, needed: usize, what: &'static str) -> Result<(), SharedObjectError> {
    if buf.remaining() < needed {
        Err(SharedObjectError::Truncated {
            what,
            needed,
            remaining: buf.remaining(),
        })
    } else {
        Ok(())
    }
}

//! Messages other than commands: protocol control (§5.4), user control
//! (§6.2), audio/video/aggregate (§7.1.4–7.1.6), data (§7.1.2) and
//! SharedObject (§7.1.3) messages.

use bytes::Bytes;

use super::events::{IgnoreReason, MediaKind, SessionEvent};
use super::{ServerSession, SessionError};
use crate::protocol::amf::AmfValue;
use crate::protocol::chunk::RawMessage;
use crate::protocol::command::{decode_values, CommandEncoding};
use crate::protocol::flv::{ON_METADATA, SET_DATA_FRAME};
use crate::protocol::message::{self, RtmpMessage, UserControlEvent};
use crate::protocol::shared_object::{SharedObjectEncoding, SharedObjectMessage};

impl ServerSession {
    /// Handles one whole message from the chunk decoder.
    pub(super) fn handle_message(
        &mut self,
        raw: RawMessage,
        now_ms: u64,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        let (type_id, stream_id) = (raw.type_id, raw.stream_id);
        let message = RtmpMessage::from_raw(&raw).map_err(|source| SessionError::Message {
            type_id,
            stream_id,
            source,
        })?;
        match message {
            // Applied by the chunk decoder before it returned them.
            RtmpMessage::SetChunkSize(_)
            | RtmpMessage::Abort { .. }
            | RtmpMessage::WindowAckSize(_) => {}
            RtmpMessage::Acknowledgement { sequence_number } => {
                self.last_ack_received = Some(sequence_number);
                events.push(SessionEvent::AcknowledgementReceived { sequence_number });
            }
            RtmpMessage::UserControl(event) => self.handle_user_control(event, now_ms, events)?,
            RtmpMessage::SetPeerBandwidth { window, limit_type } => {
                // §5.4.5: "The receiver of this message SHOULD respond with a
                // Window Acknowledgement Size message if the window size is
                // different from the last one sent to the sender."
                if window != self.window_ack_sent {
                    self.window_ack_sent = window;
                    self.queue_control(&RtmpMessage::WindowAckSize(window))?;
                }
                events.push(SessionEvent::PeerBandwidthChanged { window, limit_type });
            }
            RtmpMessage::Audio(payload) => {
                self.require_connected("audio")?;
                self.media(stream_id, MediaKind::Audio, raw.timestamp, payload, events);
            }
            RtmpMessage::Video(payload) => {
                self.require_connected("video")?;
                self.media(stream_id, MediaKind::Video, raw.timestamp, payload, events);
            }
            RtmpMessage::Aggregate(aggregate) => {
                self.require_connected("aggregate")?;
                for part in aggregate.messages(&raw.header()) {
                    match part.type_id {
                        message::AUDIO => {
                            let (ts, p) = (part.timestamp, part.payload);
                            self.media(stream_id, MediaKind::Audio, ts, p, events);
                        }
                        message::VIDEO => {
                            let (ts, p) = (part.timestamp, part.payload);
                            self.media(stream_id, MediaKind::Video, ts, p, events);
                        }
                        message::DATA_AMF0 | message::DATA_AMF3 => self.data(&part, events)?,
                        other => events.push(SessionEvent::Ignored {
                            stream_id,
                            type_id: other,
                            reason: IgnoreReason::UnsupportedInAggregate,
                        }),
                    }
                }
            }
            RtmpMessage::DataAmf0(_) | RtmpMessage::DataAmf3(_) => {
                self.require_connected("data message")?;
                self.data(&raw, events)?;
            }
            RtmpMessage::SharedObjectAmf0(payload) | RtmpMessage::SharedObjectAmf3(payload) => {
                self.require_connected("SharedObject message")?;
                self.shared_object(type_id, payload, events)?;
            }
            RtmpMessage::CommandAmf0(payload) | RtmpMessage::CommandAmf3(payload) => {
                let encoding = if type_id == message::COMMAND_AMF3 {
                    CommandEncoding::Amf3
                } else {
                    CommandEncoding::Amf0
                };
                self.handle_command(encoding, stream_id, payload, events)?;
            }
            RtmpMessage::Unknown { .. } => {
                events.push(SessionEvent::UnknownMessage { stream_id, type_id });
            }
        }
        Ok(())
    }

    pub(super) fn require_connected(&self, what: &str) -> Result<(), SessionError> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(SessionError::NotConnected { what: what.into() })
        }
    }

    fn handle_user_control(
        &mut self,
        event: UserControlEvent,
        now_ms: u64,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        match event {
            UserControlEvent::PingRequest { timestamp } => {
                // §6.2: the client MUST answer a Ping Request; a server answers
                // the (rare) client ping the same way.
                self.queue_user_control(UserControlEvent::PingResponse { timestamp })?;
            }
            UserControlEvent::PingResponse { timestamp } => {
                let round_trip_ms = match self.last_ping {
                    Some((sent, at)) if sent == timestamp => Some(now_ms.saturating_sub(at)),
                    _ => None,
                };
                events.push(SessionEvent::PingResponseReceived {
                    timestamp,
                    round_trip_ms,
                });
            }
            UserControlEvent::SetBufferLength {
                stream_id,
                buffer_ms,
            } => {
                // Flash sends it for stream 0 before play too; record it on a
                // known stream, report it either way.
                if let Some(info) = self.streams.get_mut(&stream_id) {
                    info.buffer_ms = Some(buffer_ms);
                }
                events.push(SessionEvent::BufferLengthSet {
                    stream_id,
                    buffer_ms,
                });
            }
            // Server → client events (Stream Begin, EOF, Dry, Is Recorded) and
            // unknown ones (e.g. FMS buffer empty/ready 31/32) mean nothing here.
            _ => {}
        }
        Ok(())
    }

    fn media(
        &mut self,
        stream_id: u32,
        kind: MediaKind,
        timestamp: u32,
        payload: Bytes,
        events: &mut Vec<SessionEvent>,
    ) {
        let reason = match self.streams.get(&stream_id) {
            None => IgnoreReason::UnknownStream,
            Some(info) if !info.activity.is_publishing() => IgnoreReason::NotPublishing,
            Some(_) => {
                events.push(SessionEvent::MediaReceived {
                    stream_id,
                    kind,
                    timestamp,
                    payload,
                });
                return;
            }
        };
        events.push(SessionEvent::Ignored {
            stream_id,
            type_id: kind.type_id(),
            reason,
        });
    }

    /// A data message: `@setDataFrame` is stripped (FMLE, ffmpeg, OBS send
    /// `@setDataFrame("onMetaData", {...})`; Flash Player sends
    /// `onMetaData` directly via `NetStream.send`).
    fn data(
        &mut self,
        raw: &RawMessage,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        let (type_id, stream_id) = (raw.type_id, raw.stream_id);
        // Type 15 bodies start with a format byte like type 17 ones.
        let encoding = if type_id == message::DATA_AMF3 {
            CommandEncoding::Amf3
        } else {
            CommandEncoding::Amf0
        };
        let mut values = decode_values(raw.payload.clone(), encoding, self.config.limits.amf)
            .map_err(|source| SessionError::Data {
                type_id,
                stream_id,
                source,
            })?;
        if stream_id != 0 && !self.streams.contains_key(&stream_id) {
            events.push(SessionEvent::Ignored {
                stream_id,
                type_id,
                reason: IgnoreReason::UnknownStream,
            });
            return Ok(());
        }
        if matches!(values.first(), Some(AmfValue::String(s)) if &**s == SET_DATA_FRAME) {
            values.remove(0);
        }
        let timestamp = raw.timestamp;
        if matches!(values.first(), Some(AmfValue::String(s)) if &**s == ON_METADATA) {
            values.remove(0);
            events.push(SessionEvent::MetadataReceived {
                stream_id,
                timestamp,
                values,
            });
        } else {
            events.push(SessionEvent::DataReceived {
                stream_id,
                timestamp,
                values,
            });
        }
        Ok(())
    }

    fn shared_object(
        &mut self,
        type_id: u8,
        payload: Bytes,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        let encoding = if type_id == message::SHARED_OBJECT_AMF3 {
            SharedObjectEncoding::Amf3
        } else {
            SharedObjectEncoding::Amf0
        };
        let limits = self.config.limits;
        let message =
            SharedObjectMessage::decode(payload, encoding, limits.shared_object, limits.amf)
                .map_err(|source| SessionError::SharedObject { type_id, source })?;
        self.so_encoding.get_or_insert(encoding);
        events.push(SessionEvent::SharedObjectReceived { message, encoding });
        Ok(())
    }
}

//! Messages from the server: protocol control (§5.4), user control (§6.2),
//! commands (§7.2), data, media and SharedObject messages (§7.1).

use bytes::Bytes;

use super::events::{ClientEvent, TransactionId};
use super::{ClientSession, ClientSessionError, Connection};
use crate::protocol::amf::AmfValue;
use crate::protocol::chunk::RawMessage;
use crate::protocol::command::{decode_values, CommandEncoding, CommandMessage, StatusInfo};
use crate::protocol::message::{self, RtmpMessage, UserControlEvent};
use crate::protocol::session::MediaKind;
use crate::protocol::shared_object::{SharedObjectEncoding, SharedObjectMessage};

impl ClientSession {
    /// Handles one whole message from the chunk decoder.
    pub(super) fn handle_message(
        &mut self,
        raw: RawMessage,
        events: &mut Vec<ClientEvent>,
    ) -> Result<(), ClientSessionError> {
        let (type_id, stream_id, timestamp) = (raw.type_id, raw.stream_id, raw.timestamp);
        let message =
            RtmpMessage::from_raw(&raw).map_err(|source| ClientSessionError::Message {
                type_id,
                stream_id,
                source,
            })?;
        match message {
            // Applied by the chunk decoder before it returned them.
            RtmpMessage::SetChunkSize(_)
            | RtmpMessage::Abort { .. }
            | RtmpMessage::WindowAckSize(_)
            | RtmpMessage::Acknowledgement { .. } => {}
            RtmpMessage::SetPeerBandwidth { window, .. } => {
                // §5.4.5: "The receiver of this message SHOULD respond with a
                // Window Acknowledgement Size message if the window size is
                // different from the last one sent to the sender."
                if window != self.window_ack_sent {
                    self.window_ack_sent = window;
                    self.queue_control(&RtmpMessage::WindowAckSize(window))?;
                }
            }
            RtmpMessage::UserControl(event) => match event {
                // §6.2: the client MUST answer a Ping Request.
                UserControlEvent::PingRequest { timestamp } => {
                    self.queue_control(&RtmpMessage::UserControl(
                        UserControlEvent::PingResponse { timestamp },
                    ))?;
                }
                UserControlEvent::StreamBegin { stream_id } => {
                    events.push(ClientEvent::StreamBegin { stream_id });
                }
                UserControlEvent::StreamEof { stream_id } => {
                    events.push(ClientEvent::StreamEof { stream_id });
                }
                _ => {}
            },
            RtmpMessage::Audio(payload) => {
                events.push(media(stream_id, MediaKind::Audio, timestamp, payload));
            }
            RtmpMessage::Video(payload) => {
                events.push(media(stream_id, MediaKind::Video, timestamp, payload));
            }
            RtmpMessage::Aggregate(aggregate) => {
                for part in aggregate.messages(&raw.header()) {
                    match part.type_id {
                        message::AUDIO => events.push(media(
                            stream_id,
                            MediaKind::Audio,
                            part.timestamp,
                            part.payload,
                        )),
                        message::VIDEO => events.push(media(
                            stream_id,
                            MediaKind::Video,
                            part.timestamp,
                            part.payload,
                        )),
                        message::DATA_AMF0 | message::DATA_AMF3 => {
                            self.data(
                                part.type_id,
                                stream_id,
                                part.timestamp,
                                part.payload,
                                events,
                            )?;
                        }
                        other => events.push(ClientEvent::Ignored {
                            stream_id,
                            type_id: other,
                            reason: "message type not expected inside an aggregate",
                        }),
                    }
                }
            }
            RtmpMessage::DataAmf0(payload) | RtmpMessage::DataAmf3(payload) => {
                self.data(type_id, stream_id, timestamp, payload, events)?;
            }
            RtmpMessage::SharedObjectAmf0(payload) | RtmpMessage::SharedObjectAmf3(payload) => {
                if !self.is_connected() {
                    return Err(ClientSessionError::NotConnected {
                        what: "a SharedObject message".into(),
                    });
                }
                let encoding = SharedObjectEncoding::from_message_type(type_id)
                    .unwrap_or(SharedObjectEncoding::Amf0);
                let limits = self.config.limits;
                let message = SharedObjectMessage::decode(
                    payload,
                    encoding,
                    limits.shared_object,
                    limits.amf,
                )
                .map_err(|source| ClientSessionError::SharedObject { type_id, source })?;
                events.push(ClientEvent::SharedObject(message));
            }
            RtmpMessage::CommandAmf0(payload) | RtmpMessage::CommandAmf3(payload) => {
                let encoding =
                    CommandEncoding::from_message_type(type_id).unwrap_or(CommandEncoding::Amf0);
                let command = CommandMessage::decode(payload, encoding, self.config.limits.amf)
                    .map_err(|source| ClientSessionError::Command {
                        type_id,
                        stream_id,
                        source,
                    })?;
                self.command(command, stream_id, type_id, events);
            }
            RtmpMessage::Unknown { .. } => events.push(ClientEvent::Ignored {
                stream_id,
                type_id,
                reason: "unknown message type",
            }),
        }
        Ok(())
    }

    fn data(
        &mut self,
        type_id: u8,
        stream_id: u32,
        timestamp: u32,
        payload: Bytes,
        events: &mut Vec<ClientEvent>,
    ) -> Result<(), ClientSessionError> {
        let encoding = if type_id == message::DATA_AMF3 {
            CommandEncoding::Amf3
        } else {
            CommandEncoding::Amf0
        };
        let values =
            decode_values(payload, encoding, self.config.limits.amf).map_err(|source| {
                ClientSessionError::Command {
                    type_id,
                    stream_id,
                    source,
                }
            })?;
        events.push(ClientEvent::Data {
            stream_id,
            timestamp,
            values,
        });
        Ok(())
    }

    fn command(
        &mut self,
        command: CommandMessage,
        stream_id: u32,
        type_id: u8,
        events: &mut Vec<ClientEvent>,
    ) {
        let name = &*command.name;
        let is_answer = name == "_result" || name == "_error";
        if is_answer {
            let ok = name == "_result";
            let transaction_id = answer_id(command.transaction_id);
            if let Connection::Requested {
                transaction_id: connect_id,
                object_encoding,
            } = self.connection
            {
                if transaction_id == Some(connect_id) {
                    let info = command.args.into_iter().next().unwrap_or(AmfValue::Null);
                    if ok {
                        self.connection = Connection::Connected { object_encoding };
                        events.push(ClientEvent::Connected {
                            properties: command.command_object,
                            info,
                            object_encoding,
                        });
                    } else {
                        self.connection = Connection::Rejected;
                        events.push(ClientEvent::ConnectRejected { info });
                    }
                    return;
                }
            }
            match transaction_id.and_then(|id| self.pending.remove(&id).map(|_| id)) {
                Some(id) => events.push(ClientEvent::CallResult {
                    transaction_id: TransactionId(id),
                    ok,
                    command_object: command.command_object,
                    values: command.args,
                }),
                None => events.push(ClientEvent::Ignored {
                    stream_id,
                    type_id,
                    reason: "answer to an unknown transaction id",
                }),
            }
            return;
        }
        if name == "onStatus" {
            let info = command
                .args
                .first()
                .and_then(StatusInfo::from_value)
                .unwrap_or_else(|| StatusInfo::new("", "", ""));
            events.push(ClientEvent::Status { stream_id, info });
            return;
        }
        events.push(ClientEvent::CallReceived {
            stream_id,
            transaction_id: command.transaction_id,
            method: command.name,
            args: command.args,
        });
    }
}

fn media(stream_id: u32, kind: MediaKind, timestamp: u32, payload: Bytes) -> ClientEvent {
    ClientEvent::Media {
        stream_id,
        kind,
        timestamp,
        payload,
    }
}

/// A transaction id from the wire as one of ours (positive whole numbers).
fn answer_id(value: f64) -> Option<u64> {
    (value >= 1.0 && value.fract() == 0.0 && value < 9.0e15).then_some(value as u64)
}

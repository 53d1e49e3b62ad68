//! Commands from the client (RTMP spec §7.2): `connect` and the
//! NetConnection / NetStream commands the protocol answers by itself;
//! everything else becomes an event for the application.

use bytes::Bytes;

use super::events::{CloseReason, IgnoreReason, ObjectEncoding, SessionEvent};
use super::state::{Connection, StreamActivity, StreamInfo};
use super::{ServerSession, SessionError};
use crate::protocol::amf::AmfValue;
use crate::protocol::command::{
    self, status, Command, CommandEncoding, CommandError, CommandMessage, Connect, Pause, Play,
    Publish, StatusInfo,
};

impl ServerSession {
    pub(super) fn handle_command(
        &mut self,
        encoding: CommandEncoding,
        stream_id: u32,
        payload: Bytes,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        let type_id = encoding.message_type();
        let decode_error = |source| SessionError::Command {
            type_id,
            stream_id,
            source,
        };
        let message = CommandMessage::decode(payload, encoding, self.config.limits.amf)
            .map_err(decode_error)?;
        let (name, transaction_id) = (message.name.clone(), message.transaction_id);
        let command = match Command::from_message(message) {
            Ok(command) => command,
            Err(source) if self.is_connected() => {
                return self.bad_arguments(stream_id, type_id, transaction_id, &source, events)
            }
            Err(source) => return Err(decode_error(source)),
        };
        if let Command::Connect(connect) = command {
            return self.connect_requested(*connect, encoding, events);
        }
        if !self.is_connected() {
            return Err(SessionError::NotConnected {
                what: format!("command {name:?}"),
            });
        }
        self.connected_command(command, stream_id, type_id, events)
    }

    fn connected_command(
        &mut self,
        command: Command,
        stream_id: u32,
        type_id: u8,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        match command {
            Command::Connect(_) => return Err(SessionError::DuplicateConnect),
            Command::CreateStream { transaction_id, .. } => {
                self.create_stream(transaction_id, type_id, events)?;
            }
            Command::DeleteStream {
                stream_id: target, ..
            } => {
                if self.streams.contains_key(&target) {
                    self.end_activity(target, CloseReason::DeleteStream, events)?;
                    self.streams.remove(&target);
                } else {
                    events.push(unknown_stream(target, type_id));
                }
            }
            Command::CloseStream { .. } => {
                if self.streams.contains_key(&stream_id) {
                    self.end_activity(stream_id, CloseReason::CloseStream, events)?;
                } else {
                    events.push(unknown_stream(stream_id, type_id));
                }
            }
            Command::Publish(publish) => self.publish(publish, stream_id, type_id, events)?,
            Command::Play(play) => self.play(play, stream_id, type_id, events)?,
            Command::Pause(Pause {
                pause,
                milliseconds,
                ..
            }) => {
                if self.known_stream(stream_id, type_id, "pause", events)? {
                    events.push(SessionEvent::PauseRequested {
                        stream_id,
                        pause,
                        milliseconds,
                    });
                }
            }
            Command::Seek { milliseconds, .. } => {
                if self.known_stream(stream_id, type_id, "seek", events)? {
                    events.push(SessionEvent::SeekRequested {
                        stream_id,
                        milliseconds,
                    });
                }
            }
            Command::ReceiveAudio { enabled, .. } | Command::ReceiveVideo { enabled, .. } => {
                let audio = matches!(command, Command::ReceiveAudio { .. });
                if let Some(info) = self.streams.get_mut(&stream_id) {
                    if audio {
                        info.receive_audio = enabled;
                    } else {
                        info.receive_video = enabled;
                    }
                    events.push(SessionEvent::ReceiveMediaChanged {
                        stream_id,
                        audio: info.receive_audio,
                        video: info.receive_video,
                    });
                } else {
                    events.push(unknown_stream(stream_id, type_id));
                }
            }
            // FMS answers releaseStream and FCPublish with `_result` (ffmpeg
            // and OBS track the transaction and ignore the answer; SRS does
            // the same), and FCPublish / FCUnpublish with onFCPublish /
            // onFCUnpublish.
            Command::ReleaseStream { transaction_id, .. } => {
                self.call_result(transaction_id, vec![AmfValue::Undefined])?;
            }
            Command::FcPublish {
                transaction_id,
                stream_name,
            } => {
                let notify = command::on_fc_publish(&stream_name);
                self.queue_command(0, &notify, self.command_encoding(), "onFCPublish")?;
                self.call_result(transaction_id, vec![AmfValue::Undefined])?;
            }
            Command::FcUnpublish {
                transaction_id,
                stream_name,
            } => {
                let publishing: Vec<u32> = self
                    .streams
                    .iter()
                    .filter(|(_, info)| match &info.activity {
                        StreamActivity::Publishing { name, .. }
                        | StreamActivity::PublishRequested { name, .. } => *name == stream_name,
                        _ => false,
                    })
                    .map(|(id, _)| *id)
                    .collect();
                for id in publishing {
                    self.end_activity(id, CloseReason::FcUnpublish, events)?;
                }
                let notify = command::on_fc_unpublish(&stream_name);
                self.queue_command(0, &notify, self.command_encoding(), "onFCUnpublish")?;
                self.call_result(transaction_id, vec![AmfValue::Undefined])?;
            }
            // ffmpeg sends FCSubscribe before a live play and waits for
            // nothing; FMS edges answer onFCSubscribe, which no client needs.
            Command::FcSubscribe { .. } => {}
            Command::Result(message) | Command::Error(message) => {
                let ok = &*message.name == "_result";
                events.push(SessionEvent::CallResult {
                    transaction_id: message.transaction_id,
                    ok,
                    command_object: message.command_object,
                    values: message.args,
                });
            }
            other => {
                // Application calls, play2, onStatus from the client, ...
                let message = match other {
                    Command::Call(message) => message,
                    other => other.to_message(),
                };
                events.push(SessionEvent::CallReceived {
                    stream_id,
                    transaction_id: message.transaction_id,
                    name: message.name,
                    command_object: message.command_object,
                    args: message.args,
                });
            }
        }
        Ok(())
    }

    fn connect_requested(
        &mut self,
        connect: Connect,
        encoding: CommandEncoding,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        if !matches!(self.connection, Connection::AwaitingConnect) {
            return Err(SessionError::DuplicateConnect);
        }
        let request = self.next_request_id();
        let object_encoding = ObjectEncoding::from_f64(connect.object_encoding);
        self.connection = Connection::Requested {
            request,
            app: connect.app.clone(),
            transaction_id: connect.transaction_id,
            reply_encoding: encoding,
            object_encoding,
        };
        events.push(SessionEvent::ConnectRequested {
            request,
            app: connect.app,
            tc_url: connect.tc_url,
            object_encoding,
            command_object: compacted(connect.command_object),
            args: connect.args,
        });
        Ok(())
    }

    fn create_stream(
        &mut self,
        transaction_id: f64,
        type_id: u8,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        if self.streams.len() >= self.config.max_streams {
            events.push(SessionEvent::Ignored {
                stream_id: 0,
                type_id,
                reason: IgnoreReason::TooManyStreams,
            });
            return self.call_error(transaction_id, "", "Too many streams on this connection.");
        }
        // The lowest free id from 1: ids stay small, and ffmpeg, librtmp and
        // Flash all read the id from the `_result` rather than assuming 1.
        let mut stream_id = 1;
        while self.streams.contains_key(&stream_id) {
            stream_id += 1;
        }
        self.streams.insert(stream_id, StreamInfo::default());
        let reply = command::create_stream_result(transaction_id, stream_id);
        self.queue_command(0, &reply, self.command_encoding(), "_result")?;
        events.push(SessionEvent::StreamCreated { stream_id });
        Ok(())
    }

    fn publish(
        &mut self,
        publish: Publish,
        stream_id: u32,
        type_id: u8,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        if !self.known_stream(stream_id, type_id, "publish", events)? {
            return Ok(());
        }
        let Some(name) = publish.name else {
            return self.end_activity(stream_id, CloseReason::Stop, events);
        };
        if !self.idle_or_busy(
            stream_id,
            type_id,
            status::NS_PUBLISH_BAD_NAME,
            &name,
            events,
        )? {
            return Ok(());
        }
        let request = self.next_request_id();
        if let Some(info) = self.streams.get_mut(&stream_id) {
            info.activity = StreamActivity::PublishRequested {
                request,
                name: name.clone(),
                publish_type: publish.publish_type.clone(),
            };
        }
        events.push(SessionEvent::PublishRequested {
            request,
            stream_id,
            name,
            publish_type: publish.publish_type,
        });
        Ok(())
    }

    fn play(
        &mut self,
        play: Play,
        stream_id: u32,
        type_id: u8,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        if !self.known_stream(stream_id, type_id, "play", events)? {
            return Ok(());
        }
        let Some(name) = play.name else {
            return self.end_activity(stream_id, CloseReason::Stop, events);
        };
        // A new play on a playing stream replaces it (Flash play list switch).
        if matches!(
            self.streams.get(&stream_id).map(|i| &i.activity),
            Some(StreamActivity::Playing { .. })
        ) {
            self.end_activity(stream_id, CloseReason::Replaced, events)?;
        }
        if !self.idle_or_busy(stream_id, type_id, status::NS_PLAY_FAILED, &name, events)? {
            return Ok(());
        }
        let request = self.next_request_id();
        if let Some(info) = self.streams.get_mut(&stream_id) {
            info.activity = StreamActivity::PlayRequested {
                request,
                name: name.clone(),
            };
        }
        events.push(SessionEvent::PlayRequested {
            request,
            stream_id,
            name,
            start: play.start,
            duration: play.duration,
            reset: play.reset,
        });
        Ok(())
    }

    /// Whether the stream is idle; otherwise answers an error status with
    /// `code` and reports the command as ignored.
    fn idle_or_busy(
        &mut self,
        stream_id: u32,
        type_id: u8,
        code: &str,
        name: &str,
        events: &mut Vec<SessionEvent>,
    ) -> Result<bool, SessionError> {
        let idle = matches!(
            self.streams.get(&stream_id).map(|i| &i.activity),
            Some(StreamActivity::Idle)
        );
        if !idle {
            let info = StatusInfo::new(
                status::LEVEL_ERROR,
                code,
                "The stream is already publishing or playing.",
            )
            .with_details(name);
            self.queue_status(stream_id, &info)?;
            events.push(SessionEvent::Ignored {
                stream_id,
                type_id,
                reason: IgnoreReason::StreamBusy,
            });
        }
        Ok(idle)
    }

    /// Whether `stream_id` was created. If not, answers `NetStream.Failed` on
    /// that stream id (so the client sees why) and reports it as ignored.
    fn known_stream(
        &mut self,
        stream_id: u32,
        type_id: u8,
        command: &str,
        events: &mut Vec<SessionEvent>,
    ) -> Result<bool, SessionError> {
        if self.streams.contains_key(&stream_id) {
            return Ok(true);
        }
        let description =
            format!("{command} on message stream {stream_id}, which was never created");
        let info = StatusInfo::new(status::LEVEL_ERROR, status::NS_FAILED, &description);
        self.queue_status(stream_id, &info)?;
        events.push(unknown_stream(stream_id, type_id));
        Ok(false)
    }

    /// Ends whatever the stream does, reporting it; a publisher that was
    /// accepted and stopped by the client itself gets
    /// `NetStream.Unpublish.Success` (FMS, nginx-rtmp, SRS).
    pub(super) fn end_activity(
        &mut self,
        stream_id: u32,
        reason: CloseReason,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        let Some(info) = self.streams.get_mut(&stream_id) else {
            return Ok(());
        };
        let activity = std::mem::take(&mut info.activity);
        let Some((role, accepted)) = activity.role() else {
            return Ok(());
        };
        if let StreamActivity::Publishing { name, .. } = &activity {
            if reason != CloseReason::DeleteStream {
                let info = StatusInfo::new(
                    status::LEVEL_STATUS,
                    status::NS_UNPUBLISH_SUCCESS,
                    &format!("{name} is now unpublished."),
                )
                .with_details(name);
                self.queue_status(stream_id, &info)?;
            }
        }
        events.push(SessionEvent::StreamClosed {
            stream_id,
            role,
            accepted,
            reason,
        });
        Ok(())
    }

    fn bad_arguments(
        &mut self,
        stream_id: u32,
        type_id: u8,
        transaction_id: f64,
        error: &CommandError,
        events: &mut Vec<SessionEvent>,
    ) -> Result<(), SessionError> {
        events.push(SessionEvent::Ignored {
            stream_id,
            type_id,
            reason: IgnoreReason::BadArguments,
        });
        self.call_error(transaction_id, status::NC_CALL_FAILED, &error.to_string())
    }
}

fn unknown_stream(stream_id: u32, type_id: u8) -> SessionEvent {
    SessionEvent::Ignored {
        stream_id,
        type_id,
        reason: IgnoreReason::UnknownStream,
    }
}

/// The connect command object without the decoder's spare capacity: the
/// application keeps it for the whole life of the connection (a typical
/// connect object has 8–10 members in a vector grown to 16).
fn compacted(value: AmfValue) -> AmfValue {
    match value {
        AmfValue::Object(mut object) => {
            if let Some(object) = std::sync::Arc::get_mut(&mut object) {
                object.members.shrink_to_fit();
            }
            AmfValue::Object(object)
        }
        other => other,
    }
}

//! The outbound queue and everything the server sends on its own initiative:
//! statuses, calls, SharedObject messages, media, metadata, pings.
//!
//! Small messages are chunked into one growing buffer; media payloads are
//! chunked with [`ChunkEncoder::encode_segments`](crate::protocol::chunk::ChunkEncoder::encode_segments)
//! so the payload `Bytes` shared by every player is never copied. The caller
//! drains both, in order, with [`ServerSession::take_outbound`].

use bytes::{Bytes, BytesMut};

use super::events::MediaKind;
use super::CSID_VIDEO;
use super::{ServerSession, SessionError, CSID_AUDIO, CSID_COMMAND, CSID_CONTROL, CSID_DATA};
use crate::protocol::amf::AmfValue;
use crate::protocol::chunk::{MessageHeader, RawMessage};
use crate::protocol::command::{self, encode_values, CommandEncoding, CommandMessage, StatusInfo};
use crate::protocol::flv::ON_METADATA;
use crate::protocol::message::{RtmpMessage, UserControlEvent, DATA_AMF0};
use crate::protocol::shared_object::SharedObjectMessage;

impl ServerSession {
    /// Takes the bytes to write to the client, in order (segments for a
    /// vectored write). Empty when nothing is queued.
    pub fn take_outbound(&mut self) -> Vec<Bytes> {
        self.writer.take()
    }

    /// Whether bytes are waiting in [`take_outbound`](Self::take_outbound).
    pub fn has_outbound(&self) -> bool {
        self.writer.has_pending()
    }

    /// Sends an `onStatus` on a message stream (e.g.
    /// `NetStream.Play.PublishNotify`, `NetStream.Play.Stop`), in the
    /// connection's object encoding.
    ///
    /// # Errors
    ///
    /// [`SessionError::UnknownStream`] when `stream_id` is neither 0 nor a
    /// created stream; encoding errors for unencodable extra values.
    pub fn send_status(&mut self, stream_id: u32, info: &StatusInfo) -> Result<(), SessionError> {
        self.check_stream(stream_id)?;
        self.queue_status(stream_id, info)
    }

    /// Sends User Control Stream EOF for a message stream (after the last
    /// frame of a recorded stream, or when a live publisher leaves).
    ///
    /// # Errors
    ///
    /// [`SessionError::UnknownStream`] for a stream that was never created.
    pub fn send_stream_eof(&mut self, stream_id: u32) -> Result<(), SessionError> {
        self.check_stream(stream_id)?;
        self.queue_user_control(UserControlEvent::StreamEof { stream_id })
    }

    /// Sends User Control Stream Begin for a message stream (e.g. when a
    /// publisher (re)starts a stream a player waits on).
    ///
    /// # Errors
    ///
    /// [`SessionError::UnknownStream`] for a stream that was never created.
    pub fn send_stream_begin(&mut self, stream_id: u32) -> Result<(), SessionError> {
        self.check_stream(stream_id)?;
        self.queue_user_control(UserControlEvent::StreamBegin { stream_id })
    }

    /// Answers a call with `_result` and `values`. Does nothing for
    /// transaction id 0 (a notification expects no answer).
    ///
    /// # Errors
    ///
    /// Encoding errors for unencodable values.
    pub fn call_result(
        &mut self,
        transaction_id: f64,
        values: Vec<AmfValue>,
    ) -> Result<(), SessionError> {
        if transaction_id == 0.0 {
            return Ok(());
        }
        let reply = command::call_result(transaction_id, values);
        self.queue_command(0, &reply, self.command_encoding(), "_result")
    }

    /// Answers a call with `_error`: an info object with `code` (empty for
    /// `NetConnection.Call.Failed`) and `description`. Does nothing for
    /// transaction id 0.
    ///
    /// # Errors
    ///
    /// Encoding errors (none for plain strings).
    pub fn call_error(
        &mut self,
        transaction_id: f64,
        code: &str,
        description: &str,
    ) -> Result<(), SessionError> {
        if transaction_id == 0.0 {
            return Ok(());
        }
        let reply = command::call_error(transaction_id, code, description);
        self.queue_command(0, &reply, self.command_encoding(), "_error")
    }

    /// Calls `method(args...)` on the client with a fresh transaction id and
    /// returns it; the answer arrives as
    /// [`SessionEvent::CallResult`](super::SessionEvent::CallResult) with the
    /// same id. Timeouts are the caller's business.
    ///
    /// # Errors
    ///
    /// [`SessionError::NotConnected`] before an accepted connect; encoding
    /// errors for unencodable values.
    pub fn invoke(&mut self, method: &str, args: Vec<AmfValue>) -> Result<f64, SessionError> {
        self.check_connected(method)?;
        let transaction_id = self.next_transaction_id as f64;
        self.next_transaction_id += 1;
        let call = CommandMessage::new(method, transaction_id, AmfValue::Null, args);
        self.queue_command(0, &call, self.command_encoding(), "call")?;
        Ok(transaction_id)
    }

    /// Calls `method(args...)` on the client with transaction id 0: no
    /// answer expected (broadcasts, server-side events).
    ///
    /// # Errors
    ///
    /// As [`invoke`](Self::invoke).
    pub fn notify(&mut self, method: &str, args: Vec<AmfValue>) -> Result<(), SessionError> {
        self.check_connected(method)?;
        let call = CommandMessage::new(method, 0.0, AmfValue::Null, args);
        self.queue_command(0, &call, self.command_encoding(), "call")
    }

    /// Sends a SharedObject message, as type 16 or 19: the type the client
    /// used for its first SharedObject message, else its object encoding.
    ///
    /// # Errors
    ///
    /// [`SessionError::NotConnected`] before an accepted connect;
    /// [`SessionError::EncodeSharedObject`] for names or slots too long.
    pub fn send_shared_object(
        &mut self,
        message: &SharedObjectMessage,
    ) -> Result<(), SessionError> {
        self.check_connected("SharedObject message")?;
        let encoding = self
            .so_encoding
            .unwrap_or_else(|| self.object_encoding().shared_object_encoding());
        let mut body = BytesMut::new();
        message
            .encode(encoding, &mut body)
            .map_err(SessionError::EncodeSharedObject)?;
        self.queue_raw(CSID_COMMAND, 0, 0, encoding.message_type(), body.freeze())
    }

    /// Sends one audio or video frame on a message stream without copying
    /// `payload` (only chunk headers are written). Returns `false` (and sends
    /// nothing) when the client turned that kind off with `receiveAudio` /
    /// `receiveVideo`.
    ///
    /// # Errors
    ///
    /// [`SessionError::UnknownStream`] for a stream that was never created;
    /// [`SessionError::EncodeChunk`] for a payload over 16 MiB.
    pub fn send_media(
        &mut self,
        stream_id: u32,
        kind: MediaKind,
        timestamp: u32,
        payload: &Bytes,
    ) -> Result<bool, SessionError> {
        let info = self
            .streams
            .get(&stream_id)
            .ok_or(SessionError::UnknownStream { stream_id })?;
        let wanted = match kind {
            MediaKind::Audio => info.receive_audio,
            MediaKind::Video => info.receive_video,
        };
        if !wanted {
            return Ok(false);
        }
        let csid = match kind {
            MediaKind::Audio => CSID_AUDIO,
            MediaKind::Video => CSID_VIDEO,
        };
        let header = MessageHeader {
            csid,
            timestamp,
            type_id: kind.type_id(),
            stream_id,
        };
        self.writer
            .queue_shared(&header, payload)
            .map_err(|source| SessionError::EncodeChunk {
                type_id: header.type_id,
                source,
            })?;
        Ok(true)
    }

    /// Sends `onMetaData(values...)` as an AMF0 data message (type 18, as FMS
    /// sends stream data to every client).
    ///
    /// # Errors
    ///
    /// [`SessionError::UnknownStream`]; encoding errors.
    pub fn send_metadata(
        &mut self,
        stream_id: u32,
        timestamp: u32,
        values: &[AmfValue],
    ) -> Result<(), SessionError> {
        let mut all = Vec::with_capacity(values.len() + 1);
        all.push(AmfValue::string(ON_METADATA));
        all.extend(values.iter().cloned());
        self.send_data(stream_id, timestamp, &all)
    }

    /// Sends a data message (type 18) with the given values (the first is
    /// normally a handler name, e.g. `NetStream.send` relays).
    ///
    /// # Errors
    ///
    /// [`SessionError::UnknownStream`]; encoding errors.
    pub fn send_data(
        &mut self,
        stream_id: u32,
        timestamp: u32,
        values: &[AmfValue],
    ) -> Result<(), SessionError> {
        self.check_stream(stream_id)?;
        self.queue_data(stream_id, timestamp, values)
    }

    /// Sends an already-encoded AMF0 data message body (type 18) without
    /// copying it: for relaying a publisher's data messages to many players.
    ///
    /// # Errors
    ///
    /// [`SessionError::UnknownStream`]; [`SessionError::EncodeChunk`].
    pub fn send_data_raw(
        &mut self,
        stream_id: u32,
        timestamp: u32,
        payload: &Bytes,
    ) -> Result<(), SessionError> {
        self.check_stream(stream_id)?;
        let header = MessageHeader {
            csid: CSID_DATA,
            timestamp,
            type_id: DATA_AMF0,
            stream_id,
        };
        self.writer
            .queue_shared(&header, payload)
            .map_err(|source| SessionError::EncodeChunk {
                type_id: DATA_AMF0,
                source,
            })
    }

    /// Sends User Control Ping Request carrying `now_ms` (truncated to 32
    /// bits) as keepalive / round-trip probe. The answer arrives as
    /// [`SessionEvent::PingResponseReceived`](super::SessionEvent::PingResponseReceived).
    ///
    /// # Errors
    ///
    /// [`SessionError::HandshakeIncomplete`] during the handshake.
    pub fn ping(&mut self, now_ms: u64) -> Result<(), SessionError> {
        let timestamp = now_ms as u32;
        self.queue_user_control(UserControlEvent::PingRequest { timestamp })?;
        self.last_ping = Some((timestamp, now_ms));
        Ok(())
    }

    // --- internal helpers -----------------------------------------------------

    /// The command message type for everything but the connect answer.
    pub(super) fn command_encoding(&self) -> CommandEncoding {
        self.object_encoding().command_encoding()
    }

    pub(super) fn check_stream(&self, stream_id: u32) -> Result<(), SessionError> {
        if self.handshake.is_some() {
            return Err(SessionError::HandshakeIncomplete);
        }
        if stream_id == 0 || self.streams.contains_key(&stream_id) {
            Ok(())
        } else {
            Err(SessionError::UnknownStream { stream_id })
        }
    }

    fn check_connected(&self, what: &str) -> Result<(), SessionError> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(SessionError::NotConnected { what: what.into() })
        }
    }

    pub(super) fn queue_status(
        &mut self,
        stream_id: u32,
        info: &StatusInfo,
    ) -> Result<(), SessionError> {
        let message = command::on_status(info);
        self.queue_command(stream_id, &message, self.command_encoding(), "onStatus")
    }

    pub(super) fn queue_command(
        &mut self,
        stream_id: u32,
        message: &CommandMessage,
        encoding: CommandEncoding,
        what: &'static str,
    ) -> Result<(), SessionError> {
        let mut body = BytesMut::new();
        message
            .encode(encoding, &mut body)
            .map_err(|source| SessionError::EncodeCommand { what, source })?;
        self.queue_raw(
            CSID_COMMAND,
            0,
            stream_id,
            encoding.message_type(),
            body.freeze(),
        )
    }

    pub(super) fn queue_data(
        &mut self,
        stream_id: u32,
        timestamp: u32,
        values: &[AmfValue],
    ) -> Result<(), SessionError> {
        let mut body = BytesMut::new();
        encode_values(values, CommandEncoding::Amf0, &mut body).map_err(|source| {
            SessionError::EncodeCommand {
                what: "data message",
                source,
            }
        })?;
        self.queue_raw(CSID_DATA, timestamp, stream_id, DATA_AMF0, body.freeze())
    }

    pub(super) fn queue_control(&mut self, message: &RtmpMessage) -> Result<(), SessionError> {
        let (type_id, payload) = message.encode().map_err(|source| SessionError::Message {
            type_id: message.type_id(),
            stream_id: 0,
            source,
        })?;
        self.queue_raw(CSID_CONTROL, 0, 0, type_id, payload)
    }

    pub(super) fn queue_user_control(
        &mut self,
        event: UserControlEvent,
    ) -> Result<(), SessionError> {
        self.queue_control(&RtmpMessage::UserControl(event))
    }

    pub(super) fn queue_acknowledgement(
        &mut self,
        sequence_number: u32,
    ) -> Result<(), SessionError> {
        self.queue_control(&RtmpMessage::Acknowledgement { sequence_number })
    }

    fn queue_raw(
        &mut self,
        csid: u32,
        timestamp: u32,
        stream_id: u32,
        type_id: u8,
        payload: Bytes,
    ) -> Result<(), SessionError> {
        if self.handshake.is_some() {
            return Err(SessionError::HandshakeIncomplete);
        }
        let raw = RawMessage {
            csid,
            timestamp,
            type_id,
            stream_id,
            payload,
        };
        self.writer
            .queue(&raw)
            .map_err(|source| SessionError::EncodeChunk { type_id, source })
    }
}

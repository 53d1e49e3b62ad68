//! Requests to the server and the outbound queue.
//!
//! Small messages are chunked into one growing buffer; media payloads are
//! chunked with
//! [`ChunkEncoder::encode_segments`](crate::protocol::chunk::ChunkEncoder::encode_segments)
//! so they are never copied. The caller drains both, in order, with
//! [`ClientSession::take_outbound`].

use bytes::{Bytes, BytesMut};

use super::events::{ConnectRequest, TransactionId};
use super::{ClientSession, ClientSessionError, Connection, Pending};
use crate::protocol::amf::AmfValue;
use crate::protocol::chunk::{MessageHeader, RawMessage};
use crate::protocol::command::{self, encode_values, CommandEncoding, CommandMessage};
use crate::protocol::flv::{ON_METADATA, SET_DATA_FRAME};
use crate::protocol::message::{RtmpMessage, DATA_AMF0};
use crate::protocol::session::{
    MediaKind, ObjectEncoding, CSID_AUDIO, CSID_COMMAND, CSID_CONTROL, CSID_DATA, CSID_VIDEO,
};
use crate::protocol::shared_object::SharedObjectMessage;

/// Chunk stream id of commands on a message stream (publish, play), as
/// ffmpeg uses.
const CSID_STREAM_COMMAND: u32 = 8;

impl ClientSession {
    /// Takes the bytes to write to the server, in order (segments for a
    /// vectored write). Empty when nothing is queued.
    pub fn take_outbound(&mut self) -> Vec<Bytes> {
        self.writer.take()
    }

    /// Whether bytes are waiting in [`take_outbound`](Self::take_outbound).
    pub fn has_outbound(&self) -> bool {
        self.writer.has_pending()
    }

    /// Sends Set Chunk Size and `connect`; the answer arrives as
    /// [`ClientEvent::Connected`](super::ClientEvent::Connected) or
    /// [`ClientEvent::ConnectRejected`](super::ClientEvent::ConnectRejected).
    ///
    /// # Errors
    ///
    /// [`ClientSessionError::HandshakeIncomplete`] before the handshake is
    /// done; [`ClientSessionError::AlreadyConnecting`] the second time;
    /// encoding errors for unencodable arguments.
    pub fn connect(
        &mut self,
        request: &ConnectRequest,
    ) -> Result<TransactionId, ClientSessionError> {
        if self.handshake.is_some() {
            return Err(ClientSessionError::HandshakeIncomplete);
        }
        if self.connection != Connection::Idle {
            return Err(ClientSessionError::AlreadyConnecting);
        }
        let transaction_id = self.next_id();
        let mut object = vec![
            ("app", AmfValue::string(request.app.as_str())),
            ("flashVer", AmfValue::string(request.flash_ver.as_str())),
            ("tcUrl", AmfValue::string(request.tc_url.as_str())),
            ("fpad", AmfValue::Boolean(false)),
            ("capabilities", AmfValue::Number(15.0)),
            ("audioCodecs", AmfValue::Number(3191.0)),
            ("videoCodecs", AmfValue::Number(252.0)),
            ("videoFunction", AmfValue::Number(1.0)),
        ];
        object.push((
            "objectEncoding",
            AmfValue::Number(request.object_encoding.to_f64()),
        ));
        let message = CommandMessage::new(
            "connect",
            transaction_id as f64,
            AmfValue::object(object),
            request.args.clone(),
        );
        self.queue_control(&RtmpMessage::SetChunkSize(self.config.chunk_size))?;
        // Type 20 whatever the object encoding, as Flash Player sends it.
        self.queue_command(0, &message, CommandEncoding::Amf0, "connect")?;
        self.connection = Connection::Requested {
            transaction_id,
            object_encoding: request.object_encoding,
        };
        Ok(TransactionId(transaction_id))
    }

    /// Calls `method(args...)` on the server (`NetConnection.call`); the
    /// answer arrives as
    /// [`ClientEvent::CallResult`](super::ClientEvent::CallResult) with the
    /// returned id.
    ///
    /// # Errors
    ///
    /// [`ClientSessionError::NotConnectedYet`] before `connect` succeeded;
    /// [`ClientSessionError::TooManyPendingCalls`]; encoding errors.
    pub fn call(
        &mut self,
        method: &str,
        args: Vec<AmfValue>,
    ) -> Result<TransactionId, ClientSessionError> {
        self.request(0, method, args)
    }

    /// Calls `method(args...)` with transaction id 0: no answer expected.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub fn notify(&mut self, method: &str, args: Vec<AmfValue>) -> Result<(), ClientSessionError> {
        self.check_connected("a notification")?;
        let message = CommandMessage::new(method, 0.0, AmfValue::Null, args);
        self.queue_command(0, &message, self.command_encoding(), "a notification")
    }

    /// Sends `createStream`; the `_result` carrying the new message stream
    /// id arrives as [`ClientEvent::CallResult`](super::ClientEvent::CallResult).
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub fn create_stream(&mut self) -> Result<TransactionId, ClientSessionError> {
        self.request(0, "createStream", Vec::new())
    }

    /// Sends `publish(name, publish_type)` on `stream_id` (transaction id 0,
    /// as Flash Player); the outcome arrives as an `onStatus`
    /// (`NetStream.Publish.Start` or an error).
    ///
    /// # Errors
    ///
    /// As [`notify`](Self::notify).
    pub fn publish(
        &mut self,
        stream_id: u32,
        name: &str,
        publish_type: &str,
    ) -> Result<(), ClientSessionError> {
        self.stream_command(
            stream_id,
            "publish",
            vec![AmfValue::string(name), AmfValue::string(publish_type)],
        )
    }

    /// Sends `play(name)` (live or recorded, to the end) on `stream_id`; the
    /// outcome arrives as `onStatus` (`NetStream.Play.Start` or an error),
    /// then media.
    ///
    /// # Errors
    ///
    /// As [`notify`](Self::notify).
    pub fn play(&mut self, stream_id: u32, name: &str) -> Result<(), ClientSessionError> {
        self.stream_command(
            stream_id,
            "play",
            vec![
                AmfValue::string(name),
                AmfValue::Number(-2.0),
                AmfValue::Number(-1.0),
            ],
        )
    }

    /// Sends `closeStream` on `stream_id` (stops publishing or playing).
    ///
    /// # Errors
    ///
    /// As [`notify`](Self::notify).
    pub fn close_stream(&mut self, stream_id: u32) -> Result<(), ClientSessionError> {
        self.stream_command(stream_id, "closeStream", Vec::new())
    }

    /// Sends `deleteStream(stream_id)`.
    ///
    /// # Errors
    ///
    /// As [`notify`](Self::notify).
    pub fn delete_stream(&mut self, stream_id: u32) -> Result<(), ClientSessionError> {
        self.check_connected("deleteStream")?;
        let message = CommandMessage::new(
            "deleteStream",
            0.0,
            AmfValue::Null,
            vec![AmfValue::Number(f64::from(stream_id))],
        );
        self.queue_command(0, &message, self.command_encoding(), "deleteStream")
    }

    /// Answers a server→client call with `_result` and `values`. Does
    /// nothing for transaction id 0.
    ///
    /// # Errors
    ///
    /// As [`notify`](Self::notify).
    pub fn reply_result(
        &mut self,
        transaction_id: f64,
        values: Vec<AmfValue>,
    ) -> Result<(), ClientSessionError> {
        if transaction_id == 0.0 {
            return Ok(());
        }
        self.check_connected("_result")?;
        let reply = command::call_result(transaction_id, values);
        self.queue_command(0, &reply, self.command_encoding(), "_result")
    }

    /// Answers a server→client call with `_error`: an info object with
    /// `code` (empty for `NetConnection.Call.Failed`) and `description`.
    /// Does nothing for transaction id 0.
    ///
    /// # Errors
    ///
    /// As [`notify`](Self::notify).
    pub fn reply_error(
        &mut self,
        transaction_id: f64,
        code: &str,
        description: &str,
    ) -> Result<(), ClientSessionError> {
        if transaction_id == 0.0 {
            return Ok(());
        }
        self.check_connected("_error")?;
        let reply = command::call_error(transaction_id, code, description);
        self.queue_command(0, &reply, self.command_encoding(), "_error")
    }

    /// Sends one audio or video frame on a publishing stream without copying
    /// `payload`.
    ///
    /// # Errors
    ///
    /// [`ClientSessionError::NotConnectedYet`];
    /// [`ClientSessionError::EncodeChunk`] for a payload over 16 MiB.
    pub fn send_media(
        &mut self,
        stream_id: u32,
        kind: MediaKind,
        timestamp: u32,
        payload: &Bytes,
    ) -> Result<(), ClientSessionError> {
        self.check_connected("media")?;
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
            .map_err(|source| ClientSessionError::EncodeChunk {
                type_id: header.type_id,
                source,
            })
    }

    /// Sends `@setDataFrame("onMetaData", values...)` as an AMF0 data message
    /// (as ffmpeg and OBS do; the server stores it for late joiners).
    ///
    /// # Errors
    ///
    /// As [`send_data`](Self::send_data).
    pub fn send_metadata(
        &mut self,
        stream_id: u32,
        values: &[AmfValue],
    ) -> Result<(), ClientSessionError> {
        let mut all = Vec::with_capacity(values.len() + 2);
        all.push(AmfValue::string(SET_DATA_FRAME));
        all.push(AmfValue::string(ON_METADATA));
        all.extend(values.iter().cloned());
        self.send_data(stream_id, 0, &all)
    }

    /// Sends an AMF0 data message (type 18) with `values` (the first is
    /// normally a handler name).
    ///
    /// # Errors
    ///
    /// [`ClientSessionError::NotConnectedYet`]; encoding errors.
    pub fn send_data(
        &mut self,
        stream_id: u32,
        timestamp: u32,
        values: &[AmfValue],
    ) -> Result<(), ClientSessionError> {
        self.check_connected("a data message")?;
        let mut body = BytesMut::new();
        encode_values(values, CommandEncoding::Amf0, &mut body).map_err(|source| {
            ClientSessionError::Encode {
                what: "a data message",
                source,
            }
        })?;
        self.queue_raw(CSID_DATA, timestamp, stream_id, DATA_AMF0, body.freeze())
    }

    /// Sends a SharedObject message: type 16 after an AMF3 `connect`, else
    /// type 19.
    ///
    /// # Errors
    ///
    /// [`ClientSessionError::NotConnectedYet`];
    /// [`ClientSessionError::EncodeSharedObject`] for names or slots too long.
    pub fn send_shared_object(
        &mut self,
        message: &SharedObjectMessage,
    ) -> Result<(), ClientSessionError> {
        self.check_connected("a SharedObject message")?;
        let encoding = self.object_encoding().shared_object_encoding();
        let mut body = BytesMut::new();
        message
            .encode(encoding, &mut body)
            .map_err(ClientSessionError::EncodeSharedObject)?;
        self.queue_raw(CSID_COMMAND, 0, 0, encoding.message_type(), body.freeze())
    }

    // --- internal helpers -----------------------------------------------------

    fn next_id(&mut self) -> u64 {
        let id = self.next_transaction_id;
        self.next_transaction_id += 1;
        id
    }

    fn request(
        &mut self,
        stream_id: u32,
        method: &str,
        args: Vec<AmfValue>,
    ) -> Result<TransactionId, ClientSessionError> {
        self.check_connected("a call")?;
        if self.pending.len() >= self.config.max_pending_calls {
            return Err(ClientSessionError::TooManyPendingCalls {
                pending: self.pending.len(),
                limit: self.config.max_pending_calls,
            });
        }
        let id = self.next_id();
        let message = CommandMessage::new(method, id as f64, AmfValue::Null, args);
        self.queue_command(stream_id, &message, self.command_encoding(), "a call")?;
        self.pending.insert(id, Pending::Call);
        Ok(TransactionId(id))
    }

    fn stream_command(
        &mut self,
        stream_id: u32,
        name: &'static str,
        args: Vec<AmfValue>,
    ) -> Result<(), ClientSessionError> {
        self.check_connected(name)?;
        let message = CommandMessage::new(name, 0.0, AmfValue::Null, args);
        self.queue_command(stream_id, &message, self.command_encoding(), name)
    }

    fn check_connected(&self, what: &'static str) -> Result<(), ClientSessionError> {
        if self.is_connected() {
            Ok(())
        } else {
            Err(ClientSessionError::NotConnectedYet { what })
        }
    }

    fn command_encoding(&self) -> CommandEncoding {
        match self.object_encoding() {
            ObjectEncoding::Amf0 => CommandEncoding::Amf0,
            ObjectEncoding::Amf3 => CommandEncoding::Amf3,
        }
    }

    fn queue_command(
        &mut self,
        stream_id: u32,
        message: &CommandMessage,
        encoding: CommandEncoding,
        what: &'static str,
    ) -> Result<(), ClientSessionError> {
        let mut body = BytesMut::new();
        message
            .encode(encoding, &mut body)
            .map_err(|source| ClientSessionError::Encode { what, source })?;
        let csid = if stream_id == 0 {
            CSID_COMMAND
        } else {
            CSID_STREAM_COMMAND
        };
        self.queue_raw(csid, 0, stream_id, encoding.message_type(), body.freeze())
    }

    pub(super) fn queue_control(
        &mut self,
        message: &RtmpMessage,
    ) -> Result<(), ClientSessionError> {
        let (type_id, payload) =
            message
                .encode()
                .map_err(|source| ClientSessionError::Message {
                    type_id: message.type_id(),
                    stream_id: 0,
                    source,
                })?;
        self.queue_raw(CSID_CONTROL, 0, 0, type_id, payload)
    }

    pub(super) fn queue_acknowledgement(
        &mut self,
        sequence_number: u32,
    ) -> Result<(), ClientSessionError> {
        self.queue_control(&RtmpMessage::Acknowledgement { sequence_number })
    }

    fn queue_raw(
        &mut self,
        csid: u32,
        timestamp: u32,
        stream_id: u32,
        type_id: u8,
        payload: Bytes,
    ) -> Result<(), ClientSessionError> {
        if self.handshake.is_some() {
            return Err(ClientSessionError::HandshakeIncomplete);
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
            .map_err(|source| ClientSessionError::EncodeChunk { type_id, source })
    }
}

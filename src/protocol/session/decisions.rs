//! The application's answers to the requests the session reported
//! (`ConnectRequested`, `PublishRequested`, `PlayRequested`), in the order
//! and form FMS uses.

use bytestring::ByteString;

use super::events::RequestId;
use super::state::{Connection, StreamActivity};
use super::{ServerSession, SessionError};
use crate::protocol::amf::{AmfObject, AmfValue};
use crate::protocol::command::{self, status, ConnectResultOptions, StatusInfo};
use crate::protocol::message::{LimitType, RtmpMessage, UserControlEvent};

/// How to accept a `connect`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnectAccept {
    /// `information.description`; empty for "Connection succeeded.".
    pub description: ByteString,
    /// `information.data.version` (FMS sends its version), if any.
    pub version: Option<ByteString>,
    /// `information.clientid` (FMS sends the connection's id), if any.
    pub client_id: Option<AmfValue>,
    /// Further members appended to the `properties` object.
    pub properties: Vec<(ByteString, AmfValue)>,
    /// Further members appended to the `information` object (FMS
    /// `application` values returned by `acceptConnection`).
    pub information: Vec<(ByteString, AmfValue)>,
}

/// How to accept a `play`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayAccept {
    /// Send `NetStream.Play.Reset` before `NetStream.Play.Start` (echo the
    /// request's `reset`; FMS sends it for a fresh play list).
    pub reset: bool,
    /// `|RtmpSampleAccess` audio flag (allows `SoundMixer.computeSpectrum`).
    pub audio_sample_access: bool,
    /// `|RtmpSampleAccess` video flag (allows `BitmapData.draw`).
    pub video_sample_access: bool,
}

impl Default for PlayAccept {
    fn default() -> Self {
        Self {
            reset: true,
            audio_sample_access: true,
            video_sample_access: true,
        }
    }
}

impl ServerSession {
    /// Accepts the pending `connect`: sends Window Acknowledgement Size, Set
    /// Peer Bandwidth (dynamic), Stream Begin 0, Set Chunk Size, then the
    /// `_result` (fmsVer, capabilities, mode; `NetConnection.Connect.Success`
    /// with the client's `objectEncoding` echoed) on the message type the
    /// `connect` used (type 20 in practice, see the doc page).
    ///
    /// # Errors
    ///
    /// [`SessionError::UnknownRequest`] when `request` is not the pending
    /// connect; encoding errors for unencodable extra values.
    pub fn accept_connect(
        &mut self,
        request: RequestId,
        accept: &ConnectAccept,
    ) -> Result<(), SessionError> {
        let Connection::Requested {
            request: pending,
            app,
            transaction_id,
            reply_encoding,
            object_encoding,
        } = self.connection.clone()
        else {
            return Err(SessionError::UnknownRequest { request });
        };
        if pending != request {
            return Err(SessionError::UnknownRequest { request });
        }
        let window = self.config.window_ack_size;
        self.queue_control(&RtmpMessage::WindowAckSize(window))?;
        self.window_ack_sent = window;
        self.queue_control(&RtmpMessage::SetPeerBandwidth {
            window: self.config.peer_bandwidth,
            limit_type: LimitType::Dynamic,
        })?;
        self.queue_user_control(UserControlEvent::StreamBegin { stream_id: 0 })?;
        self.queue_control(&RtmpMessage::SetChunkSize(self.config.chunk_size))?;
        let mut options = ConnectResultOptions {
            fms_version: self.config.fms_version.clone(),
            capabilities: self.config.capabilities,
            mode: self.config.mode,
            object_encoding: object_encoding.to_f64(),
            version: accept.version.clone(),
            ..ConnectResultOptions::default()
        };
        if !accept.description.is_empty() {
            options.description = accept.description.clone();
        }
        let mut result = command::connect_result(transaction_id, &options);
        result.command_object = extend_object(&result.command_object, &accept.properties);
        let mut information = accept.information.clone();
        if let Some(id) = &accept.client_id {
            information.insert(0, ("clientid".into(), id.clone()));
        }
        if let Some(info) = result.args.first_mut() {
            *info = extend_object(info, &information);
        }
        self.queue_command(0, &result, reply_encoding, "connect _result")?;
        self.connection = Connection::Connected {
            app,
            object_encoding,
        };
        Ok(())
    }

    /// Rejects the pending `connect` with `_error`
    /// (`NetConnection.Connect.Rejected`, `description`). Close the
    /// connection once the bytes are written; any further command is a
    /// protocol violation.
    ///
    /// # Errors
    ///
    /// [`SessionError::UnknownRequest`] when `request` is not the pending
    /// connect.
    pub fn reject_connect(
        &mut self,
        request: RequestId,
        description: &str,
    ) -> Result<(), SessionError> {
        match &self.connection {
            Connection::Requested {
                request: pending,
                transaction_id,
                reply_encoding,
                ..
            } if *pending == request => {
                let error = command::connect_error(*transaction_id, description);
                let encoding = *reply_encoding;
                self.queue_command(0, &error, encoding, "connect _error")?;
                self.connection = Connection::Rejected;
                Ok(())
            }
            _ => Err(SessionError::UnknownRequest { request }),
        }
    }

    /// Accepts a pending `publish`: Stream Begin for the stream, then
    /// `onStatus` `NetStream.Publish.Start`.
    ///
    /// # Errors
    ///
    /// [`SessionError::UnknownRequest`] when the request is not a pending
    /// publish (already decided, or the client closed the stream meanwhile).
    pub fn accept_publish(&mut self, request: RequestId) -> Result<(), SessionError> {
        let (stream_id, name, publish_type) = match self.pending(request) {
            Some((
                id,
                StreamActivity::PublishRequested {
                    name, publish_type, ..
                },
            )) => (id, name.clone(), publish_type.clone()),
            _ => return Err(SessionError::UnknownRequest { request }),
        };
        self.queue_user_control(UserControlEvent::StreamBegin { stream_id })?;
        let info = StatusInfo::new(
            status::LEVEL_STATUS,
            status::NS_PUBLISH_START,
            &format!("{name} is now published."),
        )
        .with_details(&name);
        self.queue_status(stream_id, &info)?;
        self.set_activity(stream_id, StreamActivity::Publishing { name, publish_type });
        Ok(())
    }

    /// Rejects a pending `publish` with an error `onStatus` (`code`, e.g.
    /// [`status::NS_PUBLISH_BAD_NAME`]); the stream goes back to idle.
    ///
    /// # Errors
    ///
    /// As [`accept_publish`](Self::accept_publish).
    pub fn reject_publish(
        &mut self,
        request: RequestId,
        code: &str,
        description: &str,
    ) -> Result<(), SessionError> {
        self.reject_stream_request(request, true, code, description)
    }

    /// Accepts a pending `play` in the FMS order: Stream Begin,
    /// `NetStream.Play.Reset` (when `accept.reset`), `NetStream.Play.Start`,
    /// the `|RtmpSampleAccess` data message, and the `onStatus` data message
    /// `NetStream.Data.Start`. Media may follow with
    /// [`send_media`](Self::send_media).
    ///
    /// # Errors
    ///
    /// [`SessionError::UnknownRequest`] when the request is not a pending play.
    pub fn accept_play(
        &mut self,
        request: RequestId,
        accept: &PlayAccept,
    ) -> Result<(), SessionError> {
        let (stream_id, name) = match self.pending(request) {
            Some((id, StreamActivity::PlayRequested { name, .. })) => (id, name.clone()),
            _ => return Err(SessionError::UnknownRequest { request }),
        };
        self.queue_user_control(UserControlEvent::StreamBegin { stream_id })?;
        if accept.reset {
            let info = StatusInfo::new(
                status::LEVEL_STATUS,
                status::NS_PLAY_RESET,
                &format!("Playing and resetting {name}."),
            )
            .with_details(&name);
            self.queue_status(stream_id, &info)?;
        }
        let info = StatusInfo::new(
            status::LEVEL_STATUS,
            status::NS_PLAY_START,
            &format!("Started playing {name}."),
        )
        .with_details(&name);
        self.queue_status(stream_id, &info)?;
        let access =
            command::rtmp_sample_access(accept.audio_sample_access, accept.video_sample_access);
        self.queue_data(stream_id, 0, &access)?;
        // FMS and SRS send Data.Start as a *data* message named onStatus.
        let data_start = [
            AmfValue::string("onStatus"),
            AmfValue::object([("code", AmfValue::string(status::NS_DATA_START))]),
        ];
        self.queue_data(stream_id, 0, &data_start)?;
        self.set_activity(stream_id, StreamActivity::Playing { name });
        Ok(())
    }

    /// Rejects a pending `play` with an error `onStatus` (`code`, e.g.
    /// [`status::NS_PLAY_STREAM_NOT_FOUND`]); the stream goes back to idle.
    ///
    /// # Errors
    ///
    /// As [`accept_play`](Self::accept_play).
    pub fn reject_play(
        &mut self,
        request: RequestId,
        code: &str,
        description: &str,
    ) -> Result<(), SessionError> {
        self.reject_stream_request(request, false, code, description)
    }

    fn reject_stream_request(
        &mut self,
        request: RequestId,
        publish: bool,
        code: &str,
        description: &str,
    ) -> Result<(), SessionError> {
        let (stream_id, name) = match self.pending(request) {
            Some((id, StreamActivity::PublishRequested { name, .. })) if publish => {
                (id, name.clone())
            }
            Some((id, StreamActivity::PlayRequested { name, .. })) if !publish => {
                (id, name.clone())
            }
            _ => return Err(SessionError::UnknownRequest { request }),
        };
        let info = StatusInfo::new(status::LEVEL_ERROR, code, description).with_details(&name);
        self.queue_status(stream_id, &info)?;
        self.set_activity(stream_id, StreamActivity::Idle);
        Ok(())
    }

    /// The stream holding pending request `request`, and its activity.
    fn pending(&self, request: RequestId) -> Option<(u32, &StreamActivity)> {
        self.streams
            .iter()
            .find(|(_, info)| info.activity.request() == Some(request))
            .map(|(id, info)| (*id, &info.activity))
    }

    fn set_activity(&mut self, stream_id: u32, activity: StreamActivity) {
        if let Some(info) = self.streams.get_mut(&stream_id) {
            info.activity = activity;
        }
    }
}

/// `object` (an anonymous object or ECMA array) with `extra` members
/// appended; `object` unchanged when there are none.
fn extend_object(object: &AmfValue, extra: &[(ByteString, AmfValue)]) -> AmfValue {
    if extra.is_empty() {
        return object.clone();
    }
    let mut members = match object {
        AmfValue::Object(o) => o.members.clone(),
        AmfValue::EcmaArray(a) => a.assoc.clone(),
        _ => Vec::new(),
    };
    members.extend(extra.iter().cloned());
    AmfValue::Object(std::sync::Arc::new(AmfObject::anonymous(members)))
}

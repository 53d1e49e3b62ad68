//! Builders for the server's answers: `_result` / `_error` (RTMP spec
//! §7.2.1.1–7.2.1.3), `onStatus` (§7.2.2), and the FMS conventions clients
//! expect (`onFCPublish`, `onBWDone`, `|RtmpSampleAccess`).
//!
//! Each builder returns a [`CommandMessage`] (or, for data messages, a value
//! list); the caller picks the message stream: connection-level answers go on
//! stream 0, `onStatus` on the stream's own message stream id.

use bytestring::ByteString;

use super::request::CommandMessage;
use super::status::{
    LEVEL_ERROR, LEVEL_STATUS, NC_CALL_FAILED, NC_CONNECT_REJECTED, NC_CONNECT_SUCCESS,
};
use crate::protocol::amf::AmfValue;

/// The `fmsVer` Ferrocast announces by default. Flash Player and some tools
/// parse it (`FMS/major,minor,...`) to enable features, so it claims FMS 3.5.
pub const DEFAULT_FMS_VERSION: &str = "FMS/3,5,7,7009";
/// The `capabilities` value FMS 3.5 sends (31).
pub const DEFAULT_CAPABILITIES: f64 = 31.0;
/// The `mode` value FMS sends (1).
pub const DEFAULT_MODE: f64 = 1.0;

/// What goes into a connect `_result` besides the fixed status fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectResultOptions {
    /// `properties.fmsVer`.
    pub fms_version: ByteString,
    /// `properties.capabilities`.
    pub capabilities: f64,
    /// `properties.mode`.
    pub mode: f64,
    /// `information.description`.
    pub description: ByteString,
    /// `information.objectEncoding`: echo the client's (0 or 3).
    pub object_encoding: f64,
    /// `information.data.version` (FMS sends e.g. `"3,5,7,7009"`); no `data`
    /// member when `None`.
    pub version: Option<ByteString>,
}

impl Default for ConnectResultOptions {
    fn default() -> Self {
        Self {
            fms_version: ByteString::from_static(DEFAULT_FMS_VERSION),
            capabilities: DEFAULT_CAPABILITIES,
            mode: DEFAULT_MODE,
            description: ByteString::from_static("Connection succeeded."),
            object_encoding: 0.0,
            version: None,
        }
    }
}

/// The connect `_result`: `properties` (fmsVer, capabilities, mode) as the
/// command object and an `information` status object as the argument.
pub fn connect_result(transaction_id: f64, options: &ConnectResultOptions) -> CommandMessage {
    let properties = AmfValue::object([
        ("fmsVer", AmfValue::String(options.fms_version.clone())),
        ("capabilities", AmfValue::Number(options.capabilities)),
        ("mode", AmfValue::Number(options.mode)),
    ]);
    let mut info = vec![
        ("level", AmfValue::string(LEVEL_STATUS)),
        ("code", AmfValue::string(NC_CONNECT_SUCCESS)),
        ("description", AmfValue::String(options.description.clone())),
        ("objectEncoding", AmfValue::Number(options.object_encoding)),
    ];
    if let Some(version) = &options.version {
        info.push((
            "data",
            AmfValue::ecma_array([("version", AmfValue::String(version.clone()))]),
        ));
    }
    CommandMessage::new(
        "_result",
        transaction_id,
        properties,
        vec![AmfValue::object(info)],
    )
}

/// The connect `_error`: `NetConnection.Connect.Rejected` with a reason.
pub fn connect_error(transaction_id: f64, description: &str) -> CommandMessage {
    let info = StatusInfo::new(LEVEL_ERROR, NC_CONNECT_REJECTED, description);
    CommandMessage::new(
        "_error",
        transaction_id,
        AmfValue::Null,
        vec![info.to_value()],
    )
}

/// A `_result` for a `NetConnection.call`: `null` command object, then the
/// returned values (usually one).
pub fn call_result(transaction_id: f64, values: Vec<AmfValue>) -> CommandMessage {
    CommandMessage::new("_result", transaction_id, AmfValue::Null, values)
}

/// An `_error` for a failed call: info object with level `"error"`, the given
/// code (use [`NC_CALL_FAILED`](super::status::NC_CALL_FAILED) for unknown
/// methods) and a description.
pub fn call_error(transaction_id: f64, code: &str, description: &str) -> CommandMessage {
    let code = if code.is_empty() {
        NC_CALL_FAILED
    } else {
        code
    };
    let info = StatusInfo::new(LEVEL_ERROR, code, description);
    CommandMessage::new(
        "_error",
        transaction_id,
        AmfValue::Null,
        vec![info.to_value()],
    )
}

/// The `createStream` `_result`: the new message stream id.
pub fn create_stream_result(transaction_id: f64, stream_id: u32) -> CommandMessage {
    CommandMessage::new(
        "_result",
        transaction_id,
        AmfValue::Null,
        vec![AmfValue::Number(f64::from(stream_id))],
    )
}

/// An `onStatus` notification: transaction id 0, `null` command object, the
/// info object. Send it on the stream's message stream id.
pub fn on_status(info: &StatusInfo) -> CommandMessage {
    CommandMessage::new("onStatus", 0.0, AmfValue::Null, vec![info.to_value()])
}

/// `onFCPublish` (FMS answer to `FCPublish`; ffmpeg and OBS wait for nothing
/// but log it): `{code, description}` with code `NetStream.Publish.Start`.
pub fn on_fc_publish(stream_name: &str) -> CommandMessage {
    fc_notify("onFCPublish", super::status::NS_PUBLISH_START, stream_name)
}

/// `onFCUnpublish` (FMS answer to `FCUnpublish`), code
/// `NetStream.Unpublish.Success`.
pub fn on_fc_unpublish(stream_name: &str) -> CommandMessage {
    fc_notify(
        "onFCUnpublish",
        super::status::NS_UNPUBLISH_SUCCESS,
        stream_name,
    )
}

fn fc_notify(name: &str, code: &str, stream_name: &str) -> CommandMessage {
    let info = AmfValue::object([
        ("code", AmfValue::string(code)),
        ("description", AmfValue::string(stream_name)),
    ]);
    CommandMessage::new(name, 0.0, AmfValue::Null, vec![info])
}

/// `onBWDone`: FMS sends it after connect; ffmpeg answers with `_checkbw`, old
/// Flash clients expect it before they start bandwidth-dependent logic.
pub fn on_bw_done() -> CommandMessage {
    CommandMessage::new("onBWDone", 0.0, AmfValue::Null, Vec::new())
}

/// `|RtmpSampleAccess`: a **data** message (type 18/15, not a command, so no
/// transaction id) sent before media on play; the two flags allow
/// `BitmapData.draw` / `SoundMixer.computeSpectrum` on the stream's audio and
/// video.
pub fn rtmp_sample_access(audio: bool, video: bool) -> Vec<AmfValue> {
    vec![
        AmfValue::string("|RtmpSampleAccess"),
        AmfValue::Boolean(audio),
        AmfValue::Boolean(video),
    ]
}

/// A status info object (`NetStatusEvent.info`).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusInfo {
    /// `level`: see [`status`](super::status) `LEVEL_*`.
    pub level: ByteString,
    /// `code`: see the [`status`](super::status) constants.
    pub code: ByteString,
    /// `description`: human-readable text.
    pub description: ByteString,
    /// `details`: the stream name, by FMS convention, on NetStream statuses.
    pub details: Option<ByteString>,
    /// `clientid`: the connection's id, by FMS convention.
    pub client_id: Option<AmfValue>,
    /// Further members, appended in order.
    pub extra: Vec<(ByteString, AmfValue)>,
}

impl StatusInfo {
    /// An info object with level, code and description only.
    pub fn new(level: &str, code: &str, description: &str) -> Self {
        Self {
            level: level.into(),
            code: code.into(),
            description: description.into(),
            details: None,
            client_id: None,
            extra: Vec::new(),
        }
    }

    /// Sets `details`.
    #[must_use]
    pub fn with_details(mut self, details: &str) -> Self {
        self.details = Some(details.into());
        self
    }

    /// Sets `clientid`.
    #[must_use]
    pub fn with_client_id(mut self, client_id: AmfValue) -> Self {
        self.client_id = Some(client_id);
        self
    }

    /// The info object as an anonymous AMF object, members in the order FMS
    /// writes them (level, code, description, details, clientid, extras).
    pub fn to_value(&self) -> AmfValue {
        let mut members: Vec<(ByteString, AmfValue)> = vec![
            ("level".into(), AmfValue::String(self.level.clone())),
            ("code".into(), AmfValue::String(self.code.clone())),
            (
                "description".into(),
                AmfValue::String(self.description.clone()),
            ),
        ];
        if let Some(details) = &self.details {
            members.push(("details".into(), AmfValue::String(details.clone())));
        }
        if let Some(id) = &self.client_id {
            members.push(("clientid".into(), id.clone()));
        }
        members.extend(self.extra.iter().cloned());
        AmfValue::object(members)
    }

    /// Reads an info object liberally (missing members read as empty strings;
    /// unknown members land in `extra`). `None` if `value` is not an object or
    /// ECMA array.
    pub fn from_value(value: &AmfValue) -> Option<Self> {
        let members: &[(ByteString, AmfValue)] = match value {
            AmfValue::Object(o) => &o.members,
            AmfValue::EcmaArray(a) => &a.assoc,
            _ => return None,
        };
        let mut info = Self::new("", "", "");
        for (k, v) in members {
            let text = || match v {
                AmfValue::String(s) => s.clone(),
                _ => ByteString::new(),
            };
            match &**k {
                "level" => info.level = text(),
                "code" => info.code = text(),
                "description" => info.description = text(),
                "details" => info.details = Some(text()),
                "clientid" => info.client_id = Some(v.clone()),
                _ => info.extra.push((k.clone(), v.clone())),
            }
        }
        Some(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::command::status::{NS_PLAY_START, NS_PUBLISH_BAD_NAME};
    use crate::protocol::command::Command;

    #[test]
    fn connect_result_carries_fms_properties_and_success_information() {
        let opts = ConnectResultOptions {
            object_encoding: 3.0,
            version: Some("3,5,7,7009".into()),
            ..ConnectResultOptions::default()
        };
        let m = connect_result(1.0, &opts);
        assert_eq!((&*m.name, m.transaction_id), ("_result", 1.0));
        let p = &m.command_object;
        assert_eq!(
            p.get("fmsVer").and_then(AmfValue::as_str),
            Some("FMS/3,5,7,7009")
        );
        assert_eq!(p.get("capabilities").and_then(AmfValue::as_f64), Some(31.0));
        assert_eq!(p.get("mode").and_then(AmfValue::as_f64), Some(1.0));
        let info = &m.args[0];
        assert_eq!(info.get("level").and_then(AmfValue::as_str), Some("status"));
        assert_eq!(
            info.get("code").and_then(AmfValue::as_str),
            Some("NetConnection.Connect.Success")
        );
        assert_eq!(
            info.get("objectEncoding").and_then(AmfValue::as_f64),
            Some(3.0)
        );
        let data = info.get("data").unwrap();
        assert_eq!(
            data.get("version").and_then(AmfValue::as_str),
            Some("3,5,7,7009")
        );
        assert!(
            connect_result(1.0, &ConnectResultOptions::default()).args[0]
                .get("data")
                .is_none()
        );
    }

    #[test]
    fn connect_error_is_a_rejection_with_the_reason() {
        let m = connect_error(1.0, "bad app");
        assert_eq!(&*m.name, "_error");
        let info = StatusInfo::from_value(&m.args[0]).unwrap();
        assert_eq!(
            (&*info.level, &*info.code, &*info.description),
            ("error", "NetConnection.Connect.Rejected", "bad app")
        );
    }

    #[test]
    fn call_error_defaults_to_call_failed() {
        let m = call_error(7.0, "", "no such method: foo");
        assert_eq!(
            (&*m.name, m.transaction_id, &m.command_object),
            ("_error", 7.0, &AmfValue::Null)
        );
        let info = StatusInfo::from_value(&m.args[0]).unwrap();
        assert_eq!(&*info.code, "NetConnection.Call.Failed");
        assert_eq!(&*info.level, "error");
    }

    #[test]
    fn call_and_create_stream_results_put_values_after_a_null_object() {
        let m = call_result(3.0, vec![AmfValue::string("pong")]);
        assert_eq!(
            m.to_values()[2..],
            [AmfValue::Null, AmfValue::string("pong")]
        );
        let m = create_stream_result(4.0, 1);
        assert_eq!(
            m.to_values(),
            vec![
                AmfValue::string("_result"),
                AmfValue::Number(4.0),
                AmfValue::Null,
                AmfValue::Number(1.0),
            ]
        );
    }

    #[test]
    fn on_status_has_transaction_zero_null_object_and_fms_member_order() {
        let info = StatusInfo::new(LEVEL_STATUS, NS_PLAY_START, "Started playing mystream.")
            .with_details("mystream")
            .with_client_id(AmfValue::string("abc"));
        let m = on_status(&info);
        assert_eq!(
            (&*m.name, m.transaction_id, &m.command_object),
            ("onStatus", 0.0, &AmfValue::Null)
        );
        let obj = m.args[0].as_object().unwrap();
        let keys: Vec<&str> = obj.members.iter().map(|(k, _)| &**k).collect();
        assert_eq!(
            keys,
            ["level", "code", "description", "details", "clientid"]
        );
        assert_eq!(StatusInfo::from_value(&m.args[0]), Some(info));
        // And the typed decoder reads it back as OnStatus.
        assert!(matches!(
            Command::from_message(m),
            Ok(Command::OnStatus { .. })
        ));
    }

    #[test]
    fn status_info_from_value_is_liberal() {
        let v = AmfValue::ecma_array([
            ("code", AmfValue::string(NS_PUBLISH_BAD_NAME)),
            ("level", AmfValue::Number(1.0)),
            ("extra", AmfValue::Boolean(true)),
        ]);
        let info = StatusInfo::from_value(&v).unwrap();
        assert_eq!(&*info.code, NS_PUBLISH_BAD_NAME);
        assert_eq!(&*info.level, "");
        assert_eq!(info.extra.len(), 1);
        assert_eq!(StatusInfo::from_value(&AmfValue::Null), None);
    }

    #[test]
    fn fms_notifications_have_the_expected_shape() {
        let m = on_fc_publish("key");
        assert_eq!(&*m.name, "onFCPublish");
        assert_eq!(
            m.args[0].get("code").and_then(AmfValue::as_str),
            Some("NetStream.Publish.Start")
        );
        assert_eq!(&*on_fc_unpublish("key").name, "onFCUnpublish");
        assert_eq!(on_bw_done().to_values().len(), 3);
        assert_eq!(
            rtmp_sample_access(true, false),
            vec![
                AmfValue::string("|RtmpSampleAccess"),
                AmfValue::Boolean(true),
                AmfValue::Boolean(false),
            ]
        );
    }
}

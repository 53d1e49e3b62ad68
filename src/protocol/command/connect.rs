//! The `connect` command (RTMP spec §7.2.1.1), including the Enhanced RTMP
//! members (`fourCcList`, `capsEx`, `videoFourCcInfoMap`, `audioFourCcInfoMap`).

use bytestring::ByteString;

use super::args::to_number;
use super::error::CommandError;
use super::request::CommandMessage;
use crate::protocol::amf::AmfValue;

/// The `connect` command: the command object's well-known properties, the whole
/// object itself, and any extra arguments (passed to the application's
/// `onConnect`, as FMS does).
#[derive(Debug, Clone, PartialEq)]
pub struct Connect {
    /// Transaction id (1 by spec; answered in the `_result`).
    pub transaction_id: f64,
    /// The whole command object as sent, for application code.
    pub command_object: AmfValue,
    /// `app`: the application (and instance) name; `""` when absent.
    pub app: ByteString,
    /// `tcUrl`: the URL the client connected to.
    pub tc_url: Option<ByteString>,
    /// `flashVer`: the client's version string (e.g. `"FMLE/3.0 (compatible; FMSc/1.0)"`).
    pub flash_ver: Option<ByteString>,
    /// `swfUrl`.
    pub swf_url: Option<ByteString>,
    /// `pageUrl`.
    pub page_url: Option<ByteString>,
    /// `objectEncoding`: 0 (AMF0, the default when absent) or 3 (AMF3).
    pub object_encoding: f64,
    /// `capabilities`.
    pub capabilities: Option<f64>,
    /// `audioCodecs` bit set.
    pub audio_codecs: Option<f64>,
    /// `videoCodecs` bit set.
    pub video_codecs: Option<f64>,
    /// `fourCcList` (Enhanced RTMP): the FourCCs the client supports. String
    /// members only; other entries are dropped.
    pub fourcc_list: Vec<ByteString>,
    /// `capsEx` (Enhanced RTMP) bit set.
    pub caps_ex: Option<f64>,
    /// `videoFourCcInfoMap` (Enhanced RTMP v2), kept as sent.
    pub video_fourcc_info_map: Option<AmfValue>,
    /// `audioFourCcInfoMap` (Enhanced RTMP v2), kept as sent.
    pub audio_fourcc_info_map: Option<AmfValue>,
    /// Arguments after the command object.
    pub args: Vec<AmfValue>,
}

impl Connect {
    /// Whether the client asked for AMF3 (`objectEncoding` 3).
    pub fn wants_amf3(&self) -> bool {
        self.object_encoding == 3.0
    }
}

pub(super) fn parse_connect(msg: CommandMessage) -> Result<Connect, CommandError> {
    let obj = &msg.command_object;
    if !matches!(obj, AmfValue::Object(_) | AmfValue::EcmaArray(_)) {
        return Err(CommandError::InvalidArgument {
            command: "connect",
            argument: "command object",
            expected: "object",
            found: obj.type_name(),
        });
    }
    let text = |key: &str| match obj.get(key) {
        Some(AmfValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    let number = |key: &str| obj.get(key).and_then(to_number);
    let fourcc_list = match obj.get("fourCcList") {
        Some(AmfValue::StrictArray(items)) => items
            .iter()
            .filter_map(|v| match v {
                AmfValue::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Connect {
        transaction_id: msg.transaction_id,
        app: text("app").unwrap_or_default(),
        tc_url: text("tcUrl"),
        flash_ver: text("flashVer"),
        swf_url: text("swfUrl"),
        page_url: text("pageUrl"),
        object_encoding: number("objectEncoding").unwrap_or(0.0),
        capabilities: number("capabilities"),
        audio_codecs: number("audioCodecs"),
        video_codecs: number("videoCodecs"),
        fourcc_list,
        caps_ex: number("capsEx"),
        video_fourcc_info_map: obj.get("videoFourCcInfoMap").cloned(),
        audio_fourcc_info_map: obj.get("audioFourCcInfoMap").cloned(),
        args: msg.args,
        command_object: msg.command_object,
    })
}

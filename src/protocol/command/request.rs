//! Typed commands from a decoded AMF value list (RTMP spec §7.2.1, §7.2.2).
//!
//! Every command message is `[name, transaction id, command object, args...]`.
//! [`Command::from_values`] reads that list liberally: missing optional
//! arguments take the documented defaults, numbers stand in for booleans and
//! numeric strings for numbers, because real clients (Flash Player versions,
//! ffmpeg, librtmp, OBS, bots) disagree on the details. Unknown names become a
//! generic [`Command::Call`], so `NetConnection.call("anything", ...)` reaches
//! the application untouched.

use bytestring::ByteString;

use super::error::CommandError;
use crate::protocol::amf::AmfValue;

/// A command as a plain value list: name, transaction id, command object and
/// arguments. Any command, in either direction, can be written as one.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandMessage {
    /// The command (or method) name, e.g. `"connect"`, `"_result"`, `"echo"`.
    pub name: ByteString,
    /// The transaction id: non-zero when the sender expects a `_result` or
    /// `_error`, 0 for notifications such as `onStatus`.
    pub transaction_id: f64,
    /// The command object (connect properties, `_result` properties) or `null`.
    pub command_object: AmfValue,
    /// The remaining arguments, in order.
    pub args: Vec<AmfValue>,
}

impl CommandMessage {
    /// A command message with the given parts.
    pub fn new(
        name: impl Into<ByteString>,
        transaction_id: f64,
        command_object: AmfValue,
        args: Vec<AmfValue>,
    ) -> Self {
        Self {
            name: name.into(),
            transaction_id,
            command_object,
            args,
        }
    }

    /// The values in wire order: name, transaction id, command object, args.
    pub fn to_values(&self) -> Vec<AmfValue> {
        let mut values = Vec::with_capacity(3 + self.args.len());
        values.push(AmfValue::String(self.name.clone()));
        values.push(AmfValue::Number(self.transaction_id));
        values.push(self.command_object.clone());
        values.extend(self.args.iter().cloned());
        values
    }

    /// Splits a decoded value list into its parts. A missing or non-numeric
    /// transaction id reads as 0 and a missing command object as `null`
    /// (Red5 and FMS accept both).
    ///
    /// # Errors
    /// [`CommandError::Empty`] for an empty list, [`CommandError::NameNotString`]
    /// when the first value is not a string.
    pub fn from_values(values: Vec<AmfValue>) -> Result<Self, CommandError> {
        let mut it = values.into_iter();
        let name = match it.next() {
            None => return Err(CommandError::Empty),
            Some(AmfValue::String(s)) => s,
            Some(other) => {
                return Err(CommandError::NameNotString {
                    found: other.type_name(),
                })
            }
        };
        let transaction_id = it.next().as_ref().and_then(to_number).unwrap_or(0.0);
        let command_object = it.next().unwrap_or(AmfValue::Null);
        Ok(Self {
            name,
            transaction_id,
            command_object,
            args: it.collect(),
        })
    }

    fn arg(&self, index: usize) -> Option<&AmfValue> {
        self.args.get(index).filter(|v| !v.is_null_or_undefined())
    }
}

/// A command received from (or sent to) a peer, typed by name.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `connect` (§7.2.1.1).
    Connect(Box<Connect>),
    /// Any name this module does not type: an application RPC.
    Call(CommandMessage),
    /// `createStream` (§7.2.1.3).
    CreateStream {
        /// Transaction id to answer.
        transaction_id: f64,
        /// The command object (normally `null`).
        command_object: AmfValue,
    },
    /// `deleteStream` (§7.2.2.3).
    DeleteStream {
        /// Transaction id (usually 0: no answer expected).
        transaction_id: f64,
        /// The message stream id to delete.
        stream_id: u32,
    },
    /// `closeStream` (sent by Flash Player on `NetStream.close()`).
    CloseStream {
        /// Transaction id (usually 0).
        transaction_id: f64,
    },
    /// `publish` (§7.2.2.6).
    Publish(Publish),
    /// `play` (§7.2.2.1).
    Play(Play),
    /// `play2` (§7.2.2.2): a parameters object (`NetStreamPlayOptions`).
    Play2 {
        /// Transaction id.
        transaction_id: f64,
        /// The parameters object (streamName, oldStreamName, start, len,
        /// transition, ...).
        parameters: AmfValue,
    },
    /// `pause` (§7.2.2.8).
    Pause(Pause),
    /// `seek` (§7.2.2.7).
    Seek {
        /// Transaction id.
        transaction_id: f64,
        /// Target position in milliseconds.
        milliseconds: f64,
    },
    /// `receiveAudio` (§7.2.2.4).
    ReceiveAudio {
        /// Transaction id.
        transaction_id: f64,
        /// Whether the client wants audio. Default `true`.
        enabled: bool,
    },
    /// `receiveVideo` (§7.2.2.5).
    ReceiveVideo {
        /// Transaction id.
        transaction_id: f64,
        /// Whether the client wants video. Default `true`.
        enabled: bool,
    },
    /// `releaseStream` (FMS/ffmpeg/OBS, before publishing).
    ReleaseStream {
        /// Transaction id.
        transaction_id: f64,
        /// The stream name.
        stream_name: ByteString,
    },
    /// `FCPublish` (FMS edge/origin convention, sent by ffmpeg and OBS).
    FcPublish {
        /// Transaction id.
        transaction_id: f64,
        /// The stream name.
        stream_name: ByteString,
    },
    /// `FCUnpublish`.
    FcUnpublish {
        /// Transaction id.
        transaction_id: f64,
        /// The stream name.
        stream_name: ByteString,
    },
    /// `FCSubscribe` (Akamai/Limelight-style CDNs; sent by ffmpeg for live play).
    FcSubscribe {
        /// Transaction id.
        transaction_id: f64,
        /// The stream name.
        stream_name: ByteString,
    },
    /// `_result`: a successful answer to an earlier request.
    Result(CommandMessage),
    /// `_error`: a failed answer to an earlier request.
    Error(CommandMessage),
    /// `onStatus`: a status notification.
    OnStatus {
        /// Transaction id (0 by convention).
        transaction_id: f64,
        /// The info object (level, code, description, ...).
        info: AmfValue,
    },
}

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

/// How a `publish` records the stream (§7.2.2.6 "Publishing Type").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishType {
    /// `"live"` (the default): not recorded.
    Live,
    /// `"record"`: recorded, replacing any existing file.
    Record,
    /// `"append"`: recorded, appended to an existing file.
    Append,
    /// `"appendWithGap"` (FMS 3.5+).
    AppendWithGap,
    /// Anything else, kept for the application to judge.
    Other(ByteString),
}

impl PublishType {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Live => "live",
            Self::Record => "record",
            Self::Append => "append",
            Self::AppendWithGap => "appendWithGap",
            Self::Other(s) => s,
        }
    }

    fn parse(s: &ByteString) -> Self {
        match &**s {
            "live" => Self::Live,
            "record" => Self::Record,
            "append" => Self::Append,
            "appendWithGap" => Self::AppendWithGap,
            _ => Self::Other(s.clone()),
        }
    }
}

/// The `publish` command.
#[derive(Debug, Clone, PartialEq)]
pub struct Publish {
    /// Transaction id.
    pub transaction_id: f64,
    /// The stream name (with any `?query` as sent). `None` when the client sent
    /// `publish(null)` / `publish(false)`: Flash Player's way to stop publishing.
    pub name: Option<ByteString>,
    /// Live/record/append; `Live` when absent.
    pub publish_type: PublishType,
}

/// Where `play` starts (§7.2.2.1 "Start").
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PlayStart {
    /// -2 (the default): the live stream if there is one, else the recording.
    LiveOrRecorded,
    /// -1: only the live stream.
    LiveOnly,
    /// ≥ 0: the recorded stream from this position, in milliseconds.
    RecordedFrom(f64),
}

impl PlayStart {
    /// Reads the wire number: ≤ -2 (or NaN) is "live or recorded", -2 < n < 0
    /// is "live only", n ≥ 0 is a recorded position.
    pub fn from_f64(n: f64) -> Self {
        if n >= 0.0 {
            Self::RecordedFrom(n)
        } else if n > -2.0 {
            Self::LiveOnly
        } else {
            Self::LiveOrRecorded
        }
    }

    /// The wire number.
    pub fn to_f64(self) -> f64 {
        match self {
            Self::LiveOrRecorded => -2.0,
            Self::LiveOnly => -1.0,
            Self::RecordedFrom(n) => n,
        }
    }
}

/// The `play` command.
#[derive(Debug, Clone, PartialEq)]
pub struct Play {
    /// Transaction id.
    pub transaction_id: f64,
    /// The stream name. `None` for `play(false)` / `play(null)`: stop playing.
    pub name: Option<ByteString>,
    /// Where to start; [`PlayStart::LiveOrRecorded`] when absent.
    pub start: PlayStart,
    /// How long to play in milliseconds: -1 (default) to the end, 0 a single
    /// frame.
    pub duration: f64,
    /// Whether to flush a play list (`true` when absent).
    pub reset: bool,
}

/// The `pause` command.
#[derive(Debug, Clone, PartialEq)]
pub struct Pause {
    /// Transaction id.
    pub transaction_id: f64,
    /// `true` pause, `false` resume, `None` (absent; old AS2 `pause()`) toggle.
    pub pause: Option<bool>,
    /// The stream position at which the client paused, in milliseconds (0
    /// when absent).
    pub milliseconds: f64,
}

impl Command {
    /// Types a decoded value list.
    ///
    /// # Errors
    /// [`CommandError`] when the list has no string name, or a required
    /// argument is missing or cannot be coerced (see `docs/protocol/commands.md`).
    pub fn from_values(values: Vec<AmfValue>) -> Result<Self, CommandError> {
        Self::from_message(CommandMessage::from_values(values)?)
    }

    /// Types a [`CommandMessage`].
    ///
    /// # Errors
    /// As [`Command::from_values`].
    pub fn from_message(msg: CommandMessage) -> Result<Self, CommandError> {
        let tx = msg.transaction_id;
        Ok(match &*msg.name {
            "connect" => Self::Connect(Box::new(parse_connect(msg)?)),
            "createStream" => Self::CreateStream {
                transaction_id: tx,
                command_object: msg.command_object,
            },
            "deleteStream" => Self::DeleteStream {
                transaction_id: tx,
                stream_id: stream_id_arg(&msg, "deleteStream")?,
            },
            "closeStream" => Self::CloseStream { transaction_id: tx },
            "publish" => Self::Publish(Publish {
                transaction_id: tx,
                name: msg.arg(0).map(stream_name).transpose_name("publish")?,
                publish_type: msg
                    .arg(1)
                    .and_then(|v| match v {
                        AmfValue::String(s) => Some(PublishType::parse(s)),
                        _ => None,
                    })
                    .unwrap_or(PublishType::Live),
            }),
            "play" => Self::Play(Play {
                transaction_id: tx,
                name: msg.arg(0).map(stream_name).transpose_name("play")?,
                start: msg
                    .arg(1)
                    .and_then(to_number)
                    .map_or(PlayStart::LiveOrRecorded, PlayStart::from_f64),
                duration: msg.arg(2).and_then(to_number).unwrap_or(-1.0),
                reset: msg.arg(3).and_then(to_bool).unwrap_or(true),
            }),
            "play2" => Self::Play2 {
                transaction_id: tx,
                parameters: msg.arg(0).cloned().ok_or(CommandError::MissingArgument {
                    command: "play2",
                    argument: "parameters",
                })?,
            },
            "pause" => Self::Pause(Pause {
                transaction_id: tx,
                pause: msg.arg(0).and_then(to_bool),
                milliseconds: msg.arg(1).and_then(to_number).unwrap_or(0.0),
            }),
            "seek" => Self::Seek {
                transaction_id: tx,
                milliseconds: number_arg(&msg, 0, "seek", "milliseconds")?,
            },
            "receiveAudio" => Self::ReceiveAudio {
                transaction_id: tx,
                enabled: msg.arg(0).and_then(to_bool).unwrap_or(true),
            },
            "receiveVideo" => Self::ReceiveVideo {
                transaction_id: tx,
                enabled: msg.arg(0).and_then(to_bool).unwrap_or(true),
            },
            "releaseStream" => Self::ReleaseStream {
                transaction_id: tx,
                stream_name: name_arg(&msg, "releaseStream")?,
            },
            "FCPublish" => Self::FcPublish {
                transaction_id: tx,
                stream_name: name_arg(&msg, "FCPublish")?,
            },
            "FCUnpublish" => Self::FcUnpublish {
                transaction_id: tx,
                stream_name: name_arg(&msg, "FCUnpublish")?,
            },
            "FCSubscribe" => Self::FcSubscribe {
                transaction_id: tx,
                stream_name: name_arg(&msg, "FCSubscribe")?,
            },
            "_result" => Self::Result(msg),
            "_error" => Self::Error(msg),
            "onStatus" => Self::OnStatus {
                transaction_id: tx,
                info: msg.args.into_iter().next().unwrap_or(AmfValue::Null),
            },
            _ => Self::Call(msg),
        })
    }

    /// The command's name on the wire.
    pub fn name(&self) -> &str {
        match self {
            Self::Connect(_) => "connect",
            Self::Call(m) => &m.name,
            Self::CreateStream { .. } => "createStream",
            Self::DeleteStream { .. } => "deleteStream",
            Self::CloseStream { .. } => "closeStream",
            Self::Publish(_) => "publish",
            Self::Play(_) => "play",
            Self::Play2 { .. } => "play2",
            Self::Pause(_) => "pause",
            Self::Seek { .. } => "seek",
            Self::ReceiveAudio { .. } => "receiveAudio",
            Self::ReceiveVideo { .. } => "receiveVideo",
            Self::ReleaseStream { .. } => "releaseStream",
            Self::FcPublish { .. } => "FCPublish",
            Self::FcUnpublish { .. } => "FCUnpublish",
            Self::FcSubscribe { .. } => "FCSubscribe",
            Self::Result(_) => "_result",
            Self::Error(_) => "_error",
            Self::OnStatus { .. } => "onStatus",
        }
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> f64 {
        match self {
            Self::Connect(c) => c.transaction_id,
            Self::Publish(p) => p.transaction_id,
            Self::Play(p) => p.transaction_id,
            Self::Pause(p) => p.transaction_id,
            Self::Call(m) | Self::Result(m) | Self::Error(m) => m.transaction_id,
            Self::CreateStream { transaction_id, .. }
            | Self::DeleteStream { transaction_id, .. }
            | Self::CloseStream { transaction_id }
            | Self::Play2 { transaction_id, .. }
            | Self::Seek { transaction_id, .. }
            | Self::ReceiveAudio { transaction_id, .. }
            | Self::ReceiveVideo { transaction_id, .. }
            | Self::ReleaseStream { transaction_id, .. }
            | Self::FcPublish { transaction_id, .. }
            | Self::FcUnpublish { transaction_id, .. }
            | Self::FcSubscribe { transaction_id, .. }
            | Self::OnStatus { transaction_id, .. } => *transaction_id,
        }
    }

    /// The command as a value list, in the canonical form a server or client
    /// writes (stream commands with a `null` command object).
    pub fn to_message(&self) -> CommandMessage {
        let name = self.name().to_owned();
        let tx = self.transaction_id();
        let (object, args) = match self {
            Self::Connect(c) => (c.command_object.clone(), c.args.clone()),
            Self::Call(m) | Self::Result(m) | Self::Error(m) => return m.clone(),
            Self::CreateStream { command_object, .. } => (command_object.clone(), Vec::new()),
            Self::DeleteStream { stream_id, .. } => (
                AmfValue::Null,
                vec![AmfValue::Number(f64::from(*stream_id))],
            ),
            Self::CloseStream { .. } => (AmfValue::Null, Vec::new()),
            Self::Publish(p) => (
                AmfValue::Null,
                vec![
                    name_or_false(&p.name),
                    AmfValue::string(p.publish_type.as_str()),
                ],
            ),
            Self::Play(p) => (
                AmfValue::Null,
                vec![
                    name_or_false(&p.name),
                    AmfValue::Number(p.start.to_f64()),
                    AmfValue::Number(p.duration),
                    AmfValue::Boolean(p.reset),
                ],
            ),
            Self::Play2 { parameters, .. } => (AmfValue::Null, vec![parameters.clone()]),
            Self::Pause(p) => {
                let mut args = Vec::new();
                if let Some(flag) = p.pause {
                    args.push(AmfValue::Boolean(flag));
                    args.push(AmfValue::Number(p.milliseconds));
                }
                (AmfValue::Null, args)
            }
            Self::Seek { milliseconds, .. } => {
                (AmfValue::Null, vec![AmfValue::Number(*milliseconds)])
            }
            Self::ReceiveAudio { enabled, .. } | Self::ReceiveVideo { enabled, .. } => {
                (AmfValue::Null, vec![AmfValue::Boolean(*enabled)])
            }
            Self::ReleaseStream { stream_name, .. }
            | Self::FcPublish { stream_name, .. }
            | Self::FcUnpublish { stream_name, .. }
            | Self::FcSubscribe { stream_name, .. } => {
                (AmfValue::Null, vec![AmfValue::String(stream_name.clone())])
            }
            Self::OnStatus { info, .. } => (AmfValue::Null, vec![info.clone()]),
        };
        CommandMessage::new(name, tx, object, args)
    }
}

fn name_or_false(name: &Option<ByteString>) -> AmfValue {
    name.as_ref()
        .map_or(AmfValue::Boolean(false), |n| AmfValue::String(n.clone()))
}

fn parse_connect(msg: CommandMessage) -> Result<Connect, CommandError> {
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

/// Reads a stream-name argument: a string, or a number written as its decimal
/// form (some bots send `play(1234)`); `false` means "stop" and yields `None`.
fn stream_name(v: &AmfValue) -> Result<Option<ByteString>, &'static str> {
    match v {
        AmfValue::String(s) => Ok(Some(s.clone())),
        AmfValue::Boolean(false) => Ok(None),
        other => match to_number(other) {
            Some(n) if matches!(other, AmfValue::Number(_) | AmfValue::Integer(_)) => {
                Ok(Some(ByteString::from(format_number(n))))
            }
            _ => Err(other.type_name()),
        },
    }
}

trait TransposeName {
    fn transpose_name(self, command: &'static str) -> Result<Option<ByteString>, CommandError>;
}

impl TransposeName for Option<Result<Option<ByteString>, &'static str>> {
    fn transpose_name(self, command: &'static str) -> Result<Option<ByteString>, CommandError> {
        match self {
            None => Ok(None),
            Some(Ok(name)) => Ok(name),
            Some(Err(found)) => Err(CommandError::InvalidArgument {
                command,
                argument: "stream name",
                expected: "string",
                found,
            }),
        }
    }
}

fn name_arg(msg: &CommandMessage, command: &'static str) -> Result<ByteString, CommandError> {
    msg.arg(0)
        .map(stream_name)
        .transpose_name(command)?
        .ok_or(CommandError::MissingArgument {
            command,
            argument: "stream name",
        })
}

fn number_arg(
    msg: &CommandMessage,
    index: usize,
    command: &'static str,
    argument: &'static str,
) -> Result<f64, CommandError> {
    let v = msg
        .arg(index)
        .ok_or(CommandError::MissingArgument { command, argument })?;
    to_number(v).ok_or(CommandError::InvalidArgument {
        command,
        argument,
        expected: "number",
        found: v.type_name(),
    })
}

fn stream_id_arg(msg: &CommandMessage, command: &'static str) -> Result<u32, CommandError> {
    let n = number_arg(msg, 0, command, "stream id")?;
    if n.is_finite() && (0.0..=f64::from(u32::MAX)).contains(&n) {
        // Truncation is intended: a stream id is an integer on the wire.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(n as u32)
    } else {
        Err(CommandError::InvalidArgument {
            command,
            argument: "stream id",
            expected: "integer in 0..=4294967295",
            found: "out-of-range number",
        })
    }
}

/// A number from a Number, Integer, Boolean (1/0) or numeric String.
pub(super) fn to_number(v: &AmfValue) -> Option<f64> {
    match v {
        AmfValue::Number(n) => Some(*n),
        AmfValue::Integer(i) => Some(f64::from(*i)),
        AmfValue::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
        AmfValue::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean from a Boolean, a Number/Integer (non-zero is true) or the
/// strings `"true"`/`"false"`.
fn to_bool(v: &AmfValue) -> Option<bool> {
    match v {
        AmfValue::Boolean(b) => Some(*b),
        AmfValue::Number(n) => Some(*n != 0.0 && !n.is_nan()),
        AmfValue::Integer(i) => Some(*i != 0),
        AmfValue::String(s) => match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        format!("{n}")
    }
}

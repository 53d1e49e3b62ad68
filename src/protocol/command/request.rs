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

use super::args::{
    name_arg, number_arg, stream_id_arg, stream_name, to_bool, to_number, TransposeName,
};
use super::connect::parse_connect;
use super::connect::Connect;
use super::error::CommandError;
use super::stream::{Pause, Play, PlayStart, Publish, PublishType};
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

    pub(super) fn arg(&self, index: usize) -> Option<&AmfValue> {
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

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn s(x: &str) -> AmfValue {
        AmfValue::string(x)
    }
    fn n(x: f64) -> AmfValue {
        AmfValue::Number(x)
    }

    /// The connect command object ffmpeg 5.1 sends when playing
    /// `rtmp://127.0.0.1:19351/live/room1/mystream` (captured on this machine,
    /// see `wire_tests` in `encoding.rs` for the bytes).
    fn ffmpeg_play_connect() -> Vec<AmfValue> {
        vec![
            s("connect"),
            n(1.0),
            AmfValue::object([
                ("app", s("live/room1")),
                ("flashVer", s("LNX 9,0,124,2")),
                ("tcUrl", s("rtmp://127.0.0.1:19351/live/room1")),
                ("fpad", AmfValue::Boolean(false)),
                ("capabilities", n(15.0)),
                ("audioCodecs", n(4071.0)),
                ("videoCodecs", n(252.0)),
                ("videoFunction", n(1.0)),
            ]),
        ]
    }

    #[test]
    fn types_ffmpeg_connect_and_keeps_the_whole_command_object() {
        let Command::Connect(c) = Command::from_values(ffmpeg_play_connect()).unwrap() else {
            panic!("not a connect");
        };
        assert_eq!(c.transaction_id, 1.0);
        assert_eq!(&*c.app, "live/room1");
        assert_eq!(
            c.tc_url.as_deref(),
            Some("rtmp://127.0.0.1:19351/live/room1")
        );
        assert_eq!(c.flash_ver.as_deref(), Some("LNX 9,0,124,2"));
        assert_eq!(c.swf_url, None);
        assert_eq!(c.object_encoding, 0.0);
        assert!(!c.wants_amf3());
        assert_eq!(c.capabilities, Some(15.0));
        assert_eq!(c.audio_codecs, Some(4071.0));
        assert_eq!(c.video_codecs, Some(252.0));
        assert_eq!(c.command_object.get("videoFunction"), Some(&n(1.0)));
        assert!(c.args.is_empty());
    }

    #[test]
    fn connect_keeps_enhanced_rtmp_fields_and_extra_arguments() {
        let fourccs = AmfValue::strict_array([s("av01"), s("hvc1"), n(7.0)]);
        let map = AmfValue::object([("*", n(1.0))]);
        let values = vec![
            s("connect"),
            n(1.0),
            AmfValue::ecma_array([
                ("app", s("live")),
                ("objectEncoding", n(3.0)),
                ("fourCcList", fourccs),
                ("capsEx", n(15.0)),
                ("videoFourCcInfoMap", map.clone()),
            ]),
            s("user"),
            s("secret"),
        ];
        let Command::Connect(c) = Command::from_values(values.clone()).unwrap() else {
            panic!()
        };
        assert!(c.wants_amf3());
        assert_eq!(c.fourcc_list, vec![ByteString::from("av01"), "hvc1".into()]);
        assert_eq!(c.caps_ex, Some(15.0));
        assert_eq!(c.video_fourcc_info_map, Some(map));
        assert_eq!(c.audio_fourcc_info_map, None);
        assert_eq!(c.args, vec![s("user"), s("secret")]);
        assert_eq!(Command::Connect(c).to_message().to_values(), values);
    }

    #[test]
    fn connect_without_app_reads_as_empty_app_and_rejects_a_non_object() {
        let c = Command::from_values(vec![s("connect"), n(1.0), AmfValue::object::<&str>([])]);
        assert!(matches!(c, Ok(Command::Connect(c)) if c.app.is_empty()));
        let err = Command::from_values(vec![s("connect"), n(1.0), AmfValue::Null]).unwrap_err();
        assert!(matches!(
            err,
            CommandError::InvalidArgument {
                command: "connect",
                ..
            }
        ));
    }

    #[test]
    fn ffmpeg_play_with_start_minus_2000_means_live_or_recorded() {
        // ffmpeg writes its `rtmp_live` option (-2 = any) times 1000.
        let cmd = Command::from_values(vec![
            s("play"),
            n(4.0),
            AmfValue::Null,
            s("mystream"),
            n(-2000.0),
        ]);
        assert_eq!(
            cmd.unwrap(),
            Command::Play(Play {
                transaction_id: 4.0,
                name: Some("mystream".into()),
                start: PlayStart::LiveOrRecorded,
                duration: -1.0,
                reset: true,
            })
        );
    }

    #[test]
    fn play_defaults_and_coerces_liberally() {
        let cmd = Command::from_values(vec![s("play"), n(0.0), AmfValue::Null, s("a")]).unwrap();
        let Command::Play(p) = cmd else { panic!() };
        assert_eq!(
            (p.start, p.duration, p.reset),
            (PlayStart::LiveOrRecorded, -1.0, true)
        );

        let cmd = Command::from_values(vec![
            s("play"),
            n(0.0),
            AmfValue::Null,
            n(1234.0),
            s("-1"),
            AmfValue::Integer(5000),
            n(0.0),
        ])
        .unwrap();
        let Command::Play(p) = cmd else { panic!() };
        assert_eq!(p.name.as_deref(), Some("1234"));
        assert_eq!(p.start, PlayStart::LiveOnly);
        assert_eq!(p.duration, 5000.0);
        assert!(!p.reset);

        let cmd = Command::from_values(vec![s("play"), n(0.0), AmfValue::Null, s("a"), n(1500.0)]);
        assert!(
            matches!(cmd, Ok(Command::Play(Play { start: PlayStart::RecordedFrom(x), .. })) if x == 1500.0)
        );
    }

    #[test]
    fn play_false_and_publish_null_mean_stop() {
        let cmd = Command::from_values(vec![
            s("play"),
            n(0.0),
            AmfValue::Null,
            AmfValue::Boolean(false),
        ]);
        assert!(matches!(cmd, Ok(Command::Play(Play { name: None, .. }))));
        let cmd = Command::from_values(vec![s("publish"), n(0.0), AmfValue::Null, AmfValue::Null]);
        assert!(matches!(
            cmd,
            Ok(Command::Publish(Publish { name: None, .. }))
        ));
        let cmd = Command::from_values(vec![
            s("play"),
            n(0.0),
            AmfValue::Null,
            AmfValue::object::<&str>([]),
        ]);
        assert!(matches!(
            cmd,
            Err(CommandError::InvalidArgument {
                command: "play",
                ..
            })
        ));
    }

    #[test]
    fn publish_reads_the_type_and_defaults_to_live() {
        let p = |args: Vec<AmfValue>| {
            let mut v = vec![s("publish"), n(5.0), AmfValue::Null];
            v.extend(args);
            match Command::from_values(v).unwrap() {
                Command::Publish(p) => p.publish_type,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(p(vec![s("key")]), PublishType::Live);
        assert_eq!(p(vec![s("key"), s("live")]), PublishType::Live);
        assert_eq!(p(vec![s("key"), s("record")]), PublishType::Record);
        assert_eq!(p(vec![s("key"), s("append")]), PublishType::Append);
        assert_eq!(
            p(vec![s("key"), s("appendWithGap")]),
            PublishType::AppendWithGap
        );
        assert_eq!(
            p(vec![s("key"), s("odd")]),
            PublishType::Other("odd".into())
        );
        assert_eq!(p(vec![s("key"), n(1.0)]), PublishType::Live);
    }

    #[test]
    fn stream_commands_read_their_arguments() {
        let null = AmfValue::Null;
        let cases: Vec<(Vec<AmfValue>, Command)> = vec![
            (
                vec![s("createStream"), n(4.0), null.clone()],
                Command::CreateStream {
                    transaction_id: 4.0,
                    command_object: null.clone(),
                },
            ),
            (
                vec![s("deleteStream"), n(0.0), null.clone(), n(1.0)],
                Command::DeleteStream {
                    transaction_id: 0.0,
                    stream_id: 1,
                },
            ),
            (
                vec![s("closeStream"), n(0.0), null.clone()],
                Command::CloseStream {
                    transaction_id: 0.0,
                },
            ),
            (
                vec![
                    s("pause"),
                    n(0.0),
                    null.clone(),
                    AmfValue::Boolean(true),
                    n(2500.0),
                ],
                Command::Pause(Pause {
                    transaction_id: 0.0,
                    pause: Some(true),
                    milliseconds: 2500.0,
                }),
            ),
            (
                vec![s("pause"), n(0.0), null.clone(), n(0.0)],
                Command::Pause(Pause {
                    transaction_id: 0.0,
                    pause: Some(false),
                    milliseconds: 0.0,
                }),
            ),
            (
                vec![s("pause"), n(0.0), null.clone()],
                Command::Pause(Pause {
                    transaction_id: 0.0,
                    pause: None,
                    milliseconds: 0.0,
                }),
            ),
            (
                vec![s("seek"), n(0.0), null.clone(), n(10_000.0)],
                Command::Seek {
                    transaction_id: 0.0,
                    milliseconds: 10_000.0,
                },
            ),
            (
                vec![
                    s("receiveAudio"),
                    n(0.0),
                    null.clone(),
                    AmfValue::Boolean(false),
                ],
                Command::ReceiveAudio {
                    transaction_id: 0.0,
                    enabled: false,
                },
            ),
            (
                vec![s("receiveVideo"), n(0.0), null.clone()],
                Command::ReceiveVideo {
                    transaction_id: 0.0,
                    enabled: true,
                },
            ),
            (
                vec![s("releaseStream"), n(2.0), null.clone(), s("key")],
                Command::ReleaseStream {
                    transaction_id: 2.0,
                    stream_name: "key".into(),
                },
            ),
            (
                vec![s("FCPublish"), n(3.0), null.clone(), s("key")],
                Command::FcPublish {
                    transaction_id: 3.0,
                    stream_name: "key".into(),
                },
            ),
            (
                vec![s("FCUnpublish"), n(6.0), null.clone(), s("key")],
                Command::FcUnpublish {
                    transaction_id: 6.0,
                    stream_name: "key".into(),
                },
            ),
            (
                vec![s("FCSubscribe"), n(3.0), null.clone(), s("live")],
                Command::FcSubscribe {
                    transaction_id: 3.0,
                    stream_name: "live".into(),
                },
            ),
            (
                vec![
                    s("play2"),
                    n(0.0),
                    null.clone(),
                    AmfValue::object([("streamName", s("b"))]),
                ],
                Command::Play2 {
                    transaction_id: 0.0,
                    parameters: AmfValue::object([("streamName", s("b"))]),
                },
            ),
            (
                vec![
                    s("onStatus"),
                    n(0.0),
                    null.clone(),
                    AmfValue::object([("code", s("x"))]),
                ],
                Command::OnStatus {
                    transaction_id: 0.0,
                    info: AmfValue::object([("code", s("x"))]),
                },
            ),
        ];
        for (values, expected) in cases {
            assert_eq!(
                Command::from_values(values.clone()).unwrap(),
                expected,
                "{values:?}"
            );
        }
    }

    #[test]
    fn required_arguments_are_reported_missing_or_invalid() {
        let null = AmfValue::Null;
        let missing = |v: Vec<AmfValue>| {
            matches!(
                Command::from_values(v),
                Err(CommandError::MissingArgument { .. })
            )
        };
        assert!(missing(vec![s("deleteStream"), n(0.0), null.clone()]));
        assert!(missing(vec![
            s("seek"),
            n(0.0),
            null.clone(),
            AmfValue::Undefined
        ]));
        assert!(missing(vec![s("releaseStream"), n(0.0), null.clone()]));
        assert!(missing(vec![
            s("FCPublish"),
            n(0.0),
            null.clone(),
            AmfValue::Boolean(false)
        ]));
        assert!(missing(vec![s("play2"), n(0.0), null.clone()]));
        let invalid = |v: Vec<AmfValue>| {
            matches!(
                Command::from_values(v),
                Err(CommandError::InvalidArgument { .. })
            )
        };
        assert!(invalid(vec![
            s("deleteStream"),
            n(0.0),
            null.clone(),
            n(-1.0)
        ]));
        assert!(invalid(vec![
            s("deleteStream"),
            n(0.0),
            null.clone(),
            n(f64::NAN)
        ]));
        assert!(invalid(vec![
            s("deleteStream"),
            n(0.0),
            null.clone(),
            n(5e9)
        ]));
        assert!(invalid(vec![s("seek"), n(0.0), null.clone(), s("soon")]));
    }

    #[test]
    fn unknown_names_and_responses_stay_generic() {
        let values = vec![s("getStreamLength"), n(3.0), AmfValue::Null, s("mystream")];
        let cmd = Command::from_values(values.clone()).unwrap();
        assert!(
            matches!(&cmd, Command::Call(m) if &*m.name == "getStreamLength" && m.args == vec![s("mystream")])
        );
        assert_eq!(cmd.to_message().to_values(), values);
        let r = vec![s("_result"), n(1.0), AmfValue::Null, n(1.0)];
        assert!(matches!(Command::from_values(r), Ok(Command::Result(_))));
        let e = vec![s("_error"), n(1.0), AmfValue::Null];
        assert!(matches!(Command::from_values(e), Ok(Command::Error(_))));
    }

    #[test]
    fn names_are_case_sensitive_like_fms() {
        let cmd = Command::from_values(vec![s("Connect"), n(1.0), AmfValue::Null]).unwrap();
        assert!(matches!(cmd, Command::Call(_)));
    }

    #[test]
    fn missing_transaction_id_and_object_default_to_zero_and_null() {
        let m = CommandMessage::from_values(vec![s("echo")]).unwrap();
        assert_eq!(
            (m.transaction_id, &m.command_object),
            (0.0, &AmfValue::Null)
        );
        let m = CommandMessage::from_values(vec![s("echo"), s("7")]).unwrap();
        assert_eq!(m.transaction_id, 7.0);
        let m = CommandMessage::from_values(vec![s("echo"), AmfValue::Null]).unwrap();
        assert_eq!(m.transaction_id, 0.0);
    }

    #[test]
    fn empty_list_and_non_string_name_are_errors() {
        assert_eq!(
            CommandMessage::from_values(vec![]),
            Err(CommandError::Empty)
        );
        assert_eq!(
            CommandMessage::from_values(vec![n(1.0)]),
            Err(CommandError::NameNotString { found: "number" })
        );
    }

    #[test]
    fn every_typed_command_survives_to_message_and_back() {
        for cmd in sample_commands() {
            let back = Command::from_message(cmd.to_message()).unwrap();
            assert_eq!(back, cmd);
        }
    }

    /// One of every command variant, used by the roundtrip tests here and in
    /// `encoding.rs`.
    pub(crate) fn sample_commands() -> Vec<Command> {
        let Command::Connect(connect) = Command::from_values(ffmpeg_play_connect()).unwrap() else {
            unreachable!()
        };
        vec![
            Command::Connect(connect),
            Command::Call(CommandMessage::new(
                "echo",
                2.0,
                AmfValue::Null,
                vec![s("hi"), n(3.0)],
            )),
            Command::CreateStream {
                transaction_id: 2.0,
                command_object: AmfValue::Null,
            },
            Command::DeleteStream {
                transaction_id: 0.0,
                stream_id: 7,
            },
            Command::CloseStream {
                transaction_id: 0.0,
            },
            Command::Publish(Publish {
                transaction_id: 5.0,
                name: Some("key".into()),
                publish_type: PublishType::Record,
            }),
            Command::Publish(Publish {
                transaction_id: 0.0,
                name: None,
                publish_type: PublishType::Live,
            }),
            Command::Play(Play {
                transaction_id: 4.0,
                name: Some("s".into()),
                start: PlayStart::RecordedFrom(10.0),
                duration: 20.0,
                reset: false,
            }),
            Command::Play(Play {
                transaction_id: 0.0,
                name: None,
                start: PlayStart::LiveOnly,
                duration: -1.0,
                reset: true,
            }),
            Command::Play2 {
                transaction_id: 0.0,
                parameters: AmfValue::object([("len", n(-1.0))]),
            },
            Command::Pause(Pause {
                transaction_id: 0.0,
                pause: Some(true),
                milliseconds: 12.0,
            }),
            Command::Pause(Pause {
                transaction_id: 0.0,
                pause: None,
                milliseconds: 0.0,
            }),
            Command::Seek {
                transaction_id: 0.0,
                milliseconds: 99.0,
            },
            Command::ReceiveAudio {
                transaction_id: 0.0,
                enabled: false,
            },
            Command::ReceiveVideo {
                transaction_id: 0.0,
                enabled: true,
            },
            Command::ReleaseStream {
                transaction_id: 2.0,
                stream_name: "a".into(),
            },
            Command::FcPublish {
                transaction_id: 3.0,
                stream_name: "a".into(),
            },
            Command::FcUnpublish {
                transaction_id: 6.0,
                stream_name: "a".into(),
            },
            Command::FcSubscribe {
                transaction_id: 3.0,
                stream_name: "a".into(),
            },
            Command::Result(CommandMessage::new(
                "_result",
                1.0,
                AmfValue::Null,
                vec![n(1.0)],
            )),
            Command::Error(CommandMessage::new(
                "_error",
                9.0,
                AmfValue::Null,
                vec![AmfValue::Null],
            )),
            Command::OnStatus {
                transaction_id: 0.0,
                info: AmfValue::object([("level", s("status"))]),
            },
        ]
    }
}

//! [`PlayerSession`]: what a load-test connection says after the handshake,
//! as a pure state machine over [`ChunkWalker`] events.
//!
//! `connect` → (`_result`) → `createStream` → (`_result`) → `play` →
//! (`onStatus` `NetStream.Play.Start`), answering Ping Requests and sending
//! Acknowledgements as a fair client must (spec §5.4.3, §6.2). Outbound
//! bytes collect in one small buffer for the caller to write. Time comes in
//! as an argument (microseconds since the run started).

use bytes::{Bytes, BytesMut};

use super::keyframe::is_video_keyframe;
use super::walker::{ChunkWalker, WalkError, WalkEvent};
use crate::protocol::amf::AmfValue;
use crate::protocol::chunk::{ChunkEncoder, RawMessage};
use crate::protocol::command::{status, CommandEncoding, CommandMessage, StatusInfo};
use crate::protocol::limits::AmfLimits;
use crate::protocol::message::{
    RtmpMessage, UserControlEvent, COMMAND_AMF0, COMMAND_AMF3, USER_CONTROL, VIDEO,
};
use crate::protocol::session::{CSID_COMMAND, CSID_CONTROL};

/// Chunk stream id of commands on a message stream (as ffmpeg uses).
const CSID_STREAM_COMMAND: u32 = 8;
/// Transaction id of `connect`.
const TID_CONNECT: f64 = 1.0;
/// Transaction id of `createStream`.
const TID_CREATE_STREAM: f64 = 2.0;

/// How far a connection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Goal {
    /// Handshake and `connect` (idle clients).
    Connect,
    /// Up to `NetStream.Play.Start` of this stream (players).
    Play(String),
}

/// Where the conversation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// `connect` sent.
    Connecting,
    /// `createStream` sent.
    CreatingStream,
    /// `play` sent, waiting for `NetStream.Play.Start`.
    Starting,
    /// The goal is reached.
    Done,
}

/// Live keyframe arrivals a session keeps until they are taken.
const MAX_LIVE_KEYFRAMES: usize = 64;

/// One connection's conversation; see the module docs.
#[derive(Debug)]
pub(super) struct PlayerSession {
    walker: ChunkWalker,
    talk: Talk,
}

/// Everything but the walker (so the walker's callback can change it).
#[derive(Debug)]
struct Talk {
    goal: Goal,
    phase: Phase,
    encoder: ChunkEncoder,
    out: BytesMut,
    /// When `play` was queued.
    play_queued_us: Option<u64>,
    /// When the first keyframe's first bytes arrived.
    keyframe_us: Option<u64>,
    /// When later keyframes' first bytes arrived (at most
    /// [`MAX_LIVE_KEYFRAMES`] not yet taken).
    live_keyframes_us: Vec<u64>,
    /// Why the server's answers end this connection.
    refused: Option<String>,
}

impl PlayerSession {
    /// A session that has queued `connect` to `app` (`tc_url` as tcUrl).
    ///
    /// # Errors
    ///
    /// A description when `connect` cannot be encoded.
    pub(super) fn new(
        goal: Goal,
        walker: ChunkWalker,
        app: &str,
        tc_url: &str,
    ) -> Result<Self, String> {
        let mut talk = Talk {
            goal,
            phase: Phase::Connecting,
            encoder: ChunkEncoder::new(),
            out: BytesMut::new(),
            play_queued_us: None,
            keyframe_us: None,
            live_keyframes_us: Vec::new(),
            refused: None,
        };
        let object = AmfValue::object([
            ("app", AmfValue::string(app)),
            ("flashVer", AmfValue::string("LNX 11,2,202,235")),
            ("tcUrl", AmfValue::string(tc_url)),
            ("fpad", AmfValue::Boolean(false)),
            ("capabilities", AmfValue::Number(15.0)),
            ("audioCodecs", AmfValue::Number(3191.0)),
            ("videoCodecs", AmfValue::Number(252.0)),
            ("videoFunction", AmfValue::Number(1.0)),
            ("objectEncoding", AmfValue::Number(0.0)),
        ]);
        let connect = CommandMessage::new("connect", TID_CONNECT, object, Vec::new());
        talk.queue_command(0, &connect)?;
        Ok(Self { walker, talk })
    }

    /// Walks bytes read from the server at `now_us`.
    ///
    /// # Errors
    ///
    /// The walker's error: the server broke the chunk protocol.
    pub(super) fn feed(&mut self, input: &[u8], now_us: u64) -> Result<(), WalkError> {
        let talk = &mut self.talk;
        let result = self
            .walker
            .feed(input, |event| talk.on_event(event, now_us));
        if let Some(sequence_number) = self.walker.take_ack_due() {
            self.talk
                .queue_control(&RtmpMessage::Acknowledgement { sequence_number });
        }
        result
    }

    /// Where the conversation is.
    pub(super) fn phase(&self) -> Phase {
        self.talk.phase
    }

    /// Why the server's answers end this connection, if they do.
    pub(super) fn refused(&self) -> Option<&str> {
        self.talk.refused.as_deref()
    }

    /// When `play` was queued (µs since the run started).
    pub(super) fn play_queued_us(&self) -> Option<u64> {
        self.talk.play_queued_us
    }

    /// When the first video keyframe began to arrive.
    pub(super) fn keyframe_us(&self) -> Option<u64> {
        self.talk.keyframe_us
    }

    /// Takes the arrival times of the keyframes after the first (the live
    /// ones, as opposed to the join burst's).
    pub(super) fn take_live_keyframes(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.talk.live_keyframes_us)
    }

    /// The walker (byte counts).
    pub(super) fn walker(&self) -> &ChunkWalker {
        &self.walker
    }

    /// Bytes to write to the server now (empty when none).
    pub(super) fn outbound(&self) -> &[u8] {
        &self.talk.out
    }

    /// Marks the first `n` outbound bytes written.
    pub(super) fn consumed(&mut self, n: usize) {
        if n >= self.talk.out.len() {
            self.written();
        } else {
            let _ = self.talk.out.split_to(n);
        }
    }

    /// Marks the outbound bytes written; frees a grown buffer.
    pub(super) fn written(&mut self) {
        if self.talk.out.capacity() > 1024 {
            self.talk.out = BytesMut::new();
        } else {
            self.talk.out.clear();
        }
    }
}

impl Talk {
    fn on_event(&mut self, event: WalkEvent<'_>, now_us: u64) {
        match event {
            WalkEvent::MediaHead { type_id, head, .. } => {
                if type_id == VIDEO && is_video_keyframe(head) {
                    if self.keyframe_us.is_none() {
                        self.keyframe_us = Some(now_us);
                    } else if self.live_keyframes_us.len() < MAX_LIVE_KEYFRAMES {
                        self.live_keyframes_us.push(now_us);
                    }
                }
            }
            WalkEvent::Message {
                type_id: USER_CONTROL,
                payload,
                ..
            } => {
                if let Ok(UserControlEvent::PingRequest { timestamp }) =
                    UserControlEvent::decode(&Bytes::from(payload))
                {
                    self.queue_control(&RtmpMessage::UserControl(UserControlEvent::PingResponse {
                        timestamp,
                    }));
                }
            }
            WalkEvent::Message {
                type_id: type_id @ (COMMAND_AMF0 | COMMAND_AMF3),
                payload,
                ..
            } => {
                let encoding = if type_id == COMMAND_AMF0 {
                    CommandEncoding::Amf0
                } else {
                    CommandEncoding::Amf3
                };
                match CommandMessage::decode(Bytes::from(payload), encoding, AmfLimits::default()) {
                    Ok(command) => self.on_command(&command, now_us),
                    Err(e) => self.refuse(format!("undecodable command: {e}")),
                }
            }
            WalkEvent::Message { .. } => {}
        }
    }

    fn on_command(&mut self, command: &CommandMessage, now_us: u64) {
        let tid = command.transaction_id;
        match (&*command.name, self.phase) {
            ("_result", Phase::Connecting) if tid == TID_CONNECT => match &self.goal {
                Goal::Connect => self.phase = Phase::Done,
                Goal::Play(_) => {
                    let create = CommandMessage::new(
                        "createStream",
                        TID_CREATE_STREAM,
                        AmfValue::Null,
                        vec![],
                    );
                    if let Err(e) = self.queue_command(0, &create) {
                        self.refuse(e);
                    }
                    self.phase = Phase::CreatingStream;
                }
            },
            ("_result", Phase::CreatingStream) if tid == TID_CREATE_STREAM => {
                let Some(stream_id) = command.args.first().and_then(AmfValue::as_f64) else {
                    return self.refuse("createStream answered without a stream id".to_owned());
                };
                let name = match &self.goal {
                    Goal::Play(name) => name.clone(),
                    Goal::Connect => return,
                };
                let play = CommandMessage::new(
                    "play",
                    0.0,
                    AmfValue::Null,
                    vec![
                        AmfValue::string(name),
                        AmfValue::Number(-2.0),
                        AmfValue::Number(-1.0),
                    ],
                );
                if let Err(e) = self.queue_command(stream_id as u32, &play) {
                    self.refuse(e);
                }
                self.play_queued_us = Some(now_us);
                self.phase = Phase::Starting;
            }
            ("_error", Phase::Connecting | Phase::CreatingStream)
                if tid == TID_CONNECT || tid == TID_CREATE_STREAM =>
            {
                let info = command
                    .args
                    .first()
                    .and_then(StatusInfo::from_value)
                    .map(|i| i.code.to_string())
                    .unwrap_or_default();
                self.refuse(format!("{} refused: {info}", self.phase_name()));
            }
            ("onStatus", _) => {
                let Some(info) = command.args.first().and_then(StatusInfo::from_value) else {
                    return;
                };
                if &*info.code == status::NS_PLAY_START && self.phase == Phase::Starting {
                    self.phase = Phase::Done;
                } else if &*info.level == status::LEVEL_ERROR {
                    self.refuse(format!("{}: {}", info.code, info.description));
                }
            }
            _ => {}
        }
    }

    fn phase_name(&self) -> &'static str {
        match self.phase {
            Phase::Connecting => "connect",
            Phase::CreatingStream => "createStream",
            Phase::Starting => "play",
            Phase::Done => "stream",
        }
    }

    fn refuse(&mut self, reason: String) {
        self.refused.get_or_insert(reason);
    }

    fn queue_command(&mut self, stream_id: u32, command: &CommandMessage) -> Result<(), String> {
        let mut body = BytesMut::new();
        command
            .encode(CommandEncoding::Amf0, &mut body)
            .map_err(|e| format!("cannot encode {}: {e}", command.name))?;
        let csid = if stream_id == 0 {
            CSID_COMMAND
        } else {
            CSID_STREAM_COMMAND
        };
        self.queue(csid, stream_id, COMMAND_AMF0, body.freeze())
    }

    fn queue_control(&mut self, message: &RtmpMessage) {
        if let Ok((type_id, payload)) = message.encode() {
            if let Err(e) = self.queue(CSID_CONTROL, 0, type_id, payload) {
                self.refuse(e);
            }
        }
    }

    fn queue(
        &mut self,
        csid: u32,
        stream_id: u32,
        type_id: u8,
        payload: Bytes,
    ) -> Result<(), String> {
        let raw = RawMessage {
            csid,
            timestamp: 0,
            type_id,
            stream_id,
            payload,
        };
        self.encoder
            .encode(&raw, &mut self.out)
            .map_err(|e| format!("cannot chunk message type {type_id}: {e}"))
    }
}

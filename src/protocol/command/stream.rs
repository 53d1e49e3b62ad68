//! Typed arguments of the NetStream commands `publish`, `play` and `pause`
//! (RTMP spec §7.2.2).

use bytestring::ByteString;

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

    pub(super) fn parse(s: &ByteString) -> Self {
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

//! Status codes and levels carried in `onStatus` / `_result` / `_error` info
//! objects (RTMP spec §7.2.1.1, §7.2.2; FMS and Red5 `StatusCodes`).
//!
//! The codes are the strings Flash Player's `NetStatusEvent.info.code` exposes;
//! clients compare them literally, so they must be spelled exactly.

/// Info level `"status"`: a normal progress notification.
pub const LEVEL_STATUS: &str = "status";
/// Info level `"error"`: the request failed.
pub const LEVEL_ERROR: &str = "error";
/// Info level `"warning"`: a non-fatal problem.
pub const LEVEL_WARNING: &str = "warning";

/// The connection was accepted.
pub const NC_CONNECT_SUCCESS: &str = "NetConnection.Connect.Success";
/// The connection was refused (application logic or authentication).
pub const NC_CONNECT_REJECTED: &str = "NetConnection.Connect.Rejected";
/// The connection attempt failed (e.g. unknown application).
pub const NC_CONNECT_FAILED: &str = "NetConnection.Connect.Failed";
/// The application named in the tcUrl does not exist.
pub const NC_CONNECT_INVALID_APP: &str = "NetConnection.Connect.InvalidApp";
/// The server closed the connection.
pub const NC_CONNECT_CLOSED: &str = "NetConnection.Connect.Closed";
/// The application is shutting down.
pub const NC_CONNECT_APP_SHUTDOWN: &str = "NetConnection.Connect.AppShutdown";
/// A `NetConnection.call` failed (unknown method, handler error).
pub const NC_CALL_FAILED: &str = "NetConnection.Call.Failed";
/// A `NetConnection.call` was refused.
pub const NC_CALL_PROHIBITED: &str = "NetConnection.Call.Prohibited";
/// A `NetConnection.call` had bad arguments.
pub const NC_CALL_BAD_VERSION: &str = "NetConnection.Call.BadVersion";

/// Publishing started.
pub const NS_PUBLISH_START: &str = "NetStream.Publish.Start";
/// The stream name is already published (cluster-wide in Ferrocast).
pub const NS_PUBLISH_BAD_NAME: &str = "NetStream.Publish.BadName";
/// The publisher went idle.
pub const NS_PUBLISH_IDLE: &str = "NetStream.Publish.Idle";
/// Publishing stopped.
pub const NS_UNPUBLISH_SUCCESS: &str = "NetStream.Unpublish.Success";
/// A play list was reset (sent before `Play.Start` when `reset` is true).
pub const NS_PLAY_RESET: &str = "NetStream.Play.Reset";
/// Playback started.
pub const NS_PLAY_START: &str = "NetStream.Play.Start";
/// Playback stopped.
pub const NS_PLAY_STOP: &str = "NetStream.Play.Stop";
/// Playback failed.
pub const NS_PLAY_FAILED: &str = "NetStream.Play.Failed";
/// The requested stream does not exist.
pub const NS_PLAY_STREAM_NOT_FOUND: &str = "NetStream.Play.StreamNotFound";
/// A publisher started on a stream being played (live).
pub const NS_PLAY_PUBLISH_NOTIFY: &str = "NetStream.Play.PublishNotify";
/// The publisher of a stream being played stopped (live).
pub const NS_PLAY_UNPUBLISH_NOTIFY: &str = "NetStream.Play.UnpublishNotify";
/// A `play2` switch was accepted.
pub const NS_PLAY_SWITCH: &str = "NetStream.Play.Switch";
/// A `play2` transition completed.
pub const NS_PLAY_TRANSITION: &str = "NetStream.Play.Transition";
/// Playback is falling behind (the player is too slow).
pub const NS_PLAY_INSUFFICIENT_BW: &str = "NetStream.Play.InsufficientBW";
/// Data messages start (sent with `|RtmpSampleAccess`, before media).
pub const NS_DATA_START: &str = "NetStream.Data.Start";
/// The stream was paused.
pub const NS_PAUSE_NOTIFY: &str = "NetStream.Pause.Notify";
/// The stream was resumed.
pub const NS_UNPAUSE_NOTIFY: &str = "NetStream.Unpause.Notify";
/// A seek completed.
pub const NS_SEEK_NOTIFY: &str = "NetStream.Seek.Notify";
/// A seek failed.
pub const NS_SEEK_FAILED: &str = "NetStream.Seek.Failed";
/// Recording started.
pub const NS_RECORD_START: &str = "NetStream.Record.Start";
/// Recording stopped.
pub const NS_RECORD_STOP: &str = "NetStream.Record.Stop";
/// Recording failed (e.g. no write access).
pub const NS_RECORD_NO_ACCESS: &str = "NetStream.Record.NoAccess";
/// A generic NetStream failure.
pub const NS_FAILED: &str = "NetStream.Failed";

/// SharedObject: the client has no read access.
pub const SO_NO_READ_ACCESS: &str = "SharedObject.NoReadAccess";
/// SharedObject: the client has no write access.
pub const SO_NO_WRITE_ACCESS: &str = "SharedObject.NoWriteAccess";
/// SharedObject: the object could not be created.
pub const SO_OBJECT_CREATION_FAILED: &str = "SharedObject.ObjectCreationFailed";
/// SharedObject: a persistence mismatch (persistent vs. not) on `getRemote`.
pub const SO_BAD_PERSISTENCE: &str = "SharedObject.BadPersistence";

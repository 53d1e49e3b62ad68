//! The one door for configuration.
//!
//! [`Settings::load`] merges, lowest precedence first: built-in defaults → an
//! optional TOML file → `FERROCAST__SECTION__KEY` environment variables → command
//! line flags. Everything else in the program receives typed structs from here;
//! nothing else reads the environment. Every key, its default and its environment
//! name are listed in `docs/config.md` (keep the two in step).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fanout::FanoutLimits;
use crate::protocol::limits::{AmfLimits, ChunkLimits, ProtocolLimits, SharedObjectLimits};

mod rtmp;
pub use rtmp::RtmpSettings;

/// Prefix of the environment variables that configure Ferrocast.
pub const ENV_PREFIX: &str = "FERROCAST";
/// Separator between the prefix, sections and keys in environment variable names.
pub const ENV_SEPARATOR: &str = "__";

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A source could not be read or a value did not have the expected type.
    #[error("invalid configuration: {0}")]
    Invalid(#[from] config::ConfigError),
    /// The configuration file does not exist.
    #[error("configuration file {path} does not exist")]
    MissingFile {
        /// The path given with `--config`.
        path: PathBuf,
    },
    /// A value parsed but is outside its allowed range.
    #[error("invalid configuration: {key} {reason}")]
    OutOfRange {
        /// The dotted key, e.g. `limits.max_chunk_size`.
        key: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The whole configuration of a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// RTMP listener.
    pub rtmp: RtmpSettings,
    /// HTTP admin/health listener.
    pub http: HttpSettings,
    /// Cluster membership.
    pub cluster: ClusterSettings,
    /// SharedObject storage.
    pub store: StoreSettings,
    /// Logging.
    pub log: LogSettings,
    /// Bounds on what a peer can make the protocol core allocate.
    pub limits: LimitsSettings,
    /// GOP cache and per-player queue bounds (see docs/fanout.md).
    pub fanout: FanoutLimits,
    /// Remote calls.
    pub calls: CallSettings,
    /// SharedObject bounds and durability.
    pub shared_objects: SharedObjectSettings,
}

/// `[calls]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSettings {
    /// A server → client call (`callClient`, `Application` invokes) that has
    /// no answer after this long fails with `NetConnection.Call.Failed`.
    pub timeout_ms: u64,
    /// Most server → client calls awaiting an answer per connection; more
    /// fail at once.
    pub max_pending_per_connection: usize,
}

/// `[shared_objects]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedObjectSettings {
    /// Most slots in one SharedObject; a change that would pass it is refused
    /// with a Status error.
    pub max_slots: usize,
    /// Largest slot value (bytes, AMF-encoded); larger writes are refused with
    /// a Status error.
    pub max_slot_bytes: usize,
    /// Most SharedObjects one connection may use at once.
    pub max_per_connection: usize,
    /// Largest SharedObject (bytes: slot names + stored values); a change
    /// that would pass it is refused whole with a Status error. Keep it well
    /// below `[rtmp] max_unwritten_bytes`: a full sync sends the whole object.
    pub max_object_bytes: usize,
    /// Most operations (slot pairs, removed names, sends) in one
    /// SharedObject message; more get a Status error. The protocol's hard
    /// bound, `[limits] so_max_events_per_message`, closes the connection.
    pub max_events_per_message: usize,
    /// Accepted changes kept per SharedObject so a client that reconnects or
    /// lags is brought up to date by deltas; older versions get a full
    /// resync (Clear + every slot).
    pub history: usize,
    /// Most bytes (slot names + stored values) of kept changes per
    /// SharedObject; the oldest are dropped first.
    pub history_max_bytes: usize,
    /// Persistent SharedObjects: 0 = a change is on disk before its Success
    /// is sent (group commit: concurrent changes share one fsync). N > 0 =
    /// Success is sent at once and changes are committed at least every N
    /// ms, so a crash loses at most the last N ms of acknowledged changes.
    pub flush_interval_ms: u64,
}

/// `[http]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Address the HTTP listener binds; port 0 picks a free port.
    pub listen: SocketAddr,
}

/// `[cluster]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// Redis URL; `None` runs a single node (in-process bus, embedded store).
    pub redis_url: Option<String>,
    /// This node's id; `None` means hostname plus a random suffix, chosen at start.
    pub node_id: Option<String>,
    /// Prefix of every Redis key and channel (several clusters can share one
    /// Redis under different prefixes).
    pub key_prefix: String,
    /// How often a node refreshes its heartbeat key (ms).
    pub heartbeat_interval_ms: u64,
    /// How long a heartbeat lives: a node silent this long is dead (ms).
    pub node_ttl_ms: u64,
    /// Cluster messages a node buffers before dropping (and resyncing).
    pub inbox_capacity: usize,
    /// Cluster messages a node queues for Redis before refusing more.
    pub outbox_capacity: usize,
    /// Cross-node `callClient` calls this node may have awaiting a reply.
    pub max_pending_calls: usize,
}

/// `[store]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// Directory of the embedded SharedObject store.
    pub data_dir: PathBuf,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Output format of log lines.
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// `[limits]`: the protocol core's bounds, see [`ProtocolLimits`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSettings {
    /// Largest chunk size a peer may announce (bytes).
    pub max_chunk_size: u32,
    /// Largest RTMP message accepted (bytes, at most 16 MiB - 1).
    pub max_message_len: u32,
    /// Most chunk streams open at once per connection.
    pub max_chunk_streams: usize,
    /// Deepest AMF nesting accepted.
    pub amf_max_depth: usize,
    /// Largest AMF reference table per message.
    pub amf_max_references: usize,
    /// Most events in one SharedObject message.
    pub so_max_events_per_message: usize,
    /// Longest SharedObject name (bytes).
    pub so_max_name_len: usize,
}

/// Values given on the command line; `None` leaves the lower sources in force.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--rtmp`
    pub rtmp_listen: Option<SocketAddr>,
    /// `--http`
    pub http_listen: Option<SocketAddr>,
    /// `--redis`
    pub redis_url: Option<String>,
    /// `--node-id`
    pub node_id: Option<String>,
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--log-format`
    pub log_format: Option<LogFormat>,
}

impl Default for Settings {
    fn default() -> Self {
        let chunk = ChunkLimits::default();
        let amf = AmfLimits::default();
        let so = SharedObjectLimits::default();
        Self {
            rtmp: RtmpSettings::default(),
            http: HttpSettings {
                listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            },
            cluster: ClusterSettings {
                redis_url: None,
                node_id: None,
                key_prefix: crate::cluster::keys::DEFAULT_PREFIX.to_string(),
                heartbeat_interval_ms: 1_000,
                node_ttl_ms: 3_000,
                inbox_capacity: 4_096,
                outbox_capacity: 4_096,
                max_pending_calls: 10_000,
            },
            store: StoreSettings {
                data_dir: PathBuf::from("./data"),
            },
            log: LogSettings {
                format: LogFormat::Human,
            },
            limits: LimitsSettings {
                max_chunk_size: chunk.max_chunk_size,
                max_message_len: chunk.max_message_len,
                max_chunk_streams: chunk.max_chunk_streams,
                amf_max_depth: amf.max_depth,
                amf_max_references: amf.max_references,
                so_max_events_per_message: so.max_events_per_message,
                so_max_name_len: so.max_name_len,
            },
            fanout: FanoutLimits::default(),
            calls: CallSettings {
                timeout_ms: 10_000,
                max_pending_per_connection: 1024,
            },
            shared_objects: SharedObjectSettings {
                max_slots: 10_000,
                max_slot_bytes: 64 * 1024,
                max_per_connection: 64,
                max_object_bytes: 16 * 1024 * 1024,
                max_events_per_message: 256,
                history: 1024,
                history_max_bytes: 4 * 1024 * 1024,
                flush_interval_ms: 0,
            },
        }
    }
}

impl Settings {
    /// Loads the configuration from the process environment, an optional file and
    /// the command line overrides.
    ///
    /// # Errors
    /// [`SettingsError`] when the file is missing or unreadable, or any value has
    /// the wrong type or is out of range.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, SettingsError> {
        let env: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}{ENV_SEPARATOR}")))
            .collect();
        Self::load_from(file, env, overrides)
    }

    /// Like [`Settings::load`], with the environment given as a map (for tests
    /// and embedding).
    ///
    /// # Errors
    /// As [`Settings::load`].
    pub fn load_from(
        file: Option<&Path>,
        env: HashMap<String, String>,
        overrides: &Overrides,
    ) -> Result<Self, SettingsError> {
        let defaults = config::Config::try_from(&Settings::default())?;
        let mut builder = config::Config::builder().add_source(defaults);
        if let Some(path) = file {
            if !path.exists() {
                return Err(SettingsError::MissingFile {
                    path: path.to_path_buf(),
                });
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator(ENV_SEPARATOR)
                .separator(ENV_SEPARATOR)
                .try_parsing(true)
                .source(Some(env.into_iter().collect())),
        );
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        settings.apply(overrides);
        settings.validate()?;
        Ok(settings)
    }

    fn apply(&mut self, o: &Overrides) {
        if let Some(a) = o.rtmp_listen {
            self.rtmp.listen = a;
        }
        if let Some(a) = o.http_listen {
            self.http.listen = a;
        }
        if let Some(u) = &o.redis_url {
            self.cluster.redis_url = Some(u.clone());
        }
        if let Some(n) = &o.node_id {
            self.cluster.node_id = Some(n.clone());
        }
        if let Some(d) = &o.data_dir {
            self.store.data_dir = d.clone();
        }
        if let Some(f) = o.log_format {
            self.log.format = f;
        }
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let l = &self.limits;
        let so = &self.shared_objects;
        let c = &self.cluster;
        let checks: [(bool, &'static str, &'static str); 17] = [
            (
                !c.key_prefix.is_empty(),
                "cluster.key_prefix",
                "must not be empty",
            ),
            (
                c.heartbeat_interval_ms > 0,
                "cluster.heartbeat_interval_ms",
                "must be positive",
            ),
            (
                c.node_ttl_ms > c.heartbeat_interval_ms,
                "cluster.node_ttl_ms",
                "must be longer than cluster.heartbeat_interval_ms",
            ),
            (
                c.inbox_capacity >= 1 && c.outbox_capacity >= 1,
                "cluster.inbox_capacity",
                "inbox_capacity and outbox_capacity must be at least 1",
            ),
            (
                c.max_pending_calls >= 1,
                "cluster.max_pending_calls",
                "must be at least 1",
            ),
            (
                self.rtmp.handshake_timeout_ms > 0,
                "rtmp.handshake_timeout_ms",
                "must be positive",
            ),
            (
                (1..=0x7FFF_FFFF).contains(&l.max_chunk_size),
                "limits.max_chunk_size",
                "must be between 1 and 2147483647",
            ),
            (
                (1..=0xFF_FFFF).contains(&l.max_message_len),
                "limits.max_message_len",
                "must be between 1 and 16777215",
            ),
            (
                l.max_chunk_streams >= 2,
                "limits.max_chunk_streams",
                "must be at least 2",
            ),
            (
                l.amf_max_depth >= 1,
                "limits.amf_max_depth",
                "must be at least 1",
            ),
            (
                self.calls.timeout_ms > 0,
                "calls.timeout_ms",
                "must be positive",
            ),
            (
                so.max_slots >= 1,
                "shared_objects.max_slots",
                "must be at least 1",
            ),
            (
                so.max_slot_bytes >= 16,
                "shared_objects.max_slot_bytes",
                "must be at least 16",
            ),
            (
                so.max_per_connection >= 1,
                "shared_objects.max_per_connection",
                "must be at least 1",
            ),
            (
                l.so_max_events_per_message >= 1,
                "limits.so_max_events_per_message",
                "must be at least 1",
            ),
            (
                so.max_events_per_message >= 1,
                "shared_objects.max_events_per_message",
                "must be at least 1",
            ),
            (
                so.max_object_bytes >= so.max_slot_bytes,
                "shared_objects.max_object_bytes",
                "must be at least max_slot_bytes",
            ),
        ];
        let f = &self.fanout;
        let fanout_checks: [(bool, &'static str, &'static str); 5] = [
            (f.gop_max_bytes > 0, "fanout.gop_max_bytes", "must be positive"),
            (f.player_queue_max_bytes > 0, "fanout.player_queue_max_bytes", "must be positive"),
            (f.player_queue_max_span_ms > 0, "fanout.player_queue_max_span_ms", "must be positive"),
            (
                f.player_hard_cap_bytes >= f.gop_max_bytes.saturating_add(f.player_queue_max_bytes),
                "fanout.player_hard_cap_bytes",
                "must be at least gop_max_bytes + player_queue_max_bytes (a full join burst must fit)",
            ),
            (
                self.rtmp.write_coalesce_ms.saturating_mul(2) <= u64::from(f.player_queue_max_span_ms),
                "rtmp.write_coalesce_ms",
                "must be at most half of fanout.player_queue_max_span_ms (a player queue must hold a window of frames)",
            ),
        ];
        match checks
            .iter()
            .chain(fanout_checks.iter())
            .find(|(ok, _, _)| !ok)
        {
            Some(&(_, key, reason)) => Err(SettingsError::OutOfRange { key, reason }),
            None => Ok(()),
        }
    }

    /// The protocol core's limits, as plain structs.
    pub fn protocol_limits(&self) -> ProtocolLimits {
        let l = &self.limits;
        ProtocolLimits {
            chunk: ChunkLimits {
                max_chunk_size: l.max_chunk_size,
                max_message_len: l.max_message_len,
                max_chunk_streams: l.max_chunk_streams,
            },
            amf: AmfLimits {
                max_depth: l.amf_max_depth,
                max_references: l.amf_max_references,
            },
            shared_object: SharedObjectLimits {
                max_events_per_message: l.so_max_events_per_message,
                max_name_len: l.so_max_name_len,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn write_toml(text: &str) -> (tempdir::Dir, PathBuf) {
        let dir = tempdir::Dir::new();
        let path = dir.0.join("ferrocast.toml");
        std::fs::write(&path, text).expect("write config");
        (dir, path)
    }

    /// A throwaway directory removed on drop (no extra dependency needed).
    mod tempdir {
        pub(super) struct Dir(pub(super) std::path::PathBuf);
        impl Dir {
            pub(super) fn new() -> Self {
                let p = std::env::temp_dir().join(format!(
                    "ferrocast-settings-{}-{}",
                    std::process::id(),
                    rand::random::<u64>()
                ));
                std::fs::create_dir_all(&p).expect("temp dir");
                Self(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn defaults_match_the_design_contract() {
        let s = Settings::load_from(None, HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(s.rtmp.listen.to_string(), "0.0.0.0:1935");
        assert_eq!(s.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.cluster.redis_url, None);
        assert_eq!(s.store.data_dir, PathBuf::from("./data"));
        assert_eq!(s.protocol_limits(), ProtocolLimits::default());
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file_and_flags_override_env() {
        let (_dir, path) = write_toml(
            "[rtmp]\nlisten = \"127.0.0.1:2000\"\n[http]\nlisten = \"127.0.0.1:2001\"\n\
             [limits]\namf_max_depth = 10\n",
        );
        let e = env(&[
            ("FERROCAST__HTTP__LISTEN", "127.0.0.1:3001"),
            ("FERROCAST__CLUSTER__REDIS_URL", "redis://127.0.0.1:6390/"),
            ("FERROCAST__LIMITS__MAX_CHUNK_STREAMS", "9"),
        ]);
        let o = Overrides {
            redis_url: Some("redis://127.0.0.1:7000/".into()),
            ..Overrides::default()
        };
        let s = Settings::load_from(Some(&path), e, &o).unwrap();
        assert_eq!(
            s.rtmp.listen.to_string(),
            "127.0.0.1:2000",
            "file beats default"
        );
        assert_eq!(
            s.http.listen.to_string(),
            "127.0.0.1:3001",
            "env beats file"
        );
        assert_eq!(
            s.cluster.redis_url.as_deref(),
            Some("redis://127.0.0.1:7000/"),
            "flag beats env"
        );
        assert_eq!(s.limits.amf_max_depth, 10);
        assert_eq!(s.limits.max_chunk_streams, 9, "numbers parse from env");
    }

    #[test]
    fn port_zero_is_accepted_for_both_listeners() {
        let o = Overrides {
            rtmp_listen: Some("127.0.0.1:0".parse().unwrap()),
            http_listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Overrides::default()
        };
        let s = Settings::load_from(None, HashMap::new(), &o).unwrap();
        assert_eq!(s.rtmp.listen.port(), 0);
        assert_eq!(s.http.listen.port(), 0);
    }

    #[test]
    fn a_missing_config_file_is_an_error_naming_it() {
        let err = Settings::load_from(
            Some(Path::new("/nonexistent/f.toml")),
            HashMap::new(),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/f.toml"), "{err}");
    }

    #[test]
    fn an_unknown_key_in_the_file_is_rejected() {
        let (_dir, path) = write_toml("[rtmp]\nlisten = \"127.0.0.1:1\"\nlisen = 3\n");
        let err =
            Settings::load_from(Some(&path), HashMap::new(), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn a_malformed_address_from_env_is_rejected() {
        let err = Settings::load_from(
            None,
            env(&[("FERROCAST__RTMP__LISTEN", "nope")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(matches!(err, SettingsError::Invalid(_)), "{err}");
    }

    #[test]
    fn out_of_range_limits_are_rejected_with_the_key() {
        let err = Settings::load_from(
            None,
            env(&[("FERROCAST__LIMITS__MAX_MESSAGE_LEN", "16777216")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("limits.max_message_len"), "{err}");
    }

    #[test]
    fn fanout_limits_load_from_env_and_the_hard_cap_must_hold_a_join_burst() {
        let s = Settings::load_from(
            None,
            env(&[("FERROCAST__FANOUT__PLAYER_MAX_LAG_MS", "2000")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(s.fanout.player_max_lag_ms, 2000);
        let err = Settings::load_from(
            None,
            env(&[("FERROCAST__FANOUT__PLAYER_HARD_CAP_BYTES", "1024")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("fanout.player_hard_cap_bytes"),
            "{err}"
        );
    }

    #[test]
    fn the_write_coalescing_window_loads_from_env_and_must_fit_in_a_player_queue() {
        let s = Settings::load_from(
            None,
            env(&[("FERROCAST__RTMP__WRITE_COALESCE_MS", "200")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(s.rtmp.write_coalesce_ms, 200);
        assert_eq!(Settings::default().rtmp.write_coalesce_ms, 0);
        let err = Settings::load_from(
            None,
            env(&[("FERROCAST__RTMP__WRITE_COALESCE_MS", "2000")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("rtmp.write_coalesce_ms"), "{err}");
    }

    #[test]
    fn tcp_nodelay_is_on_unless_turned_off() {
        assert!(Settings::default().rtmp.tcp_nodelay);
        let s = Settings::load_from(
            None,
            env(&[("FERROCAST__RTMP__TCP_NODELAY", "false")]),
            &Overrides::default(),
        )
        .unwrap();
        assert!(!s.rtmp.tcp_nodelay);
    }

    #[test]
    fn applications_come_from_the_file_as_a_list() {
        let (_dir, path) = write_toml("[rtmp]\napplications = [\"live\", \"vod\"]\n");
        let s = Settings::load_from(Some(&path), HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(s.rtmp.applications, ["live", "vod"]);
    }

    #[test]
    fn the_example_file_in_the_repository_loads_and_equals_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ferrocast.example.toml");
        let s = Settings::load_from(Some(&path), HashMap::new(), &Overrides::default()).unwrap();
        assert_eq!(s, Settings::default());
    }
}

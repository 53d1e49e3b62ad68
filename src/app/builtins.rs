//! The built-in methods of DESIGN.md §3, callable with `NetConnection.call`
//! in every scope of the default application, and in custom applications
//! for every method their `on_call` answers [`CallOutcome::NotHandled`]:
//!
//! | method | result |
//! |---|---|
//! | `echo(...args)` | no argument: `null`; one: that value; several: a strict array of them |
//! | `getServerTime()` | milliseconds since the Unix epoch (a number) |
//! | `broadcast(method, ...args)` | calls `method(...args)` (transaction id 0) on every client of the caller's scope, caller included; the number of nodes reached |
//! | `getClientId()` | this connection's id, `"{node_id}:{conn_id}"` |
//! | `callClient(clientId, method, ...args)` | that client's `_result` (one value: that value), or `_error` |
//!
//! Extra arguments to `getServerTime` and `getClientId` are ignored. Wrong
//! arguments answer `_error` `NetConnection.Call.Failed` with a description
//! saying what was expected.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{ready, AppFuture, CallOutcome, ClientInfo, Server};
use crate::protocol::amf::AmfValue;

/// A parsed call to a built-in method.
#[derive(Debug, Clone, PartialEq)]
pub enum Builtin {
    /// `echo(...args)`.
    Echo(Vec<AmfValue>),
    /// `getServerTime()`.
    GetServerTime,
    /// `broadcast(method, ...args)`.
    Broadcast {
        /// The method to call on every client of the scope.
        method: String,
        /// Its arguments.
        args: Vec<AmfValue>,
    },
    /// `getClientId()`.
    GetClientId,
    /// `callClient(clientId, method, ...args)`.
    CallClient {
        /// The client to call.
        client_id: String,
        /// The method to call on it.
        method: String,
        /// Its arguments.
        args: Vec<AmfValue>,
    },
}

impl Builtin {
    /// Parses a call: `None` when `method` is not a built-in, `Some(Err(_))`
    /// with a description for the client when the arguments are wrong.
    pub fn parse(method: &str, args: Vec<AmfValue>) -> Option<Result<Self, String>> {
        Some(match method {
            "echo" => Ok(Self::Echo(args)),
            "getServerTime" => Ok(Self::GetServerTime),
            "getClientId" => Ok(Self::GetClientId),
            "broadcast" => {
                let mut args = args.into_iter();
                method_name(args.next(), "broadcast(method, ...args)").map(|method| {
                    Self::Broadcast {
                        method,
                        args: args.collect(),
                    }
                })
            }
            "callClient" => {
                let usage = "callClient(clientId, method, ...args)";
                let mut args = args.into_iter();
                match args.next() {
                    Some(AmfValue::String(id)) => {
                        method_name(args.next(), usage).map(|method| Self::CallClient {
                            client_id: id.to_string(),
                            method,
                            args: args.collect(),
                        })
                    }
                    other => Err(format!(
                        "{usage}: clientId must be a string, got {}.",
                        describe(other.as_ref())
                    )),
                }
            }
            _ => return None,
        })
    }

    /// Runs the call for `client`.
    pub fn run(self, client: &ClientInfo, server: &Server) -> AppFuture<CallOutcome> {
        match self {
            Self::Echo(args) => ready(CallOutcome::Result(vec![echo_value(args)])),
            Self::GetServerTime => {
                ready(CallOutcome::Result(vec![AmfValue::Number(unix_time_ms())]))
            }
            Self::GetClientId => ready(CallOutcome::Result(vec![AmfValue::string(
                client.client_id.as_str(),
            )])),
            Self::Broadcast { method, args } => {
                let nodes = server.broadcast(&client.scope, &method, args);
                Box::pin(async move {
                    match nodes.await {
                        Ok(nodes) => CallOutcome::Result(vec![AmfValue::Number(nodes as f64)]),
                        Err(e) => CallOutcome::Error(format!("broadcast: {e}.")),
                    }
                })
            }
            Self::CallClient {
                client_id,
                method,
                args,
            } => {
                let answer = server.call_client(&client_id, &method, args);
                Box::pin(async move {
                    match answer.await {
                        Ok(values) if values.is_empty() => {
                            CallOutcome::Result(vec![AmfValue::Null])
                        }
                        Ok(values) => CallOutcome::Result(values),
                        Err(e) => CallOutcome::Error(format!("callClient: {e}.")),
                    }
                })
            }
        }
    }
}

/// Runs built-in `method` for `client`: [`CallOutcome::NotHandled`] when it
/// is not a built-in, [`CallOutcome::Error`] for wrong arguments. Custom
/// applications may call it from their own `on_call` (the node calls it
/// anyway when `on_call` answers `NotHandled`).
pub fn call_builtin(
    client: &ClientInfo,
    server: &Server,
    method: &str,
    args: Vec<AmfValue>,
) -> AppFuture<CallOutcome> {
    match Builtin::parse(method, args) {
        None => ready(CallOutcome::NotHandled),
        Some(Err(description)) => ready(CallOutcome::Error(description)),
        Some(Ok(builtin)) => builtin.run(client, server),
    }
}

/// The description of the `_error` for a method nobody handles.
pub fn method_not_found(method: &str) -> String {
    format!("Method not found ({method}).")
}

/// What `echo` returns: `null` for no argument, the argument for one, a
/// strict array of them for several.
pub fn echo_value(mut args: Vec<AmfValue>) -> AmfValue {
    match args.len() {
        0 => AmfValue::Null,
        1 => args.pop().unwrap_or(AmfValue::Null),
        _ => AmfValue::strict_array(args),
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn unix_time_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64)
}

fn method_name(value: Option<AmfValue>, usage: &str) -> Result<String, String> {
    match value {
        Some(AmfValue::String(name)) if !name.is_empty() => Ok(name.to_string()),
        Some(AmfValue::String(_)) => Err(format!("{usage}: the method name is empty.")),
        other => Err(format!(
            "{usage}: the method name must be a string, got {}.",
            describe(other.as_ref())
        )),
    }
}

fn describe(value: Option<&AmfValue>) -> String {
    value.map_or_else(|| "nothing".to_string(), |v| v.type_name().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> AmfValue {
        AmfValue::string(v)
    }

    #[test]
    fn echo_returns_null_for_no_argument_the_value_for_one_and_an_array_for_several() {
        assert_eq!(echo_value(vec![]), AmfValue::Null);
        assert_eq!(echo_value(vec![s("a")]), s("a"));
        assert_eq!(
            echo_value(vec![s("a"), AmfValue::Number(2.0)]),
            AmfValue::strict_array([s("a"), AmfValue::Number(2.0)])
        );
    }

    #[test]
    fn unknown_methods_are_not_builtins() {
        assert_eq!(Builtin::parse("Echo", vec![]), None);
        assert_eq!(Builtin::parse("", vec![]), None);
    }

    #[test]
    fn broadcast_takes_the_method_name_and_passes_the_rest_on() {
        assert_eq!(
            Builtin::parse("broadcast", vec![s("onChat"), s("hi"), AmfValue::Null]),
            Some(Ok(Builtin::Broadcast {
                method: "onChat".into(),
                args: vec![s("hi"), AmfValue::Null]
            }))
        );
    }

    #[test]
    fn broadcast_without_a_method_name_is_an_error_that_says_so() {
        for args in [vec![], vec![AmfValue::Number(1.0)], vec![s("")]] {
            let Some(Err(description)) = Builtin::parse("broadcast", args.clone()) else {
                panic!("{args:?} accepted");
            };
            assert!(
                description.starts_with("broadcast(method, ...args)"),
                "{description}"
            );
        }
    }

    #[test]
    fn call_client_needs_a_string_id_and_a_method_name() {
        let Some(Err(d)) = Builtin::parse("callClient", vec![AmfValue::Number(7.0), s("m")]) else {
            panic!("numeric id accepted");
        };
        assert!(d.contains("clientId must be a string, got number"), "{d}");
        let Some(Err(d)) = Builtin::parse("callClient", vec![]) else {
            panic!("no id accepted");
        };
        assert!(d.contains("got nothing"), "{d}");
        let Some(Err(d)) = Builtin::parse("callClient", vec![s("n:1")]) else {
            panic!("no method accepted");
        };
        assert!(d.contains("method name must be a string"), "{d}");
        assert_eq!(
            Builtin::parse(
                "callClient",
                vec![s("n:1"), s("ping"), AmfValue::Boolean(true)]
            ),
            Some(Ok(Builtin::CallClient {
                client_id: "n:1".into(),
                method: "ping".into(),
                args: vec![AmfValue::Boolean(true)]
            }))
        );
    }

    #[test]
    fn get_server_time_and_get_client_id_ignore_extra_arguments() {
        assert_eq!(
            Builtin::parse("getServerTime", vec![s("x")]),
            Some(Ok(Builtin::GetServerTime))
        );
        assert_eq!(
            Builtin::parse("getClientId", vec![AmfValue::Null]),
            Some(Ok(Builtin::GetClientId))
        );
    }

    #[test]
    fn server_time_is_after_2020_in_milliseconds() {
        assert!(unix_time_ms() > 1_577_836_800_000.0);
    }
}

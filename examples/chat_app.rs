//! A chat server embedded in a program: Ferrocast as a library with one
//! custom [`Application`].
//!
//! ```text
//! cargo run --example chat_app        # RTMP on 0.0.0.0:1935, HTTP on 127.0.0.1:8080
//! ```
//!
//! Clients connect to `rtmp://HOST/chat[/ROOM]` with their user name as the
//! first connect argument (`nc.connect(url, "ada")`); a connect without one is
//! rejected with a reason. `sendMessage(text)` broadcasts
//! `onMessage(user, text)` to everyone in the room. SharedObject slots whose
//! names start with `_` are the server's: clients may not write or delete
//! them. Everything else — `echo`, `getServerTime`, `broadcast`,
//! `getClientId`, `callClient`, publish, play — is the built-in behaviour.
//! Other application names are served by the default application.
//!
//! The usual settings apply (`--config`-less: defaults, then
//! `FERROCAST__...` environment variables, e.g.
//! `FERROCAST__RTMP__LISTEN=127.0.0.1:1936`).

use ferrocast::app::{
    ready, AppFuture, Application, Applications, CallOutcome, ClientInfo, Decision,
    DefaultApplication, Server, SharedObjectRef,
};
use ferrocast::protocol::amf::AmfValue;
use ferrocast::settings::{Overrides, Settings};

/// The chat application.
struct ChatApp;

impl ChatApp {
    /// The user name given at connect (checked by `on_connect`).
    fn user(client: &ClientInfo) -> &str {
        client
            .connect_args
            .first()
            .and_then(AmfValue::as_str)
            .unwrap_or("?")
    }
}

impl Application for ChatApp {
    fn on_connect(&self, client: &ClientInfo, _: &Server) -> AppFuture<Decision> {
        let named = client
            .connect_args
            .first()
            .and_then(AmfValue::as_str)
            .is_some_and(|name| !name.trim().is_empty());
        ready(if named {
            Decision::Accept
        } else {
            Decision::reject("A user name is required: connect(url, userName).")
        })
    }

    fn on_disconnect(&self, client: &ClientInfo, server: &Server) {
        let user = Self::user(client);
        // The broadcast is sent at once; its count is not needed here.
        drop(server.broadcast(&client.scope, "onLeft", vec![AmfValue::string(user)]));
    }

    fn on_call(
        &self,
        client: &ClientInfo,
        server: &Server,
        method: &str,
        args: Vec<AmfValue>,
    ) -> AppFuture<CallOutcome> {
        if method != "sendMessage" {
            return ready(CallOutcome::NotHandled);
        }
        let Some(text) = args.first().and_then(AmfValue::as_str) else {
            return ready(CallOutcome::Error(
                "sendMessage(text): text must be a string.".to_string(),
            ));
        };
        let args = vec![AmfValue::string(Self::user(client)), AmfValue::string(text)];
        let nodes = server.broadcast(&client.scope, "onMessage", args);
        Box::pin(async move {
            match nodes.await {
                Ok(nodes) => CallOutcome::Result(vec![AmfValue::Number(nodes as f64)]),
                Err(e) => CallOutcome::Error(format!("sendMessage: {e}.")),
            }
        })
    }

    fn on_shared_object_write(&self, _: &ClientInfo, _: &SharedObjectRef, slot: &str) -> bool {
        !slot.starts_with('_')
    }

    fn on_shared_object_delete(&self, _: &ClientInfo, _: &SharedObjectRef, slot: &str) -> bool {
        !slot.starts_with('_')
    }
}

fn main() -> anyhow::Result<()> {
    let settings = Settings::load(None, &Overrides::default())?;
    ferrocast::telemetry::init(settings.log.format);
    let applications = Applications::new()
        .with("chat", ChatApp)
        .with_default(DefaultApplication);
    actix_rt::System::new().block_on(ferrocast::node::run_with(settings, applications))?;
    Ok(())
}

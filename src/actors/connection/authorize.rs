//! The application's say on connect, publish and play.
//!
//! Connect: the application serving the first path segment is resolved
//! ([`Applications`](crate::app::Applications); none → `Connect.Rejected` as
//! before), a [`ClientInfo`] is built (client id `"{node_id}:{conn_id}"`),
//! and `on_connect` decides. Accepted: the `_result` carries `clientid`, the
//! client joins the node's client directory, and the commands the session
//! held since connect are processed. Rejected: `_error`
//! `NetConnection.Connect.Rejected` with the reason, then close.
//!
//! Publish → `on_publish`; a refusal answers `NetStream.Publish.Rejected`
//! (level `error`, the reason as description). Servers disagree here: Red5
//! answers `NetStream.Publish.BadName` (which Ferrocast keeps for "already
//! published"), nginx-rtmp-style servers `NetStream.Publish.Denied`; Wowza's
//! modules and OvenMediaEngine send `Rejected`, which Flash clients and
//! encoders treat as a final error. Play → `on_play`; a refusal answers
//! `NetStream.Play.Failed` (FMS: "such as the subscriber not having read
//! access").
//!
//! A decision that is ready at once (every default hook) is applied at once,
//! exactly as if there were no hook. One that must wait holds the connection
//! (`ctx.wait`): no other input is processed until it is decided.

use std::sync::Arc;

use actix::prelude::*;
use bytestring::ByteString;
use tracing::{debug, info, warn};

use super::calls::ready_now;
use super::ConnectionActor;
use crate::actors::clients::ClientHandle;
use crate::app::{ready, AppFuture, Application, ClientInfo, Decision};
use crate::protocol::amf::AmfValue;
use crate::protocol::command::status;
use crate::protocol::session::{ConnectAccept, RequestId, SessionError, SessionEvent};

/// The status code of a publish the application refused.
pub(crate) const NS_PUBLISH_REJECTED: &str = "NetStream.Publish.Rejected";

/// The cluster-wide id of connection `conn_id` on node `node_id`. Node ids
/// contain no `:` (hostnames do not), so the node is everything before the
/// last `:`.
pub(crate) fn client_id(node_id: &str, conn_id: u64) -> String {
    format!("{node_id}:{conn_id}")
}

impl ConnectionActor {
    /// Applies `decision` with `then`: at once when it is ready, else once it
    /// is, holding the connection meanwhile. A hook that does not decide
    /// within `[calls] timeout_ms` is taken as a refusal, so a hook that
    /// waits on something that never comes (for instance a call to its own
    /// client, whose connection is held) cannot wedge the connection.
    fn decide(
        &mut self,
        decision: AppFuture<Decision>,
        ctx: &mut Context<Self>,
        then: impl FnOnce(&mut Self, Decision, &mut Context<Self>) + 'static,
    ) {
        match ready_now(decision) {
            Ok(value) => then(self, value, ctx),
            Err(later) => {
                let limit = std::time::Duration::from_millis(self.deps.calls.timeout_ms);
                let conn_id = self.id;
                let later = async move {
                    tokio::time::timeout(limit, later)
                        .await
                        .unwrap_or_else(|_| {
                            tracing::warn!(conn_id, "the application did not decide in time");
                            Decision::reject("The application did not decide in time.")
                        })
                };
                later
                    .into_actor(self)
                    .map(move |value, act, ctx| {
                        then(act, value, ctx);
                        act.flush();
                    })
                    .wait(ctx);
            }
        }
    }

    /// A `connect` (any other event is ignored).
    pub(super) fn on_connect_requested(
        &mut self,
        event: SessionEvent,
        ctx: &mut Context<Self>,
    ) -> Result<(), SessionError> {
        let SessionEvent::ConnectRequested {
            request,
            app,
            tc_url,
            object_encoding,
            command_object,
            args,
        } = event
        else {
            return Ok(());
        };
        let scope = app.trim_matches('/').to_string();
        let name = scope.split('/').next().unwrap_or_default().to_string();
        let Some(application) = self.deps.applications.resolve(&name) else {
            warn!(conn_id = self.id, peer = %self.peer, app = %scope, "connect rejected: unknown application");
            let reason = format!("Application {name:?} is not served here.");
            self.session.reject_connect(request, &reason)?;
            self.flush();
            ctx.stop();
            return Ok(());
        };
        let client = Arc::new(ClientInfo {
            client_id: client_id(self.deps.server.node_id(), self.id),
            conn_id: self.id,
            peer: self.peer,
            app: name,
            scope,
            object_encoding,
            tc_url: tc_url.map(|u| u.to_string()),
            command_object,
            connect_args: args,
        });
        let decision = application.on_connect(&client, &self.deps.server);
        self.decide(decision, ctx, move |act, decision, ctx| {
            if let Err(e) = act.connect_decided(request, application, client, decision, ctx) {
                act.fail(&e, ctx);
            }
        });
        Ok(())
    }

    fn connect_decided(
        &mut self,
        request: RequestId,
        application: Arc<dyn Application>,
        client: Arc<ClientInfo>,
        decision: Decision,
        ctx: &mut Context<Self>,
    ) -> Result<(), SessionError> {
        if let Decision::Reject { reason } = decision {
            info!(conn_id = self.id, peer = %self.peer, app = %client.scope, %reason, "connect rejected by the application");
            self.session.reject_connect(request, &reason)?;
            self.flush();
            ctx.stop();
            return Ok(());
        }
        self.scope = client.scope.clone();
        self.span.record("app", self.scope.as_str());
        let scope = self.scope.clone();
        self.deps
            .directory
            .update_connection(self.id, |c| c.app = scope);
        info!(conn_id = self.id, peer = %self.peer, app = %self.scope, client_id = %client.client_id, "connected");
        let accept = ConnectAccept {
            client_id: Some(AmfValue::string(client.client_id.as_str())),
            ..ConnectAccept::default()
        };
        self.session.accept_connect(request, &accept)?;
        self.deps.server.clients.register(ClientHandle {
            info: client.clone(),
            invoke: ctx.address().recipient(),
            notify: ctx.address().recipient(),
        });
        self.application = Some(application);
        self.client = Some(client);
        // Commands that followed connect were held until this decision.
        let now = self.now_ms();
        let more = self.session.handle_input(&[], now, &mut rand::rng())?;
        self.on_events(more, ctx);
        Ok(())
    }

    /// Asks the application whether this client may publish `name`.
    pub(super) fn authorize_publish(
        &mut self,
        request: RequestId,
        stream_id: u32,
        name: ByteString,
        ctx: &mut Context<Self>,
    ) {
        let stream = self.key(&name).name;
        let decision = match (&self.application, &self.client) {
            (Some(app), Some(client)) => app.on_publish(client, &stream),
            _ => ready(Decision::Accept),
        };
        self.decide(decision, ctx, move |act, decision, ctx| match decision {
            Decision::Accept => act.publish(request, stream_id, &name, ctx),
            Decision::Reject { reason } => {
                info!(conn_id = act.id, stream = %stream, %reason, "publish rejected by the application");
                if let Err(e) = act
                    .session
                    .reject_publish(request, NS_PUBLISH_REJECTED, &reason)
                {
                    debug!(conn_id = act.id, error = %e, "publish decision dropped");
                }
            }
        });
    }

    /// Asks the application whether this client may play `name`.
    pub(super) fn authorize_play(
        &mut self,
        request: RequestId,
        stream_id: u32,
        name: ByteString,
        reset: bool,
        ctx: &mut Context<Self>,
    ) {
        let stream = self.key(&name).name;
        let decision = match (&self.application, &self.client) {
            (Some(app), Some(client)) => app.on_play(client, &stream),
            _ => ready(Decision::Accept),
        };
        self.decide(decision, ctx, move |act, decision, ctx| {
            if let Decision::Reject { reason } = decision {
                info!(conn_id = act.id, stream = %stream, %reason, "play rejected by the application");
                let refused = act
                    .session
                    .reject_play(request, status::NS_PLAY_FAILED, &reason);
                if let Err(e) = refused {
                    debug!(conn_id = act.id, error = %e, "play decision dropped");
                }
            } else if let Err(e) = act.play(request, stream_id, &name, reset, ctx) {
                act.fail(&e, ctx);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_id_is_the_node_id_and_the_connection_id() {
        assert_eq!(client_id("edge-1a2b3c", 42), "edge-1a2b3c:42");
    }
}

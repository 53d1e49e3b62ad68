//! Remote calls on one connection, both ways.
//!
//! Client → server: a `CallReceived` goes to the application's `on_call`,
//! then (when it answers `NotHandled`) to the built-ins, then becomes an
//! `_error` `NetConnection.Call.Failed`. A call whose answer is ready at once
//! is answered at once; one that must wait (e.g. `callClient`) runs on the
//! actor (`ctx.spawn`) while other input keeps flowing, and is answered when
//! ready — so its answer may come after the answers to later calls, as with
//! FMS. While `[calls] max_pending_per_connection` such calls run on a
//! connection, its further calls get `_error` at once.
//!
//! Server → client: [`InvokeClient`] calls a method with a fresh transaction
//! id and records it in a [`PendingCalls`] table with a deadline
//! (`[calls] timeout_ms`); the client's `_result`/`_error` resolves it, a
//! timer fails it with [`CallError::Timeout`], and when the connection stops
//! every pending call fails with [`CallError::Disconnected`].
//! [`NotifyClient`] calls with transaction id 0 (broadcasts).

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use actix::prelude::*;
use bytestring::ByteString;
use tracing::{debug, trace};

use super::pending::PendingCalls;
use super::ConnectionActor;
use crate::actors::messages::{CallReply, InvokeClient, NotifyClient};
use crate::app::builtins::{call_builtin, method_not_found};
use crate::app::{AppFuture, CallError, CallOutcome};
use crate::protocol::amf::AmfValue;
use crate::protocol::command::status;
use crate::protocol::session::SessionEvent;
use crate::settings::CallSettings;

/// The calls of one connection.
pub(super) struct CallState {
    /// Server → client calls awaiting the client's answer.
    pending: PendingCalls<tokio::sync::oneshot::Sender<CallReply>>,
    /// Client → server calls still being worked on (answered later).
    in_flight: usize,
    timeout_ms: u64,
    /// Whether the one timer that expires `pending` is armed. One timer, not
    /// one per call: actix polls every timer of an actor on each wake-up,
    /// and a timer per call lived `timeout_ms` even once answered (at 5k
    /// calls/s: 50k timers, most of a core).
    expiry_armed: bool,
}

impl CallState {
    pub(super) fn new(settings: &CallSettings) -> Self {
        Self {
            pending: PendingCalls::new(settings.max_pending_per_connection),
            in_flight: 0,
            timeout_ms: settings.timeout_ms,
            expiry_armed: false,
        }
    }
}

/// The value of `future` if it is ready without waiting, else the future
/// itself (to be run on the actor). Polling with a no-op waker is harmless:
/// a pending future registers the actor's waker when it is polled again.
pub(super) fn ready_now<T>(mut future: AppFuture<T>) -> Result<T, AppFuture<T>> {
    let mut cx = TaskContext::from_waker(Waker::noop());
    match Pin::as_mut(&mut future).poll(&mut cx) {
        Poll::Ready(value) => Ok(value),
        Poll::Pending => Err(future),
    }
}

impl ConnectionActor {
    fn client_id(&self) -> String {
        self.client
            .as_ref()
            .map_or_else(String::new, |c| c.client_id.clone())
    }

    /// A call from the client, or its answer to one of ours (any other event
    /// is ignored).
    pub(super) fn on_call_event(&mut self, event: SessionEvent, ctx: &mut Context<Self>) {
        match event {
            SessionEvent::CallReceived {
                transaction_id,
                name,
                args,
                ..
            } => self.on_call(transaction_id, name, args, ctx),
            SessionEvent::CallResult {
                transaction_id,
                ok,
                values,
                ..
            } => self.on_call_result(transaction_id, ok, values),
            _ => {}
        }
    }

    /// A `NetConnection.call` from the client.
    fn on_call(
        &mut self,
        transaction_id: f64,
        name: ByteString,
        args: Vec<AmfValue>,
        ctx: &mut Context<Self>,
    ) {
        self.deps.metrics.calls_received.add(1);
        let (Some(app), Some(client)) = (self.application.clone(), self.client.clone()) else {
            let outcome = CallOutcome::Error("Not connected.".to_string());
            return self.answer(transaction_id, outcome);
        };
        if self.calls.in_flight >= self.calls.pending.max() {
            let description = format!(
                "Too many calls in progress on this connection (at most {}).",
                self.calls.pending.max()
            );
            return self.answer(transaction_id, CallOutcome::Error(description));
        }
        let server = self.deps.server.clone();
        let method = name.to_string();
        let handled = app.on_call(&client, &server, &method, args.clone());
        let outcome: AppFuture<CallOutcome> = Box::pin(async move {
            match handled.await {
                CallOutcome::NotHandled => {
                    match call_builtin(&client, &server, &method, args).await {
                        CallOutcome::NotHandled => CallOutcome::Error(method_not_found(&method)),
                        outcome => outcome,
                    }
                }
                outcome => outcome,
            }
        });
        match ready_now(outcome) {
            Ok(outcome) => self.answer(transaction_id, outcome),
            Err(later) => {
                self.calls.in_flight += 1;
                ctx.spawn(later.into_actor(self).map(move |outcome, act, _| {
                    act.calls.in_flight -= 1;
                    act.answer(transaction_id, outcome);
                    act.flush();
                }));
            }
        }
    }

    /// Sends `_result` or `_error` for a client's call (nothing for
    /// transaction id 0).
    fn answer(&mut self, transaction_id: f64, outcome: CallOutcome) {
        let description = match outcome {
            CallOutcome::Result(values) => match self.session.call_result(transaction_id, values) {
                Ok(()) => return,
                Err(e) => format!("The result cannot be sent: {e}."),
            },
            CallOutcome::Error(description) => description,
            CallOutcome::NotHandled => "Not handled.".to_string(),
        };
        self.deps.metrics.calls_failed.add(1);
        if let Err(e) =
            self.session
                .call_error(transaction_id, status::NC_CALL_FAILED, &description)
        {
            debug!(conn_id = self.id, error = %e, "call error not sent");
        }
    }

    /// The client's `_result`/`_error` to a call made with `invoke`.
    fn on_call_result(&mut self, transaction_id: f64, ok: bool, values: Vec<AmfValue>) {
        let Some(settled) = self.calls.pending.resolve(transaction_id) else {
            trace!(
                conn_id = self.id,
                transaction_id,
                "answer to no pending call"
            );
            return;
        };
        self.deps.metrics.server_calls_pending.dec();
        let answer = if ok {
            Ok(values)
        } else {
            Err(CallError::Failed {
                description: error_description(&values),
            })
        };
        let _ = settled.reply.send(answer);
    }

    /// Expires pending calls after `after`, then re-arms for the earliest
    /// deadline left, while calls wait.
    fn arm_call_expiry(&mut self, after: Duration, ctx: &mut Context<Self>) {
        self.calls.expiry_armed = true;
        ctx.run_later(after, |act, ctx| {
            let span = act.span.clone();
            let _entered = span.enter();
            act.calls.expiry_armed = false;
            act.expire_calls();
            if let Some(deadline) = act.calls.pending.next_deadline() {
                let left = deadline.saturating_sub(act.now_ms()).max(1);
                act.arm_call_expiry(Duration::from_millis(left), ctx);
            }
        });
    }

    /// Fails the calls whose deadline passed.
    fn expire_calls(&mut self) {
        let now = self.now_ms();
        let timeout_ms = self.calls.timeout_ms;
        for settled in self.calls.pending.expire(now) {
            self.deps.metrics.server_calls_pending.dec();
            self.deps.metrics.server_calls_timed_out.add(1);
            debug!(conn_id = self.id, method = %settled.method, "server call timed out");
            let _ = settled.reply.send(Err(CallError::Timeout {
                client_id: self.client_id(),
                method: settled.method,
                timeout_ms,
            }));
        }
    }

    /// The connection stopped: fail its pending calls, leave the client
    /// directory, tell the application.
    pub(super) fn calls_stopped(&mut self) {
        for settled in self.calls.pending.fail_all() {
            self.deps.metrics.server_calls_pending.dec();
            let _ = settled.reply.send(Err(CallError::Disconnected {
                client_id: self.client_id(),
                method: settled.method,
            }));
        }
        if let (Some(client), Some(app)) = (&self.client, &self.application) {
            self.deps.server.clients.unregister(&client.client_id);
            app.on_disconnect(client, &self.deps.server);
        }
    }
}

/// What a client's `_error` says: its info object's `description`, else its
/// `code`, else a generic line.
fn error_description(values: &[AmfValue]) -> String {
    let info = values.first();
    let field = |name| info.and_then(|v| v.get(name)).and_then(AmfValue::as_str);
    field("description")
        .or_else(|| field("code"))
        .or_else(|| info.and_then(AmfValue::as_str))
        .map_or_else(|| "The client answered _error.".to_string(), str::to_string)
}

impl Handler<InvokeClient> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: InvokeClient, ctx: &mut Context<Self>) {
        let span = self.span.clone();
        let _entered = span.enter();
        if self.calls.pending.is_full() {
            let _ = msg.reply.send(Err(CallError::TooManyPending {
                client_id: self.client_id(),
                limit: self.calls.pending.max(),
            }));
            return;
        }
        let transaction_id = match self.session.invoke(&msg.method, msg.args) {
            Ok(id) => id,
            Err(e) => {
                let description = format!("Cannot call {}: {e}.", msg.method);
                let _ = msg.reply.send(Err(CallError::Failed { description }));
                return;
            }
        };
        self.flush();
        let timeout_ms = self.calls.timeout_ms;
        let deadline = self.now_ms().saturating_add(timeout_ms);
        match self
            .calls
            .pending
            .insert(transaction_id, msg.method, deadline, msg.reply)
        {
            Ok(()) => {
                self.deps.metrics.server_calls_pending.inc();
                if !self.calls.expiry_armed {
                    self.arm_call_expiry(Duration::from_millis(timeout_ms), ctx);
                }
            }
            Err(reply) => {
                let _ = reply.send(Err(CallError::TooManyPending {
                    client_id: self.client_id(),
                    limit: self.calls.pending.max(),
                }));
            }
        }
    }
}

impl Handler<NotifyClient> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: NotifyClient, _: &mut Context<Self>) {
        if let Err(e) = self.session.notify(&msg.method, msg.args) {
            debug!(conn_id = self.id, error = %e, method = %msg.method, "notification not sent");
        }
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_error_is_described_by_its_description_then_its_code() {
        let info = AmfValue::object([
            ("code", AmfValue::string("App.Oops")),
            ("description", AmfValue::string("it broke")),
        ]);
        assert_eq!(error_description(&[info]), "it broke");
        let info = AmfValue::object([("code", AmfValue::string("App.Oops"))]);
        assert_eq!(error_description(&[info]), "App.Oops");
        assert_eq!(error_description(&[AmfValue::string("plain")]), "plain");
        assert_eq!(error_description(&[]), "The client answered _error.");
    }

    #[test]
    fn a_ready_future_is_taken_at_once_and_a_pending_one_is_given_back() {
        assert_eq!(ready_now(crate::app::ready(5)).ok(), Some(5));
        let (_tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let pending: AppFuture<u8> = Box::pin(async move { rx.await.unwrap_or(0) });
        assert!(ready_now(pending).is_err());
    }
}

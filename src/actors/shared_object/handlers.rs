//! The actor's messages from the registry and its `Handler`s: each input
//! goes through [`SharedObjectActor::input`] in arrival order.

use actix::prelude::*;
use tracing::{debug, info};

use super::{AdminRequest, Input, SharedObjectActor};
use crate::actors::messages::{ChangeSharedObject, SoSubscriber};

/// SharedObjectActor (from the registry): a subscriber joins.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Subscribe {
    pub(crate) subscriber: SoSubscriber,
    pub(crate) version: u32,
}

/// SharedObjectActor (from the registry): a subscriber left.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Unsubscribe {
    pub(crate) conn_id: u64,
}

/// SharedObjectActor (from the registry): nobody uses it any more; stop
/// once nothing is pending (no commit unresolved, nothing queued or in the
/// inbox), so every accepted change is answered.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct StopSharedObject;

impl Actor for SharedObjectActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.metrics.so_live.inc();
        if self.cluster.is_some() {
            self.cluster_start(ctx);
        } else if self.store.is_some() {
            self.load(ctx);
        }
        debug!(so = %self.key.name, scope = %self.key.scope, persistent = self.key.persistent, "SharedObject started");
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.metrics.so_live.dec();
        self.cluster_stop();
        info!(so = %self.key.name, scope = %self.key.scope, persistent = self.key.persistent, "SharedObject stopped");
    }
}

impl Handler<Subscribe> for SharedObjectActor {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, ctx: &mut Context<Self>) {
        self.handled_registry_message();
        self.input(Input::Subscribe(msg.subscriber, msg.version), ctx);
    }
}

impl Handler<Unsubscribe> for SharedObjectActor {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, ctx: &mut Context<Self>) {
        self.handled_registry_message();
        self.input(Input::Unsubscribe(msg.conn_id), ctx);
    }
}

impl Handler<ChangeSharedObject> for SharedObjectActor {
    type Result = ();

    fn handle(&mut self, msg: ChangeSharedObject, ctx: &mut Context<Self>) {
        self.input(Input::Change(msg), ctx);
    }
}

impl Handler<AdminRequest> for SharedObjectActor {
    type Result = ();

    fn handle(&mut self, msg: AdminRequest, ctx: &mut Context<Self>) {
        self.handled_registry_message();
        self.input(Input::Admin(msg), ctx);
    }
}

impl Handler<StopSharedObject> for SharedObjectActor {
    type Result = ();

    fn handle(&mut self, _: StopSharedObject, ctx: &mut Context<Self>) {
        self.stop_requested = true;
        self.stop_when_idle(ctx);
    }
}

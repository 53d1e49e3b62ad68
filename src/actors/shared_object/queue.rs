//! The ordered outgoing queue: entries leave in order, each once the commit
//! it waits for (its `gate`) resolved; lag handling and reload after a
//! failed commit.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use actix::prelude::*;

use super::{
    AdminAnswer, AdminReply, Lag, SharedObjectActor, SoApiError, LAG_CHECK, LAG_HIGH_BYTES,
    LAG_LOW_BYTES,
};
use crate::actors::messages::SoDeliver;
use crate::protocol::shared_object::SharedObjectMessage;
use crate::sharedobject::{codes, status_event};

/// One outgoing item.
pub(super) struct Entry {
    /// Released once every commit up to this sequence number resolved.
    pub(super) gate: u64,
    pub(super) kind: EntryKind,
}

pub(super) enum EntryKind {
    /// An accepted change.
    Change {
        writer: Option<u64>,
        version: u32,
        bumped: bool,
        for_writer: Option<Arc<SharedObjectMessage>>,
        for_others: Option<Arc<SharedObjectMessage>>,
        reply: Option<AdminReply>,
    },
    /// A sync for one subscriber (Use answer or catch-up).
    Sync {
        conn_id: u64,
        version: u32,
        messages: Vec<Arc<SharedObjectMessage>>,
    },
    /// A message for one subscriber (a refusal).
    Direct {
        conn_id: u64,
        message: Arc<SharedObjectMessage>,
    },
    /// An admin answer.
    Reply {
        reply: AdminReply,
        answer: AdminAnswer,
    },
}

fn send(deliver: &Recipient<SoDeliver>, message: &Arc<SharedObjectMessage>) {
    deliver.do_send(SoDeliver {
        message: message.clone(),
        ended: false,
    });
}

impl SharedObjectActor {
    /// Releases every entry whose commit resolved; fails those after a
    /// failed commit; starts the reload once everything settled.
    pub(super) fn release(&mut self, ctx: &mut Context<Self>) {
        while let Some(front) = self.outgoing.front() {
            let failed = self.failed_from.is_some_and(|f| front.gate >= f);
            if !failed && front.gate > self.durable {
                break;
            }
            let Some(entry) = self.outgoing.pop_front() else {
                break;
            };
            if failed {
                self.fail(entry);
            } else {
                self.deliver(entry, ctx);
            }
        }
        if self.failed_from.is_some() && self.outgoing.is_empty() && self.outstanding == 0 {
            self.load(ctx);
        }
        self.publish_info();
        self.stop_when_idle(ctx);
    }

    fn fail(&mut self, entry: Entry) {
        match entry.kind {
            EntryKind::Change {
                writer,
                version,
                reply,
                ..
            } => {
                if let Some(sub) = writer.and_then(|w| self.subscribers.get(&w)) {
                    let mut message = SharedObjectMessage::new(
                        self.key.name.as_str(),
                        version,
                        self.key.persistent,
                    );
                    message.events.push(status_event(codes::FLUSH_FAILED));
                    send(&sub.info.deliver, &Arc::new(message));
                }
                if let Some(reply) = reply {
                    let _ = reply.send(Err(SoApiError::Store("commit failed".into())));
                }
            }
            // Re-sent after the reload.
            EntryKind::Sync { .. } => {}
            EntryKind::Direct { conn_id, message } => {
                if let Some(sub) = self.subscribers.get(&conn_id) {
                    send(&sub.info.deliver, &message);
                }
            }
            EntryKind::Reply { reply, .. } => {
                let _ = reply.send(Err(SoApiError::Store("commit failed".into())));
            }
        }
    }

    fn deliver(&mut self, entry: Entry, ctx: &mut Context<Self>) {
        match entry.kind {
            EntryKind::Change {
                writer,
                version,
                bumped,
                for_writer,
                for_others,
                reply,
            } => {
                let mut lagged = false;
                for (id, sub) in self.subscribers.iter_mut() {
                    let mine = Some(*id) == writer;
                    if mine {
                        // The writer always gets its acknowledgement.
                        if let Some(m) = &for_writer {
                            send(&sub.info.deliver, m);
                        }
                    }
                    if sub.lag != Lag::Live {
                        continue;
                    }
                    if sub.info.backlog.load(Ordering::Acquire) > LAG_HIGH_BYTES {
                        sub.lag = Lag::Lagging;
                        lagged = true;
                        continue;
                    }
                    if !mine {
                        if let Some(m) = &for_others {
                            send(&sub.info.deliver, m);
                        }
                    }
                    if bumped {
                        sub.version = version;
                    }
                }
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(AdminAnswer::Applied { version }));
                }
                if lagged {
                    self.watch_lag(ctx);
                }
            }
            EntryKind::Sync {
                conn_id,
                version,
                messages,
            } => {
                if let Some(sub) = self.subscribers.get_mut(&conn_id) {
                    for m in &messages {
                        send(&sub.info.deliver, m);
                    }
                    sub.version = version;
                    sub.lag = Lag::Live;
                }
            }
            EntryKind::Direct { conn_id, message } => {
                if let Some(sub) = self.subscribers.get(&conn_id) {
                    send(&sub.info.deliver, &message);
                }
            }
            EntryKind::Reply { reply, answer } => {
                let _ = reply.send(Ok(answer));
            }
        }
    }

    /// Checks lagging subscribers every [`LAG_CHECK`] while any lags.
    fn watch_lag(&mut self, ctx: &mut Context<Self>) {
        if self.lag_timer.is_some() {
            return;
        }
        self.lag_timer = Some(ctx.run_interval(LAG_CHECK, |act, ctx| {
            let lagging: Vec<(u64, bool)> = act
                .subscribers
                .iter()
                .filter(|(_, s)| s.lag == Lag::Lagging)
                .map(|(id, s)| (*id, s.info.backlog.load(Ordering::Acquire) < LAG_LOW_BYTES))
                .collect();
            if lagging.is_empty() {
                if let Some(handle) = act.lag_timer.take() {
                    ctx.cancel_future(handle);
                }
                return;
            }
            if act.state.is_none() {
                return;
            }
            for (id, drained) in lagging {
                if drained {
                    act.queue_sync(id, None);
                }
            }
            act.release(ctx);
        }));
    }
}

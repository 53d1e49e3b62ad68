//! Sending this node's accepted messages to Redis: planning against the
//! local copy, the envelopes, one script call in flight per object carrying
//! every message queued meanwhile (a batch), and the answer (a version per
//! message, or `SharedObject.Flush.Failed` for each).

use std::sync::Arc;

use actix::prelude::*;
use tracing::{debug, warn};

use super::super::queue::{Entry, EntryKind};
use super::super::{AdminReply, AppPermissions, SharedObjectActor, SoApiError};
use super::{Pending, Replica};
use crate::actors::messages::ChangeSharedObject;
use crate::cluster::amf_args::encode_args;
use crate::cluster::envelope::{AmfEncoding, SlotChange as WireChange};
use crate::cluster::ClusterEvent;
use crate::sharedobject::{codes, AllowAll, Operation, Planned, Refusal, SlotChange};
use crate::store::redis::{RedisMessage, RedisOp, VersionedEnvelope};

/// Most messages in one script call.
const MAX_BATCH_MESSAGES: usize = 64;
/// Most script argument bytes in one script call (a larger message goes
/// alone).
const MAX_BATCH_BYTES: usize = 1 << 20;

/// A planned message waiting for its turn to go to Redis.
pub(super) struct Submission {
    message: RedisMessage,
    /// `message.arg_bytes()`, for the batch bound.
    cost: usize,
    answer: Answer,
}

/// What a message's answer from Redis is applied to.
struct Answer {
    planned: Planned,
    ops: Vec<Operation>,
    writer: Option<u64>,
    reply: Option<AdminReply>,
}

impl SharedObjectActor {
    /// A client's message in the cluster.
    pub(in crate::actors::shared_object) fn cluster_change(
        &mut self,
        change: ChangeSharedObject,
        ctx: &mut Context<Self>,
    ) {
        let Some(sub) = self.subscribers.get(&change.conn_id) else {
            debug!(so = %self.key.name, conn_id = change.conn_id, "change from a non-subscriber ignored");
            return;
        };
        let (application, client) = (sub.info.application.clone(), sub.info.client.clone());
        let Some(state) = self.state.as_ref() else {
            return;
        };
        let planned = match (&application, &client) {
            (Some(app), Some(client)) => state.plan(
                &change.ops,
                &AppPermissions {
                    app: app.as_ref(),
                    client,
                    so: &self.key,
                },
            ),
            _ => state.plan(&change.ops, &AllowAll),
        };
        self.submit(planned, change.ops, Some(change.conn_id), None, ctx);
    }

    /// An admin API write in the cluster.
    pub(in crate::actors::shared_object) fn cluster_admin(
        &mut self,
        ops: Vec<Operation>,
        reply: AdminReply,
        ctx: &mut Context<Self>,
    ) {
        let Some(state) = self.state.as_ref() else {
            return;
        };
        let planned = state.plan(&ops, &AllowAll);
        self.submit(planned, ops, None, Some(reply), ctx);
    }

    /// Sends a planned message to Redis; its answer places it in the order.
    fn submit(
        &mut self,
        planned: Result<Planned, Refusal>,
        ops: Vec<Operation>,
        writer: Option<u64>,
        reply: Option<AdminReply>,
        ctx: &mut Context<Self>,
    ) {
        let planned = planned.and_then(|p| {
            let clears = p.changes.iter().any(|c| matches!(c, SlotChange::Clear));
            if clears && p.changes.len() > 1 {
                return Err(Refusal {
                    code: codes::BAD_VALUE,
                    description: "in a cluster a Clear must be alone in its message".into(),
                });
            }
            Ok(p)
        });
        let planned = match planned {
            Ok(planned) => planned,
            Err(refusal) => return self.refuse(&ops, &refusal, writer, reply),
        };
        let Some(replica) = self.cluster.as_ref() else {
            return;
        };
        let envelopes = match wire(replica, &planned) {
            Ok(envelopes) => envelopes,
            Err(description) => {
                let refusal = Refusal {
                    code: codes::BAD_VALUE,
                    description,
                };
                return self.refuse(&ops, &refusal, writer, reply);
            }
        };
        let redis_ops = planned
            .changes
            .iter()
            .map(|c| match c {
                SlotChange::Set(name, slot) => RedisOp::Set(name.to_string(), slot.encoded.clone()),
                SlotChange::Remove(name) => RedisOp::Remove(name.to_string()),
                SlotChange::Clear => RedisOp::Clear,
            })
            .collect();
        if let Some(replica) = self.cluster.as_mut() {
            let message = RedisMessage {
                ops: redis_ops,
                envelopes,
            };
            replica.queue.push_back(Submission {
                cost: message.arg_bytes(),
                message,
                answer: Answer {
                    planned,
                    ops,
                    writer,
                    reply,
                },
            });
        }
        self.outstanding += 1;
        self.pump(ctx);
    }

    /// Sends what is queued to Redis once the previous call was answered:
    /// one script call in flight per object and node, carrying every queued
    /// message (up to [`MAX_BATCH_MESSAGES`] / [`MAX_BATCH_BYTES`]) in
    /// order, so this node's messages take their places in the cluster
    /// order in the order its clients sent them (each client expects its
    /// acknowledgements in its own order). The batch is one atomic script
    /// call: its messages are all applied or none is, so a failure (an
    /// unknown outcome included) answers each of them
    /// `SharedObject.Flush.Failed`; if the batch was in fact applied, the
    /// versions it took arrive as a gap that the op log fills, as for a
    /// single message.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        let Some(replica) = self.cluster.as_mut() else {
            return;
        };
        if replica.in_flight {
            return;
        }
        let mut messages = Vec::new();
        let mut answers = Vec::new();
        let mut bytes = 0;
        while let Some(next) = replica.queue.front() {
            let full = messages.len() >= MAX_BATCH_MESSAGES
                || !messages.is_empty() && bytes + next.cost > MAX_BATCH_BYTES;
            if full {
                break;
            }
            let Some(Submission {
                message,
                cost,
                answer,
            }) = replica.queue.pop_front()
            else {
                break;
            };
            bytes += cost;
            messages.push(message);
            answers.push(answer);
        }
        if messages.is_empty() {
            return;
        }
        replica.in_flight = true;
        tracing::trace!(so = %self.key.name, messages = messages.len(), bytes, "apply batch");
        let apply = replica.link.store.apply_batch(&replica.object, messages);
        apply
            .into_actor(self)
            .map(move |result, act, ctx| {
                act.outstanding = act.outstanding.saturating_sub(answers.len());
                if let Some(replica) = act.cluster.as_mut() {
                    replica.in_flight = false;
                }
                match result {
                    Ok(versions) => {
                        for (version, answer) in versions.into_iter().zip(answers) {
                            act.applied(version, answer);
                        }
                        act.pump(ctx);
                        act.drain(ctx);
                    }
                    Err(error) => {
                        warn!(so = %act.key.name, %error, messages = answers.len(), "SharedObject changes not applied: Redis failed");
                        let refusal = Refusal {
                            code: codes::FLUSH_FAILED,
                            description: error.to_string(),
                        };
                        for Answer {
                            ops, writer, reply, ..
                        } in answers
                        {
                            act.refuse(&ops, &refusal, writer, None);
                            if let Some(reply) = reply {
                                let _ = reply.send(Err(SoApiError::Store(error.to_string())));
                            }
                        }
                        act.pump(ctx);
                        act.release(ctx);
                    }
                }
            })
            .spawn(ctx);
    }

    /// Places one message of an answered batch in the order at `version`.
    fn applied(&mut self, version: u32, answer: Answer) {
        let Answer {
            planned,
            writer,
            reply,
            ..
        } = answer;
        let bumps = planned.bumps();
        if bumps {
            self.metrics.so_changes_applied.add(1);
        }
        if let Some(replica) = self.cluster.as_mut() {
            replica.push(
                version,
                bumps,
                Pending::Own {
                    writer,
                    changes: planned.changes,
                    for_writer: planned.for_writer,
                    for_others: planned.for_others,
                    reply,
                },
            );
        }
    }

    fn refuse(
        &mut self,
        ops: &[Operation],
        refusal: &Refusal,
        writer: Option<u64>,
        reply: Option<AdminReply>,
    ) {
        self.metrics.so_changes_refused.add(1);
        if let Some(reply) = reply {
            let _ = reply.send(Err(SoApiError::Refused(refusal.clone())));
        }
        let (Some(conn_id), Some(state)) = (writer, &self.state) else {
            return;
        };
        let message = state.refusal_message(ops, refusal);
        self.outgoing.push_back(Entry {
            gate: self.issued,
            kind: EntryKind::Direct {
                conn_id,
                message: Arc::new(message),
            },
        });
    }
}

/// The envelopes of a planned message: its delta (or clear), then its sends.
fn wire(replica: &Replica, planned: &Planned) -> Result<Vec<VersionedEnvelope>, String> {
    let node = replica.link.node.node_id();
    let object = &replica.object;
    let mut out = Vec::new();
    let mut split = |event: &dyn Fn(u32) -> ClusterEvent, logged: bool| {
        let seq = replica.link.node.next_seq(&replica.channel);
        VersionedEnvelope::split(node, seq, event, logged)
            .map(|e| out.push(e))
            .map_err(|e| e.to_string())
    };
    if matches!(planned.changes.as_slice(), [SlotChange::Clear]) {
        split(
            &|version| ClusterEvent::SharedObjectClear {
                object: object.clone(),
                version,
            },
            true,
        )?;
    } else if planned.bumps() {
        let changes: Vec<WireChange> = planned
            .changes
            .iter()
            .filter_map(|c| match c {
                SlotChange::Set(name, slot) => Some(WireChange {
                    slot: name.to_string(),
                    value: Some(slot.encoded.clone()),
                }),
                SlotChange::Remove(name) => Some(WireChange {
                    slot: name.to_string(),
                    value: None,
                }),
                SlotChange::Clear => None,
            })
            .collect();
        split(
            &|version| ClusterEvent::SharedObjectDelta {
                object: object.clone(),
                version,
                encoding: AmfEncoding::Amf3,
                changes: changes.clone(),
            },
            true,
        )?;
    }
    for (method, args) in &planned.sends {
        let args = encode_args(args).map_err(|e| format!("send arguments: {e}"))?;
        split(
            &|version| ClusterEvent::SharedObjectSend {
                object: object.clone(),
                version,
                handler: method.to_string(),
                encoding: AmfEncoding::Amf0,
                args: args.clone(),
            },
            false,
        )?;
    }
    Ok(out)
}

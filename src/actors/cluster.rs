//! The cluster router: the one task that owns this node's
//! [`EventReceiver`] and acts on what other nodes send (DESIGN.md §4).
//!
//! | received | what this node does |
//! |---|---|
//! | `Broadcast` on a scope channel | invokes the method on its clients in that scope (transaction id 0) |
//! | `CallClientRequest` on its inbox | calls its client like a local `callClient` (same timeout), then publishes `CallClientReply` to the origin's inbox — `NoSuchClient` when the client is not here |
//! | `CallClientReply` on its inbox | settles the pending call (result, `_error`, no such client) |
//! | resubscription (`ResyncAll` with a generation) | marks every scope subscription live again; calls have no replicated state to resync (a lost reply times out) |
//! | a node left (membership) | forgets its sequence baselines and fails the calls waiting on it; the registry forgets it as a stream player and ends the relays it fed; removes it from SharedObject member sets in Redis |
//! | `StreamWanted` / `StreamUnwanted` on its inbox | the registry tells its local stream (start / stop publishing frames for that node) |
//! | `StreamPublished`, `StreamUnpublished`, `MediaFrame` on a stream channel, `StreamBurst` on its inbox | the registry starts, feeds or ends the relay of that stream |
//! | `SharedObjectDelta` / `Send` / `Clear` on an object's channel | hands it to the SharedObject registry → the object's actor, which applies it in version order |
//! | any `ResyncAll` | also: every live SharedObject reloads from Redis and resyncs its clients; the stream registry re-announces its wants |
//!
//! The router runs on the node's
//! main arbiter (`actix_rt::spawn`): the calls it makes into connections
//! return `!Send` futures.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::mpsc;

use actix::Addr;

use super::messages::StreamNews;
use super::registry::RegistryActor;
use super::stream_relay::{frame_from_wire, local_key};
use crate::actors::shared_objects::{
    RemoteSharedObject, ResyncSharedObjects, SharedObjectNodeLeft,
};
use crate::app::{CallError, Server};
use crate::cluster::amf_args::decode_args;
use crate::cluster::node::{ClusterInputs, ClusterNode};
use crate::cluster::{ClusterEvent, Envelope, MembershipChange, Received};

/// Installs the scope watcher on the node's client directory and spawns the
/// router on the current arbiter. It runs until the bus closes or the node
/// [`leave`](ClusterNode::leave)s.
pub fn spawn_router(
    server: Server,
    cluster: Arc<ClusterNode>,
    registry: Addr<RegistryActor>,
    inputs: ClusterInputs,
) {
    let watcher = cluster.clone();
    server.clients.watch_scopes(Box::new(move |scope, present| {
        watcher.scope_changed(scope, present)
    }));
    actix_rt::spawn(async move {
        let ClusterInputs {
            mut events,
            mut membership,
        } = inputs;
        loop {
            tokio::select! {
                received = events.recv() => {
                    let Some(received) = received else { break };
                    route(&server, &cluster, &registry, received);
                }
                change = next_change(&mut membership) => match change {
                    Some(MembershipChange::Joined(node)) => {
                        tracing::info!(%node, "cluster node joined");
                    }
                    Some(MembershipChange::Left(node)) => {
                        tracing::info!(%node, "cluster node left");
                        events.forget_node(&node);
                        cluster.node_left(&node);
                        registry.do_send(StreamNews::NodeLeft(node.clone()));
                        if let Some(so) = &server.shared_objects {
                            so.do_send(SharedObjectNodeLeft(node));
                        }
                    }
                    None => membership = None,
                },
                () = cluster.stopped() => break,
            }
        }
        tracing::debug!("cluster router stopped");
    });
}

async fn next_change(
    membership: &mut Option<mpsc::Receiver<MembershipChange>>,
) -> Option<MembershipChange> {
    match membership {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn route(
    server: &Server,
    cluster: &Arc<ClusterNode>,
    registry: &Addr<RegistryActor>,
    received: Received,
) {
    let (envelope, missed) = match received {
        Received::ResyncAll { generation } => {
            if generation.is_some() {
                cluster.resubscribed();
            }
            registry.do_send(StreamNews::Resynced);
            if let Some(so) = &server.shared_objects {
                so.do_send(ResyncSharedObjects);
            }
            tracing::info!(?generation, "cluster bus resynced");
            return;
        }
        Received::Event {
            envelope:
                Envelope {
                    event:
                        event @ (ClusterEvent::SharedObjectDelta { .. }
                        | ClusterEvent::SharedObjectSend { .. }
                        | ClusterEvent::SharedObjectClear { .. }),
                    ..
                },
            missed,
            ..
        } => {
            if let Some(so) = &server.shared_objects {
                so.do_send(RemoteSharedObject { event, missed });
            }
            return;
        }
        Received::Event {
            envelope, missed, ..
        } => (envelope, missed),
    };
    let Envelope { node_id, event, .. } = envelope;
    match event {
        ClusterEvent::Broadcast {
            scope,
            method,
            args,
        } => match decode_args(args, cluster.amf_limits()) {
            Ok(args) => {
                cluster.broadcasts_received.fetch_add(1, Ordering::Relaxed);
                server.deliver_broadcast(&scope, &method, args);
            }
            Err(error) => {
                tracing::warn!(from = %node_id, %scope, %method, %error, "skipping a broadcast with malformed arguments");
            }
        },
        ClusterEvent::CallClientRequest {
            correlation_id,
            origin_node,
            target_client,
            method,
            args,
        } => {
            let answer = match decode_args(args, cluster.amf_limits()) {
                Ok(args) => server.call_local_client(&target_client, &method, args),
                Err(error) => crate::app::ready(Err(CallError::Failed {
                    description: format!("the call's arguments are malformed: {error}"),
                })),
            };
            let cluster = cluster.clone();
            actix_rt::spawn(async move {
                let answer = answer.await;
                cluster.reply(&origin_node, correlation_id, target_client, answer);
            });
        }
        ClusterEvent::CallClientReply {
            correlation_id,
            outcome,
            ..
        } => cluster.resolve(correlation_id, outcome),
        ClusterEvent::StreamWanted { stream, node } => registry.do_send(StreamNews::Wanted {
            key: local_key(stream),
            node,
        }),
        ClusterEvent::StreamUnwanted { stream, node } => registry.do_send(StreamNews::Unwanted {
            key: local_key(stream),
            node,
        }),
        ClusterEvent::StreamPublished { stream, node } => registry.do_send(StreamNews::Published {
            key: local_key(stream),
            node,
        }),
        ClusterEvent::StreamUnpublished { stream } => registry.do_send(StreamNews::Unpublished {
            key: local_key(stream),
            from: node_id,
        }),
        ClusterEvent::StreamBurst { stream, frames } => registry.do_send(StreamNews::Burst {
            key: local_key(stream),
            from: node_id,
            frames: frames
                .into_iter()
                .map(|f| frame_from_wire(f.kind, f.timestamp, f.payload))
                .collect(),
        }),
        ClusterEvent::MediaFrame {
            stream,
            kind,
            timestamp,
            payload,
        } => {
            if missed > 0 {
                cluster.media.gaps.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(from = %node_id, stream = %stream.name, missed, "media frames lost on the bus");
            }
            registry.do_send(StreamNews::Frame {
                key: local_key(stream),
                from: node_id,
                frame: frame_from_wire(kind, timestamp, payload),
            });
        }
        other => tracing::trace!(from = %node_id, ?other, "cluster event not routed here"),
    }
}

//! The subscriber task of [`RedisBus`](super::RedisBus): one `aio::PubSub`
//! connection, the set of wanted channels, resubscription after every
//! (re)connect, pings, backoff.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use redis::aio::PubSubSink;
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout, MissedTickBehavior};

use super::{backoff_delay, Control, Link, RedisBusConfig, Shared};
use crate::cluster::bus::{BusError, Counters, Inbound, InboxSender};

/// The subscriber task: connect, subscribe everything, relay messages,
/// reconnect with backoff.
pub(super) async fn subscriber(
    client: redis::Client,
    mut ctl_rx: mpsc::Receiver<Control>,
    inbox: InboxSender,
    shared: Arc<Shared>,
    config: RedisBusConfig,
) {
    let mut wanted: BTreeSet<Arc<str>> = BTreeSet::new();
    let mut generation = 0u64;
    let mut attempt = 0u32;
    loop {
        let connect = timeout(config.timeout, client.get_async_pubsub());
        tokio::pin!(connect);
        let connected = loop {
            tokio::select! {
                r = &mut connect => break r,
                ctl = ctl_rx.recv() => {
                    let Some(ctl) = ctl else { return };
                    update_offline(&mut wanted, ctl, "connecting to Redis");
                }
            }
        };
        let reason = match connected {
            Ok(Ok(pubsub)) => {
                let (mut sink, mut stream) = pubsub.split();
                match subscribe_all(&mut sink, &wanted, config.timeout).await {
                    Ok(()) => {
                        generation += 1;
                        attempt = 0;
                        Counters::bump(&shared.counters.resubscriptions);
                        inbox.push(Inbound::Resubscribed { generation });
                        shared.set_generation(generation);
                        shared.set_link(true, Link::Up);
                        tracing::info!(
                            generation,
                            channels = wanted.len(),
                            "cluster bus subscribed"
                        );
                        let mut ping = tokio::time::interval(config.ping_interval);
                        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
                        ping.reset();
                        loop {
                            tokio::select! {
                                msg = stream.next() => {
                                    let Some(msg) = msg else { break "connection closed".to_owned() };
                                    relay(&msg, &wanted, &inbox);
                                }
                                ctl = ctl_rx.recv() => {
                                    let Some(ctl) = ctl else { return };
                                    if let Err(reason) = update_online(&mut wanted, ctl, &mut sink, config.timeout).await {
                                        break reason;
                                    }
                                }
                                _ = ping.tick() => {
                                    match timeout(config.timeout, sink.ping::<redis::Value>()).await {
                                        Ok(Ok(_)) => {}
                                        Ok(Err(e)) => break e.to_string(),
                                        Err(_) => break "PING timed out".to_owned(),
                                    }
                                }
                            }
                            if inbox.is_closed() {
                                return;
                            }
                        }
                    }
                    Err(reason) => reason,
                }
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "connect timed out".to_owned(),
        };
        tracing::warn!(%reason, attempt, "cluster bus pub/sub connection lost; reconnecting");
        shared.set_link(true, Link::Down(reason.clone()));
        let delay = backoff_delay(
            attempt,
            config.backoff_initial,
            config.backoff_max,
            rand::random(),
        );
        attempt = attempt.saturating_add(1);
        let wait = sleep(delay);
        tokio::pin!(wait);
        loop {
            tokio::select! {
                () = &mut wait => break,
                ctl = ctl_rx.recv() => {
                    let Some(ctl) = ctl else { return };
                    update_offline(&mut wanted, ctl, &reason);
                }
            }
        }
    }
}

/// Subscribes every wanted channel, a few hundred per command.
async fn subscribe_all(
    sink: &mut PubSubSink,
    wanted: &BTreeSet<Arc<str>>,
    limit: Duration,
) -> Result<(), String> {
    let all: Vec<&str> = wanted.iter().map(|c| &**c).collect();
    for chunk in all.chunks(256) {
        match timeout(limit, sink.subscribe(chunk)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("SUBSCRIBE failed: {e}")),
            Err(_) => return Err("SUBSCRIBE timed out".to_owned()),
        }
    }
    Ok(())
}

/// Applies a subscription change while disconnected: remembered for the
/// next connection, answered "unavailable" (subscribe) or done (unsubscribe).
fn update_offline(wanted: &mut BTreeSet<Arc<str>>, ctl: Control, reason: &str) {
    match ctl {
        Control::Subscribe(channel, reply) => {
            wanted.insert(channel);
            let _ = reply.send(Err(BusError::Unavailable {
                reason: reason.to_owned(),
            }));
        }
        Control::Unsubscribe(channel, reply) => {
            wanted.remove(&channel);
            let _ = reply.send(Ok(()));
        }
    }
}

/// Applies a subscription change on a live connection; `Err` means the
/// connection failed (the change is remembered for the next one).
async fn update_online(
    wanted: &mut BTreeSet<Arc<str>>,
    ctl: Control,
    sink: &mut PubSubSink,
    limit: Duration,
) -> Result<(), String> {
    let (reply, outcome) = match ctl {
        Control::Subscribe(channel, reply) => {
            if wanted.contains(&channel) {
                let _ = reply.send(Ok(()));
                return Ok(());
            }
            let outcome = timeout(limit, sink.subscribe(&*channel)).await;
            wanted.insert(channel);
            (reply, outcome)
        }
        Control::Unsubscribe(channel, reply) => {
            if !wanted.remove(&channel) {
                let _ = reply.send(Ok(()));
                return Ok(());
            }
            (reply, timeout(limit, sink.unsubscribe(&*channel)).await)
        }
    };
    let failure = match outcome {
        Ok(Ok(())) => {
            let _ = reply.send(Ok(()));
            return Ok(());
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => "subscription change timed out".to_owned(),
    };
    let _ = reply.send(Err(BusError::Unavailable {
        reason: failure.clone(),
    }));
    Err(failure)
}

/// Puts one pub/sub message into the inbox, if its channel is still wanted.
fn relay(msg: &redis::Msg, wanted: &BTreeSet<Arc<str>>, inbox: &InboxSender) {
    let Some(channel) = wanted.get(msg.get_channel_name()) else {
        // Arrived between our UNSUBSCRIBE and its confirmation.
        return;
    };
    inbox.push(Inbound::Message {
        channel: channel.clone(),
        payload: Bytes::copy_from_slice(msg.get_payload_bytes()),
    });
}

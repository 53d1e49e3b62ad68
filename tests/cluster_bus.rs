//! The cluster bus against real peers: several LocalBus nodes in one process,
//! and RedisBus nodes against a real redis-server the harness starts on a
//! free port — including its faults (subscriber connections killed, Redis
//! restarted), node heartbeats and lease races.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::redis::RedisServer;
use ferrocast::cluster::bus::BusState;
use ferrocast::cluster::envelope::MAX_ENVELOPE_LEN;
use ferrocast::cluster::membership::connect_manager;
use ferrocast::cluster::{
    ClusterBus, ClusterEvent, EventPublisher, EventReceiver, KeySpace, Leases, LocalHub,
    Membership, MembershipChange, NodeId, Received, RedisBus, RedisBusConfig,
};
use tokio::time::{sleep, timeout};

const LIMIT: Duration = Duration::from_secs(10);

/// One node on a bus: its publisher and receiver.
struct Node {
    bus: Arc<dyn ClusterBus>,
    publisher: EventPublisher,
    receiver: EventReceiver,
}

impl Node {
    fn local(hub: &LocalHub, id: &str) -> Self {
        let (bus, inbox) = hub.attach(NodeId::from(id), 64, 1 << 20);
        Self::new(Arc::new(bus), inbox, id)
    }

    fn redis(server: &RedisServer, id: &str) -> Self {
        Self::redis_with_inbox(server, id, 4096)
    }

    fn redis_with_inbox(server: &RedisServer, id: &str, inbox_capacity: usize) -> Self {
        let mut config = RedisBusConfig::new(server.url(), NodeId::from(id));
        config.inbox_capacity = inbox_capacity;
        config.backoff_initial = Duration::from_millis(50);
        config.backoff_max = Duration::from_millis(400);
        config.ping_interval = Duration::from_millis(200);
        config.timeout = Duration::from_secs(1);
        let (bus, inbox) = RedisBus::start(config).expect("valid url");
        Self::new(Arc::new(bus), inbox, id)
    }

    fn new(bus: Arc<dyn ClusterBus>, inbox: ferrocast::cluster::BusInbox, id: &str) -> Self {
        Self {
            publisher: EventPublisher::new(bus.clone()),
            receiver: EventReceiver::new(inbox, NodeId::from(id), MAX_ENVELOPE_LEN),
            bus,
        }
    }

    fn send(&self, channel: &str, method: &str) -> bool {
        self.publisher.publish(channel, broadcast(method)).is_ok()
    }

    /// The next broadcast method from another node, skipping resync signals.
    async fn next_method(&mut self) -> Option<(Arc<str>, String)> {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.receiver.recv()).await.ok()?? {
                Received::Event {
                    channel, envelope, ..
                } => match envelope.event {
                    ClusterEvent::Broadcast { method, .. } => return Some((channel, method)),
                    other => panic!("unexpected event {other:?}"),
                },
                Received::ResyncAll { .. } => {}
            }
        }
    }

    /// Waits until the bus is connected at a generation of at least `generation`.
    async fn connected_at(&self, generation: u64) {
        let mut health = self.bus.health();
        // The `Ref` wait_for returns must not outlive this statement: holding
        // it blocks the bus's tasks from updating the health.
        let ok = timeout(
            LIMIT,
            health.wait_for(|h| h.is_connected() && h.generation >= generation),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        assert!(
            ok,
            "bus not connected at generation {generation}: {:?}",
            *self.bus.health().borrow()
        );
    }
}

fn broadcast(method: &str) -> ClusterEvent {
    ClusterEvent::Broadcast {
        scope: "live".into(),
        method: method.into(),
        args: Bytes::from_static(b"\x02\x00\x02hi"),
    }
}

/// Publishes from `from` on `channel` until `to` receives one of them:
/// traffic flows (after a fault, the first publications may be refused or
/// lost).
async fn traffic_flows(from: &Node, to: &mut Node, channel: &str) {
    let deadline = Instant::now() + LIMIT;
    let mut n = 0;
    loop {
        n += 1;
        from.send(channel, &format!("probe-{n}"));
        match timeout(Duration::from_millis(300), to.receiver.recv()).await {
            Ok(Some(Received::Event { envelope, .. })) => {
                if matches!(envelope.event, ClusterEvent::Broadcast { method, .. } if method.starts_with("probe-"))
                {
                    // Drain the other probes still in flight.
                    while let Ok(Some(_)) =
                        timeout(Duration::from_millis(100), to.receiver.recv()).await
                    {
                    }
                    return;
                }
            }
            Ok(Some(Received::ResyncAll { .. })) | Err(_) => {}
            Ok(None) => panic!("receiver closed"),
        }
        assert!(
            Instant::now() < deadline,
            "no traffic on {channel} after {n} probes"
        );
    }
}

#[tokio::test]
async fn local_bus_nodes_exchange_events_on_channels_subscribed_at_runtime_and_skip_their_own() {
    let hub = LocalHub::new();
    let mut nodes: Vec<Node> = ["a", "b", "c"]
        .iter()
        .map(|id| Node::local(&hub, id))
        .collect();
    for node in &nodes {
        node.bus.subscribe("room").await.expect("subscribes");
    }
    nodes[1].bus.subscribe("only-b").await.expect("subscribes");
    assert!(nodes[0].send("room", "hello"));
    assert!(nodes[0].send("only-b", "psst"));
    assert!(nodes[2].send("room", "from-c"));
    assert_eq!(
        nodes[1].next_method().await,
        Some((Arc::from("room"), "hello".into()))
    );
    assert_eq!(
        nodes[1].next_method().await,
        Some((Arc::from("only-b"), "psst".into()))
    );
    assert_eq!(
        nodes[1].next_method().await,
        Some((Arc::from("room"), "from-c".into()))
    );
    assert_eq!(
        nodes[2].next_method().await,
        Some((Arc::from("room"), "hello".into()))
    );
    // a gets c's message, not its own two.
    assert_eq!(
        nodes[0].next_method().await,
        Some((Arc::from("room"), "from-c".into()))
    );
    assert_eq!(nodes[0].receiver.echoes(), 1);

    nodes[1]
        .bus
        .unsubscribe("room")
        .await
        .expect("unsubscribes");
    let ack = nodes[0]
        .publisher
        .publish("room", broadcast("after"))
        .expect("queued");
    assert_eq!(
        ack.await.expect("delivered"),
        2,
        "a and c remain subscribed"
    );
    assert_eq!(
        nodes[2].next_method().await,
        Some((Arc::from("room"), "after".into()))
    );
}

#[tokio::test]
async fn two_redis_buses_exchange_events_on_dynamically_subscribed_channels() {
    let server = RedisServer::start();
    let keys = KeySpace::new("t-exchange");
    let mut a = Node::redis(&server, "a");
    let mut b = Node::redis(&server, "b");
    a.connected_at(1).await;
    b.connected_at(1).await;
    let room = keys.scope_channel("live/room");
    let inbox_b = keys.node_channel(&NodeId::from("b"));
    a.bus.subscribe(&room).await.expect("subscribes");
    b.bus.subscribe(&room).await.expect("subscribes");
    b.bus.subscribe(&inbox_b).await.expect("subscribes");

    let ack = a
        .publisher
        .publish(&room, broadcast("hello"))
        .expect("queued");
    assert_eq!(
        ack.await.expect("published"),
        2,
        "both nodes subscribe the room"
    );
    a.send(&inbox_b, "direct");
    b.send(&room, "reply");
    assert_eq!(
        b.next_method().await,
        Some((Arc::from(room.as_str()), "hello".into()))
    );
    assert_eq!(
        b.next_method().await,
        Some((Arc::from(inbox_b.as_str()), "direct".into()))
    );
    // a skips its own "hello" echo and gets b's reply.
    assert_eq!(
        a.next_method().await,
        Some((Arc::from(room.as_str()), "reply".into()))
    );
    assert_eq!(a.receiver.echoes(), 1);

    b.bus.unsubscribe(&room).await.expect("unsubscribes");
    let ack = a
        .publisher
        .publish(&room, broadcast("alone"))
        .expect("queued");
    assert_eq!(
        ack.await.expect("published"),
        1,
        "only a is left on the room"
    );
    assert!(a.bus.stats().published >= 3);
}

#[tokio::test]
async fn killed_subscriber_connections_resubscribe_bump_the_generation_and_signal_resync() {
    let server = RedisServer::start();
    let channel = KeySpace::new("t-kill").scope_channel("live");
    let mut a = Node::redis(&server, "a");
    let b = Node::redis(&server, "b");
    a.connected_at(1).await;
    b.connected_at(1).await;
    a.bus.subscribe(&channel).await.expect("subscribes");
    traffic_flows(&b, &mut a, &channel).await;
    let generation = a.bus.health().borrow().generation;

    // Only connections with a subscription count as pub/sub clients: a's.
    assert!(
        server.client_kill_pubsub() >= 1,
        "a had a pub/sub connection"
    );

    a.connected_at(generation + 1).await;
    // The resync signal arrives in band, before any message of the new connection.
    let deadline = Instant::now() + LIMIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, a.receiver.recv())
            .await
            .expect("resync signal in time")
        {
            Some(Received::ResyncAll {
                generation: Some(g),
            }) if g > generation => break,
            Some(_) => {}
            None => panic!("receiver closed"),
        }
    }
    assert!(a.bus.stats().resubscriptions >= 2);
    // The channel subscribed before the kill works again: it was resubscribed.
    traffic_flows(&b, &mut a, &channel).await;
}

#[tokio::test]
async fn a_restarted_redis_makes_the_bus_degraded_then_connected_again_with_traffic() {
    let mut server = RedisServer::start();
    let channel = KeySpace::new("t-restart").scope_channel("live");
    let mut a = Node::redis(&server, "a");
    let b = Node::redis(&server, "b");
    a.connected_at(1).await;
    b.connected_at(1).await;
    a.bus.subscribe(&channel).await.expect("subscribes");
    traffic_flows(&b, &mut a, &channel).await;
    let generation = a.bus.health().borrow().generation;

    server.kill();
    let mut health = a.bus.health();
    let degraded = timeout(
        LIMIT,
        health.wait_for(|h| matches!(h.state, BusState::Degraded { .. })),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    assert!(degraded, "bus never reported Degraded");
    assert!(
        a.publisher.publish(&channel, broadcast("lost")).is_err(),
        "a degraded bus refuses to publish instead of dropping silently"
    );

    server.start_again();
    a.connected_at(generation + 1).await;
    b.connected_at(generation + 1).await;
    traffic_flows(&b, &mut a, &channel).await;
}

#[tokio::test]
async fn heartbeats_list_live_nodes_and_a_stopped_heartbeat_expires_within_its_ttl() {
    let server = RedisServer::start();
    let keys = KeySpace::new("t-members");
    let conn = connect_manager(&server.url(), Duration::from_secs(2))
        .await
        .expect("connects");
    let membership = Membership::new(conn, keys);
    let (a, b) = (NodeId::from("node-a"), NodeId::from("node:b*"));
    let ttl = Duration::from_millis(800);
    let heartbeat = membership.spawn_heartbeat(
        a.clone(),
        "{\"rtmp\":\"a\"}".into(),
        Duration::from_millis(150),
        ttl,
    );
    membership
        .heartbeat(&b, "b-info", Duration::from_secs(30))
        .await
        .expect("heartbeat");
    let mut changes = membership.watch(Duration::from_millis(100));

    let mut joined = BTreeSet::new();
    while joined.len() < 2 {
        match timeout(LIMIT, changes.recv())
            .await
            .expect("joins reported")
        {
            Some(MembershipChange::Joined(id)) => {
                joined.insert(id);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(joined, BTreeSet::from([a.clone(), b.clone()]));
    let live = membership.live_nodes().await.expect("lists");
    assert_eq!(live.len(), 2);
    assert!(live.iter().any(|n| n.id == b && n.info == "b-info"));

    let stopped = Instant::now();
    heartbeat.stop();
    let change = timeout(LIMIT, changes.recv())
        .await
        .expect("departure reported");
    assert_eq!(change, Some(MembershipChange::Left(a.clone())));
    // Expired within the TTL (plus the watch interval and scheduling slack).
    assert!(
        stopped.elapsed() < ttl + Duration::from_secs(2),
        "took {:?}",
        stopped.elapsed()
    );
    let live: Vec<NodeId> = membership
        .live_nodes()
        .await
        .expect("lists")
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(live, vec![b.clone()]);

    membership.leave(&b).await.expect("leaves");
    assert_eq!(
        timeout(LIMIT, changes.recv())
            .await
            .expect("leave reported"),
        Some(MembershipChange::Left(b))
    );
}

#[tokio::test]
async fn of_many_racing_acquirers_on_two_nodes_exactly_one_wins_a_lease() {
    let server = RedisServer::start();
    let keys = KeySpace::new("t-lease");
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let conn = connect_manager(&server.url(), Duration::from_secs(2))
            .await
            .expect("connects");
        nodes.push(Leases::new(conn, keys.clone()));
    }
    let lease = KeySpace::stream_lease("live", "cam");
    let ttl = Duration::from_secs(30);

    let mut racers = tokio::task::JoinSet::new();
    for i in 0..32 {
        let leases = nodes[i % 2].clone();
        let lease = lease.clone();
        racers.spawn(async move {
            let owner = format!("node-{}/{i}", i % 2);
            let won = leases
                .try_acquire(&lease, &owner, ttl)
                .await
                .expect("SET NX");
            (owner, won)
        });
    }
    let mut winners = Vec::new();
    while let Some(result) = racers.join_next().await {
        let (owner, won) = result.expect("racer finished");
        if won {
            winners.push(owner);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let winner = winners.remove(0);
    assert_eq!(
        nodes[0].owner(&lease).await.expect("GET"),
        Some(winner.clone())
    );

    let loser = "node-9/0";
    assert!(!nodes[1].refresh(&lease, loser, ttl).await.expect("script"));
    assert!(!nodes[0].release(&lease, loser).await.expect("script"));
    assert_eq!(
        nodes[1].owner(&lease).await.expect("GET"),
        Some(winner.clone())
    );
    assert!(nodes[1]
        .refresh(&lease, &winner, ttl)
        .await
        .expect("script"));
    assert!(nodes[0].release(&lease, &winner).await.expect("script"));
    assert_eq!(nodes[0].owner(&lease).await.expect("GET"), None);
    assert!(nodes[1]
        .try_acquire(&lease, loser, ttl)
        .await
        .expect("SET NX"));
}

#[tokio::test]
async fn an_expired_lease_can_be_taken_by_another_owner() {
    let server = RedisServer::start();
    let conn = connect_manager(&server.url(), Duration::from_secs(2))
        .await
        .expect("connects");
    let leases = Leases::new(conn, KeySpace::new("t-expire"));
    assert!(leases
        .try_acquire("x", "first", Duration::from_millis(200))
        .await
        .expect("SET NX"));
    assert!(!leases
        .try_acquire("x", "second", Duration::from_secs(5))
        .await
        .expect("SET NX"));
    let deadline = Instant::now() + LIMIT;
    while !leases
        .try_acquire("x", "second", Duration::from_secs(5))
        .await
        .expect("SET NX")
    {
        assert!(Instant::now() < deadline, "lease never expired");
        sleep(Duration::from_millis(50)).await;
    }
    assert!(!leases
        .refresh("x", "first", Duration::from_secs(5))
        .await
        .expect("script"));
}

#[tokio::test]
async fn a_bus_started_while_redis_is_down_remembers_its_subscriptions_and_connects_later() {
    let mut server = RedisServer::start();
    server.kill();
    let channel = KeySpace::new("t-late").scope_channel("live");
    let mut a = Node::redis(&server, "a");
    let b = Node::redis(&server, "b");
    let mut health = a.bus.health();
    let degraded = timeout(
        LIMIT,
        health.wait_for(|h| matches!(h.state, BusState::Degraded { .. })),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    assert!(degraded, "an unreachable Redis is reported as Degraded");
    assert!(
        a.bus.subscribe(&channel).await.is_err(),
        "a subscription made while disconnected is not confirmed"
    );

    server.start_again();
    a.connected_at(1).await;
    b.connected_at(1).await;
    // ...but it was remembered and is live after the first connection.
    traffic_flows(&b, &mut a, &channel).await;
}

#[tokio::test]
async fn a_consumer_that_falls_behind_loses_messages_with_a_report_not_memory() {
    let server = RedisServer::start();
    let channel = KeySpace::new("t-slow").scope_channel("live");
    let mut slow = Node::redis_with_inbox(&server, "slow", 8);
    let fast = Node::redis(&server, "fast");
    slow.connected_at(1).await;
    fast.connected_at(1).await;
    slow.bus.subscribe(&channel).await.expect("subscribes");
    let mut last = None;
    for n in 0..200 {
        last = fast
            .publisher
            .publish(&channel, broadcast(&format!("m{n}")))
            .ok();
    }
    last.expect("queued").await.expect("published");
    // Wait until every message reached the slow node's bus (kept or dropped).
    let deadline = Instant::now() + LIMIT;
    loop {
        let stats = slow.bus.stats();
        if stats.received + stats.inbox_dropped >= 200 {
            break;
        }
        assert!(Instant::now() < deadline, "only {stats:?}");
        sleep(Duration::from_millis(20)).await;
    }
    assert!(
        slow.bus.stats().inbox_dropped >= 190,
        "{:?}",
        slow.bus.stats()
    );
    // The consumer learns about the loss, then gets what the inbox kept.
    let mut resync = false;
    let mut kept = 0;
    while let Ok(Some(item)) = timeout(Duration::from_millis(200), slow.receiver.recv()).await {
        match item {
            Received::ResyncAll { generation: None } => resync = true,
            Received::ResyncAll { .. } => {}
            Received::Event { .. } => kept += 1,
        }
    }
    assert!(resync, "the loss was reported");
    assert!(
        kept <= 8,
        "the inbox holds at most its capacity, got {kept}"
    );
}

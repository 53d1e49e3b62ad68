use std::collections::BTreeMap;

use bytestring::ByteString;
use proptest::prelude::*;

use super::*;
use crate::protocol::amf::AmfValue;
use crate::protocol::shared_object::SharedObjectMessage;
use crate::store::StoredObject;

fn limits() -> SharedObjectLimits {
    SharedObjectLimits {
        max_slots: 8,
        max_slot_bytes: 64,
        max_ops_per_message: 6,
        max_object_bytes: 1 << 20,
        history: 4,
        history_max_bytes: 1 << 20,
        sync_budget_bytes: 40,
        lossy_version_window: 0,
    }
}

fn set(pairs: &[(&str, f64)]) -> Operation {
    Operation::Set(
        pairs
            .iter()
            .map(|(k, v)| (ByteString::from(*k), AmfValue::Number(*v)))
            .collect(),
    )
}

fn remove(names: &[&str]) -> Operation {
    Operation::Remove(names.iter().map(|n| ByteString::from(*n)).collect())
}

/// A client's local copy, driven only by the events it receives.
#[derive(Debug, Default, Clone)]
struct Replica {
    slots: BTreeMap<String, AmfValue>,
    version: u32,
    /// Values this client asked for, applied when its Success arrives.
    pending: Vec<(String, Option<AmfValue>)>,
}

impl Replica {
    fn receive(&mut self, message: &SharedObjectMessage) {
        self.version = message.version;
        for event in &message.events {
            match event {
                SharedObjectEvent::Clear => self.slots.clear(),
                SharedObjectEvent::Change(pairs) => {
                    for (k, v) in pairs {
                        self.slots.insert(k.to_string(), v.clone());
                    }
                }
                SharedObjectEvent::Remove(names) => {
                    for n in names {
                        self.slots.remove(&**n);
                    }
                }
                SharedObjectEvent::Success(names) => {
                    for n in names {
                        let at = self.pending.iter().position(|(k, _)| k == &**n);
                        if let Some((k, v)) = at.map(|i| self.pending.remove(i)) {
                            match v {
                                Some(v) => self.slots.insert(k, v),
                                None => self.slots.remove(&k),
                            };
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn request(&mut self, ops: &[Operation]) {
        for op in ops {
            match op {
                Operation::Set(pairs) => self
                    .pending
                    .extend(pairs.iter().map(|(k, v)| (k.to_string(), Some(v.clone())))),
                Operation::Remove(names) => self
                    .pending
                    .extend(names.iter().map(|n| (n.to_string(), None))),
                _ => {}
            }
        }
    }
}

fn server_slots(state: &SharedObjectState) -> BTreeMap<String, AmfValue> {
    state
        .slots()
        .iter()
        .map(|(k, s)| (k.to_string(), s.value.clone()))
        .collect()
}

struct DenyWrites(&'static str);

impl Permissions for DenyWrites {
    fn may_write(&self, slot: &str) -> bool {
        slot != self.0
    }
    fn may_delete(&self, slot: &str) -> bool {
        slot != self.0
    }
    fn may_send(&self, _: &str, _: &[AmfValue]) -> bool {
        true
    }
}

#[test]
fn an_accepted_change_gives_the_writer_success_and_others_change_with_one_version_bump() {
    let mut so = SharedObjectState::new("chat", false, limits());
    let out = so
        .apply(&[set(&[("a", 1.0), ("b", 2.0)])], &AllowAll, true)
        .unwrap();
    assert_eq!(out.version, 1);
    assert_eq!(so.version(), 1);
    let mine = out.for_writer.unwrap();
    assert_eq!(mine.version, 1);
    assert_eq!(
        mine.events,
        vec![
            SharedObjectEvent::Success(vec!["a".into()]),
            SharedObjectEvent::Success(vec!["b".into()])
        ]
    );
    let theirs = out.for_others.unwrap();
    assert_eq!(
        theirs.events,
        vec![
            SharedObjectEvent::Change(vec![("a".into(), AmfValue::Number(1.0))]),
            SharedObjectEvent::Change(vec![("b".into(), AmfValue::Number(2.0))])
        ]
    );
    assert_eq!(so.get("b"), Some(&AmfValue::Number(2.0)));
}

#[test]
fn a_send_goes_to_the_writer_and_everyone_else_without_a_version_bump() {
    let mut so = SharedObjectState::new("chat", true, limits());
    let send = Operation::Send {
        method: "say".into(),
        args: vec![AmfValue::string("hi")],
    };
    let out = so.apply(&[send], &AllowAll, true).unwrap();
    assert_eq!(out.version, 0);
    assert!(out.changes.is_empty());
    let expected = SharedObjectEvent::SendMessage {
        method: "say".into(),
        args: vec![AmfValue::string("hi")],
    };
    assert_eq!(out.for_writer.unwrap().events, vec![expected.clone()]);
    let theirs = out.for_others.unwrap();
    assert_eq!(theirs.events, vec![expected]);
    assert!(theirs.is_persistent());
}

#[test]
fn a_remove_gives_others_remove_and_the_writer_success() {
    let mut so = SharedObjectState::new("o", false, limits());
    so.apply(&[set(&[("a", 1.0)])], &AllowAll, true).unwrap();
    let out = so.apply(&[remove(&["a"])], &AllowAll, true).unwrap();
    assert_eq!(out.version, 2);
    assert_eq!(
        out.for_others.unwrap().events,
        vec![SharedObjectEvent::Remove(vec!["a".into()])]
    );
    assert_eq!(
        out.for_writer.unwrap().events,
        vec![SharedObjectEvent::Success(vec!["a".into()])]
    );
    assert!(so.slots().is_empty());
}

#[test]
fn a_refused_slot_refuses_the_whole_message_and_changes_nothing() {
    let mut so = SharedObjectState::new("o", false, limits());
    so.apply(&[set(&[("a", 1.0)])], &AllowAll, true).unwrap();
    let refused = so
        .apply(
            &[
                set(&[("a", 5.0)]),
                remove(&["a"]),
                set(&["secret"].map(|k| (k, 1.0))),
            ],
            &DenyWrites("secret"),
            true,
        )
        .unwrap_err();
    assert_eq!(refused.code, codes::NO_WRITE_ACCESS);
    assert_eq!(
        refused.to_event(),
        SharedObjectEvent::Status {
            code: "SharedObject.NoWriteAccess".into(),
            level: "error".into()
        }
    );
    assert_eq!(so.version(), 1);
    assert_eq!(so.get("a"), Some(&AmfValue::Number(1.0)));
}

#[test]
fn the_writer_of_a_refused_message_gets_the_status_then_every_touched_slots_current_value() {
    let mut so = SharedObjectState::new("o", false, limits());
    so.apply(&[set(&[("a", 1.0)])], &AllowAll, true).unwrap();
    let ops = [
        set(&[("a", 5.0), ("new", 2.0)]),
        remove(&["a"]),
        Operation::Send {
            method: "m".into(),
            args: vec![],
        },
        set(&[("secret", 1.0)]),
    ];
    let refused = so.apply(&ops, &DenyWrites("secret"), true).unwrap_err();
    let message = so.refusal_message(&ops, &refused);
    assert_eq!(message.version, 1);
    assert_eq!(
        message.events,
        vec![
            refused.to_event(),
            SharedObjectEvent::Change(vec![("a".into(), AmfValue::Number(1.0))]),
            SharedObjectEvent::Remove(vec!["new".into()]),
            SharedObjectEvent::Remove(vec!["secret".into()]),
        ]
    );
    // A client that applied its write optimistically is back on the
    // server's values after applying the answer.
    let mut replica = Replica::default();
    for m in so.full_sync(true) {
        replica.receive(&m);
    }
    replica.slots.insert("a".into(), AmfValue::Number(5.0));
    replica.slots.insert("new".into(), AmfValue::Number(2.0));
    replica.receive(&message);
    assert_eq!(replica.slots, server_slots(&so));
}

#[test]
fn a_refused_delete_is_no_write_access() {
    let mut so = SharedObjectState::new("o", false, limits());
    so.apply(&[set(&[("k", 1.0)])], &AllowAll, true).unwrap();
    let refused = so
        .apply(&[remove(&["k"])], &DenyWrites("k"), true)
        .unwrap_err();
    assert_eq!(refused.code, codes::NO_WRITE_ACCESS);
    assert!(so.get("k").is_some());
}

#[test]
fn too_many_slots_too_large_a_value_and_too_many_operations_are_refused() {
    let mut so = SharedObjectState::new("o", false, limits());
    let many: Vec<(String, f64)> = (0..6).map(|i| (format!("s{i}"), 1.0)).collect();
    let many: Vec<(&str, f64)> = many.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    so.apply(&[set(&many)], &AllowAll, true).unwrap();
    let more = so
        .apply(
            &[set(&[("x", 1.0), ("y", 1.0), ("z", 1.0)])],
            &AllowAll,
            true,
        )
        .unwrap_err();
    assert_eq!(more.code, codes::SLOT_LIMIT);
    // Removing first makes room inside the same message.
    so.apply(
        &[remove(&["s0"]), set(&[("x", 1.0), ("y", 1.0), ("z", 1.0)])],
        &AllowAll,
        true,
    )
    .unwrap();
    assert_eq!(so.slots().len(), 8);

    let big = Operation::Set(vec![("big".into(), AmfValue::string("x".repeat(100)))]);
    assert_eq!(
        so.apply(&[big], &AllowAll, true).unwrap_err().code,
        codes::BAD_VALUE
    );

    let seven: Vec<Operation> = (0..7).map(|_| set(&[("s1", 2.0)])).collect();
    assert_eq!(
        so.apply(&seven, &AllowAll, true).unwrap_err().code,
        codes::EVENT_LIMIT
    );
    assert_eq!(so.version(), 2);
}

#[test]
fn the_initial_sync_starts_with_use_success_and_clear_and_splits_slots_under_the_budget() {
    let mut so = SharedObjectState::new("o", false, limits());
    so.apply(
        &[set(&[("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)])],
        &AllowAll,
        true,
    )
    .unwrap();
    let sync = so.use_sync(0);
    assert!(sync.len() > 1, "{sync:?}");
    assert_eq!(
        sync[0].events[..2],
        [SharedObjectEvent::UseSuccess, SharedObjectEvent::Clear]
    );
    assert!(matches!(sync[0].events[2], SharedObjectEvent::Change(_)));
    let mut replica = Replica::default();
    for m in &sync {
        assert_eq!(m.version, 1);
        replica.receive(m);
    }
    assert_eq!(replica.slots, server_slots(&so));
}

#[test]
fn a_full_sync_of_many_small_slots_stays_under_the_event_bound_of_a_message() {
    // Small values fit the byte budget many times over: the event bound
    // splits them (a peer closes a connection past its own bound).
    let limits = SharedObjectLimits {
        max_slots: 100,
        sync_budget_bytes: 1 << 20,
        ..limits()
    };
    let mut so = SharedObjectState::new("o", false, limits);
    for chunk in (0..50).collect::<Vec<_>>().chunks(5) {
        let names: Vec<String> = chunk.iter().map(|i| format!("s{i}")).collect();
        let pairs: Vec<(&str, f64)> = names.iter().map(|n| (n.as_str(), 1.0)).collect();
        so.apply(&[set(&pairs)], &AllowAll, true).unwrap();
    }
    let sync = so.full_sync(true);
    assert!(sync.len() >= 50 / 6, "{} messages", sync.len());
    let mut replica = Replica::default();
    for m in &sync {
        assert!(m.events.len() <= 6, "{} events", m.events.len());
        replica.receive(m);
    }
    assert_eq!(replica.slots.len(), 50);
    assert_eq!(replica.slots, server_slots(&so));
}

#[test]
fn a_client_within_the_history_gets_deltas_and_one_older_gets_a_full_resync() {
    let mut so = SharedObjectState::new("o", false, limits());
    let mut replica = Replica::default();
    for m in so.use_sync(0) {
        replica.receive(&m);
    }
    for i in 0..3 {
        so.apply(&[set(&[("a", f64::from(i))])], &AllowAll, true)
            .unwrap();
    }
    let plan = so.catch_up(1);
    assert!(matches!(plan, SyncPlan::Deltas(ref d) if d.len() == 2));
    let sync = so.use_sync(1);
    assert_eq!(sync[0].events, vec![SharedObjectEvent::UseSuccess]);
    assert_eq!(sync.len(), 3);
    for i in 3..10 {
        so.apply(
            &[set(&[("b", f64::from(i))]), remove(&["a"])],
            &AllowAll,
            true,
        )
        .unwrap();
    }
    assert!(so.catch_up(1).is_full());
    assert!(so.catch_up(99).is_full());
    assert_eq!(so.catch_up(so.version()), SyncPlan::UpToDate);
    for m in so.catch_up(0).into_messages() {
        replica.receive(&m);
    }
    assert_eq!(replica.slots, server_slots(&so));
    assert_eq!(replica.version, so.version());
}

#[test]
fn a_server_clear_reaches_everyone_and_is_replayed_from_history() {
    let mut so = SharedObjectState::new("o", false, limits());
    so.apply(&[set(&[("a", 1.0)])], &AllowAll, true).unwrap();
    let out = so.apply(&[Operation::Clear], &AllowAll, false).unwrap();
    assert!(out.for_writer.is_none());
    assert_eq!(
        out.for_others.unwrap().events,
        vec![SharedObjectEvent::Clear]
    );
    let mut replica = Replica::default();
    replica.slots.insert("a".into(), AmfValue::Null);
    for m in so.catch_up(1).into_messages() {
        replica.receive(&m);
    }
    assert!(replica.slots.is_empty());
}

#[test]
fn a_stored_object_loads_with_its_version_and_values() {
    let mut so = SharedObjectState::new("o", true, limits());
    so.apply(&[set(&[("a", 1.5)])], &AllowAll, true).unwrap();
    let stored = StoredObject {
        version: so.version(),
        slots: so
            .slots()
            .iter()
            .map(|(k, s)| (k.to_string(), s.encoded.clone()))
            .collect(),
    };
    let loaded = SharedObjectState::from_stored("o", limits(), stored).unwrap();
    assert_eq!(loaded.version(), 1);
    assert!(loaded.is_persistent());
    assert_eq!(server_slots(&loaded), server_slots(&so));
}

#[test]
fn store_changes_group_consecutive_sets_and_removes_in_order() {
    let mut so = SharedObjectState::new("o", true, limits());
    so.apply(&[set(&[("x", 0.0)])], &AllowAll, true).unwrap();
    let out = so
        .apply(
            &[set(&[("a", 1.0), ("b", 2.0)]), remove(&["x", "nope"])],
            &AllowAll,
            true,
        )
        .unwrap();
    let changes = out.store_changes();
    assert_eq!(changes.len(), 2);
    assert!(matches!(&changes[0], crate::store::SoChange::Set(p) if p.len() == 2));
    assert_eq!(changes[1], crate::store::SoChange::Remove(vec!["x".into()]));
}

#[test]
fn a_change_that_changes_nothing_bumps_no_version_and_commits_nothing() {
    let mut so = SharedObjectState::new("so", true, limits());
    so.apply(&[set(&[("a", 1.0)])], &AllowAll, true).unwrap();
    for ops in [vec![remove(&["absent"])], vec![Operation::Set(Vec::new())]] {
        let accepted = so.apply(&ops, &AllowAll, true).unwrap();
        assert_eq!(accepted.version, 1, "{ops:?}");
        assert!(accepted.changes.is_empty());
        assert!(accepted.store_changes().is_empty());
    }
    // The removal's writer still gets its Success, at the current version.
    let accepted = so.apply(&[remove(&["absent"])], &AllowAll, true).unwrap();
    let writer = accepted.for_writer.unwrap();
    assert_eq!(writer.version, 1);
    assert_eq!(
        writer.events,
        vec![SharedObjectEvent::Success(vec!["absent".into()])]
    );
    assert_eq!(so.version(), 1);
}

#[test]
fn the_history_is_bounded_by_bytes_and_drops_the_oldest_first() {
    let limits = SharedObjectLimits {
        max_slot_bytes: 4096,
        history: 1000,
        history_max_bytes: 3000,
        ..limits()
    };
    let mut so = SharedObjectState::new("so", false, limits);
    let big = |i: usize| {
        Operation::Set(vec![(
            ByteString::from("s"),
            AmfValue::string("x".repeat(900 + i)),
        )])
    };
    for i in 0..10 {
        so.apply(&[big(i)], &AllowAll, true).unwrap();
        assert!(so.history_bytes() <= 3000, "{}", so.history_bytes());
    }
    // Three ~920-byte changes fit: a client three versions behind gets
    // deltas, one four behind a full resync.
    assert!(matches!(so.catch_up(so.version() - 3), SyncPlan::Deltas(d) if d.len() == 3));
    assert!(so.catch_up(so.version() - 4).is_full());
    // One change larger than the whole budget is not kept, nor anything
    // before it: a client one version behind gets a full resync.
    let huge = Operation::Set(vec![(
        ByteString::from("h"),
        AmfValue::string("y".repeat(3500)),
    )]);
    so.apply(&[huge], &AllowAll, true).unwrap();
    assert_eq!(so.history_bytes(), 0);
    assert!(so.catch_up(so.version() - 1).is_full());
    assert_eq!(so.catch_up(so.version()), SyncPlan::UpToDate);
}

#[test]
fn a_change_that_would_pass_the_object_size_limit_is_refused_whole() {
    let limits = SharedObjectLimits {
        max_slot_bytes: 1000,
        max_object_bytes: 2500,
        ..limits()
    };
    let value = |n: usize| AmfValue::string("z".repeat(n));
    let mut so = SharedObjectState::new("so", false, limits);
    let pair = |k: &str, n: usize| (ByteString::from(k), value(n));
    so.apply(
        &[Operation::Set(vec![pair("a", 900), pair("b", 900)])],
        &AllowAll,
        true,
    )
    .unwrap();
    let before = so.size_bytes();
    let refusal = so
        .apply(
            &[Operation::Set(vec![pair("c", 100), pair("d", 900)])],
            &AllowAll,
            true,
        )
        .unwrap_err();
    assert_eq!(refusal.code, codes::OBJECT_SIZE_LIMIT);
    assert_eq!(
        (so.version(), so.size_bytes(), so.get("c")),
        (1, before, None)
    );
    // Replacing a slot counts only the difference; a remove in the same
    // message makes room.
    so.apply(&[Operation::Set(vec![pair("a", 950)])], &AllowAll, true)
        .unwrap();
    so.apply(
        &[remove(&["b"]), Operation::Set(vec![pair("d", 900)])],
        &AllowAll,
        true,
    )
    .unwrap();
    let expected: usize = so
        .slots()
        .iter()
        .map(|(k, s)| k.len() + s.encoded.len())
        .sum();
    assert_eq!(so.size_bytes(), expected);
    assert!(so.get("d").is_some() && so.get("b").is_none());
}

#[test]
fn a_client_version_from_another_incarnation_gets_a_full_resync() {
    // A non-persistent object re-created at a fresh base: a client that
    // kept version 3 of the old one (below, at or above the base) never
    // gets "up to date" or deltas.
    let mut so = SharedObjectState::new("so", false, limits());
    so.begin_incarnation(100, false);
    assert!(so
        .use_sync(100)
        .iter()
        .any(|m| m.events.contains(&SharedObjectEvent::Clear)));
    so.apply(&[set(&[("a", 1.0)])], &AllowAll, true).unwrap();
    so.apply(&[set(&[("b", 2.0)])], &AllowAll, true).unwrap();
    for old in [3, 100, 500] {
        let sync = so.use_sync(old);
        assert!(
            sync[0].events.contains(&SharedObjectEvent::Clear),
            "{old}: {sync:?}"
        );
    }
    // Versions this incarnation produced get deltas or "up to date".
    assert_eq!(so.use_sync(101).len(), 2);
    assert_eq!(
        so.use_sync(102),
        vec![so.message(102, vec![SharedObjectEvent::UseSuccess])]
    );
    // A persistent object loaded at its durable version trusts it.
    let stored = StoredObject {
        version: 7,
        slots: vec![],
    };
    let mut loaded = SharedObjectState::from_stored("so", limits(), stored).unwrap();
    assert_eq!(loaded.use_sync(7).len(), 1);
    // Raised over the store after a failure: the base is no longer trusted.
    loaded.raise_version(9);
    assert!(loaded.use_sync(9)[0]
        .events
        .contains(&SharedObjectEvent::Clear));
}

fn arb_op() -> impl Strategy<Value = Operation> {
    let key = prop::sample::select(vec!["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
    prop_oneof![
        prop::collection::vec((key.clone(), -5i32..5), 1..4).prop_map(|pairs| Operation::Set(
            pairs
                .into_iter()
                .map(|(k, v)| (ByteString::from(k), AmfValue::Integer(v)))
                .collect()
        )),
        prop::collection::vec(key, 1..3)
            .prop_map(|names| Operation::Remove(names.into_iter().map(ByteString::from).collect())),
    ]
}

proptest! {
    #[test]
    fn interleaved_writers_converge_to_the_server_state(
        script in prop::collection::vec((0usize..4, prop::collection::vec(arb_op(), 1..3)), 1..60),
        late_join_at in 0usize..60,
    ) {
        let mut so = SharedObjectState::new("o", false, limits());
        let mut replicas = vec![Replica::default(); 4];
        for r in &mut replicas {
            for m in so.use_sync(0) { r.receive(&m); }
        }
        let mut late: Option<Replica> = None;
        for (step, (writer, ops)) in script.iter().enumerate() {
            if step == late_join_at {
                let mut r = Replica::default();
                for m in so.use_sync(0) { r.receive(&m); }
                late = Some(r);
            }
            let before = (so.version(), server_slots(&so));
            match so.apply(ops, &AllowAll, true) {
                Ok(out) => {
                    replicas[*writer].request(ops);
                    for (i, r) in replicas.iter_mut().enumerate() {
                        let m = if i == *writer { &out.for_writer } else { &out.for_others };
                        if let Some(m) = m { r.receive(m); }
                    }
                    if let (Some(r), Some(m)) = (late.as_mut(), &out.for_others) { r.receive(m); }
                }
                Err(_) => prop_assert_eq!(before, (so.version(), server_slots(&so))),
            }
        }
        let want = server_slots(&so);
        for r in replicas.iter().chain(late.iter()) {
            prop_assert_eq!(&r.slots, &want);
            prop_assert!(r.pending.is_empty());
        }
        // A subscriber that fell behind at any version converges by catch_up.
        let mut behind = Replica::default();
        for m in so.catch_up(0).into_messages() { behind.receive(&m); }
        prop_assert_eq!(behind.slots, want);
    }

    #[test]
    fn every_stored_value_decodes_to_itself(v in -1e9f64..1e9, s in ".{0,20}", i in -(1i32 << 28)..(1 << 28)) {
        let values = [
            AmfValue::Number(v),
            AmfValue::string(s.clone()),
            AmfValue::Integer(i),
            AmfValue::ByteArray(bytes::Bytes::from(s.clone().into_bytes())),
            AmfValue::object([("n", AmfValue::Number(v)), ("s", AmfValue::string(s.clone()))]),
            AmfValue::strict_array([AmfValue::Unsupported, AmfValue::Number(v)]),
        ];
        for value in values {
            let bytes = codec::encode(&value).unwrap();
            prop_assert_eq!(codec::decode(bytes).unwrap(), value);
        }
    }
}

#[test]
fn stored_values_keep_amf3_only_types_and_amf0_dates_with_time_zones() {
    use crate::protocol::amf::{AmfDate, AmfVector, Dictionary};
    use std::sync::Arc;
    let values = [
        AmfValue::VectorInt(Arc::new(AmfVector {
            fixed: true,
            items: vec![1, -2],
        })),
        AmfValue::Dictionary(Arc::new(Dictionary {
            weak_keys: false,
            entries: vec![(AmfValue::Integer(1), AmfValue::string("one"))],
        })),
        AmfValue::Xml("<a/>".into()),
        AmfValue::Date(AmfDate {
            millis: 1e12,
            timezone_minutes: 60,
        }),
        AmfValue::Unsupported,
    ];
    for value in values {
        let bytes = codec::encode(&value).unwrap();
        assert_eq!(codec::decode(bytes).unwrap(), value);
    }
    assert_eq!(
        codec::decode(bytes::Bytes::new()),
        Err(codec::CodecError::Empty)
    );
    assert!(matches!(
        codec::decode(bytes::Bytes::from_static(&[9, 0])),
        Err(codec::CodecError::UnknownFormat { format: 9 })
    ));
}

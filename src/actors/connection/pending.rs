//! [`PendingCalls`]: the server → client calls of one connection that await
//! the client's `_result`/`_error`, by transaction id, with deadlines. Pure:
//! time comes in as milliseconds, the reply channel is a type parameter.

use std::collections::HashMap;

/// A call that left the table without an answer, or with one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Settled<R> {
    /// The method that was called.
    pub(crate) method: String,
    /// Where its answer goes.
    pub(crate) reply: R,
}

#[derive(Debug)]
struct Pending<R> {
    method: String,
    deadline_ms: u64,
    reply: R,
}

/// Calls awaiting an answer, at most `max` at once.
#[derive(Debug)]
pub(crate) struct PendingCalls<R> {
    /// By the transaction id's bits: the client answers with the very number
    /// `invoke` chose, and 3.5 must not match 3.
    calls: HashMap<u64, Pending<R>>,
    max: usize,
}

impl<R> PendingCalls<R> {
    /// An empty table holding at most `max` calls.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            calls: HashMap::new(),
            max,
        }
    }

    /// The cap.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Whether another call would pass the cap (check before sending it).
    pub(crate) fn is_full(&self) -> bool {
        self.calls.len() >= self.max
    }

    /// How many calls wait.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.calls.len()
    }

    /// Records a call sent with `transaction_id`, failing at `deadline_ms`.
    ///
    /// # Errors
    ///
    /// Gives `reply` back when the table is full.
    pub(crate) fn insert(
        &mut self,
        transaction_id: f64,
        method: String,
        deadline_ms: u64,
        reply: R,
    ) -> Result<(), R> {
        if self.is_full() {
            return Err(reply);
        }
        self.calls.insert(
            transaction_id.to_bits(),
            Pending {
                method,
                deadline_ms,
                reply,
            },
        );
        Ok(())
    }

    /// The call answered with `transaction_id`, if it still waits.
    pub(crate) fn resolve(&mut self, transaction_id: f64) -> Option<Settled<R>> {
        self.calls
            .remove(&transaction_id.to_bits())
            .map(|p| Settled {
                method: p.method,
                reply: p.reply,
            })
    }

    /// Removes and returns every call whose deadline is at or before `now_ms`.
    pub(crate) fn expire(&mut self, now_ms: u64) -> Vec<Settled<R>> {
        let due: Vec<u64> = self
            .calls
            .iter()
            .filter(|(_, p)| p.deadline_ms <= now_ms)
            .map(|(k, _)| *k)
            .collect();
        due.into_iter()
            .filter_map(|k| self.calls.remove(&k))
            .map(|p| Settled {
                method: p.method,
                reply: p.reply,
            })
            .collect()
    }

    /// The earliest deadline of a waiting call.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.calls.values().map(|p| p.deadline_ms).min()
    }

    /// Removes and returns every call (the connection is going away).
    pub(crate) fn fail_all(&mut self) -> Vec<Settled<R>> {
        self.calls
            .drain()
            .map(|(_, p)| Settled {
                method: p.method,
                reply: p.reply,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_deadline_is_the_earliest_of_the_waiting_calls() {
        let mut table = PendingCalls::new(4);
        assert_eq!(table.next_deadline(), None);
        table.insert(1.0, "a".into(), 300, ()).unwrap();
        table.insert(2.0, "b".into(), 200, ()).unwrap();
        assert_eq!(table.next_deadline(), Some(200));
        table.resolve(2.0);
        assert_eq!(table.next_deadline(), Some(300));
    }

    #[test]
    fn an_answer_resolves_the_call_with_its_transaction_id_once() {
        let mut table = PendingCalls::new(4);
        table.insert(1.0, "a".into(), 100, 'a').unwrap();
        table.insert(2.0, "b".into(), 100, 'b').unwrap();
        let settled = table.resolve(2.0).unwrap();
        assert_eq!((settled.method.as_str(), settled.reply), ("b", 'b'));
        assert_eq!(table.resolve(2.0), None);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn an_answer_with_an_unknown_or_fractional_id_resolves_nothing() {
        let mut table = PendingCalls::new(4);
        table.insert(3.0, "a".into(), 100, ()).unwrap();
        assert_eq!(table.resolve(3.5), None);
        assert_eq!(table.resolve(4.0), None);
        assert_eq!(table.resolve(f64::NAN), None);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn calls_expire_at_their_deadline_and_not_before() {
        let mut table = PendingCalls::new(4);
        table.insert(1.0, "early".into(), 100, 1).unwrap();
        table.insert(2.0, "late".into(), 200, 2).unwrap();
        assert!(table.expire(99).is_empty());
        let expired = table.expire(100);
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].method, "early");
        assert_eq!(table.resolve(2.0).map(|s| s.reply), Some(2));
    }

    #[test]
    fn the_table_refuses_calls_over_its_cap_and_gives_the_reply_back() {
        let mut table = PendingCalls::new(2);
        table.insert(1.0, "a".into(), 1, "one").unwrap();
        table.insert(2.0, "b".into(), 1, "two").unwrap();
        assert!(table.is_full());
        assert_eq!(table.insert(3.0, "c".into(), 1, "three"), Err("three"));
        table.resolve(1.0);
        assert!(!table.is_full());
        assert_eq!(table.max(), 2);
    }

    #[test]
    fn fail_all_empties_the_table() {
        let mut table = PendingCalls::new(8);
        for id in 1..=3 {
            table
                .insert(f64::from(id), format!("m{id}"), 10, id)
                .unwrap();
        }
        let mut failed: Vec<i32> = table.fail_all().into_iter().map(|s| s.reply).collect();
        failed.sort_unstable();
        assert_eq!(failed, vec![1, 2, 3]);
        assert_eq!(table.len(), 0);
        assert!(table.expire(u64::MAX).is_empty());
    }
}

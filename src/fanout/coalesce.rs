//! [`WriteCoalescer`]: when a connection drains its players' queues — at once
//! (low latency) or at the end of a window that started with the first
//! undrained frame (merged write, SRS's `mw_latency`). See `docs/fanout.md`,
//! "Write coalescing".
//!
//! One per connection, whatever the number of players and frames: the stream
//! wakes a player only when its queue goes from empty to non-empty, and the
//! first such wake-up arms the one window; every later one until it expires
//! waits for it. A joining player (its queue holds a join burst, or it has
//! not been handed its first keyframe yet) is drained at once, so the
//! play → first keyframe latency does not include the window. Pure: the
//! caller runs the timer.

/// What to do with a wake-up ([`WriteCoalescer::on_ready`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyAction {
    /// Drain this player's queue now.
    DrainNow,
    /// Start a timer of this many ms; when it fires, call
    /// [`WriteCoalescer::on_expired`] and drain every player's queue.
    Arm {
        /// The window, in ms.
        window_ms: u64,
    },
    /// A window is already running: its expiry drains this player too.
    Wait,
}

/// One connection's write-coalescing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteCoalescer {
    window_ms: u64,
    armed: bool,
}

impl WriteCoalescer {
    /// A coalescer with a window of `window_ms` (0: every wake-up drains at
    /// once).
    pub fn new(window_ms: u64) -> Self {
        Self {
            window_ms,
            armed: false,
        }
    }

    /// The window, in ms (0 = low latency).
    pub fn window_ms(&self) -> u64 {
        self.window_ms
    }

    /// A player's queue became non-empty; `joining` is
    /// [`PlayerQueue::is_joining`](super::PlayerQueue::is_joining).
    pub fn on_ready(&mut self, joining: bool) -> ReadyAction {
        if self.window_ms == 0 || joining {
            ReadyAction::DrainNow
        } else if self.armed {
            ReadyAction::Wait
        } else {
            self.armed = true;
            ReadyAction::Arm {
                window_ms: self.window_ms,
            }
        }
    }

    /// The window's timer fired: the caller drains every player now; the
    /// next wake-up starts a new window.
    pub fn on_expired(&mut self) {
        self.armed = false;
    }

    /// Whether a window is running.
    pub fn is_armed(&self) -> bool {
        self.armed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_window_every_wake_up_drains_at_once() {
        let mut c = WriteCoalescer::new(0);
        for _ in 0..3 {
            assert_eq!(c.on_ready(false), ReadyAction::DrainNow);
        }
        assert!(!c.is_armed());
    }

    #[test]
    fn the_first_wake_up_arms_one_window_and_later_ones_wait_for_it() {
        let mut c = WriteCoalescer::new(200);
        assert_eq!(c.on_ready(false), ReadyAction::Arm { window_ms: 200 });
        assert_eq!(c.on_ready(false), ReadyAction::Wait);
        assert_eq!(c.on_ready(false), ReadyAction::Wait);
        assert!(c.is_armed());
        c.on_expired();
        assert!(!c.is_armed());
        assert_eq!(c.on_ready(false), ReadyAction::Arm { window_ms: 200 });
    }

    #[test]
    fn a_joining_player_is_drained_at_once_even_while_a_window_runs() {
        let mut c = WriteCoalescer::new(300);
        assert_eq!(c.on_ready(true), ReadyAction::DrainNow);
        assert!(!c.is_armed(), "a join does not start a window");
        assert_eq!(c.on_ready(false), ReadyAction::Arm { window_ms: 300 });
        assert_eq!(c.on_ready(true), ReadyAction::DrainNow);
        assert!(c.is_armed(), "the running window is kept for the others");
    }
}

//! A member's slots under server-side sharding: those it has claimed in its Lease, those it
//! reconciles (active), and how many reconciles run in each, under one lock so that a slot is
//! never given up while one of its reconciles starts.

use std::sync::{Arc, Mutex, PoisonError};

use std::time::Duration;

use tokio::{sync::watch, time::Instant};

use super::slots::{SLOTS, Slots};

/// The slot table shared by the member's claim loop, its watches and its controllers' reconciles.
#[derive(Debug)]
pub(crate) struct Claims {
    state: Mutex<State>,
    /// The active slots, for the watches that follow them.
    active: watch::Sender<Slots>,
}

#[derive(Debug)]
struct State {
    /// Claimed in the Lease (as last written).
    held: Slots,
    /// Reconciled: held, and no other live member claimed them in a read made after our claim.
    active: Slots,
    /// Reconciles running, per slot.
    running: [u32; SLOTS as usize],
    /// When each slot stopped being active, until it is given up.
    stopped: [Option<Instant>; SLOTS as usize],
}

/// Marks one reconcile in a slot as running.
#[derive(Debug)]
pub(crate) struct SlotGuard {
    claims: Arc<Claims>,
    slot: u32,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut state = self.claims.lock();
        if let Some(n) = state.running.get_mut(self.slot as usize) {
            *n = n.saturating_sub(1);
        }
    }
}

impl Claims {
    pub(crate) fn new() -> Arc<Self> {
        let state = State {
            held: Slots::NONE,
            active: Slots::NONE,
            running: [0; SLOTS as usize],
            stopped: [None; SLOTS as usize],
        };
        Arc::new(Self { state: Mutex::new(state), active: watch::channel(Slots::NONE).0 })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A reconcile in `slot` may start: only while the slot is active.
    pub(crate) fn begin(self: &Arc<Self>, slot: u32) -> Option<SlotGuard> {
        let mut state = self.lock();
        if !state.active.contains(slot) {
            return None;
        }
        let n = state.running.get_mut(slot as usize)?;
        *n += 1;
        Some(SlotGuard { claims: self.clone(), slot })
    }

    /// The claimed slots.
    pub(crate) fn held(&self) -> Slots {
        self.lock().held
    }

    /// The active slots.
    pub(crate) fn active(&self) -> Slots {
        self.lock().active
    }

    /// The active slots as they change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Slots> {
        self.active.subscribe()
    }

    /// Keeps only the active slots in `keep`, so that no reconcile starts in the others, and
    /// returns the claimed slots outside `keep` where none runs any more: those may be given up.
    pub(crate) fn narrow(&self, keep: Slots) -> Slots {
        let mut state = self.lock();
        let stopping = state.active.difference(keep);
        let now = Instant::now();
        for slot in stopping.iter() {
            state.stopped[slot as usize] = Some(now);
        }
        state.active = state.active.intersection(keep);
        self.active.send_if_modified(|a| std::mem::replace(a, state.active) != state.active);
        let idle = Slots(
            state.running.iter().enumerate().filter(|(_, n)| **n == 0).fold(0, |m, (i, _)| m | (1 << i)),
        );
        state.held.difference(keep).intersection(idle)
    }

    /// Records what the Lease now claims; active slots no longer claimed stop being active.
    /// Returns, for each slot given up, how long it took from when it stopped being active
    /// (zero for one that never was).
    pub(crate) fn set_held(&self, held: Slots) -> Vec<Duration> {
        let mut state = self.lock();
        let given_up = state.held.difference(held);
        state.held = held;
        state.active = state.active.intersection(held);
        self.active.send_if_modified(|a| std::mem::replace(a, state.active) != state.active);
        given_up
            .iter()
            .map(|slot| state.stopped[slot as usize].take().map_or(Duration::ZERO, |at| at.elapsed()))
            .collect()
    }

    /// Starts reconciling `slots` (those of them still claimed).
    pub(crate) fn activate(&self, slots: Slots) {
        let mut state = self.lock();
        for slot in slots.iter() {
            state.stopped[slot as usize] = None;
        }
        state.active = state.active.union(slots.intersection(state.held));
        self.active.send_if_modified(|a| std::mem::replace(a, state.active) != state.active);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_given_up_only_once_inactive_and_idle() {
        let claims = Claims::new();
        let mut active = claims.subscribe();
        assert!(claims.begin(3).is_none(), "nothing is active before a claim");
        claims.activate(Slots(0b1000));
        assert!(claims.begin(3).is_none(), "a slot must be claimed before it is active");
        claims.set_held(Slots(0b1100));
        claims.activate(Slots(0b1100));
        assert!(active.has_changed().unwrap());
        assert_eq!(*active.borrow_and_update(), Slots(0b1100));

        let running = claims.begin(3).unwrap();
        // Slot 3 leaves the share: no new reconcile starts there, and it is not idle yet.
        assert_eq!(claims.narrow(Slots(0b0100)), Slots::NONE);
        assert!(claims.begin(3).is_none());
        assert_eq!(claims.active(), Slots(0b0100));
        assert_eq!(*active.borrow_and_update(), Slots(0b0100));
        drop(running);
        assert_eq!(claims.narrow(Slots(0b0100)), Slots(0b1000));
        assert_eq!(claims.set_held(Slots(0b0100)).len(), 1, "one slot given up");
        assert_eq!(claims.held(), Slots(0b0100));
        assert!(claims.begin(2).is_some());
        // Giving up the claim deactivates too.
        claims.set_held(Slots::NONE);
        assert!(claims.begin(2).is_none());
        assert!(claims.begin(99).is_none());
    }
}

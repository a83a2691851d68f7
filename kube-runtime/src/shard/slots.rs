//! Server-side sharding's unit of assignment: the 64-bit hash space the apiserver's
//! `shardSelector` ranges over, cut into 64 equal slots, and sets of slots as a bitmask.
//!
//! Each slot goes to a member by [rendezvous hashing](Ring) of its index, so that a change of
//! one of N members moves about 1/N of the slots; a member's share of the space is the union
//! of its slots' ranges, which is what its watch selects.

use std::fmt;

use kube_core::selector::{ShardField, ShardSelector};

use super::Ring;

/// How many slots the hash space is cut into.
pub const SLOTS: u32 = 64;

/// The annotation on a member's Lease listing the slots it has claimed, as 16 hex digits
/// (bit `i` for slot `i`).
pub const CLAIMS_ANNOTATION: &str = "shard.kube.rs/slots";

/// A set of slots.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Slots(pub u64);

impl Slots {
    /// No slot.
    pub const NONE: Slots = Slots(0);

    /// The slot an object whose sharded field has `value` falls in (the apiserver's hash,
    /// 64-bit FNV-1a, cut by its top six bits).
    pub fn slot_of(value: &str) -> u32 {
        // The top six bits of a u64 always fit.
        u32::try_from(ShardSelector::hash(value) >> 58).unwrap_or(0)
    }

    /// The slots `ring` gives to `member` (none when it is not in the ring).
    pub fn owned_by(ring: &Ring, member: &str) -> Slots {
        let mut mask = 0;
        for slot in 0..SLOTS {
            if ring.owner(&format!("slot-{slot}")) == Some(member) {
                mask |= 1 << slot;
            }
        }
        Slots(mask)
    }

    /// Whether `slot` is in the set.
    pub fn contains(self, slot: u32) -> bool {
        slot < SLOTS && self.0 & (1 << slot) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many slots are in the set.
    pub fn len(self) -> u32 {
        self.0.count_ones()
    }

    /// The slots in either set.
    #[must_use]
    pub fn union(self, other: Slots) -> Slots {
        Slots(self.0 | other.0)
    }

    /// The slots in both sets.
    #[must_use]
    pub fn intersection(self, other: Slots) -> Slots {
        Slots(self.0 & other.0)
    }

    /// The slots of `self` not in `other`.
    #[must_use]
    pub fn difference(self, other: Slots) -> Slots {
        Slots(self.0 & !other.0)
    }

    /// The slots, lowest first.
    pub fn iter(self) -> impl Iterator<Item = u32> {
        (0..SLOTS).filter(move |s| self.contains(*s))
    }

    /// The `shardSelector` that selects the objects of these slots by `field` (adjacent slots
    /// as one range), or `None` for the empty set.
    pub fn selector(self, field: ShardField) -> Option<ShardSelector> {
        let width = 1u128 << 58;
        let mut selector = ShardSelector::new(field);
        let mut slot = 0;
        let mut any = false;
        while slot < SLOTS {
            if !self.contains(slot) {
                slot += 1;
                continue;
            }
            let start = slot;
            while slot < SLOTS && self.contains(slot) {
                slot += 1;
            }
            let from = u64::try_from(u128::from(start) * width).ok()?;
            selector = selector.range(from, u128::from(slot) * width)?;
            any = true;
        }
        any.then_some(selector)
    }

    /// The annotation's value for this set.
    pub fn to_annotation(self) -> String {
        format!("{:016x}", self.0)
    }

    /// The set an annotation's value names; `None` when it is not 1 to 16 hex digits.
    pub fn from_annotation(value: &str) -> Option<Slots> {
        if value.is_empty() || value.len() > 16 {
            return None;
        }
        u64::from_str_radix(value, 16).ok().map(Slots)
    }
}

impl fmt::Debug for Slots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_has_exactly_one_owner_and_a_change_moves_about_a_share() {
        let three = Ring::new(["a", "b", "c"]);
        let shares: Vec<Slots> = ["a", "b", "c"].iter().map(|m| Slots::owned_by(&three, m)).collect();
        let all = shares.iter().fold(Slots::NONE, |acc, s| {
            assert!(acc.intersection(*s).is_empty(), "two owners of a slot");
            acc.union(*s)
        });
        assert_eq!(all, Slots(u64::MAX));
        for s in &shares {
            assert!((10..=32).contains(&s.len()), "a share of {} slots of 64 among three", s.len());
        }
        // A fourth member takes slots from the others and nothing moves between them.
        let four = Ring::new(["a", "b", "c", "d"]);
        let d = Slots::owned_by(&four, "d");
        assert!((6..=28).contains(&d.len()), "the newcomer has {} slots", d.len());
        for (m, before) in ["a", "b", "c"].iter().zip(&shares) {
            let after = Slots::owned_by(&four, m);
            assert_eq!(after.difference(*before), Slots::NONE, "{m} gained a slot from another old member");
        }
        assert_eq!(Slots::owned_by(&four, "z"), Slots::NONE);
    }

    #[test]
    fn selectors_cover_exactly_the_slots() {
        let set = Slots((1 << 0) | (1 << 1) | (1 << 5) | (1 << 63));
        let sel = set.selector(ShardField::Uid).unwrap();
        let ranges: Vec<(u64, u128)> = sel.ranges().iter().map(|r| (r.start, r.end)).collect();
        assert_eq!(ranges, vec![(0, 2 << 58), (5 << 58, 6 << 58), (63 << 58, 1 << 64)]);
        for uid in ["a", "b", "0f3c", "6a1c9d5e-2b47-4c8a-9f3e-0d2b7a6c5e41", ""] {
            assert_eq!(sel.matches_value(uid), set.contains(Slots::slot_of(uid)), "{uid}");
        }
        assert!(Slots::NONE.selector(ShardField::Uid).is_none());
        let whole = Slots(u64::MAX).selector(ShardField::Namespace).unwrap();
        assert_eq!(whole.ranges().len(), 1);
    }

    #[test]
    fn annotations_round_trip_and_garbage_is_refused() {
        let set = Slots(0x8000_0000_0000_0013);
        assert_eq!(set.to_annotation(), "8000000000000013");
        assert_eq!(Slots::from_annotation(&set.to_annotation()), Some(set));
        assert_eq!(Slots::from_annotation("13"), Some(Slots(0x13)));
        for bad in ["", "x1", "12345678901234567", "-1", " 1"] {
            assert_eq!(Slots::from_annotation(bad), None, "{bad:?}");
        }
        assert_eq!(format!("{:?}", Slots(0b101)), "{0, 2}");
    }
}

//! Rendezvous (highest random weight) hashing: which member owns a key. Adding or removing one of
//! N members moves only the keys it wins or held, about 1/N of them, and every process that knows
//! the same members computes the same owner without talking to the others.

use std::collections::BTreeSet;

/// The live members of a shard group, and the owner of any key among them.
///
/// The hash is FNV-1a (64 bit) with a SplitMix64 finalizer: fixed, so that every replica and every
/// version of this library agrees on an owner.
///
/// ```
/// use kube_runtime::shard::Ring;
///
/// let ring = Ring::new(["replica-a", "replica-b", "replica-c"]);
/// let owner = ring.owner("default/foo").unwrap();
/// assert!(ring.contains(owner));
/// // The same members in any order give the same owner.
/// assert_eq!(Ring::new(["replica-c", "replica-a", "replica-b"]).owner("default/foo"), Some(owner));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ring {
    /// Sorted and unique; each with the hash of its name.
    members: Vec<(String, u64)>,
}

impl Ring {
    /// A ring of `members` (duplicates count once).
    pub fn new<S: Into<String>>(members: impl IntoIterator<Item = S>) -> Self {
        let names: BTreeSet<String> = members.into_iter().map(Into::into).collect();
        Self {
            members: names
                .into_iter()
                .map(|m| {
                    let h = fnv1a(m.as_bytes());
                    (m, h)
                })
                .collect(),
        }
    }

    /// The member that owns `key`, or `None` when the ring is empty.
    pub fn owner(&self, key: &str) -> Option<&str> {
        let k = mix(fnv1a(key.as_bytes()));
        self.members
            .iter()
            .max_by_key(|(name, h)| (mix(h ^ k), std::cmp::Reverse(name.as_str())))
            .map(|(name, _)| name.as_str())
    }

    /// Whether `member` is in the ring.
    pub fn contains(&self, member: &str) -> bool {
        self.members.binary_search_by(|(m, _)| m.as_str().cmp(member)).is_ok()
    }

    /// The members, sorted.
    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|(m, _)| m.as_str())
    }

    /// How many members there are.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// SplitMix64's finalizer: spreads FNV's weak low bits over the whole word.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("ns-{}/object-{i}", i % 7)).collect()
    }

    fn owners(ring: &Ring, keys: &[String]) -> Vec<String> {
        keys.iter().map(|k| ring.owner(k).unwrap().to_string()).collect()
    }

    #[test]
    fn empty_ring_owns_nothing() {
        assert_eq!(Ring::default().owner("a"), None);
        assert!(Ring::new(Vec::<String>::new()).is_empty());
    }

    #[test]
    fn keys_spread_evenly() {
        let ring = Ring::new(["a", "b", "c"]);
        let keys = keys(30_000);
        let mut counts = BTreeMap::new();
        for o in owners(&ring, &keys) {
            *counts.entry(o).or_insert(0usize) += 1;
        }
        assert_eq!(counts.len(), 3);
        for (member, n) in counts {
            // 10,000 expected; a fair hash stays within a few percent.
            assert!((9_400..=10_600).contains(&n), "{member} owns {n} of 30,000");
        }
    }

    #[test]
    fn adding_a_member_moves_about_a_quarter_and_only_to_it() {
        let keys = keys(20_000);
        let before = owners(&Ring::new(["a", "b", "c"]), &keys);
        let after = owners(&Ring::new(["a", "b", "c", "d"]), &keys);
        let moved: Vec<_> = before.iter().zip(&after).filter(|(b, a)| b != a).collect();
        assert!(moved.iter().all(|(_, a)| a.as_str() == "d"), "keys moved between old members");
        let share = moved.len() as f64 / keys.len() as f64;
        assert!((0.22..=0.28).contains(&share), "moved {share}");
    }

    #[test]
    fn removing_a_member_moves_only_its_keys() {
        let keys = keys(20_000);
        let before = owners(&Ring::new(["a", "b", "c", "d"]), &keys);
        let after = owners(&Ring::new(["a", "b", "d"]), &keys);
        for (b, a) in before.iter().zip(&after) {
            if b != "c" {
                assert_eq!(a, b);
            }
        }
        assert!(after.iter().all(|a| a != "c"));
    }

    #[test]
    fn the_hash_is_stable() {
        // Fixed across processes and releases: replicas of different versions must agree.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(Ring::new(["x", "y"]).owner("k"), Ring::new(["y", "x", "x"]).owner("k"));
        assert!(Ring::new(["a", "b"]).contains("b") && !Ring::new(["a", "b"]).contains("c"));
    }
}

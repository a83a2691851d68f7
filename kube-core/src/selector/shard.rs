//! Shard selectors: the apiserver's `shardSelector` (Kubernetes 1.36+, alpha, feature gate
//! `ShardedListAndWatch`), which serves a list or watch only the objects whose uid (or namespace)
//! hashes into given ranges of the 64-bit FNV-1a space.

use std::fmt;

/// The field whose FNV-1a hash a [`ShardSelector`] ranges over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShardField {
    /// `object.metadata.uid`.
    Uid,
    /// `object.metadata.namespace`: every object of a namespace in one shard.
    Namespace,
}

impl ShardField {
    fn path(self) -> &'static str {
        match self {
            ShardField::Uid => "object.metadata.uid",
            ShardField::Namespace => "object.metadata.namespace",
        }
    }
}

/// One half-open range `[start, end)` of the hash space; `end` goes up to 2^64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShardRange {
    /// Inclusive lower bound.
    pub start: u64,
    /// Exclusive upper bound, at most 2^64.
    pub end: u128,
}

/// The end of the hash space, 2^64.
const SPACE: u128 = 1 << 64;

/// A `shardSelector`: objects whose field hashes into any of the ranges.
///
/// ```
/// use kube_core::selector::{ShardField, ShardSelector};
///
/// // The second of four equal shards by uid, as the apiserver expects it written.
/// let s = ShardSelector::split(ShardField::Uid, 1, 4).unwrap();
/// assert_eq!(
///     s.to_string(),
///     "shardRange(object.metadata.uid, '0x4000000000000000', '0x8000000000000000')"
/// );
/// // The shards of a split cover every object exactly once.
/// let uid = "6a1c9d5e-2b47-4c8a-9f3e-0d2b7a6c5e41";
/// let owners = (0..4).filter(|i| ShardSelector::split(ShardField::Uid, *i, 4).unwrap().matches_value(uid));
/// assert_eq!(owners.count(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShardSelector {
    field: ShardField,
    ranges: Vec<ShardRange>,
}

impl ShardSelector {
    /// A selector on `field` with no range yet (matches nothing until one is added).
    pub fn new(field: ShardField) -> Self {
        Self { field, ranges: Vec::new() }
    }

    /// Adds the range `[start, end)`; `None` when it is empty or `end` is past 2^64.
    #[must_use]
    pub fn range(mut self, start: u64, end: u128) -> Option<Self> {
        if u128::from(start) >= end || end > SPACE {
            return None;
        }
        self.ranges.push(ShardRange { start, end });
        Some(self)
    }

    /// Shard `index` of `count` equal, contiguous shards; `None` when `index >= count`.
    pub fn split(field: ShardField, index: u64, count: u64) -> Option<Self> {
        if index >= count {
            return None;
        }
        let bound = |i: u64| SPACE * u128::from(i) / u128::from(count);
        let start = u64::try_from(bound(index)).ok()?;
        Self::new(field).range(start, bound(index + 1))
    }

    /// The field hashed.
    pub fn field(&self) -> ShardField {
        self.field
    }

    /// The ranges.
    pub fn ranges(&self) -> &[ShardRange] {
        &self.ranges
    }

    /// The hash the apiserver computes of a field's value: 64-bit FNV-1a of its bytes.
    pub fn hash(value: &str) -> u64 {
        value.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    }

    /// Whether an object whose field has `value` is selected, as the apiserver decides.
    pub fn matches_value(&self, value: &str) -> bool {
        let h = u128::from(Self::hash(value));
        self.ranges.iter().any(|r| u128::from(r.start) <= h && h < r.end)
    }
}

impl fmt::Display for ShardSelector {
    /// The CEL form the apiserver parses: `shardRange(<field>, '<start>', '<end>') || ...`,
    /// bounds as 16-digit hex (the end of the space as `0x10000000000000000`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(" || ")?;
            }
            let end =
                if r.end == SPACE { "0x10000000000000000".to_string() } else { format!("0x{:016x}", r.end) };
            write!(f, "shardRange({}, '0x{:016x}', '{end}')", self.field.path(), r.start)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_the_space_without_gaps() {
        for count in [1u64, 2, 3, 7] {
            let shards: Vec<_> =
                (0..count).map(|i| ShardSelector::split(ShardField::Uid, i, count).unwrap()).collect();
            assert_eq!(shards[0].ranges()[0].start, 0);
            assert_eq!(shards[shards.len() - 1].ranges()[0].end, SPACE);
            for w in shards.windows(2) {
                assert_eq!(u128::from(w[1].ranges()[0].start), w[0].ranges()[0].end);
            }
        }
        assert!(ShardSelector::split(ShardField::Uid, 2, 2).is_none());
        assert!(ShardSelector::split(ShardField::Uid, 0, 0).is_none());
    }

    #[test]
    fn prints_what_the_apiserver_parses() {
        let whole = ShardSelector::split(ShardField::Namespace, 0, 1).unwrap();
        assert_eq!(
            whole.to_string(),
            "shardRange(object.metadata.namespace, '0x0000000000000000', '0x10000000000000000')"
        );
        let two = ShardSelector::new(ShardField::Uid).range(0, 16).unwrap().range(32, 48).unwrap();
        assert_eq!(
            two.to_string(),
            "shardRange(object.metadata.uid, '0x0000000000000000', '0x0000000000000010') || \
             shardRange(object.metadata.uid, '0x0000000000000020', '0x0000000000000030')"
        );
        assert!(ShardSelector::new(ShardField::Uid).range(5, 5).is_none());
        assert!(ShardSelector::new(ShardField::Uid).range(0, SPACE + 1).is_none());
    }

    #[test]
    fn hashes_like_the_apiserver() {
        // Go's hash/fnv New64a.
        assert_eq!(ShardSelector::hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(ShardSelector::hash("a"), 0xaf63_dc4c_8601_ec8c);
        let low = ShardSelector::new(ShardField::Uid).range(0, 0x8000_0000_0000_0000).unwrap();
        assert!(!low.matches_value("a"));
        assert!(ShardSelector::split(ShardField::Uid, 1, 2).unwrap().matches_value("a"));
    }
}

//! Label and field selectors: typed builders, a parser and matching; and the apiserver's shard
//! selectors ([`ShardSelector`]).
//!
//! A [`LabelSelector`] is a conjunction of [`Requirement`]s on labels, with the operators the
//! apiserver understands in `labelSelector` query parameters: `=`/`==`, `!=`, `in`, `notin`,
//! existence (`key`), non-existence (`!key`), and the integer comparisons `>` and `<`. A
//! [`FieldSelector`] is a conjunction of [`FieldRequirement`]s on object fields, which only
//! support `=`/`==` and `!=`.
//!
//! Both kinds can be
//! - built with chainable methods (`eq`, `ne`, ...), which do not validate (`validate` does),
//! - parsed from the string form with [`str::parse`] or `parse`, which validates like the
//!   apiserver and reports errors as [`ParseError`],
//! - printed with [`Display`](std::fmt::Display) in the canonical form the apiserver accepts,
//! - matched against labels or fields locally, with the apiserver's semantics,
//! - (de)serialized with serde as their string form.
//!
//! An empty selector matches everything and prints as the empty string.
//!
//! ```
//! use std::collections::BTreeMap;
//! use kube_core::selector::{FieldSelector, LabelSelector};
//!
//! let labels = LabelSelector::new()
//!     .eq("app", "web")
//!     .not_in("tier", ["db", "cache"])
//!     .exists("team")
//!     .not_exists("legacy");
//! assert_eq!(labels.to_string(), "app=web,tier notin (cache,db),team,!legacy");
//!
//! let parsed: LabelSelector = "app = web, tier notin (db,cache), team, !legacy".parse()?;
//! assert_eq!(parsed, labels);
//!
//! let pod_labels = BTreeMap::from([
//!     ("app".to_owned(), "web".to_owned()),
//!     ("team".to_owned(), "payments".to_owned()),
//! ]);
//! assert!(labels.matches(&pod_labels));
//!
//! let fields = FieldSelector::new().eq("metadata.name", "web-0").ne("status.phase", "Running");
//! assert_eq!(fields.to_string(), "metadata.name=web-0,status.phase!=Running");
//! # Ok::<(), kube_core::selector::ParseError>(())
//! ```
//!
//! [`LabelSelector`] also converts from and to the `meta/v1` `LabelSelector` of k8s-openapi
//! (the `selector` of Deployments, Services' owners, ...), with `TryFrom` both ways.

/// The traits both selector types share: the comma-joined string form (`Display`, `FromStr`,
/// serde), and collection traits over their requirements.
macro_rules! impl_selector_traits {
    ($selector:ident, $requirement:ident, $parse:path) => {
        /// The canonical, comma-joined string form the apiserver accepts.
        impl std::fmt::Display for $selector {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                for (i, requirement) in self.requirements.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{requirement}")?;
                }
                Ok(())
            }
        }

        impl std::str::FromStr for $selector {
            type Err = $crate::selector::ParseError;

            fn from_str(input: &str) -> Result<Self, Self::Err> {
                $parse(input)
            }
        }

        impl From<$requirement> for $selector {
            fn from(requirement: $requirement) -> Self {
                Self { requirements: vec![requirement] }
            }
        }

        impl FromIterator<$requirement> for $selector {
            fn from_iter<I: IntoIterator<Item = $requirement>>(iter: I) -> Self {
                Self { requirements: iter.into_iter().collect() }
            }
        }

        impl Extend<$requirement> for $selector {
            fn extend<I: IntoIterator<Item = $requirement>>(&mut self, iter: I) {
                self.requirements.extend(iter);
            }
        }

        impl IntoIterator for $selector {
            type Item = $requirement;
            type IntoIter = std::vec::IntoIter<$requirement>;

            fn into_iter(self) -> Self::IntoIter {
                self.requirements.into_iter()
            }
        }

        impl<'a> IntoIterator for &'a $selector {
            type Item = &'a $requirement;
            type IntoIter = std::slice::Iter<'a, $requirement>;

            fn into_iter(self) -> Self::IntoIter {
                self.requirements.iter()
            }
        }

        /// Serializes as the string form.
        impl serde::Serialize for $selector {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        /// Deserializes from the string form.
        impl<'de> serde::Deserialize<'de> for $selector {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let input = <String as serde::Deserialize>::deserialize(deserializer)?;
                input.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
use impl_selector_traits;

mod convert;
mod error;
mod field;
mod label;
mod parse;
mod shard;
mod validate;

pub use error::ParseError;
pub use field::{FieldOperator, FieldRequirement, FieldSelector};
pub use label::{LabelSelector, Operator, Requirement};
pub use shard::{ShardField, ShardRange, ShardSelector};

//! Label and field selectors: typed builders, a parser and matching.
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

mod convert;
mod error;
mod field;
mod label;
mod parse;
mod validate;

pub use error::ParseError;
pub use field::{FieldOperator, FieldRequirement, FieldSelector};
pub use label::{LabelSelector, Operator, Requirement};

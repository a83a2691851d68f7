//! Watch events: one line of a watch stream, `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK` or `ERROR`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Status, TypeMeta};

/// The annotation on the BOOKMARK that ends the initial events of a streaming list.
pub const INITIAL_EVENTS_END_ANNOTATION: &str = "k8s.io/initial-events-end";

/// One event of a watch stream, as `{"type": ..., "object": ...}`.
///
/// ```
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kube_core::WatchEvent;
/// let line = r#"{"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1",
///   "metadata":{"resourceVersion":"12","annotations":{"k8s.io/initial-events-end":"true"}}}}"#;
/// match serde_json::from_str::<WatchEvent<ConfigMap>>(line).unwrap() {
///     WatchEvent::Bookmark(b) => {
///         assert_eq!(b.metadata.resource_version, "12");
///         assert!(b.is_initial_events_end());
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "object", rename_all = "UPPERCASE")]
pub enum WatchEvent<K> {
    /// An object was created (or seen for the first time by this watch).
    Added(K),
    /// An object changed.
    Modified(K),
    /// An object was deleted; this is its last state.
    Deleted(K),
    /// A progress marker: everything up to its resourceVersion has been sent.
    Bookmark(Bookmark),
    /// The watch failed; `410` (`Expired`) means the resourceVersion is too old.
    Error(Status),
}

impl<K> WatchEvent<K> {
    /// The type string as on the wire.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Added(_) => "ADDED",
            Self::Modified(_) => "MODIFIED",
            Self::Deleted(_) => "DELETED",
            Self::Bookmark(_) => "BOOKMARK",
            Self::Error(_) => "ERROR",
        }
    }
}

/// The object of a BOOKMARK event: only its type, resourceVersion and annotations are set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bookmark {
    /// The object type the watch is for.
    #[serde(flatten, default)]
    pub types: TypeMeta,
    /// The resourceVersion and annotations.
    pub metadata: BookmarkMeta,
}

/// The metadata of a bookmark.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookmarkMeta {
    /// Everything up to this resourceVersion has been sent; resume a watch from it.
    pub resource_version: String,
    /// Annotations, such as `k8s.io/initial-events-end`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Bookmark {
    /// Whether this bookmark ends the initial events of a streaming list
    /// (`sendInitialEvents=true`).
    pub fn is_initial_events_end(&self) -> bool {
        self.metadata.annotations.get(INITIAL_EVENTS_END_ANNOTATION).is_some_and(|v| v == "true")
    }
}

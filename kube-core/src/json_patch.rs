//! JSON Patch (RFC 6902) as the difference of two JSON documents, for mutating admission
//! responses.
//!
//! [`JsonPatch::diff`] compares two values and produces `add`, `remove` and `replace`
//! operations: objects are compared key by key, arrays of the same length element by element,
//! arrays of different lengths are replaced whole (short and always correct, whatever moved).
//!
//! ```
//! use kube_core::json_patch::JsonPatch;
//! use serde_json::json;
//! let old = json!({"metadata": {"name": "a"}, "spec": {"replicas": 1}});
//! let new = json!({"metadata": {"name": "a", "labels": {"app/tier": "web"}}, "spec": {"replicas": 3}});
//! let patch = JsonPatch::diff(&old, &new);
//! assert_eq!(serde_json::to_value(&patch).unwrap(), json!([
//!     {"op": "add", "path": "/metadata/labels", "value": {"app/tier": "web"}},
//!     {"op": "replace", "path": "/spec/replicas", "value": 3},
//! ]));
//! ```

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One JSON Patch operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum PatchOperation {
    /// Adds `value` at `path` (a new member, or inserted into an array; `-` appends).
    Add {
        /// A JSON Pointer (RFC 6901).
        path: String,
        /// The value added.
        value: Value,
    },
    /// Removes the value at `path`.
    Remove {
        /// A JSON Pointer (RFC 6901).
        path: String,
    },
    /// Replaces the value at `path` with `value`.
    Replace {
        /// A JSON Pointer (RFC 6901).
        path: String,
        /// The new value.
        value: Value,
    },
}

/// A JSON Patch: operations applied in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JsonPatch(pub Vec<PatchOperation>);

impl JsonPatch {
    /// The operations that turn `old` into `new` (none when they are equal).
    pub fn diff(old: &Value, new: &Value) -> Self {
        let mut ops = Vec::new();
        diff_at(&mut String::new(), old, new, &mut ops);
        Self(ops)
    }

    /// Whether the patch has no operations.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The patch as JSON, base64-encoded (standard alphabet, padded): the `patch` field of an
    /// admission response.
    pub fn to_base64(&self) -> String {
        // Serializing plain strings and values cannot fail.
        let json = serde_json::to_vec(&self.0).unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    /// Reads a base64-encoded patch, as in an admission response.
    pub fn from_base64(encoded: &str) -> Result<Self, PatchDecodeError> {
        let json =
            base64::engine::general_purpose::STANDARD.decode(encoded).map_err(PatchDecodeError::Base64)?;
        serde_json::from_slice(&json).map_err(PatchDecodeError::Json)
    }
}

/// A base64 patch that does not decode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PatchDecodeError {
    /// Not base64.
    #[error("json patch is not valid base64: {0}")]
    Base64(#[source] base64::DecodeError),
    /// Not a JSON Patch.
    #[error("json patch is not a list of add/remove/replace operations: {0}")]
    Json(#[source] serde_json::Error),
}

/// Appends `token` to a JSON Pointer, escaping `~` and `/` (RFC 6901).
fn push_token(path: &mut String, token: &str) {
    path.push('/');
    for c in token.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

fn diff_at(path: &mut String, old: &Value, new: &Value, ops: &mut Vec<PatchOperation>) {
    if old == new {
        return;
    }
    let len = path.len();
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, old_value) in a {
                push_token(path, key);
                match b.get(key) {
                    Some(new_value) => diff_at(path, old_value, new_value, ops),
                    None => ops.push(PatchOperation::Remove { path: path.clone() }),
                }
                path.truncate(len);
            }
            for (key, new_value) in b {
                if !a.contains_key(key) {
                    push_token(path, key);
                    ops.push(PatchOperation::Add { path: path.clone(), value: new_value.clone() });
                    path.truncate(len);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                push_token(path, &i.to_string());
                diff_at(path, x, y, ops);
                path.truncate(len);
            }
        }
        _ => ops.push(PatchOperation::Replace { path: path.clone(), value: new.clone() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Applies a patch the way RFC 6902 says (only what `diff` produces), for round trips.
    fn apply(doc: &mut Value, patch: &JsonPatch) {
        for op in &patch.0 {
            let (path, value) = match op {
                PatchOperation::Add { path, value } | PatchOperation::Replace { path, value } => {
                    (path, Some(value.clone()))
                }
                PatchOperation::Remove { path } => (path, None),
            };
            if path.is_empty() {
                *doc = value.unwrap();
                continue;
            }
            let (parent, last) = path.rsplit_once('/').unwrap();
            let last = last.replace("~1", "/").replace("~0", "~");
            let target = doc.pointer_mut(parent).unwrap();
            match (target, value) {
                (Value::Object(m), Some(v)) => {
                    m.insert(last, v);
                }
                (Value::Object(m), None) => {
                    m.remove(&last).unwrap();
                }
                (Value::Array(a), Some(v)) => a[last.parse::<usize>().unwrap()] = v,
                (Value::Array(a), None) => {
                    a.remove(last.parse::<usize>().unwrap());
                }
                (other, _) => panic!("cannot apply {op:?} to {other}"),
            }
        }
    }

    fn round_trip(old: Value, new: Value) -> JsonPatch {
        let patch = JsonPatch::diff(&old, &new);
        let mut doc = old;
        apply(&mut doc, &patch);
        assert_eq!(doc, new, "patch {patch:?}");
        let decoded = JsonPatch::from_base64(&patch.to_base64()).unwrap();
        assert_eq!(decoded, patch);
        patch
    }

    #[test]
    fn equal_documents_need_no_patch() {
        let doc = json!({"a": [1, {"b": null}], "c": "d"});
        assert!(round_trip(doc.clone(), doc).is_empty());
    }

    #[test]
    fn keys_with_slashes_and_tildes_are_escaped() {
        let patch = round_trip(
            json!({"metadata": {"annotations": {}}}),
            json!({"metadata": {"annotations": {"example.com/a~b": "x"}}}),
        );
        assert_eq!(
            patch.0,
            vec![PatchOperation::Add {
                path: "/metadata/annotations/example.com~1a~0b".into(),
                value: json!("x")
            }]
        );
    }

    #[test]
    fn removes_adds_and_replaces() {
        let patch =
            round_trip(json!({"a": 1, "b": 2, "c": {"d": 3}}), json!({"b": "two", "c": {"e": 4}, "f": [1]}));
        assert_eq!(
            serde_json::to_value(&patch).unwrap(),
            json!([
                {"op": "remove", "path": "/a"},
                {"op": "replace", "path": "/b", "value": "two"},
                {"op": "remove", "path": "/c/d"},
                {"op": "add", "path": "/c/e", "value": 4},
                {"op": "add", "path": "/f", "value": [1]},
            ])
        );
    }

    #[test]
    fn arrays_of_same_length_by_element_else_whole() {
        let patch = round_trip(json!({"l": [{"n": 1}, {"n": 2}]}), json!({"l": [{"n": 1}, {"n": 5}]}));
        assert_eq!(patch.0, vec![PatchOperation::Replace { path: "/l/1/n".into(), value: json!(5) }]);
        let patch = round_trip(json!({"l": [1, 2, 3]}), json!({"l": [1, 2]}));
        assert_eq!(patch.0, vec![PatchOperation::Replace { path: "/l".into(), value: json!([1, 2]) }]);
    }

    #[test]
    fn whole_document_and_type_changes() {
        round_trip(json!(1), json!({"a": 1}));
        round_trip(json!({"a": {"b": 1}}), json!({"a": [1]}));
        round_trip(json!({"a": null}), json!({"a": {"b": null}}));
        round_trip(json!([]), json!(["x"]));
    }

    #[test]
    fn bad_base64_and_bad_patches_are_errors() {
        assert!(matches!(JsonPatch::from_base64("%%%"), Err(PatchDecodeError::Base64(_))));
        let not_patch =
            base64::engine::general_purpose::STANDARD.encode(r#"[{"op":"move","from":"/a","path":"/b"}]"#);
        assert!(matches!(JsonPatch::from_base64(&not_patch), Err(PatchDecodeError::Json(_))));
    }
}

//! Structural OpenAPI schemas for CustomResourceDefinitions, generated with `schemars` and
//! rewritten into the form the apiserver requires.
//!
//! The apiserver accepts only *structural* schemas: every node has a `type` (or
//! `x-kubernetes-int-or-string` / `x-kubernetes-preserve-unknown-fields`), there are no `$ref`s,
//! `nullable` replaces `null` types, and `anyOf`/`oneOf`/`allOf` may only add value validations
//! (`required`, `enum`, ...) to properties that are declared outside them. [`structural`] turns
//! what `schemars` produces into that form:
//!
//! - `$ref`s are inlined (recursive types are refused: a structural schema is finite);
//! - `Option<T>` becomes `nullable: true`;
//! - unit enums become `enum` lists; externally, internally tagged and untagged enums whose
//!   variants are objects have their properties merged into one object, the variants kept as
//!   `oneOf`/`anyOf` branches that only list what they require;
//! - enums whose variants have different JSON types (a string and an object) are refused with a
//!   message that says which type and what to write instead;
//! - `serde_json::Value` and other unconstrained schemas keep unknown fields;
//! - sets (`uniqueItems`) become `x-kubernetes-list-type: set`;
//! - keywords the apiserver does not know are dropped, descriptions and defaults are kept.
//!
//! ```
//! #[derive(schemars::JsonSchema)]
//! #[allow(dead_code)]
//! struct Spec {
//!     /// How many copies.
//!     replicas: Option<i32>,
//! }
//! let schema = kube_core::schema::structural(kube_core::schema::schema_for::<Spec>()).unwrap();
//! assert_eq!(schema["properties"]["replicas"]["nullable"], true);
//! assert_eq!(schema["properties"]["replicas"]["description"], "How many copies.");
//! ```

use serde_json::{Map, Value, json};

/// Why a type's schema cannot be made structural, or an extension cannot be applied.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum SchemaError {
    /// A type refers to itself; structural schemas cannot express recursion.
    #[error(
        "type `{name}` at {path} is recursive; structural schemas cannot express recursion: use `#[schemars(with = \"serde_json::Value\")]` on the recursive field and mark it `#[x_kube(preserve_unknown_fields)]`"
    )]
    Recursive {
        /// The recursive type's definition name.
        name: String,
        /// Where in the schema it recurs (`.spec.children`).
        path: String,
    },
    /// A `$ref` that points to no definition.
    #[error("unresolved schema reference {reference:?} at {path}")]
    UnresolvedRef {
        /// The reference.
        reference: String,
        /// Where in the schema.
        path: String,
    },
    /// A shape the apiserver does not accept in a structural schema.
    #[error("{what} at {path} has no structural schema: {reason}")]
    NotStructural {
        /// The type (from its schema title) or `a schema`.
        what: String,
        /// Where in the schema (`.spec.mode`).
        path: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// An extension named a property the schema does not have.
    #[error("no property `{property}` in the schema to apply {extension} to")]
    UnknownProperty {
        /// The JSON name of the property.
        property: String,
        /// The extension's keyword.
        extension: &'static str,
    },
}

/// The schema of `T` as `schemars` generates it for OpenAPI 3, with subschemas inlined where
/// they are not recursive. Pass it to [`structural`] before using it in a CRD.
pub fn schema_for<T: schemars::JsonSchema>() -> Value {
    let settings = schemars::generate::SchemaSettings::openapi3().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    settings.into_generator().into_root_schema_for::<T>().to_value()
}

/// A structural schema extension, set on the spec (struct-level attributes) or on one of its
/// fields (field-level attributes) by `#[derive(CustomResource)]`, or applied by hand with
/// [`apply_extensions`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Extension {
    /// A CEL rule (`x-kubernetes-validations`).
    Validation(Validation),
    /// `x-kubernetes-preserve-unknown-fields: true`: keep fields the schema does not declare.
    PreserveUnknownFields,
    /// `x-kubernetes-int-or-string: true`: an integer or a string (replaces the field's schema).
    IntOrString,
    /// `x-kubernetes-embedded-resource: true`: an object with `apiVersion`, `kind`, `metadata`.
    EmbeddedResource,
    /// `x-kubernetes-list-type`: `atomic`, `set` or `map`.
    ListType(&'static str),
    /// `x-kubernetes-list-map-keys`, for `x-kubernetes-list-type: map`.
    ListMapKeys(&'static [&'static str]),
    /// `x-kubernetes-map-type`: `atomic` or `granular`.
    MapType(&'static str),
}

/// One CEL validation rule (an entry of `x-kubernetes-validations`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Validation {
    /// The CEL expression; `self` is the value of the node it is set on.
    pub rule: &'static str,
    /// The message returned when the rule fails.
    pub message: Option<&'static str>,
    /// A CEL expression that computes the message.
    pub message_expression: Option<&'static str>,
    /// The field path reported with the failure, relative to the node (`.replicas`).
    pub field_path: Option<&'static str>,
    /// The reason reported: `FieldValueInvalid`, `FieldValueForbidden`, `FieldValueRequired` or
    /// `FieldValueDuplicate`.
    pub reason: Option<&'static str>,
}

impl Validation {
    fn to_value(&self) -> Value {
        let mut v = Map::new();
        v.insert("rule".into(), self.rule.into());
        let optional = [
            ("message", self.message),
            ("messageExpression", self.message_expression),
            ("fieldPath", self.field_path),
            ("reason", self.reason),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                v.insert(key.into(), value.into());
            }
        }
        Value::Object(v)
    }
}

impl Extension {
    fn keyword(&self) -> &'static str {
        match self {
            Extension::Validation(_) => "x-kubernetes-validations",
            Extension::PreserveUnknownFields => "x-kubernetes-preserve-unknown-fields",
            Extension::IntOrString => "x-kubernetes-int-or-string",
            Extension::EmbeddedResource => "x-kubernetes-embedded-resource",
            Extension::ListType(_) => "x-kubernetes-list-type",
            Extension::ListMapKeys(_) => "x-kubernetes-list-map-keys",
            Extension::MapType(_) => "x-kubernetes-map-type",
        }
    }

    fn apply(&self, node: &mut Map<String, Value>) {
        let keyword = self.keyword();
        match self {
            Extension::Validation(v) => match node.get_mut(keyword) {
                Some(Value::Array(rules)) => rules.push(v.to_value()),
                _ => {
                    node.insert(keyword.into(), json!([v.to_value()]));
                }
            },
            Extension::IntOrString => {
                // The field's own shape (an untagged enum, a string...) is replaced.
                node.retain(|k, _| matches!(k.as_str(), "description" | "default" | "nullable"));
                node.insert(keyword.into(), true.into());
            }
            Extension::PreserveUnknownFields => {
                node.insert(keyword.into(), true.into());
            }
            Extension::EmbeddedResource => {
                // An object with apiVersion, kind and metadata; without declared fields it keeps
                // whatever the embedded kind has.
                node.insert(keyword.into(), true.into());
                node.insert("type".into(), "object".into());
                node.remove("additionalProperties");
                if !node.contains_key("properties") {
                    node.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
                }
            }
            Extension::ListType(t) | Extension::MapType(t) => {
                node.insert(keyword.into(), (*t).into());
            }
            Extension::ListMapKeys(keys) => {
                node.insert(keyword.into(), keys.iter().map(|k| Value::from(*k)).collect());
            }
        }
    }
}

/// Applies extensions to a schema as [`schema_for`] produced it: to the root when `property` is
/// `None`, else to the root's property of that JSON name. Call it before [`structural`].
pub fn apply_extensions(
    schema: &mut Value,
    property: Option<&str>,
    extensions: &[Extension],
) -> Result<(), SchemaError> {
    let node = match property {
        None => schema.as_object_mut(),
        Some(name) => {
            schema.get_mut("properties").and_then(|p| p.get_mut(name)).and_then(Value::as_object_mut)
        }
    };
    let Some(node) = node else {
        return Err(SchemaError::UnknownProperty {
            property: property.unwrap_or("<root>").to_string(),
            extension: extensions.first().map_or("an extension", Extension::keyword),
        });
    };
    for extension in extensions {
        extension.apply(node);
    }
    Ok(())
}

/// The `openAPIV3Schema` of a custom resource: an object with the (structural) `spec` and, when
/// there is one, `status`.
pub fn custom_resource_schema(spec: Value, status: Option<Value>, description: Option<&str>) -> Value {
    let mut properties = Map::new();
    properties.insert("spec".into(), spec);
    if let Some(mut status) = status {
        if let Some(s) = status.as_object_mut() {
            s.remove("nullable");
        }
        properties.insert("status".into(), status);
    }
    let mut root = Map::new();
    if let Some(description) = description {
        root.insert("description".into(), description.into());
    }
    root.insert("type".into(), "object".into());
    root.insert("properties".into(), Value::Object(properties));
    root.insert("required".into(), json!(["spec"]));
    Value::Object(root)
}

/// Rewrites a schema from [`schema_for`] into the structural form (see the module docs).
pub fn structural(schema: Value) -> Result<Value, SchemaError> {
    let mut schema = schema;
    let mut definitions = Map::new();
    if let Some(root) = schema.as_object_mut() {
        for key in ["components", "$defs", "definitions"] {
            if let Some(defs) = root.remove(key) {
                let defs =
                    if key == "components" { defs.get("schemas").cloned().unwrap_or_default() } else { defs };
                if let Value::Object(defs) = defs {
                    definitions.extend(defs);
                }
            }
        }
    }
    let root_title = schema.get("title").and_then(Value::as_str).unwrap_or("the root type").to_string();
    Rewriter { definitions, stack: Vec::new(), root_title }.rewrite(schema, "")
}

struct Rewriter {
    definitions: Map<String, Value>,
    stack: Vec<String>,
    root_title: String,
}

/// Keywords of the JSON schema that `JSONSchemaProps` has no field for, or that only annotate.
const DROPPED: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "examples",
    "readOnly",
    "writeOnly",
    "deprecated",
    "contentEncoding",
    "contentMediaType",
    "definitions",
    "$defs",
];

/// Formats the apiserver validates; others (such as `uint32`) are dropped.
const FORMATS: &[&str] = &[
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "binary",
    "date",
    "date-time",
    "datetime",
    "duration",
    "password",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "bsonobjectid",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
];

fn what(node: &Map<String, Value>) -> String {
    node.get("title")
        .and_then(Value::as_str)
        .map_or_else(|| "a schema".to_string(), |t| format!("type `{t}`"))
}

fn not_structural(node: &Map<String, Value>, path: &str, reason: impl Into<String>) -> SchemaError {
    SchemaError::NotStructural { what: what(node), path: display_path(path), reason: reason.into() }
}

fn display_path(path: &str) -> String {
    if path.is_empty() { "the root".to_string() } else { path.to_string() }
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type") == Some(&Value::from("null"))
        || v.get("enum") == Some(&json!([null]))
        || v.get("const") == Some(&Value::Null)
}

impl Rewriter {
    fn rewrite(&mut self, node: Value, path: &str) -> Result<Value, SchemaError> {
        let mut node = match node {
            Value::Bool(true) => return Ok(json!({"x-kubernetes-preserve-unknown-fields": true})),
            Value::Object(map) => map,
            _ => {
                return Err(SchemaError::NotStructural {
                    what: "a schema".into(),
                    path: display_path(path),
                    reason: "a `false` schema accepts no value".into(),
                });
            }
        };

        if let Some(reference) = node.remove("$ref") {
            let reference = reference.as_str().unwrap_or_default().to_string();
            let name = reference.rsplit('/').next().unwrap_or_default().to_string();
            if reference == "#" || self.stack.contains(&name) {
                let name = if reference == "#" { self.root_title.clone() } else { name };
                return Err(SchemaError::Recursive { name, path: display_path(path) });
            }
            let Some(Value::Object(target)) = self.definitions.get(&name).cloned() else {
                return Err(SchemaError::UnresolvedRef { reference, path: display_path(path) });
            };
            // The referring node's own keywords (description, default, nullable) win.
            let mut merged = target;
            merged.extend(node);
            self.stack.push(name);
            let result = self.rewrite(Value::Object(merged), path);
            self.stack.pop();
            return result;
        }

        if node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            node.retain(|k, _| {
                matches!(k.as_str(), "description" | "default" | "nullable" | "x-kubernetes-int-or-string")
                    || k.starts_with("x-kubernetes-validations")
            });
            return Ok(Value::Object(node));
        }

        // `type: [T, "null"]`.
        if let Some(Value::Array(types)) = node.get("type").cloned() {
            let non_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
            if non_null.len() != types.len() {
                node.insert("nullable".into(), true.into());
            }
            match non_null.as_slice() {
                [one] => {
                    node.insert("type".into(), one.clone());
                }
                _ => {
                    return Err(not_structural(
                        &node,
                        path,
                        format!(
                            "it may be any of the types {non_null:?}; a structural schema has one type per field"
                        ),
                    ));
                }
            }
        }

        if let Some(Value::Array(parts)) = node.remove("allOf") {
            for part in parts {
                let part = self.rewrite(part, path)?;
                if let Value::Object(part) = part {
                    merge_into(&mut node, part, path)?;
                }
            }
        }

        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = node.remove(key) {
                self.rewrite_branches(&mut node, key, branches, path)?;
            }
        }

        if let Some(Value::Object(props)) = node.remove("properties") {
            let mut rewritten = Map::new();
            for (name, prop) in props {
                let child = self.rewrite(prop, &format!("{path}.{name}"))?;
                rewritten.insert(name, child);
            }
            node.insert("properties".into(), Value::Object(rewritten));
        }

        match node.remove("items") {
            Some(Value::Array(_)) => {
                return Err(not_structural(&node, path, "tuples have no structural schema: use a struct"));
            }
            Some(items) => {
                let items = self.rewrite(items, &format!("{path}[]"))?;
                if node.remove("uniqueItems") == Some(Value::Bool(true)) && is_scalar(&items) {
                    node.entry("x-kubernetes-list-type").or_insert_with(|| "set".into());
                }
                node.insert("items".into(), items);
            }
            None => {}
        }
        node.remove("uniqueItems");

        match node.remove("additionalProperties") {
            Some(Value::Bool(false)) | None => {}
            Some(Value::Bool(true)) => {
                node.insert(
                    "additionalProperties".into(),
                    json!({"x-kubernetes-preserve-unknown-fields": true}),
                );
            }
            Some(schema) => {
                let schema = self.rewrite(schema, &format!("{path}.*"))?;
                node.insert("additionalProperties".into(), schema);
            }
        }

        if let Some(value) = node.remove("const") {
            node.insert("enum".into(), json!([value]));
        }
        if node.get("default") == Some(&Value::Null) {
            node.remove("default");
        }
        if let Some(format) = node.get("format").and_then(Value::as_str)
            && !FORMATS.contains(&format)
        {
            node.remove("format");
        }

        if !node.contains_key("type") && !preserves(&node) {
            if node.contains_key("properties") || node.contains_key("additionalProperties") {
                node.insert("type".into(), "object".into());
            } else if node.contains_key("items") {
                node.insert("type".into(), "array".into());
            } else if let Some(Value::Array(values)) = node.get("enum") {
                if let Some(t) = common_type(values) {
                    node.insert("type".into(), t.into());
                }
            } else {
                // Unconstrained (`serde_json::Value`, `{}`): any value.
                node.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
            }
        }
        if !node.contains_key("type") && !preserves(&node) {
            return Err(not_structural(&node, path, "it has no single type"));
        }
        if let Some(Value::Array(values)) = node.get_mut("enum") {
            values.retain(|v| !v.is_null());
        }

        for key in DROPPED {
            node.remove(*key);
        }
        Ok(Value::Object(node))
    }

    /// `oneOf`/`anyOf` made structural: null branches become `nullable`, string branches one
    /// `enum`, object branches one object whose branches keep only their `required` lists and
    /// the `enum`s of their tag properties.
    fn rewrite_branches(
        &mut self,
        node: &mut Map<String, Value>,
        key: &str,
        branches: Vec<Value>,
        path: &str,
    ) -> Result<(), SchemaError> {
        let mut rest = Vec::new();
        for branch in branches {
            if is_null_schema(&branch) {
                node.insert("nullable".into(), true.into());
            } else {
                rest.push(self.rewrite(branch, path)?);
            }
        }
        if let [single] = rest.as_slice() {
            if let Value::Object(single) = single.clone() {
                merge_into(node, single, path)?;
            }
            return Ok(());
        }
        if rest.is_empty() {
            return Ok(());
        }
        let types: Vec<Option<&str>> = rest.iter().map(|b| b.get("type").and_then(Value::as_str)).collect();
        if types.iter().all(|t| *t == Some("string")) && rest.iter().all(|b| b.get("enum").is_some()) {
            let mut values = Vec::new();
            for branch in &rest {
                if let Some(Value::Array(vs)) = branch.get("enum") {
                    values.extend(vs.iter().cloned());
                }
            }
            node.insert("type".into(), "string".into());
            node.insert("enum".into(), Value::Array(values));
            return Ok(());
        }
        if types.iter().all(|t| *t == Some("object")) {
            node.insert("type".into(), "object".into());
            let mut properties = match node.remove("properties") {
                Some(Value::Object(p)) => p,
                _ => Map::new(),
            };
            let mut kept = Vec::new();
            let mut any_unconstrained = false;
            for branch in rest {
                let Value::Object(mut branch) = branch else { continue };
                let mut tags = Map::new();
                if let Some(Value::Object(props)) = branch.remove("properties") {
                    for (name, prop) in props {
                        if let Some(values) = prop.get("enum") {
                            tags.insert(name.clone(), json!({"enum": values}));
                        }
                        merge_property(&mut properties, name, prop, path)?;
                    }
                }
                if branch.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
                    node.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
                }
                let mut constraint = Map::new();
                if let Some(Value::Array(required)) = branch.remove("required")
                    && !required.is_empty()
                {
                    constraint.insert("required".into(), Value::Array(required));
                }
                if !tags.is_empty() {
                    constraint.insert("properties".into(), Value::Object(tags));
                }
                if constraint.is_empty() {
                    any_unconstrained = true;
                }
                kept.push(Value::Object(constraint));
            }
            node.insert("properties".into(), Value::Object(properties));
            if !any_unconstrained {
                node.insert(key.into(), Value::Array(kept));
            }
            return Ok(());
        }
        let shown: Vec<&str> = types.iter().map(|t| t.unwrap_or("untyped")).collect();
        Err(not_structural(
            node,
            path,
            format!(
                "its variants have different JSON types ({}); a structural schema has one type per field: \
                 give every variant named fields and tag the enum (`#[serde(tag = \"type\")]`), or take the \
                 value as `serde_json::Value` with `#[schemars(with = \"serde_json::Value\")]`",
                shown.join(", ")
            ),
        ))
    }
}

fn preserves(node: &Map<String, Value>) -> bool {
    node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        || node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true))
}

fn is_scalar(schema: &Value) -> bool {
    matches!(schema.get("type").and_then(Value::as_str), Some("string" | "integer" | "number" | "boolean"))
}

fn common_type(values: &[Value]) -> Option<&'static str> {
    let type_of = |v: &Value| match v {
        Value::String(_) => Some("string"),
        Value::Bool(_) => Some("boolean"),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some("integer"),
        Value::Number(_) => Some("number"),
        _ => None,
    };
    let mut types = values.iter().filter(|v| !v.is_null()).map(type_of);
    let first = types.next()??;
    types.all(|t| t == Some(first)).then_some(first)
}

/// Merges an (already structural) `allOf` part or single branch into a node.
fn merge_into(
    node: &mut Map<String, Value>,
    part: Map<String, Value>,
    path: &str,
) -> Result<(), SchemaError> {
    for (key, value) in part {
        match (key.as_str(), node.get_mut(&key)) {
            ("properties", Some(Value::Object(existing))) => {
                if let Value::Object(props) = value {
                    for (name, prop) in props {
                        merge_property(existing, name, prop, path)?;
                    }
                }
            }
            ("required", Some(Value::Array(existing))) => {
                if let Value::Array(required) = value {
                    for r in required {
                        if !existing.contains(&r) {
                            existing.push(r);
                        }
                    }
                }
            }
            ("x-kubernetes-validations", Some(Value::Array(existing))) => {
                if let Value::Array(rules) = value {
                    existing.extend(rules);
                }
            }
            // The node's own description, default and nullable win over the part's.
            (_, Some(_)) => {}
            (_, None) => {
                node.insert(key, value);
            }
        }
    }
    Ok(())
}

/// Adds a property from one variant to the merged properties; the same name in two variants must
/// have the same schema, except for `enum`s (tags), which are united.
fn merge_property(
    properties: &mut Map<String, Value>,
    name: String,
    prop: Value,
    path: &str,
) -> Result<(), SchemaError> {
    let Some(existing) = properties.get_mut(&name) else {
        properties.insert(name, prop);
        return Ok(());
    };
    if *existing == prop {
        return Ok(());
    }
    let (Some(Value::Array(a)), Some(Value::Array(b))) = (existing.get("enum").cloned(), prop.get("enum"))
    else {
        return Err(SchemaError::NotStructural {
            what: "a schema".into(),
            path: display_path(&format!("{path}.{name}")),
            reason: format!(
                "the variants of an enum declare the field `{name}` with different schemas; rename one of them"
            ),
        });
    };
    let mut values = a;
    for v in b {
        if !values.contains(v) {
            values.push(v.clone());
        }
    }
    if let Some(e) = existing.as_object_mut() {
        e.insert("enum".into(), Value::Array(values));
        e.remove("description");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(dead_code)]

    use std::collections::{BTreeMap, BTreeSet};

    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    use super::*;

    fn structural_of<T: JsonSchema>() -> Value {
        structural(schema_for::<T>()).unwrap()
    }

    /// Every node has a type or an escape hatch; no `$ref`, no typed combinators.
    fn assert_structural(v: &Value, path: &str) {
        let Value::Object(m) = v else { panic!("{path}: not an object: {v}") };
        assert!(!m.contains_key("$ref"), "{path}: $ref left");
        assert!(!m.contains_key("allOf"), "{path}: allOf left");
        assert!(m.contains_key("type") || preserves(m), "{path}: no type in {v}");
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(bs)) = m.get(key) {
                for b in bs {
                    assert!(b.get("type").is_none(), "{path}: typed {key} branch {b}");
                }
            }
        }
        if let Some(Value::Object(props)) = m.get("properties") {
            for (k, p) in props {
                assert_structural(p, &format!("{path}.{k}"));
            }
        }
        if let Some(items) = m.get("items") {
            assert_structural(items, &format!("{path}[]"));
        }
        if let Some(ap @ Value::Object(_)) = m.get("additionalProperties") {
            assert_structural(ap, &format!("{path}.*"));
        }
    }

    #[derive(JsonSchema, Serialize, Deserialize, Default)]
    struct Inner {
        /// A name.
        name: String,
    }

    #[derive(JsonSchema, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    enum Mode {
        /// Fast.
        Fast,
        Slow,
    }

    #[derive(JsonSchema, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    enum External {
        Http { url: String },
        Exec { command: Vec<String> },
    }

    #[derive(JsonSchema, Serialize, Deserialize)]
    #[serde(tag = "kind")]
    enum Internal {
        A { a: i32 },
        B { b: String },
        C,
    }

    #[derive(JsonSchema, Serialize, Deserialize)]
    #[serde(untagged)]
    enum Untagged {
        Number { n: i64 },
        Text { t: String },
    }

    #[derive(JsonSchema, Serialize, Deserialize)]
    enum Mixed {
        Unit,
        Data(Inner),
    }

    #[derive(JsonSchema, Serialize, Deserialize)]
    struct Recursive {
        children: Vec<Recursive>,
    }

    #[derive(JsonSchema, Serialize, Deserialize, Default)]
    struct Extra {
        extra: Option<bool>,
    }

    #[derive(JsonSchema, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Spec {
        inner: Inner,
        maybe_inner: Option<Inner>,
        mode: Mode,
        maybe_mode: Option<Mode>,
        external: External,
        internal: Internal,
        untagged: Untagged,
        list: Vec<Inner>,
        set: BTreeSet<String>,
        map: BTreeMap<String, i32>,
        any: serde_json::Value,
        any_map: BTreeMap<String, serde_json::Value>,
        #[serde(default = "five")]
        defaulted: u32,
        #[serde(flatten)]
        extra: Extra,
        #[serde(rename = "renamed")]
        original: String,
    }

    fn five() -> u32 {
        5
    }

    #[test]
    fn rewrites_a_spec_into_a_structural_schema() {
        let s = structural_of::<Spec>();
        assert_structural(&s, "");
        let p = &s["properties"];
        assert_eq!(p["inner"]["properties"]["name"]["description"], "A name.");
        assert_eq!(p["maybeInner"]["nullable"], true);
        assert_eq!(p["maybeInner"]["type"], "object");
        assert_eq!(p["mode"]["type"], "string");
        let mut modes = p["mode"]["enum"].as_array().unwrap().clone();
        modes.sort_by_key(|m| m.to_string());
        assert_eq!(modes, [json!("fast"), json!("slow")]);
        assert_eq!(p["maybeMode"]["nullable"], true);
        assert_eq!(p["maybeMode"]["enum"].as_array().map(Vec::len), Some(2));
        assert_eq!(p["set"]["x-kubernetes-list-type"], "set");
        assert!(p["set"].get("uniqueItems").is_none());
        assert_eq!(p["map"]["additionalProperties"]["type"], "integer");
        assert_eq!(p["any"], json!({"x-kubernetes-preserve-unknown-fields": true}));
        assert_eq!(
            p["anyMap"]["additionalProperties"],
            json!({"x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(p["defaulted"]["default"], 5);
        assert!(p["defaulted"].get("format").is_none(), "uint32 is not an apiserver format");
        assert_eq!(p["extra"]["nullable"], true, "flattened fields are merged");
        assert_eq!(p["renamed"]["type"], "string");
        let required = s["required"].as_array().unwrap();
        assert!(required.contains(&json!("renamed")));
        assert!(!required.contains(&json!("defaulted")));
    }

    #[test]
    fn externally_tagged_enums_become_one_object_with_required_branches() {
        let s = structural_of::<Spec>();
        let ext = &s["properties"]["external"];
        assert_eq!(ext["type"], "object");
        assert_eq!(ext["properties"]["http"]["properties"]["url"]["type"], "string");
        assert_eq!(ext["properties"]["exec"]["properties"]["command"]["items"]["type"], "string");
        assert_eq!(ext["oneOf"], json!([{"required": ["http"]}, {"required": ["exec"]}]));
    }

    #[test]
    fn internally_tagged_enums_unite_their_tags() {
        let s = structural_of::<Spec>();
        let int = &s["properties"]["internal"];
        assert_eq!(int["properties"]["kind"]["enum"], json!(["A", "B", "C"]));
        assert_eq!(int["properties"]["a"]["type"], "integer");
        let branches = int["oneOf"].as_array().unwrap();
        assert_eq!(branches.len(), 3);
        assert_eq!(branches[2], json!({"required": ["kind"], "properties": {"kind": {"enum": ["C"]}}}));
    }

    #[test]
    fn untagged_enums_of_objects_are_merged() {
        let s = structural_of::<Spec>();
        let u = &s["properties"]["untagged"];
        assert_eq!(u["properties"]["n"]["type"], "integer");
        assert_eq!(u["anyOf"], json!([{"required": ["n"]}, {"required": ["t"]}]));
    }

    #[test]
    fn mixed_enums_are_refused_with_the_type_named() {
        let err = structural(schema_for::<Mixed>()).unwrap_err().to_string();
        assert!(err.starts_with("type `Mixed` at the root has no structural schema"), "{err}");
        assert!(err.contains("#[serde(tag"), "{err}");
    }

    #[test]
    fn recursion_is_refused() {
        let err = structural(schema_for::<Recursive>()).unwrap_err();
        assert!(matches!(err, SchemaError::Recursive { .. }), "{err}");
    }

    #[test]
    fn extensions_are_applied_to_the_root_and_to_fields() {
        let mut s = schema_for::<Spec>();
        let rule = Validation { rule: "self.defaulted < 10", message: Some("too big"), ..Default::default() };
        apply_extensions(&mut s, None, &[Extension::Validation(rule)]).unwrap();
        apply_extensions(&mut s, Some("untagged"), &[Extension::IntOrString]).unwrap();
        apply_extensions(
            &mut s,
            Some("list"),
            &[Extension::ListType("map"), Extension::ListMapKeys(&["name"])],
        )
        .unwrap();
        let err = apply_extensions(&mut s, Some("nope"), &[Extension::PreserveUnknownFields]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no property `nope` in the schema to apply x-kubernetes-preserve-unknown-fields to"
        );
        let s = structural(s).unwrap();
        assert_structural(&s, "");
        assert_eq!(
            s["x-kubernetes-validations"],
            json!([{"rule": "self.defaulted < 10", "message": "too big"}])
        );
        assert_eq!(s["properties"]["untagged"], json!({"x-kubernetes-int-or-string": true}));
        assert_eq!(s["properties"]["list"]["x-kubernetes-list-map-keys"], json!(["name"]));
    }

    #[derive(JsonSchema, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct NativeTypes {
        quantity: k8s_openapi::apimachinery::pkg::api::resource::Quantity,
        port: k8s_openapi::apimachinery::pkg::util::intstr::IntOrString,
        time: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
        selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
        template: k8s_openapi::api::core::v1::PodTemplateSpec,
    }

    #[test]
    fn k8s_openapi_types_are_structural() {
        let s = structural_of::<NativeTypes>();
        assert_structural(&s, "");
        let p = &s["properties"];
        assert_eq!(p["quantity"]["x-kubernetes-int-or-string"], true);
        assert_eq!(p["port"]["x-kubernetes-int-or-string"], true);
        assert_eq!(p["time"]["format"], "date-time");
        assert_eq!(p["selector"]["properties"]["matchLabels"]["additionalProperties"]["type"], "string");
        assert_eq!(p["template"]["properties"]["spec"]["properties"]["containers"]["type"], "array");
    }
}

//! `#[derive(CustomResource)]`: a custom resource type and its CRD from a spec struct.
//!
//! ```
//! use kube::{CustomResource, CustomResourceExt};
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! /// What a `Foo` asks for.
//! #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
//! #[kube(group = "clux.dev", version = "v1", kind = "Foo", namespaced)]
//! pub struct FooSpec {
//!     /// Any text.
//!     pub info: String,
//! }
//!
//! // `Foo` is a resource like any other: `Api<Foo>`, watchers and controllers take it.
//! let foo = Foo::new("first", FooSpec { info: "hello".into() });
//! assert_eq!(foo.spec.info, "hello");
//! // Its CRD, with a structural schema the apiserver accepts, ready to create or print.
//! let crd = Foo::crd().expect("a valid CRD");
//! assert_eq!(crd.metadata.name.as_deref(), Some("foos.clux.dev"));
//! ```
//!
//! See [`CustomResource`] (re-exported by the `kube` facade behind its `derive` feature) for the
//! generated items, an example and every attribute. The macro only parses attributes and fills in
//! data; building the CRD and the structural schema is plain Rust in `kube_core::crd` and
//! `kube_core::schema`, unit-tested there.

use proc_macro::TokenStream;

mod attrs;
mod expand;
mod names;

/// Generates a custom resource type and its CustomResourceDefinition from a spec struct.
///
/// The derive goes on the spec struct (which also derives `Serialize`, `Deserialize`, `Clone`,
/// `Debug` and `schemars::JsonSchema`) and generates the root type named after the kind, with
/// `metadata`, `spec` and (with `status = "..."`) `status`; `new(name, spec)`; serialization that
/// always writes `apiVersion` and `kind`; the `Resource` implementation with a static
/// group/version/kind, plural and scope (so `Api::namespaced` compiles only for namespaced kinds);
/// `HasSpec`/`HasStatus`; and `CustomResourceExt`, whose `crd()` returns the
/// CustomResourceDefinition with a structural schema.
///
/// ```
/// use kube::{CustomResource, CustomResourceExt};
/// use schemars::JsonSchema;
/// use serde::{Deserialize, Serialize};
///
/// /// A web application.
/// #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
/// #[kube(group = "example.com", version = "v1", kind = "App", namespaced)]
/// #[kube(status = "AppStatus", shortname = "ap", category = "all")]
/// #[kube(printcolumn(name = "Replicas", type = "integer", json_path = ".spec.replicas"))]
/// #[kube(scale(spec_replicas_path = ".spec.replicas", status_replicas_path = ".status.replicas"))]
/// #[kube(validation(rule = "self.replicas <= 10", message = "at most 10 replicas"))]
/// pub struct AppSpec {
///     /// How many copies run.
///     pub replicas: i32,
///     /// The container image.
///     #[x_kube(validation = "self.startsWith('registry.example.com/')")]
///     pub image: String,
/// }
///
/// /// What the controller saw.
/// #[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
/// pub struct AppStatus {
///     pub replicas: i32,
/// }
///
/// let app = App::new("web", AppSpec { replicas: 2, image: "registry.example.com/web".into() });
/// assert_eq!(serde_json::to_value(&app).unwrap()["apiVersion"], "example.com/v1");
/// let crd = App::crd().unwrap();
/// assert_eq!(App::crd_name(), "apps.example.com");
/// assert_eq!(crd.spec.names.short_names, Some(vec!["ap".to_string()]));
/// ```
///
/// # `#[kube(...)]` on the spec struct
///
/// | attribute | meaning |
/// |---|---|
/// | `group = "..."`, `version = "..."`, `kind = "..."` | required |
/// | `namespaced` / `cluster` | the scope (cluster by default) |
/// | `root = "Name"` | the root type's name (the kind by default) |
/// | `plural = "..."`, `singular = "..."` | names (English plural of the lower-case kind by default) |
/// | `status = "Type"` | the status type; enables the status subresource |
/// | `shortname = "..."`, `category = "..."` | repeatable |
/// | `printcolumn(name, type, json_path, description, format, priority)` | a `kubectl get` column |
/// | `selectable = ".spec.field"` | a selectable field (field selectors) |
/// | `label = "k=v"`, `annotation = "k=v"` | on the CRD object |
/// | `deprecated` or `deprecated = "warning"` | a deprecated version, with its warning |
/// | `served = false`, `storage = false` | version flags (both true by default) |
/// | `scale(spec_replicas_path, status_replicas_path, label_selector_path)` | the scale subresource (needs `status`) |
/// | `derive = "PartialEq"` | extra derives on the root type |
/// | `crates(kube_core = "...", k8s_openapi = "...", serde = "...")` | paths of renamed crates (`::kube::core` by default) |
/// | `schema = "derived" \| "manual" \| "disabled"` | from the spec/status `JsonSchema` (default), from a hand-written `JsonSchema` of the root type, or none (any object) |
/// | `validation = "rule"` or `validation(rule, message, message_expression, field_path, reason)` | a CEL rule on the spec |
/// | `preserve_unknown_fields`, `int_or_string`, `embedded_resource`, `list_type = "..."`, `list_map_keys = ["..."]`, `map_type = "..."` | other structural extensions, on the spec |
///
/// Clippy's `duplicated_attributes` lint takes two `printcolumn`s with the same `type` for a
/// repeated attribute; allow it on the spec struct.
///
/// # `#[x_kube(...)]` on the spec's fields
///
/// The same extension keys as the last two rows, on one field (`validation` is repeatable).
/// Fields of nested structs take extensions with schemars:
/// `#[schemars(extend("x-kubernetes-validations" = [{"rule": "self > 0"}]))]`.
///
/// # Versions
///
/// Each version of a kind is its own spec struct with its own derive (in its own module, or with
/// `root = "..."`); `kube::core::crd::merge_crds` merges their `crd()`s into one definition,
/// checking that exactly one is the storage version (`storage = false` on the others).
///
/// # Schemas
///
/// `crd()` returns an error naming the type when a spec cannot have a structural schema: a
/// recursive type, or an enum whose variants have different JSON types (a unit variant beside a
/// data-carrying one, in an externally tagged enum). Unit enums become `enum` lists, tagged and
/// untagged enums of structs one object with `oneOf`/`anyOf` branches that only list what they
/// require, `Option` `nullable`, `serde_json::Value` `x-kubernetes-preserve-unknown-fields`, sets
/// `x-kubernetes-list-type: set`; `#[serde(default)]` values become schema defaults that the
/// server applies, doc comments descriptions. Specs that embed k8s-openapi types (`PodSpec`,
/// `Quantity`, `LabelSelector`...) need k8s-openapi's `schemars` feature enabled.
#[proc_macro_derive(CustomResource, attributes(kube, x_kube))]
pub fn derive_custom_resource(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::expand(input).unwrap_or_else(syn::Error::into_compile_error).into()
}

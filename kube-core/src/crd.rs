//! Custom resources: the traits `#[derive(CustomResource)]` implements ([`CustomResourceExt`],
//! [`HasSpec`], [`HasStatus`]), the plain description of a custom resource version it fills in
//! ([`CustomResourceInfo`]), building a `CustomResourceDefinition` from it ([`build_crd`]), and
//! merging the definitions of several versions of one kind into one ([`merge_crds`]).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion,
};
use serde_json::{Map, Value, json};

use crate::{ApiResource, Resource, Scope};

pub use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;

/// Why a CustomResourceDefinition could not be built or merged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrdError {
    /// The spec or status type has no structural schema.
    #[cfg(feature = "schema")]
    #[error("schema of custom resource {kind}: {source}")]
    Schema {
        /// The kind.
        kind: &'static str,
        /// Why.
        #[source]
        source: crate::schema::SchemaError,
    },
    /// The generated definition does not fit `CustomResourceDefinition` (a bug in the schema).
    #[error("CustomResourceDefinition {name} does not decode: {source}")]
    Decode {
        /// The CRD's name.
        name: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// Merging asked for no definitions.
    #[error("no CustomResourceDefinition to merge")]
    NothingToMerge,
    /// The definitions to merge disagree on something they must share.
    #[error(
        "cannot merge the versions of CustomResourceDefinition {name}: {field} differs ({first} and {other})"
    )]
    Mismatch {
        /// The first definition's name.
        name: String,
        /// What differs: `name`, `group`, `names` or `scope`.
        field: &'static str,
        /// The value in the first definition.
        first: String,
        /// The differing value.
        other: String,
    },
    /// Not exactly one version is the storage version.
    #[error(
        "CustomResourceDefinition {name} needs exactly one storage version, has {storage:?}: set `storage = false` on the others"
    )]
    StorageVersions {
        /// The CRD's name.
        name: String,
        /// The versions marked as storage.
        storage: Vec<String>,
    },
    /// The same version appears twice.
    #[error("CustomResourceDefinition {name} has version {version} twice")]
    DuplicateVersion {
        /// The CRD's name.
        name: String,
        /// The version.
        version: String,
    },
}

/// A custom resource with a `spec`.
pub trait HasSpec {
    /// The spec type.
    type Spec;
    /// The spec.
    fn spec(&self) -> &Self::Spec;
    /// The spec, mutably.
    fn spec_mut(&mut self) -> &mut Self::Spec;
}

/// A custom resource with a `status` (which may be unset).
pub trait HasStatus {
    /// The status type.
    type Status;
    /// The status, if set.
    fn status(&self) -> Option<&Self::Status>;
    /// The status, mutably.
    fn status_mut(&mut self) -> &mut Option<Self::Status>;
}

/// A statically typed custom resource and its definition; implemented by
/// `#[derive(CustomResource)]`.
pub trait CustomResourceExt: Resource<DynamicType = ()> + Sized {
    /// The static description of this version of the custom resource.
    const INFO: &'static CustomResourceInfo;

    /// The CustomResourceDefinition with this version only (see [`merge_crds`] for several).
    fn crd() -> Result<CustomResourceDefinition, CrdError>;

    /// The CRD's name, `<plural>.<group>`.
    fn crd_name() -> String {
        format!("{}.{}", Self::INFO.plural, Self::INFO.group)
    }

    /// The type information as an [`ApiResource`], for dynamic APIs.
    fn api_resource() -> ApiResource {
        ApiResource::erase::<Self>(&())
    }

    /// The short names (`kubectl get <short>`).
    fn short_names() -> &'static [&'static str] {
        Self::INFO.short_names
    }
}

/// A printer column (`additionalPrinterColumns`) shown by `kubectl get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterColumn {
    /// The column header.
    pub name: &'static str,
    /// `integer`, `number`, `string`, `boolean` or `date`.
    pub type_: &'static str,
    /// The JSON path of the value, such as `.spec.replicas`.
    pub json_path: &'static str,
    /// A description.
    pub description: Option<&'static str>,
    /// An OpenAPI format, such as `byte`.
    pub format: Option<&'static str>,
    /// 0 is shown by default, higher only with `-o wide`.
    pub priority: Option<i32>,
}

/// The scale subresource: where the replica counts and the label selector live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleSubresource {
    /// The desired replicas, such as `.spec.replicas`.
    pub spec_replicas_path: &'static str,
    /// The observed replicas, such as `.status.replicas`.
    pub status_replicas_path: &'static str,
    /// The label selector as a string, such as `.status.selector`.
    pub label_selector_path: Option<&'static str>,
}

/// Everything a CustomResourceDefinition says about one version of a kind, except the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomResourceInfo {
    /// The API group.
    pub group: &'static str,
    /// The version.
    pub version: &'static str,
    /// The kind.
    pub kind: &'static str,
    /// The plural name.
    pub plural: &'static str,
    /// The singular name.
    pub singular: &'static str,
    /// Namespaced or cluster scoped.
    pub scope: Scope,
    /// Short names.
    pub short_names: &'static [&'static str],
    /// Categories (`kubectl get <category>`).
    pub categories: &'static [&'static str],
    /// Printer columns.
    pub printer_columns: &'static [PrinterColumn],
    /// Selectable fields (JSON paths usable in field selectors).
    pub selectable_fields: &'static [&'static str],
    /// Labels on the CRD object.
    pub labels: &'static [(&'static str, &'static str)],
    /// Annotations on the CRD object.
    pub annotations: &'static [(&'static str, &'static str)],
    /// Whether the version is deprecated.
    pub deprecated: bool,
    /// The warning returned to clients of a deprecated version (the apiserver has a default).
    pub deprecation_warning: Option<&'static str>,
    /// Whether the version is served.
    pub served: bool,
    /// Whether this is the storage version.
    pub storage: bool,
    /// Whether the status subresource is enabled.
    pub status_subresource: bool,
    /// The scale subresource.
    pub scale: Option<ScaleSubresource>,
}

/// The CustomResourceDefinition of one version, with its `openAPIV3Schema`.
///
/// ```
/// use kube_core::{Scope, crd::{CustomResourceInfo, build_crd}};
/// let info = CustomResourceInfo {
///     group: "example.com", version: "v1", kind: "Widget", plural: "widgets", singular: "widget",
///     scope: Scope::Namespaced, short_names: &["wd"], categories: &[], printer_columns: &[],
///     selectable_fields: &[], labels: &[], annotations: &[], deprecated: false,
///     deprecation_warning: None, served: true, storage: true, status_subresource: false, scale: None,
/// };
/// let schema = serde_json::json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
/// let crd = build_crd(&info, schema).unwrap();
/// assert_eq!(crd.metadata.name.as_deref(), Some("widgets.example.com"));
/// assert_eq!(crd.spec.names.list_kind.as_deref(), Some("WidgetList"));
/// ```
pub fn build_crd(info: &CustomResourceInfo, schema: Value) -> Result<CustomResourceDefinition, CrdError> {
    let name = format!("{}.{}", info.plural, info.group);
    let pairs = |pairs: &[(&str, &str)]| -> Value {
        Value::Object(pairs.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect())
    };
    let mut metadata = Map::new();
    metadata.insert("name".into(), name.clone().into());
    if !info.labels.is_empty() {
        metadata.insert("labels".into(), pairs(info.labels));
    }
    if !info.annotations.is_empty() {
        metadata.insert("annotations".into(), pairs(info.annotations));
    }

    let mut names = Map::new();
    names.insert("kind".into(), info.kind.into());
    names.insert("listKind".into(), format!("{}List", info.kind).into());
    names.insert("plural".into(), info.plural.into());
    names.insert("singular".into(), info.singular.into());
    if !info.short_names.is_empty() {
        names.insert("shortNames".into(), json!(info.short_names));
    }
    if !info.categories.is_empty() {
        names.insert("categories".into(), json!(info.categories));
    }

    let mut version = Map::new();
    version.insert("name".into(), info.version.into());
    version.insert("served".into(), info.served.into());
    version.insert("storage".into(), info.storage.into());
    if info.deprecated {
        version.insert("deprecated".into(), true.into());
        if let Some(warning) = info.deprecation_warning {
            version.insert("deprecationWarning".into(), warning.into());
        }
    }
    version.insert("schema".into(), json!({"openAPIV3Schema": schema}));
    if !info.printer_columns.is_empty() {
        let columns: Vec<Value> = info.printer_columns.iter().map(printer_column).collect();
        version.insert("additionalPrinterColumns".into(), columns.into());
    }
    if !info.selectable_fields.is_empty() {
        let fields: Vec<Value> = info.selectable_fields.iter().map(|f| json!({"jsonPath": f})).collect();
        version.insert("selectableFields".into(), fields.into());
    }
    let mut subresources = Map::new();
    if info.status_subresource {
        subresources.insert("status".into(), json!({}));
    }
    if let Some(scale) = &info.scale {
        let mut s = Map::new();
        s.insert("specReplicasPath".into(), scale.spec_replicas_path.into());
        s.insert("statusReplicasPath".into(), scale.status_replicas_path.into());
        if let Some(selector) = scale.label_selector_path {
            s.insert("labelSelectorPath".into(), selector.into());
        }
        subresources.insert("scale".into(), Value::Object(s));
    }
    if !subresources.is_empty() {
        version.insert("subresources".into(), Value::Object(subresources));
    }

    let scope = match info.scope {
        Scope::Namespaced => "Namespaced",
        Scope::Cluster => "Cluster",
    };
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata,
        "spec": {"group": info.group, "names": names, "scope": scope, "versions": [version]},
    });
    serde_json::from_value(crd).map_err(|source| CrdError::Decode { name, source })
}

/// The `openAPIV3Schema` of a custom resource from the schemas of its spec and status as
/// [`schema_for`](crate::schema::schema_for) generates them: the extensions are applied to the spec
/// (`None`: to the spec itself, `Some(field)`: to its field of that JSON name), both are made
/// structural, and put under `spec` and `status`.
#[cfg(feature = "schema")]
pub fn custom_resource_schema(
    kind: &'static str,
    mut spec: Value,
    extensions: &[(Option<&str>, &[crate::schema::Extension])],
    status: Option<Value>,
) -> Result<Value, CrdError> {
    use crate::schema;
    let error = |source| CrdError::Schema { kind, source };
    for (property, extensions) in extensions {
        schema::apply_extensions(&mut spec, *property, extensions).map_err(error)?;
    }
    let spec = schema::structural(spec).map_err(error)?;
    let status = status.map(schema::structural).transpose().map_err(error)?;
    Ok(schema::custom_resource_schema(spec, status, None))
}

/// The schema of a custom resource without one (`#[kube(schema = "disabled")]`): any object.
pub fn unvalidated_schema() -> Value {
    json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

fn printer_column(c: &PrinterColumn) -> Value {
    let mut v = Map::new();
    v.insert("name".into(), c.name.into());
    v.insert("type".into(), c.type_.into());
    v.insert("jsonPath".into(), c.json_path.into());
    if let Some(d) = c.description {
        v.insert("description".into(), d.into());
    }
    if let Some(f) = c.format {
        v.insert("format".into(), f.into());
    }
    if let Some(p) = c.priority {
        v.insert("priority".into(), p.into());
    }
    Value::Object(v)
}

/// Merges the definitions of several versions of one kind (each from its own
/// `#[derive(CustomResource)]`) into one CRD serving them all.
///
/// They must share the name, group, names and scope, have distinct versions, and exactly one of
/// them must be the storage version. Labels and annotations are united; the first definition's
/// win on conflicts. Versions keep the order given.
pub fn merge_crds(crds: Vec<CustomResourceDefinition>) -> Result<CustomResourceDefinition, CrdError> {
    let mut crds = crds.into_iter();
    let Some(mut merged) = crds.next() else {
        return Err(CrdError::NothingToMerge);
    };
    let name = merged.metadata.name.clone().unwrap_or_default();
    for crd in crds {
        let mismatch = |field, first: String, other: String| CrdError::Mismatch {
            name: name.clone(),
            field,
            first,
            other,
        };
        let other_name = crd.metadata.name.clone().unwrap_or_default();
        if other_name != name {
            return Err(mismatch("name", name.clone(), other_name));
        }
        if crd.spec.group != merged.spec.group {
            return Err(mismatch("group", merged.spec.group.clone(), crd.spec.group.clone()));
        }
        if crd.spec.names != merged.spec.names {
            return Err(mismatch(
                "names",
                format!("{:?}", merged.spec.names),
                format!("{:?}", crd.spec.names),
            ));
        }
        if crd.spec.scope != merged.spec.scope {
            return Err(mismatch("scope", merged.spec.scope.clone(), crd.spec.scope.clone()));
        }
        for (field, theirs) in [("labels", crd.metadata.labels), ("annotations", crd.metadata.annotations)] {
            let ours = if field == "labels" {
                &mut merged.metadata.labels
            } else {
                &mut merged.metadata.annotations
            };
            if let Some(theirs) = theirs {
                let ours = ours.get_or_insert_with(Default::default);
                for (k, v) in theirs {
                    ours.entry(k).or_insert(v);
                }
            }
        }
        for version in crd.spec.versions {
            if merged.spec.versions.iter().any(|v| v.name == version.name) {
                return Err(CrdError::DuplicateVersion { name: name.clone(), version: version.name });
            }
            merged.spec.versions.push(version);
        }
    }
    let storage: Vec<String> = merged
        .spec
        .versions
        .iter()
        .filter(|v| v.storage)
        .map(|v: &CustomResourceDefinitionVersion| v.name.clone())
        .collect();
    if storage.len() != 1 {
        return Err(CrdError::StorageVersions { name, storage });
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(version: &'static str, storage: bool) -> CustomResourceInfo {
        CustomResourceInfo {
            group: "example.com",
            version,
            kind: "Widget",
            plural: "widgets",
            singular: "widget",
            scope: Scope::Namespaced,
            short_names: &["wd"],
            categories: &["all"],
            printer_columns: &[PrinterColumn {
                name: "Size",
                type_: "integer",
                json_path: ".spec.size",
                description: None,
                format: None,
                priority: Some(1),
            }],
            selectable_fields: &[".spec.color"],
            labels: &[("team", "a")],
            annotations: &[],
            deprecated: !storage,
            deprecation_warning: (!storage).then_some("use v2"),
            served: true,
            storage,
            status_subresource: true,
            scale: Some(ScaleSubresource {
                spec_replicas_path: ".spec.replicas",
                status_replicas_path: ".status.replicas",
                label_selector_path: None,
            }),
        }
    }

    fn schema() -> Value {
        json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
    }

    #[test]
    fn builds_every_field() {
        let crd = build_crd(&info("v1", false), schema()).unwrap();
        let v = serde_json::to_value(&crd).unwrap();
        assert_eq!(v["metadata"]["labels"]["team"], "a");
        assert_eq!(v["spec"]["names"]["shortNames"], json!(["wd"]));
        assert_eq!(v["spec"]["names"]["categories"], json!(["all"]));
        let version = &v["spec"]["versions"][0];
        assert_eq!(version["deprecated"], true);
        assert_eq!(version["deprecationWarning"], "use v2");
        assert_eq!(
            version["additionalPrinterColumns"],
            json!([{"name": "Size", "type": "integer", "jsonPath": ".spec.size", "priority": 1}])
        );
        assert_eq!(version["selectableFields"], json!([{"jsonPath": ".spec.color"}]));
        assert_eq!(version["subresources"]["status"], json!({}));
        assert_eq!(version["subresources"]["scale"]["specReplicasPath"], ".spec.replicas");
        assert_eq!(version["schema"]["openAPIV3Schema"]["x-kubernetes-preserve-unknown-fields"], true);
    }

    #[test]
    fn merges_versions_with_one_storage_version() {
        let v1 = build_crd(&info("v1", false), schema()).unwrap();
        let v2 = build_crd(&info("v2", true), schema()).unwrap();
        let merged = merge_crds(vec![v2.clone(), v1.clone()]).unwrap();
        let versions: Vec<_> = merged.spec.versions.iter().map(|v| (v.name.as_str(), v.storage)).collect();
        assert_eq!(versions, [("v2", true), ("v1", false)]);

        let err = merge_crds(vec![v1.clone(), v1.clone()]).unwrap_err().to_string();
        assert_eq!(err, "CustomResourceDefinition widgets.example.com has version v1 twice");
        let v3 = build_crd(&info("v3", true), schema()).unwrap();
        let err = merge_crds(vec![v2.clone(), v3]).unwrap_err().to_string();
        assert!(err.contains("exactly one storage version, has [\"v2\", \"v3\"]"), "{err}");
        let mut cluster = info("v1", false);
        cluster.scope = Scope::Cluster;
        let err = merge_crds(vec![v2, build_crd(&cluster, schema()).unwrap()]).unwrap_err().to_string();
        assert!(err.contains("scope differs (Namespaced and Cluster)"), "{err}");
        assert!(matches!(merge_crds(vec![]), Err(CrdError::NothingToMerge)));
    }
}

//! Parsing of the `#[kube(...)]` attributes on the spec struct and `#[x_kube(...)]` on its fields,
//! with errors that point at the attribute and say what to write.

use proc_macro2::Span;
use syn::{
    Attribute, Error, Ident, LitBool, LitInt, LitStr, Path, Result, meta::ParseNestedMeta,
    punctuated::Punctuated, token::Comma,
};

/// Where the schema comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SchemaMode {
    /// From the spec's (and status') `JsonSchema`, made structural.
    Derived,
    /// From the user's own `JsonSchema` impl for the root type, made structural.
    Manual,
    /// No schema: any object is accepted.
    Disabled,
}

/// One CEL rule.
pub struct Validation {
    pub rule: LitStr,
    pub message: Option<LitStr>,
    pub message_expression: Option<LitStr>,
    pub field_path: Option<LitStr>,
    pub reason: Option<LitStr>,
}

/// A structural schema extension on the spec or a field.
pub enum Extension {
    Validation(Validation),
    PreserveUnknownFields,
    IntOrString,
    EmbeddedResource,
    ListType(LitStr),
    ListMapKeys(Vec<LitStr>),
    MapType(LitStr),
}

pub struct PrinterColumn {
    pub name: LitStr,
    pub type_: LitStr,
    pub json_path: LitStr,
    pub description: Option<LitStr>,
    pub format: Option<LitStr>,
    pub priority: Option<LitInt>,
}

pub struct Scale {
    pub spec_replicas_path: LitStr,
    pub status_replicas_path: LitStr,
    pub label_selector_path: Option<LitStr>,
}

/// The crates the expansion refers to.
pub struct Crates {
    pub kube_core: Path,
    pub k8s_openapi: Path,
    pub serde: Path,
}

/// Everything `#[kube(...)]` says.
pub struct KubeAttrs {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub root: Option<Ident>,
    pub plural: Option<String>,
    pub singular: Option<String>,
    pub namespaced: bool,
    pub status: Option<Path>,
    pub short_names: Vec<LitStr>,
    pub categories: Vec<LitStr>,
    pub printer_columns: Vec<PrinterColumn>,
    pub selectable_fields: Vec<LitStr>,
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub deprecated: bool,
    pub deprecation_warning: Option<LitStr>,
    pub served: bool,
    pub storage: bool,
    pub scale: Option<Scale>,
    pub derives: Vec<Path>,
    pub crates: Crates,
    pub schema: SchemaMode,
    pub extensions: Vec<Extension>,
}

#[derive(Default)]
struct Builder {
    group: Option<LitStr>,
    version: Option<LitStr>,
    kind: Option<LitStr>,
    root: Option<Ident>,
    plural: Option<LitStr>,
    singular: Option<LitStr>,
    namespaced: Option<Span>,
    cluster: Option<Span>,
    status: Option<Path>,
    short_names: Vec<LitStr>,
    categories: Vec<LitStr>,
    printer_columns: Vec<PrinterColumn>,
    selectable_fields: Vec<LitStr>,
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    deprecated: bool,
    deprecation_warning: Option<LitStr>,
    served: Option<bool>,
    storage: Option<bool>,
    scale: Option<(Scale, Span)>,
    derives: Vec<Path>,
    kube_core: Option<Path>,
    k8s_openapi: Option<Path>,
    serde: Option<Path>,
    schema: Option<SchemaMode>,
    extensions: Vec<Extension>,
}

const KUBE_KEYS: &str = "group, version, kind, root, plural, singular, namespaced, cluster, status, \
     shortname, category, printcolumn, selectable, label, annotation, deprecated, served, storage, \
     scale, derive, crates, schema";

const FIELD_KEYS: &str = "validation, preserve_unknown_fields, int_or_string, embedded_resource, list_type, list_map_keys, map_type";

/// A known key that `key` is a prefix of, or that is a prefix of `key` (`namespace`/`namespaced`).
fn suggestion(key: &str, known: &'static str) -> Option<&'static str> {
    known.split(", ").find(|k| key.len() >= 3 && (k.starts_with(key) || key.starts_with(k)))
}

fn string(meta: &ParseNestedMeta, what: &str) -> Result<LitStr> {
    let value = meta.value()?;
    value.parse::<LitStr>().map_err(|e| {
        Error::new(e.span(), format!("expected a string literal for `{what}`, such as `{what} = \"...\"`"))
    })
}

fn nonempty(lit: LitStr, what: &str) -> Result<LitStr> {
    if lit.value().is_empty() {
        return Err(Error::new(lit.span(), format!("`{what}` must not be empty")));
    }
    Ok(lit)
}

fn key_value(lit: &LitStr, what: &str) -> Result<(String, String)> {
    let value = lit.value();
    match value.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(Error::new(lit.span(), format!("expected `{what} = \"key=value\"`"))),
    }
}

fn key_name(meta: &ParseNestedMeta) -> String {
    meta.path.get_ident().map(ToString::to_string).unwrap_or_else(|| "this".to_string())
}

/// Parses `validation = "rule"` or `validation(rule = "...", message = "...", ...)`.
fn validation(meta: &ParseNestedMeta) -> Result<Validation> {
    if meta.input.peek(syn::Token![=]) {
        let value = meta.value()?;
        let rule = value.parse::<LitStr>().map_err(|e| {
            Error::new(
                e.span(),
                "a CEL rule must be a string literal, such as `validation = \"self.replicas >= 0\"`",
            )
        })?;
        return Ok(Validation {
            rule,
            message: None,
            message_expression: None,
            field_path: None,
            reason: None,
        });
    }
    let mut rule = None;
    let mut v = Validation {
        rule: LitStr::new("", meta.path.get_ident().map_or_else(Span::call_site, Ident::span)),
        message: None,
        message_expression: None,
        field_path: None,
        reason: None,
    };
    meta.parse_nested_meta(|inner| {
        let key = key_name(&inner);
        match key.as_str() {
            "rule" => {
                let value = inner.value()?;
                rule = Some(value.parse::<LitStr>().map_err(|e| {
                    Error::new(e.span(), "a CEL rule must be a string literal, such as `rule = \"self.replicas >= 0\"`")
                })?);
            }
            "message" => v.message = Some(string(&inner, "message")?),
            "message_expression" => v.message_expression = Some(string(&inner, "message_expression")?),
            "field_path" => v.field_path = Some(string(&inner, "field_path")?),
            "reason" => {
                let reason = string(&inner, "reason")?;
                const REASONS: [&str; 4] =
                    ["FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate"];
                if !REASONS.contains(&reason.value().as_str()) {
                    return Err(Error::new(reason.span(), format!("`reason` must be one of {}", REASONS.join(", "))));
                }
                v.reason = Some(reason);
            }
            _ => {
                return Err(inner.error(format!(
                    "unknown validation key `{key}`; expected rule, message, message_expression, field_path, reason"
                )));
            }
        }
        Ok(())
    })?;
    v.rule =
        rule.ok_or_else(|| meta.error("missing `rule`: write `validation(rule = \"self.x > 0\", ...)`"))?;
    Ok(v)
}

/// Parses the extension keys shared by `#[kube]` (spec level) and `#[x_kube]` (field level);
/// `Ok(None)` when `key` is not one of them.
fn extension(meta: &ParseNestedMeta, key: &str) -> Result<Option<Extension>> {
    Ok(Some(match key {
        "validation" => Extension::Validation(validation(meta)?),
        "preserve_unknown_fields" => Extension::PreserveUnknownFields,
        "int_or_string" => Extension::IntOrString,
        "embedded_resource" => Extension::EmbeddedResource,
        "list_type" => {
            let t = string(meta, key)?;
            if !["atomic", "set", "map"].contains(&t.value().as_str()) {
                return Err(Error::new(t.span(), "`list_type` must be \"atomic\", \"set\" or \"map\""));
            }
            Extension::ListType(t)
        }
        "map_type" => {
            let t = string(meta, key)?;
            if !["atomic", "granular"].contains(&t.value().as_str()) {
                return Err(Error::new(t.span(), "`map_type` must be \"atomic\" or \"granular\""));
            }
            Extension::MapType(t)
        }
        "list_map_keys" => {
            let value = meta.value()?;
            let content;
            syn::bracketed!(content in value);
            let keys = Punctuated::<LitStr, Comma>::parse_terminated(&content)?;
            Extension::ListMapKeys(keys.into_iter().collect())
        }
        _ => return Ok(None),
    }))
}

fn printer_column(meta: &ParseNestedMeta) -> Result<PrinterColumn> {
    let (mut name, mut type_, mut json_path, mut description, mut format, mut priority) =
        (None, None, None, None, None, None);
    meta.parse_nested_meta(|inner| {
        let key = key_name(&inner);
        match key.as_str() {
            "name" => name = Some(nonempty(string(&inner, "name")?, "name")?),
            "type" => {
                let t = string(&inner, "type")?;
                const TYPES: [&str; 5] = ["integer", "number", "string", "boolean", "date"];
                if !TYPES.contains(&t.value().as_str()) {
                    return Err(Error::new(t.span(), format!("printer column `type` must be one of {}", TYPES.join(", "))));
                }
                type_ = Some(t);
            }
            "json_path" => {
                let p = string(&inner, "json_path")?;
                if !p.value().starts_with('.') {
                    return Err(Error::new(p.span(), "printer column `json_path` must start with `.`, such as \".spec.replicas\""));
                }
                json_path = Some(p);
            }
            "description" => description = Some(string(&inner, "description")?),
            "format" => format = Some(string(&inner, "format")?),
            "priority" => {
                let value = inner.value()?;
                priority = Some(value.parse::<LitInt>()?);
            }
            _ => {
                return Err(inner.error(format!(
                    "unknown printer column key `{key}`; expected name, type, json_path, description, format, priority"
                )));
            }
        }
        Ok(())
    })?;
    let missing = |what: &str| {
        meta.error(format!(
            "printer column without `{what}`: write `printcolumn(name = \"Replicas\", type = \"integer\", json_path = \".spec.replicas\")`"
        ))
    };
    Ok(PrinterColumn {
        name: name.ok_or_else(|| missing("name"))?,
        type_: type_.ok_or_else(|| missing("type"))?,
        json_path: json_path.ok_or_else(|| missing("json_path"))?,
        description,
        format,
        priority,
    })
}

fn scale(meta: &ParseNestedMeta) -> Result<Scale> {
    let (mut spec, mut status, mut selector) = (None, None, None);
    meta.parse_nested_meta(|inner| {
        let key = key_name(&inner);
        let (slot, prefix) = match key.as_str() {
            "spec_replicas_path" => (&mut spec, ".spec."),
            "status_replicas_path" => (&mut status, ".status."),
            "label_selector_path" => (&mut selector, ".status."),
            _ => {
                return Err(inner.error(format!(
                    "unknown scale key `{key}`; expected spec_replicas_path, status_replicas_path, label_selector_path"
                )));
            }
        };
        let path = string(&inner, &key)?;
        let value = path.value();
        let allowed = value.starts_with(prefix) || (key == "label_selector_path" && value.starts_with(".spec."));
        if !allowed {
            return Err(Error::new(path.span(), format!("`{key}` must start with `{prefix}`")));
        }
        *slot = Some(path);
        Ok(())
    })?;
    let missing = |what: &str| {
        meta.error(format!(
            "scale without `{what}`: write `scale(spec_replicas_path = \".spec.replicas\", status_replicas_path = \".status.replicas\")`"
        ))
    };
    Ok(Scale {
        spec_replicas_path: spec.ok_or_else(|| missing("spec_replicas_path"))?,
        status_replicas_path: status.ok_or_else(|| missing("status_replicas_path"))?,
        label_selector_path: selector,
    })
}

fn crates(meta: &ParseNestedMeta, b: &mut Builder) -> Result<()> {
    meta.parse_nested_meta(|inner| {
        let key = key_name(&inner);
        let slot = match key.as_str() {
            "kube_core" => &mut b.kube_core,
            "k8s_openapi" => &mut b.k8s_openapi,
            "serde" => &mut b.serde,
            _ => {
                return Err(
                    inner.error(format!("unknown crate `{key}`; expected kube_core, k8s_openapi, serde"))
                );
            }
        };
        *slot = Some(string(&inner, &key)?.parse::<Path>()?);
        Ok(())
    })
}

fn bool_value(meta: &ParseNestedMeta) -> Result<bool> {
    if meta.input.peek(syn::Token![=]) { Ok(meta.value()?.parse::<LitBool>()?.value) } else { Ok(true) }
}

impl KubeAttrs {
    /// Parses every `#[kube(...)]` attribute of the spec struct.
    pub fn parse(attrs: &[Attribute], ident: &Ident) -> Result<Self> {
        let mut b = Builder::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("kube")) {
            attr.parse_nested_meta(|meta| {
                let key = key_name(&meta);
                match key.as_str() {
                    "group" => b.group = Some(nonempty(string(&meta, "group")?, "group")?),
                    "version" => b.version = Some(nonempty(string(&meta, "version")?, "version")?),
                    "kind" => b.kind = Some(nonempty(string(&meta, "kind")?, "kind")?),
                    "root" => b.root = Some(string(&meta, "root")?.parse::<Ident>()?),
                    "plural" => b.plural = Some(nonempty(string(&meta, "plural")?, "plural")?),
                    "singular" => b.singular = Some(nonempty(string(&meta, "singular")?, "singular")?),
                    "namespaced" => {
                        b.namespaced = Some(meta.path.get_ident().map_or_else(Span::call_site, Ident::span))
                    }
                    "cluster" => {
                        b.cluster = Some(meta.path.get_ident().map_or_else(Span::call_site, Ident::span))
                    }
                    "status" => b.status = Some(string(&meta, "status")?.parse::<Path>()?),
                    "shortname" => b.short_names.push(nonempty(string(&meta, "shortname")?, "shortname")?),
                    "category" => b.categories.push(nonempty(string(&meta, "category")?, "category")?),
                    "printcolumn" => b.printer_columns.push(printer_column(&meta)?),
                    "selectable" => {
                        let path = string(&meta, "selectable")?;
                        if !path.value().starts_with('.') {
                            return Err(Error::new(
                                path.span(),
                                "`selectable` must be a JSON path such as \".spec.color\"",
                            ));
                        }
                        b.selectable_fields.push(path);
                    }
                    "label" => b.labels.push(key_value(&string(&meta, "label")?, "label")?),
                    "annotation" => {
                        b.annotations.push(key_value(&string(&meta, "annotation")?, "annotation")?)
                    }
                    "deprecated" => {
                        b.deprecated = true;
                        if meta.input.peek(syn::Token![=]) {
                            b.deprecation_warning = Some(string(&meta, "deprecated")?);
                        }
                    }
                    "served" => b.served = Some(bool_value(&meta)?),
                    "storage" => b.storage = Some(bool_value(&meta)?),
                    "scale" => {
                        let span = meta.path.get_ident().map_or_else(Span::call_site, Ident::span);
                        b.scale = Some((scale(&meta)?, span));
                    }
                    "derive" => b.derives.push(string(&meta, "derive")?.parse::<Path>()?),
                    "crates" => crates(&meta, &mut b)?,
                    "schema" => {
                        let mode = string(&meta, "schema")?;
                        b.schema = Some(match mode.value().as_str() {
                            "derived" => SchemaMode::Derived,
                            "manual" => SchemaMode::Manual,
                            "disabled" => SchemaMode::Disabled,
                            _ => {
                                return Err(Error::new(
                                    mode.span(),
                                    "`schema` must be \"derived\", \"manual\" or \"disabled\"",
                                ));
                            }
                        });
                    }
                    _ => match extension(&meta, &key)? {
                        Some(ext) => b.extensions.push(ext),
                        None => {
                            let hint = suggestion(&key, KUBE_KEYS).or_else(|| suggestion(&key, FIELD_KEYS));
                            return Err(meta.error(format!(
                                "unknown attribute `{key}`{}; #[kube] accepts {KUBE_KEYS}, {FIELD_KEYS}",
                                hint.map(|h| format!(" (did you mean `{h}`?)")).unwrap_or_default()
                            )));
                        }
                    },
                }
                Ok(())
            })?;
        }
        let missing = |what: &str, example: &str| {
            Error::new(
                ident.span(),
                format!("missing `{what}`: add `#[kube({what} = \"{example}\")]` to `{ident}`"),
            )
        };
        let group = b.group.ok_or_else(|| missing("group", "example.com"))?.value();
        let version = b.version.ok_or_else(|| missing("version", "v1"))?.value();
        let kind = b.kind.ok_or_else(|| missing("kind", "Widget"))?.value();
        if let (Some(_), Some(span)) = (b.namespaced, b.cluster) {
            return Err(Error::new(span, "`namespaced` and `cluster` exclude each other"));
        }
        if let Some((_, span)) = &b.scale
            && b.status.is_none()
        {
            return Err(Error::new(
                *span,
                "the scale subresource reads replicas from the status: add `status = \"YourStatus\"`",
            ));
        }
        Ok(KubeAttrs {
            group,
            version,
            kind,
            root: b.root,
            plural: b.plural.map(|p| p.value()),
            singular: b.singular.map(|s| s.value()),
            namespaced: b.namespaced.is_some(),
            status: b.status,
            short_names: b.short_names,
            categories: b.categories,
            printer_columns: b.printer_columns,
            selectable_fields: b.selectable_fields,
            labels: b.labels,
            annotations: b.annotations,
            deprecated: b.deprecated,
            deprecation_warning: b.deprecation_warning,
            served: b.served.unwrap_or(true),
            storage: b.storage.unwrap_or(true),
            scale: b.scale.map(|(s, _)| s),
            derives: b.derives,
            crates: {
                let kube_core: Path = b.kube_core.unwrap_or_else(|| syn::parse_quote!(::kube::core));
                Crates {
                    k8s_openapi: b
                        .k8s_openapi
                        .unwrap_or_else(|| syn::parse_quote!(#kube_core::__private::k8s_openapi)),
                    serde: b.serde.unwrap_or_else(|| syn::parse_quote!(#kube_core::__private::serde)),
                    kube_core,
                }
            },
            schema: b.schema.unwrap_or(SchemaMode::Derived),
            extensions: b.extensions,
        })
    }
}

/// The `#[x_kube(...)]` extensions of one field.
pub fn field_extensions(attrs: &[Attribute]) -> Result<Vec<Extension>> {
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("x_kube")) {
        attr.parse_nested_meta(|meta| {
            let key = key_name(&meta);
            match extension(&meta, &key)? {
                Some(ext) => out.push(ext),
                None => {
                    let hint = suggestion(&key, FIELD_KEYS).map(|h| format!(" (did you mean `{h}`?)"));
                    return Err(meta.error(format!(
                        "unknown attribute `{key}`{}; #[x_kube] accepts {FIELD_KEYS}",
                        hint.unwrap_or_default()
                    )));
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

//! Names: the JSON name serde gives a field (`rename`, `rename_all`), and the default plural and
//! singular of a kind.

use syn::{Attribute, LitStr};

/// A field's `#[serde(rename = "...")]`, `#[serde(flatten)]`, or a struct's
/// `#[serde(rename_all = "...")]`, as far as the JSON name is concerned.
#[derive(Default)]
pub struct SerdeNames {
    pub rename: Option<String>,
    pub rename_all: Option<String>,
    pub flatten: bool,
}

/// Reads the serde attributes that decide JSON names; others are skipped.
pub fn serde_names(attrs: &[Attribute]) -> SerdeNames {
    let mut names = SerdeNames::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // Malformed serde attributes are serde's to report.
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") && meta.input.peek(syn::Token![=]) {
                names.rename = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("rename_all") && meta.input.peek(syn::Token![=]) {
                names.rename_all = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("flatten") {
                names.flatten = true;
            } else if meta.input.peek(syn::Token![=]) {
                let _: proc_macro2::TokenStream = meta.value()?.parse()?;
            } else if meta.input.peek(syn::token::Paren) {
                let _ = meta.parse_nested_meta(|inner| {
                    if inner.input.peek(syn::Token![=]) {
                        let _: proc_macro2::TokenStream = inner.value()?.parse()?;
                    }
                    Ok(())
                });
            }
            Ok(())
        });
    }
    names
}

/// The JSON name of a snake_case Rust field under a serde `rename_all` rule.
pub fn rename_field(field: &str, rule: Option<&str>) -> String {
    let words: Vec<&str> = field.split('_').filter(|w| !w.is_empty()).collect();
    let capitalize = |w: &str| {
        let mut c = w.chars();
        c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
    };
    match rule {
        Some("lowercase") => field.to_lowercase(),
        Some("UPPERCASE") => field.to_uppercase(),
        Some("PascalCase") => words.iter().map(|w| capitalize(w)).collect(),
        Some("camelCase") => {
            let pascal: String = words.iter().map(|w| capitalize(w)).collect();
            let mut c = pascal.chars();
            c.next().map(|f| f.to_lowercase().collect::<String>() + c.as_str()).unwrap_or_default()
        }
        Some("SCREAMING_SNAKE_CASE") => field.to_uppercase(),
        Some("kebab-case") => field.replace('_', "-"),
        Some("SCREAMING-KEBAB-CASE") => field.replace('_', "-").to_uppercase(),
        _ => field.to_string(),
    }
}

/// The default plural of a kind: lower case, with English plural endings.
pub fn plural(kind: &str) -> String {
    let s = kind.to_lowercase();
    if s.ends_with('s') || s.ends_with('x') || s.ends_with('z') || s.ends_with("ch") || s.ends_with("sh") {
        format!("{s}es")
    } else if let Some(stem) = s.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_like_serde() {
        assert_eq!(rename_field("max_replicas", Some("camelCase")), "maxReplicas");
        assert_eq!(rename_field("max_replicas", Some("PascalCase")), "MaxReplicas");
        assert_eq!(rename_field("max_replicas", Some("kebab-case")), "max-replicas");
        assert_eq!(rename_field("max_replicas", Some("SCREAMING_SNAKE_CASE")), "MAX_REPLICAS");
        assert_eq!(rename_field("max_replicas", None), "max_replicas");
    }

    #[test]
    fn pluralizes_kinds() {
        assert_eq!(plural("Widget"), "widgets");
        assert_eq!(plural("Policy"), "policies");
        assert_eq!(plural("Gateway"), "gateways");
        assert_eq!(plural("Ingress"), "ingresses");
        assert_eq!(plural("Box"), "boxes");
    }
}

//! Conversions between [`LabelSelector`] and the `meta/v1` `LabelSelector` of k8s-openapi.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;

use super::ParseError;
use super::label::{LabelSelector, Operator, Requirement};
use super::validate::{check_key, check_value};

/// Reads `matchLabels` (as `key=value` requirements, in key order) then `matchExpressions` (in
/// order), validating keys and values as the apiserver does.
///
/// An empty `meta/v1` selector gives the empty selector, which matches everything. (Whether an
/// absent selector matches everything or nothing depends on the API field that holds it.)
///
/// ```
/// use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
/// use kube_core::selector::LabelSelector;
///
/// let meta = meta::LabelSelector {
///     match_labels: Some([("app".to_owned(), "web".to_owned())].into()),
///     match_expressions: Some(vec![meta::LabelSelectorRequirement {
///         key: "tier".to_owned(),
///         operator: "NotIn".to_owned(),
///         values: Some(vec!["db".to_owned()]),
///     }]),
/// };
/// let selector = LabelSelector::try_from(&meta).unwrap();
/// assert_eq!(selector.to_string(), "app=web,tier notin (db)");
/// ```
impl TryFrom<&meta::LabelSelector> for LabelSelector {
    type Error = ParseError;

    fn try_from(selector: &meta::LabelSelector) -> Result<Self, Self::Error> {
        let mut out = LabelSelector::new();
        for (key, value) in selector.match_labels.iter().flatten() {
            check_key(key)?;
            check_value(key, value)?;
            out.push(Requirement::new(key.clone(), Operator::Equal(value.clone())));
        }
        for expression in selector.match_expressions.iter().flatten() {
            out.push(requirement_from_meta(expression)?);
        }
        Ok(out)
    }
}

/// See the impl for `&meta::LabelSelector`.
impl TryFrom<meta::LabelSelector> for LabelSelector {
    type Error = ParseError;

    fn try_from(selector: meta::LabelSelector) -> Result<Self, Self::Error> {
        Self::try_from(&selector)
    }
}

fn requirement_from_meta(expression: &meta::LabelSelectorRequirement) -> Result<Requirement, ParseError> {
    let key = &expression.key;
    check_key(key)?;
    let values = expression.values.as_deref().unwrap_or_default();
    let count_error = |expected| ParseError::ValueCount {
        key: key.clone(),
        operator: expression.operator.clone(),
        expected,
        found: values.len(),
    };
    let operator = match expression.operator.as_str() {
        "In" | "NotIn" => {
            if values.is_empty() {
                return Err(count_error("at least one value"));
            }
            for value in values {
                check_value(key, value)?;
            }
            let set = values.iter().cloned().collect();
            if expression.operator == "In" { Operator::In(set) } else { Operator::NotIn(set) }
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                return Err(count_error("no values"));
            }
            if expression.operator == "Exists" { Operator::Exists } else { Operator::DoesNotExist }
        }
        other => {
            return Err(ParseError::UnknownOperator { key: key.clone(), operator: other.to_owned() });
        }
    };
    Ok(Requirement::new(key.clone(), operator))
}

/// Writes `=` requirements to `matchLabels` (the first one per key; more go to
/// `matchExpressions` as `In` with one value), `!=` as `NotIn` with one value, and the set and
/// existence operators as themselves. `>` and `<` have no `meta/v1` form: they are an error.
/// Empty fields are left out, so the empty selector gives `{}`, which matches everything.
///
/// ```
/// use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
/// use kube_core::selector::LabelSelector;
///
/// let selector = LabelSelector::new().eq("app", "web").not_exists("legacy");
/// let meta = meta::LabelSelector::try_from(&selector).unwrap();
/// assert_eq!(meta.match_labels.unwrap()["app"], "web");
/// assert_eq!(meta.match_expressions.unwrap()[0].operator, "DoesNotExist");
///
/// assert!(meta::LabelSelector::try_from(&LabelSelector::new().gt("replicas", 1)).is_err());
/// ```
impl TryFrom<&LabelSelector> for meta::LabelSelector {
    type Error = ParseError;

    fn try_from(selector: &LabelSelector) -> Result<Self, Self::Error> {
        let mut labels = BTreeMap::new();
        let mut expressions = Vec::new();
        for requirement in selector {
            let key = requirement.key();
            let expression = |operator: &str, values: Option<Vec<String>>| meta::LabelSelectorRequirement {
                key: key.to_owned(),
                operator: operator.to_owned(),
                values,
            };
            match requirement.operator() {
                Operator::Equal(value) => {
                    if labels.contains_key(key) {
                        expressions.push(expression("In", Some(vec![value.clone()])));
                    } else {
                        labels.insert(key.to_owned(), value.clone());
                    }
                }
                Operator::NotEqual(value) => expressions.push(expression("NotIn", Some(vec![value.clone()]))),
                Operator::In(values) => {
                    expressions.push(expression("In", Some(values.iter().cloned().collect())))
                }
                Operator::NotIn(values) => {
                    expressions.push(expression("NotIn", Some(values.iter().cloned().collect())));
                }
                Operator::Exists => expressions.push(expression("Exists", None)),
                Operator::DoesNotExist => expressions.push(expression("DoesNotExist", None)),
                operator @ (Operator::GreaterThan(_) | Operator::LessThan(_)) => {
                    return Err(ParseError::Unrepresentable {
                        key: key.to_owned(),
                        operator: operator.symbol(),
                    });
                }
            }
        }
        Ok(meta::LabelSelector {
            match_labels: (!labels.is_empty()).then_some(labels),
            match_expressions: (!expressions.is_empty()).then_some(expressions),
        })
    }
}

/// See the impl for `&LabelSelector`.
impl TryFrom<LabelSelector> for meta::LabelSelector {
    type Error = ParseError;

    fn try_from(selector: LabelSelector) -> Result<Self, Self::Error> {
        Self::try_from(&selector)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn expr(key: &str, operator: &str, values: Option<&[&str]>) -> meta::LabelSelectorRequirement {
        meta::LabelSelectorRequirement {
            key: key.to_owned(),
            operator: operator.to_owned(),
            values: values.map(|v| v.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn meta_selector(
        labels: &[(&str, &str)],
        expressions: Option<Vec<meta::LabelSelectorRequirement>>,
    ) -> meta::LabelSelector {
        meta::LabelSelector {
            match_labels: (!labels.is_empty())
                .then(|| labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
            match_expressions: expressions,
        }
    }

    #[test]
    fn from_meta() {
        let cases = [
            (meta::LabelSelector::default(), ""),
            (meta_selector(&[], Some(vec![])), ""),
            (meta_selector(&[("b", "2"), ("a", "1")], None), "a=1,b=2"),
            (meta_selector(&[("a", "")], None), "a="),
            (
                meta_selector(
                    &[("app", "web")],
                    Some(vec![
                        expr("env", "In", Some(&["prod", "dev", "prod"])),
                        expr("tier", "NotIn", Some(&["db"])),
                        expr("team", "Exists", None),
                        expr("legacy", "DoesNotExist", Some(&[])),
                    ]),
                ),
                "app=web,env in (dev,prod),tier notin (db),team,!legacy",
            ),
        ];
        for (meta, want) in cases {
            let selector = LabelSelector::try_from(&meta).unwrap();
            assert_eq!(selector.to_string(), want);
            assert_eq!(LabelSelector::try_from(meta).unwrap(), selector);
        }
    }

    #[test]
    fn from_meta_errors() {
        let cases = [
            (
                meta_selector(&[], Some(vec![expr("a", "Gt", Some(&["1"]))])),
                r#"unknown operator "Gt" on label key "a", expected one of In, NotIn, Exists, DoesNotExist"#,
            ),
            (
                meta_selector(&[], Some(vec![expr("a", "in", Some(&["1"]))])),
                r#"unknown operator "in" on label key "a", expected one of In, NotIn, Exists, DoesNotExist"#,
            ),
            (
                meta_selector(&[], Some(vec![expr("a", "In", None)])),
                r#"operator In on label key "a" needs at least one value, got 0"#,
            ),
            (
                meta_selector(&[], Some(vec![expr("a", "NotIn", Some(&[]))])),
                r#"operator NotIn on label key "a" needs at least one value, got 0"#,
            ),
            (
                meta_selector(&[], Some(vec![expr("a", "Exists", Some(&["x", "y"]))])),
                r#"operator Exists on label key "a" needs no values, got 2"#,
            ),
            (
                meta_selector(&[], Some(vec![expr("a b", "Exists", None)])),
                r#"invalid label key "a b": character ' ' at index 1"#,
            ),
            (
                meta_selector(&[], Some(vec![expr("a", "In", Some(&["ok", "not ok"]))])),
                r#"invalid value "not ok" for label key "a": character ' ' at index 3"#,
            ),
            (meta_selector(&[("a/b/c", "x")], None), r#"invalid label key "a/b/c""#),
            (meta_selector(&[("a", "x/y")], None), r#"invalid value "x/y" for label key "a""#),
        ];
        for (meta, want) in cases {
            let err = LabelSelector::try_from(&meta).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
        }
    }

    #[test]
    fn to_meta() {
        let selector = LabelSelector::new()
            .eq("app", "web")
            .eq("app", "api")
            .ne("tier", "db")
            .in_values("env", ["prod", "dev"])
            .not_in("zone", ["b", "a"])
            .exists("team")
            .not_exists("legacy");
        let meta = meta::LabelSelector::try_from(&selector).unwrap();
        assert_eq!(
            meta,
            meta_selector(
                &[("app", "web")],
                Some(vec![
                    expr("app", "In", Some(&["api"])),
                    expr("tier", "NotIn", Some(&["db"])),
                    expr("env", "In", Some(&["dev", "prod"])),
                    expr("zone", "NotIn", Some(&["a", "b"])),
                    expr("team", "Exists", None),
                    expr("legacy", "DoesNotExist", None),
                ])
            )
        );
        // Both forms select the same objects.
        let back = LabelSelector::try_from(&meta).unwrap();
        assert_eq!(
            back.to_string(),
            "app=web,app in (api),tier notin (db),env in (dev,prod),zone notin (a,b),team,!legacy"
        );

        assert_eq!(
            meta::LabelSelector::try_from(LabelSelector::new()).unwrap(),
            meta::LabelSelector::default()
        );
        let only_labels = meta::LabelSelector::try_from(LabelSelector::new().eq("a", "1")).unwrap();
        assert_eq!(only_labels, meta_selector(&[("a", "1")], None));
    }

    #[test]
    fn to_meta_errors() {
        let err = meta::LabelSelector::try_from(&LabelSelector::new().eq("a", "b").gt("n", 1)).unwrap_err();
        assert_eq!(err, ParseError::Unrepresentable { key: "n".to_owned(), operator: ">" });
        assert_eq!(
            err.to_string(),
            "operator '>' on label key \"n\" cannot be expressed in a meta/v1 LabelSelector, \
             which only supports In, NotIn, Exists and DoesNotExist"
        );
        let err = meta::LabelSelector::try_from(LabelSelector::new().lt("n", 1)).unwrap_err();
        assert_eq!(err, ParseError::Unrepresentable { key: "n".to_owned(), operator: "<" });
    }

    #[test]
    fn meta_round_trip_preserves_matching() {
        let selector: LabelSelector = "app=web,tier!=db,env in (a,b),!legacy,team".parse().unwrap();
        let back = LabelSelector::try_from(meta::LabelSelector::try_from(&selector).unwrap()).unwrap();
        let label_sets: [&[(&str, &str)]; 5] = [
            &[("app", "web"), ("env", "a"), ("team", "x")],
            &[("app", "web"), ("env", "a"), ("team", "x"), ("tier", "db")],
            &[("app", "web"), ("env", "c"), ("team", "x")],
            &[("app", "web"), ("env", "b"), ("team", "x"), ("legacy", "1")],
            &[],
        ];
        for labels in label_sets {
            let labels: BTreeMap<String, String> =
                labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            assert_eq!(selector.matches(&labels), back.matches(&labels), "{labels:?}");
        }
    }
}

//! Label selectors: requirements, the builder, printing and matching.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::ParseError;
use super::parse::{RESERVED_WORDS, parse_label_selector};
use super::validate::{check_key, check_value};

/// What a [`Requirement`] asks of the value of its label.
///
/// Set-based operators keep their values in a [`BTreeSet`], so they are deduplicated and print
/// sorted, the way the apiserver prints them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `key=value` (also written `key==value`): the label is present with this value.
    Equal(String),
    /// `key!=value`: the label is absent, or present with another value.
    NotEqual(String),
    /// `key in (a,b)`: the label is present with one of these values.
    In(BTreeSet<String>),
    /// `key notin (a,b)`: the label is absent, or present with none of these values.
    NotIn(BTreeSet<String>),
    /// `key`: the label is present, with any value.
    Exists,
    /// `!key`: the label is absent.
    DoesNotExist,
    /// `key>n`: the label is present and its value is an integer greater than `n`.
    GreaterThan(i64),
    /// `key<n`: the label is present and its value is an integer less than `n`.
    LessThan(i64),
}

impl Operator {
    /// The operator as written in a selector string, for error messages.
    pub(crate) fn symbol(&self) -> &'static str {
        match self {
            Self::Equal(_) => "=",
            Self::NotEqual(_) => "!=",
            Self::In(_) => "in",
            Self::NotIn(_) => "notin",
            Self::Exists => "exists",
            Self::DoesNotExist => "!",
            Self::GreaterThan(_) => ">",
            Self::LessThan(_) => "<",
        }
    }
}

/// One condition on one label: a key and an [`Operator`].
///
/// ```
/// use std::collections::BTreeMap;
/// use kube_core::selector::{Operator, Requirement};
///
/// let req = Requirement::new("tier", Operator::NotEqual("db".into()));
/// assert_eq!(req.to_string(), "tier!=db");
/// assert!(req.matches(&BTreeMap::new()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
}

impl Requirement {
    /// A requirement on `key`. Nothing is validated here: see [`Requirement::validate`].
    pub fn new(key: impl Into<String>, operator: Operator) -> Self {
        Self { key: key.into(), operator }
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator and its values.
    pub fn operator(&self) -> &Operator {
        &self.operator
    }

    /// The key and the operator, by value.
    pub fn into_parts(self) -> (String, Operator) {
        (self.key, self.operator)
    }

    /// Whether a label value satisfies the requirement; `None` means the label is absent.
    ///
    /// As in Kubernetes, `!=` and `notin` match absent labels, and `>`/`<` never match a value
    /// that is not an integer.
    ///
    /// ```
    /// use kube_core::selector::{Operator, Requirement};
    ///
    /// let req = Requirement::new("replicas", Operator::GreaterThan(2));
    /// assert!(req.matches_value(Some("3")));
    /// assert!(!req.matches_value(Some("two")));
    /// assert!(!req.matches_value(None));
    /// ```
    pub fn matches_value(&self, value: Option<&str>) -> bool {
        match (&self.operator, value) {
            (Operator::Equal(want), Some(have)) => want == have,
            (Operator::In(set), Some(have)) => set.contains(have),
            (Operator::NotEqual(want), Some(have)) => want != have,
            (Operator::NotIn(set), Some(have)) => !set.contains(have),
            (Operator::NotEqual(_) | Operator::NotIn(_), None) => true,
            (Operator::Exists, found) => found.is_some(),
            (Operator::DoesNotExist, found) => found.is_none(),
            (Operator::GreaterThan(bound), Some(have)) => have.parse::<i64>().is_ok_and(|n| n > *bound),
            (Operator::LessThan(bound), Some(have)) => have.parse::<i64>().is_ok_and(|n| n < *bound),
            (
                Operator::Equal(_) | Operator::In(_) | Operator::GreaterThan(_) | Operator::LessThan(_),
                None,
            ) => false,
        }
    }

    /// Whether a set of labels satisfies the requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_value(labels.get(&self.key).map(String::as_str))
    }

    /// Checks that the apiserver would accept this requirement: a valid key that is not `in` or
    /// `notin`, valid values, at least one value for `in`/`notin`, a non-negative bound for
    /// `>`/`<`.
    ///
    /// ```
    /// use kube_core::selector::{Operator, ParseError, Requirement};
    ///
    /// assert!(Requirement::new("app", Operator::Equal("web".into())).validate().is_ok());
    /// let err = Requirement::new("app", Operator::Equal("a b".into())).validate().unwrap_err();
    /// assert!(matches!(err, ParseError::InvalidValue { .. }));
    /// ```
    pub fn validate(&self) -> Result<(), ParseError> {
        check_key(&self.key)?;
        if RESERVED_WORDS.contains(&self.key.as_str()) {
            return Err(ParseError::InvalidKey {
                key: self.key.clone(),
                reason: "'in' and 'notin' are reserved words in selector strings".to_owned(),
            });
        }
        match &self.operator {
            Operator::Equal(value) | Operator::NotEqual(value) => check_value(&self.key, value),
            Operator::In(values) | Operator::NotIn(values) => {
                if values.is_empty() {
                    return Err(ParseError::ValueCount {
                        key: self.key.clone(),
                        operator: self.operator.symbol().to_owned(),
                        expected: "at least one value",
                        found: 0,
                    });
                }
                values.iter().try_for_each(|value| check_value(&self.key, value))
            }
            Operator::Exists | Operator::DoesNotExist => Ok(()),
            Operator::GreaterThan(bound) | Operator::LessThan(bound) => {
                if *bound < 0 {
                    return Err(ParseError::InvalidValue {
                        key: self.key.clone(),
                        value: bound.to_string(),
                        reason: format!("operator '{}' needs a non-negative integer", self.operator.symbol()),
                    });
                }
                Ok(())
            }
        }
    }
}

/// Prints the requirement the way the apiserver parses it: `k=v`, `k!=v`, `k in (a,b)`,
/// `k notin (a,b)`, `k`, `!k`, `k>1`, `k<1`.
impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &self.key;
        match &self.operator {
            Operator::Equal(value) => write!(f, "{key}={value}"),
            Operator::NotEqual(value) => write!(f, "{key}!={value}"),
            Operator::In(values) => write!(f, "{key} in ({})", Joined(values)),
            Operator::NotIn(values) => write!(f, "{key} notin ({})", Joined(values)),
            Operator::Exists => write!(f, "{key}"),
            Operator::DoesNotExist => write!(f, "!{key}"),
            Operator::GreaterThan(bound) => write!(f, "{key}>{bound}"),
            Operator::LessThan(bound) => write!(f, "{key}<{bound}"),
        }
    }
}

/// Writes set values separated by commas.
struct Joined<'a>(&'a BTreeSet<String>);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `()` would read back as an empty set, which is rejected; `(,)` is the set of the empty value.
        if self.0.len() == 1 && self.0.contains("") {
            return f.write_str(",");
        }
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{item}")?;
        }
        Ok(())
    }
}

/// A label selector: a conjunction of [`Requirement`]s. The empty selector matches everything.
///
/// Build one with the chainable methods, or parse the string form. The builder does not
/// validate keys and values (call [`LabelSelector::validate`] for that); the parser does.
/// Requirements keep the order they were added or written in.
///
/// ```
/// use std::collections::BTreeMap;
/// use kube_core::selector::LabelSelector;
///
/// let selector = LabelSelector::new()
///     .eq("app", "web")
///     .not_in("tier", ["db", "cache"])
///     .exists("team")
///     .not_exists("legacy");
/// assert_eq!(selector.to_string(), "app=web,tier notin (cache,db),team,!legacy");
/// assert_eq!(selector, "app == web, tier notin (db, cache), team, !legacy".parse().unwrap());
///
/// let labels = BTreeMap::from([("app".to_owned(), "web".to_owned()), ("team".to_owned(), "a".to_owned())]);
/// assert!(selector.matches(&labels));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// The empty selector, which matches everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the string form; the same as [`str::parse`].
    ///
    /// The grammar is the apiserver's: comma-separated requirements `k=v`, `k==v`, `k!=v`,
    /// `k in (v1,v2)`, `k notin (v1,v2)`, `k`, `!k`, `k>n`, `k<n`, with optional whitespace
    /// around tokens. An empty (or all-whitespace) string is the empty selector. Values may be
    /// empty (`k=`, `k in (a,)`), but a set may not be (`k in ()` is rejected).
    ///
    /// ```
    /// use kube_core::selector::LabelSelector;
    ///
    /// let selector = LabelSelector::parse("env in (prod, staging), !canary").unwrap();
    /// assert_eq!(selector.to_string(), "env in (prod,staging),!canary");
    /// assert!(LabelSelector::parse("").unwrap().is_empty());
    /// assert!(LabelSelector::parse("a=b=c").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        parse_label_selector(input)
    }

    /// Adds `key=value`.
    #[must_use]
    pub fn eq(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.with(Requirement::new(key, Operator::Equal(value.into())))
    }

    /// Adds `key!=value`, which also matches objects without the label.
    #[must_use]
    pub fn ne(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.with(Requirement::new(key, Operator::NotEqual(value.into())))
    }

    /// Adds `key in (values)`.
    ///
    /// ```
    /// use kube_core::selector::LabelSelector;
    ///
    /// let selector = LabelSelector::new().in_values("env", ["prod", "staging"]);
    /// assert_eq!(selector.to_string(), "env in (prod,staging)");
    /// ```
    #[must_use]
    pub fn in_values(
        self,
        key: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.with(Requirement::new(key, Operator::In(values.into_iter().map(Into::into).collect())))
    }

    /// Adds `key notin (values)`, which also matches objects without the label.
    #[must_use]
    pub fn not_in(self, key: impl Into<String>, values: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.with(Requirement::new(key, Operator::NotIn(values.into_iter().map(Into::into).collect())))
    }

    /// Adds `key`: the label must be present.
    #[must_use]
    pub fn exists(self, key: impl Into<String>) -> Self {
        self.with(Requirement::new(key, Operator::Exists))
    }

    /// Adds `!key`: the label must be absent.
    #[must_use]
    pub fn not_exists(self, key: impl Into<String>) -> Self {
        self.with(Requirement::new(key, Operator::DoesNotExist))
    }

    /// Adds `key>bound`: the label must hold an integer greater than `bound`.
    ///
    /// The apiserver only accepts non-negative bounds. `meta/v1` `LabelSelector` cannot express
    /// this operator.
    #[must_use]
    pub fn gt(self, key: impl Into<String>, bound: i64) -> Self {
        self.with(Requirement::new(key, Operator::GreaterThan(bound)))
    }

    /// Adds `key<bound`: the label must hold an integer less than `bound`.
    ///
    /// The apiserver only accepts non-negative bounds. `meta/v1` `LabelSelector` cannot express
    /// this operator.
    #[must_use]
    pub fn lt(self, key: impl Into<String>, bound: i64) -> Self {
        self.with(Requirement::new(key, Operator::LessThan(bound)))
    }

    /// Adds a requirement.
    #[must_use]
    pub fn with(mut self, requirement: Requirement) -> Self {
        self.push(requirement);
        self
    }

    /// Adds a requirement in place.
    pub fn push(&mut self, requirement: Requirement) {
        self.requirements.push(requirement);
    }

    /// The requirements, in order.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Iterates over the requirements.
    pub fn iter(&self) -> std::slice::Iter<'_, Requirement> {
        self.requirements.iter()
    }

    /// How many requirements there are.
    pub fn len(&self) -> usize {
        self.requirements.len()
    }

    /// Whether there is no requirement, i.e. the selector matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether a set of labels (e.g. `ObjectMeta::labels`) satisfies every requirement.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use kube_core::selector::LabelSelector;
    ///
    /// let selector = LabelSelector::new().ne("tier", "db");
    /// assert!(selector.matches(&BTreeMap::new()));
    /// let db = BTreeMap::from([("tier".to_owned(), "db".to_owned())]);
    /// assert!(!selector.matches(&db));
    /// ```
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|requirement| requirement.matches(labels))
    }

    /// Whether every requirement is satisfied by the labels `lookup` returns (`None`: absent).
    ///
    /// ```
    /// use kube_core::selector::LabelSelector;
    ///
    /// let selector = LabelSelector::new().eq("app", "web");
    /// assert!(selector.matches_with(|key| (key == "app").then_some("web")));
    /// ```
    pub fn matches_with<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|requirement| requirement.matches_value(lookup(&requirement.key)))
    }

    /// Checks that the apiserver would accept the string form; see [`Requirement::validate`].
    /// Parsed selectors always pass.
    ///
    /// ```
    /// use kube_core::selector::LabelSelector;
    ///
    /// assert!(LabelSelector::new().eq("app", "web").validate().is_ok());
    /// assert!(LabelSelector::new().eq("bad key", "web").validate().is_err());
    /// assert!(LabelSelector::new().in_values("app", Vec::<String>::new()).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), ParseError> {
        self.requirements.iter().try_for_each(Requirement::validate)
    }
}

super::impl_selector_traits!(LabelSelector, Requirement, parse_label_selector);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn builder_prints_canonical_form() {
        let cases = [
            (LabelSelector::new(), ""),
            (LabelSelector::new().eq("a", "b"), "a=b"),
            (LabelSelector::new().eq("a", ""), "a="),
            (LabelSelector::new().ne("a", "b"), "a!=b"),
            (LabelSelector::new().in_values("a", ["c", "b", "c"]), "a in (b,c)"),
            (LabelSelector::new().not_in("a", ["b"]), "a notin (b)"),
            (LabelSelector::new().in_values("a", ["", "b"]), "a in (,b)"),
            (LabelSelector::new().in_values("a", [""]), "a in (,)"),
            (LabelSelector::new().exists("a"), "a"),
            (LabelSelector::new().not_exists("a"), "!a"),
            (LabelSelector::new().gt("a", 1), "a>1"),
            (LabelSelector::new().lt("a", 10), "a<10"),
            (
                LabelSelector::new()
                    .eq("app", "web")
                    .not_in("tier", ["db", "cache"])
                    .exists("team")
                    .not_exists("legacy"),
                "app=web,tier notin (cache,db),team,!legacy",
            ),
            (LabelSelector::new().eq("b", "1").eq("a", "2"), "b=1,a=2"),
        ];
        for (selector, want) in cases {
            assert_eq!(selector.to_string(), want);
            assert_eq!(selector.validate(), Ok(()), "{want}");
        }
    }

    #[test]
    fn collection_helpers() {
        let a = Requirement::new("a", Operator::Exists);
        let b = Requirement::new("b", Operator::DoesNotExist);
        let mut selector: LabelSelector = [a.clone()].into_iter().collect();
        assert_eq!(selector, LabelSelector::from(a.clone()));
        selector.extend([b.clone()]);
        assert_eq!(selector.len(), 2);
        assert_eq!(selector.requirements(), [a.clone(), b.clone()]);
        assert_eq!((&selector).into_iter().map(Requirement::key).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(selector.iter().count(), 2);
        assert_eq!(selector.into_iter().collect::<Vec<_>>(), [a.clone(), b]);
        assert_eq!(a.into_parts(), ("a".to_owned(), Operator::Exists));
    }

    #[test]
    fn requirement_truth_table() {
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        // (operator, label value, expected)
        let cases = [
            (Operator::Equal("b".into()), Some("b"), true),
            (Operator::Equal("b".into()), Some("c"), false),
            (Operator::Equal("b".into()), None, false),
            (Operator::Equal("".into()), Some(""), true),
            (Operator::Equal("".into()), None, false),
            (Operator::NotEqual("b".into()), Some("b"), false),
            (Operator::NotEqual("b".into()), Some("c"), true),
            (Operator::NotEqual("b".into()), None, true),
            (Operator::In(set(&["b", "c"])), Some("c"), true),
            (Operator::In(set(&["b", "c"])), Some("d"), false),
            (Operator::In(set(&["b", "c"])), None, false),
            (Operator::In(set(&[""])), Some(""), true),
            (Operator::NotIn(set(&["b", "c"])), Some("c"), false),
            (Operator::NotIn(set(&["b", "c"])), Some("d"), true),
            (Operator::NotIn(set(&["b", "c"])), None, true),
            (Operator::Exists, Some(""), true),
            (Operator::Exists, None, false),
            (Operator::DoesNotExist, Some("x"), false),
            (Operator::DoesNotExist, None, true),
            (Operator::GreaterThan(1), Some("2"), true),
            (Operator::GreaterThan(1), Some("1"), false),
            (Operator::GreaterThan(1), Some("-5"), false),
            (Operator::GreaterThan(-10), Some("-5"), true),
            (Operator::GreaterThan(1), Some("x"), false),
            (Operator::GreaterThan(1), Some(""), false),
            (Operator::GreaterThan(1), None, false),
            (Operator::LessThan(10), Some("9"), true),
            (Operator::LessThan(10), Some("10"), false),
            (Operator::LessThan(10), Some("1.5"), false),
            (Operator::LessThan(10), Some("99999999999999999999"), false),
            (Operator::LessThan(10), None, false),
        ];
        for (operator, value, want) in cases {
            let req = Requirement::new("k", operator);
            assert_eq!(req.matches_value(value), want, "{req} against {value:?}");
            let map = value.map(|v| labels(&[("k", v)])).unwrap_or_default();
            assert_eq!(req.matches(&map), want, "{req} against {map:?}");
        }
    }

    #[test]
    fn selector_matching() {
        let selector = LabelSelector::new().eq("app", "web").ne("tier", "db").not_exists("legacy");
        assert!(selector.matches(&labels(&[("app", "web")])));
        assert!(selector.matches(&labels(&[("app", "web"), ("tier", "fe"), ("other", "x")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("tier", "db")])));
        assert!(!selector.matches(&labels(&[("app", "web"), ("legacy", "")])));
        assert!(!selector.matches(&labels(&[])));
        assert!(LabelSelector::new().matches(&labels(&[])));
        assert!(LabelSelector::new().matches(&labels(&[("a", "b")])));

        let map = labels(&[("app", "web")]);
        assert!(selector.matches_with(|key| map.get(key).map(String::as_str)));
        assert!(!selector.matches_with(|_| None));
    }

    #[test]
    fn validate_rejects_what_the_apiserver_rejects() {
        let cases = [
            (LabelSelector::new().eq("a b", "c"), "invalid label key \"a b\": character ' ' at index 1"),
            (LabelSelector::new().eq("in", "c"), "invalid label key \"in\": 'in' and 'notin' are reserved"),
            (LabelSelector::new().ne("a", "c,d"), "invalid value \"c,d\" for label key \"a\": character ','"),
            (LabelSelector::new().in_values("a", ["ok", "-x"]), "invalid value \"-x\" for label key \"a\""),
            (
                LabelSelector::new().not_in("a", Vec::<String>::new()),
                "operator notin on label key \"a\" needs at least one value, got 0",
            ),
            (
                LabelSelector::new().gt("a", -1),
                "invalid value \"-1\" for label key \"a\": operator '>' needs a non-negative integer",
            ),
            (LabelSelector::new().exists(""), "invalid label key \"\": a label key must not be empty"),
        ];
        for (selector, want) in cases {
            let err = selector.validate().unwrap_err().to_string();
            assert!(err.starts_with(want), "{selector}: {err}");
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let selector = LabelSelector::new().eq("app", "web").in_values("env", ["b", "a"]);
        let json = serde_json::to_string(&selector).unwrap();
        assert_eq!(json, r#""app=web,env in (a,b)""#);
        assert_eq!(serde_json::from_str::<LabelSelector>(&json).unwrap(), selector);
        let err = serde_json::from_str::<LabelSelector>(r#""a in b""#).unwrap_err();
        assert!(err.to_string().contains("expected '(' after 'in'"), "{err}");
        assert!(serde_json::from_str::<LabelSelector>("3").is_err());
    }
}

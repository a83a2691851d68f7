//! Field selectors: `key=value` and `key!=value` requirements on object fields.

use std::collections::BTreeMap;
use std::fmt;

use super::ParseError;

/// How a [`FieldRequirement`] compares the field with its value. The apiserver supports no
/// other operators on fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOperator {
    /// `key=value` (also written `key==value`).
    Equal,
    /// `key!=value`.
    NotEqual,
}

/// One condition on one field, e.g. `status.phase!=Running`.
///
/// ```
/// use kube_core::selector::{FieldOperator, FieldRequirement};
///
/// let req = FieldRequirement::new("metadata.name", FieldOperator::Equal, "a,b");
/// assert_eq!(req.to_string(), r"metadata.name=a\,b");
/// assert!(req.matches_value(Some("a,b")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRequirement {
    key: String,
    operator: FieldOperator,
    value: String,
}

impl FieldRequirement {
    /// A requirement on the field `key`; `value` is the plain (unescaped) value. Nothing is
    /// validated here: see [`FieldRequirement::validate`].
    pub fn new(key: impl Into<String>, operator: FieldOperator, value: impl Into<String>) -> Self {
        Self { key: key.into(), operator, value: value.into() }
    }

    /// The field key, e.g. `metadata.name`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> FieldOperator {
        self.operator
    }

    /// The value, unescaped.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether a field value satisfies the requirement; `None` means the field is absent.
    ///
    /// As in Kubernetes, an absent field compares like an empty value: `key=` and `key!=x`
    /// match it, `key=x` and `key!=` do not.
    pub fn matches_value(&self, value: Option<&str>) -> bool {
        let value = value.unwrap_or_default();
        match self.operator {
            FieldOperator::Equal => value == self.value,
            FieldOperator::NotEqual => value != self.value,
        }
    }

    /// Checks that the key is not empty and has no whitespace and none of `!=,()<>\`.
    pub fn validate(&self) -> Result<(), ParseError> {
        check_field_key(&self.key)
    }
}

/// Prints `key=value` or `key!=value`, with `\`, `,` and `=` in the value escaped by a
/// backslash.
impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operator = match self.operator {
            FieldOperator::Equal => "=",
            FieldOperator::NotEqual => "!=",
        };
        write!(f, "{}{operator}", self.key)?;
        for c in self.value.chars() {
            if matches!(c, '\\' | ',' | '=') {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// A field selector: a conjunction of [`FieldRequirement`]s. The empty selector matches
/// everything.
///
/// Which fields can be selected on depends on the resource (`metadata.name` and
/// `metadata.namespace` always, plus e.g. `status.phase` or `spec.nodeName` for pods); the
/// apiserver rejects the others.
///
/// ```
/// use kube_core::selector::FieldSelector;
///
/// let selector = FieldSelector::new().eq("metadata.name", "x").ne("status.phase", "Running");
/// assert_eq!(selector.to_string(), "metadata.name=x,status.phase!=Running");
/// assert_eq!(selector, "metadata.name == x, status.phase != Running".parse().unwrap());
/// assert!(selector.matches_with(|field| match field {
///     "metadata.name" => Some("x"),
///     "status.phase" => Some("Pending"),
///     _ => None,
/// }));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The empty selector, which matches everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the string form; the same as [`str::parse`].
    ///
    /// Requirements are `key=value`, `key==value` or `key!=value`, separated by commas, with
    /// whitespace around them, their keys and their values ignored. In values, `\,`, `\=`, `\!`
    /// and `\\` stand for `,`, `=`, `!` and `\`; an unescaped `=` is an error, an unescaped `!`
    /// is not. An empty (or all-whitespace) string is the empty selector.
    ///
    /// ```
    /// use kube_core::selector::FieldSelector;
    ///
    /// let selector = FieldSelector::parse(r"metadata.name=a\,b").unwrap();
    /// assert_eq!(selector.requirements()[0].value(), "a,b");
    /// assert!(FieldSelector::parse("status.phase in (Running)").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        parse_field_selector(input)
    }

    /// Adds `key=value`.
    #[must_use]
    pub fn eq(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.with(FieldRequirement::new(key, FieldOperator::Equal, value))
    }

    /// Adds `key!=value`.
    #[must_use]
    pub fn ne(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.with(FieldRequirement::new(key, FieldOperator::NotEqual, value))
    }

    /// Adds a requirement.
    #[must_use]
    pub fn with(mut self, requirement: FieldRequirement) -> Self {
        self.push(requirement);
        self
    }

    /// Adds a requirement in place.
    pub fn push(&mut self, requirement: FieldRequirement) {
        self.requirements.push(requirement);
    }

    /// The requirements, in order.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Iterates over the requirements.
    pub fn iter(&self) -> std::slice::Iter<'_, FieldRequirement> {
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

    /// Whether every requirement is satisfied by the field values `lookup` returns
    /// (`None`: absent, which compares like an empty value).
    pub fn matches_with<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|requirement| requirement.matches_value(lookup(&requirement.key)))
    }

    /// Whether a map from field key to value satisfies every requirement.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use kube_core::selector::FieldSelector;
    ///
    /// let fields = BTreeMap::from([("metadata.name".to_owned(), "x".to_owned())]);
    /// assert!(FieldSelector::new().eq("metadata.name", "x").matches(&fields));
    /// assert!(FieldSelector::new().ne("spec.nodeName", "n1").matches(&fields));
    /// ```
    pub fn matches(&self, fields: &BTreeMap<String, String>) -> bool {
        self.matches_with(|key| fields.get(key).map(String::as_str))
    }

    /// Checks every key; see [`FieldRequirement::validate`]. Parsed selectors always pass.
    pub fn validate(&self) -> Result<(), ParseError> {
        self.requirements.iter().try_for_each(FieldRequirement::validate)
    }
}

super::impl_selector_traits!(FieldSelector, FieldRequirement, parse_field_selector);

fn check_field_key(key: &str) -> Result<(), ParseError> {
    let reason = if key.is_empty() {
        "must not be empty".to_owned()
    } else if let Some((index, c)) = key.chars().enumerate().find(|&(_, c)| {
        c.is_whitespace() || c.is_control() || matches!(c, '!' | '=' | ',' | '(' | ')' | '<' | '>' | '\\')
    }) {
        format!("character {c:?} at index {index} is not allowed")
    } else {
        return Ok(());
    };
    Err(ParseError::InvalidFieldKey { key: key.to_owned(), reason })
}

/// Undoes the backslash escapes of a value; rejects unknown escapes and unescaped `=`.
fn unescape(key: &str, raw: &str) -> Result<String, ParseError> {
    let error =
        |reason: String| ParseError::InvalidFieldValue { key: key.to_owned(), value: raw.to_owned(), reason };
    let mut value = String::with_capacity(raw.len());
    let mut chars = raw.chars().enumerate();
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped @ ('\\' | ',' | '=' | '!'))) => value.push(escaped),
                Some((_, other)) => {
                    return Err(error(format!(
                        "unknown escape sequence \"\\{other}\" at index {index} \
                         (only \\\\, \\, \\= and \\! are allowed)"
                    )));
                }
                None => return Err(error(format!("dangling '\\' at index {index}"))),
            },
            '=' => return Err(error(format!("unescaped '=' at index {index} (write \\=)"))),
            c => value.push(c),
        }
    }
    Ok(value)
}

/// The requirements of a field selector string with their byte offsets, split on unescaped
/// commas.
fn split_requirements(input: &str) -> Vec<(usize, &str)> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => {
                parts.push((start, &input[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push((start, &input[start..]));
    parts
}

/// The first `!=`, `==` or `=` in a requirement: its byte offset and length.
fn find_operator(requirement: &str) -> Option<(usize, FieldOperator, usize)> {
    requirement.char_indices().find_map(|(i, _)| {
        let rest = &requirement[i..];
        if rest.starts_with("!=") {
            Some((i, FieldOperator::NotEqual, 2))
        } else if rest.starts_with("==") {
            Some((i, FieldOperator::Equal, 2))
        } else if rest.starts_with('=') {
            Some((i, FieldOperator::Equal, 1))
        } else {
            None
        }
    })
}

/// Why a requirement without `=`, `==` or `!=` is not supported.
fn missing_operator_reason(requirement: &str) -> &'static str {
    let words: Vec<&str> = requirement.split_whitespace().collect();
    if words.iter().any(|word| matches!(*word, "in" | "notin")) || requirement.contains('(') {
        "set-based operators ('in', 'notin') are not supported on fields, expected '=', '==' or '!='"
    } else if requirement.contains(['<', '>']) {
        "'<' and '>' are not supported on fields, expected '=', '==' or '!='"
    } else if requirement.starts_with('!') {
        "'!key' (does not exist) is not supported on fields, expected '=', '==' or '!='"
    } else {
        "a bare key (exists) is not supported on fields, expected '=', '==' or '!='"
    }
}

fn parse_field_selector(input: &str) -> Result<FieldSelector, ParseError> {
    let mut selector = FieldSelector::new();
    if input.trim().is_empty() {
        return Ok(selector);
    }
    let position = |offset: usize| input.get(..offset).map_or(0, |before| before.chars().count());
    for (start, part) in split_requirements(input) {
        let requirement = part.trim();
        if requirement.is_empty() {
            let end = start + part.len();
            return Err(ParseError::Syntax {
                input: input.to_owned(),
                position: position(end),
                found: if end < input.len() { "','".to_owned() } else { "end of input".to_owned() },
                expected: "a field requirement (key=value or key!=value)",
            });
        }
        let Some((at, operator, len)) = find_operator(requirement) else {
            let offset = start + (part.len() - part.trim_start().len());
            return Err(ParseError::InvalidFieldRequirement {
                requirement: requirement.to_owned(),
                position: position(offset),
                reason: missing_operator_reason(requirement),
            });
        };
        let key = requirement[..at].trim();
        check_field_key(key)?;
        let value = unescape(key, requirement[at + len..].trim())?;
        selector.push(FieldRequirement::new(key, operator, value));
    }
    Ok(selector)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn builder_prints_canonical_form() {
        let cases = [
            (FieldSelector::new(), ""),
            (FieldSelector::new().eq("metadata.name", "x"), "metadata.name=x"),
            (FieldSelector::new().ne("status.phase", "Running"), "status.phase!=Running"),
            (FieldSelector::new().eq("a", ""), "a="),
            (FieldSelector::new().eq("a", r"x,y=z\w!v"), r"a=x\,y\=z\\w!v"),
            (
                FieldSelector::new().eq("metadata.name", "x").ne("status.phase", "Running"),
                "metadata.name=x,status.phase!=Running",
            ),
        ];
        for (selector, want) in cases {
            assert_eq!(selector.to_string(), want);
            assert_eq!(selector.validate(), Ok(()));
            assert_eq!(FieldSelector::parse(want).unwrap(), selector, "{want}");
        }
    }

    /// Input, then its canonical form.
    #[test]
    fn round_trips() {
        let cases = [
            ("", ""),
            (" \t", ""),
            ("a=b", "a=b"),
            ("a==b", "a=b"),
            ("a!=b", "a!=b"),
            (" a = b , c != d ", "a=b,c!=d"),
            ("a=", "a="),
            ("a!=", "a!="),
            ("a==", "a="),
            (r"a=b\,c", r"a=b\,c"),
            (r"a=b\=c", r"a=b\=c"),
            (r"a=b\\c", r"a=b\\c"),
            (r"a=b\!c", "a=b!c"),
            ("a=b!c", "a=b!c"),
            ("a!=!", "a!=!"),
            (
                "spec.nodeName=node-1,metadata.namespace!=kube-system",
                "spec.nodeName=node-1,metadata.namespace!=kube-system",
            ),
            ("involvedObject.kind=Pod,type=Warning", "involvedObject.kind=Pod,type=Warning"),
            ("a=b c", "a=b c"),
            ("a=b,a=c", "a=b,a=c"),
            ("a=é", "a=é"),
        ];
        for (input, canonical) in cases {
            let selector: FieldSelector = input.parse().unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(selector.to_string(), canonical, "{input:?}");
            assert_eq!(FieldSelector::parse(canonical).unwrap(), selector, "{canonical:?}");
        }
    }

    #[test]
    fn parsed_structure() {
        let selector = FieldSelector::parse(r"a=x\,y, b != z\=\\").unwrap();
        assert_eq!(
            selector.requirements(),
            [
                FieldRequirement::new("a", FieldOperator::Equal, "x,y"),
                FieldRequirement::new("b", FieldOperator::NotEqual, r"z=\"),
            ]
        );
        let req = &selector.requirements()[1];
        assert_eq!((req.key(), req.operator(), req.value()), ("b", FieldOperator::NotEqual, r"z=\"));
    }

    #[test]
    fn rejects() {
        let cases = [
            (
                ",",
                "invalid selector \",\": found ',' at position 0, expected a field requirement (key=value or key!=value)",
            ),
            (
                "a=b,",
                "invalid selector \"a=b,\": found end of input at position 4, expected a field requirement",
            ),
            (
                "a=b, ,c=d",
                "invalid selector \"a=b, ,c=d\": found ',' at position 5, expected a field requirement",
            ),
            (
                "status.phase in (Running)",
                "invalid field selector requirement \"status.phase in (Running)\" at position 0: set-based operators ('in', 'notin') are not supported",
            ),
            (
                "a=b, c notin (d)",
                "invalid field selector requirement \"c notin (d)\" at position 5: set-based operators",
            ),
            ("a in (b=c)", "invalid field key \"a in (b\": character ' ' at index 1 is not allowed"),
            (
                "a>1",
                "invalid field selector requirement \"a>1\" at position 0: '<' and '>' are not supported",
            ),
            (
                "!a",
                "invalid field selector requirement \"!a\" at position 0: '!key' (does not exist) is not supported",
            ),
            (
                "a",
                "invalid field selector requirement \"a\" at position 0: a bare key (exists) is not supported",
            ),
            ("a!b", "invalid field selector requirement \"a!b\" at position 0: a bare key"),
            ("=b", "invalid field key \"\": must not be empty"),
            (" == b", "invalid field key \"\": must not be empty"),
            ("!a=b", "invalid field key \"!a\": character '!' at index 0 is not allowed"),
            ("a>=1", "invalid field key \"a>\": character '>' at index 1 is not allowed"),
            ("a b=c", "invalid field key \"a b\": character ' ' at index 1 is not allowed"),
            ("a=b=c", "invalid value \"b=c\" for field \"a\": unescaped '=' at index 1 (write \\=)"),
            ("a=!=", "invalid value \"!=\" for field \"a\": unescaped '=' at index 1"),
            ("a!==b", "invalid value \"=b\" for field \"a\": unescaped '=' at index 0"),
            (
                r"a=b\n",
                "invalid value \"b\\\\n\" for field \"a\": unknown escape sequence \"\\n\" at index 1",
            ),
            (r"a=b\", "invalid value \"b\\\\\" for field \"a\": dangling '\\' at index 1"),
        ];
        for (input, want) in cases {
            let err = FieldSelector::parse(input).unwrap_err().to_string();
            assert!(err.starts_with(want), "{input:?}: {err}");
        }
        assert!(matches!(
            FieldSelector::parse("x=1,status.phase in (a)"),
            Err(ParseError::InvalidFieldRequirement { position: 4, .. })
        ));
    }

    #[test]
    fn validate_keys() {
        assert!(FieldSelector::new().eq("metadata.name", "a=b,c").validate().is_ok());
        for key in ["", "a b", "a=b", "a,b", "!a", "a\\b", "a\n"] {
            let err = FieldSelector::new().eq(key, "x").validate().unwrap_err();
            assert!(
                matches!(&err, ParseError::InvalidFieldKey { key: k, .. } if k == key),
                "{key:?}: {err:?}"
            );
        }
    }

    #[test]
    fn matching_truth_table() {
        // (operator, requirement value, field value, expected)
        let cases = [
            (FieldOperator::Equal, "x", Some("x"), true),
            (FieldOperator::Equal, "x", Some("y"), false),
            (FieldOperator::Equal, "x", None, false),
            (FieldOperator::Equal, "", None, true),
            (FieldOperator::Equal, "", Some(""), true),
            (FieldOperator::NotEqual, "x", Some("x"), false),
            (FieldOperator::NotEqual, "x", Some("y"), true),
            (FieldOperator::NotEqual, "x", None, true),
            (FieldOperator::NotEqual, "", None, false),
        ];
        for (operator, value, field, want) in cases {
            let req = FieldRequirement::new("f", operator, value);
            assert_eq!(req.matches_value(field), want, "{req} against {field:?}");
            let fields: BTreeMap<String, String> =
                field.map(|v| ("f".to_owned(), v.to_owned())).into_iter().collect();
            assert_eq!(FieldSelector::from(req.clone()).matches(&fields), want, "{req} against {fields:?}");
        }
        let selector = FieldSelector::new().eq("metadata.name", "x").ne("status.phase", "Running");
        let fields = |phase: &str| {
            BTreeMap::from([
                ("metadata.name".to_owned(), "x".to_owned()),
                ("status.phase".to_owned(), phase.to_owned()),
            ])
        };
        assert!(selector.matches(&fields("Pending")));
        assert!(!selector.matches(&fields("Running")));
        assert!(!selector.matches(&BTreeMap::new()));
        assert!(FieldSelector::new().matches(&BTreeMap::new()));
    }

    #[test]
    fn collection_helpers() {
        let a = FieldRequirement::new("a", FieldOperator::Equal, "1");
        let b = FieldRequirement::new("b", FieldOperator::NotEqual, "2");
        let mut selector: FieldSelector = [a.clone()].into_iter().collect();
        selector.extend([b.clone()]);
        assert_eq!(selector.len(), 2);
        assert!(!selector.is_empty());
        assert_eq!((&selector).into_iter().count(), 2);
        assert_eq!(selector.iter().map(FieldRequirement::key).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(selector.into_iter().collect::<Vec<_>>(), [a, b]);
    }

    #[test]
    fn serde_uses_the_string_form() {
        let selector = FieldSelector::new().eq("metadata.name", "a,b");
        let json = serde_json::to_string(&selector).unwrap();
        assert_eq!(json, r#""metadata.name=a\\,b""#);
        assert_eq!(serde_json::from_str::<FieldSelector>(&json).unwrap(), selector);
        assert!(serde_json::from_str::<FieldSelector>(r#""a in (b)""#).is_err());
    }
}

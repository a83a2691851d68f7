//! Syntax rules for label keys and values, as the apiserver applies them.

use super::ParseError;

/// Longest name part of a key, and longest value.
const MAX_NAME_LEN: usize = 63;
/// Longest DNS subdomain prefix of a key.
const MAX_PREFIX_LEN: usize = 253;

/// Checks a label key: an optional DNS-1123 subdomain prefix and `/`, then a name.
pub(crate) fn check_key(key: &str) -> Result<(), ParseError> {
    key_problem(key).map_or(Ok(()), |reason| Err(ParseError::InvalidKey { key: key.to_owned(), reason }))
}

/// Checks a label value: empty, or a name of at most 63 characters.
pub(crate) fn check_value(key: &str, value: &str) -> Result<(), ParseError> {
    match name_problem(value, "a value") {
        Some(reason) => {
            Err(ParseError::InvalidValue { key: key.to_owned(), value: value.to_owned(), reason })
        }
        None => Ok(()),
    }
}

fn key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        return Some("a label key must not be empty".to_owned());
    }
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        if name.contains('/') {
            return Some("a label key may contain at most one '/'".to_owned());
        }
        if let Some(reason) = prefix_problem(prefix) {
            return Some(reason);
        }
    }
    if name.is_empty() {
        return Some("the name part after '/' must not be empty".to_owned());
    }
    name_problem(name, "the name part")
}

/// The rules of a label value and of the name part of a key (the value may be empty, a name
/// may not: callers check that).
fn name_problem(name: &str, what: &str) -> Option<String> {
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Some(format!("{what} must be at most {MAX_NAME_LEN} characters, got {len}"));
    }
    if let Some((index, c)) =
        name.chars().enumerate().find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some(format!(
            "character {c:?} at index {index} is not allowed in {what} \
             (allowed: letters, digits, '-', '_' and '.')"
        ));
    }
    let alnum_ends = name.chars().next().is_none_or(|c| c.is_ascii_alphanumeric())
        && name.chars().last().is_none_or(|c| c.is_ascii_alphanumeric());
    if !alnum_ends {
        return Some(format!("{what} must start and end with a letter or digit"));
    }
    None
}

/// A DNS-1123 subdomain: lower-case labels of `[a-z0-9-]` separated by dots, each starting and
/// ending with a letter or digit, 253 characters in all.
fn prefix_problem(prefix: &str) -> Option<String> {
    if prefix.is_empty() {
        return Some("the prefix before '/' must not be empty".to_owned());
    }
    let len = prefix.chars().count();
    if len > MAX_PREFIX_LEN {
        return Some(format!("the prefix before '/' must be at most {MAX_PREFIX_LEN} characters, got {len}"));
    }
    if let Some((index, c)) = prefix
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.')))
    {
        return Some(format!(
            "character {c:?} at index {index} is not allowed in the prefix before '/' \
             (a DNS subdomain: lower-case letters, digits, '-' and '.')"
        ));
    }
    let bad_label =
        prefix.split('.').any(|label| label.is_empty() || label.starts_with('-') || label.ends_with('-'));
    if bad_label {
        return Some(
            "the prefix before '/' must be a DNS subdomain: dot-separated parts that start and end \
             with a lower-case letter or digit"
                .to_owned(),
        );
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let ok = [
            "a",
            "app",
            "A1",
            "a.b_c-d",
            "app.kubernetes.io/name",
            "example.com/x",
            "a-b.c/D_e.f",
            "0/0",
            &"a".repeat(63),
            &format!("{}/{}", "p".repeat(253), "n".repeat(63)),
        ];
        for key in ok {
            assert_eq!(check_key(key), Ok(()), "{key}");
        }
        let bad = [
            ("", "a label key must not be empty"),
            ("-a", "the name part must start and end with a letter or digit"),
            ("a_", "the name part must start and end with a letter or digit"),
            ("a@b", "character '@' at index 1 is not allowed in the name part"),
            ("a b", "character ' ' at index 1 is not allowed in the name part"),
            ("é", "character 'é' at index 0 is not allowed in the name part"),
            ("a/b/c", "a label key may contain at most one '/'"),
            ("/a", "the prefix before '/' must not be empty"),
            ("a/", "the name part after '/' must not be empty"),
            ("Example.com/a", "character 'E' at index 0 is not allowed in the prefix before '/'"),
            ("a_b/c", "character '_' at index 1 is not allowed in the prefix before '/'"),
            ("a..b/c", "the prefix before '/' must be a DNS subdomain"),
            ("-a.b/c", "the prefix before '/' must be a DNS subdomain"),
            ("a.b-/c", "the prefix before '/' must be a DNS subdomain"),
            (&"a".repeat(64), "the name part must be at most 63 characters, got 64"),
            (
                &format!("{}/a", "p".repeat(254)),
                "the prefix before '/' must be at most 253 characters, got 254",
            ),
        ];
        for (key, reason) in bad {
            match check_key(key) {
                Err(ParseError::InvalidKey { key: k, reason: r }) => {
                    assert_eq!(k, key);
                    assert!(r.starts_with(reason), "{key:?}: {r}");
                }
                other => panic!("{key:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn values() {
        for value in ["", "a", "1", "a.b-c_D", &"v".repeat(63)] {
            assert_eq!(check_value("k", value), Ok(()), "{value}");
        }
        let bad = [
            ("-a", "a value must start and end with a letter or digit"),
            ("a.", "a value must start and end with a letter or digit"),
            ("a/b", "character '/' at index 1 is not allowed in a value"),
            ("a,b", "character ',' at index 1 is not allowed in a value"),
            (&"v".repeat(64), "a value must be at most 63 characters, got 64"),
        ];
        for (value, reason) in bad {
            let err = check_value("k", value).unwrap_err();
            let ParseError::InvalidValue { key, value: v, reason: r } = &err else { panic!("{err:?}") };
            assert_eq!((key.as_str(), v.as_str()), ("k", value));
            assert!(r.starts_with(reason), "{value:?}: {r}");
        }
        assert_eq!(
            check_value("app", "-x").unwrap_err().to_string(),
            r#"invalid value "-x" for label key "app": a value must start and end with a letter or digit"#
        );
    }
}

//! The error type shared by label and field selectors.

/// Why a selector string, a selector built in code, or a `meta/v1` `LabelSelector` was rejected.
///
/// Every message is lower case and names the offending part: the whole input and the position
/// for syntax errors, the key (and value) for validation errors. Positions are 0-based character
/// offsets into the parsed string.
///
/// ```
/// use kube_core::selector::{LabelSelector, ParseError};
///
/// let err = "tier in db".parse::<LabelSelector>().unwrap_err();
/// assert!(matches!(err, ParseError::Syntax { position: 8, .. }));
/// assert_eq!(
///     err.to_string(),
///     r#"invalid selector "tier in db": found "db" at position 8, expected '(' after 'in'"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The string does not follow the selector grammar.
    #[error("invalid selector {input:?}: found {found} at position {position}, expected {expected}")]
    Syntax {
        /// The whole selector string.
        input: String,
        /// 0-based character offset of what was found.
        position: usize,
        /// What was found there, e.g. `'='`, `"db"` or `end of input`.
        found: String,
        /// What the grammar allows there.
        expected: &'static str,
    },
    /// A label key is not a valid qualified name (`[prefix/]name`).
    #[error("invalid label key {key:?}: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A label value is not valid for its key or operator.
    #[error("invalid value {value:?} for label key {key:?}: {reason}")]
    InvalidValue {
        /// The key the value belongs to.
        key: String,
        /// The rejected value.
        value: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// An operator got a number of values it does not accept (`in ()`, `Exists` with values).
    #[error("operator {operator} on label key {key:?} needs {expected}, got {found}")]
    ValueCount {
        /// The key of the requirement.
        key: String,
        /// The operator, as written in the input (`in`, `Exists`, ...).
        operator: String,
        /// How many values the operator needs.
        expected: &'static str,
        /// How many values it got.
        found: usize,
    },
    /// A `meta/v1` `LabelSelectorRequirement` has an operator other than `In`, `NotIn`, `Exists`
    /// and `DoesNotExist`.
    #[error(
        "unknown operator {operator:?} on label key {key:?}, expected one of In, NotIn, Exists, DoesNotExist"
    )]
    UnknownOperator {
        /// The key of the requirement.
        key: String,
        /// The unknown operator.
        operator: String,
    },
    /// A requirement cannot be expressed in a `meta/v1` `LabelSelector` (`>` and `<`).
    #[error(
        "operator '{operator}' on label key {key:?} cannot be expressed in a meta/v1 LabelSelector, \
         which only supports In, NotIn, Exists and DoesNotExist"
    )]
    Unrepresentable {
        /// The key of the requirement.
        key: String,
        /// The operator (`>` or `<`).
        operator: &'static str,
    },
    /// A field selector requirement is not of the form `key=value`, `key==value` or `key!=value`.
    #[error("invalid field selector requirement {requirement:?} at position {position}: {reason}")]
    InvalidFieldRequirement {
        /// The rejected requirement, without surrounding whitespace.
        requirement: String,
        /// 0-based character offset of the requirement in the selector string.
        position: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A field key is empty or contains a character that cannot appear in a field selector key.
    #[error("invalid field key {key:?}: {reason}")]
    InvalidFieldKey {
        /// The rejected key.
        key: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A field value has an unknown escape sequence or an unescaped `=`.
    #[error("invalid value {value:?} for field {key:?}: {reason}")]
    InvalidFieldValue {
        /// The field the value belongs to.
        key: String,
        /// The value as written, before unescaping.
        value: String,
        /// Which rule it breaks.
        reason: String,
    },
}

//! [`SecretString`]: a string whose `Debug` output never shows its value.

use std::fmt;

/// A secret (token, password) that prints as `<redacted>` in `Debug` output.
///
/// ```
/// use kube_client::config::SecretString;
///
/// let token = SecretString::from("abc123");
/// assert_eq!(format!("{token:?}"), "<redacted>");
/// assert_eq!(token.expose(), "abc123");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        SecretString(secret.into())
    }

    /// The secret itself. Take care not to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        SecretString(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        SecretString(s.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// What `Debug` implementations print in place of a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// Prints `Some(<redacted>)` / `None` for an optional secret.
pub(crate) fn redact_opt<T>(value: &Option<T>) -> Option<Redacted> {
    value.as_ref().map(|_| Redacted)
}

/// A placeholder that debug-prints as `<redacted>`.
#[derive(Clone, Copy)]
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretString::new("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
        assert_eq!(format!("{:?}", redact_opt(&Some("x"))), "Some(<redacted>)");
        assert_eq!(format!("{:?}", redact_opt::<String>(&None)), "None");
    }
}

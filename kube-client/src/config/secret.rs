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

/// A URL with any `user:password@` part replaced by `<redacted>@`, for `Debug` output and
/// error messages (proxy URLs may carry credentials).
pub fn redact_url(url: &str) -> String {
    // without a scheme (`user:pass@proxy:3128`), the authority starts the string
    let (prefix, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (&url[..scheme.len() + 3], rest),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{prefix}{REDACTED}@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Debug-prints an optional URL with its credentials redacted.
pub(crate) struct RedactedUrl<'a>(pub(crate) Option<&'a str>);

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(url) => write!(f, "Some({:?})", redact_url(url)),
            None => f.write_str("None"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(redact_url("http://user:pa%40ss@proxy:3128/x"), "http://<redacted>@proxy:3128/x");
        assert_eq!(redact_url("http://proxy:3128"), "http://proxy:3128");
        assert_eq!(redact_url("http://proxy/a@b"), "http://proxy/a@b");
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(redact_url("user:pass@proxy:3128"), "<redacted>@proxy:3128");
    }

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

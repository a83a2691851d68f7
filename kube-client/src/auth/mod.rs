//! Authentication: the credentials a [`Config`](crate::Config) names and how requests get them.
//!
//! - [`Auth`] is what the configuration resolved: no credentials, a static token, basic auth,
//!   a [`TokenFile`] re-read as it rotates, an [`ExecAuth`] plugin with its cached credential,
//!   or the [`OidcAuth`] provider refreshing its id-token at the issuer.
//! - The client's transport puts them on every request through a tower layer, refreshing them
//!   as they expire and once more after a 401.
//! - Failures are [`Error`]s naming the file, command or issuer; secrets never appear in
//!   `Debug` output or error messages.

mod error;
mod exec;
mod exec_cache;
pub(crate) mod layer;
mod oidc;
mod token_file;

use std::sync::Arc;

use base64::Engine as _;
use http::HeaderValue;

pub use error::{Error, Result};
pub use exec::{
    EXEC_API_V1, EXEC_API_V1BETA1, EXEC_CLUSTER_EXTENSION, EXEC_INFO_ENV, ExecClusterInfo, ExecCredential,
    run_exec,
};
pub use exec_cache::{DEFAULT_EXPIRY_SKEW, ExecAuth, MIN_RERUN_INTERVAL};
#[cfg(test)]
pub(crate) use oidc::test_issuer as oidc_test;
pub use oidc::{OIDC_REQUEST_TIMEOUT, OidcAuth, OidcConfig, OidcError};
pub use token_file::{TOKEN_FILE_REFRESH, TokenFile};

use crate::config::SecretString;

/// The credentials sent with every request (client certificates are in
/// [`Config::identity`](crate::Config::identity) instead).
///
/// Cloning shares the token file and exec plugin caches and the OIDC tokens.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No credentials (or client certificates only).
    #[default]
    None,
    /// A static bearer token.
    Token(SecretString),
    /// A bearer token read from a file and re-read when it changes.
    TokenFile(Arc<TokenFile>),
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: SecretString,
    },
    /// An exec credential plugin; gives a bearer token and/or a client certificate.
    Exec(Arc<ExecAuth>),
    /// The `oidc` auth provider: the `id-token` is the bearer token, refreshed with the
    /// `refresh-token` when it expires (see [`OidcAuth`]).
    Oidc(Arc<OidcAuth>),
}

impl Auth {
    /// The value of the `Authorization` header for the next request, if any (marked sensitive).
    ///
    /// Reads the token file or runs the exec plugin when its cached credential has expired,
    /// so this may block: call it from a blocking context (e.g. `spawn_blocking`) when
    /// [`Auth::may_block`] is true. For exec plugins that return only a client certificate
    /// this gives `None`; use [`ExecAuth::credential`] for the certificate.
    ///
    /// For OIDC this gives the current id-token as it is, neither checked nor refreshed:
    /// refreshing needs HTTP and is async, see [`OidcAuth::token`] (which the client's
    /// transport uses).
    ///
    /// ```
    /// use kube_client::{auth::Auth, config::SecretString};
    ///
    /// let auth = Auth::Token(SecretString::new("abc"));
    /// assert_eq!(auth.authorization()?.unwrap(), "Bearer abc");
    /// let basic = Auth::Basic { username: "user".into(), password: SecretString::new("pass") };
    /// assert_eq!(basic.authorization()?.unwrap(), "Basic dXNlcjpwYXNz");
    /// # Ok::<(), kube_client::auth::Error>(())
    /// ```
    pub fn authorization(&self) -> Result<Option<HeaderValue>> {
        let value = match self {
            Auth::None => return Ok(None),
            Auth::Token(token) => bearer(token.expose()),
            Auth::TokenFile(file) => bearer(file.token()?.expose()),
            Auth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
            }
            Auth::Exec(exec) => match exec.credential()?.token {
                Some(token) => bearer(token.expose()),
                None => return Ok(None),
            },
            Auth::Oidc(oidc) => match oidc.id_token() {
                Some(token) => bearer(token.expose()),
                None => return Ok(None),
            },
        };
        sensitive_header(value).map(Some)
    }

    /// Whether [`Auth::authorization`] may do blocking work (file reads, running a process).
    /// OIDC refreshes are async and never block.
    pub fn may_block(&self) -> bool {
        matches!(self, Auth::TokenFile(_) | Auth::Exec(_))
    }

    /// Drops cached credentials after the server answered 401, so the next request gets a
    /// fresh one (re-runs the exec plugin, refreshes the OIDC id-token when there is a
    /// refresh-token). Does nothing for static credentials.
    pub fn invalidate(&self) {
        match self {
            Auth::Exec(exec) => exec.invalidate(),
            Auth::Oidc(oidc) => oidc.invalidate(),
            _ => {}
        }
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn sensitive_header(value: String) -> Result<HeaderValue> {
    let mut header = HeaderValue::try_from(value).map_err(Error::InvalidHeaderValue)?;
    header.set_sensitive(true);
    Ok(header)
}

/// `Bearer <token>` as a sensitive header value.
pub(crate) fn bearer_header(token: &SecretString) -> Result<HeaderValue> {
    sensitive_header(bearer(token.expose()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_every_secret() {
        let basic = Auth::Basic { username: "bob".into(), password: "hunter2".into() };
        let token = Auth::Token("tok-secret".into());
        // Auth::Oidc shows OidcAuth's own Debug, tested in the oidc module
        let debug = format!("{basic:?} {token:?}");
        for secret in ["hunter2", "tok-secret"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("bob"), "{debug}");
    }

    #[test]
    fn authorization_headers() {
        assert!(Auth::None.authorization().unwrap().is_none());
        let oidc_auth = |config| Auth::Oidc(Arc::new(OidcAuth::new(config)));
        let oidc = oidc_auth(OidcConfig { id_token: Some("idt".into()), ..OidcConfig::default() });
        let header = oidc.authorization().unwrap().unwrap();
        assert_eq!(header, "Bearer idt");
        assert!(header.is_sensitive());
        assert!(!oidc.may_block());
        assert!(oidc_auth(OidcConfig::default()).authorization().unwrap().is_none());
        assert_eq!(bearer_header(&"t".into()).unwrap(), "Bearer t");
        assert!(matches!(Auth::Token("a\nb".into()).authorization(), Err(Error::InvalidHeaderValue(_))));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "from-file\n").unwrap();
        let auth = Auth::TokenFile(Arc::new(TokenFile::new(&path)));
        assert!(auth.may_block());
        assert_eq!(auth.authorization().unwrap().unwrap(), "Bearer from-file");
    }
}

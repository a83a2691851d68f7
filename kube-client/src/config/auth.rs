//! How the client authenticates ([`Auth`]) and whom it impersonates ([`Impersonation`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use http::HeaderValue;

use super::error::{Error, Result};
use super::exec_cache::ExecAuth;
use super::secret::{SecretString, redact_opt};
use super::token_file::TokenFile;

/// The credentials sent with every request (client certificates are in
/// [`Config::identity`](super::Config::identity) instead).
///
/// Cloning shares the token file and exec plugin caches.
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
    /// The `oidc` auth provider: the `id-token` is the bearer token.
    Oidc(OidcConfig),
}

impl Auth {
    /// The value of the `Authorization` header for the next request, if any (marked sensitive).
    ///
    /// Reads the token file or runs the exec plugin when its cached credential has expired,
    /// so this may block: call it from a blocking context (e.g. `spawn_blocking`) when
    /// [`Auth::may_block`] is true. For exec plugins that return only a client certificate
    /// this gives `None`; use [`ExecAuth::credential`] for the certificate.
    ///
    /// ```
    /// use kube_client::config::{Auth, SecretString};
    ///
    /// let auth = Auth::Token(SecretString::new("abc"));
    /// assert_eq!(auth.authorization()?.unwrap(), "Bearer abc");
    /// let basic = Auth::Basic { username: "user".into(), password: SecretString::new("pass") };
    /// assert_eq!(basic.authorization()?.unwrap(), "Basic dXNlcjpwYXNz");
    /// # Ok::<(), kube_client::config::Error>(())
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
            Auth::Oidc(oidc) => match &oidc.id_token {
                Some(token) => bearer(token.expose()),
                None => return Ok(None),
            },
        };
        let mut header = HeaderValue::try_from(value).map_err(Error::InvalidHeaderValue)?;
        header.set_sensitive(true);
        Ok(Some(header))
    }

    /// Whether [`Auth::authorization`] may do blocking work (file reads, running a process).
    pub fn may_block(&self) -> bool {
        matches!(self, Auth::TokenFile(_) | Auth::Exec(_))
    }

    /// Drops cached credentials after the server answered 401, so the next request gets a
    /// fresh one (re-runs the exec plugin). Does nothing for static credentials.
    pub fn invalidate(&self) {
        if let Auth::Exec(exec) = self {
            exec.invalidate();
        }
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Settings of the `oidc` auth provider. Secrets are redacted in `Debug` output.
///
/// Refreshing the `id-token` with the `refresh-token` needs HTTP and is left to the transport.
#[derive(Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct OidcConfig {
    /// `idp-issuer-url`.
    pub issuer_url: Option<String>,
    /// `client-id`.
    pub client_id: Option<String>,
    /// `client-secret`.
    pub client_secret: Option<SecretString>,
    /// `id-token`: the bearer token.
    pub id_token: Option<SecretString>,
    /// `refresh-token`.
    pub refresh_token: Option<SecretString>,
    /// The issuer's CA from `idp-certificate-authority-data` (base64) or the
    /// `idp-certificate-authority` file.
    pub issuer_ca: Option<Vec<u8>>,
    /// `extra-scopes`, split on commas.
    pub extra_scopes: Vec<String>,
}

impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &redact_opt(&self.client_secret))
            .field("id_token", &redact_opt(&self.id_token))
            .field("refresh_token", &redact_opt(&self.refresh_token))
            .field("issuer_ca", &self.issuer_ca.as_ref().map(Vec::len))
            .field("extra_scopes", &self.extra_scopes)
            .finish()
    }
}

/// Whom to act as (`Impersonate-User`, `Impersonate-Uid`, `Impersonate-Group` and
/// `Impersonate-Extra-<key>` headers). Empty by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Impersonation {
    /// The user.
    pub user: Option<String>,
    /// The user's UID.
    pub uid: Option<String>,
    /// The groups.
    pub groups: Vec<String>,
    /// Extra user fields.
    pub extra: BTreeMap<String, Vec<String>>,
}

impl Impersonation {
    /// Whether nothing is impersonated.
    pub fn is_empty(&self) -> bool {
        self.user.is_none() && self.uid.is_none() && self.groups.is_empty() && self.extra.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_every_secret() {
        let basic = Auth::Basic { username: "bob".into(), password: "hunter2".into() };
        let token = Auth::Token("tok-secret".into());
        let oidc = Auth::Oidc(OidcConfig {
            issuer_url: Some("https://issuer".into()),
            client_secret: Some("client-secret".into()),
            id_token: Some("id-secret".into()),
            refresh_token: Some("refresh-secret".into()),
            ..OidcConfig::default()
        });
        let debug = format!("{basic:?} {token:?} {oidc:?}");
        for secret in ["hunter2", "tok-secret", "client-secret", "id-secret", "refresh-secret"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("bob") && debug.contains("https://issuer"));
    }

    #[test]
    fn authorization_headers() {
        assert!(Auth::None.authorization().unwrap().is_none());
        let oidc = Auth::Oidc(OidcConfig { id_token: Some("idt".into()), ..OidcConfig::default() });
        let header = oidc.authorization().unwrap().unwrap();
        assert_eq!(header, "Bearer idt");
        assert!(header.is_sensitive());
        assert!(Auth::Oidc(OidcConfig::default()).authorization().unwrap().is_none());
        assert!(matches!(Auth::Token("a\nb".into()).authorization(), Err(Error::InvalidHeaderValue(_))));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "from-file\n").unwrap();
        let auth = Auth::TokenFile(Arc::new(TokenFile::new(&path)));
        assert!(auth.may_block());
        assert_eq!(auth.authorization().unwrap().unwrap(), "Bearer from-file");
    }

    #[test]
    fn impersonation_is_empty() {
        assert!(Impersonation::default().is_empty());
        assert!(!Impersonation { groups: vec!["g".into()], ..Default::default() }.is_empty());
    }
}

//! A CA for servers a test runs and the API server calls, such as webhooks: it issues serving
//! certificates for `127.0.0.1` and `localhost`, and client certificates.

use std::path::{Path, PathBuf};

use crate::{Error, Result, certs::Ca};

/// The names a [`TestCa`] serving certificate is valid for.
pub const LOOPBACK_SANS: &[&str] = &["127.0.0.1", "::1", "localhost"];

/// A fresh CA whose PEM certificate goes into a webhook configuration's `caBundle`.
///
/// ```
/// let ca = kube_test::TestCa::new("webhook CA")?;
/// let leaf = ca.issue_server("webhook")?;
/// assert!(leaf.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// assert_ne!(ca.issue_server("webhook")?.key_pem, leaf.key_pem, "each leaf has its own key");
/// # Ok::<(), kube_test::Error>(())
/// ```
#[derive(Debug)]
pub struct TestCa {
    ca: Ca,
}

/// A certificate and its private key, both PEM.
#[derive(Clone)]
pub struct IssuedCert {
    /// The certificate (PEM).
    pub cert_pem: String,
    /// The private key (PEM, PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert").field("cert_pem", &self.cert_pem).field("key_pem", &"[elided]").finish()
    }
}

impl IssuedCert {
    /// Writes `tls.crt` and `tls.key` into `dir` (as a mounted `kubernetes.io/tls` Secret has
    /// them) and returns their paths. Each file is written to a temporary name and renamed, so
    /// a reader never sees half a file.
    pub fn write_to(&self, dir: &Path) -> Result<(PathBuf, PathBuf)> {
        let write = |name: &str, content: &str| -> Result<PathBuf> {
            let path = dir.join(name);
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, content).map_err(|source| Error::Io {
                action: "write a test certificate",
                path: tmp.clone(),
                source,
            })?;
            std::fs::rename(&tmp, &path).map_err(|source| Error::Io {
                action: "rename a test certificate",
                path: path.clone(),
                source,
            })?;
            Ok(path)
        };
        Ok((write("tls.crt", &self.cert_pem)?, write("tls.key", &self.key_pem)?))
    }
}

impl TestCa {
    /// A new self-signed CA (ECDSA P-256).
    pub fn new(common_name: &str) -> Result<Self> {
        Ok(Self { ca: Ca::new(common_name)? })
    }

    /// The CA's certificate (PEM), for clients to trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca.cert_pem
    }

    /// A serving certificate for [`LOOPBACK_SANS`] with a new key.
    pub fn issue_server(&self, common_name: &str) -> Result<IssuedCert> {
        self.issue_server_for(common_name, LOOPBACK_SANS)
    }

    /// A serving certificate for the given DNS names and IP addresses.
    pub fn issue_server_for(&self, common_name: &str, sans: &[&str]) -> Result<IssuedCert> {
        let ck = self.ca.issue_server(common_name, sans)?;
        Ok(IssuedCert { cert_pem: ck.cert_pem, key_pem: ck.key_pem })
    }

    /// A client certificate for `user` in `groups`.
    pub fn issue_client(&self, user: &str, groups: &[String]) -> Result<IssuedCert> {
        let ck = self.ca.issue_client(user, groups)?;
        Ok(IssuedCert { cert_pem: ck.cert_pem, key_pem: ck.key_pem })
    }
}

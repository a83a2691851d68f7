//! The client certificate and key for mutual TLS: [`Identity`].

use std::fmt;

use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::error::PemError;
use super::pem::{certificates_from_pem, private_key_from_pem};

/// A client certificate chain and its private key, for mutual TLS.
///
/// `Debug` shows the number of certificates and never the key.
pub struct Identity {
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Identity {
    /// Builds an identity from parsed parts.
    pub fn new(cert_chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        Identity { cert_chain, key }
    }

    /// Parses a PEM certificate chain (leaf first) and a PEM private key.
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, PemError> {
        Ok(Identity {
            cert_chain: certificates_from_pem(cert_chain_pem)?,
            key: private_key_from_pem(key_pem)?,
        })
    }

    /// The certificate chain, leaf first.
    pub fn cert_chain(&self) -> &[CertificateDer<'static>] {
        &self.cert_chain
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKeyDer<'static> {
        &self.key
    }

    /// The chain and key, e.g. for `rustls::ConfigBuilder::with_client_auth_cert`.
    pub fn into_parts(self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        (self.cert_chain, self.key)
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity { cert_chain: self.cert_chain.clone(), key: self.key.clone_key() }
    }
}

impl PartialEq for Identity {
    fn eq(&self, other: &Self) -> bool {
        self.cert_chain == other.cert_chain && self.key.secret_der() == other.key.secret_der()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("certificates", &self.cert_chain.len())
            .field("key", &super::secret::Redacted)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::pem::tests::{TEST_CERT, TEST_KEY};
    use super::*;

    #[test]
    fn identity_debug_hides_the_key() {
        let id = Identity::from_pem(TEST_CERT.as_bytes(), TEST_KEY.as_bytes()).unwrap();
        assert_eq!(id.cert_chain().len(), 1);
        assert_eq!(id.clone(), id);
        let debug = format!("{id:?}");
        assert_eq!(debug, "Identity { certificates: 1, key: <redacted> }");
    }
}

//! Certificates and keys: PEM parsing, the client [`Identity`], and reading `*-data` / file fields.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::error::{Error, FieldRef, PemError, Result};

/// Parses certificates: every `CERTIFICATE` section of PEM data (other sections are ignored),
/// or, when the data is not PEM, one DER certificate. Each certificate must be a well-formed
/// X.509 certificate, so that bad bytes show here rather than in a later TLS handshake.
///
/// ```
/// use kube_client::config::parse_certificates;
///
/// assert!(parse_certificates(b"not a certificate").is_err());
/// // an ASN.1 SEQUENCE, but not a certificate
/// assert!(parse_certificates(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
/// ```
pub fn parse_certificates(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certs = if !contains(data, b"-----BEGIN") {
        // DER: a certificate is an ASN.1 SEQUENCE
        match data.first() {
            Some(0x30) => vec![CertificateDer::from(data.to_vec())],
            _ => return Err(PemError::NoCertificates),
        }
    } else {
        CertificateDer::pem_slice_iter(data).collect::<Result<Vec<_>, pem::Error>>().map_err(PemError::Pem)?
    };
    if certs.is_empty() {
        return Err(PemError::NoCertificates);
    }
    for cert in &certs {
        check_certificate(cert)?;
    }
    Ok(certs)
}

/// Fails unless `cert` parses as an X.509 certificate.
fn check_certificate(cert: &CertificateDer<'_>) -> Result<(), PemError> {
    // Adding a trust anchor parses the whole certificate; the store is thrown away.
    rustls::RootCertStore::empty()
        .add(cert.clone())
        .map_err(|e| PemError::InvalidDer { what: "certificate", reason: e.to_string() })
}

/// Parses the first private key (PKCS#1, PKCS#8 or SEC1) of PEM data. Its DER must be one
/// well-formed ASN.1 SEQUENCE.
pub fn parse_private_key(data: &[u8]) -> Result<PrivateKeyDer<'static>, PemError> {
    let key = PrivateKeyDer::from_pem_slice(data).map_err(|e| match e {
        pem::Error::NoItemsFound => PemError::NoPrivateKey,
        e => PemError::Pem(e),
    })?;
    if !is_der_sequence(key.secret_der()) {
        return Err(PemError::InvalidDer { what: "private key", reason: "not a DER sequence".into() });
    }
    Ok(key)
}

/// Whether `der` is exactly one ASN.1 SEQUENCE whose length matches the data.
fn is_der_sequence(der: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = der else { return false };
    let (len, body) = match *first {
        n if n < 0x80 => (usize::from(n), rest),
        n => {
            let count = usize::from(n & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return false;
            }
            let (len_bytes, body) = rest.split_at(count);
            (len_bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), body)
        }
    };
    len == body.len()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

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
        Ok(Identity { cert_chain: parse_certificates(cert_chain_pem)?, key: parse_private_key(key_pem)? })
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

/// Decodes a base64 `*-data` field (whitespace ignored, as Go's decoder does).
pub(crate) fn decode_base64(data: &str, field: Box<FieldRef>) -> Result<Vec<u8>> {
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|source| Error::Base64 { field, source })
}

/// The bytes of a `*-data` field if set (it wins, as in kubectl), else of the file field if set.
/// Returns the field the bytes came from, for later error messages.
pub(crate) fn data_or_file(
    data: Option<&str>,
    data_field: impl FnOnce() -> Box<FieldRef>,
    file: Option<&Path>,
    file_field: impl FnOnce() -> Box<FieldRef>,
) -> Result<Option<(Vec<u8>, Box<FieldRef>)>> {
    if let Some(data) = data.filter(|d| !d.trim().is_empty()) {
        let field = data_field();
        return Ok(Some((decode_base64(data, field.clone())?, field)));
    }
    if let Some(path) = file.filter(|p| !p.as_os_str().is_empty()) {
        let field = file_field();
        let bytes = std::fs::read(path).map_err(|source| Error::ReadField {
            field: field.clone(),
            path: path.to_owned(),
            source,
        })?;
        return Ok(Some((bytes, field)));
    }
    Ok(None)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A self-signed test certificate (`CN=test-admin`, P-256), made for these tests only.
    pub(crate) const TEST_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBgTCCASegAwIBAgIUE5+AG22UVAzQ4gjYq+Z39MFtorowCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKdGVzdC1hZG1pbjAgFw0yNjExMjQyMzAxMTFaGA8yMTI2MTAz
MTIzMDExMVowFTETMBEGA1UEAwwKdGVzdC1hZG1pbjBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABI792F8uVDH85XdQmSbpzRoKgcrTWteQQnOslmnb7I4WusKdSnla
rFoDHFoEbu7/CGEwgTl+kzQSdnzHNu1E3M2jUzBRMB0GA1UdDgQWBBSe1OnYCZ39
h+8LtaX1WW/iQ9A/JTAfBgNVHSMEGDAWgBSe1OnYCZ39h+8LtaX1WW/iQ9A/JTAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQCFn3TFL93OcbRpE103
0k8oSbqjmehluUyMEtasJqpGgAIgbA+GbBanTqgc1rIIHnYxxUSjRs3mPIbFq5W3
rjrKw60=
-----END CERTIFICATE-----
";
    /// The private key of [`TEST_CERT`], made for these tests only.
    pub(crate) const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8uHCsN7JzlZPGvfh
Mz/Swr8do7+IupiOUPq3DDe+D9uhRANCAASO/dhfLlQx/OV3UJkm6c0aCoHK01rX
kEJzrJZp2+yOFrrCnUp5WqxaAxxaBG7u/whhMIE5fpM0EnZ8xzbtRNzN
-----END PRIVATE KEY-----
";
    pub(crate) const BAD_PEM: &str =
        "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n";

    #[test]
    fn parses_pem_chain_and_der() {
        let two = format!("{TEST_CERT}{TEST_CERT}");
        assert_eq!(parse_certificates(two.as_bytes()).unwrap().len(), 2);
        let der = parse_certificates(TEST_CERT.as_bytes()).unwrap().remove(0);
        assert_eq!(parse_certificates(der.as_ref()).unwrap(), vec![der.clone()]);
    }

    #[test]
    fn rejects_bad_pem() {
        assert!(matches!(parse_certificates(BAD_PEM.as_bytes()), Err(PemError::Pem(_))));
        assert!(matches!(parse_certificates(TEST_KEY.as_bytes()), Err(PemError::NoCertificates)));
        assert!(matches!(parse_certificates(b"hello"), Err(PemError::NoCertificates)));
        assert!(matches!(parse_private_key(TEST_CERT.as_bytes()), Err(PemError::NoPrivateKey)));
        let truncated = &TEST_CERT[..TEST_CERT.len() - 10];
        assert!(matches!(parse_certificates(truncated.as_bytes()), Err(PemError::Pem(_))));
    }

    #[test]
    fn certificate_and_key_bytes_must_be_valid_der() {
        let der = parse_certificates(TEST_CERT.as_bytes()).unwrap().remove(0);
        // a DER certificate cut short, or with a byte flipped in its structure
        let cut = &der.as_ref()[..der.as_ref().len() - 20];
        assert!(matches!(parse_certificates(cut), Err(PemError::InvalidDer { what: "certificate", .. })));
        // valid PEM and base64 around bytes that are no certificate
        let garbage = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
        let err = parse_certificates(garbage.as_bytes()).unwrap_err();
        assert!(err.to_string().starts_with("invalid certificate:"), "{err}");
        let garbage_key = "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n";
        let err = parse_private_key(garbage_key.as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "invalid private key: not a DER sequence");
        assert!(parse_private_key(TEST_KEY.as_bytes()).is_ok());
        assert!(is_der_sequence(&[0x30, 0x81, 0x01, 0x00]));
        assert!(!is_der_sequence(&[0x30, 0x81]) && !is_der_sequence(&[0x30, 0x02, 0x00]));
    }

    #[test]
    fn identity_debug_hides_the_key() {
        let id = Identity::from_pem(TEST_CERT.as_bytes(), TEST_KEY.as_bytes()).unwrap();
        assert_eq!(id.cert_chain().len(), 1);
        assert_eq!(id.clone(), id);
        let debug = format!("{id:?}");
        assert_eq!(debug, "Identity { certificates: 1, key: <redacted> }");
    }

    #[test]
    fn data_wins_over_file_and_errors_name_the_field() {
        use super::super::error::EntryKind;
        let field = |f| FieldRef::new(EntryKind::User, "admin", f, None);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cert");
        std::fs::write(&file, "from-file").unwrap();

        let (bytes, from) =
            data_or_file(Some("ZnJvbS1k\nYXRh"), || field("d"), Some(&file), || field("f")).unwrap().unwrap();
        assert_eq!((bytes.as_slice(), from.field), (&b"from-data"[..], "d"));
        let (bytes, from) = data_or_file(None, || field("d"), Some(&file), || field("f")).unwrap().unwrap();
        assert_eq!((bytes.as_slice(), from.field), (&b"from-file"[..], "f"));
        assert!(data_or_file(Some(""), || field("d"), None, || field("f")).unwrap().is_none());

        let err = data_or_file(Some("%%%"), || field("client-key-data"), None, || field("f")).unwrap_err();
        assert!(err.to_string().starts_with("failed to decode client-key-data of user \"admin\""), "{err}");
        let missing = dir.path().join("nope");
        let err = data_or_file(None, || field("d"), Some(&missing), || field("client-key")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("failed to read client-key of user \"admin\""), "{msg}");
        assert!(msg.contains(&missing.display().to_string()), "{msg}");
    }
}

//! Reading certificates and private keys from PEM (or DER) bytes.

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::error::PemError;

/// Parses certificates: every `CERTIFICATE` section of PEM data (other sections are ignored),
/// or, when the data is not PEM, one DER certificate. Each certificate must be a well-formed
/// X.509 certificate, so that bad bytes show here rather than in a later TLS handshake.
///
/// ```
/// use kube_client::config::certificates_from_pem;
///
/// assert!(certificates_from_pem(b"not a certificate").is_err());
/// // an ASN.1 SEQUENCE, but not a certificate
/// assert!(certificates_from_pem(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
/// ```
pub fn certificates_from_pem(data: &[u8]) -> Result<Vec<CertificateDer<'static>>, PemError> {
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
pub fn private_key_from_pem(data: &[u8]) -> Result<PrivateKeyDer<'static>, PemError> {
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
        assert_eq!(certificates_from_pem(two.as_bytes()).unwrap().len(), 2);
        let der = certificates_from_pem(TEST_CERT.as_bytes()).unwrap().remove(0);
        assert_eq!(certificates_from_pem(der.as_ref()).unwrap(), vec![der.clone()]);
    }

    #[test]
    fn rejects_bad_pem() {
        assert!(matches!(certificates_from_pem(BAD_PEM.as_bytes()), Err(PemError::Pem(_))));
        assert!(matches!(certificates_from_pem(TEST_KEY.as_bytes()), Err(PemError::NoCertificates)));
        assert!(matches!(certificates_from_pem(b"hello"), Err(PemError::NoCertificates)));
        assert!(matches!(private_key_from_pem(TEST_CERT.as_bytes()), Err(PemError::NoPrivateKey)));
        let truncated = &TEST_CERT[..TEST_CERT.len() - 10];
        assert!(matches!(certificates_from_pem(truncated.as_bytes()), Err(PemError::Pem(_))));
    }

    #[test]
    fn certificate_and_key_bytes_must_be_valid_der() {
        let der = certificates_from_pem(TEST_CERT.as_bytes()).unwrap().remove(0);
        // a DER certificate cut short, or with a byte flipped in its structure
        let cut = &der.as_ref()[..der.as_ref().len() - 20];
        assert!(matches!(certificates_from_pem(cut), Err(PemError::InvalidDer { what: "certificate", .. })));
        // valid PEM and base64 around bytes that are no certificate
        let garbage = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
        let err = certificates_from_pem(garbage.as_bytes()).unwrap_err();
        assert!(err.to_string().starts_with("invalid certificate:"), "{err}");
        let garbage_key = "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n";
        let err = private_key_from_pem(garbage_key.as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "invalid private key: not a DER sequence");
        assert!(private_key_from_pem(TEST_KEY.as_bytes()).is_ok());
        assert!(is_der_sequence(&[0x30, 0x81, 0x01, 0x00]));
        assert!(!is_der_sequence(&[0x30, 0x81]) && !is_der_sequence(&[0x30, 0x02, 0x00]));
    }
}

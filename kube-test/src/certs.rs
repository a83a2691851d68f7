//! A self-made CA and the certificates and keys of the test control plane, made with rcgen.
//!
//! Two CAs are made per environment: one signs the apiserver's serving certificate (clients
//! trust it through `certificate-authority-data`), the other signs user client certificates
//! (the apiserver trusts it through `--client-ca-file`). All keys are ECDSA P-256.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::{Error, Result};

/// Subject alternative names of the apiserver's serving certificate.
pub(crate) const SERVING_SANS: &[&str] = &[
    "127.0.0.1",
    "::1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// A PEM certificate with its PEM (PKCS#8) private key.
#[derive(Clone)]
pub(crate) struct CertKey {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

impl std::fmt::Debug for CertKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertKey").field("cert_pem", &self.cert_pem).field("key_pem", &"[elided]").finish()
    }
}

/// A certificate authority that can issue server and client certificates.
pub(crate) struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub(crate) cert_pem: String,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").field("cert_pem", &self.cert_pem).finish()
    }
}

impl Ca {
    /// Makes a new self-signed CA with the given common name.
    pub(crate) fn new(common_name: &str) -> Result<Self> {
        let what = || format!("the {common_name} CA");
        let key = KeyPair::generate().map_err(|e| Error::cert(what(), e))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let cert = params.self_signed(&key).map_err(|e| Error::cert(what(), e))?;
        Ok(Ca { issuer: Issuer::new(params, key), cert_pem: cert.pem() })
    }

    /// Issues a serving certificate for the given DNS names and IP addresses.
    pub(crate) fn issue_server(&self, common_name: &str, sans: &[&str]) -> Result<CertKey> {
        let what = || format!("the serving certificate for {common_name}");
        let key = KeyPair::generate().map_err(|e| Error::cert(what(), e))?;
        let names: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(names).map_err(|e| Error::cert(what(), e))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| Error::cert(what(), e))?;
        Ok(CertKey { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }

    /// Issues a client certificate with `CN=user` and one `O=` per group, which the apiserver
    /// maps to the user name and groups.
    pub(crate) fn issue_client(&self, user: &str, groups: &[String]) -> Result<CertKey> {
        let what = || format!("the client certificate for user {user}");
        let key = KeyPair::generate().map_err(|e| Error::cert(what(), e))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, user);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| Error::cert(what(), e))?;
        // rcgen keeps one value per attribute type, so a subject with several `O=` is put in
        // afterwards and the certificate signed again.
        let der = if groups.is_empty() {
            cert.der().to_vec()
        } else {
            let subject = der::subject(user, groups);
            der::replace_subject(cert.der(), &subject, self.issuer.key())
                .map_err(|e| Error::cert(what(), e))?
        };
        Ok(CertKey { cert_pem: der::pem("CERTIFICATE", &der), key_pem: key.serialize_pem() })
    }
}

/// Every key and certificate one environment needs.
#[derive(Debug)]
pub(crate) struct Pki {
    /// Signs the apiserver's serving certificate.
    pub(crate) serving_ca: Ca,
    /// Signs user client certificates; the apiserver's `--client-ca-file`.
    pub(crate) client_ca: Ca,
    /// The apiserver's serving certificate.
    pub(crate) serving: CertKey,
    /// The admin user's client certificate (`O=system:masters`).
    pub(crate) admin: CertKey,
    /// Private key that signs service-account tokens.
    pub(crate) service_account_key_pem: String,
    /// Its public key, which verifies them.
    pub(crate) service_account_pub_pem: String,
}

impl Pki {
    /// Generates the CAs, the serving certificate, the admin certificate and the
    /// service-account key.
    pub(crate) fn generate(admin_user: &str, admin_groups: &[String]) -> Result<Self> {
        let serving_ca = Ca::new("kube-test-ca")?;
        let client_ca = Ca::new("kube-test-client-ca")?;
        let serving = serving_ca.issue_server("kube-apiserver", SERVING_SANS)?;
        let admin = client_ca.issue_client(admin_user, admin_groups)?;
        let sa = KeyPair::generate().map_err(|e| Error::cert("the service-account signing key", e))?;
        Ok(Pki {
            serving_ca,
            client_ca,
            serving,
            admin,
            service_account_key_pem: sa.serialize_pem(),
            service_account_pub_pem: sa.public_key_pem(),
        })
    }
}

/// Just enough DER to put a multi-valued subject into a certificate.
mod der {
    use base64::Engine as _;
    use rcgen::SigningKey;

    const SEQUENCE: u8 = 0x30;
    const SET: u8 = 0x31;
    const UTF8_STRING: u8 = 0x0c;
    const BIT_STRING: u8 = 0x03;
    const OID_COMMON_NAME: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
    const OID_ORGANIZATION: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x0a];

    /// Encodes one TLV with a single-byte tag.
    pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    /// Splits `input` into its top-level TLVs (each returned whole, header included).
    pub(super) fn elements(mut input: &[u8]) -> Option<Vec<&[u8]>> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let (header, len) = header(input)?;
            let end = header.checked_add(len)?;
            out.push(input.get(..end)?);
            input = input.get(end..)?;
        }
        Some(out)
    }

    /// Header length and content length of the TLV at the start of `input`.
    fn header(input: &[u8]) -> Option<(usize, usize)> {
        let first = *input.get(1)?;
        if first < 0x80 {
            return Some((2, usize::from(first)));
        }
        let n = usize::from(first & 0x7f);
        if n == 0 || n > std::mem::size_of::<usize>() {
            return None;
        }
        let len = input.get(2..2 + n)?.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        Some((2 + n, len))
    }

    /// The content of the TLV at the start of `input`.
    fn content(input: &[u8]) -> Option<&[u8]> {
        let (h, len) = header(input)?;
        input.get(h..h.checked_add(len)?)
    }

    /// A subject of one `O=` per group followed by `CN=common_name`.
    pub(super) fn subject(common_name: &str, groups: &[String]) -> Vec<u8> {
        let rdn = |oid: &[u8], value: &str| {
            let mut atv = oid.to_vec();
            atv.extend(tlv(UTF8_STRING, value.as_bytes()));
            tlv(SET, &tlv(SEQUENCE, &atv))
        };
        let mut rdns: Vec<u8> = groups.iter().flat_map(|g| rdn(OID_ORGANIZATION, g)).collect();
        rdns.extend(rdn(OID_COMMON_NAME, common_name));
        tlv(SEQUENCE, &rdns)
    }

    /// Replaces the subject of a DER certificate and signs it again with `key`.
    pub(super) fn replace_subject(
        cert: &[u8],
        subject: &[u8],
        key: &impl SigningKey,
    ) -> Result<Vec<u8>, rcgen::Error> {
        let malformed = || rcgen::Error::CouldNotParseCertificate;
        let outer = elements(content(cert).ok_or_else(malformed)?).ok_or_else(malformed)?;
        let [tbs, sig_alg, _sig] = outer.as_slice() else {
            return Err(malformed());
        };
        let mut fields = elements(content(tbs).ok_or_else(malformed)?).ok_or_else(malformed)?;
        // version [0], serial, signature, issuer, validity, subject, ...
        let subject_at = if fields.first().map(|f| f[0]) == Some(0xa0) { 5 } else { 4 };
        let slot = fields.get_mut(subject_at).ok_or_else(malformed)?;
        *slot = subject;
        let tbs = tlv(SEQUENCE, &fields.concat());
        let mut sig = vec![0u8];
        sig.extend(key.sign(&tbs)?);
        let mut body = tbs;
        body.extend_from_slice(sig_alg);
        body.extend(tlv(BIT_STRING, &sig));
        Ok(tlv(SEQUENCE, &body))
    }

    /// PEM-encodes DER with the given label, 64 characters a line.
    pub(super) fn pem(label: &str, der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut out = format!("-----BEGIN {label}-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::{CertificateDer, pem::PemObject};

    fn der_of(pem: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem.as_bytes()).map(|c| c.to_vec()).unwrap_or_default()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn client_cert_has_every_group_as_organization() -> Result<()> {
        let ca = Ca::new("test-ca")?;
        let groups = vec!["group-a".to_owned(), "group-b".to_owned(), "group-c".to_owned()];
        let ck = ca.issue_client("alice", &groups)?;
        let der = der_of(&ck.cert_pem);
        let want = der::subject("alice", &groups);
        assert!(contains(&der, &want), "subject not found in certificate");
        // It still parses as a certificate: the outer structure has three elements.
        let outer = der::elements(&der).unwrap_or_default();
        assert_eq!(outer.len(), 1);
        Ok(())
    }

    #[test]
    fn client_cert_without_groups_has_only_common_name() -> Result<()> {
        let ca = Ca::new("test-ca")?;
        let ck = ca.issue_client("bob", &[])?;
        let der = der_of(&ck.cert_pem);
        assert!(contains(&der, b"bob"));
        assert!(!contains(&der, &[0x55, 0x04, 0x0a]), "no O= expected");
        Ok(())
    }

    #[test]
    fn tlv_long_lengths_round_trip() {
        let content = vec![7u8; 300];
        let encoded = der::tlv(0x04, &content);
        assert_eq!(&encoded[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let parts = der::elements(&encoded).unwrap_or_default();
        assert_eq!(parts, vec![encoded.as_slice()]);
    }

    #[test]
    fn pki_generates_pem() -> Result<()> {
        let pki = Pki::generate("admin", &["system:masters".to_owned()])?;
        assert!(pki.serving.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki.admin.key_pem.contains("PRIVATE KEY"));
        assert!(pki.service_account_pub_pem.contains("PUBLIC KEY"));
        Ok(())
    }
}

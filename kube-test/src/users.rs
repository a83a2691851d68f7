//! Users of the test cluster: client-certificate users and static-token users.

use crate::{Error, Kubeconfig, Result};

/// Name of the admin user whose client certificate is in [`TestEnv::kubeconfig`](crate::TestEnv::kubeconfig).
pub const ADMIN_USER: &str = "kube-test-admin";
/// Name of the token user in `system:masters` that every environment has.
pub const TOKEN_ADMIN_USER: &str = "kube-test-token-admin";
/// The group that RBAC lets do everything.
pub const SYSTEM_MASTERS: &str = "system:masters";

/// How a user authenticates to the apiserver.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A client certificate signed by the environment's client CA (`CN` = user, `O` = groups).
    ClientCertificate {
        /// The certificate, PEM.
        cert_pem: String,
        /// Its private key, PEM (PKCS#8).
        key_pem: String,
    },
    /// A bearer token from the apiserver's static token file.
    Token(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ClientCertificate { .. } => f.write_str("ClientCertificate([elided])"),
            Credentials::Token(_) => f.write_str("Token([elided])"),
        }
    }
}

/// A user of the test cluster with its credentials and a kubeconfig that uses them.
///
/// ```no_run
/// let env = kube_test::TestEnv::shared()?;
/// let alice = env.add_user_with_cert("alice", &["developers"])?;
/// let out = env.kubectl_as(&alice, ["auth", "whoami", "-o", "json"])?;
/// assert!(out.contains("alice"));
/// # Ok::<(), kube_test::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub(crate) name: String,
    pub(crate) groups: Vec<String>,
    pub(crate) credentials: Credentials,
    pub(crate) kubeconfig: Kubeconfig,
}

impl User {
    /// The user name as the apiserver sees it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The groups as given (the apiserver adds `system:authenticated`).
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The bearer token, for token users.
    pub fn token(&self) -> Option<&str> {
        match &self.credentials {
            Credentials::Token(t) => Some(t),
            Credentials::ClientCertificate { .. } => None,
        }
    }

    /// A kubeconfig file (and its contents) that connects as this user.
    pub fn kubeconfig(&self) -> &Kubeconfig {
        &self.kubeconfig
    }
}

impl AsRef<Kubeconfig> for User {
    fn as_ref(&self) -> &Kubeconfig {
        &self.kubeconfig
    }
}

impl AsRef<Kubeconfig> for Kubeconfig {
    fn as_ref(&self) -> &Kubeconfig {
        self
    }
}

/// A token user requested through [`TestEnvBuilder::token_user`](crate::TestEnvBuilder::token_user).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TokenUserSpec {
    pub(crate) name: String,
    pub(crate) token: String,
    pub(crate) groups: Vec<String>,
}

impl std::fmt::Debug for TokenUserSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenUserSpec")
            .field("name", &self.name)
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

impl TokenUserSpec {
    pub(crate) fn validate(&self) -> Result<()> {
        validate_user_name(&self.name)?;
        for g in &self.groups {
            validate_group(g)?;
        }
        if self.token.is_empty() {
            return Err(invalid("token", &self.token, "must not be empty"));
        }
        if self.token.chars().any(|c| c == ',' || c == '"' || c.is_whitespace() || c.is_control()) {
            return Err(invalid("token", "[elided]", "must not contain commas, quotes or whitespace"));
        }
        Ok(())
    }
}

fn invalid(what: &'static str, value: &str, reason: &'static str) -> Error {
    Error::InvalidName { what, value: value.to_owned(), reason }
}

/// Checks a user name for use in a certificate and in the token file.
pub(crate) fn validate_user_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid("user name", name, "must not be empty"));
    }
    if name.chars().any(|c| c == ',' || c == '"' || c.is_control()) {
        return Err(invalid("user name", name, "must not contain commas, quotes or control characters"));
    }
    Ok(())
}

/// Checks a group name (groups are comma-separated in the token file).
pub(crate) fn validate_group(group: &str) -> Result<()> {
    if group.is_empty() {
        return Err(invalid("group", group, "must not be empty"));
    }
    if group.chars().any(|c| c == ',' || c == '"' || c.is_control()) {
        return Err(invalid("group", group, "must not contain commas, quotes or control characters"));
    }
    Ok(())
}

/// The apiserver's `--token-auth-file`: `token,user,uid,"group1,group2"` per line.
pub(crate) fn token_file(users: &[TokenUserSpec]) -> String {
    users.iter().map(|u| format!("{},{},{},\"{}\"\n", u.token, u.name, u.name, u.groups.join(","))).collect()
}

/// A random-enough token for a test cluster on loopback: 128 bits from std's randomly seeded
/// hashers, mixed with the time and pid.
pub(crate) fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let part = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u32(std::process::id());
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        h.finish()
    };
    format!("{:016x}{:016x}", part(1), part(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_quotes_groups() {
        let users = vec![
            TokenUserSpec { name: "a".into(), token: "t1".into(), groups: vec!["g1".into(), "g2".into()] },
            TokenUserSpec { name: "b".into(), token: "t2".into(), groups: vec![] },
        ];
        assert_eq!(token_file(&users), "t1,a,a,\"g1,g2\"\nt2,b,b,\"\"\n");
    }

    #[test]
    fn rejects_names_that_break_the_token_file() {
        assert!(validate_user_name("a,b").is_err());
        assert!(validate_user_name("").is_err());
        assert!(validate_group("x\"y").is_err());
        assert!(validate_user_name("system:serviceaccount:ns:sa").is_ok());
        let spec = TokenUserSpec { name: "a".into(), token: "has space".into(), groups: vec![] };
        assert!(spec.validate().is_err());
    }

    #[test]
    fn random_tokens_differ() {
        let a = random_token();
        let b = random_token();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}

//! Kubeconfig files for the environment's users, with everything embedded.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::{Credentials, Error, Result};

/// Name of the cluster entry in every kubeconfig written by this crate.
pub const CLUSTER_NAME: &str = "kube-test";

/// A kubeconfig written to a file in the environment's directory, with the CA, the server URL
/// and one user's credentials embedded, and its context selected as `current-context`.
///
/// ```no_run
/// let env = kube_test::TestEnv::shared()?;
/// let kc = env.kubeconfig();
/// println!("export KUBECONFIG={}", kc.path().display());
/// assert!(kc.yaml().contains("current-context"));
/// # Ok::<(), kube_test::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Kubeconfig {
    path: PathBuf,
    value: Value,
    yaml: String,
    context: String,
}

impl std::fmt::Debug for Kubeconfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kubeconfig")
            .field("path", &self.path)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

impl Kubeconfig {
    /// Builds the kubeconfig for `user` and writes it to `path`.
    pub(crate) fn write(
        path: PathBuf,
        server: &str,
        ca_pem: &str,
        user: &str,
        credentials: &Credentials,
    ) -> Result<Self> {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let context = format!("{user}@{CLUSTER_NAME}");
        let user_entry = match credentials {
            Credentials::ClientCertificate { cert_pem, key_pem } => json!({
                "client-certificate-data": b64(cert_pem),
                "client-key-data": b64(key_pem),
            }),
            Credentials::Token(token) => json!({ "token": token }),
        };
        let value = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{
                "name": CLUSTER_NAME,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": b64(ca_pem),
                },
            }],
            "users": [{ "name": user, "user": user_entry }],
            "contexts": [{
                "name": context,
                "context": { "cluster": CLUSTER_NAME, "user": user },
            }],
            "current-context": context,
            "preferences": {},
        });
        let yaml = to_yaml(&value);
        write_private(&path, &yaml)?;
        Ok(Kubeconfig { path, value, yaml, context })
    }

    /// Path of the kubeconfig file (inside the environment's temporary directory).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's contents, as YAML.
    pub fn yaml(&self) -> &str {
        &self.yaml
    }

    /// The same kubeconfig as JSON (which kubectl and client libraries read as well).
    pub fn json(&self) -> String {
        self.value.to_string()
    }

    /// The kubeconfig as a JSON value, e.g. to pick out single fields.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Name of the context (also the `current-context`): `<user>@kube-test`.
    pub fn context(&self) -> &str {
        &self.context
    }
}

/// Writes a file readable only by its owner (it holds keys).
pub(crate) fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    file.write_all(contents.as_bytes()).map_err(|e| Error::io("write", path, e))
}

/// Renders a JSON value as block-style YAML; strings are double-quoted with JSON escapes,
/// which YAML reads the same way.
pub(crate) fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    emit(value, 0, &mut out);
    out
}

/// A string as a YAML scalar: plain when that reads back as the same string, else quoted.
fn yaml_string(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '@' | ':'))
        && !s.ends_with(':')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain { s.to_owned() } else { Value::String(s.to_owned()).to_string() }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(yaml_string(s)),
        Value::Object(map) if map.is_empty() => Some("{}".into()),
        Value::Array(items) if items.is_empty() => Some("[]".into()),
        Value::Object(_) | Value::Array(_) => None,
        other => Some(other.to_string()),
    }
}

fn emit(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                let key = yaml_string(key);
                match scalar(v) {
                    Some(s) => out.push_str(&format!("{pad}{key}: {s}\n")),
                    None => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        let child = if v.is_array() { indent } else { indent + 2 };
                        emit(v, child, out);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                match scalar(item) {
                    Some(s) => out.push_str(&format!("{pad}- {s}\n")),
                    None => {
                        // Render the item indented by two, then put the dash on its first line.
                        let mut inner = String::new();
                        emit(item, indent + 2, &mut inner);
                        let rest = inner.get(indent + 2..).unwrap_or("");
                        out.push_str(&format!("{pad}- {rest}"));
                    }
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other).unwrap_or_default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_round_trips_through_a_yaml_parser() -> Result<()> {
        let value = json!({
            "apiVersion": "v1",
            "list": [{"name": "a:b", "nested": {"x": 1, "y": [true, null]}}, "plain"],
            "empty": {},
            "quote": "say \"hi\"\n",
            "url": "https://127.0.0.1:6443",
            "tricky": ["true", "1.5", "a: b", "no", "x:", "", "-x", "~"],
        });
        let yaml = to_yaml(&value);
        let back: Value = serde_saphyr::from_str(&yaml).map_err(|e| Error::ManifestSyntax(Box::new(e)))?;
        assert_eq!(back, value, "yaml was:\n{yaml}");
        Ok(())
    }

    #[test]
    fn kubeconfig_embeds_credentials_and_selects_context() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("create", "tmp", e))?;
        let kc = Kubeconfig::write(
            dir.path().join("kc"),
            "https://127.0.0.1:1234",
            "CA",
            "alice",
            &Credentials::Token("secret".into()),
        )?;
        let v = kc.value();
        assert_eq!(v["current-context"], "alice@kube-test");
        assert_eq!(v["clusters"][0]["cluster"]["server"], "https://127.0.0.1:1234");
        assert_eq!(v["clusters"][0]["cluster"]["certificate-authority-data"], "Q0E=");
        assert_eq!(v["users"][0]["user"]["token"], "secret");
        let on_disk = std::fs::read_to_string(kc.path()).map_err(|e| Error::io("read", kc.path(), e))?;
        assert_eq!(on_disk, kc.yaml());
        let parsed: Value = serde_json::from_str(&kc.json())
            .map_err(|source| Error::Json { what: "kubeconfig".into(), source })?;
        assert_eq!(&parsed, v);
        Ok(())
    }
}

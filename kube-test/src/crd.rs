//! Installing CustomResourceDefinitions and waiting until they are established.

use std::time::Duration;

use serde_json::Value;

use crate::{
    Error, Result, TestEnv,
    apiserver::shorten,
    http::Request,
    wait::{self, Probe},
};

/// How long [`TestEnv::install_crd`] waits for `Established=True`.
pub const CRD_ESTABLISH_TIMEOUT: Duration = Duration::from_secs(30);

const CRD_PATH: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

impl TestEnv {
    /// Installs the CustomResourceDefinitions in a YAML or JSON manifest (several YAML
    /// documents are fine) by server-side apply, then waits until each is `Established`.
    /// Returns their names.
    ///
    /// ```no_run
    /// let env = kube_test::TestEnv::shared()?;
    /// let names = env.install_crd(r#"
    /// apiVersion: apiextensions.k8s.io/v1
    /// kind: CustomResourceDefinition
    /// metadata:
    ///   name: widgets.example.com
    /// spec:
    ///   group: example.com
    ///   names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
    ///   scope: Namespaced
    ///   versions:
    ///   - name: v1
    ///     served: true
    ///     storage: true
    ///     schema:
    ///       openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
    /// "#)?;
    /// assert_eq!(names, ["widgets.example.com"]);
    /// # Ok::<(), kube_test::Error>(())
    /// ```
    pub fn install_crd(&self, manifest: &str) -> Result<Vec<String>> {
        let docs = parse_crds(manifest)?;
        let mut names = Vec::with_capacity(docs.len());
        for (name, doc) in docs {
            let path = format!("{CRD_PATH}/{name}?fieldManager=kube-test&force=true");
            let body = doc.to_string();
            let resp = self.raw_request(
                &self.admin,
                Request::with_body("PATCH", &path, "application/apply-patch+yaml", body.as_bytes()),
            )?;
            if !resp.is_success() {
                return Err(Error::UnexpectedStatus {
                    method: "PATCH".into(),
                    path,
                    status: resp.status,
                    body: shorten(&resp.body, 2000),
                });
            }
            tracing::debug!(crd = %name, "applied CustomResourceDefinition");
            names.push(name);
        }
        for name in &names {
            self.wait_crd_established(name, CRD_ESTABLISH_TIMEOUT)?;
        }
        Ok(names)
    }

    /// Waits until the CRD `name` has the condition `Established=True`.
    pub fn wait_crd_established(&self, name: &str, timeout: Duration) -> Result<()> {
        let path = format!("{CRD_PATH}/{name}");
        wait::until(
            &format!("CustomResourceDefinition {name} to be Established"),
            timeout,
            Duration::from_millis(100),
            || {
                let resp = self.raw_request(&self.admin, Request::get(&path))?;
                if resp.status != 200 {
                    return Ok(Probe::NotYet(format!("HTTP {}: {}", resp.status, shorten(&resp.body, 500))));
                }
                let crd = resp.json()?;
                let conditions = crd["status"]["conditions"].as_array().cloned().unwrap_or_default();
                let established =
                    conditions.iter().any(|c| c["type"] == "Established" && c["status"] == "True");
                Ok(if established {
                    Probe::Ready(())
                } else {
                    Probe::NotYet(format!("conditions: {}", Value::Array(conditions)))
                })
            },
        )
    }
}

/// The CRDs in a manifest, with their names; anything else is an error.
fn parse_crds(manifest: &str) -> Result<Vec<(String, Value)>> {
    let docs: Vec<Value> = match serde_json::from_str::<Value>(manifest) {
        Ok(Value::Object(map)) if map.get("kind") == Some(&Value::from("List")) => {
            map.get("items").and_then(Value::as_array).cloned().unwrap_or_default()
        }
        Ok(value) => vec![value],
        Err(_) => {
            serde_saphyr::from_multiple::<Value>(manifest).map_err(|e| Error::ManifestSyntax(Box::new(e)))?
        }
    };
    let crds = docs
        .into_iter()
        .filter(|d| !d.is_null())
        .enumerate()
        .map(|(i, doc)| {
            let kind = doc["kind"].as_str().unwrap_or("");
            if kind != "CustomResourceDefinition" {
                return Err(Error::InvalidManifest(format!(
                    "document {} has kind `{kind}`, expected CustomResourceDefinition",
                    i + 1
                )));
            }
            let name = doc["metadata"]["name"].as_str().unwrap_or("");
            if name.is_empty() {
                return Err(Error::InvalidManifest(format!("document {} has no metadata.name", i + 1)));
            }
            Ok((name.to_owned(), doc))
        })
        .collect::<Result<Vec<_>>>()?;
    if crds.is_empty() {
        return Err(Error::InvalidManifest("no CustomResourceDefinition in the manifest".into()));
    }
    Ok(crds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multi_document_yaml() -> Result<()> {
        let yaml = "---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: a.example.com\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: b.example.com\n";
        let names: Vec<String> = parse_crds(yaml)?.into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a.example.com", "b.example.com"]);
        Ok(())
    }

    #[test]
    fn parses_json() -> Result<()> {
        let json = r#"{"kind":"CustomResourceDefinition","metadata":{"name":"c.example.com"}}"#;
        assert_eq!(parse_crds(json)?[0].0, "c.example.com");
        Ok(())
    }

    #[test]
    fn rejects_other_kinds() {
        let err = parse_crds("kind: ConfigMap\nmetadata:\n  name: x\n").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("invalid manifest: document 1 has kind `ConfigMap`, expected CustomResourceDefinition")
        );
    }
}

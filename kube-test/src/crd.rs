//! Installing CustomResourceDefinitions and waiting until they are established.

use std::time::Duration;

use serde_json::Value;

use crate::{
    Error, Result, TestEnv,
    apiserver::shorten,
    http::Request,
    wait::{self, Probe},
};

/// How long [`TestEnv::install_crd`] waits for each CRD to be `Established` and discoverable.
pub const CRD_ESTABLISH_TIMEOUT: Duration = Duration::from_secs(30);

const CRD_PATH: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

impl TestEnv {
    /// Installs the CustomResourceDefinitions in a YAML or JSON manifest (several YAML
    /// documents are fine) by server-side apply, then waits until each is `Established` and
    /// served by API discovery (see [`TestEnv::wait_crd_established`]).
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

    /// Waits until the CRD `name` has the condition `Established=True` for its current
    /// generation and names, and API discovery serves it: `/apis/<group>/<version>` lists its
    /// plural for every served version. Requests for the custom resources work afterwards.
    pub fn wait_crd_established(&self, name: &str, timeout: Duration) -> Result<()> {
        let path = format!("{CRD_PATH}/{name}");
        wait::until(
            &format!("CustomResourceDefinition {name} to be Established and served by discovery"),
            timeout,
            Duration::from_millis(100),
            || {
                let resp = self.raw_request(&self.admin, Request::get(&path))?;
                if resp.status != 200 {
                    return Ok(Probe::NotYet(format!("HTTP {}: {}", resp.status, shorten(&resp.body, 500))));
                }
                let crd = resp.json()?;
                if let Err(state) = established(&crd) {
                    return Ok(Probe::NotYet(state));
                }
                for discovery_path in discovery_paths(&crd) {
                    let resp = self.raw_request(&self.admin, Request::get(&discovery_path))?;
                    if resp.status != 200 {
                        return Ok(Probe::NotYet(format!(
                            "GET {discovery_path}: HTTP {}: {}",
                            resp.status,
                            shorten(&resp.body, 500)
                        )));
                    }
                    let plural = &crd["spec"]["names"]["plural"];
                    let listed = resp.json()?["resources"]
                        .as_array()
                        .is_some_and(|resources| resources.iter().any(|r| &r["name"] == plural));
                    if !listed {
                        return Ok(Probe::NotYet(format!("GET {discovery_path} does not list {plural} yet")));
                    }
                    // The storage of a new CRD answers 429 ("storage is (re)initializing") for a
                    // moment after it is listed: wait until objects can be listed.
                    let list_path =
                        format!("{discovery_path}/{}?limit=1", plural.as_str().unwrap_or_default());
                    let resp = self.raw_request(&self.admin, Request::get(&list_path))?;
                    if resp.status != 200 {
                        return Ok(Probe::NotYet(format!(
                            "GET {list_path}: HTTP {}: {}",
                            resp.status,
                            shorten(&resp.body, 500)
                        )));
                    }
                }
                Ok(Probe::Ready(()))
            },
        )
    }
}

/// Whether a CRD is `Established` for its current spec; else the state for a timeout error.
fn established(crd: &Value) -> std::result::Result<(), String> {
    let conditions = crd["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let generation = &crd["metadata"]["generation"];
    let current = conditions.iter().any(|c| {
        c["type"] == "Established"
            && c["status"] == "True"
            // Older apiservers do not set observedGeneration on CRD conditions.
            && (c["observedGeneration"].is_null() || &c["observedGeneration"] == generation)
    });
    let names_accepted = crd["status"]["acceptedNames"]["plural"] == crd["spec"]["names"]["plural"];
    if current && names_accepted {
        Ok(())
    } else {
        Err(format!(
            "generation {generation}, accepted names {}, conditions: {}",
            crd["status"]["acceptedNames"],
            Value::Array(conditions)
        ))
    }
}

/// The discovery paths `/apis/<group>/<version>` of a CRD's served versions.
fn discovery_paths(crd: &Value) -> Vec<String> {
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    crd["spec"]["versions"]
        .as_array()
        .map(|versions| {
            versions
                .iter()
                .filter(|v| v["served"] == true)
                .filter_map(|v| v["name"].as_str())
                .map(|v| format!("/apis/{group}/{v}"))
                .collect()
        })
        .unwrap_or_default()
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
    fn established_needs_current_generation_and_names() {
        let crd = |observed: u64, accepted: &str| {
            serde_json::json!({
                "metadata": {"generation": 2},
                "spec": {"group": "g.example.com", "names": {"plural": "widgets"},
                         "versions": [{"name": "v1", "served": true}, {"name": "v2", "served": false},
                                      {"name": "v3", "served": true}]},
                "status": {"acceptedNames": {"plural": accepted},
                           "conditions": [{"type": "Established", "status": "True", "observedGeneration": observed}]},
            })
        };
        assert!(established(&crd(2, "widgets")).is_ok());
        assert!(established(&crd(1, "widgets")).is_err());
        assert!(established(&crd(2, "gadgets")).is_err());
        assert_eq!(discovery_paths(&crd(2, "widgets")), ["/apis/g.example.com/v1", "/apis/g.example.com/v3"]);
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

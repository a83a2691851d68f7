//! The configurations that point the API server at a webhook server, so they need not be
//! written by hand: `ValidatingWebhookConfiguration`, `MutatingWebhookConfiguration` and a CRD's
//! `spec.conversion`.
//!
//! An [`Endpoint`] says where the server is (a URL, or a Service in the cluster) and which CA
//! signed its certificate; a [`Webhook`] adds what it admits and how the API server treats it.
//!
//! ```
//! use kube_webhook::config::{Endpoint, FailurePolicy, Rule, Webhook};
//! let ca_pem = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n";
//! let endpoint = Endpoint::service("operators", "foo-webhook").port(443).ca_bundle(ca_pem);
//! let hook = Webhook::new("validate.foos.example.com", endpoint.at("/validate-foos"))
//!     .rule(Rule::new(["CREATE", "UPDATE"], "example.com", "v1", "foos"))
//!     .failure_policy(FailurePolicy::Fail)
//!     .timeout_seconds(5);
//! let config = kube_webhook::config::validating("foo-webhook", [hook]);
//! let json = serde_json::to_value(&config).unwrap();
//! assert_eq!(json["webhooks"][0]["clientConfig"]["service"]["path"], "/validate-foos");
//! assert_eq!(json["webhooks"][0]["sideEffects"], "None");
//! assert_eq!(json["webhooks"][0]["admissionReviewVersions"][0], "v1");
//! ```

use k8s_openapi::{
    ByteString,
    api::admissionregistration::v1::{
        MutatingWebhook, MutatingWebhookConfiguration, RuleWithOperations, ServiceReference,
        ValidatingWebhook, ValidatingWebhookConfiguration, WebhookClientConfig,
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext,
    apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta},
};

/// Where the API server reaches the webhook server, and the CA it trusts for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    target: Target,
    ca_bundle: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Url(String),
    Service { namespace: String, name: String, port: Option<i32>, path: Option<String> },
}

impl Endpoint {
    /// An `https://` URL (host, port, and the path of a route), such as
    /// `https://127.0.0.1:9443`. Paths given to [`at`](Self::at) are appended.
    pub fn url(url: impl Into<String>) -> Self {
        Self { target: Target::Url(url.into()), ca_bundle: None }
    }

    /// A Service in the cluster (port 443 unless [`port`](Self::port) says otherwise).
    pub fn service(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        let target =
            Target::Service { namespace: namespace.into(), name: name.into(), port: None, path: None };
        Self { target, ca_bundle: None }
    }

    /// The Service's port (ignored for a URL).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        if let Target::Service { port: p, .. } = &mut self.target {
            *p = Some(i32::from(port));
        }
        self
    }

    /// The PEM CA certificate(s) that signed the server's certificate (the `caBundle`); without
    /// one the API server uses its own trust roots.
    #[must_use]
    pub fn ca_bundle(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.ca_bundle = Some(pem.as_ref().to_vec());
        self
    }

    /// This endpoint at `path` (a route of the server, such as `/validate-foos`).
    #[must_use]
    pub fn at(&self, path: &str) -> Self {
        let mut out = self.clone();
        match &mut out.target {
            Target::Url(url) => {
                let base = url.trim_end_matches('/');
                *url = format!("{base}/{}", path.trim_start_matches('/'));
            }
            Target::Service { path: p, .. } => *p = Some(format!("/{}", path.trim_start_matches('/'))),
        }
        out
    }

    fn admission(&self) -> WebhookClientConfig {
        let (url, service) = match &self.target {
            Target::Url(url) => (Some(url.clone()), None),
            Target::Service { namespace, name, port, path } => (
                None,
                Some(ServiceReference {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    port: *port,
                    path: path.clone(),
                }),
            ),
        };
        WebhookClientConfig { ca_bundle: self.ca_bundle.clone().map(ByteString), service, url }
    }

    fn conversion(&self) -> apiext::WebhookClientConfig {
        let (url, service) = match &self.target {
            Target::Url(url) => (Some(url.clone()), None),
            Target::Service { namespace, name, port, path } => (
                None,
                Some(apiext::ServiceReference {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    port: *port,
                    path: path.clone(),
                }),
            ),
        };
        apiext::WebhookClientConfig { ca_bundle: self.ca_bundle.clone().map(ByteString), service, url }
    }
}

/// What the API server does when the webhook cannot be reached or errs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// Reject the request (the API server's default).
    #[default]
    Fail,
    /// Admit the request as if the webhook had allowed it.
    Ignore,
}

/// Whether calling the webhook changes anything besides its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SideEffects {
    /// No side effects (dry-run requests may call it).
    #[default]
    None,
    /// Side effects that it skips on dry runs.
    NoneOnDryRun,
}

/// One admission rule: operations on resources of groups and versions.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule(RuleWithOperations);

impl Rule {
    /// `operations` (`CREATE`, `UPDATE`, `DELETE`, `CONNECT` or `*`) on `resource` (plural, or
    /// `resource/subresource`, or `*`) of `group` (empty for core) and `version`.
    pub fn new<'a>(
        operations: impl IntoIterator<Item = &'a str>,
        group: &str,
        version: &str,
        resource: &str,
    ) -> Self {
        Self(RuleWithOperations {
            operations: Some(operations.into_iter().map(str::to_owned).collect()),
            api_groups: Some(vec![group.to_owned()]),
            api_versions: Some(vec![version.to_owned()]),
            resources: Some(vec![resource.to_owned()]),
            scope: None,
        })
    }

    /// Only `Namespaced` or `Cluster` objects (default `*`: both).
    #[must_use]
    pub fn scope(mut self, scope: &str) -> Self {
        self.0.scope = Some(scope.to_owned());
        self
    }
}

/// One webhook of a configuration: its name, endpoint, rules and policies.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    name: String,
    endpoint: Endpoint,
    rules: Vec<RuleWithOperations>,
    failure_policy: FailurePolicy,
    side_effects: SideEffects,
    timeout_seconds: Option<i32>,
    namespace_selector: Option<LabelSelector>,
    object_selector: Option<LabelSelector>,
    reinvoke: bool,
}

impl Webhook {
    /// A webhook named `name` (a qualified name such as `validate.foos.example.com`) served at
    /// `endpoint`, with no rules yet, failure policy `Fail`, no side effects.
    pub fn new(name: impl Into<String>, endpoint: Endpoint) -> Self {
        Self {
            name: name.into(),
            endpoint,
            rules: Vec::new(),
            failure_policy: FailurePolicy::Fail,
            side_effects: SideEffects::None,
            timeout_seconds: None,
            namespace_selector: None,
            object_selector: None,
            reinvoke: false,
        }
    }

    /// Adds a rule.
    #[must_use]
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule.0);
        self
    }

    /// The failure policy.
    #[must_use]
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.failure_policy = policy;
        self
    }

    /// The side effects.
    #[must_use]
    pub fn side_effects(mut self, side_effects: SideEffects) -> Self {
        self.side_effects = side_effects;
        self
    }

    /// How long the API server waits for an answer, 1 to 30 seconds (10 unless set).
    #[must_use]
    pub fn timeout_seconds(mut self, seconds: u8) -> Self {
        self.timeout_seconds = Some(i32::from(seconds.clamp(1, 30)));
        self
    }

    /// Only objects in namespaces whose labels match.
    #[must_use]
    pub fn namespace_selector(mut self, selector: LabelSelector) -> Self {
        self.namespace_selector = Some(selector);
        self
    }

    /// Only objects whose labels match.
    #[must_use]
    pub fn object_selector(mut self, selector: LabelSelector) -> Self {
        self.object_selector = Some(selector);
        self
    }

    /// Mutating webhooks: be called again when a later webhook changed the object
    /// (`reinvocationPolicy: IfNeeded`).
    #[must_use]
    pub fn reinvoke_if_needed(mut self) -> Self {
        self.reinvoke = true;
        self
    }

    fn failure_policy_str(&self) -> String {
        match self.failure_policy {
            FailurePolicy::Fail => "Fail",
            FailurePolicy::Ignore => "Ignore",
        }
        .to_owned()
    }

    fn side_effects_str(&self) -> String {
        match self.side_effects {
            SideEffects::None => "None",
            SideEffects::NoneOnDryRun => "NoneOnDryRun",
        }
        .to_owned()
    }

    fn validating(self) -> ValidatingWebhook {
        ValidatingWebhook {
            admission_review_versions: vec!["v1".to_owned()],
            client_config: self.endpoint.admission(),
            failure_policy: Some(self.failure_policy_str()),
            side_effects: self.side_effects_str(),
            match_conditions: None,
            match_policy: None,
            name: self.name,
            namespace_selector: self.namespace_selector,
            object_selector: self.object_selector,
            rules: Some(self.rules),
            timeout_seconds: self.timeout_seconds,
        }
    }

    fn mutating(self) -> MutatingWebhook {
        MutatingWebhook {
            admission_review_versions: vec!["v1".to_owned()],
            client_config: self.endpoint.admission(),
            failure_policy: Some(self.failure_policy_str()),
            side_effects: self.side_effects_str(),
            match_conditions: None,
            match_policy: None,
            reinvocation_policy: Some(if self.reinvoke { "IfNeeded" } else { "Never" }.to_owned()),
            name: self.name,
            namespace_selector: self.namespace_selector,
            object_selector: self.object_selector,
            rules: Some(self.rules),
            timeout_seconds: self.timeout_seconds,
        }
    }
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.to_owned()), ..ObjectMeta::default() }
}

/// A `ValidatingWebhookConfiguration` named `name` with these webhooks.
pub fn validating(name: &str, webhooks: impl IntoIterator<Item = Webhook>) -> ValidatingWebhookConfiguration {
    ValidatingWebhookConfiguration {
        metadata: meta(name),
        webhooks: Some(webhooks.into_iter().map(Webhook::validating).collect()),
    }
}

/// A `MutatingWebhookConfiguration` named `name` with these webhooks.
pub fn mutating(name: &str, webhooks: impl IntoIterator<Item = Webhook>) -> MutatingWebhookConfiguration {
    MutatingWebhookConfiguration {
        metadata: meta(name),
        webhooks: Some(webhooks.into_iter().map(Webhook::mutating).collect()),
    }
}

/// A CRD's `spec.conversion` for a conversion webhook at `endpoint` (with its path, see
/// [`Endpoint::at`]): strategy `Webhook`, `ConversionReview` v1.
pub fn crd_conversion(endpoint: &Endpoint) -> apiext::CustomResourceConversion {
    apiext::CustomResourceConversion {
        strategy: "Webhook".to_owned(),
        webhook: Some(apiext::WebhookConversion {
            client_config: Some(endpoint.conversion()),
            conversion_review_versions: vec!["v1".to_owned()],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_endpoints_join_paths_and_encode_the_ca() {
        let endpoint = Endpoint::url("https://127.0.0.1:9443/").ca_bundle("PEM");
        let hook = Webhook::new("m.example.com", endpoint.at("mutate"))
            .rule(Rule::new(["CREATE"], "", "v1", "configmaps").scope("Namespaced"))
            .failure_policy(FailurePolicy::Ignore)
            .side_effects(SideEffects::NoneOnDryRun)
            .timeout_seconds(60)
            .reinvoke_if_needed();
        let json = serde_json::to_value(mutating("m", [hook])).unwrap();
        assert_eq!(json["metadata"]["name"], "m");
        let w = &json["webhooks"][0];
        assert_eq!(w["clientConfig"], json!({"url": "https://127.0.0.1:9443/mutate", "caBundle": "UEVN"}));
        assert_eq!(
            w["rules"],
            json!([{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"], "scope": "Namespaced"}])
        );
        assert_eq!(w["failurePolicy"], "Ignore");
        assert_eq!(w["sideEffects"], "NoneOnDryRun");
        assert_eq!(w["timeoutSeconds"], 30, "clamped to the API server's maximum");
        assert_eq!(w["reinvocationPolicy"], "IfNeeded");
    }

    #[test]
    fn crd_conversion_with_a_service() {
        let endpoint = Endpoint::service("ops", "conv").port(8443).at("/convert");
        let json = serde_json::to_value(crd_conversion(&endpoint)).unwrap();
        assert_eq!(
            json,
            json!({"strategy": "Webhook", "webhook": {
            "conversionReviewVersions": ["v1"],
            "clientConfig": {"service": {"namespace": "ops", "name": "conv", "port": 8443, "path": "/convert"}}}})
        );
    }
}

//! Validating and mutating webhooks called by the real API server by URL: denials with their
//! message, warnings shown by kubectl, defaults in the stored object, and the failure policy
//! when the webhook is too slow.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::{Served, apply, client_of, eventually, kubectl, shared, test_namespace};
use k8s_openapi::{api::core::v1::ConfigMap, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube_client::{Api, Error};
use kube_core::{admission::AdmissionRequest, params::PostParams};
use kube_webhook::{
    Defaulter, Denial, Validator,
    config::{self, FailurePolicy, Rule, Webhook},
};

fn configmap(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        data: Some(data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>()),
        ..Default::default()
    }
}

fn denial_message(result: Result<ConfigMap, Error>) -> Option<String> {
    match result {
        Err(Error::Api(status)) => Some(status.message),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validating_webhook_denies_with_its_message_and_warns() {
    let env = shared();
    let (ns, selector) = test_namespace(env, "validate").await;
    let validator = Validator::new(|req: AdmissionRequest<ConfigMap>| async move {
        let data = req.object.and_then(|cm| cm.data).unwrap_or_default();
        if data.contains_key("password") {
            return Err(Denial::new("configmaps must not hold passwords; use a Secret"));
        }
        Ok(if data.is_empty() { vec!["this configmap has no data".to_owned()] } else { vec![] })
    });
    let served = Served::start(|s| s.route("/validate", validator)).await;
    let hook = Webhook::new("validate.configmaps.kube-webhook.test", served.endpoint().at("/validate"))
        .rule(Rule::new(["CREATE", "UPDATE"], "", "v1", "configmaps"))
        .namespace_selector(selector)
        .timeout_seconds(5);
    apply(env, &config::validating(&format!("validate-{ns}"), [hook])).await;

    let api: Api<ConfigMap> = Api::namespaced(client_of(env), &ns);
    let dry = PostParams { dry_run: true, ..Default::default() };
    eventually("the validating webhook to be called", || {
        let api = api.clone();
        let dry = dry.clone();
        async move { denial_message(api.create(&dry, &configmap("probe", &[("password", "x")])).await).is_some() }
    })
    .await;

    let message = denial_message(
        api.create(&PostParams::default(), &configmap("bad", &[("password", "hunter2")])).await,
    )
    .expect("a denial");
    assert!(message.contains("configmaps must not hold passwords; use a Secret"), "{message}");
    assert!(
        message.contains("validate.configmaps.kube-webhook.test"),
        "the message names the webhook: {message}"
    );
    api.create(&PostParams::default(), &configmap("good", &[("k", "v")])).await.unwrap();

    let err = kubectl(env, &["create", "configmap", "bad2", "-n", &ns, "--from-literal=password=x"], None)
        .await
        .unwrap_err();
    assert!(err.contains("configmaps must not hold passwords"), "{err}");
    let out = kubectl(env, &["create", "configmap", "empty", "-n", &ns], None).await.unwrap();
    assert!(out.stderr.contains("Warning: this configmap has no data"), "stderr: {}", out.stderr);
    assert!(out.stdout.contains("configmap/empty created"), "stdout: {}", out.stdout);

    let metrics = served.metrics_text();
    assert!(metrics.contains(r#"kube_webhook_admission_denials_total{webhook="/validate"}"#), "{metrics}");
    assert!(
        metrics.contains(r#"controller_runtime_webhook_requests_total{code="200",webhook="/validate"}"#),
        "{metrics}"
    );
    kubectl(env, &["delete", "validatingwebhookconfiguration", &format!("validate-{ns}")], None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutating_webhook_defaults_are_stored() {
    let env = shared();
    let (ns, selector) = test_namespace(env, "mutate").await;
    let defaulter = Defaulter::new(|mut cm: ConfigMap, req: AdmissionRequest<ConfigMap>| async move {
        let labels = cm.metadata.labels.get_or_insert_default();
        labels.entry("team".into()).or_insert_with(|| "unassigned".into());
        let user = req.user_info.username.unwrap_or_default();
        cm.metadata.annotations.get_or_insert_default().insert("example.com/created-by".into(), user);
        cm.data.get_or_insert_default().entry("log-level".into()).or_insert_with(|| "info".into());
        Ok(cm)
    });
    let served = Served::start(|s| s.route("/mutate", defaulter)).await;
    let hook = Webhook::new("default.configmaps.kube-webhook.test", served.endpoint().at("/mutate"))
        .rule(Rule::new(["CREATE"], "", "v1", "configmaps"))
        .namespace_selector(selector);
    apply(env, &config::mutating(&format!("mutate-{ns}"), [hook])).await;

    let api: Api<ConfigMap> = Api::namespaced(client_of(env), &ns);
    let dry = PostParams { dry_run: true, ..Default::default() };
    eventually("the mutating webhook to be called", || {
        let api = api.clone();
        let dry = dry.clone();
        async move {
            let cm = api.create(&dry, &configmap("probe", &[])).await.unwrap();
            cm.metadata.labels.is_some_and(|l| l.contains_key("team"))
        }
    })
    .await;

    api.create(&PostParams::default(), &configmap("app", &[("log-level", "debug")])).await.unwrap();
    let stored = api.get("app").await.unwrap();
    assert_eq!(stored.metadata.labels.unwrap()["team"], "unassigned");
    assert_eq!(stored.metadata.annotations.unwrap()["example.com/created-by"], env.admin().name());
    let data = stored.data.unwrap();
    assert_eq!(data["log-level"], "debug", "an explicit value is kept");
    kubectl(env, &["delete", "mutatingwebhookconfiguration", &format!("mutate-{ns}")], None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_webhook_times_out_and_the_failure_policy_applies() {
    let env = shared();
    let (ns, selector) = test_namespace(env, "slow").await;
    let slow = || {
        Validator::new(|req: AdmissionRequest<ConfigMap>| async move {
            if req.name.starts_with("slow") {
                tokio::time::sleep(Duration::from_secs(4)).await;
            }
            Err(Denial::new("denied by the webhook"))
        })
    };
    let served = Served::start(|s| s.route("/fail", slow()).route("/ignore", slow())).await;
    let hook = |name: &str, path: &str, policy, prefix: &str| {
        let mut selector = selector.clone();
        selector.match_expressions = None;
        Webhook::new(name, served.endpoint().at(path))
            .rule(Rule::new(["CREATE"], "", "v1", "configmaps"))
            .namespace_selector(selector)
            .object_selector(k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                match_labels: Some([("policy".to_owned(), prefix.to_owned())].into()),
                ..Default::default()
            })
            .failure_policy(policy)
            .timeout_seconds(1)
    };
    apply(
        env,
        &config::validating(
            &format!("slow-{ns}"),
            [
                hook("fail.kube-webhook.test", "/fail", FailurePolicy::Fail, "fail"),
                hook("ignore.kube-webhook.test", "/ignore", FailurePolicy::Ignore, "ignore"),
            ],
        ),
    )
    .await;

    let api: Api<ConfigMap> = Api::namespaced(client_of(env), &ns);
    let labelled = |name: &str, policy: &str| {
        let mut cm = configmap(name, &[]);
        cm.metadata.labels = Some([("policy".to_owned(), policy.to_owned())].into());
        cm
    };
    let dry = PostParams { dry_run: true, ..Default::default() };
    eventually("both webhooks to be called", || {
        let (api, dry) = (api.clone(), dry.clone());
        let (a, b) = (labelled("quick-a", "fail"), labelled("quick-b", "ignore"));
        async move { api.create(&dry, &a).await.is_err() && api.create(&dry, &b).await.is_err() }
    })
    .await;

    let started = std::time::Instant::now();
    let message = denial_message(api.create(&PostParams::default(), &labelled("slow-fail", "fail")).await)
        .expect("failurePolicy Fail rejects a request whose webhook timed out");
    assert!(message.contains("fail.kube-webhook.test") && message.contains("deadline"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(4), "the API server gave up after its timeout");
    api.create(&PostParams::default(), &labelled("slow-ignore", "ignore"))
        .await
        .expect("failurePolicy Ignore admits a request whose webhook timed out");
    kubectl(env, &["delete", "validatingwebhookconfiguration", &format!("slow-{ns}")], None).await.unwrap();
}

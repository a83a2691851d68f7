//! Certificate rotation: new certificate files (a new leaf and key from the same CA, written as
//! cert-manager does) are picked up by new connections while the API server keeps admitting
//! through the webhook and connections opened before keep working.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::{HttpsClient, Served, apply, client_of, eventually, kubectl, shared, test_namespace};
use k8s_openapi::{api::core::v1::ConfigMap, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube_client::{Api, Error};
use kube_core::{admission::AdmissionRequest, params::PostParams};
use kube_webhook::{
    Denial, Validator,
    config::{self, Rule, Webhook},
};
use rustls_pki_types::{CertificateDer, pem::PemObject};

fn probe(name: &str) -> ConfigMap {
    ConfigMap { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() }
}

/// Whether the API server answered with the webhook's own denial (not a call failure).
async fn denied_by_webhook(api: &Api<ConfigMap>, name: &str) -> Result<(), String> {
    let dry = PostParams { dry_run: true, ..Default::default() };
    match api.create(&dry, &probe(name)).await {
        Err(Error::Api(s)) if s.message.contains("rotation test says no") => Ok(()),
        Err(e) => Err(e.to_string()),
        Ok(_) => Err("admitted".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_certificates_are_served_without_interrupting_admission() {
    let env = shared();
    let (ns, selector) = test_namespace(env, "rotation").await;
    let validator = Validator::new(|_req: AdmissionRequest<ConfigMap>| async {
        Err(Denial::new("rotation test says no"))
    });
    let served = Served::start(|s| s.route("/validate", validator)).await;
    let hook = Webhook::new("rotation.kube-webhook.test", served.endpoint().at("/validate"))
        .rule(Rule::new(["CREATE"], "", "v1", "configmaps"))
        .namespace_selector(selector)
        .timeout_seconds(5);
    apply(env, &config::validating(&format!("rotation-{ns}"), [hook])).await;
    let api: Api<ConfigMap> = Api::namespaced(client_of(env), &ns);
    eventually("the webhook to be called", || {
        let api = api.clone();
        async move { denied_by_webhook(&api, "probe").await.is_ok() }
    })
    .await;

    // Admission requests through the API server all along.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failures) = (Arc::new(AtomicUsize::new(0)), Arc::new(std::sync::Mutex::new(Vec::new())));
    let traffic = {
        let (api, stop, ok, failures) = (api.clone(), stop.clone(), ok.clone(), failures.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                match denied_by_webhook(&api, &format!("during-{i}")).await {
                    Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        failures.lock().unwrap().push(e);
                        0
                    }
                };
            }
        })
    };

    let client = HttpsClient::new(served.addr, served.ca.ca_pem());
    let (first_leaf, mut old_conn) = client.connect().await.unwrap();
    for round in 1..=3 {
        let next = served.ca.issue_server("webhook").unwrap();
        let next_der = CertificateDer::from_pem_slice(next.cert_pem.as_bytes()).unwrap();
        // The certificate first, the key a moment later: the watcher must wait for a matching pair.
        std::fs::write(&served.cert_file, &next.cert_pem).unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
        std::fs::write(&served.key_file, &next.key_pem).unwrap();
        eventually(&format!("rotation {round} to be served"), || {
            let (client, want) = (&client, next_der.clone());
            async move { client.connect().await.is_ok_and(|(leaf, _)| leaf == want) }
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // A connection from before the rotations still works.
    assert_ne!(first_leaf, client.connect().await.unwrap().0);
    let body = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "old-conn", "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
        "resource": {"group": "", "version": "v1", "resource": "configmaps"}, "operation": "CREATE",
        "userInfo": {}, "object": {"metadata": {"name": "x"}}}});
    let req = http::Request::post("/validate")
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(body.to_string())))
        .unwrap();
    assert_eq!(old_conn.send_request(req).await.unwrap().status(), 200);

    // And admission through the API server never failed, before, during or after.
    stop.store(true, Ordering::Relaxed);
    traffic.await.unwrap();
    let failures = failures.lock().unwrap().clone();
    assert!(failures.is_empty(), "admission failed during rotation: {failures:?}");
    assert!(ok.load(Ordering::Relaxed) >= 5, "only {} admissions", ok.load(Ordering::Relaxed));
    denied_by_webhook(&api, "after").await.unwrap();
    let metrics = served.metrics_text();
    assert!(metrics.contains("kube_webhook_certificate_reloads_total 3"), "{metrics}");
    kubectl(env, &["delete", "validatingwebhookconfiguration", &format!("rotation-{ns}")], None)
        .await
        .unwrap();
}

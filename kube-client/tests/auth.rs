//! Exec credential plugins that hand out client certificates, against a real kube-apiserver:
//! a plugin returning only a certificate, and a certificate rotated when it expires, through
//! one `Client` (and one HTTP/2 connection pool).
//!
//! OIDC is tested against a local issuer in the unit tests of `auth::oidc` and
//! `auth::layer` (an apiserver with OIDC flags is not started here).

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime},
};

use k8s_openapi::api::{authentication::v1::SelfSubjectReview, core::v1::Namespace};
use kube_client::{
    Client, Config, Error,
    auth::{Auth, ExecAuth},
    config::{ExecConfig, ExecInteractiveMode, certificates_from_pem},
};
use kube_core::{
    ObjectList, Resource,
    params::{ListParams, PostParams},
    request::Request,
};
use kube_test::Credentials;

use common::{config_from, env, write_exec_kubeconfig};

/// The certificate and key PEM of a new client-certificate user.
fn cert_user(name: &str, groups: &[&str]) -> (String, String) {
    let user = env().add_user_with_cert(name, groups).unwrap();
    match user.credentials() {
        Credentials::ClientCertificate { cert_pem, key_pem } => (cert_pem.clone(), key_pem.clone()),
        other => panic!("expected a client certificate, got {other:?}"),
    }
}

/// An `ExecCredential` holding only a client certificate.
fn cert_credential(cert_pem: &str, key_pem: &str, expiration: Option<jiff::Timestamp>) -> String {
    let mut status = serde_json::json!({"clientCertificateData": cert_pem, "clientKeyData": key_pem});
    if let Some(exp) = expiration {
        status["expirationTimestamp"] = exp.to_string().into();
    }
    serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": status,
    })
    .to_string()
}

/// A plugin that prints `dir/cred.json` and counts its runs in `dir/runs`.
fn file_plugin(dir: &Path) -> std::path::PathBuf {
    let plugin = dir.join("plugin.sh");
    std::fs::write(
        &plugin,
        format!("#!/bin/sh\necho run >> '{0}/runs'\ncat '{0}/cred.json'\n", dir.display()),
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    plugin
}

fn runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("runs")).map(|s| s.lines().count()).unwrap_or(0)
}

/// The user name the apiserver sees (a SelfSubjectReview, allowed to every authenticated user).
async fn whoami(client: &Client) -> String {
    let body = serde_json::to_vec(&serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "SelfSubjectReview",
    }))
    .unwrap();
    let req =
        Request::new(SelfSubjectReview::url_path(&(), None)).create(&PostParams::default(), body).unwrap();
    let review: SelfSubjectReview = client.request(req).await.unwrap();
    review.status.unwrap().user_info.unwrap().username.unwrap()
}

async fn list_namespaces(client: &Client) -> Result<ObjectList<Namespace>, Error> {
    client.request(Request::new(Namespace::url_path(&(), None)).list(&ListParams::default())?).await
}

#[tokio::test]
async fn exec_plugin_with_only_a_client_certificate() {
    let (cert_pem, key_pem) = cert_user("exec-cert-admin", &["system:masters"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cred.json"), cert_credential(&cert_pem, &key_pem, None)).unwrap();
    let plugin = file_plugin(dir.path());
    let path = write_exec_kubeconfig(dir.path(), &plugin);

    let client = Client::try_from(config_from(&path)).unwrap();
    assert_eq!(runs(dir.path()), 0, "building the client does not run the plugin");
    assert_eq!(whoami(&client).await, "exec-cert-admin");
    list_namespaces(&client).await.unwrap();
    assert_eq!(runs(dir.path()), 1, "the credential is cached between requests");
}

#[tokio::test]
async fn exec_client_certificate_is_rotated_when_it_expires() {
    let (nobody_cert, nobody_key) = cert_user("rotation-nobody", &[]);
    let (admin_cert, admin_key) = cert_user("rotation-admin", &["system:masters"]);
    let dir = tempfile::tempdir().unwrap();
    let skew = Duration::from_secs(1);
    let expires = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + 6).unwrap();
    std::fs::write(dir.path().join("cred.json"), cert_credential(&nobody_cert, &nobody_key, Some(expires)))
        .unwrap();
    let plugin = file_plugin(dir.path());

    let mut config = Config::new(env().server_url().parse().unwrap());
    config.root_certs = certificates_from_pem(env().ca_pem().as_bytes()).unwrap();
    let exec = ExecConfig {
        api_version: Some("client.authentication.k8s.io/v1".into()),
        command: plugin.display().to_string(),
        interactive_mode: Some(ExecInteractiveMode::Never),
        ..ExecConfig::default()
    };
    config.auth = Auth::Exec(Arc::new(ExecAuth::new(exec, None).with_expiry_skew(skew)));
    let client = Client::try_from(config).unwrap();

    // certificate A: authenticated, without rights
    assert_eq!(whoami(&client).await, "rotation-nobody");
    let err = list_namespaces(&client).await.unwrap_err();
    let status = err.status().unwrap_or_else(|| panic!("expected an api error, got {err}"));
    assert!(status.is_forbidden(), "{status:?}");
    let resp = client
        .send(Request::new(Namespace::url_path(&(), None)).list(&ListParams::default()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2, "one multiplexed connection, kept in the pool");

    // the plugin hands out certificate B from now on; A is used until it expires
    std::fs::write(dir.path().join("cred.json"), cert_credential(&admin_cert, &admin_key, None)).unwrap();
    let refresh_at = SystemTime::from(expires) - skew + Duration::from_millis(200);
    if let Ok(wait) = refresh_at.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }

    // the same client: the plugin runs again and new connections present certificate B
    assert_eq!(whoami(&client).await, "rotation-admin");
    let namespaces = list_namespaces(&client).await.unwrap();
    assert!(namespaces.items.iter().any(|ns| ns.metadata.name.as_deref() == Some("default")));
    assert!(runs(dir.path()) >= 2, "the plugin ran again after the expiry");
    let runs_after = runs(dir.path());
    list_namespaces(&client).await.unwrap();
    assert_eq!(runs(dir.path()), runs_after, "certificate B has no expiry and stays cached");
}

//! The transport against a real kube-apiserver: client certificates, tokens, exec plugins, a
//! CONNECT proxy, HTTP/2, and the typed errors for 401 and 403.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{path::Path, sync::atomic::Ordering};

use common::{config_from, env, start_connect_proxy, write_exec_kubeconfig};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube_client::{Client, Config, Error, auth::Auth, config::SecretString};
use kube_core::{
    ObjectList, Resource, WatchEvent,
    params::{GetParams, ListParams, PostParams, WatchParams},
    request::Request,
};

fn admin_config() -> Config {
    config_from(env().admin().kubeconfig().path())
}

async fn get_default_namespace(client: &Client) -> Result<Namespace, Error> {
    let req = Request::new(Namespace::url_path(&(), None)).get("default", &GetParams::default())?;
    client.request(req).await
}

#[tokio::test]
async fn client_certificate_over_http2() {
    let client = Client::try_from(admin_config()).unwrap();
    let ns = get_default_namespace(&client).await.unwrap();
    assert_eq!(ns.metadata.name.as_deref(), Some("default"));

    let req = Request::new(Namespace::url_path(&(), None)).get("default", &GetParams::default()).unwrap();
    let resp = client.send(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2, "the apiserver offers h2 and the client takes it");
}

#[tokio::test]
async fn bearer_token() {
    let mut config = Config::new(env().server_url().parse().unwrap());
    config.root_certs = kube_client::config::certificates_from_pem(env().ca_pem().as_bytes()).unwrap();
    config.auth = Auth::Token(SecretString::new(env().token_admin().token().unwrap()));
    let client = Client::try_from(config).unwrap();
    get_default_namespace(&client).await.unwrap();
}

#[tokio::test]
async fn bad_token_is_a_typed_401() {
    let mut config = Config::new(env().server_url().parse().unwrap());
    config.root_certs = kube_client::config::certificates_from_pem(env().ca_pem().as_bytes()).unwrap();
    config.auth = Auth::Token(SecretString::new("not-a-valid-token"));
    let err = get_default_namespace(&Client::try_from(config).unwrap()).await.unwrap_err();
    let status = err.status().unwrap_or_else(|| panic!("expected an api error, got {err}"));
    assert!(status.is_unauthorized(), "{status:?}");
    assert_eq!(status.code, 401);
}

#[tokio::test]
async fn user_without_rights_is_a_typed_403() {
    let user = env().add_user_with_cert("nobody-transport", &[] as &[&str]).unwrap();
    let client = Client::try_from(config_from(user.kubeconfig().path())).unwrap();
    let err = get_default_namespace(&client).await.unwrap_err();
    let status = err.status().unwrap_or_else(|| panic!("expected an api error, got {err}"));
    assert!(status.is_forbidden(), "{status:?}");
    assert!(status.message.contains("nobody-transport"), "{}", status.message);
}

#[tokio::test]
async fn unknown_ca_is_a_tls_transport_error() {
    let mut config = admin_config();
    config.root_certs = kube_client::config::certificates_from_pem(env().client_ca_pem().as_bytes()).unwrap();
    let err = get_default_namespace(&Client::try_from(config).unwrap()).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    let chain = format!("{:?}", anyhow_chain(&err));
    assert!(chain.to_lowercase().contains("certificate"), "{chain}");
}

fn anyhow_chain(e: &dyn std::error::Error) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push(s.to_string());
        cur = s.source();
    }
    out
}

#[tokio::test]
async fn exec_plugin_token() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("plugin.sh");
    let token = env().token_admin().token().unwrap();
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\necho run >> {}/runs\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"}}}}'\n",
            dir.path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = write_exec_kubeconfig(dir.path(), &plugin);
    let client = Client::try_from(config_from(&path)).unwrap();
    get_default_namespace(&client).await.unwrap();
    get_default_namespace(&client).await.unwrap();
    let runs = std::fs::read_to_string(dir.path().join("runs")).unwrap();
    assert_eq!(runs.lines().count(), 1, "the credential is cached between requests");
}

#[tokio::test]
async fn through_a_connect_proxy() {
    let (proxy, tunnels) = start_connect_proxy().await;
    let mut config = admin_config();
    config.proxy_url = Some(proxy.parse().unwrap());
    let client = Client::try_from(config).unwrap();
    get_default_namespace(&client).await.unwrap();
    assert_eq!(tunnels.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn create_list_and_watch_configmaps() {
    let ns = env().create_unique_namespace("transport").unwrap();
    let client = Client::try_from(admin_config()).unwrap();
    let cms = Request::new(ConfigMap::url_path(&(), Some(&ns)));

    let list: ObjectList<ConfigMap> =
        client.request(cms.list(&ListParams::default()).unwrap()).await.unwrap();
    let rv = list.resource_version().unwrap().to_string();
    let watch = client
        .request_events::<ConfigMap>(
            cms.watch(&WatchParams::default().timeout(10), &rv).unwrap(),
            kube_client::client::decode::DecodeOptions::default(),
        )
        .await
        .unwrap();

    let body =
        serde_json::to_vec(&serde_json::json!({"metadata": {"name": "one"}, "data": {"k": "v"}})).unwrap();
    let created: ConfigMap = client.request(cms.create(&PostParams::default(), body).unwrap()).await.unwrap();
    assert_eq!(created.data.unwrap()["k"], "v");

    let mut watch = Box::pin(watch);
    let first = loop {
        match watch.next().await.unwrap().unwrap() {
            WatchEvent::Bookmark(_) => continue,
            other => break other,
        }
    };
    match first {
        WatchEvent::Added(cm) => assert_eq!(cm.metadata.name.as_deref(), Some("one")),
        other => panic!("expected ADDED, got {other:?}"),
    }

    // The same name again is a typed 409.
    let body = serde_json::to_vec(&serde_json::json!({"metadata": {"name": "one"}})).unwrap();
    let err =
        client.request::<ConfigMap>(cms.create(&PostParams::default(), body).unwrap()).await.unwrap_err();
    assert!(err.status().unwrap().is_already_exists(), "{err}");
}

#[tokio::test]
async fn impersonation_headers_reach_the_apiserver() {
    use k8s_openapi::api::authentication::v1::SelfSubjectReview;
    let mut config = admin_config();
    config.impersonation.user = Some("jane".into());
    config.impersonation.groups = vec!["team-a".into(), "team-b".into()];
    let client = Client::try_from(config).unwrap();
    // Who does the apiserver think we are?
    let review = serde_json::to_vec(
        &serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}),
    )
    .unwrap();
    let req = Request::new("/apis/authentication.k8s.io/v1/selfsubjectreviews")
        .create(&PostParams::default(), review)
        .unwrap();
    let who: SelfSubjectReview = client.request(req).await.unwrap();
    let user = who.status.unwrap().user_info.unwrap();
    assert_eq!(user.username.as_deref(), Some("jane"));
    let groups = user.groups.unwrap_or_default();
    assert!(groups.contains(&"team-a".to_string()) && groups.contains(&"team-b".to_string()), "{groups:?}");
    // jane has no rights: a typed 403 that names her.
    let err = get_default_namespace(&client).await.unwrap_err();
    assert!(err.status().unwrap().is_forbidden());
    assert!(err.status().unwrap().message.contains("\"jane\""), "{err}");
}

#[tokio::test]
async fn tls_server_name_and_insecure_skip_verify() {
    // The serving certificate names `kubernetes.default` but not `wrong.example`.
    let mut config = admin_config();
    config.tls_server_name = Some("kubernetes.default".into());
    get_default_namespace(&Client::try_from(config).unwrap()).await.unwrap();

    let mut config = admin_config();
    config.tls_server_name = Some("wrong.example".into());
    let err = get_default_namespace(&Client::try_from(config).unwrap()).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");

    // Without the CA, verification fails, unless it is turned off.
    let mut config = admin_config();
    config.root_certs = kube_client::config::certificates_from_pem(env().client_ca_pem().as_bytes()).unwrap();
    config.accept_invalid_certs = true;
    get_default_namespace(&Client::try_from(config).unwrap()).await.unwrap();
}

#[tokio::test]
async fn a_client_side_rate_limit_spaces_requests() {
    let client = kube_client::client::ClientBuilder::new(admin_config()).rate_limit(10.0, 2).build().unwrap();
    let start = std::time::Instant::now();
    for _ in 0..6 {
        get_default_namespace(&client).await.unwrap();
    }
    // A burst of 2, then 4 more at 10 per second: at least 0.4 s.
    assert!(start.elapsed() >= std::time::Duration::from_millis(390), "{:?}", start.elapsed());
}

/// Run in a child process by `proxies_from_the_environment` (the environment of a test process
/// cannot be changed safely): connects as the environment's proxy variables say.
#[tokio::test]
#[ignore = "run by proxies_from_the_environment in a child process"]
async fn child_connects_with_env_proxy() {
    let path = std::env::var("KUBE_TEST_CHILD_KUBECONFIG").expect("run by proxies_from_the_environment");
    let client = Client::try_from(config_from(Path::new(&path))).unwrap();
    get_default_namespace(&client).await.unwrap();
}

#[tokio::test]
async fn proxies_from_the_environment() {
    let (proxy, tunnels) = start_connect_proxy().await;
    let kubeconfig = env().admin().kubeconfig().path().to_path_buf();
    let run_child = |no_proxy: &'static str| {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["--ignored", "--exact", "child_connects_with_env_proxy", "--test-threads=1"])
            .env("KUBE_TEST_CHILD_KUBECONFIG", &kubeconfig)
            .env("HTTPS_PROXY", &proxy)
            .env("NO_PROXY", no_proxy)
            .env_remove("https_proxy")
            .env_remove("no_proxy");
        async move { tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap() }
    };
    let out = run_child("").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(tunnels.load(Ordering::SeqCst), 1, "HTTPS_PROXY was used");

    let out = run_child("127.0.0.1").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(tunnels.load(Ordering::SeqCst), 1, "NO_PROXY bypassed the proxy");
}

/// A TLS server that offers HTTP/1.1 only (no ALPN) and answers every request with `body`.
fn start_http1_server(body: &'static str) -> (String, String) {
    use std::io::{BufRead, BufReader, Write};

    let kube_test::LoopbackTls { ca_pem, server_config: server } = kube_test::LoopbackTls::new().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let server = server.clone();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(server).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut reader = BufReader::new(&mut tls);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes());
                let _ = tls.flush();
            });
        }
    });
    (url, ca_pem)
}

#[tokio::test]
async fn falls_back_to_http1_when_the_server_offers_no_http2() {
    let (url, ca) =
        start_http1_server(r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"default"}}"#);
    let mut config = Config::new(url.parse().unwrap());
    config.root_certs = kube_client::config::certificates_from_pem(ca.as_bytes()).unwrap();
    let client = Client::try_from(config).unwrap();
    let req = Request::new(Namespace::url_path(&(), None)).get("default", &GetParams::default()).unwrap();
    let resp = client.send(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_11);
    let ns = get_default_namespace(&client).await.unwrap();
    assert_eq!(ns.metadata.name.as_deref(), Some("default"));
}

//! SOCKS5 proxies (`proxy-url: socks5://` and `socks5h://`, with and without credentials)
//! between the client and a real kube-apiserver, through a small SOCKS5 server written here,
//! cross-checked with kubectl on the same kubeconfig.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use common::env;
use k8s_openapi::api::core::v1::Namespace;
use kube_client::{Client, Config, Error, config::Kubeconfig};
use kube_core::{Resource, params::GetParams, request::Request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy was asked to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// An address the client resolved itself.
    Ip(std::net::IpAddr),
    /// A host name, for the proxy to resolve.
    Name(String),
}

/// A SOCKS5 server (RFC 1928, with RFC 1929 username/password when `credentials` is set) on
/// loopback: its URL authority (`127.0.0.1:port`) and the targets it connected to.
async fn start_socks5(
    credentials: Option<(&'static str, &'static str)>,
) -> (String, Arc<Mutex<Vec<Target>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let targets = Arc::new(Mutex::new(Vec::new()));
    let seen = targets.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else { return };
            let seen = seen.clone();
            tokio::spawn(async move {
                if let Some((target, mut upstream, mut client)) = handshake(client, credentials).await {
                    seen.lock().unwrap().push(target);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (addr.to_string(), targets)
}

/// The server side of a SOCKS5 handshake; `None` when the client is refused.
async fn handshake(
    mut client: TcpStream,
    credentials: Option<(&str, &str)>,
) -> Option<(Target, TcpStream, TcpStream)> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await.ok()?;
    assert_eq!(head[0], 5, "SOCKS version");
    let mut methods = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut methods).await.ok()?;
    let wanted = if credentials.is_some() { 2 } else { 0 };
    if !methods.contains(&wanted) {
        client.write_all(&[5, 0xFF]).await.ok()?;
        return None;
    }
    client.write_all(&[5, wanted]).await.ok()?;
    if let Some((user, password)) = credentials {
        let mut version_and_len = [0u8; 2];
        client.read_exact(&mut version_and_len).await.ok()?;
        let mut got_user = vec![0u8; usize::from(version_and_len[1])];
        client.read_exact(&mut got_user).await.ok()?;
        let mut len = [0u8; 1];
        client.read_exact(&mut len).await.ok()?;
        let mut got_password = vec![0u8; usize::from(len[0])];
        client.read_exact(&mut got_password).await.ok()?;
        let ok = got_user == user.as_bytes() && got_password == password.as_bytes();
        client.write_all(&[1, if ok { 0 } else { 1 }]).await.ok()?;
        if !ok {
            return None;
        }
    }
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await.ok()?;
    assert_eq!(&request[..3], &[5, 1, 0], "a CONNECT request");
    let target = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await.ok()?;
            Target::Ip(std::net::Ipv4Addr::from(ip).into())
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await.ok()?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name).await.ok()?;
            Target::Name(String::from_utf8(name).unwrap())
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await.ok()?;
            Target::Ip(std::net::Ipv6Addr::from(ip).into())
        }
        other => panic!("address type {other}"),
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await.ok()?;
    let port = u16::from_be_bytes(port);
    let upstream = match &target {
        Target::Ip(ip) => TcpStream::connect((*ip, port)).await,
        Target::Name(name) => TcpStream::connect((name.as_str(), port)).await,
    };
    let Ok(upstream) = upstream else {
        client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await.ok()?;
        return None;
    };
    client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await.ok()?;
    Some((target, upstream, client))
}

/// The admin kubeconfig of the shared control plane with the server reached as `host` and
/// through `proxy_url`, written into `dir`.
fn kubeconfig_via(dir: &Path, host: &str, proxy_url: &str) -> PathBuf {
    let mut kc = Kubeconfig::read_from(env().admin().kubeconfig().path()).unwrap();
    let port = env().apiserver_port();
    for cluster in &mut kc.clusters {
        cluster.cluster.server = Some(format!("https://{host}:{port}"));
        cluster.cluster.proxy_url = Some(proxy_url.to_owned());
    }
    let path = dir.join("config");
    std::fs::write(&path, kc.to_yaml().unwrap()).unwrap();
    path
}

async fn get_default_namespace(kubeconfig: &Path) -> Result<Namespace, Error> {
    let config = Config::from_custom_kubeconfig(kubeconfig, &Default::default()).unwrap();
    let client = Client::try_from(config).unwrap();
    let req = Request::new(Namespace::url_path(&(), None)).get("default", &GetParams::default())?;
    client.request(req).await
}

/// Runs kubectl on `kubeconfig` (off the runtime's threads) and returns whether it succeeded.
async fn kubectl_get_version(kubeconfig: &Path) -> std::process::Output {
    let kubectl = env().binaries().kubectl().unwrap().to_owned();
    let kubeconfig = kubeconfig.to_owned();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["get", "--raw", "/version", "--request-timeout=20s"])
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn socks5_proxy_without_credentials() {
    let (proxy, targets) = start_socks5(None).await;
    let dir = tempfile::tempdir().unwrap();
    let path = kubeconfig_via(dir.path(), "127.0.0.1", &format!("socks5://{proxy}"));
    let ns = get_default_namespace(&path).await.unwrap();
    assert_eq!(ns.metadata.name.as_deref(), Some("default"));
    assert_eq!(targets.lock().unwrap().as_slice(), [Target::Ip([127, 0, 0, 1].into())]);
}

#[tokio::test]
async fn socks5_host_names_are_resolved_by_the_proxy_as_kubectl_does() {
    let (proxy, targets) = start_socks5(None).await;
    let dir = tempfile::tempdir().unwrap();
    let path = kubeconfig_via(dir.path(), "localhost", &format!("socks5://{proxy}"));
    get_default_namespace(&path).await.unwrap();
    assert_eq!(targets.lock().unwrap().as_slice(), [Target::Name("localhost".into())]);

    // kubectl on the same file asks the proxy for the same name
    let out = kubectl_get_version(&path).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(targets.lock().unwrap().last(), Some(&Target::Name("localhost".into())));
}

#[tokio::test]
async fn socks5h_proxy_with_credentials() {
    let (proxy, targets) = start_socks5(Some(("kube user", "p@ss:word"))).await;
    let dir = tempfile::tempdir().unwrap();
    let path =
        kubeconfig_via(dir.path(), "localhost", &format!("socks5h://kube%20user:p%40ss%3Aword@{proxy}"));
    get_default_namespace(&path).await.unwrap();
    assert_eq!(targets.lock().unwrap().as_slice(), [Target::Name("localhost".into())]);

    // kubectl sends the same credentials, with the socks5 scheme (it refuses socks5h)
    let path =
        kubeconfig_via(dir.path(), "localhost", &format!("socks5://kube%20user:p%40ss%3Aword@{proxy}"));
    let out = kubectl_get_version(&path).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(targets.lock().unwrap().len(), 2);

    // a wrong password: the proxy refuses, the error says so, and nothing was connected
    let path = kubeconfig_via(dir.path(), "localhost", &format!("socks5h://kube%20user:wrong@{proxy}"));
    let err = get_default_namespace(&path).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    let chain = format!("{:?}", std::error::Error::source(&err));
    assert!(chain.to_lowercase().contains("auth"), "{chain}");
    assert_eq!(targets.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn an_unsupported_proxy_scheme_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = kubeconfig_via(dir.path(), "localhost", "socks4://user:secret@127.0.0.1:1080");
    let config = Config::from_custom_kubeconfig(path.as_path(), &Default::default()).unwrap();
    let err = Client::try_from(config).unwrap_err().to_string();
    assert!(err.contains("expected an http://, socks5:// or socks5h:// proxy"), "{err}");
    assert!(!err.contains("secret"), "{err}");
}

/// Run in a child process by `a_socks5_proxy_from_the_environment` (the environment of a test
/// process cannot be changed safely).
#[tokio::test]
#[ignore = "run by a_socks5_proxy_from_the_environment in a child process"]
async fn child_connects_with_env_socks_proxy() {
    let path =
        std::env::var("KUBE_TEST_CHILD_KUBECONFIG").expect("run by a_socks5_proxy_from_the_environment");
    get_default_namespace(Path::new(&path)).await.unwrap();
}

#[tokio::test]
async fn a_socks5_proxy_from_the_environment() {
    let (proxy, targets) = start_socks5(Some(("u", "pw"))).await;
    let kubeconfig = env().admin().kubeconfig().path().to_path_buf();
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--ignored", "--exact", "child_connects_with_env_socks_proxy", "--test-threads=1"])
        .env("KUBE_TEST_CHILD_KUBECONFIG", &kubeconfig)
        .env("HTTPS_PROXY", format!("socks5h://u:pw@{proxy}"))
        .env_remove("https_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(targets.lock().unwrap().len(), 1, "HTTPS_PROXY named the SOCKS5 proxy");
}

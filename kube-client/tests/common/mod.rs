//! Shared helpers of the integration tests: the shared control plane and an admin client.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use kube_client::{
    Client, Config,
    config::{KubeConfigOptions, KubeconfigSource},
};
use kube_test::TestEnv;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

/// The control plane shared by every test of this binary.
pub fn env() -> &'static TestEnv {
    TestEnv::shared().expect("start the test control plane (run `just control-plane` first)")
}

/// The configuration of a kubeconfig file.
pub fn config_from(path: &Path) -> Config {
    Config::from_custom_kubeconfig(KubeconfigSource::Path(path.to_path_buf()), &KubeConfigOptions::default())
        .unwrap()
}

/// An admin client of `env`.
pub fn admin_client_of(env: &TestEnv) -> Client {
    Client::try_from(config_from(env.admin().kubeconfig().path())).unwrap()
}

/// An admin client of the shared control plane.
pub fn admin_client() -> Client {
    admin_client_of(env())
}

/// A new namespace of the shared control plane for one test.
pub fn namespace(prefix: &str) -> String {
    env().create_unique_namespace(prefix).unwrap()
}

/// Base64 of `data`, as kubeconfig `*-data` fields hold it.
pub fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Writes a kubeconfig for the shared control plane whose user runs the exec plugin `plugin`,
/// into `dir`, and returns its path.
pub fn write_exec_kubeconfig(dir: &Path, plugin: &Path) -> std::path::PathBuf {
    let kubeconfig = format!(
        r#"apiVersion: v1
kind: Config
current-context: exec
clusters:
- name: test
  cluster:
    server: {server}
    certificate-authority-data: {ca}
users:
- name: exec
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: {plugin}
      interactiveMode: Never
contexts:
- name: exec
  context: {{cluster: test, user: exec}}
"#,
        server = env().server_url(),
        ca = base64_encode(env().ca_pem().as_bytes()),
        plugin = plugin.display()
    );
    let path = dir.join("config");
    std::fs::write(&path, kubeconfig).unwrap();
    path
}

/// A minimal HTTP CONNECT proxy on loopback that counts the tunnels it opened.
pub async fn start_connect_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tunnels = Arc::new(AtomicUsize::new(0));
    let count = tunnels.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else { return };
            let count = count.clone();
            tokio::spawn(async move {
                let mut client = tokio::io::BufReader::new(client);
                let mut line = String::new();
                client.read_line(&mut line).await.unwrap();
                let target = line.split_whitespace().nth(1).unwrap().to_string();
                assert!(line.starts_with("CONNECT "), "{line}");
                loop {
                    let mut header = String::new();
                    client.read_line(&mut header).await.unwrap();
                    if header == "\r\n" || header.is_empty() {
                        break;
                    }
                }
                let mut upstream = tokio::net::TcpStream::connect(&target).await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                client.get_mut().write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.unwrap();
                let _ = tokio::io::copy_bidirectional(client.get_mut(), &mut upstream).await;
            });
        }
    });
    (format!("http://{addr}"), tunnels)
}

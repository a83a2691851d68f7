//! Shared setup of the kube-runtime integration tests: the shared control plane and its clients.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use kube_client::{
    Client,
    config::{KubeConfigOptions, KubeconfigSource},
};
use kube_test::TestEnv;
use tokio::time::Instant;

/// The control plane all tests of a binary share.
pub fn shared() -> &'static TestEnv {
    TestEnv::shared().expect("start the test control plane (run `just control-plane` first)")
}

/// An admin client of `env`.
pub fn client_of(env: &TestEnv) -> Client {
    let path = env.admin().kubeconfig().path().to_path_buf();
    let config = kube_client::Config::from_custom_kubeconfig(
        KubeconfigSource::Path(path),
        &KubeConfigOptions::default(),
    );
    Client::try_from(config.unwrap()).unwrap()
}

/// Polls `cond` every 10 ms until it holds (returns the instant it was first seen to hold) or
/// `timeout` passes (`None`).
pub async fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> Option<Instant> {
    let end = Instant::now() + timeout;
    loop {
        if cond() {
            return Some(Instant::now());
        }
        if Instant::now() >= end {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs kubectl against `env` off the async threads.
pub async fn kubectl(env: &'static TestEnv, args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || env.kubectl(args).unwrap()).await.unwrap()
}

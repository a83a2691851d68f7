//! Shared helpers of the integration tests: the shared control plane and an admin client.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use kube_client::{
    Client, Config,
    config::{KubeConfigOptions, KubeconfigSource},
};
use kube_test::TestEnv;

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

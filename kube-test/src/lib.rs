//! A real control plane (etcd and kube-apiserver) for tests, like controller-runtime's envtest.
//!
//! [`TestEnv`] starts etcd and kube-apiserver on free loopback ports in a temporary directory,
//! with a self-made CA, an admin client certificate in `system:masters`, a static token file
//! and a service-account signing key, and waits until `/readyz` is 200 and the `default`
//! namespace exists. There is no controller-manager or scheduler: objects are stored and
//! served, but nothing acts on them (no pods run, namespaces are not finalized, no default
//! service accounts).
//!
//! The API is synchronous, so it works from any test, async or not:
//!
//! ```no_run
//! use kube_test::TestEnv;
//!
//! #[test]
//! fn configmap_round_trip() -> Result<(), kube_test::Error> {
//!     let env = TestEnv::shared()?; // one control plane per test binary
//!     let ns = env.create_unique_namespace("configmaps")?;
//!     env.kubectl(["create", "configmap", "cm", "-n", &ns, "--from-literal=k=v"])?;
//!     // Point any client at env.kubeconfig().path() or env.kubeconfig().yaml().
//!     Ok(())
//! }
//! ```
//!
//! # Binaries
//!
//! kube-apiserver, etcd and (for the `kubectl*` helpers) kubectl are looked up like envtest
//! does; see [`find_binary`]. `just control-plane` builds them into the project cache.
//!
//! # No orphaned processes
//!
//! Dropping a [`TestEnv`] stops its servers and removes its directory. Because a `static`
//! (like [`TestEnv::shared`]) is never dropped and a test process can be killed outright, each
//! server also runs under a small `sh` supervisor that blocks on a pipe from the test process.
//! When that process ends for any reason (even SIGKILL), the pipe closes and the supervisor
//! sends SIGTERM to its server, SIGKILL after a grace period, and (for etcd) removes the
//! directory.

mod apiserver;
mod binaries;
mod certs;
mod crd;
mod env;
mod error;
mod etcd;
mod http;
mod kubeconfig;
mod kubectl;
mod kubelet;
mod sockets;
mod supervise;
mod test_ca;
mod tls_server;
mod users;
mod wait;

pub use binaries::{
    Binaries, CONTROL_PLANE_VERSION, ETCD, FAKE_KUBELET, KUBE_APISERVER, KUBECTL, find_binary,
};
pub use crd::CRD_ESTABLISH_TIMEOUT;
pub use env::{DEFAULT_STARTUP_TIMEOUT, KEEP_DIR_VAR, TestEnv, TestEnvBuilder};
pub use error::{Error, Result};
pub use http::RawResponse;
pub use kubeconfig::{CLUSTER_NAME, Kubeconfig};
pub use kubectl::{KUBECTL_DEADLINE, KUBECTL_REQUEST_TIMEOUT, KubectlOutput};
pub use kubelet::{FAKE_NODE_NAME, FakeContainer, FakeKubelet};
pub use sockets::established_connections;
pub use test_ca::{IssuedCert, LOOPBACK_SANS, TestCa};
pub use tls_server::LoopbackTls;
pub use users::{ADMIN_USER, Credentials, SYSTEM_MASTERS, TOKEN_ADMIN_USER, User};

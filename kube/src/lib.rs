//! Kubernetes client and controller runtime for Rust.
//!
//! This crate re-exports the layers, each behind a feature, so a program depends only on what it
//! uses:
//!
//! | feature | default | what it brings |
//! |---|---|---|
//! | — | always | [`core`]: API shapes, parameters, request building (no IO) |
//! | `client` | yes | [`client`]: transport, [`Api`], discovery; [`config`] (kubeconfig, in-cluster) and [`auth`] (credentials) |
//! | `runtime` | no | [`runtime`]: watchers, reflectors, stores |
//! | `derive` | no | [`CustomResource`]: custom resource types and their CRDs |
//! | `webhook` | no | [`webhook`]: the admission and conversion webhook server |
//!
//! ```no_run
//! # async fn run() -> Result<(), kube::Error> {
//! use k8s_openapi::api::core::v1::Pod;
//! use kube::{Api, Client, ResourceExt, api::ListParams};
//!
//! let client = Client::try_default().await?;
//! let pods: Api<Pod> = Api::default_namespaced(client);
//! for pod in pods.list(&ListParams::default()).await? {
//!     println!("{}", pod.name_any());
//! }
//! # Ok(()) }
//! ```

pub use kube_core as core;
pub use kube_core::{Resource, ResourceExt};

#[cfg(feature = "client")]
pub use kube_client as client;
#[cfg(feature = "client")]
pub use kube_client::{Api, Client, Config, Error, api, auth, config, discovery};

#[cfg(feature = "runtime")]
pub use kube_runtime as runtime;

#[cfg(feature = "webhook")]
pub use kube_webhook as webhook;

#[cfg(feature = "derive")]
pub use kube_core::crd::{CustomResourceExt, HasSpec, HasStatus};
#[cfg(feature = "derive")]
pub use kube_derive::CustomResource;

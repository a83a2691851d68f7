//! Kubernetes client: configuration (kubeconfig, in-cluster, exec plugins), authentication,
//! transport and a typed `Api` for every resource.
//!
//! ```no_run
//! # async fn run() -> Result<(), kube_client::Error> {
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube_client::core::params::{ListParams, Patch, PatchParams};
//! use kube_client::{Api, Client};
//!
//! // The kubeconfig (merged as kubectl merges it) or, inside a Pod, its service account.
//! let client = Client::try_default().await?;
//! let cms: Api<ConfigMap> = Api::namespaced(client, "default");
//! for cm in cms.list(&ListParams::default().labels("app=web")).await?.items {
//!     println!("{}", cm.metadata.name.unwrap_or_default());
//! }
//! // Server-side apply: create or update the fields this manager owns.
//! let patch = serde_json::json!({
//!     "apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "web-flags"}, "data": {"debug": "true"},
//! });
//! cms.patch("web-flags", &PatchParams::apply("my-tool"), &Patch::Apply(&patch)).await?;
//! // A failed call carries the API's `Status`: reason, message and code.
//! if let Err(kube_client::Error::Api(status)) = cms.get("missing").await {
//!     println!("{} ({})", status.message, status.code);
//! }
//! # Ok(()) }
//! ```

pub mod api;
pub mod auth;
pub mod client;
pub mod config;
pub mod discovery;
pub mod error;

pub use api::Api;
pub use client::Client;
pub use config::Config;
pub use error::Error;
pub use kube_core as core;

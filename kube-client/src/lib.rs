//! Kubernetes client: configuration (kubeconfig, in-cluster, exec plugins), authentication,
//! transport and a typed `Api` for every resource.

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

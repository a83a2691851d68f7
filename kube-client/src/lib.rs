//! Kubernetes client: configuration (kubeconfig, in-cluster, exec plugins), authentication,
//! transport and a typed `Api` for every resource.

pub mod config;

//! Kubernetes client and controller runtime for Rust.
//!
//! This crate re-exports the layers, each behind a feature, so a program depends only on what it uses:
//!
//! | feature | default | what it brings |
//! |---|---|---|
//! | — | always | [`core`]: API shapes, parameters, request building (no IO) |
//! | `client` | yes | [`client`]: configuration, transport, `Api` |
//! | `runtime` | no | [`runtime`]: watchers, reflectors, stores |
//! | `derive` | no | `CustomResource`: custom resource types and their CRDs |

pub use kube_core as core;

#[cfg(feature = "client")]
pub use kube_client as client;

#[cfg(feature = "runtime")]
pub use kube_runtime as runtime;

#[cfg(feature = "derive")]
pub use kube_derive::*;

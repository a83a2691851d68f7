//! Prometheus/OpenMetrics metrics through `prometheus-client`, with the names and labels of
//! controller-runtime and client-go so existing dashboards and alerts work, and a small HTTP
//! server for `/metrics`, `/healthz` and `/readyz`.
//!
//! Every family is registered in a [`Registry`](prometheus_client::registry::Registry) the user
//! owns (a fresh `Registry::default()` or one shared with the rest of the program):
//!
//! - `controller_runtime_*` and `workqueue_*` by [`Metrics`], one [`ControllerMetrics`] observer
//!   per controller, installed with `Controller::observe`;
//! - `rest_client_requests_total` and `rest_client_request_duration_seconds` by
//!   [`ClientMetrics`], a tower layer added with
//!   [`Client::with_layer`](kube_client::Client::with_layer);
//! - `kube_watcher_relists_total` and `kube_watcher_restarts_total` by [`WatcherMetrics`],
//!   counted from a watcher's stream;
//! - `leader_election_master_status` by [`LeaderMetrics`];
//! - `kube_shard_*` (members, objects owned, moves, drain time) by [`ShardMetrics`].
//!
//! ```no_run
//! # async fn run(client: kube_client::Client) -> Result<(), kube_runtime::metrics::Error> {
//! use std::sync::Arc;
//! use kube_runtime::metrics::{ClientMetrics, Metrics, Server};
//!
//! let mut registry = prometheus_client::registry::Registry::default();
//! let client = client.with_layer(&ClientMetrics::register(&mut registry));
//! let metrics = Metrics::register(&mut registry);
//! let observer = metrics.controller("configmaps", 1); // for Controller::observe
//! let bound = Server::new(Arc::new(registry)).bind("127.0.0.1:8080".parse().unwrap()).await?;
//! tokio::spawn(bound.serve(std::future::pending()));
//! # Ok(()) }
//! ```

mod client;
mod controller;
mod leader;
mod server;
mod shard;
mod watcher;

pub use client::{ClientMetrics, Instrumented};
pub use controller::{ControllerMetrics, Metrics};
pub use leader::LeaderMetrics;
pub use server::{Bound, Server};
pub use shard::ShardMetrics;
pub use watcher::WatcherMetrics;

/// What can go wrong serving metrics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The address could not be bound.
    #[error("failed to bind the metrics server to {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The listening socket failed.
    #[error("metrics server socket error: {0}")]
    Accept(#[source] std::io::Error),
}

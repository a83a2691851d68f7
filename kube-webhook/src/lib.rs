//! Admission and conversion webhooks: an HTTPS server (hyper, rustls) the API server calls, with
//! typed handlers, certificate reloading, metrics, and the configurations that register it.
//!
//! - [`Validator<K>`] answers validating admission with warnings or a [`Denial`];
//!   [`Defaulter<K>`] mutates the object and the server sends the difference as a JSON Patch;
//!   a [`Converter`](kube_core::conversion::Converter) serves a multi-version CRD's conversions.
//! - [`WebhookServer`] routes paths to them, enforces the API server's limits (7 MiB bodies,
//!   `application/json`), answers bad reviews with 400 and survives panicking handlers.
//! - [`TlsConfig`] reads the certificate and key from files and reloads them when they change
//!   (cert-manager rotations), optionally requiring client certificates.
//! - [`WebhookMetrics`] registers controller-runtime's webhook metrics in your registry.
//! - [`config`] builds the `ValidatingWebhookConfiguration`, `MutatingWebhookConfiguration` and
//!   CRD `conversion` stanzas that point the API server at the server.
//!
//! ```no_run
//! # async fn run() -> Result<(), kube_webhook::Error> {
//! use k8s_openapi::api::core::v1::ConfigMap;
//! use kube_core::admission::AdmissionRequest;
//! use kube_webhook::{Defaulter, Denial, TlsConfig, Validator, WebhookServer};
//!
//! let validate = Validator::new(|req: AdmissionRequest<ConfigMap>| async move {
//!     match req.object.and_then(|cm| cm.data) {
//!         Some(data) if data.contains_key("password") => Err(Denial::new("use a Secret for passwords")),
//!         _ => Ok(vec![]),
//!     }
//! });
//! let default = Defaulter::new(|mut cm: ConfigMap, _req| async move {
//!     cm.metadata.labels.get_or_insert_default().entry("team".into()).or_insert_with(|| "none".into());
//!     Ok(cm)
//! });
//! WebhookServer::new(TlsConfig::from_files("/certs/tls.crt", "/certs/tls.key"))
//!     .route("/validate", validate)
//!     .route("/mutate", default)
//!     .bind("0.0.0.0:9443".parse().unwrap())
//!     .await?
//!     .serve(std::future::pending())
//!     .await;
//! # Ok(()) }
//! ```

pub mod config;
mod error;
mod handler;
mod metrics;
mod server;
mod tls;

pub use error::Error;
pub use handler::{Defaulter, Denial, Handler, Validator};
pub use metrics::WebhookMetrics;
pub use server::{BODY_TIMEOUT, Bound, DEFAULT_BODY_LIMIT, HANDSHAKE_TIMEOUT, SHUTDOWN_GRACE, WebhookServer};
pub use tls::{CertWatcher, DEFAULT_POLL_INTERVAL, TlsConfig};

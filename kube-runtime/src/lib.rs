//! Building blocks for controllers, as streams: a [`watcher()`] that never loses an event (list then
//! watch, bookmarks, resume, relist on 410, backoff), and a [`reflector()`] that keeps a cached,
//! indexed [`Store`] in sync and shares it with many consumers.
//!
//! ```no_run
//! # async fn run(client: kube_client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use futures::StreamExt;
//! use k8s_openapi::api::core::v1::Pod;
//! use kube_client::Api;
//! use kube_runtime::{reflector, watcher};
//!
//! let pods: Api<Pod> = Api::all(client);
//! let (store, writer) = reflector::store();
//! let stream = reflector::reflector(writer, watcher::watcher(pods, watcher::Config::default()));
//! // Errors are yielded and the watcher carries on by itself: never stop at the first one.
//! tokio::spawn(stream.for_each(|event| async move {
//!     if let Err(e) = event {
//!         eprintln!("watch error: {e}");
//!     }
//! }));
//! store.wait_until_ready().await?;
//! println!("{} pods", store.len());
//! # Ok(()) }
//! ```

pub mod controller;
pub mod events;
pub mod finalizer;
pub mod leader;
pub mod metrics;
pub mod predicates;
pub mod reflector;
pub mod scheduler;
pub mod shard;
pub mod wait;
pub mod watcher;

pub use controller::Controller;
pub use reflector::{Store, reflector};
pub use watcher::{Event, watcher};

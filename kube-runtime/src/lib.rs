//! Building blocks for controllers, as streams: a [`watcher`] that never loses an event (list then
//! watch, bookmarks, resume, relist on 410, backoff), and a [`reflector`] that keeps a cached,
//! indexed [`Store`](reflector::Store) in sync and shares it with many consumers.
//!
//! ```no_run
//! # async fn run(client: kube_client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use futures::TryStreamExt;
//! use k8s_openapi::api::core::v1::Pod;
//! use kube_client::Api;
//! use kube_runtime::{reflector, watcher};
//!
//! let pods: Api<Pod> = Api::all(client);
//! let (store, writer) = reflector::store();
//! let stream = reflector::reflector(writer, watcher::watcher(pods, watcher::Config::default()));
//! tokio::spawn(stream.try_for_each(|_| async { Ok(()) }));
//! store.wait_until_ready().await?;
//! println!("{} pods", store.len());
//! # Ok(()) }
//! ```

pub mod reflector;
pub mod watcher;

pub use reflector::{Store, reflector};
pub use watcher::{Event, watcher};

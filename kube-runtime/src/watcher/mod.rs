//! The watcher: a stream of [`Event`]s that tells the initial state apart from later changes and
//! never loses an event. It lists (by pages, or by a streaming list when the server supports it),
//! then watches from the list's resourceVersion with bookmarks on; it resumes from the last
//! resourceVersion after a watch ends or the connection drops, relists after `410 Gone`, and
//! backs off after errors, which it still yields to the consumer.
//!
//! Every transition is one arm of a `step` function: a state machine driven by
//! `futures::stream::unfold`.

mod backoff;
mod config;
mod event;
mod machine;
mod object;
mod source;

use futures::{Stream, StreamExt, stream::BoxStream};
use kube_client::Api;
use kube_core::{PartialObjectMetadata, Resource};
use serde::{Serialize, de::DeserializeOwned};

pub use backoff::Backoff;
pub use config::{Config, InitialListStrategy, ListSemantic};
pub use event::{Error, Event};
pub use object::watch_object;
pub use source::{EventStream, ListStream, Metadata, Objects, Source};

/// Watches `api` and yields [`Event`]s; see the [module docs](self).
pub fn watcher<K>(api: Api<K>, config: Config) -> impl Stream<Item = Result<Event<K>, Error>> + Send + 'static
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug + Send + Sync + 'static,
{
    watch_source(Objects { api }, config)
}

/// Watches the metadata of `api`'s objects only (far less to transfer and keep).
pub fn metadata_watcher<K>(
    api: Api<K>,
    config: Config,
) -> impl Stream<Item = Result<Event<PartialObjectMetadata<K>>, Error>> + Send + 'static
where
    K: Resource + Clone + Send + Sync + 'static,
{
    watch_source(Metadata { api }, config)
}

/// Watches any [`Source`].
pub fn watch_source<S: Source>(
    source: S,
    config: Config,
) -> BoxStream<'static, Result<Event<S::Value>, Error>> {
    let valid = config.watch_params().validate().and_then(|()| config.list_params(None, false).validate());
    if let Err(e) = valid {
        return futures::stream::once(futures::future::ready(Err(Error::InvalidConfig(e)))).boxed();
    }
    machine::run(source, config)
}

//! Watching one object by name.

use futures::{Stream, StreamExt};
use kube_client::Api;
use kube_core::Resource;
use serde::{Serialize, de::DeserializeOwned};

use super::{Config, Error, Event, watcher};

/// Watches one object by name: yields `Some(object)` as it changes and `None` while it does not
/// exist.
pub fn watch_object<K>(
    api: Api<K>,
    name: &str,
) -> impl Stream<Item = Result<Option<K>, Error>> + Send + 'static
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug + Send + Sync + 'static,
{
    let config = Config::default().fields(&format!("metadata.name={name}"));
    let mut seen = false;
    watcher(api, config).filter_map(move |event| {
        let out = match event {
            Ok(Event::Init) => {
                seen = false;
                None
            }
            Ok(Event::InitApply(o) | Event::Apply(o)) => {
                seen = true;
                Some(Ok(Some(o)))
            }
            Ok(Event::InitDelete(_)) => {
                seen = false;
                None
            }
            Ok(Event::InitDone) if !seen => Some(Ok(None)),
            Ok(Event::InitDone) => None,
            Ok(Event::Delete(_)) => Some(Ok(None)),
            Err(e) => Some(Err(e)),
        };
        futures::future::ready(out)
    })
}

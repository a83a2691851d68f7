//! Reflectors: keep a [`Store`] in sync with a watcher's events, and share it with any number of
//! subscribers.

mod cache;
mod changes;
mod index;
mod object_ref;
mod store;
mod subscribe;

use futures::{Stream, StreamExt};
pub use index::{BY_LABEL, BY_NAMESPACE, IndexFn, label_keys, namespace_keys};
pub use object_ref::ObjectRef;
pub use store::{Cacheable, Store, StoreBuilder, Transform, UnknownIndex, Writer, WriterDropped, store};
pub use subscribe::{Changed, KeyChange, KeySubscription, Subscription};

use crate::watcher::Event;

/// Applies every event of `stream` to `writer`'s store and passes the events on.
///
/// After each relist (an `Init` ... `InitDone` sequence) the store holds exactly what the relist
/// saw: objects deleted while the watch was down disappear. When the stream is dropped, the
/// writer goes with it and the store's subscriptions end.
pub fn reflector<K, E, S>(mut writer: Writer<K>, stream: S) -> impl Stream<Item = Result<Event<K>, E>> + Send
where
    K: Cacheable,
    E: Send,
    S: Stream<Item = Result<Event<K>, E>> + Send,
{
    stream.map(move |event| {
        let event = event.map(|ev| ev.map(|obj| writer.transform(obj)));
        if let Ok(ev) = &event {
            writer.apply(ev);
        }
        event
    })
}

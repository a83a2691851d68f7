//! What a watcher yields: [`Event`]s, and the [`Error`]s it reports (and recovers from).

/// What the watcher yields.
///
/// The initial state (after the start, and after every relist) comes as `Init`, then
/// `InitApply`/`InitDelete` for its objects, then `InitDone`: a consumer builds the new state aside
/// and swaps it in at `InitDone`. Later changes come as `Apply` and `Delete`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<K> {
    /// A (re)list starts: the consumer should prepare to replace its state.
    Init,
    /// An object of the initial state.
    InitApply(K),
    /// An object of the initial state was deleted before the initial state was complete (a
    /// streaming list can say so): it is not part of the new state.
    InitDelete(K),
    /// The initial state is complete: everything not seen since `Init` is gone.
    InitDone,
    /// An object was created or changed.
    Apply(K),
    /// An object was deleted; this is its last known state.
    Delete(K),
}

impl<K> Event<K> {
    /// The object of the event, if it has one.
    pub fn object(&self) -> Option<&K> {
        match self {
            Self::InitApply(o) | Self::InitDelete(o) | Self::Apply(o) | Self::Delete(o) => Some(o),
            Self::Init | Self::InitDone => None,
        }
    }

    /// Maps the object of the event.
    pub fn map<T>(self, f: impl FnOnce(K) -> T) -> Event<T> {
        match self {
            Self::Init => Event::Init,
            Self::InitApply(o) => Event::InitApply(f(o)),
            Self::InitDelete(o) => Event::InitDelete(f(o)),
            Self::InitDone => Event::InitDone,
            Self::Apply(o) => Event::Apply(f(o)),
            Self::Delete(o) => Event::Delete(f(o)),
        }
    }
}

/// What went wrong; the watcher goes on after every error (after a backoff where the error
/// calls for one).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The initial list failed.
    #[error("failed to list the initial state: {0}")]
    InitialList(#[source] kube_client::Error),
    /// A watch could not be started.
    #[error("failed to start a watch: {0}")]
    WatchStart(#[source] kube_client::Error),
    /// A running watch failed (connection lost, undecodable event).
    #[error("watch failed: {0}")]
    WatchFailed(#[source] kube_client::Error),
    /// The server sent an ERROR event.
    #[error("watch error from the server: {0}")]
    WatchError(Box<kube_core::Status>),
    /// The resourceVersion is too old (410 Gone): the watcher relists.
    #[error("resource version too old (410 Gone); relisting: {0}")]
    Gone(Box<kube_core::Status>),
    /// The server closed a watch at once without sending anything: the watcher backs off
    /// instead of reconnecting in a tight loop.
    #[error("the server closed the watch immediately")]
    WatchClosedEarly,
    /// A streaming list ended before its initial-events-end bookmark (the server does not
    /// support streaming lists); the watcher falls back to paged lists in `Auto` mode.
    #[error("the streaming list ended before the initial state was complete")]
    StreamingListIncomplete,
    /// Nothing arrived on a watch for too long: well after its timeout, or, from a server known to
    /// send periodic bookmarks, for longer than [`Config::silence_timeout`](super::Config): the
    /// connection is taken for dead and the watch restarted.
    #[error("the watch went silent for {0:?}; restarting it")]
    WatchStalled(std::time::Duration),
    /// A list (or the initial events of a streaming list) made no progress for
    /// [`Config::progress_timeout`](super::Config): the watcher backs off and lists again.
    #[error("the initial list made no progress for {0:?}; listing again")]
    ListStalled(std::time::Duration),
    /// A list, or the bookmark that ends a streaming list, carried no resourceVersion, so there is
    /// nothing to watch from: the watcher lists again instead of watching from "now" (which would
    /// miss every change in between).
    #[error("the {0} carried no resourceVersion; listing again")]
    MissingResourceVersion(&'static str),
    /// An object arrived without `metadata.name`: it cannot be stored or reconciled, and is
    /// skipped.
    #[error("an object in the {0} has no metadata.name; skipped")]
    ObjectWithoutName(&'static str),
    /// The watcher's configuration cannot work (bad selector, zero timeout); the stream ends.
    #[error("invalid watcher configuration: {0}")]
    InvalidConfig(#[source] kube_core::Error),
}

//! The watcher: a stream of [`Event`]s that tells the initial state apart from later changes and
//! never loses an event. It lists (by pages, or by a streaming list when the server supports it),
//! then watches from the list's resourceVersion with bookmarks on; it resumes from the last
//! resourceVersion after a watch ends or the connection drops, relists after `410 Gone`, and
//! backs off after errors, which it still yields to the consumer.
//!
//! Every transition is one arm of a `step` function: a state machine driven by
//! `futures::stream::unfold`.

mod backoff;
mod source;

use std::{collections::VecDeque, time::Duration};

use futures::{Stream, StreamExt, stream::BoxStream};
use kube_client::Api;
use kube_core::{
    PartialObjectMetadata, Resource, ResourceExt, WatchEvent,
    params::{ListParams, WatchParams},
};
use serde::{Serialize, de::DeserializeOwned};

pub use backoff::Backoff;
use backoff::BackoffState;
pub use source::{EventStream, Metadata, Objects, Source};

/// What the watcher yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<K> {
    /// A (re)list starts: the consumer should prepare to replace its state.
    Init,
    /// An object of the initial state.
    InitApply(K),
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
            Self::InitApply(o) | Self::Apply(o) | Self::Delete(o) => Some(o),
            Self::Init | Self::InitDone => None,
        }
    }

    /// Maps the object of the event.
    pub fn map<T>(self, f: impl FnOnce(K) -> T) -> Event<T> {
        match self {
            Self::Init => Event::Init,
            Self::InitApply(o) => Event::InitApply(f(o)),
            Self::InitDone => Event::InitDone,
            Self::Apply(o) => Event::Apply(f(o)),
            Self::Delete(o) => Event::Delete(f(o)),
        }
    }
}

/// What went wrong; the watcher goes on after every error (after a backoff).
#[derive(Debug, thiserror::Error)]
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
    WatchError(kube_core::Status),
    /// The resourceVersion is too old (410 Gone): the watcher relists.
    #[error("resource version too old (410 Gone); relisting: {0}")]
    Gone(kube_core::Status),
    /// The server closed a watch at once without sending anything: the watcher backs off
    /// instead of reconnecting in a tight loop.
    #[error("the server closed the watch immediately")]
    WatchClosedEarly,
    /// A streaming list ended before its initial-events-end bookmark (the server does not
    /// support streaming lists); the watcher falls back to paged lists in `Auto` mode.
    #[error("the streaming list ended before the initial state was complete")]
    StreamingListIncomplete,
    /// Nothing arrived on a watch, not even its end, well after its timeout: the connection is
    /// taken for dead and the watch restarted.
    #[error("the watch went silent past its timeout; restarting it")]
    WatchStalled,
    /// The watcher's configuration cannot work (bad selector, zero timeout); the stream ends.
    #[error("invalid watcher configuration: {0}")]
    InvalidConfig(#[source] kube_core::Error),
}

/// How the initial state is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialListStrategy {
    /// A streaming list when the server supports it, else paged lists (the default).
    Auto,
    /// Paged LIST, then WATCH.
    ListWatch,
    /// A streaming list only (`sendInitialEvents=true`).
    StreamingList,
}

/// How fresh the initial list must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSemantic {
    /// Any recent state, served from the API server's cache (`resourceVersion=0`): cheap. After
    /// a 410 the watcher always asks for the newest state.
    Any,
    /// The newest state, a quorum read from etcd.
    MostRecent,
}

/// Watcher settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Only objects whose labels match.
    pub label_selector: Option<String>,
    /// Only objects whose fields match.
    pub field_selector: Option<String>,
    /// A fixed watch timeout in seconds; unset spreads timeouts between 5 and 10 minutes so many
    /// watchers do not renew at once.
    pub timeout: Option<u32>,
    /// How the initial state is obtained.
    pub initial_list_strategy: InitialListStrategy,
    /// How fresh the initial list must be.
    pub list_semantic: ListSemantic,
    /// Page size of paged lists.
    pub page_size: Option<u32>,
    /// Backoff after errors.
    pub backoff: Backoff,
    /// Cut `metadata.managedFields` out of the bytes before decoding: objects arrive without
    /// them, decoding takes less CPU and memory. Off by default; reflectors usually want it.
    pub drop_managed_fields: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            label_selector: None,
            field_selector: None,
            timeout: None,
            initial_list_strategy: InitialListStrategy::Auto,
            list_semantic: ListSemantic::Any,
            page_size: Some(500),
            backoff: Backoff::default(),
            drop_managed_fields: false,
        }
    }
}

impl Config {
    /// Only objects whose labels match.
    #[must_use]
    pub fn labels(mut self, selector: &str) -> Self {
        self.label_selector = Some(selector.to_string());
        self
    }

    /// Only objects whose fields match.
    #[must_use]
    pub fn fields(mut self, selector: &str) -> Self {
        self.field_selector = Some(selector.to_string());
        self
    }

    /// A fixed watch timeout in seconds.
    #[must_use]
    pub fn timeout(mut self, seconds: u32) -> Self {
        self.timeout = Some(seconds);
        self
    }

    /// Paged list then watch.
    #[must_use]
    pub fn list_watch(mut self) -> Self {
        self.initial_list_strategy = InitialListStrategy::ListWatch;
        self
    }

    /// Streaming lists only.
    #[must_use]
    pub fn streaming_lists(mut self) -> Self {
        self.initial_list_strategy = InitialListStrategy::StreamingList;
        self
    }

    /// Sets the list semantic.
    #[must_use]
    pub fn list_semantic(mut self, semantic: ListSemantic) -> Self {
        self.list_semantic = semantic;
        self
    }

    /// Sets the page size of paged lists.
    #[must_use]
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Cuts `metadata.managedFields` before decoding (see [`Config::drop_managed_fields`]).
    #[must_use]
    pub fn drop_managed_fields(mut self) -> Self {
        self.drop_managed_fields = true;
        self
    }

    /// Sets the backoff.
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    fn watch_params(&self) -> WatchParams {
        let timeout = self.timeout.unwrap_or_else(|| rand::random_range(300..600));
        let mut wp = WatchParams::default().timeout(timeout);
        wp.label_selector = self.label_selector.clone();
        wp.field_selector = self.field_selector.clone();
        wp
    }

    fn list_params(&self, continue_token: Option<String>, quorum: bool) -> ListParams {
        let mut lp = ListParams {
            label_selector: self.label_selector.clone(),
            field_selector: self.field_selector.clone(),
            limit: self.page_size,
            ..ListParams::default()
        };
        match continue_token {
            Some(token) => lp.continue_token = Some(token),
            None if !quorum && self.list_semantic == ListSemantic::Any => lp = lp.match_any(),
            None => {}
        }
        lp
    }
}

/// The watcher's state between two steps.
enum State<K> {
    /// The initial state must be (re)fetched; `quorum` asks for the newest data.
    Empty { quorum: bool },
    /// A paged list is in progress: objects of the current page still to yield.
    Listing { items: VecDeque<K>, continue_token: Option<String>, resource_version: String, quorum: bool },
    /// A streaming list is in progress on this watch.
    Streaming { stream: EventStream<K> },
    /// Watching from `resource_version`; `stream` is `None` when a new watch must be started.
    Watching { resource_version: String, stream: Option<EventStream<K>> },
}

struct Machine<S: Source> {
    source: S,
    config: Config,
    backoff: BackoffState,
    /// Set when a streaming list failed in a way that says the server does not support it.
    streaming_unsupported: bool,
    /// Wait this long before the next request (after an error).
    delay: Option<Duration>,
    /// When the current watch was opened, and whether it has sent anything yet.
    watch_opened: tokio::time::Instant,
    watch_heard: bool,
    /// The server must have closed the current watch by then (its timeout plus a margin);
    /// silence past it means the connection is dead.
    watch_deadline: tokio::time::Instant,
}

/// How long after a watch's own timeout the watcher waits before it declares the connection dead.
const WATCH_DEADLINE_MARGIN: Duration = Duration::from_secs(60);

type Step<K> = (Option<Result<Event<K>, Error>>, State<K>);

impl<S: Source> Machine<S> {
    fn use_streaming(&self) -> bool {
        match self.config.initial_list_strategy {
            InitialListStrategy::Auto => !self.streaming_unsupported,
            InitialListStrategy::StreamingList => true,
            InitialListStrategy::ListWatch => false,
        }
    }

    /// Notes a watch opened with `wp`, for the dead-connection deadline.
    fn opened(&mut self, wp: &WatchParams) {
        let now = tokio::time::Instant::now();
        self.watch_opened = now;
        self.watch_heard = false;
        let timeout = Duration::from_secs(u64::from(wp.timeout.unwrap_or(1800)));
        self.watch_deadline = now + timeout + WATCH_DEADLINE_MARGIN;
    }

    /// The next item of a watch, or `None` in the outer option when the deadline passed.
    async fn next_before_deadline(
        &self,
        stream: &mut EventStream<S::Value>,
    ) -> Option<Option<Result<WatchEvent<S::Value>, kube_client::Error>>> {
        tokio::time::timeout_at(self.watch_deadline, stream.next()).await.ok()
    }

    fn fail(&mut self, error: Error, next: State<S::Value>) -> Step<S::Value> {
        let delay = self.backoff.next_delay();
        tracing::debug!(%error, ?delay, "watcher error; backing off");
        self.delay = Some(delay);
        (Some(Err(error)), next)
    }

    /// One transition: from `state`, do at most one request and yield at most one event.
    async fn step(&mut self, state: State<S::Value>) -> Step<S::Value> {
        if let Some(delay) = self.delay.take() {
            tokio::time::sleep(delay).await;
        }
        match state {
            State::Empty { quorum } if self.use_streaming() => {
                let wp = self.config.watch_params().streaming_lists();
                // resourceVersion "0" serves the initial state from the cache, "" is a quorum read.
                let rv = if !quorum && self.config.list_semantic == ListSemantic::Any { "0" } else { "" };
                match self.source.watch(&wp, rv).await {
                    Ok(stream) => {
                        self.opened(&wp);
                        (Some(Ok(Event::Init)), State::Streaming { stream })
                    }
                    Err(e)
                        if self.config.initial_list_strategy == InitialListStrategy::Auto
                            && unsupported(&e) =>
                    {
                        tracing::info!(error = %e, "streaming lists are not supported here; using paged lists");
                        self.streaming_unsupported = true;
                        (None, State::Empty { quorum })
                    }
                    Err(e) => self.fail(Error::WatchStart(e), State::Empty { quorum }),
                }
            }
            State::Empty { quorum } => match self.source.list(&self.config.list_params(None, quorum)).await {
                Ok(page) => {
                    let resource_version = page.resource_version().unwrap_or_default().to_string();
                    let continue_token = page.continue_token().map(str::to_string);
                    let items = page.items.into();
                    (
                        Some(Ok(Event::Init)),
                        State::Listing { items, continue_token, resource_version, quorum },
                    )
                }
                Err(e) => self.fail(Error::InitialList(e), State::Empty { quorum }),
            },
            State::Listing { mut items, continue_token, resource_version, quorum } => {
                if let Some(item) = items.pop_front() {
                    return (
                        Some(Ok(Event::InitApply(item))),
                        State::Listing { items, continue_token, resource_version, quorum },
                    );
                }
                let Some(token) = continue_token else {
                    self.backoff.healthy();
                    return (Some(Ok(Event::InitDone)), State::Watching { resource_version, stream: None });
                };
                match self.source.list(&self.config.list_params(Some(token.clone()), quorum)).await {
                    Ok(page) => {
                        let resource_version =
                            page.resource_version().unwrap_or(&resource_version).to_string();
                        let continue_token = page.continue_token().map(str::to_string);
                        (
                            None,
                            State::Listing {
                                items: page.items.into(),
                                continue_token,
                                resource_version,
                                quorum,
                            },
                        )
                    }
                    // The snapshot behind the continue token was compacted: start over.
                    Err(e) if e.is_gone() => self.fail(Error::InitialList(e), State::Empty { quorum: true }),
                    Err(e) => self.fail(
                        Error::InitialList(e),
                        State::Listing { items, continue_token: Some(token), resource_version, quorum },
                    ),
                }
            }
            State::Streaming { mut stream } => match self.next_before_deadline(&mut stream).await {
                None => self.fail(Error::WatchStalled, State::Empty { quorum: false }),
                Some(next) => match next {
                    Some(Ok(WatchEvent::Added(o) | WatchEvent::Modified(o))) => {
                        (Some(Ok(Event::InitApply(o))), State::Streaming { stream })
                    }
                    Some(Ok(WatchEvent::Deleted(_))) => (None, State::Streaming { stream }),
                    Some(Ok(WatchEvent::Bookmark(b))) if b.is_initial_events_end() => {
                        self.backoff.healthy();
                        self.watch_heard = true;
                        let resource_version = b.metadata.resource_version;
                        (
                            Some(Ok(Event::InitDone)),
                            State::Watching { resource_version, stream: Some(stream) },
                        )
                    }
                    Some(Ok(WatchEvent::Bookmark(_))) => (None, State::Streaming { stream }),
                    Some(Ok(WatchEvent::Error(status))) if status.is_gone() => {
                        self.fail(Error::Gone(status), State::Empty { quorum: true })
                    }
                    Some(Ok(WatchEvent::Error(status))) => {
                        self.fail(Error::WatchError(status), State::Empty { quorum: false })
                    }
                    Some(Err(e)) => self.fail(Error::WatchFailed(e), State::Empty { quorum: false }),
                    // Ended before the initial state was complete: a server that ignores
                    // `sendInitialEvents` does this; fall back to paged lists when allowed.
                    None => {
                        if self.config.initial_list_strategy == InitialListStrategy::Auto {
                            self.streaming_unsupported = true;
                        }
                        self.fail(Error::StreamingListIncomplete, State::Empty { quorum: false })
                    }
                },
            },
            State::Watching { resource_version, stream: None } => {
                let wp = self.config.watch_params();
                match self.source.watch(&wp, &resource_version).await {
                    Ok(stream) => {
                        self.opened(&wp);
                        (None, State::Watching { resource_version, stream: Some(stream) })
                    }
                    Err(e) if e.is_gone() => {
                        let status = e.status().cloned().unwrap_or_default();
                        self.fail(Error::Gone(status), State::Empty { quorum: true })
                    }
                    Err(e) => {
                        self.fail(Error::WatchStart(e), State::Watching { resource_version, stream: None })
                    }
                }
            }
            State::Watching { resource_version, stream: Some(mut stream) } => match self
                .next_before_deadline(&mut stream)
                .await
            {
                // Nothing, not even the end, long after the watch's timeout: a dead connection.
                None => self.fail(Error::WatchStalled, State::Watching { resource_version, stream: None }),
                Some(next) => match next {
                    // The server ended a watch at once without a word: back off rather than spin.
                    None if !self.watch_heard && self.watch_opened.elapsed() < Duration::from_secs(1) => {
                        self.fail(Error::WatchClosedEarly, State::Watching { resource_version, stream: None })
                    }
                    Some(Ok(WatchEvent::Added(o) | WatchEvent::Modified(o))) => {
                        self.watch_heard = true;
                        let resource_version = o.resource_version().unwrap_or(resource_version);
                        (
                            Some(Ok(Event::Apply(o))),
                            State::Watching { resource_version, stream: Some(stream) },
                        )
                    }
                    Some(Ok(WatchEvent::Deleted(o))) => {
                        self.watch_heard = true;
                        let resource_version = o.resource_version().unwrap_or(resource_version);
                        (
                            Some(Ok(Event::Delete(o))),
                            State::Watching { resource_version, stream: Some(stream) },
                        )
                    }
                    Some(Ok(WatchEvent::Bookmark(b))) => {
                        self.watch_heard = true;
                        self.backoff.healthy();
                        let resource_version = b.metadata.resource_version;
                        (None, State::Watching { resource_version, stream: Some(stream) })
                    }
                    Some(Ok(WatchEvent::Error(status))) if status.is_gone() => {
                        self.fail(Error::Gone(status), State::Empty { quorum: true })
                    }
                    Some(Ok(WatchEvent::Error(status))) => self
                        .fail(Error::WatchError(status), State::Watching { resource_version, stream: None }),
                    // An event that does not decode was lost: only a relist makes the state right again.
                    Some(Err(e @ kube_client::Error::Decode { .. })) => {
                        self.fail(Error::WatchFailed(e), State::Empty { quorum: true })
                    }
                    Some(Err(e)) => {
                        self.fail(Error::WatchFailed(e), State::Watching { resource_version, stream: None })
                    }
                    // The server ended the watch (its timeout): resume from the last version seen.
                    None => (None, State::Watching { resource_version, stream: None }),
                },
            },
        }
    }
}

/// Whether an error says the server does not support streaming lists.
fn unsupported(e: &kube_client::Error) -> bool {
    e.status().is_some_and(|s| matches!(s.code, 400 | 405 | 406 | 415 | 422 | 501))
}

/// Watches `api` and yields [`Event`]s; see the [module docs](self).
pub fn watcher<K>(api: Api<K>, config: Config) -> impl Stream<Item = Result<Event<K>, Error>> + Send + 'static
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug + Send + Sync + 'static,
{
    let strip_managed_fields = config.drop_managed_fields;
    watch_source(Objects { api, strip_managed_fields }, config)
}

/// Watches the metadata of `api`'s objects only (far less to transfer and keep).
pub fn metadata_watcher<K>(
    api: Api<K>,
    config: Config,
) -> impl Stream<Item = Result<Event<PartialObjectMetadata<K>>, Error>> + Send + 'static
where
    K: Resource + Clone + Send + Sync + 'static,
{
    let strip_managed_fields = config.drop_managed_fields;
    watch_source(Metadata { api, strip_managed_fields }, config)
}

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
            Ok(Event::InitDone) if !seen => Some(Ok(None)),
            Ok(Event::InitDone) => None,
            Ok(Event::Delete(_)) => Some(Ok(None)),
            Err(e) => Some(Err(e)),
        };
        futures::future::ready(out)
    })
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
    let machine = Machine {
        backoff: BackoffState::new(config.backoff.clone()),
        source,
        config,
        streaming_unsupported: false,
        delay: None,
        watch_opened: tokio::time::Instant::now(),
        watch_heard: false,
        watch_deadline: tokio::time::Instant::now(),
    };
    let quorum = machine.config.list_semantic == ListSemantic::MostRecent;
    futures::stream::unfold((machine, State::Empty { quorum }), |(mut machine, state)| async move {
        let mut state = state;
        loop {
            let (event, next) = machine.step(state).await;
            match event {
                Some(event) => return Some((event, (machine, next))),
                None => state = next,
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use std::{
        collections::VecDeque,
        sync::{Arc, Mutex},
    };

    use futures::{StreamExt, future::BoxFuture, stream};
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube_core::{ObjectList, Status, WatchEvent, params::ListParams, watch::Bookmark};

    use super::*;

    fn cm(name: &str, rv: u64) -> ConfigMap {
        serde_json::from_value(serde_json::json!({"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv.to_string()}}))
            .unwrap()
    }

    fn page(items: Vec<ConfigMap>, rv: u64, cont: Option<&str>) -> ObjectList<ConfigMap> {
        serde_json::from_value(serde_json::json!({
            "metadata": {"resourceVersion": rv.to_string(), "continue": cont},
            "items": items,
        }))
        .unwrap()
    }

    fn bookmark(rv: u64, end: bool) -> WatchEvent<ConfigMap> {
        let annotations = if end {
            serde_json::json!({"k8s.io/initial-events-end": "true"})
        } else {
            serde_json::json!({})
        };
        let b: Bookmark = serde_json::from_value(serde_json::json!({
            "kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"resourceVersion": rv.to_string(), "annotations": annotations}
        }))
        .unwrap();
        WatchEvent::Bookmark(b)
    }

    fn gone() -> Status {
        Status::failure(410, "Expired", "too old resource version")
    }

    type Watch = Result<Vec<Result<WatchEvent<ConfigMap>, kube_client::Error>>, kube_client::Error>;
    type Listed = Result<ObjectList<ConfigMap>, kube_client::Error>;

    /// A scripted source: answers lists and watches in order, recording what was asked.
    #[derive(Clone, Default)]
    struct Script {
        lists: Arc<Mutex<VecDeque<Listed>>>,
        watches: Arc<Mutex<VecDeque<Watch>>>,
        asked: Arc<Mutex<Vec<String>>>,
    }

    impl Script {
        fn list(self, r: Listed) -> Self {
            self.lists.lock().unwrap().push_back(r);
            self
        }
        fn watch(self, w: Watch) -> Self {
            self.watches.lock().unwrap().push_back(w);
            self
        }
        fn asked(&self) -> Vec<String> {
            self.asked.lock().unwrap().clone()
        }
    }

    fn api_error(status: Status) -> kube_client::Error {
        kube_client::Error::Api(Box::new(status))
    }

    impl Source for Script {
        type Value = ConfigMap;

        fn list(
            &self,
            lp: &ListParams,
        ) -> BoxFuture<'static, Result<ObjectList<ConfigMap>, kube_client::Error>> {
            self.asked.lock().unwrap().push(format!(
                "list rv={} continue={}",
                lp.resource_version.as_deref().unwrap_or(""),
                lp.continue_token.as_deref().unwrap_or("")
            ));
            let next = self.lists.lock().unwrap().pop_front();
            Box::pin(async move {
                next.unwrap_or_else(|| Err(api_error(Status::failure(500, "", "script ended"))))
            })
        }

        fn watch(
            &self,
            wp: &WatchParams,
            rv: &str,
        ) -> BoxFuture<'static, Result<EventStream<ConfigMap>, kube_client::Error>> {
            let kind = if wp.send_initial_events { "stream" } else { "watch" };
            self.asked.lock().unwrap().push(format!("{kind} rv={rv}"));
            let next = self.watches.lock().unwrap().pop_front();
            Box::pin(async move {
                match next {
                    Some(Ok(events)) => Ok(stream::iter(events).boxed()),
                    Some(Err(e)) => Err(e),
                    // No more script: a watch that never ends.
                    None => Ok(stream::pending().boxed()),
                }
            })
        }
    }

    fn names(events: &[Result<Event<ConfigMap>, Error>]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Ok(Event::Init) => "init".into(),
                Ok(Event::InitApply(o)) => format!("init-apply {}", o.metadata.name.as_deref().unwrap()),
                Ok(Event::InitDone) => "init-done".into(),
                Ok(Event::Apply(o)) => format!("apply {}", o.metadata.name.as_deref().unwrap()),
                Ok(Event::Delete(o)) => format!("delete {}", o.metadata.name.as_deref().unwrap()),
                Err(Error::Gone(_)) => "error gone".into(),
                Err(e) => format!("error {e}"),
            })
            .collect()
    }

    async fn take(script: &Script, config: Config, n: usize) -> Vec<String> {
        let events: Vec<_> = watch_source(script.clone(), config).take(n).collect().await;
        names(&events)
    }

    #[tokio::test(start_paused = true)]
    async fn pages_then_watch_from_the_list_version() {
        let script = Script::default()
            .list(Ok(page(vec![cm("a", 1), cm("b", 2)], 10, Some("next"))))
            .list(Ok(page(vec![cm("c", 3)], 10, None)))
            .watch(Ok(vec![
                Ok(WatchEvent::Added(cm("d", 11))),
                Ok(bookmark(12, false)),
                Ok(WatchEvent::Deleted(cm("a", 13))),
            ]));
        let got = take(&script, Config::default().list_watch(), 7).await;
        assert_eq!(
            got,
            ["init", "init-apply a", "init-apply b", "init-apply c", "init-done", "apply d", "delete a"]
        );
        assert_eq!(script.asked(), ["list rv=0 continue=", "list rv= continue=next", "watch rv=10"]);
    }

    #[tokio::test(start_paused = true)]
    async fn resumes_from_the_last_version_after_a_watch_ends() {
        let script = Script::default()
            .list(Ok(page(vec![], 5, None)))
            .watch(Ok(vec![Ok(WatchEvent::Added(cm("a", 6))), Ok(bookmark(9, false))]))
            .watch(Ok(vec![Ok(WatchEvent::Modified(cm("a", 10)))]));
        let got = take(&script, Config::default().list_watch(), 4).await;
        assert_eq!(got, ["init", "init-done", "apply a", "apply a"]);
        assert_eq!(script.asked(), ["list rv=0 continue=", "watch rv=5", "watch rv=9"]);
    }

    #[tokio::test(start_paused = true)]
    async fn relists_with_a_quorum_read_after_410() {
        let script = Script::default()
            .list(Ok(page(vec![cm("a", 1)], 5, None)))
            .watch(Ok(vec![Ok(WatchEvent::Error(gone()))]))
            .list(Ok(page(vec![cm("b", 7)], 8, None)));
        let got = take(&script, Config::default().list_watch(), 7).await;
        assert_eq!(
            got,
            ["init", "init-apply a", "init-done", "error gone", "init", "init-apply b", "init-done"]
        );
        assert_eq!(script.asked(), ["list rv=0 continue=", "watch rv=5", "list rv= continue="]);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_reach_the_consumer_and_back_off() {
        let script = Script::default()
            .list(Err(api_error(Status::failure(503, "ServiceUnavailable", "down"))))
            .list(Err(api_error(Status::failure(503, "ServiceUnavailable", "down"))))
            .list(Ok(page(vec![], 5, None)));
        let config = Config::default().list_watch().backoff(Backoff { jitter: 0.0, ..Backoff::default() });
        let start = tokio::time::Instant::now();
        let got = take(&script, config, 4).await;
        assert_eq!(got.len(), 4);
        assert!(
            got[0].starts_with("error failed to list") && got[1].starts_with("error failed to list"),
            "{got:?}"
        );
        assert_eq!(&got[2..], ["init", "init-done"]);
        assert_eq!(start.elapsed(), Duration::from_millis(800 + 1600));
    }

    #[tokio::test(start_paused = true)]
    async fn streaming_list_ends_at_the_initial_events_bookmark() {
        let script = Script::default().watch(Ok(vec![
            Ok(WatchEvent::Added(cm("a", 1))),
            Ok(WatchEvent::Added(cm("b", 2))),
            Ok(bookmark(3, true)),
            Ok(WatchEvent::Modified(cm("a", 4))),
        ]));
        let got = take(&script, Config::default(), 5).await;
        assert_eq!(got, ["init", "init-apply a", "init-apply b", "init-done", "apply a"]);
        assert_eq!(script.asked(), ["stream rv=0"]);
    }

    #[tokio::test(start_paused = true)]
    async fn falls_back_to_paged_lists_when_streaming_is_refused() {
        let refused = api_error(Status::failure(422, "Invalid", "sendInitialEvents is forbidden"));
        let script = Script::default().watch(Err(refused)).list(Ok(page(vec![cm("a", 1)], 2, None)));
        let got = take(&script, Config::default(), 3).await;
        assert_eq!(got, ["init", "init-apply a", "init-done"]);
        assert_eq!(script.asked(), ["stream rv=0", "list rv=0 continue="]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_closed_at_once_is_an_error_with_backoff_not_a_busy_loop() {
        let script = Script::default()
            .list(Ok(page(vec![], 5, None)))
            .watch(Ok(vec![]))
            .watch(Ok(vec![]))
            .watch(Ok(vec![Ok(WatchEvent::Added(cm("a", 6)))]));
        let config = Config::default().list_watch().backoff(Backoff { jitter: 0.0, ..Backoff::default() });
        let start = tokio::time::Instant::now();
        let got = take(&script, config, 5).await;
        assert_eq!(got[..2], ["init", "init-done"]);
        assert_eq!(got[2..4], ["error the server closed the watch immediately"; 2]);
        assert_eq!(got[4], "apply a");
        assert_eq!(start.elapsed(), Duration::from_millis(800 + 1600));
        assert_eq!(script.asked(), ["list rv=0 continue=", "watch rv=5", "watch rv=5", "watch rv=5"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_streaming_list_without_its_bookmark_falls_back_to_paged_lists() {
        // A server that ignores sendInitialEvents: sends the objects, never the bookmark, ends.
        let script = Script::default().watch(Ok(vec![Ok(WatchEvent::Added(cm("a", 1)))])).list(Ok(page(
            vec![cm("a", 1)],
            2,
            None,
        )));
        let got = take(&script, Config::default(), 6).await;
        assert_eq!(got[..2], ["init", "init-apply a"]);
        assert!(got[2].contains("streaming list ended"), "{got:?}");
        assert_eq!(got[3..], ["init", "init-apply a", "init-done"]);
        assert_eq!(script.asked(), ["stream rv=0", "list rv=0 continue="]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_impossible_configuration_is_one_error_and_the_end() {
        let script = Script::default();
        let events: Vec<_> = watch_source(script.clone(), Config::default().labels("a in b")).collect().await;
        assert_eq!(events.len(), 1);
        assert!(matches!(events[0], Err(Error::InvalidConfig(_))));
        assert!(script.asked().is_empty(), "nothing was sent");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_dead_watch_is_restarted_after_its_timeout() {
        // The second watch never sends anything nor ends (a dead connection).
        let script = Script::default()
            .list(Ok(page(vec![], 5, None)))
            .watch(Ok(vec![Ok(WatchEvent::Added(cm("a", 6)))]))
            .watch(Ok(vec![Ok(WatchEvent::Added(cm("b", 7)))]));
        let start = tokio::time::Instant::now();
        let config =
            Config::default().list_watch().timeout(10).backoff(Backoff { jitter: 0.0, ..Backoff::default() });
        let got = take(&script, config, 5).await;
        assert_eq!(
            got,
            [
                "init",
                "init-done",
                "apply a",
                "apply b",
                "error the watch went silent past its timeout; restarting it"
            ]
        );
        // The third watch (scripted as silent) is declared dead 10 s + 60 s after it opened.
        assert_eq!(start.elapsed(), Duration::from_secs(70));
        assert_eq!(script.asked(), ["list rv=0 continue=", "watch rv=5", "watch rv=6", "watch rv=7"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_compacted_continue_token_restarts_the_list() {
        let script = Script::default()
            .list(Ok(page(vec![cm("a", 1)], 10, Some("old"))))
            .list(Err(api_error(gone())))
            .list(Ok(page(vec![cm("b", 11)], 12, None)));
        let got = take(&script, Config::default().list_watch(), 6).await;
        assert_eq!(got[..2], ["init", "init-apply a"]);
        assert!(got[2].starts_with("error failed to list"), "{got:?}");
        assert_eq!(&got[3..], ["init", "init-apply b", "init-done"]);
    }
}

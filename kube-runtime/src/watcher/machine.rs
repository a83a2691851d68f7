//! The watcher's state machine: one `step` per transition (list a page, start a watch, take an
//! event, back off), driven by `futures::stream::unfold` in [`watch_source`](super::watch_source).

use std::time::Duration;

use futures::{Stream, StreamExt, stream::BoxStream};
use kube_client::client::list::ListPart;
use kube_core::{Resource, ResourceExt, WatchEvent, params::WatchParams};
use tokio::time::Instant;

use super::{
    Config, Error, Event, InitialListStrategy, ListSemantic,
    backoff::BackoffState,
    source::{EventStream, ListStream, Source},
};

/// The watcher's state between two steps.
enum State<K> {
    /// The initial state must be (re)fetched; `quorum` asks for the newest data.
    Empty { quorum: bool },
    /// A page of a paged list is arriving, item by item. `resource_version` is the list's, once a
    /// page has said it.
    Listing { page: ListStream<K>, resource_version: Option<String>, quorum: bool },
    /// A streaming list is in progress on this watch.
    Streaming { stream: EventStream<K> },
    /// Watching from `resource_version` (never empty); `stream` is `None` when a new watch must
    /// be started.
    Watching { resource_version: String, stream: Option<EventStream<K>> },
}

struct Machine<S: Source> {
    source: S,
    config: Config,
    backoff: BackoffState,
    /// Set when a streaming list failed in a way that says the server does not support it.
    streaming_unsupported: bool,
    /// Set once the server sent a periodic bookmark: from then on a silent watch is suspect.
    server_sends_bookmarks: bool,
    /// Wait this long before the next request (after an error).
    delay: Option<Duration>,
    /// When the current watch was opened, whether it has sent anything yet, and when it last did.
    watch_opened: Instant,
    watch_heard: bool,
    watch_last_heard: Instant,
    /// The server must have closed the current watch by then (its timeout plus a margin);
    /// silence past it means the connection is dead.
    watch_deadline: Instant,
}

/// How long after a watch's own timeout the watcher waits before it declares the connection dead.
const WATCH_DEADLINE_MARGIN: Duration = Duration::from_secs(60);

type Step<K> = (Option<Result<Event<K>, Error>>, State<K>);

/// What waiting for the next item of a stream gave.
enum Next<T> {
    Item(T),
    Ended,
    /// Nothing came for this long.
    Silent(Duration),
}

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
        let now = Instant::now();
        self.watch_opened = now;
        self.watch_last_heard = now;
        self.watch_heard = false;
        let timeout = Duration::from_secs(u64::from(wp.timeout.unwrap_or(1800)));
        self.watch_deadline = now + timeout + WATCH_DEADLINE_MARGIN;
    }

    fn heard(&mut self) {
        self.watch_heard = true;
        self.watch_last_heard = Instant::now();
    }

    /// The next event of a running watch, unless the watch stays silent past its deadline (or,
    /// from a server that sends periodic bookmarks, past the silence timeout).
    async fn next_event(
        &self,
        stream: &mut EventStream<S::Value>,
    ) -> Next<Result<WatchEvent<S::Value>, kube_client::Error>> {
        let mut deadline = self.watch_deadline;
        if self.server_sends_bookmarks {
            deadline = deadline.min(self.watch_last_heard + self.config.silence_timeout);
        }
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(item)) => Next::Item(item),
            Ok(None) => Next::Ended,
            Err(_) => Next::Silent(self.watch_last_heard.elapsed()),
        }
    }

    /// The next item of a list or of a streaming list's initial events, within the progress
    /// timeout.
    async fn next_initial<T>(&self, stream: &mut (impl Stream<Item = T> + Unpin)) -> Next<T> {
        match tokio::time::timeout(self.config.progress_timeout, stream.next()).await {
            Ok(Some(item)) => Next::Item(item),
            Ok(None) => Next::Ended,
            Err(_) => Next::Silent(self.config.progress_timeout),
        }
    }

    /// Yields `error` and waits before the next request: the exponential backoff, or the short
    /// probe interval when the server could not be reached at all.
    fn fail(&mut self, error: Error, next: State<S::Value>) -> Step<S::Value> {
        let delay = if unreachable(&error) { self.backoff.probe_delay() } else { self.backoff.next_delay() };
        tracing::debug!(%error, ?delay, "watcher error; backing off");
        self.delay = Some(delay);
        (Some(Err(error)), next)
    }

    /// An object that cannot be keyed is an error for that object only.
    fn keyed(
        &self,
        object: S::Value,
        what: &'static str,
        event: fn(S::Value) -> Event<S::Value>,
    ) -> Result<Event<S::Value>, Error> {
        if object.meta().name.as_deref().is_none_or(str::is_empty) {
            return Err(Error::ObjectWithoutName(what));
        }
        Ok(event(object))
    }

    /// One transition: from `state`, do at most one request and yield at most one event.
    async fn step(&mut self, state: State<S::Value>) -> Step<S::Value> {
        if let Some(delay) = self.delay.take() {
            tokio::time::sleep(delay).await;
        }
        match state {
            State::Empty { quorum } if self.use_streaming() => self.start_streaming(quorum).await,
            State::Empty { quorum } => match self.request_page(None, quorum).await {
                Ok(page) => (Some(Ok(Event::Init)), State::Listing { page, resource_version: None, quorum }),
                Err(e) => self.fail(e, State::Empty { quorum }),
            },
            State::Listing { page, resource_version, quorum } => {
                self.listing(page, resource_version, quorum).await
            }
            State::Streaming { stream } => self.streaming(stream).await,
            State::Watching { resource_version, stream: None } => self.start_watch(resource_version).await,
            State::Watching { resource_version, stream: Some(stream) } => {
                self.watching(resource_version, stream).await
            }
        }
    }

    /// Asks for a page of the list (the first when `continue_token` is `None`), within the
    /// progress timeout.
    async fn request_page(
        &self,
        continue_token: Option<String>,
        quorum: bool,
    ) -> Result<ListStream<S::Value>, Error> {
        let lp = self.config.list_params(continue_token, quorum);
        let request = self.source.list(&lp, self.config.decode_options());
        match tokio::time::timeout(self.config.progress_timeout, request).await {
            Ok(Ok(page)) => Ok(page),
            Ok(Err(e)) => Err(Error::InitialList(e)),
            Err(_) => Err(Error::ListStalled(self.config.progress_timeout)),
        }
    }

    async fn listing(
        &mut self,
        mut page: ListStream<S::Value>,
        resource_version: Option<String>,
        quorum: bool,
    ) -> Step<S::Value> {
        match self.next_initial(&mut page).await {
            Next::Item(Ok(ListPart::Item(o))) => {
                let event = self.keyed(o, "list", Event::InitApply);
                (Some(event), State::Listing { page, resource_version, quorum })
            }
            // An item that did not decode: reported, and the list goes on (a broken body ends
            // the page, below).
            Next::Item(Err(e)) => {
                (Some(Err(Error::InitialList(e))), State::Listing { page, resource_version, quorum })
            }
            Next::Item(Ok(ListPart::End(meta))) => {
                // Every page of one list shares the first page's snapshot.
                let resource_version = resource_version.or(meta.resource_version).filter(|rv| !rv.is_empty());
                if let Some(token) = meta.continue_.filter(|t| !t.is_empty()) {
                    return match self.request_page(Some(token), quorum).await {
                        Ok(page) => (None, State::Listing { page, resource_version, quorum }),
                        // The snapshot behind the continue token was compacted (410), or the
                        // page failed: start over.
                        Err(e) => {
                            let quorum = quorum || matches!(&e, Error::InitialList(c) if c.is_gone());
                            self.fail(e, State::Empty { quorum })
                        }
                    };
                }
                match resource_version {
                    Some(resource_version) => {
                        self.backoff.healthy();
                        (Some(Ok(Event::InitDone)), State::Watching { resource_version, stream: None })
                    }
                    // Watching without a version would miss every change since the list.
                    None => self.fail(Error::MissingResourceVersion("list"), State::Empty { quorum: true }),
                }
            }
            // The page broke off; its error was yielded already.
            Next::Ended => {
                self.delay = Some(self.backoff.next_delay());
                (None, State::Empty { quorum })
            }
            Next::Silent(after) => self.fail(Error::ListStalled(after), State::Empty { quorum }),
        }
    }

    async fn start_streaming(&mut self, quorum: bool) -> Step<S::Value> {
        let wp = self.config.watch_params().streaming_lists();
        // resourceVersion "0" serves the initial state from the cache, "" is a quorum read.
        let rv = if !quorum && self.config.list_semantic == ListSemantic::Any { "0" } else { "" };
        let request = self.source.watch(&wp, rv, self.config.decode_options());
        match tokio::time::timeout(self.config.progress_timeout, request).await {
            Ok(Ok(stream)) => {
                self.opened(&wp);
                (Some(Ok(Event::Init)), State::Streaming { stream })
            }
            Ok(Err(e))
                if self.config.initial_list_strategy == InitialListStrategy::Auto && unsupported(&e) =>
            {
                tracing::info!(error = %e, "streaming lists are not supported here; using paged lists");
                self.streaming_unsupported = true;
                (None, State::Empty { quorum })
            }
            Ok(Err(e)) => self.fail(Error::WatchStart(e), State::Empty { quorum }),
            Err(_) => self.fail(Error::ListStalled(self.config.progress_timeout), State::Empty { quorum }),
        }
    }

    async fn streaming(&mut self, mut stream: EventStream<S::Value>) -> Step<S::Value> {
        let next = match self.next_initial(&mut stream).await {
            Next::Item(item) => item,
            Next::Silent(after) => {
                return self.fail(Error::ListStalled(after), State::Empty { quorum: false });
            }
            // Ended before the initial state was complete: a server that ignores
            // `sendInitialEvents` does this; fall back to paged lists when allowed.
            Next::Ended => {
                if self.config.initial_list_strategy == InitialListStrategy::Auto {
                    self.streaming_unsupported = true;
                }
                return self.fail(Error::StreamingListIncomplete, State::Empty { quorum: false });
            }
        };
        match next {
            Ok(WatchEvent::Added(o) | WatchEvent::Modified(o)) => {
                (Some(self.keyed(o, "streaming list", Event::InitApply)), State::Streaming { stream })
            }
            // Gone before the initial state was complete: not part of it.
            Ok(WatchEvent::Deleted(o)) => {
                (Some(self.keyed(o, "streaming list", Event::InitDelete)), State::Streaming { stream })
            }
            Ok(WatchEvent::Bookmark(b)) if b.is_initial_events_end() => {
                let resource_version = b.metadata.resource_version;
                if resource_version.is_empty() {
                    return self.fail(
                        Error::MissingResourceVersion("initial-events-end bookmark"),
                        State::Empty { quorum: true },
                    );
                }
                self.backoff.healthy();
                self.heard();
                (Some(Ok(Event::InitDone)), State::Watching { resource_version, stream: Some(stream) })
            }
            Ok(WatchEvent::Bookmark(_)) => (None, State::Streaming { stream }),
            Ok(WatchEvent::Error(status)) if status.is_gone() => {
                self.fail(Error::Gone(Box::new(status)), State::Empty { quorum: true })
            }
            Ok(WatchEvent::Error(status)) => {
                self.fail(Error::WatchError(Box::new(status)), State::Empty { quorum: false })
            }
            Err(e) => self.fail(Error::WatchFailed(e), State::Empty { quorum: false }),
        }
    }

    async fn start_watch(&mut self, resource_version: String) -> Step<S::Value> {
        let wp = self.config.watch_params();
        match self.source.watch(&wp, &resource_version, self.config.decode_options()).await {
            Ok(stream) => {
                self.opened(&wp);
                (None, State::Watching { resource_version, stream: Some(stream) })
            }
            Err(e) if e.is_gone() => {
                let status = e.status().cloned().unwrap_or_default();
                self.fail(Error::Gone(Box::new(status)), State::Empty { quorum: true })
            }
            Err(e) => self.fail(Error::WatchStart(e), State::Watching { resource_version, stream: None }),
        }
    }

    async fn watching(
        &mut self,
        resource_version: String,
        mut stream: EventStream<S::Value>,
    ) -> Step<S::Value> {
        let next = match self.next_event(&mut stream).await {
            Next::Item(item) => item,
            // Nothing, not even the end: a dead connection.
            Next::Silent(after) => {
                return self
                    .fail(Error::WatchStalled(after), State::Watching { resource_version, stream: None });
            }
            // The server ended a watch at once without a word: back off rather than spin.
            Next::Ended if !self.watch_heard && self.watch_opened.elapsed() < Duration::from_secs(1) => {
                return self
                    .fail(Error::WatchClosedEarly, State::Watching { resource_version, stream: None });
            }
            // The server ended the watch (its timeout): resume from the last version seen.
            Next::Ended => return (None, State::Watching { resource_version, stream: None }),
        };
        match next {
            Ok(WatchEvent::Added(o) | WatchEvent::Modified(o)) => {
                self.heard();
                // A version-less object cannot move the resume point; the last one stays valid.
                let resource_version =
                    o.resource_version().filter(|rv| !rv.is_empty()).unwrap_or(resource_version);
                (
                    Some(self.keyed(o, "watch", Event::Apply)),
                    State::Watching { resource_version, stream: Some(stream) },
                )
            }
            Ok(WatchEvent::Deleted(o)) => {
                self.heard();
                let resource_version =
                    o.resource_version().filter(|rv| !rv.is_empty()).unwrap_or(resource_version);
                (
                    Some(self.keyed(o, "watch", Event::Delete)),
                    State::Watching { resource_version, stream: Some(stream) },
                )
            }
            Ok(WatchEvent::Bookmark(b)) => {
                self.heard();
                self.backoff.healthy();
                if !b.is_initial_events_end() {
                    self.server_sends_bookmarks = true;
                }
                // A bookmark without a version says nothing; the last version stays valid.
                let resource_version =
                    Some(b.metadata.resource_version).filter(|rv| !rv.is_empty()).unwrap_or(resource_version);
                (None, State::Watching { resource_version, stream: Some(stream) })
            }
            Ok(WatchEvent::Error(status)) if status.is_gone() => {
                self.fail(Error::Gone(Box::new(status)), State::Empty { quorum: true })
            }
            Ok(WatchEvent::Error(status)) => self.fail(
                Error::WatchError(Box::new(status)),
                State::Watching { resource_version, stream: None },
            ),
            // An event that does not decode was lost: only a relist makes the state right again.
            Err(e @ kube_client::Error::Decode { .. }) => {
                self.fail(Error::WatchFailed(e), State::Empty { quorum: true })
            }
            Err(e) => self.fail(Error::WatchFailed(e), State::Watching { resource_version, stream: None }),
        }
    }
}

/// Runs the machine over `source` from the empty state: the watcher's stream.
pub(super) fn run<S: Source>(
    source: S,
    config: Config,
) -> BoxStream<'static, Result<Event<S::Value>, Error>> {
    let now = Instant::now();
    let machine = Machine {
        backoff: BackoffState::new(config.backoff.clone()),
        source,
        config,
        streaming_unsupported: false,
        server_sends_bookmarks: false,
        delay: None,
        watch_opened: now,
        watch_heard: false,
        watch_last_heard: now,
        watch_deadline: now,
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

/// Whether an error says the server does not support streaming lists.
fn unsupported(e: &kube_client::Error) -> bool {
    e.status().is_some_and(|s| matches!(s.code, 400 | 405 | 406 | 415 | 422 | 501))
}

/// Whether an error says the server could not be reached at all (nothing was sent to it).
fn unreachable(error: &Error) -> bool {
    use std::io::ErrorKind::{ConnectionRefused, HostUnreachable, NetworkUnreachable};
    let client_error = match error {
        Error::InitialList(e) | Error::WatchStart(e) => e,
        _ => return false,
    };
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(client_error);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(io.kind(), ConnectionRefused | HostUnreachable | NetworkUnreachable)
        {
            return true;
        }
        cause = e.source();
    }
    false
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

    use kube_client::client::decode::DecodeOptions;

    use super::*;
    use crate::watcher::{Backoff, watch_source};

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

    /// How the scripted server answers one list request.
    enum ListAnswer {
        Answer(Listed),
        /// The request never gets a response.
        NeverAnswers,
        /// These items arrive, then nothing more, ever.
        StallsAfter(Vec<ConfigMap>),
    }

    /// A scripted source: answers lists and watches in order, recording what was asked.
    #[derive(Clone, Default)]
    struct Script {
        lists: Arc<Mutex<VecDeque<ListAnswer>>>,
        watches: Arc<Mutex<VecDeque<Watch>>>,
        asked: Arc<Mutex<Vec<String>>>,
    }

    impl Script {
        fn list(self, r: Listed) -> Self {
            self.lists.lock().unwrap().push_back(ListAnswer::Answer(r));
            self
        }
        fn list_answer(self, a: ListAnswer) -> Self {
            self.lists.lock().unwrap().push_back(a);
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
            _: DecodeOptions,
        ) -> BoxFuture<'static, Result<ListStream<ConfigMap>, kube_client::Error>> {
            self.asked.lock().unwrap().push(format!(
                "list rv={} continue={}",
                lp.resource_version.as_deref().unwrap_or(""),
                lp.continue_token.as_deref().unwrap_or("")
            ));
            let next = self.lists.lock().unwrap().pop_front();
            Box::pin(async move {
                let list = match next {
                    Some(ListAnswer::Answer(list)) => list?,
                    None => return Err(api_error(Status::failure(500, "", "script ended"))),
                    Some(ListAnswer::NeverAnswers) => return futures::future::pending().await,
                    Some(ListAnswer::StallsAfter(items)) => {
                        let items = stream::iter(items.into_iter().map(|o| Ok(ListPart::Item(o))));
                        return Ok(items.chain(stream::pending()).boxed());
                    }
                };
                let parts: Vec<_> = list
                    .items
                    .into_iter()
                    .map(|o| Ok(ListPart::Item(o)))
                    .chain([Ok(ListPart::End(list.metadata))])
                    .collect();
                Ok(stream::iter(parts).boxed())
            })
        }

        fn watch(
            &self,
            wp: &WatchParams,
            rv: &str,
            _: DecodeOptions,
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
                Ok(Event::InitDelete(o)) => format!("init-delete {}", o.metadata.name.as_deref().unwrap()),
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
            ["init", "init-done", "apply a", "apply b", "error the watch went silent for 70s; restarting it"]
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

    fn page_without_version(items: Vec<ConfigMap>) -> ObjectList<ConfigMap> {
        serde_json::from_value(serde_json::json!({"metadata": {"resourceVersion": ""}, "items": items}))
            .unwrap()
    }

    fn nameless(rv: u64) -> ConfigMap {
        serde_json::from_value(
            serde_json::json!({"metadata": {"namespace": "ns", "resourceVersion": rv.to_string()}}),
        )
        .unwrap()
    }

    fn no_jitter() -> Backoff {
        Backoff { jitter: 0.0, ..Backoff::default() }
    }

    #[tokio::test(start_paused = true)]
    async fn a_list_without_a_version_is_listed_again_never_watched_from_now() {
        let script = Script::default().list(Ok(page_without_version(vec![cm("a", 1)]))).list(Ok(page(
            vec![cm("b", 3)],
            4,
            None,
        )));
        let got = take(&script, Config::default().list_watch().timeout(10), 7).await;
        assert_eq!(got[..2], ["init", "init-apply a"]);
        assert_eq!(got[2], "error the list carried no resourceVersion; listing again");
        assert_eq!(got[3..6], ["init", "init-apply b", "init-done"]);
        // No watch "from now": a quorum relist, then a watch from the relist's version.
        assert_eq!(script.asked(), ["list rv=0 continue=", "list rv= continue=", "watch rv=4"]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_initial_events_end_bookmark_without_a_version_leads_to_a_relist() {
        let end_without_version: Bookmark = serde_json::from_value(serde_json::json!({
            "kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"resourceVersion": "", "annotations": {"k8s.io/initial-events-end": "true"}}
        }))
        .unwrap();
        let script = Script::default()
            .watch(Ok(vec![Ok(WatchEvent::Added(cm("a", 1))), Ok(WatchEvent::Bookmark(end_without_version))]))
            .watch(Ok(vec![Ok(WatchEvent::Added(cm("a", 1))), Ok(bookmark(5, true))]));
        let got = take(&script, Config::default(), 6).await;
        assert_eq!(got[..2], ["init", "init-apply a"]);
        assert!(got[2].contains("initial-events-end bookmark carried no resourceVersion"), "{got:?}");
        assert_eq!(got[3..], ["init", "init-apply a", "init-done"]);
        assert_eq!(script.asked(), ["stream rv=0", "stream rv="]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bookmark_without_a_version_keeps_the_last_one() {
        let empty: Bookmark = serde_json::from_value(
            serde_json::json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"resourceVersion": ""}}),
        )
        .unwrap();
        let script = Script::default()
            .list(Ok(page(vec![], 5, None)))
            .watch(Ok(vec![Ok(WatchEvent::Added(cm("a", 6))), Ok(WatchEvent::Bookmark(empty))]))
            .watch(Ok(vec![Ok(WatchEvent::Deleted(cm("a", 7)))]));
        let got = take(&script, Config::default().list_watch(), 4).await;
        assert_eq!(got, ["init", "init-done", "apply a", "delete a"]);
        assert_eq!(script.asked(), ["list rv=0 continue=", "watch rv=5", "watch rv=6"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delete_during_a_streaming_list_is_part_of_the_initial_state() {
        let script = Script::default().watch(Ok(vec![
            Ok(WatchEvent::Added(cm("a", 1))),
            Ok(WatchEvent::Added(cm("b", 2))),
            Ok(WatchEvent::Deleted(cm("a", 3))),
            Ok(bookmark(4, true)),
        ]));
        let got = take(&script, Config::default(), 5).await;
        assert_eq!(got, ["init", "init-apply a", "init-apply b", "init-delete a", "init-done"]);
        // A store fed by these events holds b only.
        let (store, mut writer) = crate::reflector::store::<ConfigMap>();
        let events: Vec<_> = watch_source(script_again(), Config::default()).take(5).collect().await;
        for event in events {
            writer.apply(&event.unwrap());
        }
        let names: Vec<_> = store.state().iter().map(|o| o.metadata.name.clone().unwrap()).collect();
        assert_eq!(names, ["b"]);
    }

    fn script_again() -> Script {
        Script::default().watch(Ok(vec![
            Ok(WatchEvent::Added(cm("a", 1))),
            Ok(WatchEvent::Added(cm("b", 2))),
            Ok(WatchEvent::Deleted(cm("a", 3))),
            Ok(bookmark(4, true)),
        ]))
    }

    #[tokio::test(start_paused = true)]
    async fn objects_without_a_name_are_errors_and_the_watcher_carries_on() {
        let script = Script::default()
            .list(Ok(page(vec![cm("a", 1), nameless(2), cm("b", 3)], 4, None)))
            .watch(Ok(vec![Ok(WatchEvent::Added(nameless(5))), Ok(WatchEvent::Added(cm("c", 6)))]));
        let got = take(&script, Config::default().list_watch(), 7).await;
        assert_eq!(
            got,
            [
                "init",
                "init-apply a",
                "error an object in the list has no metadata.name; skipped",
                "init-apply b",
                "init-done",
                "error an object in the watch has no metadata.name; skipped",
                "apply c"
            ]
        );
        // The same watch went on: no relist, no second watch.
        assert_eq!(script.asked(), ["list rv=0 continue=", "watch rv=4"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_list_that_never_answers_or_stalls_is_abandoned_after_the_progress_timeout() {
        let script = Script::default()
            .list_answer(ListAnswer::NeverAnswers)
            .list_answer(ListAnswer::StallsAfter(vec![cm("a", 1)]))
            .list(Ok(page(vec![cm("a", 1)], 2, None)));
        let config =
            Config::default().list_watch().backoff(no_jitter()).progress_timeout(Duration::from_secs(10));
        let start = tokio::time::Instant::now();
        let got = take(&script, config, 7).await;
        assert_eq!(got[0], "error the initial list made no progress for 10s; listing again");
        assert_eq!(got[1..3], ["init", "init-apply a"]);
        assert_eq!(got[3], "error the initial list made no progress for 10s; listing again");
        assert_eq!(got[4..], ["init", "init-apply a", "init-done"]);
        // 10 s stalled, 0.8 s backoff, 10 s stalled, 1.6 s backoff.
        assert_eq!(start.elapsed(), Duration::from_millis(10_000 + 800 + 10_000 + 1600));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_watch_is_restarted_within_the_silence_timeout_once_bookmarks_were_seen() {
        // The server sends a periodic bookmark, then the connection goes silent (never ends).
        let script = Script::default()
            .list(Ok(page(vec![], 5, None)))
            .watch(Ok(vec![Ok(WatchEvent::Added(cm("a", 6))), Ok(bookmark(7, false))]));
        let config = Config::default().list_watch().backoff(no_jitter());
        let start = tokio::time::Instant::now();
        let events: Vec<_> = watch_source(script.clone(), config).take(4).collect().await;
        let got = names(&events);
        assert_eq!(got[..3], ["init", "init-done", "apply a"]);
        assert_eq!(got[3], "error the watch went silent for 75s; restarting it");
        // The second watch (from the bookmark's version) stays silent; without the bookmark seen
        // before, its silence would count only after its 5-10 min timeout plus a minute.
        assert_eq!(start.elapsed(), Duration::from_secs(75));
        assert_eq!(script.asked(), ["list rv=0 continue=", "watch rv=5", "watch rv=7"]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_server_is_probed_every_second_not_backed_off_exponentially() {
        let refused = || kube_client::Error::Transport {
            uri: "/api/v1/configmaps".into(),
            source: Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        };
        let mut script = Script::default();
        for _ in 0..10 {
            script = script.list(Err(refused()));
        }
        // Then the server is back, but struggling: its own errors get the exponential delay.
        script = script
            .list(Err(api_error(Status::failure(503, "ServiceUnavailable", "busy"))))
            .list(Ok(page(vec![], 5, None)));
        let config = Config::default().list_watch().backoff(no_jitter());
        let start = tokio::time::Instant::now();
        let got = take(&script, config, 13).await;
        assert!(got[..11].iter().all(|e| e.starts_with("error failed to list")), "{got:?}");
        assert_eq!(got[11..], ["init", "init-done"]);
        // Ten refused attempts 1 s apart (not 0.8, 1.6, 3.2, ... 30 s), then one 800 ms backoff:
        // the exponential delay was not advanced by the refusals.
        assert_eq!(start.elapsed(), Duration::from_millis(10 * 1000 + 800));
    }
}

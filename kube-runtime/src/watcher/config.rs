//! Watcher settings: selectors, timeouts, how the initial state is listed, backoff, decoding.

use std::time::Duration;

use kube_client::client::decode::DecodeOptions;
use kube_core::params::{ListParams, Selectors, WatchParams};

use super::Backoff;

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
    /// Which objects: label and field selectors.
    pub selectors: Selectors,
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
    /// A list, or the initial events of a streaming list, that makes no progress (no response,
    /// no next object) for this long is abandoned: the watcher backs off and lists again.
    /// 60 s by default. This counts whole objects, from the request on; the client's own
    /// [`progress_timeout`](kube_client::Config::progress_timeout) counts bytes of any body, so a
    /// body trickling a byte a minute passes that one but not this.
    pub progress_timeout: Duration,
    /// Once the server has shown that it sends periodic bookmarks (the API server's watch cache
    /// sends one about every minute to a watch that asks for them, as this watcher's do), a watch
    /// silent for this long is taken for a dead connection and restarted. 75 s by default; a
    /// server that sends no periodic bookmarks (watch cache off) is never held to it.
    pub silence_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            selectors: Selectors::default(),
            timeout: None,
            initial_list_strategy: InitialListStrategy::Auto,
            list_semantic: ListSemantic::Any,
            page_size: Some(500),
            backoff: Backoff::default(),
            drop_managed_fields: false,
            progress_timeout: Duration::from_secs(60),
            silence_timeout: Duration::from_secs(75),
        }
    }
}

kube_core::selector_builders!(Config);

impl Config {
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

    /// Sets the progress timeout of lists (see [`Config::progress_timeout`]).
    #[must_use]
    pub fn progress_timeout(mut self, timeout: Duration) -> Self {
        self.progress_timeout = timeout;
        self
    }

    /// Sets how long a watch may be silent (see [`Config::silence_timeout`]).
    #[must_use]
    pub fn silence_timeout(mut self, timeout: Duration) -> Self {
        self.silence_timeout = timeout;
        self
    }

    /// How lists and watches are decoded: the one place the managedFields setting is read.
    pub(super) fn decode_options(&self) -> DecodeOptions {
        let options = DecodeOptions::default();
        if self.drop_managed_fields { options.drop_managed_fields() } else { options }
    }

    /// The parameters of a watch: the selectors and a (spread) timeout.
    pub(super) fn watch_params(&self) -> WatchParams {
        let timeout = self.timeout.unwrap_or_else(|| rand::random_range(300..600));
        WatchParams { selectors: self.selectors.clone(), ..WatchParams::default() }.timeout(timeout)
    }

    /// The parameters of one page of a list; `quorum` asks for the newest data.
    pub(super) fn list_params(&self, continue_token: Option<String>, quorum: bool) -> ListParams {
        let mut lp =
            ListParams { selectors: self.selectors.clone(), limit: self.page_size, ..ListParams::default() };
        match continue_token {
            Some(token) => lp.continue_token = Some(token),
            None if !quorum && self.list_semantic == ListSemantic::Any => lp = lp.match_any(),
            None => {}
        }
        lp
    }
}

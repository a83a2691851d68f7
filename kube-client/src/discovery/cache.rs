//! A discovery result shared between tasks, refreshed when it is too old or a lookup misses.

use std::{
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use kube_core::{ApiResource, GroupVersionKind, GroupVersionResource};
use tokio::{sync::Mutex, time::Instant};

use super::{
    Error,
    builder::DiscoveryBuilder,
    model::{ApiCapabilities, Discovery},
};
use crate::Client;

/// How long a [`CachedDiscovery`] keeps a result before it discovers again, unless told otherwise.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// How long after a discovery (or a failed attempt) a [`CachedDiscovery`] waits before a lookup
/// miss or the maximum age makes it discover again, unless told otherwise.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// A [`Discovery`] shared between tasks (clones share it), discovered again when it is older than
/// its maximum age, when asked to, and when a lookup misses: a resource installed after the last
/// discovery (a new CustomResourceDefinition) is found by the next lookup that asks for it.
///
/// Refreshes are single-flight: lookups that miss at the same time wait for one refresh rather
/// than starting one each. A miss does not discover again within the minimum refresh interval
/// ([`DEFAULT_MIN_REFRESH_INTERVAL`]) of the last discovery, so repeated lookups of a resource
/// that is not installed do not rediscover every time. When a refresh for age fails, the
/// previous result keeps being used (with a warning) and the refresh is tried again after the
/// minimum interval.
///
/// ```no_run
/// # async fn run(client: kube_client::Client) -> Result<(), kube_client::discovery::Error> {
/// use kube_client::discovery::CachedDiscovery;
/// use kube_core::GroupVersionKind;
///
/// let discovery = CachedDiscovery::new(client).await?;
/// let gvk = GroupVersionKind::gvk("example.com", "v1", "Widget");
/// match discovery.resolve_gvk(&gvk).await? {
///     Some((resource, caps)) => println!("{} (namespaced: {})", resource.plural, caps.namespaced()),
///     None => println!("{gvk} is not served, even after a fresh discovery"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CachedDiscovery {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    builder: DiscoveryBuilder,
    max_age: Duration,
    /// In milliseconds.
    min_refresh_interval: AtomicU64,
    state: RwLock<Snapshot>,
    /// Held while discovering, so that only one refresh runs at a time.
    refreshing: Mutex<()>,
}

#[derive(Clone)]
struct Snapshot {
    discovery: Arc<Discovery>,
    fetched_at: Instant,
    /// The last discovery attempt, successful or not.
    attempted_at: Instant,
    /// Counts attempts, successful or not.
    generation: u64,
}

impl std::fmt::Debug for CachedDiscovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let snapshot = self.snapshot();
        f.debug_struct("CachedDiscovery")
            .field("builder", &self.inner.builder)
            .field("max_age", &self.inner.max_age)
            .field("age", &snapshot.fetched_at.elapsed())
            .field("groups", &snapshot.discovery.groups().count())
            .finish()
    }
}

impl CachedDiscovery {
    /// Discovers everything now and keeps it for [`DEFAULT_MAX_AGE`].
    pub async fn new(client: Client) -> Result<Self, Error> {
        Self::with_options(client, DiscoveryBuilder::new(), DEFAULT_MAX_AGE).await
    }

    /// Discovers now with `builder`'s options (mode, groups), and keeps each result for `max_age`.
    ///
    /// ```no_run
    /// # async fn run(client: kube_client::Client) -> Result<(), kube_client::discovery::Error> {
    /// use std::time::Duration;
    /// use kube_client::discovery::{CachedDiscovery, Discovery};
    ///
    /// let builder = Discovery::builder().groups(["", "apps", "example.com"]);
    /// let discovery = CachedDiscovery::with_options(client, builder, Duration::from_secs(60)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn with_options(
        client: Client,
        builder: DiscoveryBuilder,
        max_age: Duration,
    ) -> Result<Self, Error> {
        let discovery = Arc::new(builder.run(&client).await?);
        let now = Instant::now();
        let state = RwLock::new(Snapshot { discovery, fetched_at: now, attempted_at: now, generation: 0 });
        let inner = Inner {
            client,
            builder,
            max_age,
            min_refresh_interval: AtomicU64::new(0),
            state,
            refreshing: Mutex::new(()),
        };
        Ok(Self { inner: Arc::new(inner) }.with_min_refresh_interval(DEFAULT_MIN_REFRESH_INTERVAL))
    }

    /// Waits `interval` after a discovery (or a failed attempt) before a lookup miss or the
    /// maximum age makes it discover again, instead of [`DEFAULT_MIN_REFRESH_INTERVAL`];
    /// [`Duration::ZERO`] rediscovers on every miss. Applies to every clone.
    #[must_use]
    pub fn with_min_refresh_interval(self, interval: Duration) -> Self {
        let millis = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        self.inner.min_refresh_interval.store(millis, Ordering::Relaxed);
        self
    }

    /// How long after a discovery a miss or the maximum age may make it discover again.
    pub fn min_refresh_interval(&self) -> Duration {
        Duration::from_millis(self.inner.min_refresh_interval.load(Ordering::Relaxed))
    }

    /// How long a result is kept.
    pub fn max_age(&self) -> Duration {
        self.inner.max_age
    }

    /// How long ago the current result was discovered.
    pub fn age(&self) -> Duration {
        self.snapshot().fetched_at.elapsed()
    }

    /// The current result, however old, without asking the server.
    pub fn current(&self) -> Arc<Discovery> {
        self.snapshot().discovery
    }

    /// The current result, discovered again first if it is older than the maximum age (if that
    /// fails, the previous result, with a warning).
    pub async fn get(&self) -> Result<Arc<Discovery>, Error> {
        self.fresh().await.map(|(snapshot, _)| snapshot.discovery)
    }

    /// Discovers again now (waiting for a refresh already under way, then running another).
    pub async fn refresh(&self) -> Result<Arc<Discovery>, Error> {
        self.refresh_after(None).await.map(|s| s.discovery)
    }

    /// The resource of a group/version/kind, as [`Discovery::resolve_gvk`]; on a miss, discovers
    /// again once and looks again. `Ok(None)` means it is not served even then.
    pub async fn resolve_gvk(
        &self,
        gvk: &GroupVersionKind,
    ) -> Result<Option<(ApiResource, ApiCapabilities)>, Error> {
        self.lookup(|d| d.resolve_gvk(gvk)).await
    }

    /// The resource of a group/version and plural, as [`Discovery::resolve_gvr`]; on a miss,
    /// discovers again once and looks again.
    pub async fn resolve_gvr(
        &self,
        gvr: &GroupVersionResource,
    ) -> Result<Option<(ApiResource, ApiCapabilities)>, Error> {
        self.lookup(|d| d.resolve_gvr(gvr)).await
    }

    /// A resource by a kubectl-style name, as [`Discovery::find`]; on a miss, discovers again
    /// once and looks again.
    pub async fn find(&self, name: &str) -> Result<Option<(ApiResource, ApiCapabilities)>, Error> {
        self.lookup(|d| d.find(name)).await
    }

    async fn lookup<T>(&self, f: impl Fn(&Discovery) -> Option<T>) -> Result<Option<T>, Error> {
        let (snapshot, just_refreshed) = self.fresh().await?;
        if let Some(found) = f(&snapshot.discovery) {
            return Ok(Some(found));
        }
        if just_refreshed {
            return Ok(None);
        }
        if snapshot.attempted_at.elapsed() < self.min_refresh_interval() {
            tracing::debug!("discovery lookup missed; discovered too recently to discover again");
            return Ok(None);
        }
        tracing::debug!("discovery lookup missed; discovering again");
        let snapshot = self.refresh_after(Some(snapshot.generation)).await?;
        Ok(f(&snapshot.discovery))
    }

    fn snapshot(&self) -> Snapshot {
        self.inner.state.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The current snapshot, refreshed if too old, and whether it was refreshed for this call.
    async fn fresh(&self) -> Result<(Snapshot, bool), Error> {
        let snapshot = self.snapshot();
        if snapshot.fetched_at.elapsed() < self.inner.max_age
            || snapshot.attempted_at.elapsed() < self.min_refresh_interval()
        {
            return Ok((snapshot, false));
        }
        tracing::debug!(max_age = ?self.inner.max_age, "discovery is too old; discovering again");
        match self.refresh_after(Some(snapshot.generation)).await {
            Ok(snapshot) => Ok((snapshot, true)),
            Err(error) => {
                let stale = self.snapshot();
                tracing::warn!(
                    %error,
                    age = ?stale.fetched_at.elapsed(),
                    "discovering again failed; using the previous discovery"
                );
                Ok((stale, true))
            }
        }
    }

    /// Discovers again, unless `seen` is given and a refresh finished since that generation was
    /// read (then that refresh's result is used).
    async fn refresh_after(&self, seen: Option<u64>) -> Result<Snapshot, Error> {
        let _refreshing = self.inner.refreshing.lock().await;
        let current = self.snapshot();
        if seen.is_some_and(|seen| seen != current.generation) {
            return Ok(current);
        }
        let result = self.inner.builder.run(&self.inner.client).await;
        let now = Instant::now();
        let mut state = self.inner.state.write().unwrap_or_else(PoisonError::into_inner);
        // a failed attempt counts too: callers waiting for it do not each try again
        state.attempted_at = now;
        state.generation = current.generation + 1;
        let discovery = result?;
        state.discovery = Arc::new(discovery);
        state.fetched_at = now;
        Ok(state.clone())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::discovery::testing::FakeServer;

    /// A server whose `/apis` lacks the `disco.kube-test.example.com` group until `install` runs.
    fn server_without_crd() -> (FakeServer, impl Fn()) {
        let server = FakeServer::new(true);
        let full = server.aggregated.lock().unwrap().as_ref().unwrap()["/apis"].clone();
        let mut without = full.clone();
        if let Some(Value::Array(items)) = without.get_mut("items") {
            items.retain(|g| g["metadata"]["name"] != "disco.kube-test.example.com");
        }
        server.aggregated.lock().unwrap().as_mut().unwrap().insert("/apis".into(), without);
        let handle = server.clone();
        let install = move || {
            handle.aggregated.lock().unwrap().as_mut().unwrap().insert("/apis".into(), full.clone());
        };
        (server, install)
    }

    #[tokio::test(start_paused = true)]
    async fn a_miss_refreshes_once() {
        let (server, install) = server_without_crd();
        let cache = CachedDiscovery::new(server.client()).await.unwrap();
        assert_eq!(server.take_requests().len(), 2);

        let deployment = GroupVersionKind::gvk("apps", "v1", "Deployment");
        assert!(cache.resolve_gvk(&deployment).await.unwrap().is_some());
        assert!(server.take_requests().is_empty(), "a hit asks nothing");

        install();
        tokio::time::advance(DEFAULT_MIN_REFRESH_INTERVAL).await;
        let gizmo = GroupVersionKind::gvk("disco.kube-test.example.com", "v1", "Gizmo");
        let (ar, caps) = cache.resolve_gvk(&gizmo).await.unwrap().unwrap();
        assert_eq!(ar.plural, "gizmos");
        assert!(caps.subresource("scale").is_some());
        assert_eq!(server.take_requests().len(), 2, "one refresh");
        assert!(cache.current().has_group("disco.kube-test.example.com"));

        let unknown = GroupVersionKind::gvk("nope.example.com", "v1", "Nothing");
        tokio::time::advance(DEFAULT_MIN_REFRESH_INTERVAL).await;
        assert!(cache.resolve_gvk(&unknown).await.unwrap().is_none());
        assert_eq!(server.take_requests().len(), 2, "one refresh, then the answer is none");
        assert!(cache.find("nothing").await.unwrap().is_none());
        assert!(cache.find("gz").await.unwrap().is_some());
        let gvr = GroupVersionResource::gvr("apps", "v1", "deployments");
        assert!(cache.resolve_gvr(&gvr).await.unwrap().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_share_one_refresh() {
        let server = FakeServer::new(true);
        let cache = CachedDiscovery::new(server.client()).await.unwrap();
        server.take_requests();
        tokio::time::advance(DEFAULT_MIN_REFRESH_INTERVAL).await;
        *server.latency.lock().unwrap() = Duration::from_millis(100);
        let unknown = GroupVersionKind::gvk("nope.example.com", "v1", "Nothing");
        let lookups = (0..5).map(|_| cache.resolve_gvk(&unknown));
        let results = futures::future::join_all(lookups).await;
        assert!(results.iter().all(|r| matches!(r, Ok(None))));
        assert_eq!(server.take_requests().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn old_results_are_discovered_again() {
        let server = FakeServer::new(true);
        let builder = DiscoveryBuilder::new().groups(["apps"]);
        let cache =
            CachedDiscovery::with_options(server.client(), builder, Duration::from_secs(60)).await.unwrap();
        assert_eq!(server.take_requests().len(), 1);
        tokio::time::advance(Duration::from_secs(30)).await;
        cache.get().await.unwrap();
        assert!(server.take_requests().is_empty());
        assert_eq!(cache.age(), Duration::from_secs(30));
        tokio::time::advance(Duration::from_secs(31)).await;
        let (deploy, _) = cache.find("deploy").await.unwrap().unwrap();
        assert_eq!(deploy.group, "apps");
        assert_eq!(server.take_requests().len(), 1, "refreshed for age, and not again for the lookup");
        assert_eq!(cache.age(), Duration::ZERO);
        assert!(cache.find("pods").await.unwrap().is_none(), "the core group was not asked for");
        assert!(server.take_requests().is_empty(), "no refresh for a miss right after one");
        cache.refresh().await.unwrap();
        assert_eq!(server.take_requests().len(), 1, "a forced refresh");
        assert!(format!("{cache:?}").contains("max_age: 60s"));
    }

    #[tokio::test(start_paused = true)]
    async fn misses_within_the_minimum_interval_do_not_refresh() {
        let server = FakeServer::new(true);
        let cache = CachedDiscovery::new(server.client()).await.unwrap();
        assert_eq!(cache.min_refresh_interval(), DEFAULT_MIN_REFRESH_INTERVAL);
        server.take_requests();
        let optional = GroupVersionKind::gvk("optional.example.com", "v1", "Optional");
        for _ in 0..10 {
            assert!(cache.resolve_gvk(&optional).await.unwrap().is_none());
            tokio::time::advance(Duration::from_millis(400)).await;
        }
        assert!(server.take_requests().is_empty(), "no refresh within 5 s of the discovery");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(cache.resolve_gvk(&optional).await.unwrap().is_none());
        assert_eq!(server.take_requests().len(), 2, "one refresh after 5 s");
        assert!(cache.resolve_gvk(&optional).await.unwrap().is_none());
        assert!(server.take_requests().is_empty());

        let cache = cache.with_min_refresh_interval(Duration::ZERO);
        assert!(cache.resolve_gvk(&optional).await.unwrap().is_none());
        assert!(cache.find("nothing").await.unwrap().is_none());
        assert_eq!(server.take_requests().len(), 4, "every miss refreshes without an interval");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_for_age_serves_the_old_result() {
        let server = FakeServer::new(true);
        let cache =
            CachedDiscovery::with_options(server.client(), DiscoveryBuilder::new(), Duration::from_secs(60))
                .await
                .unwrap();
        server.take_requests();
        let ok = server.aggregated.lock().unwrap().as_ref().unwrap()["/apis"].clone();
        server.aggregated.lock().unwrap().as_mut().unwrap().insert("/apis".into(), serde_json::json!(500));
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(cache.get().await.unwrap().has_group("apps"), "the old result");
        assert!(!server.take_requests().is_empty(), "a refresh was tried");
        let (deploy, _) = cache.find("deploy").await.unwrap().unwrap();
        assert_eq!(deploy.group, "apps");
        assert!(cache.find("nothing").await.unwrap().is_none());
        assert!(server.take_requests().is_empty(), "not tried again within the minimum interval");
        assert_eq!(cache.age(), Duration::from_secs(61));

        server.aggregated.lock().unwrap().as_mut().unwrap().insert("/apis".into(), ok);
        tokio::time::advance(DEFAULT_MIN_REFRESH_INTERVAL).await;
        cache.get().await.unwrap();
        assert_eq!(server.take_requests().len(), 2, "tried again after the interval");
        assert_eq!(cache.age(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_is_an_error_and_keeps_the_old_result() {
        let server = FakeServer::new(true);
        let cache = CachedDiscovery::new(server.client()).await.unwrap();
        tokio::time::advance(DEFAULT_MIN_REFRESH_INTERVAL).await;
        server.aggregated.lock().unwrap().as_mut().unwrap().insert("/apis".into(), serde_json::json!(500));
        let err = cache.resolve_gvk(&GroupVersionKind::gvk("x.example.com", "v1", "X")).await.unwrap_err();
        assert!(err.to_string().starts_with("discovery request to /apis failed"), "{err}");
        assert!(cache.current().has_group("apps"));
    }
}

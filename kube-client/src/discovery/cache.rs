//! A discovery result shared between tasks, refreshed when it is too old or a lookup misses.

use std::{
    sync::{Arc, PoisonError, RwLock},
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

/// A [`Discovery`] shared between tasks (clones share it), discovered again when it is older than
/// its maximum age, when asked to, and when a lookup misses: a resource installed after the last
/// discovery (a new CustomResourceDefinition) is found by the next lookup that asks for it.
///
/// Refreshes are single-flight: lookups that miss at the same time wait for one refresh rather
/// than starting one each.
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
    state: RwLock<Snapshot>,
    /// Held while discovering, so that only one refresh runs at a time.
    refreshing: Mutex<()>,
}

#[derive(Clone)]
struct Snapshot {
    discovery: Arc<Discovery>,
    fetched_at: Instant,
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
        let state = RwLock::new(Snapshot { discovery, fetched_at: Instant::now(), generation: 0 });
        Ok(Self { inner: Arc::new(Inner { client, builder, max_age, state, refreshing: Mutex::new(()) }) })
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

    /// The current result, discovered again first if it is older than the maximum age.
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
        if snapshot.fetched_at.elapsed() < self.inner.max_age {
            return Ok((snapshot, false));
        }
        tracing::debug!(max_age = ?self.inner.max_age, "discovery is too old; discovering again");
        self.refresh_after(Some(snapshot.generation)).await.map(|s| (s, true))
    }

    /// Discovers again, unless `seen` is given and a refresh finished since that generation was
    /// read (then that refresh's result is used).
    async fn refresh_after(&self, seen: Option<u64>) -> Result<Snapshot, Error> {
        let _refreshing = self.inner.refreshing.lock().await;
        let current = self.snapshot();
        if seen.is_some_and(|seen| seen != current.generation) {
            return Ok(current);
        }
        let discovery = Arc::new(self.inner.builder.run(&self.inner.client).await?);
        let next = Snapshot { discovery, fetched_at: Instant::now(), generation: current.generation + 1 };
        *self.inner.state.write().unwrap_or_else(PoisonError::into_inner) = next.clone();
        Ok(next)
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

    #[tokio::test]
    async fn a_miss_refreshes_once() {
        let (server, install) = server_without_crd();
        let cache = CachedDiscovery::new(server.client()).await.unwrap();
        assert_eq!(server.take_requests().len(), 2);

        let deployment = GroupVersionKind::gvk("apps", "v1", "Deployment");
        assert!(cache.resolve_gvk(&deployment).await.unwrap().is_some());
        assert!(server.take_requests().is_empty(), "a hit asks nothing");

        install();
        let gizmo = GroupVersionKind::gvk("disco.kube-test.example.com", "v1", "Gizmo");
        let (ar, caps) = cache.resolve_gvk(&gizmo).await.unwrap().unwrap();
        assert_eq!(ar.plural, "gizmos");
        assert!(caps.subresource("scale").is_some());
        assert_eq!(server.take_requests().len(), 2, "one refresh");
        assert!(cache.current().has_group("disco.kube-test.example.com"));

        let unknown = GroupVersionKind::gvk("nope.example.com", "v1", "Nothing");
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
        cache.refresh().await.unwrap();
        assert_eq!(server.take_requests().len(), 2, "a miss and a forced refresh");
        assert!(format!("{cache:?}").contains("max_age: 60s"));
    }

    #[tokio::test]
    async fn a_failed_refresh_is_an_error_and_keeps_the_old_result() {
        let server = FakeServer::new(true);
        let cache = CachedDiscovery::new(server.client()).await.unwrap();
        server.aggregated.lock().unwrap().as_mut().unwrap().insert("/apis".into(), serde_json::json!(500));
        let err = cache.resolve_gvk(&GroupVersionKind::gvk("x.example.com", "v1", "X")).await.unwrap_err();
        assert!(err.to_string().starts_with("discovery request to /apis failed"), "{err}");
        assert!(cache.current().has_group("apps"));
    }
}

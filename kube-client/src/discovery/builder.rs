//! Running discovery: aggregated where the server serves it, legacy otherwise, for all groups or
//! only some.

use std::{collections::BTreeSet, sync::Arc};

use super::{
    AGGREGATED_ACCEPT, Error, LEGACY_ACCEPT, aggregated, get, kind_of,
    legacy::{self, GroupIndex},
    model::{ApiGroup, Discovery, FailedGroupVersion, Freshness},
};
use crate::Client;

/// Which discovery documents to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DiscoveryMode {
    /// Aggregated discovery, falling back to legacy discovery when the server answers with a
    /// legacy document.
    #[default]
    Auto,
    /// Aggregated discovery only: a server that does not serve it is an
    /// [`Error::AggregatedUnsupported`].
    Aggregated,
    /// Legacy discovery only (one request per group version), as for servers older than
    /// Kubernetes 1.26 or to compare with aggregated discovery.
    Legacy,
}

/// Options of a discovery run: the mode, and the groups to discover.
///
/// ```no_run
/// # async fn run(client: kube_client::Client) -> Result<(), kube_client::discovery::Error> {
/// use kube_client::discovery::{Discovery, DiscoveryMode};
///
/// // Only the core and apps groups, by legacy discovery: three requests, not one per group version.
/// let discovery = Discovery::builder().mode(DiscoveryMode::Legacy).groups(["", "apps"]).run(&client).await?;
/// assert!(discovery.has_group("apps") && !discovery.has_group("batch"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoveryBuilder {
    mode: DiscoveryMode,
    groups: Option<BTreeSet<String>>,
}

impl DiscoveryBuilder {
    /// Everything, by aggregated discovery where the server serves it.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: DiscoveryMode) -> Self {
        self.mode = mode;
        self
    }

    /// Legacy discovery only: the same as `.mode(DiscoveryMode::Legacy)`.
    pub fn legacy(self) -> Self {
        self.mode(DiscoveryMode::Legacy)
    }

    /// Discovers only these groups (the empty name is the core group); may be called several
    /// times. In legacy discovery the other groups' versions are not fetched at all.
    pub fn groups<I, S>(mut self, groups: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.groups.get_or_insert_with(BTreeSet::new).extend(groups.into_iter().map(Into::into));
        self
    }

    fn wants(&self, group: &str) -> bool {
        self.groups.as_ref().is_none_or(|g| g.contains(group))
    }

    fn wants_named_groups(&self) -> bool {
        self.groups.as_ref().is_none_or(|g| g.iter().any(|n| !n.is_empty()))
    }

    /// Runs discovery.
    ///
    /// Fails when `/api` or `/apis` cannot be read; in legacy discovery, a group version whose
    /// resources cannot be read is left out and listed in [`Discovery::failures`].
    pub async fn run(&self, client: &Client) -> Result<Discovery, Error> {
        let accept = if self.mode == DiscoveryMode::Legacy { LEGACY_ACCEPT } else { AGGREGATED_ACCEPT };
        let mut slots = Vec::new();
        let mut pending = Vec::new();
        if self.wants("") {
            let bytes = get(client, "/api", accept).await?;
            match self.root(&bytes, "/api")? {
                Some(groups) => slots.extend(groups.into_iter().map(Slot::Ready)),
                None => {
                    slots.push(Slot::Pending);
                    pending.push(legacy::parse_core(&bytes, "/api")?);
                }
            }
        }
        if self.wants_named_groups() {
            let bytes = get(client, "/apis", accept).await?;
            match self.root(&bytes, "/apis")? {
                Some(groups) => slots.extend(groups.into_iter().map(Slot::Ready)),
                None => {
                    let index: Vec<GroupIndex> = legacy::parse_group_list(&bytes, "/apis")?
                        .into_iter()
                        .filter(|g| self.wants(&g.name))
                        .collect();
                    slots.extend(index.iter().map(|_| Slot::Pending));
                    pending.extend(index);
                }
            }
        }
        let aggregated = pending.is_empty();
        if !aggregated {
            tracing::debug!(groups = pending.len(), "legacy discovery of group versions");
        }
        let (fetched, mut failures) = legacy::fetch_groups(client, pending).await;
        let mut fetched = fetched.into_iter();
        let groups: Vec<ApiGroup> = slots
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Ready(group) => Some(group),
                Slot::Pending => fetched.next(),
            })
            .collect();
        for stale in groups.iter().flat_map(ApiGroup::versions).filter(|v| v.freshness() == Freshness::Stale)
        {
            let group_version = stale.group_version();
            tracing::warn!(%group_version, "aggregated discovery of a group version is stale");
            let error = Arc::new(Error::Stale { group_version: group_version.clone() });
            failures.push(FailedGroupVersion { group_version, error });
        }
        Ok(Discovery { groups, aggregated, failures })
    }

    /// The wanted groups of an aggregated document, or `None` for a legacy one.
    fn root(&self, bytes: &[u8], path: &str) -> Result<Option<Vec<ApiGroup>>, Error> {
        let kind = kind_of(bytes, path)?;
        if kind == aggregated::KIND {
            let groups = aggregated::parse_groups(bytes, path)?;
            return Ok(Some(groups.into_iter().filter(|g| self.wants(&g.name)).collect()));
        }
        if self.mode == DiscoveryMode::Aggregated {
            return Err(Error::AggregatedUnsupported { path: path.to_string(), found: kind });
        }
        tracing::debug!(path, kind, "the server answered with legacy discovery");
        Ok(None)
    }
}

enum Slot {
    Ready(ApiGroup),
    Pending,
}

impl Discovery {
    /// Discovers everything the server serves, by aggregated discovery where it can (two
    /// requests), by legacy discovery otherwise.
    ///
    /// ```no_run
    /// # async fn run(client: kube_client::Client) -> Result<(), kube_client::discovery::Error> {
    /// let discovery = kube_client::discovery::Discovery::run(&client).await?;
    /// println!("{} groups", discovery.groups().count());
    /// # Ok(()) }
    /// ```
    pub async fn run(client: &Client) -> Result<Self, Error> {
        DiscoveryBuilder::new().run(client).await
    }

    /// Options for a discovery run: mode and groups.
    pub fn builder() -> DiscoveryBuilder {
        DiscoveryBuilder::new()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::discovery::testing::FakeServer;

    fn paths(server: &FakeServer) -> Vec<String> {
        server.take_requests().into_iter().map(|(p, _)| p).collect()
    }

    fn summary(d: &Discovery) -> Vec<String> {
        let mut all: Vec<String> =
            d.resources().map(|(r, c)| format!("{r:?} {:?} {}", c.scope, c.verbs.join(","))).collect();
        all.sort();
        all
    }

    #[tokio::test]
    async fn aggregated_takes_two_requests() {
        let server = FakeServer::new(true);
        let d = Discovery::run(&server.client()).await.unwrap();
        assert!(d.is_aggregated());
        let requests = server.take_requests();
        assert_eq!(requests.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["/api", "/apis"]);
        assert!(requests.iter().all(|(_, accept)| accept == AGGREGATED_ACCEPT));
        let names: Vec<&str> = d.groups().map(ApiGroup::name).collect();
        assert_eq!(names, ["", "apps", "autoscaling", "disco.kube-test.example.com"]);
    }

    #[tokio::test]
    async fn falls_back_to_legacy_and_finds_the_same() {
        let aggregated = Discovery::run(&FakeServer::new(true).client()).await.unwrap();
        let server = FakeServer::new(false);
        let legacy = Discovery::run(&server.client()).await.unwrap();
        assert!(!legacy.is_aggregated());
        assert!(legacy.failures().is_empty());
        assert_eq!(summary(&legacy), summary(&aggregated));
        let names: Vec<&str> = legacy.groups().map(ApiGroup::name).collect();
        assert_eq!(names, ["", "apps", "autoscaling", "disco.kube-test.example.com"]);
        assert_eq!(legacy.group("autoscaling").unwrap().preferred_version_name(), Some("v2"));
        assert_eq!(paths(&server).len(), 2 + 6, "/api, /apis and six group versions");
    }

    #[tokio::test]
    async fn forced_modes() {
        let server = FakeServer::new(true);
        let d = Discovery::builder().legacy().run(&server.client()).await.unwrap();
        assert!(!d.is_aggregated());
        assert!(server.take_requests().iter().all(|(_, accept)| accept == LEGACY_ACCEPT));

        let server = FakeServer::new(false);
        let err =
            Discovery::builder().mode(DiscoveryMode::Aggregated).run(&server.client()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the server does not serve aggregated discovery at /api: it answered with kind \"APIVersions\""
        );
    }

    #[tokio::test]
    async fn only_some_groups() {
        let server = FakeServer::new(false);
        let d = Discovery::builder().groups(["autoscaling"]).run(&server.client()).await.unwrap();
        let names: Vec<&str> = d.groups().map(ApiGroup::name).collect();
        assert_eq!(names, ["autoscaling"]);
        assert_eq!(paths(&server), ["/apis", "/apis/autoscaling/v2", "/apis/autoscaling/v1"]);

        let d = Discovery::builder().groups([""]).run(&server.client()).await.unwrap();
        assert_eq!(d.groups().count(), 1);
        assert_eq!(paths(&server), ["/api", "/api/v1"]);

        let server = FakeServer::new(true);
        let d = Discovery::builder().groups(["apps"]).groups(["batch"]).run(&server.client()).await.unwrap();
        assert_eq!(d.groups().map(ApiGroup::name).collect::<Vec<_>>(), ["apps"]);
        assert_eq!(paths(&server), ["/apis"]);
    }

    #[tokio::test]
    async fn a_failing_group_version_is_reported_not_fatal() {
        let server = FakeServer::new(false);
        server.legacy.lock().unwrap().insert("/apis/autoscaling/v2".into(), json!(503));
        let d = Discovery::run(&server.client()).await.unwrap();
        let failures = d.failures();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].group_version.to_string(), "autoscaling/v2");
        assert!(
            failures[0].error.to_string().starts_with("discovery request to /apis/autoscaling/v2 failed")
        );
        let autoscaling = d.group("autoscaling").unwrap();
        assert_eq!(
            autoscaling.preferred_version().map(|v| v.version()),
            Some("v1"),
            "falls back to a discovered version"
        );
        assert!(d.find("hpa").is_some());
    }

    #[tokio::test]
    async fn stale_versions_are_failures_and_not_preferred() {
        let server = FakeServer::new(true);
        {
            let mut docs = server.aggregated.lock().unwrap();
            let apis = docs.as_mut().unwrap().get_mut("/apis").unwrap();
            let items = apis["items"].as_array_mut().unwrap();
            let autoscaling = items.iter_mut().find(|g| g["metadata"]["name"] == "autoscaling").unwrap();
            assert_eq!(autoscaling["versions"][0]["version"], "v2");
            autoscaling["versions"][0]["freshness"] = json!("Stale");
        }
        let d = Discovery::run(&server.client()).await.unwrap();
        let failures = d.failures();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].group_version.to_string(), "autoscaling/v2");
        assert!(matches!(*failures[0].error, Error::Stale { .. }));
        assert!(failures[0].error.to_string().contains("autoscaling/v2 is stale"), "{}", failures[0].error);
        let autoscaling = d.group("autoscaling").unwrap();
        assert_eq!(autoscaling.preferred_version_name(), Some("v1"));
        assert!(autoscaling.version("v2").is_some(), "stale versions are still listed");
        assert_eq!(d.find("hpa").map(|(r, _)| r.version), Some("v1".into()));
    }

    #[tokio::test]
    async fn a_failing_root_is_an_error() {
        let server = FakeServer::new(false);
        server.legacy.lock().unwrap().insert("/apis".into(), json!(403));
        let err = Discovery::run(&server.client()).await.unwrap_err();
        assert!(err.to_string().starts_with("discovery request to /apis failed: "), "{err}");
        assert_eq!(err.client_error().and_then(|e| e.status()).map(|s| s.code), Some(403));
    }
}

//! Discovery against a real kube-apiserver: aggregated discovery finds what `kubectl
//! api-resources` lists, legacy discovery finds the same, a CRD installed after a first discovery
//! is found by the cached handle, and the one-shot lookups.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{collections::BTreeSet, sync::Arc};

use common::{admin_client, env};
use kube_client::discovery::{self, CachedDiscovery, Discovery, DiscoveryMode, Error, oneshot, verbs};
use kube_core::{ApiResource, GroupVersionKind, GroupVersionResource, Scope};

/// The group of this file's CRD; other test files use other groups.
const CRD_GROUP: &str = "disco.kube-test.example.com";

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gizmos.disco.kube-test.example.com
spec:
  group: disco.kube-test.example.com
  names: {kind: Gizmo, plural: gizmos, singular: gizmo, listKind: GizmoList, shortNames: [gz], categories: [disco]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

/// Runs kubectl (blocking) off the async runtime and returns its output lines.
async fn kubectl(args: &[&str]) -> BTreeSet<String> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || env().kubectl(&args)).await.unwrap().unwrap();
    out.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// `kubectl api-resources -o name` with extra flags, without this file's CRD group (another test
/// may install it at any time).
async fn api_resources(flags: &[&str]) -> BTreeSet<String> {
    let mut args = vec!["api-resources", "--no-headers", "-o", "name"];
    args.extend_from_slice(flags);
    kubectl(&args).await.into_iter().filter(|n| !n.ends_with(CRD_GROUP)).collect()
}

/// The name kubectl prints for a resource: `plural` or `plural.group`.
fn kubectl_name(r: &ApiResource) -> String {
    if r.group.is_empty() { r.plural.clone() } else { format!("{}.{}", r.plural, r.group) }
}

/// The names of the preferred resources that `keep` accepts, without this file's CRD group.
fn names(d: &Discovery, keep: impl Fn(&kube_client::discovery::ApiCapabilities) -> bool) -> BTreeSet<String> {
    d.preferred_resources()
        .filter(|(r, c)| r.group != CRD_GROUP && keep(c))
        .map(|(r, _)| kubectl_name(r))
        .collect()
}

/// Everything discovery says of every resource of every version, as comparable lines.
fn everything(d: &Discovery) -> BTreeSet<String> {
    d.resources()
        .filter(|(r, _)| r.group != CRD_GROUP)
        .map(|(r, c)| {
            let mut c = c.clone();
            c.verbs.sort();
            c.subresources.sort_by(|a, b| a.name.cmp(&b.name));
            for s in &mut c.subresources {
                s.verbs.sort();
                s.accepted_types.clear();
            }
            format!("{r:?} {c:?}")
        })
        .collect()
}

#[tokio::test]
async fn aggregated_discovery_finds_what_kubectl_lists() {
    let d = Discovery::run(&admin_client()).await.unwrap();
    assert!(d.is_aggregated(), "the apiserver serves aggregated discovery");
    assert!(d.failures().is_empty(), "{:?}", d.failures());

    let all = api_resources(&[]).await;
    assert!(all.len() > 50, "{all:?}");
    assert!(all.contains("pods") && all.contains("deployments.apps"), "{all:?}");
    assert_eq!(names(&d, |_| true), all);
    assert_eq!(names(&d, |c| c.namespaced()), api_resources(&["--namespaced=true"]).await);
    assert_eq!(names(&d, |c| !c.namespaced()), api_resources(&["--namespaced=false"]).await);
    assert_eq!(
        names(&d, |c| c.supports(verbs::LIST) && c.supports(verbs::WATCH)),
        api_resources(&["--verbs=list,watch"]).await
    );
    assert_eq!(names(&d, |c| c.supports(verbs::CREATE)), api_resources(&["--verbs=create"]).await);
    assert_eq!(
        names(&d, |c| c.categories.iter().any(|x| x == "all")),
        api_resources(&["--categories=all"]).await
    );
    for group in kubectl(&["api-versions"]).await {
        let gv: kube_core::GroupVersion = group.parse().unwrap();
        if gv.group != CRD_GROUP {
            assert!(d.group(&gv.group).and_then(|g| g.version(&gv.version)).is_some(), "{group}");
        }
    }

    let (pods, caps) = d.resolve_gvk(&GroupVersionKind::gvk("", "v1", "Pod")).unwrap();
    assert_eq!(pods, ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()));
    assert!(caps.namespaced() && caps.supports(verbs::LIST) && caps.supports(verbs::WATCH));
    assert_eq!(caps.short_names, ["po"]);
    assert!(caps.subresource("log").is_some() && caps.subresource("exec").is_some());
    assert!(caps.subresource("status").is_some_and(|s| s.supports(verbs::PATCH)));

    let (ns, caps) = d.find("ns").unwrap();
    assert_eq!((ns.kind.as_str(), caps.scope), ("Namespace", Scope::Cluster));
    assert!(!caps.supports(verbs::DELETE_COLLECTION), "namespaces cannot be deleted as a collection");

    let (deploy, caps) = d.find("Deployment").unwrap();
    assert_eq!(deploy, ApiResource::erase::<k8s_openapi::api::apps::v1::Deployment>(&()));
    let scale = caps.subresource("scale").unwrap();
    assert_eq!(scale.kind, Some(GroupVersionKind::gvk("autoscaling", "v1", "Scale")));
    assert!(scale.supports(verbs::GET) && scale.supports(verbs::UPDATE));
    for name in ["deploy", "deployments", "deployment", "deployments.apps", "deployments.v1.apps"] {
        assert_eq!(d.find(name).map(|(r, _)| r), Some(deploy.clone()), "{name}");
    }
    let (events, _) = d.find("events").unwrap();
    assert_eq!(events.group, "", "the core group wins, as in kubectl");
    assert_eq!(d.find("events.events.k8s.io").map(|(r, _)| r.group), Some("events.k8s.io".into()));
}

#[tokio::test]
async fn legacy_discovery_finds_the_same_as_aggregated() {
    let client = admin_client();
    let aggregated = Discovery::builder().mode(DiscoveryMode::Aggregated).run(&client).await.unwrap();
    let legacy = Discovery::builder().legacy().run(&client).await.unwrap();
    assert!(aggregated.is_aggregated() && !legacy.is_aggregated());
    assert!(legacy.failures().is_empty(), "{:?}", legacy.failures());
    assert_eq!(everything(&legacy), everything(&aggregated));
    let groups = |d: &Discovery| -> Vec<(String, Option<String>)> {
        d.groups()
            .filter(|g| g.name() != CRD_GROUP)
            .map(|g| (g.name().to_string(), g.preferred_version_name().map(str::to_string)))
            .collect()
    };
    assert_eq!(groups(&legacy), groups(&aggregated));
    assert_eq!(legacy.group("autoscaling").and_then(|g| g.preferred_version_name()), Some("v2"));

    let apps = Discovery::builder().legacy().groups(["apps"]).run(&client).await.unwrap();
    assert_eq!(apps.groups().map(|g| g.name().to_string()).collect::<Vec<_>>(), ["apps"]);
    assert!(apps.find("deploy").is_some() && apps.find("pods").is_none());
}

#[tokio::test]
async fn a_crd_installed_after_discovery_is_found_by_the_cached_handle() {
    let client = admin_client();
    // a miss right after the first discovery refreshes too (no minimum interval)
    let cache = CachedDiscovery::new(client.clone())
        .await
        .unwrap()
        .with_min_refresh_interval(std::time::Duration::ZERO);
    let gvk = GroupVersionKind::gvk(CRD_GROUP, "v1", "Gizmo");
    let first = cache.current();
    assert!(first.resolve_gvk(&gvk).is_none(), "not installed yet");

    tokio::task::spawn_blocking(|| env().install_crd(CRD)).await.unwrap().unwrap();

    let (gizmo, caps) = cache.resolve_gvk(&gvk).await.unwrap().expect("found after a refresh on the miss");
    assert!(!Arc::ptr_eq(&first, &cache.current()), "the miss refreshed the cache");
    assert_eq!(gizmo, ApiResource::from_gvk_with_plural(&gvk, "gizmos", Scope::Namespaced));
    assert!(caps.namespaced() && caps.supports(verbs::WATCH));
    assert_eq!(
        (caps.singular.as_str(), caps.short_names.as_slice()),
        ("gizmo", ["gz".to_string()].as_slice())
    );
    let status = caps.subresource("status").unwrap();
    assert_eq!(status.kind, Some(gvk.clone()));
    assert!(status.supports(verbs::PATCH));
    let scale = caps.subresource("scale").unwrap();
    assert_eq!(scale.kind, Some(GroupVersionKind::gvk("autoscaling", "v1", "Scale")));

    let current = cache.current();
    let group = current.group(CRD_GROUP).unwrap();
    assert_eq!(group.preferred_version().map(|v| v.version()), Some("v1"));
    let beta = group.version("v1beta1").unwrap().resource_by_kind("Gizmo").unwrap();
    assert!(beta.1.subresources.is_empty(), "only v1 has subresources");
    assert_eq!(cache.find("gz").await.unwrap().map(|(r, _)| r.version), Some("v1".into()));
    assert_eq!(
        cache.find("gizmos.v1beta1.disco.kube-test.example.com").await.unwrap().map(|(r, _)| r.version),
        Some("v1beta1".into())
    );

    let legacy = Discovery::builder().legacy().groups([CRD_GROUP]).run(&client).await.unwrap();
    assert_eq!(legacy.resolve_gvk(&gvk), Some((gizmo.clone(), caps.clone())));
    let pinned = discovery::pinned_kind(&client, &gvk).await.unwrap();
    assert_eq!(pinned, (gizmo, caps));
}

#[tokio::test]
async fn unknown_kinds_are_none_or_typed_errors() {
    let client = admin_client();
    let d = Discovery::run(&client).await.unwrap();
    let unknown = GroupVersionKind::gvk("nothing.kube-test.example.com", "v1", "Nothing");
    assert!(d.resolve_gvk(&unknown).is_none());
    assert!(d.resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Nothing")).is_none());
    assert!(d.resolve_gvr(&GroupVersionResource::gvr("apps", "v1", "nothings")).is_none());
    assert!(d.find("nothings").is_none());

    let cache = CachedDiscovery::new(client.clone()).await.unwrap();
    assert!(cache.resolve_gvk(&unknown).await.unwrap().is_none());

    let err = discovery::pinned_kind(&client, &unknown).await.unwrap_err();
    assert!(matches!(err, Error::GroupVersionNotFound { .. }), "{err:?}");
    assert_eq!(err.to_string(), "group version nothing.kube-test.example.com/v1 is not served by the server");
    let err =
        discovery::pinned_kind(&client, &GroupVersionKind::gvk("apps", "v1", "Nothing")).await.unwrap_err();
    assert_eq!(err.to_string(), "kind \"Nothing\" is not served in group version apps/v1");
    assert!(err.is_not_found());
    let err = oneshot::group(&client, "nothing.kube-test.example.com").await.unwrap_err();
    assert!(matches!(err, Error::GroupNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn one_shot_lookups() {
    let client = admin_client();
    let (cronjobs, caps) =
        discovery::pinned_kind(&client, &GroupVersionKind::gvk("batch", "v1", "CronJob")).await.unwrap();
    assert_eq!(cronjobs, ApiResource::erase::<k8s_openapi::api::batch::v1::CronJob>(&()));
    assert_eq!(caps.short_names, ["cj"]);
    let (nodes, caps) =
        discovery::pinned_resource(&client, &GroupVersionResource::gvr("", "v1", "nodes")).await.unwrap();
    assert_eq!((nodes.kind.as_str(), caps.scope), ("Node", Scope::Cluster));

    let autoscaling = oneshot::group(&client, "autoscaling").await.unwrap();
    let versions: Vec<&str> = autoscaling.versions().map(|v| v.version()).collect();
    assert_eq!(versions, ["v2", "v1"]);
    let (hpa, _) = autoscaling.recommended_kind("HorizontalPodAutoscaler").unwrap();
    assert_eq!(hpa.api_version, "autoscaling/v2");
    let core = oneshot::group(&client, "").await.unwrap();
    assert!(core.is_core() && core.version("v1").is_some_and(|v| v.resource_by_plural("pods").is_some()));
}

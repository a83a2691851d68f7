//! `Api<K>` against a real kube-apiserver: every verb on a namespaced native type, a
//! cluster-scoped type and a custom resource, conflicts, the patch kinds, delete options, paging,
//! watches and subresources.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::{admin_client, admin_client_of, env, namespace};
use either::Either;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Pod, ServiceAccount},
    rbac::v1::ClusterRole,
};
use kube_client::{
    Api, Error,
    api::{DeleteParams, EvictParams, ListParams, LogParams, Patch, PatchParams, PostParams, WatchParams},
};
use kube_core::{ApiResource, DynamicObject, GroupVersionKind, Object, ResourceExt, Scope, WatchEvent};
use serde::{Deserialize, Serialize};
use serde_json::json;

fn configmap(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": "api-test"}},
        "data": data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
    }))
    .unwrap()
}

fn api_status(e: &Error) -> &kube_core::Status {
    e.status().unwrap_or_else(|| panic!("expected an api error, got {e}"))
}

#[tokio::test]
async fn every_verb_on_a_namespaced_native_type() {
    let ns = namespace("verbs");
    let cms: Api<ConfigMap> = Api::namespaced(admin_client(), &ns);

    // dry-run writes persist nothing
    cms.create(&PostParams::default().dry_run(), &configmap("dry", &[])).await.unwrap();
    assert!(cms.get_opt("dry").await.unwrap().is_none());

    let created = cms.create(&PostParams::default(), &configmap("a", &[("k", "1")])).await.unwrap();
    assert_eq!(created.data.as_ref().unwrap()["k"], "1");
    assert_eq!(cms.get("a").await.unwrap().uid(), created.uid());
    assert!(cms.get_opt("missing").await.unwrap().is_none());
    assert!(api_status(&cms.get("missing").await.unwrap_err()).is_not_found());

    let mut changed = created.clone();
    changed.data.as_mut().unwrap().insert("k".into(), "2".into());
    let replaced = cms.replace("a", &PostParams::default(), &changed).await.unwrap();
    assert_eq!(replaced.data.as_ref().unwrap()["k"], "2");

    let patched =
        cms.patch("a", &PatchParams::default(), &Patch::Merge(json!({"data": {"m": "x"}}))).await.unwrap();
    assert_eq!(patched.data.as_ref().unwrap()["m"], "x");
    let dry = cms
        .patch("a", &PatchParams::default().dry_run(), &Patch::Merge(json!({"data": {"m": "dry"}})))
        .await
        .unwrap();
    assert_eq!(dry.data.as_ref().unwrap()["m"], "dry");
    assert_eq!(cms.get("a").await.unwrap().data.unwrap()["m"], "x", "a dry-run patch changes nothing");

    let list = cms.list(&ListParams::default()).await.unwrap();
    let names: Vec<_> = list.items.iter().map(|c| c.name_any()).collect();
    assert_eq!(names, ["a"]);

    cms.delete("a", &DeleteParams::default().dry_run()).await.unwrap();
    assert!(cms.get_opt("a").await.unwrap().is_some(), "a dry-run delete deletes nothing");
    match cms.delete("a", &DeleteParams::default()).await.unwrap() {
        Either::Right(status) => assert!(status.is_success()),
        Either::Left(cm) => assert_eq!(cm.name_any(), "a"),
    }
    assert!(cms.get_opt("a").await.unwrap().is_none());
}

#[tokio::test]
async fn conflicts_are_typed_409s() {
    let ns = namespace("conflict");
    let cms: Api<ConfigMap> = Api::namespaced(admin_client(), &ns);
    let first = cms.create(&PostParams::default(), &configmap("c", &[])).await.unwrap();
    let err = cms.create(&PostParams::default(), &configmap("c", &[])).await.unwrap_err();
    assert!(api_status(&err).is_already_exists(), "{err}");
    assert_eq!(api_status(&err).code, 409);

    cms.patch("c", &PatchParams::default(), &Patch::Merge(json!({"data": {"v": "2"}}))).await.unwrap();
    // `first` carries the old resourceVersion: replacing with it is a conflict.
    let err = cms.replace("c", &PostParams::default(), &first).await.unwrap_err();
    assert!(api_status(&err).is_conflict(), "{err}");
    assert!(err.is_conflict());
}

#[tokio::test]
async fn server_side_apply_conflicts_then_force() {
    let ns = namespace("ssa");
    let cms: Api<ConfigMap> = Api::namespaced(admin_client(), &ns);
    let intent = |v: &str| {
        Patch::Apply(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}, "data": {"owner": v}}),
        )
    };
    cms.patch("s", &PatchParams::apply("alice"), &intent("alice")).await.unwrap();
    let err = cms.patch("s", &PatchParams::apply("bob"), &intent("bob")).await.unwrap_err();
    let status = api_status(&err);
    assert!(status.is_conflict(), "{status:?}");
    assert!(status.message.contains("alice"), "the conflict names the other manager: {}", status.message);
    let forced = cms.patch("s", &PatchParams::apply("bob").force(), &intent("bob")).await.unwrap();
    assert_eq!(forced.data.unwrap()["owner"], "bob");
    let managers: Vec<_> =
        forced.metadata.managed_fields.unwrap().into_iter().filter_map(|m| m.manager).collect();
    assert!(managers.contains(&"bob".to_string()), "{managers:?}");
}

fn deployment(name: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}
            }
        }
    }))
    .unwrap()
}

#[tokio::test]
async fn strategic_merge_json_patch_and_scale_on_deployments() {
    let ns = namespace("deploy");
    let deploys: Api<Deployment> = Api::namespaced(admin_client(), &ns);
    deploys.create(&PostParams::default(), &deployment("web")).await.unwrap();

    // A strategic merge adds a container by name; a merge patch would replace the list.
    let sidecar =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "busybox"}]}}}});
    let d = deploys.patch("web", &PatchParams::default(), &Patch::Strategic(sidecar)).await.unwrap();
    let mut names: Vec<_> = d.spec.template.spec.unwrap().containers.into_iter().map(|c| c.name).collect();
    names.sort();
    assert_eq!(names, ["app", "sidecar"]);

    // A JSON patch whose `test` op fails changes nothing and is an error.
    let ops = json!([{"op": "test", "path": "/spec/replicas", "value": 5}, {"op": "replace", "path": "/spec/replicas", "value": 9}]);
    let err = deploys.patch("web", &PatchParams::default(), &Patch::Json(ops)).await.unwrap_err();
    let status = api_status(&err);
    assert!(status.code == 422 || status.code == 409 || status.code == 400, "{status:?}");
    assert_eq!(deploys.get("web").await.unwrap().spec.replicas, Some(1));
    let ops = json!([{"op": "test", "path": "/spec/replicas", "value": 1}, {"op": "replace", "path": "/spec/replicas", "value": 2}]);
    let d = deploys.patch("web", &PatchParams::default(), &Patch::Json(ops)).await.unwrap();
    assert_eq!(d.spec.replicas, Some(2));

    let scale = deploys.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(2));
    let scale = deploys
        .patch_scale("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 4}})))
        .await
        .unwrap();
    assert_eq!(scale.spec.as_ref().unwrap().replicas, Some(4));
    let mut scale = deploys.get_scale("web").await.unwrap();
    scale.spec.as_mut().unwrap().replicas = Some(3);
    deploys.replace_scale("web", &PostParams::default(), &scale).await.unwrap();
    assert_eq!(deploys.get("web").await.unwrap().spec.replicas, Some(3));

    // The status subresource of a native type.
    let d = deploys
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 3, "readyReplicas": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(d.status.unwrap().ready_replicas, Some(2));
    assert_eq!(deploys.get_status("web").await.unwrap().status.unwrap().ready_replicas, Some(2));
}

#[tokio::test]
async fn delete_preconditions_and_propagation_policies() {
    let ns = namespace("delete");
    let cms: Api<ConfigMap> = Api::namespaced(admin_client(), &ns);
    let cm = cms.create(&PostParams::default(), &configmap("p", &[])).await.unwrap();

    let err = cms.delete("p", &DeleteParams::default().precondition_uid("not-the-uid")).await.unwrap_err();
    assert!(api_status(&err).is_conflict(), "{err}");
    let err = cms.delete("p", &DeleteParams::default().precondition_resource_version("1")).await.unwrap_err();
    assert!(api_status(&err).is_conflict(), "{err}");
    cms.delete("p", &DeleteParams::default().precondition_uid(&cm.uid().unwrap())).await.unwrap();
    assert!(cms.get_opt("p").await.unwrap().is_none());

    // There is no garbage collector in this control plane: foreground and orphan deletion leave
    // the object behind with their finalizer, which is what the API promises.
    for (name, dp, finalizer) in [
        ("fg", DeleteParams::foreground(), Some("foregroundDeletion")),
        ("orphan", DeleteParams::orphan(), Some("orphan")),
        ("bg", DeleteParams::background(), None),
    ] {
        cms.create(&PostParams::default(), &configmap(name, &[])).await.unwrap();
        let result = cms.delete(name, &dp).await.unwrap();
        match (finalizer, result) {
            (Some(f), Either::Left(held)) => {
                assert!(held.metadata.deletion_timestamp.is_some(), "{name}");
                assert!(held.finalizers().iter().any(|x| x == f), "{name}: {:?}", held.finalizers());
                assert!(cms.get_opt(name).await.unwrap().is_some(), "{name} is held by its finalizer");
            }
            (None, _) => assert!(cms.get_opt(name).await.unwrap().is_none(), "{name}"),
            (Some(_), Either::Right(s)) => panic!("{name}: expected the held object, got {s:?}"),
        }
    }
}

#[tokio::test]
async fn delete_collection_by_label() {
    let ns = namespace("delcol");
    let cms: Api<ConfigMap> = Api::namespaced(admin_client(), &ns);
    for (name, team) in [("a", "red"), ("b", "red"), ("c", "blue")] {
        let mut cm = configmap(name, &[]);
        cm.labels_mut().insert("team".into(), team.into());
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let deleted = cms
        .delete_collection(&DeleteParams::default(), &ListParams::default().labels("team=red"))
        .await
        .unwrap();
    if let Either::Left(list) = deleted {
        let mut names: Vec<_> = list.items.iter().map(|c| c.name_any()).collect();
        names.sort();
        assert_eq!(names, ["a", "b"]);
    }
    let left: Vec<_> = cms
        .list(&ListParams::default().labels("app=api-test"))
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.name_any())
        .collect();
    assert_eq!(left, ["c"]);
}

#[tokio::test]
async fn paging_by_hand_and_as_a_stream() {
    let ns = namespace("paging");
    let cms: Api<ConfigMap> = Api::namespaced(admin_client(), &ns);
    for i in 0..7 {
        cms.create(&PostParams::default(), &configmap(&format!("cm-{i}"), &[])).await.unwrap();
    }
    let lp = ListParams::default().labels("app=api-test").limit(2);
    let mut pages = Vec::new();
    let mut next = lp.clone();
    loop {
        let page = cms.list(&next).await.unwrap();
        pages.push(page.items.iter().map(|c| c.name_any()).collect::<Vec<_>>());
        match page.continue_token() {
            Some(token) => next = lp.clone().continue_token(token),
            None => break,
        }
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 2, 1]);
    let by_hand: Vec<String> = pages.concat();
    let streamed: Vec<String> = cms.list_all(&lp).map_ok(|c| c.name_any()).try_collect().await.unwrap();
    assert_eq!(by_hand, streamed);
    assert_eq!(streamed, (0..7).map(|i| format!("cm-{i}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn watch_sees_changes_in_order_and_bookmarks() {
    let ns = namespace("watch");
    let cms: Api<ConfigMap> = Api::namespaced(admin_client(), &ns);
    let rv = cms.list(&ListParams::default()).await.unwrap().resource_version().unwrap().to_string();
    let stream = cms.watch(&WatchParams::default().labels("app=api-test").timeout(4), &rv).await.unwrap();
    let writer = cms.clone();
    tokio::spawn(async move {
        writer.create(&PostParams::default(), &configmap("w", &[])).await.unwrap();
        writer.patch("w", &PatchParams::default(), &Patch::Merge(json!({"data": {"a": "b"}}))).await.unwrap();
        writer.delete("w", &DeleteParams::default()).await.unwrap();
    });
    let events: Vec<WatchEvent<ConfigMap>> = stream.try_collect().await.unwrap();
    let kinds: Vec<_> = events.iter().map(WatchEvent::type_name).filter(|t| *t != "BOOKMARK").collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
    assert!(
        events.iter().any(|e| matches!(e, WatchEvent::Bookmark(_))),
        "bookmarks were asked for: {events:?}"
    );
    let rvs: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Added(c) | WatchEvent::Modified(c) | WatchEvent::Deleted(c) => c.resource_version(),
            _ => None,
        })
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "{rvs:?}");
}

#[tokio::test]
async fn watch_from_a_compacted_version_is_a_typed_410() {
    // Its own control plane: this test restarts the apiserver.
    let env = kube_test::TestEnv::start().unwrap();
    let client = admin_client_of(&env);
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let old =
        cms.create(&PostParams::default(), &configmap("old", &[])).await.unwrap().resource_version().unwrap();
    for i in 0..3 {
        cms.create(&PostParams::default(), &configmap(&format!("n{i}"), &[])).await.unwrap();
    }
    env.compact_etcd().unwrap();
    env.restart_apiserver().unwrap();
    let client = admin_client_of(&env);
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let mut events = cms.watch(&WatchParams::default().timeout(5), &old).await.unwrap();
    match events.next().await {
        Some(Ok(WatchEvent::Error(status))) => {
            assert!(status.is_gone(), "{status:?}");
            assert_eq!(status.code, 410);
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    // A list at exactly that version is a 410 too.
    let lp = ListParams::default().at(&old).matching(kube_core::params::VersionMatch::Exact);
    let err = cms.list(&lp).await.unwrap_err();
    assert!(err.is_gone(), "{err}");
}

#[tokio::test]
async fn cluster_scoped_type() {
    let roles: Api<ClusterRole> = Api::all(admin_client());
    let name = env().unique_namespace_name("role");
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": name},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]
    }))
    .unwrap();
    roles.create(&PostParams::default(), &role).await.unwrap();
    assert_eq!(roles.get(&name).await.unwrap().rules.unwrap()[0].verbs, ["get"]);
    let patched = roles
        .patch(&name, &PatchParams::apply("test").force(), &Patch::Apply(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]
        })))
        .await
        .unwrap();
    assert_eq!(patched.rules.unwrap()[0].verbs, ["get", "list"]);
    assert!(roles.list(&ListParams::default()).await.unwrap().items.iter().any(|r| r.name_any() == name));
    roles.delete(&name, &DeleteParams::default()).await.unwrap();
    assert!(roles.get_opt(&name).await.unwrap().is_none());
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct WidgetSpec {
    size: String,
    replicas: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
struct WidgetStatus {
    ready: bool,
    #[serde(default)]
    replicas: i64,
}

type Widget = Object<WidgetSpec, WidgetStatus>;

fn widget_resource() -> ApiResource {
    env().install_crd(include_str!("fixtures/widget-crd.yaml")).unwrap();
    let gvk = GroupVersionKind::gvk("api.kube-test.example.com", "v1", "Widget");
    ApiResource::from_gvk_with_plural(&gvk, "widgets", Scope::Namespaced)
}

#[tokio::test]
async fn custom_resources_with_status_and_scale() {
    let ar = widget_resource();
    let ns = namespace("crd");
    let widgets: Api<Widget> = Api::namespaced_with(admin_client(), &ns, &ar);
    let w = Widget::new("w1", &ar, WidgetSpec { size: "big".into(), replicas: 1 });
    let created = widgets.create(&PostParams::default(), &w).await.unwrap();
    assert_eq!(created.spec, w.spec);
    assert!(created.status.is_none(), "status is absent until written");

    // Status only changes through the status subresource.
    let mut with_status = created.clone();
    with_status.status = Some(WidgetStatus { ready: true, replicas: 1 });
    let replaced = widgets.replace("w1", &PostParams::default(), &with_status).await.unwrap();
    assert!(replaced.status.is_none(), "the main resource ignores status");
    let patched = widgets
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true, "replicas": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.status, Some(WidgetStatus { ready: true, replicas: 1 }));
    let mut status_obj = widgets.get_status("w1").await.unwrap();
    status_obj.status.as_mut().unwrap().ready = false;
    let replaced = widgets.replace_status("w1", &PostParams::default(), &status_obj).await.unwrap();
    assert!(!replaced.status.unwrap().ready);

    let scale = widgets.get_scale("w1").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(1));
    widgets
        .patch_scale("w1", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await
        .unwrap();
    assert_eq!(widgets.get("w1").await.unwrap().spec.replicas, 3);

    // The same objects through the dynamic API.
    let dynamic: Api<DynamicObject> = Api::namespaced_with(admin_client(), &ns, &ar);
    let d = dynamic.get("w1").await.unwrap();
    assert_eq!(d.data["spec"]["size"], "big");
    let d2 = DynamicObject::new("w2", &ar).data(json!({"spec": {"size": "small", "replicas": 0}}));
    dynamic.create(&PostParams::default(), &d2).await.unwrap();
    let all: Vec<_> =
        widgets.list(&ListParams::default()).await.unwrap().items.into_iter().map(|w| w.spec.size).collect();
    assert_eq!(all, ["big", "small"]);
    // A merge patch on a custom resource (strategic merge is for built-in types only).
    let err = widgets
        .patch("w2", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"size": "x"}})))
        .await
        .unwrap_err();
    assert_eq!(api_status(&err).code, 415, "{err}");
    widgets.delete("w1", &DeleteParams::default()).await.unwrap();
    assert!(widgets.get_opt("w1").await.unwrap().is_none());
}

#[tokio::test]
async fn metadata_only_calls() {
    let ns = namespace("meta");
    let cms: Api<ConfigMap> = Api::namespaced(admin_client(), &ns);
    cms.create(&PostParams::default(), &configmap("m", &[("big", "value")])).await.unwrap();
    let meta = cms.get_metadata("m").await.unwrap();
    assert_eq!(meta.types.as_ref().unwrap().kind, "PartialObjectMetadata");
    assert_eq!(meta.name_any(), "m");
    let list = cms.list_metadata(&ListParams::default().labels("app=api-test")).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(cms.get_metadata_opt("nope").await.unwrap().is_none());
    let rv = list.resource_version().unwrap().to_string();
    let mut watch = cms.watch_metadata(&WatchParams::default().timeout(3), &rv).await.unwrap();
    cms.patch("m", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})))
        .await
        .unwrap();
    loop {
        match watch.next().await.unwrap().unwrap() {
            WatchEvent::Modified(m) => {
                assert_eq!(m.labels()["x"], "y");
                break;
            }
            WatchEvent::Bookmark(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn pods_eviction_logs_and_service_account_tokens() {
    let ns = namespace("pods");
    let client = admin_client();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();

    // No node runs this Pod: the apiserver has no logs to give (an empty body, or a 400 on
    // versions that refuse the request).
    match pods.logs("p", &LogParams { tail_lines: Some(10), ..LogParams::default() }).await {
        Ok(text) => assert!(text.is_empty(), "{text}"),
        Err(err) => assert_eq!(api_status(&err).code, 400, "{err}"),
    }
    let err = pods.logs("missing", &LogParams::default()).await.unwrap_err();
    assert!(api_status(&err).is_not_found(), "{err}");

    let status = pods.evict("p", &EvictParams::default()).await.unwrap();
    assert!(status.is_success(), "{status:?}");
    let gone_or_terminating =
        pods.get_opt("p").await.unwrap().map(|p| p.metadata.deletion_timestamp.is_some());
    assert_ne!(gone_or_terminating, Some(false), "the evicted Pod is deleted");

    let sas: Api<ServiceAccount> = Api::namespaced(client, &ns);
    let sa: ServiceAccount = serde_json::from_value(json!({"metadata": {"name": "robot"}})).unwrap();
    sas.create(&PostParams::default(), &sa).await.unwrap();
    let request =
        serde_json::from_value(json!({"spec": {"audiences": ["test"], "expirationSeconds": 600}})).unwrap();
    let token = sas.create_token_request("robot", &PostParams::default(), &request).await.unwrap();
    assert!(token.status.unwrap().token.unwrap().len() > 20);
}

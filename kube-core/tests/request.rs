//! Table tests of the request builder: URL, method, query, headers and body for every verb,
//! scope and subresource.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{Namespace, Pod},
};
use kube_core::{
    ApiResource, DynamicObject, GroupVersionKind, PartialObjectMetadata, Resource, Scope,
    params::{
        AttachParams, DeleteParams, GetParams, ListParams, LogParams, Patch, PatchParams, PostParams,
        ValidationDirective, VersionMatch, WatchParams,
    },
    request::Request,
};
use serde_json::json;

type Built = Result<http::Request<Vec<u8>>, kube_core::Error>;

fn check(req: Built, method: &str, uri: &str) -> http::Request<Vec<u8>> {
    let req = req.unwrap_or_else(|e| panic!("{method} {uri}: {e}"));
    assert_eq!(req.method().as_str(), method, "{uri}");
    assert_eq!(req.uri().to_string(), uri);
    req
}

fn header<'a>(req: &'a http::Request<Vec<u8>>, name: &str) -> &'a str {
    req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn pods(ns: Option<&str>) -> Request {
    Request::new(Pod::url_path(&(), ns))
}

#[test]
fn collection_urls_for_every_scope_and_group() {
    let widget = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.com", "v1alpha1", "Widget"),
        "widgets",
        Scope::Namespaced,
    );
    let cluster_widget = ApiResource { scope: Scope::Cluster, ..widget.clone() };
    let cases = [
        (Pod::url_path(&(), Some("ns1")), "/api/v1/namespaces/ns1/pods"),
        (Pod::url_path(&(), None), "/api/v1/pods"),
        (Deployment::url_path(&(), Some("ns1")), "/apis/apps/v1/namespaces/ns1/deployments"),
        (Deployment::url_path(&(), None), "/apis/apps/v1/deployments"),
        (Namespace::url_path(&(), Some("ns1")), "/api/v1/namespaces"),
        (DynamicObject::url_path(&widget, Some("a")), "/apis/example.com/v1alpha1/namespaces/a/widgets"),
        (DynamicObject::url_path(&widget, None), "/apis/example.com/v1alpha1/widgets"),
        (DynamicObject::url_path(&cluster_widget, Some("a")), "/apis/example.com/v1alpha1/widgets"),
        (PartialObjectMetadata::<Pod>::url_path(&(), Some("x")), "/api/v1/namespaces/x/pods"),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
fn list_queries() {
    let cases: [(ListParams, &str); 7] = [
        (ListParams::default(), "/api/v1/namespaces/ns/pods"),
        (ListParams::default().limit(2), "/api/v1/namespaces/ns/pods?limit=2"),
        (
            ListParams::default().labels("app=web,tier in (a,b)").fields("metadata.name=x"),
            "/api/v1/namespaces/ns/pods?labelSelector=app%3Dweb%2Ctier+in+%28a%2Cb%29&fieldSelector=metadata.name%3Dx",
        ),
        (
            ListParams::default().limit(2).continue_token("tok/en=="),
            "/api/v1/namespaces/ns/pods?limit=2&continue=tok%2Fen%3D%3D",
        ),
        (
            ListParams::default().match_any(),
            "/api/v1/namespaces/ns/pods?resourceVersion=0&resourceVersionMatch=NotOlderThan",
        ),
        (
            ListParams::default().at("42").matching(VersionMatch::Exact),
            "/api/v1/namespaces/ns/pods?resourceVersion=42&resourceVersionMatch=Exact",
        ),
        (ListParams::default().timeout(10), "/api/v1/namespaces/ns/pods?timeoutSeconds=10"),
    ];
    for (lp, uri) in cases {
        let req = check(pods(Some("ns")).list(&lp), "GET", uri);
        assert_eq!(header(&req, "accept"), "application/json");
        assert!(req.body().is_empty());
    }
}

#[test]
fn invalid_list_params_are_rejected_before_sending() {
    let rejects = [
        (ListParams::default().matching(VersionMatch::NotOlderThan), "resourceVersionMatch"),
        (ListParams::default().match_any().matching(VersionMatch::Exact), "resourceVersionMatch"),
        (ListParams::default().continue_token("t").at("5"), "continue"),
        (ListParams::default().limit(0), "limit"),
        (ListParams::default().labels("a in b"), "label selector"),
        (ListParams::default().fields("a in (b)"), "field selector"),
    ];
    for (lp, what) in rejects {
        let err = pods(None).list(&lp).unwrap_err().to_string();
        assert!(err.contains(what), "{lp:?}: {err}");
    }
}

#[test]
fn watch_queries() {
    let r = pods(Some("ns"));
    check(
        r.watch(&WatchParams::default(), "10"),
        "GET",
        "/api/v1/namespaces/ns/pods?watch=true&allowWatchBookmarks=true&resourceVersion=10",
    );
    check(
        r.watch(&WatchParams::default().disable_bookmarks(), ""),
        "GET",
        "/api/v1/namespaces/ns/pods?watch=true",
    );
    check(
        r.watch(&WatchParams::default().labels("app").timeout(290), "0"),
        "GET",
        "/api/v1/namespaces/ns/pods?watch=true&labelSelector=app&timeoutSeconds=290&allowWatchBookmarks=true&resourceVersion=0",
    );
    check(
        r.watch(&WatchParams::default().streaming_lists(), ""),
        "GET",
        "/api/v1/namespaces/ns/pods?watch=true&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan",
    );
    let bad = WatchParams { send_initial_events: true, bookmarks: false, ..WatchParams::default() };
    assert!(r.watch(&bad, "").unwrap_err().to_string().contains("sendInitialEvents"));
    assert!(r.watch(&WatchParams::default().timeout(0), "").is_err());
}

#[test]
fn object_verbs() {
    let r = pods(Some("ns"));
    check(r.get("p", &GetParams::default()), "GET", "/api/v1/namespaces/ns/pods/p");
    check(r.get("p", &GetParams::any()), "GET", "/api/v1/namespaces/ns/pods/p?resourceVersion=0");

    let req = check(r.create(&PostParams::default(), b"{}".to_vec()), "POST", "/api/v1/namespaces/ns/pods");
    assert_eq!(header(&req, "content-type"), "application/json");
    assert_eq!(req.body(), b"{}");

    let pp = PostParams::default().dry_run().field_manager("me").validation(ValidationDirective::Strict);
    check(
        r.replace("p", &pp, b"{}".to_vec()),
        "PUT",
        "/api/v1/namespaces/ns/pods/p?dryRun=All&fieldManager=me&fieldValidation=Strict",
    );
}

#[test]
fn patch_kinds_set_their_content_types() {
    let r = pods(Some("ns"));
    let body = json!({"metadata": {"labels": {"a": "b"}}});
    let cases = [
        (
            Patch::Apply(body.clone()),
            PatchParams::apply("mgr").force(),
            "application/apply-patch+yaml",
            "?force=true&fieldManager=mgr",
        ),
        (Patch::Merge(body.clone()), PatchParams::default(), "application/merge-patch+json", ""),
        (
            Patch::Strategic(body.clone()),
            PatchParams::default().dry_run(),
            "application/strategic-merge-patch+json",
            "?dryRun=All",
        ),
        (
            Patch::Json(json!([{"op": "test", "path": "/a", "value": 1}])),
            PatchParams::default(),
            "application/json-patch+json",
            "",
        ),
    ];
    for (patch, pp, content_type, query) in cases {
        let req = check(r.patch("p", &pp, &patch), "PATCH", &format!("/api/v1/namespaces/ns/pods/p{query}"));
        assert_eq!(header(&req, "content-type"), content_type);
        let sent: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        let (Patch::Apply(v) | Patch::Merge(v) | Patch::Strategic(v) | Patch::Json(v)) = &patch;
        assert_eq!(&sent, v);
    }
}

#[test]
fn invalid_patch_params_are_rejected() {
    let r = pods(Some("ns"));
    let merge = Patch::Merge(json!({}));
    let apply = Patch::Apply(json!({}));
    assert!(r.patch("p", &PatchParams::default().force(), &merge).unwrap_err().to_string().contains("force"));
    assert!(r.patch("p", &PatchParams::default(), &apply).unwrap_err().to_string().contains("field manager"));
    let long = "m".repeat(129);
    assert!(r.patch("p", &PatchParams::apply(&long), &apply).is_err());
    assert!(r.create(&PostParams::default().field_manager(""), vec![]).is_err());
}

#[test]
fn delete_sends_delete_options() {
    let r = pods(Some("ns"));
    let dp =
        DeleteParams::foreground().grace_period(0).precondition_uid("u1").precondition_resource_version("7");
    let req = check(r.delete("p", &dp), "DELETE", "/api/v1/namespaces/ns/pods/p");
    let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
    assert_eq!(
        body,
        json!({"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
               "propagationPolicy": "Foreground", "preconditions": {"uid": "u1", "resourceVersion": "7"}})
    );
    let req = check(
        r.delete("p", &DeleteParams::orphan().dry_run()),
        "DELETE",
        "/api/v1/namespaces/ns/pods/p?dryRun=All",
    );
    let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
    assert_eq!(body["dryRun"], json!(["All"]));
    assert_eq!(body["propagationPolicy"], "Orphan");

    let req = check(
        r.delete_collection(&DeleteParams::background(), &ListParams::default().labels("app=x")),
        "DELETE",
        "/api/v1/namespaces/ns/pods?labelSelector=app%3Dx",
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(req.body()).unwrap()["propagationPolicy"],
        "Background"
    );
}

#[test]
fn metadata_only_calls_ask_for_partial_object_metadata() {
    let r = pods(Some("ns"));
    let get = check(r.get_metadata("p", &GetParams::default()), "GET", "/api/v1/namespaces/ns/pods/p");
    assert_eq!(header(&get, "accept"), "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1");
    let list = check(r.list_metadata(&ListParams::default()), "GET", "/api/v1/namespaces/ns/pods");
    assert_eq!(header(&list, "accept"), "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1");
    let watch = check(
        r.watch_metadata(&WatchParams::default(), "1"),
        "GET",
        "/api/v1/namespaces/ns/pods?watch=true&allowWatchBookmarks=true&resourceVersion=1",
    );
    assert_eq!(header(&watch, "accept"), "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1");
}

#[test]
fn subresources() {
    let deploys = Request::new(Deployment::url_path(&(), Some("ns")));
    check(
        deploys.get_subresource("scale", "d", &GetParams::default()),
        "GET",
        "/apis/apps/v1/namespaces/ns/deployments/d/scale",
    );
    check(
        deploys.replace_subresource("status", "d", &PostParams::default(), vec![]),
        "PUT",
        "/apis/apps/v1/namespaces/ns/deployments/d/status",
    );
    let req = check(
        deploys.patch_subresource(
            "scale",
            "d",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        ),
        "PATCH",
        "/apis/apps/v1/namespaces/ns/deployments/d/scale",
    );
    assert_eq!(header(&req, "content-type"), "application/merge-patch+json");

    let r = pods(Some("ns"));
    check(
        r.evict("p", &PostParams::default(), b"{}".to_vec()),
        "POST",
        "/api/v1/namespaces/ns/pods/p/eviction",
    );
    let sa = Request::new("/api/v1/namespaces/ns/serviceaccounts");
    check(
        sa.create_subresource("token", "default", &PostParams::default(), vec![]),
        "POST",
        "/api/v1/namespaces/ns/serviceaccounts/default/token",
    );

    let lp = LogParams {
        container: Some("c".into()),
        follow: true,
        tail_lines: Some(10),
        timestamps: true,
        ..LogParams::default()
    };
    let logs = check(
        r.logs("p", &lp),
        "GET",
        "/api/v1/namespaces/ns/pods/p/log?container=c&follow=true&tailLines=10&timestamps=true",
    );
    assert_eq!(header(&logs, "accept"), "*/*");
    let both = LogParams {
        since_seconds: Some(1),
        since_time: Some("2026-01-01T00:00:00Z".into()),
        ..LogParams::default()
    };
    assert!(r.logs("p", &both).is_err());

    let ap = AttachParams { stdin: true, tty: true, stderr: false, ..AttachParams::default() };
    check(
        r.exec("p", ["sh", "-c", "echo hi"], &ap),
        "GET",
        "/api/v1/namespaces/ns/pods/p/exec?stdin=true&stdout=true&tty=true&command=sh&command=-c&command=echo+hi",
    );
    assert!(r.exec("p", Vec::<String>::new(), &AttachParams::default()).is_err());
    assert!(r.attach("p", &AttachParams { tty: true, ..AttachParams::default() }).is_err());
    check(
        r.attach("p", &AttachParams::default()),
        "GET",
        "/api/v1/namespaces/ns/pods/p/attach?stdout=true&stderr=true",
    );
    check(r.portforward("p", &[80, 443]), "GET", "/api/v1/namespaces/ns/pods/p/portforward?ports=80%2C443");
    assert!(r.portforward("p", &[]).is_err());
}

#[test]
fn bad_names_are_rejected() {
    let r = pods(Some("ns"));
    for name in ["", ".", "..", "a/b", "a?b", "a b", "a%2F"] {
        let err = r.get(name, &GetParams::default()).unwrap_err();
        assert!(err.to_string().starts_with("invalid name"), "{name:?}: {err}");
        assert!(r.delete(name, &DeleteParams::default()).is_err());
    }
    assert!(
        r.get_subresource("a/b", "p", &GetParams::default()).unwrap_err().to_string().contains("subresource")
    );
}

//! HTTP/2 connections against a real kube-apiserver: more watches than one connection may
//! carry (the apiserver allows 100 streams per connection) all run, on as few connections as
//! the limit allows. Its own test binary, so that the process's connections are this test's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{admin_client, env, namespace};
use futures::{StreamExt, future::try_join_all};
use k8s_openapi::api::core::v1::ConfigMap;
use kube_client::Api;
use kube_core::{
    WatchEvent,
    params::{PostParams, WatchParams},
};

/// Watches on one client: more than twice the apiserver's stream limit per connection.
const WATCHES: usize = 250;

#[tokio::test]
async fn watches_past_the_stream_limit_open_another_connection() {
    let ns = namespace("connections");
    let client = admin_client();
    let cms: Api<ConfigMap> = Api::namespaced(client, &ns);

    // Every watch gets its response: none waits for a stream another watch holds.
    let wp = WatchParams::default();
    let started = try_join_all((0..WATCHES).map(|_| cms.watch(&wp, "0")));
    let watches = tokio::time::timeout(Duration::from_secs(60), started)
        .await
        .expect("every watch is answered within 60 s")
        .unwrap();

    let open = kube_test::established_connections(std::process::id(), env().apiserver_port());
    assert_eq!(open, 3, "{WATCHES} watches at 100 streams per connection need 3 connections");

    // And each of them delivers.
    let cm = ConfigMap {
        metadata: kube_core::ObjectMeta { name: Some("probe".into()), ..Default::default() },
        ..Default::default()
    };
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let seen = watches.into_iter().map(|watch| async move {
        let mut watch = Box::pin(watch);
        while let Some(event) = watch.next().await {
            if let WatchEvent::Added(cm) = event.unwrap() {
                return cm.metadata.name;
            }
        }
        None
    });
    let names = tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(seen))
        .await
        .expect("every watch sees the ConfigMap within 60 s");
    assert!(names.iter().all(|n| n.as_deref() == Some("probe")), "{names:?}");
}

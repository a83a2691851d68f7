//! Compacting etcd makes watches from older resource versions fail with 410 Gone.
//!
//! With the apiserver's watch cache on (the default), a watch is served from the cache, which
//! does not see etcd's compaction: a resource version still inside the cache's window keeps
//! working. So this test turns the watch cache off, and then the apiserver passes etcd's
//! "required revision has been compacted" through as an `ERROR` event with a `Status` of code
//! 410 inside an HTTP 200 watch stream.

use kube_test::{Error, RawResponse, TestEnv};
use serde_json::Value;

fn resource_version(env: &TestEnv, ns: &str) -> Result<String, Error> {
    env.kubectl(["get", "configmap", "cm", "-n", ns, "-o", "jsonpath={.metadata.resourceVersion}"])
}

fn watch_from(env: &TestEnv, ns: &str, rv: &str) -> Result<RawResponse, Error> {
    env.raw_get(&format!("/api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=1"))
}

/// The watch events in a response body (one JSON object a line).
fn events(body: &str) -> Vec<Value> {
    body.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn is_gone(resp: &RawResponse) -> bool {
    resp.status == 410
        || events(&resp.body).iter().any(|e| e["type"] == "ERROR" && e["object"]["code"] == 410)
}

#[test]
fn watch_from_compacted_revision_is_gone_without_watch_cache() -> Result<(), Error> {
    let env = TestEnv::builder().watch_cache(false).start()?;
    let ns = env.create_unique_namespace("compaction")?;
    env.kubectl(["create", "configmap", "cm", "-n", &ns, "--from-literal=n=0"])?;
    let old = resource_version(&env, &ns)?;
    for n in 1..=3 {
        env.kubectl(["patch", "configmap", "cm", "-n", &ns, "-p", &format!(r#"{{"data":{{"n":"{n}"}}}}"#)])?;
    }

    // Before compaction the old revision can be watched: three MODIFIED events.
    let before = watch_from(&env, &ns, &old)?;
    assert_eq!(before.status, 200, "{}", before.body);
    let modified = events(&before.body).iter().filter(|e| e["type"] == "MODIFIED").count();
    assert_eq!(modified, 3, "{}", before.body);

    let revision = env.compact_etcd()?;
    let current: i64 = resource_version(&env, &ns)?.parse().unwrap_or_default();
    assert!(revision >= current, "compacted at {revision}, object is at {current}");

    let after = watch_from(&env, &ns, &old)?;
    println!("watch after compaction: HTTP {} {}", after.status, after.body.trim());
    assert!(is_gone(&after), "expected 410 Gone, got HTTP {}: {}", after.status, after.body);
    let gone = events(&after.body);
    if let Some(status) = gone.iter().find(|e| e["type"] == "ERROR") {
        assert_eq!(status["object"]["reason"], "Expired", "{status}");
    }

    // A watch from the current revision still works.
    let fresh = watch_from(&env, &ns, &revision.to_string())?;
    assert!(!is_gone(&fresh), "{}", fresh.body);
    Ok(())
}

#[test]
fn compaction_with_watch_cache_is_reported() -> Result<(), Error> {
    // Documents the behaviour with the cache on (not asserted: it depends on the cache window).
    let env = TestEnv::shared()?;
    let ns = env.create_unique_namespace("compaction-cached")?;
    env.kubectl(["create", "configmap", "cm", "-n", &ns, "--from-literal=n=0"])?;
    let old = resource_version(env, &ns)?;
    env.kubectl(["patch", "configmap", "cm", "-n", &ns, "-p", r#"{"data":{"n":"1"}}"#])?;
    let revision = env.compact_etcd()?;
    let after = watch_from(env, &ns, &old)?;
    println!(
        "with watch cache: compacted at {revision}; watch from {old}: HTTP {}, gone: {}",
        after.status,
        is_gone(&after)
    );
    Ok(())
}

//! Metrics and health endpoints against a real kube-apiserver, scraped over HTTP: the counts
//! served equal what happened, the text is valid exposition format, readiness follows the stores
//! and leadership is a gauge.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "common/exposition.rs"]
mod exposition;

use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use futures::StreamExt;
use k8s_openapi::api::{coordination::v1::Lease, core::v1::ConfigMap};
use kube_client::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use kube_runtime::{
    controller::{Action, Controller},
    leader::{self, LeaderElector},
    metrics::{ClientMetrics, LeaderMetrics, Metrics, Server, WatcherMetrics},
    reflector, watcher,
};
use prometheus_client::registry::Registry;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::{client_of, shared, wait_until};
use exposition::Exposition;

/// A plain HTTP/1.1 GET: status, content type and body.
async fn get(addr: SocketAddr, path: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let accept = accept.map(|a| format!("Accept: {a}\r\n")).unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: metrics\r\n{accept}Connection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a full response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_string))
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

/// Scrapes `/metrics` in both formats, checks both strictly and that they agree.
async fn scrape(addr: SocketAddr) -> Exposition {
    let (status, content_type, text) = get(addr, "/metrics", None).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let classic = exposition::parse(&text, false).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let (status, content_type, text) =
        get(addr, "/metrics", Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/openmetrics-text; version=1.0.0"), "{content_type}");
    let open = exposition::parse(&text, true).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let counters = |e: &Exposition| e.samples.iter().filter(|s| s.0.ends_with("_total")).count();
    assert_eq!(counters(&classic), counters(&open), "both formats carry the same counters");
    classic
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_watcher_and_leader_metrics_and_readiness_over_http() {
    let env = shared();
    let ns = env.create_unique_namespace("metrics").unwrap();
    let mut registry = Registry::default();
    let client_metrics = ClientMetrics::register(&mut registry);
    let watcher_metrics = WatcherMetrics::register(&mut registry);
    let leader_metrics = LeaderMetrics::register(&mut registry);
    let _controllers = Metrics::register(&mut registry);
    let client = client_of(env).with_layer(&client_metrics);

    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let (store, writer) = reflector::store::<ConfigMap>();
    let elector = LeaderElector::new(
        Api::<Lease>::namespaced(client.clone(), &ns),
        leader::Config::new("metrics").timing(
            Duration::from_secs(3),
            Duration::from_secs(2),
            Duration::from_millis(500),
        ),
    )
    .unwrap();
    leader_metrics.track("metrics", elector.leadership());
    let leadership = elector.leadership();

    let server = Server::new(Arc::new(registry)).ready_when_synced("configmaps", &store);
    let bound = server.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = bound.local_addr().unwrap();
    tokio::spawn(bound.serve(std::future::pending()));

    assert_eq!(get(addr, "/healthz", None).await.0, 200);
    assert_eq!(get(addr, "/nothing", None).await.0, 404);
    let (status, _, body) = get(addr, "/readyz", None).await;
    assert_eq!((status, body.as_str()), (503, "not ready: configmaps\n"), "not ready before the store syncs");
    let before = scrape(addr).await;
    assert_eq!(before.value("leader_election_master_status", &[("name", "metrics")]), Some(0.0));

    // Known traffic: 3 creates, 2 reads of a missing object.
    for i in 0..3 {
        let cm = serde_json::from_value(json!({"metadata": {"name": format!("cm{i}")}})).unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
    }
    for _ in 0..2 {
        assert!(api.get_opt("missing").await.unwrap().is_none());
    }
    let watched =
        watcher_metrics.instrument("configmaps", watcher::watcher(api.clone(), watcher::Config::default()));
    tokio::spawn(reflector::reflector(writer, watched).for_each(|_| async {}));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let election = tokio::spawn(elector.run(async {
        let _ = stopped.await;
    }));
    store.wait_until_ready().await.unwrap();
    assert!(wait_until(Duration::from_secs(10), || leadership.is_leader()).await.is_some());

    let (status, _, _) = get(addr, "/readyz", None).await;
    assert_eq!(status, 200, "ready once the store synced");
    let after = scrape(addr).await;
    let host = env.server_url().trim_start_matches("https://").to_string();
    let requests = |code: &str, method: &str| {
        after.value("rest_client_requests_total", &[("code", code), ("method", method), ("host", &host)])
    };
    assert_eq!(requests("201", "POST"), Some(4.0), "three ConfigMaps and the Lease created");
    assert!(requests("404", "GET").unwrap() >= 2.0, "two misses (the elector's first read may be one too)");
    assert!(requests("200", "GET").unwrap() >= 1.0, "the watcher's list");
    let latency_count = after
        .samples
        .iter()
        .filter(|(n, l, _)| n == "rest_client_request_duration_seconds_count" && l["verb"] == "POST")
        .map(|s| s.2)
        .sum::<f64>();
    assert_eq!(latency_count, 4.0, "every POST timed");
    assert_eq!(after.value("leader_election_master_status", &[("name", "metrics")]), Some(1.0));
    assert_eq!(after.value("kube_watcher_relists_total", &[("watcher", "configmaps")]), Some(0.0));
    assert_eq!(after.value("kube_watcher_restarts_total", &[("watcher", "configmaps")]), Some(0.0));

    stop.send(()).unwrap();
    election.await.unwrap().unwrap();
    let released = scrape(addr).await;
    assert_eq!(released.value("leader_election_master_status", &[("name", "metrics")]), Some(0.0));
}

#[derive(Debug, thiserror::Error)]
#[error("injected failure")]
struct Injected;

/// What the reconciler saw: every reconcile, and the failures it injected.
#[derive(Default)]
struct Tally {
    reconciles: AtomicU64,
    errors: AtomicU64,
    failed_once: Mutex<HashSet<String>>,
}

async fn reconcile(cm: Arc<ConfigMap>, tally: Arc<Tally>) -> Result<Action, Injected> {
    tally.reconciles.fetch_add(1, Ordering::SeqCst);
    let name = cm.metadata.name.clone().unwrap_or_default();
    // Objects labelled fail=N fail their first N reconciles.
    let failures: usize =
        cm.metadata.labels.as_ref().and_then(|l| l.get("fail")).map_or(0, |v| v.parse().unwrap());
    let mut seen = tally.failed_once.lock().unwrap();
    let so_far = seen.iter().filter(|k| k.starts_with(&format!("{name}#"))).count();
    if so_far < failures {
        seen.insert(format!("{name}#{so_far}"));
        tally.errors.fetch_add(1, Ordering::SeqCst);
        return Err(Injected);
    }
    Ok(Action::await_change())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_reconciles_and_injected_errors_are_counted_on_metrics() {
    let env = shared();
    let ns = env.create_unique_namespace("ctl-metrics").unwrap();
    let client = client_of(env);
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    // 6 objects; 2 of them fail once, 1 fails three times: 5 injected errors.
    for (name, fail) in [("a", 0), ("b", 0), ("c", 0), ("d", 1), ("e", 1), ("f", 3)] {
        let cm =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": {"fail": fail.to_string()}}}))
                .unwrap();
        api.create(&PostParams::default(), &cm).await.unwrap();
    }

    let mut registry = Registry::default();
    let metrics = Metrics::register(&mut registry);
    let leader_metrics = LeaderMetrics::register(&mut registry);
    let elector = LeaderElector::new(
        Api::<Lease>::namespaced(client.clone(), &ns),
        leader::Config::new("ctl").timing(
            Duration::from_secs(3),
            Duration::from_secs(2),
            Duration::from_millis(500),
        ),
    )
    .unwrap();
    let leadership = elector.leadership();
    leader_metrics.track("ctl", leadership.clone());
    let controller = Controller::new(api.clone(), watcher::Config::default());
    let store = controller.store();
    let bound = Server::new(Arc::new(registry))
        .ready_when_synced("configmaps", &store)
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = bound.local_addr().unwrap();
    tokio::spawn(bound.serve(std::future::pending()));

    let tally = Arc::new(Tally::default());
    let run = controller
        .concurrency(2)
        .gate(leadership.receiver())
        .observe(metrics.controller("configmaps", 2))
        .run(reconcile, |_, _, _| Action::await_change(), tally.clone());
    let outcomes = tokio::spawn(run.for_each(|_| async {}));

    // Not leading yet: the store syncs, nothing is reconciled.
    store.wait_until_ready().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(tally.reconciles.load(Ordering::SeqCst), 0, "no reconcile before leading");
    assert_eq!(get(addr, "/readyz", None).await.0, 200);

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let election = tokio::spawn(elector.run(async {
        let _ = stopped.await;
    }));
    // Every object succeeds once, then nothing more happens for a second.
    let quiet = async {
        loop {
            let before = tally.reconciles.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(1)).await;
            let after = tally.reconciles.load(Ordering::SeqCst);
            if after == before && after - tally.errors.load(Ordering::SeqCst) >= 6 {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), quiet).await.expect("reconciles settle");

    let reconciles = tally.reconciles.load(Ordering::SeqCst) as f64;
    let errors = tally.errors.load(Ordering::SeqCst) as f64;
    assert_eq!(errors, 5.0);
    let m = scrape(addr).await;
    println!("{reconciles} reconciles, {errors} injected errors");
    let total = |result: &str| {
        m.value("controller_runtime_reconcile_total", &[("controller", "configmaps"), ("result", result)])
            .unwrap()
    };
    let ctl = [("controller", "configmaps")];
    let queue = [("name", "configmaps"), ("controller", "configmaps")];
    assert_eq!(total("success") + total("error") + total("requeue_after") + total("panic"), reconciles);
    assert_eq!(total("error"), errors, "errors counted as injected");
    assert_eq!(total("success"), reconciles - errors);
    assert_eq!(m.value("controller_runtime_reconcile_errors_total", &ctl), Some(errors));
    assert_eq!(m.value("controller_runtime_reconcile_time_seconds_count", &ctl), Some(reconciles));
    assert_eq!(m.value("controller_runtime_max_concurrent_reconciles", &ctl), Some(2.0));
    assert_eq!(m.value("controller_runtime_active_workers", &ctl), Some(0.0));
    assert_eq!(m.value("workqueue_depth", &queue), Some(0.0));
    assert_eq!(m.value("workqueue_retries_total", &queue), Some(errors), "every failure retried");
    assert_eq!(m.value("workqueue_work_duration_seconds_count", &queue), Some(reconciles));
    assert_eq!(m.value("workqueue_queue_duration_seconds_count", &queue), Some(reconciles));
    assert!(m.value("workqueue_adds_total", &queue).unwrap() >= 6.0);
    assert_eq!(m.value("workqueue_unfinished_work_seconds", &queue), Some(0.0));
    assert_eq!(m.value("leader_election_master_status", &[("name", "ctl")]), Some(1.0));

    // Leadership given up: changes are no longer reconciled.
    stop.send(()).unwrap();
    election.await.unwrap().unwrap();
    assert!(!leadership.is_leader());
    let patch = json!({"data": {"changed": "yes"}});
    api.patch("a", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        tally.reconciles.load(Ordering::SeqCst) as f64,
        reconciles,
        "no reconcile after stepping down"
    );
    let m = scrape(addr).await;
    assert_eq!(m.value("leader_election_master_status", &[("name", "ctl")]), Some(0.0));
    outcomes.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_restarts_and_relists_are_counted() {
    // A control plane of its own: this test stops, compacts and restarts it.
    let env = kube_test::TestEnv::start().unwrap();
    let api: Api<ConfigMap> = Api::namespaced(client_of(&env), "default");
    let mut registry = Registry::default();
    let metrics = WatcherMetrics::register(&mut registry);
    let backoff = watcher::Backoff { jitter: 0.0, ..watcher::Backoff::default() };
    let config = watcher::Config::default().labels("app=watched").backoff(backoff);
    let mut stream = Box::pin(metrics.instrument("cms", watcher::watcher(api.clone(), config)));
    let counts = |registry: &Registry| {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
        let e = exposition::parse(&text, true).unwrap();
        let value = |name: &str| e.value(name, &[("watcher", "cms")]).unwrap();
        (value("kube_watcher_restarts_total"), value("kube_watcher_relists_total"))
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        while !matches!(stream.next().await, Some(Ok(watcher::Event::InitDone))) {}
    })
    .await
    .unwrap();
    assert_eq!(counts(&registry), (0.0, 0.0));

    // The watch goes down: an error, counted as a restart. Not polled meanwhile, the watcher
    // then resumes from a compacted version: 410, and a relist.
    env.stop_apiserver().unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        while !matches!(stream.next().await, Some(Err(_))) {}
    })
    .await
    .unwrap();
    env.start_apiserver().unwrap();
    let cm =
        serde_json::from_value(json!({"metadata": {"name": "w", "labels": {"app": "watched"}}})).unwrap();
    Api::<ConfigMap>::namespaced(client_of(&env), "default")
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
    env.compact_etcd().unwrap();
    env.restart_apiserver().unwrap();
    let mut relisted = false;
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(item) = stream.next().await {
            if matches!(item, Ok(watcher::Event::Init)) {
                relisted = true;
            }
            if relisted && matches!(item, Ok(watcher::Event::InitDone)) {
                break;
            }
        }
    })
    .await
    .expect("a relist after 410");
    let (restarts, relists) = counts(&registry);
    assert!(restarts >= 2.0, "the lost watch and the 410 are restarts: {restarts}");
    assert_eq!(relists, 1.0);
}

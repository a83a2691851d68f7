//! Leader election against a real kube-apiserver: three candidates on one Lease, sampled every
//! 50 ms for 60 s while leaders are killed (task dropped, no release), frozen (requests stalled)
//! and shut down gracefully. Never two leaders at a sampled instant; handovers within their bounds.
//! A release that meets a conflict reads the Lease again and still gives it up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use k8s_openapi::api::coordination::v1::Lease;
use kube_client::{Api, Client, client::HttpService};
use kube_runtime::leader::{Config, Error, LeaderElector, Leadership};
use tokio::{sync::oneshot, task::JoinHandle, time::Instant};
use tower::ServiceExt;

use common::{client_of, kubectl, shared, wait_until};

const LEASE: Duration = Duration::from_secs(3);
const RENEW: Duration = Duration::from_secs(2);
const RETRY: Duration = Duration::from_millis(500);
/// Room for the requests themselves (a GET and a PUT on a loaded machine) on top of the
/// protocol's bounds.
const SLACK: Duration = Duration::from_millis(500);

/// A client whose requests stall while `frozen` is set, as if the network to the API were cut.
fn freezable(client: Client, frozen: Arc<AtomicBool>) -> Client {
    client.with_layer(&tower::layer::layer_fn(move |inner: HttpService| {
        let frozen = frozen.clone();
        tower::service_fn(move |req: http::Request<Bytes>| {
            let (inner, frozen) = (inner.clone(), frozen.clone());
            async move {
                while frozen.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                inner.oneshot(req).await
            }
        })
    }))
}

struct Candidate {
    id: String,
    leadership: Leadership,
    /// Set while the candidate's work, run with `Leadership::lead`, is running.
    working: Arc<AtomicBool>,
    frozen: Arc<AtomicBool>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), Error>>,
}

fn candidate(client: &Client, ns: &str, id: &str) -> Candidate {
    let frozen = Arc::new(AtomicBool::new(false));
    let api: Api<Lease> = Api::namespaced(freezable(client.clone(), frozen.clone()), ns);
    let config = Config::new("election").identity(id).timing(LEASE, RENEW, RETRY);
    let elector = LeaderElector::new(api, config).unwrap();
    let leadership = elector.leadership();
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(elector.run(async {
        let _ = stopped.await;
    }));
    let working = Arc::new(AtomicBool::new(false));
    tokio::spawn({
        let (leadership, working) = (leadership.clone(), working.clone());
        async move {
            // The work never ends by itself: only losing leadership stops it.
            while leadership.acquired().await {
                leadership.lead(Working::run(working.clone())).await;
            }
        }
    });
    Candidate { id: id.to_string(), leadership, working, frozen, stop: Some(stop), task }
}

/// Work that flags itself while it runs, and unflags when dropped.
struct Working(Arc<AtomicBool>);

impl Working {
    async fn run(flag: Arc<AtomicBool>) {
        assert!(!flag.swap(true, Ordering::SeqCst));
        let _working = Working(flag);
        std::future::pending::<()>().await;
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

type Live = Arc<Mutex<Vec<(String, Leadership, Arc<AtomicBool>)>>>;

fn leaders(live: &Live) -> Vec<String> {
    live.lock().unwrap().iter().filter(|(_, l, _)| l.is_leader()).map(|(id, ..)| id.clone()).collect()
}

fn working(live: &Live) -> Vec<String> {
    live.lock()
        .unwrap()
        .iter()
        .filter(|(.., w)| w.load(Ordering::SeqCst))
        .map(|(id, ..)| id.clone())
        .collect()
}

fn entry(c: &Candidate) -> (String, Leadership, Arc<AtomicBool>) {
    (c.id.clone(), c.leadership.clone(), c.working.clone())
}

/// The one leader, once there is exactly one other than `not`.
async fn new_leader(live: &Live, not: &str, within: Duration) -> Option<(String, Instant)> {
    let mut found = None;
    let at = wait_until(within, || match leaders(live).as_slice() {
        [one] if one != not => {
            found = Some(one.clone());
            true
        }
        _ => false,
    })
    .await?;
    found.map(|id| (id, at))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_leader_through_kills_freezes_and_releases() {
    let env = shared();
    let ns = env.create_unique_namespace("leader").unwrap();
    let client = client_of(env);
    let mut candidates: Vec<Candidate> =
        ["a", "b", "c"].iter().map(|id| candidate(&client, &ns, id)).collect();
    let live: Live = Arc::new(Mutex::new(candidates.iter().map(entry).collect()));

    // Every 50 ms for 60 s: how many candidates consider themselves leader, and how many run
    // the leader's work.
    let sampler = tokio::spawn({
        let live = live.clone();
        async move {
            let (mut samples, mut overlaps) = (0u32, Vec::new());
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            let end = Instant::now() + Duration::from_secs(60);
            while Instant::now() < end {
                tick.tick().await;
                let (now, work) = (leaders(&live), working(&live));
                samples += 1;
                if now.len() > 1 || work.len() > 1 {
                    overlaps.push((now, work));
                }
            }
            (samples, overlaps)
        }
    });

    let (mut leader, _) = new_leader(&live, "", LEASE * 2).await.expect("a first leader");
    let started = Instant::now();
    let (mut kills, mut freezes, mut releases) = (Vec::new(), Vec::new(), Vec::new());
    let mut generation = 0;
    while started.elapsed() < Duration::from_secs(45) {
        generation += 1;
        // Kill the leader: its task is dropped, the lease is not released.
        let i = candidates.iter().position(|c| c.id == leader).unwrap();
        let killed = candidates.remove(i);
        killed.task.abort();
        let at = Instant::now();
        let (next, took) = new_leader(&live, &leader, LEASE * 3).await.expect("a leader after a kill");
        kills.push(took - at);
        assert!(!killed.working.load(Ordering::SeqCst), "a killed candidate's work is cancelled");
        live.lock().unwrap().retain(|(id, ..)| *id != killed.id);
        let replacement = candidate(&client, &ns, &format!("{}{generation}", &killed.id[..1]));
        live.lock().unwrap().push(entry(&replacement));
        candidates.push(replacement);
        leader = next;
        tokio::time::sleep(RETRY * 2).await;

        // Freeze the leader: its renewals stall. It must step down within the renew deadline,
        // before anyone else takes over.
        let frozen = candidates.iter().find(|c| c.id == leader).unwrap();
        frozen.frozen.store(true, Ordering::SeqCst);
        let at = Instant::now();
        let stepped = wait_until(RENEW + SLACK, || !frozen.leadership.is_leader()).await;
        assert!(stepped.is_some(), "a frozen leader steps down within the renew deadline");
        let stopped = wait_until(Duration::from_millis(100), || !frozen.working.load(Ordering::SeqCst)).await;
        assert!(stopped.is_some(), "the frozen leader's work is cancelled when it steps down");
        let (next, took) = new_leader(&live, &leader, LEASE * 3).await.expect("a leader after a freeze");
        freezes.push((stepped.unwrap() - at, took - at));
        frozen.frozen.store(false, Ordering::SeqCst);
        tokio::time::sleep(RETRY * 4).await;
        assert!(!frozen.leadership.is_leader(), "a thawed former leader does not take the lease back");
        leader = next;

        // Shut the leader down gracefully: it releases, the next takes over within a retry period.
        let i = candidates.iter().position(|c| c.id == leader).unwrap();
        let mut stopping = candidates.remove(i);
        let at = Instant::now();
        stopping.stop.take().unwrap().send(()).unwrap();
        let (next, took) = new_leader(&live, &leader, LEASE * 3).await.expect("a leader after a release");
        stopping.task.await.unwrap().unwrap();
        releases.push(took - at);
        live.lock().unwrap().retain(|(id, ..)| *id != stopping.id);
        let replacement = candidate(&client, &ns, &format!("{}{generation}", &stopping.id[..1]));
        live.lock().unwrap().push(entry(&replacement));
        candidates.push(replacement);
        leader = next;
        tokio::time::sleep(RETRY * 2).await;
    }

    let (samples, overlaps) = sampler.await.unwrap();
    println!(
        "samples {samples}; handover after kill {kills:?}; after freeze (step-down, handover) {freezes:?}; after release {releases:?}"
    );
    assert!(samples >= 1000, "sampled {samples} times");
    assert!(overlaps.is_empty(), "two leaders, or two running the leader's work, at once: {overlaps:?}");
    assert!(kills.len() >= 3, "at least three rounds in 45 s: {kills:?}");
    for took in &kills {
        assert!(*took <= LEASE + RETRY + SLACK, "handover after a kill took {took:?}");
    }
    for (stepped, took) in &freezes {
        assert!(*stepped <= RENEW + SLACK, "step-down after a freeze took {stepped:?}");
        assert!(*took <= LEASE + RETRY + SLACK, "handover after a freeze took {took:?}");
    }
    for took in &releases {
        assert!(*took <= RETRY + SLACK, "handover after a release took {took:?}");
    }

    // kubectl sees the current leader as the holder, and every handover as a transition.
    let leader = leaders(&live);
    assert_eq!(leader.len(), 1);
    assert_eq!(working(&live), leader, "the leader runs the work");
    let out = kubectl(
        env,
        vec!["get".into(), "lease".into(), "election".into(), "-n".into(), ns, "-o".into(), "json".into()],
    )
    .await;
    let lease: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], leader[0].as_str());
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 3);
    let transitions = lease["spec"]["leaseTransitions"].as_i64().unwrap();
    let handovers = (kills.len() + freezes.len() + releases.len()) as i64;
    // One per handover: a release keeps the count, the next holder increments it (as client-go).
    assert_eq!(transitions, handovers, "{lease}");
    for c in candidates {
        c.stop.unwrap().send(()).unwrap();
        c.task.await.unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_settings_are_refused_with_a_clear_error() {
    let client = client_of(shared());
    let api: Api<Lease> = Api::namespaced(client, "default");
    let config =
        Config::new("x").timing(Duration::from_secs(10), Duration::from_secs(10), Duration::from_secs(2));
    let err = LeaderElector::new(api, config).unwrap_err();
    assert!(
        err.to_string().contains("lease duration (10s) must be greater than the renew deadline (10s)"),
        "{err}"
    );
}

/// A client that, the first time it sends a release (a PUT of the Lease with an empty holder),
/// first has `bump` write to the Lease, so that the release meets a real 409 Conflict; counts
/// the releases sent.
fn conflicting_release(
    client: Client,
    bump: Api<Lease>,
    releases: Arc<std::sync::atomic::AtomicUsize>,
) -> Client {
    client.with_layer(&tower::layer::layer_fn(move |inner: HttpService| {
        let (bump, releases) = (bump.clone(), releases.clone());
        tower::service_fn(move |req: http::Request<Bytes>| {
            let (inner, bump, releases) = (inner.clone(), bump.clone(), releases.clone());
            async move {
                let body: Option<serde_json::Value> = serde_json::from_slice(req.body()).ok();
                let holder =
                    body.as_ref().and_then(|b| b.pointer("/spec/holderIdentity")).and_then(|h| h.as_str());
                if req.method() == http::Method::PUT && holder == Some("") {
                    let n = releases.fetch_add(1, Ordering::SeqCst);
                    if n == 0 {
                        let name =
                            body.as_ref().and_then(|b| b.pointer("/metadata/name")).and_then(|n| n.as_str());
                        let patch = serde_json::json!({"metadata": {"annotations": {"test/bumped": "yes"}}});
                        let params = kube_client::api::PatchParams::default();
                        bump.patch(name.unwrap(), &params, &kube_client::api::Patch::Merge(&patch))
                            .await
                            .unwrap();
                    }
                }
                inner.oneshot(req).await
            }
        })
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_meets_a_conflict_reads_the_lease_again_and_gives_it_up() {
    let env = shared();
    let ns = tokio::task::spawn_blocking(|| env.create_unique_namespace("release")).await.unwrap().unwrap();
    let admin: Api<Lease> = Api::namespaced(client_of(env), &ns);
    let releases = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let api: Api<Lease> =
        Api::namespaced(conflicting_release(client_of(env), admin.clone(), releases.clone()), &ns);
    let config = Config::new("release").identity("only").timing(LEASE, RENEW, RETRY);
    let elector = LeaderElector::new(api, config).unwrap();
    let leadership = elector.leadership();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(elector.run(async {
        let _ = stopped.await;
    }));
    assert!(tokio::time::timeout(Duration::from_secs(30), leadership.acquired()).await.unwrap());

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), task).await.unwrap().unwrap().unwrap();
    assert_eq!(releases.load(Ordering::SeqCst), 2, "the release conflicted once, then went through");
    let lease = admin.get("release").await.unwrap();
    let spec = lease.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some(""), "released, not left to expire");
    assert_eq!(lease.metadata.annotations.unwrap()["test/bumped"], "yes", "the conflicting write is kept");
}

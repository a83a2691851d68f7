//! Sharding against a real kube-apiserver: three replicas (each with its own client) split 300
//! custom resources; a per-object in-flight marker shows no two replicas ever reconcile one
//! object at once while a fourth replica joins and then one is killed (its Lease left to
//! expire), each object being reconciled almost all the time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use futures::StreamExt;
use k8s_openapi::{
    NamespaceResourceScope, api::coordination::v1::Lease, apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube_client::{
    Api, Client,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use kube_core::{ResourceExt, selector::ShardField};
use kube_runtime::{
    Store,
    controller::{Action, Controller},
    metrics::ShardMetrics,
    shard::{self, Assigner, Shard, Slots},
    watcher::{self, watcher},
};
use prometheus_client::registry::Registry;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::{task::JoinHandle, time::Instant};

use common::{client_of, shared};

const OBJECTS: usize = 300;
const LEASE: Duration = Duration::from_secs(3);
const RENEW: Duration = Duration::from_secs(2);
const RETRY: Duration = Duration::from_millis(500);
const GROUP: &str = "shardees";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Shardee {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    metadata: ObjectMeta,
    #[serde(default)]
    spec: Spec,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Spec {
    #[serde(default)]
    round: u64,
}

impl k8s_openapi::Resource for Shardee {
    const API_VERSION: &'static str = "shard.kube-test.example.com/v1";
    const GROUP: &'static str = "shard.kube-test.example.com";
    const KIND: &'static str = "Shardee";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "shardees";
    type Scope = NamespaceResourceScope;
}

impl k8s_openapi::Metadata for Shardee {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: shardees.shard.kube-test.example.com
spec:
  group: shard.kube-test.example.com
  names: {kind: Shardee, plural: shardees, singular: shardee, listKind: ShardeeList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

/// What every replica's reconciles record, shared by the test.
#[derive(Default)]
struct Record {
    /// Object name → the replica reconciling it right now.
    in_flight: Mutex<HashMap<String, String>>,
    /// Set when a reconcile started while another replica's was running.
    overlaps: Mutex<Vec<String>>,
    /// Object name → the highest `spec.round` reconciled, and by whom.
    seen: Mutex<HashMap<String, (u64, String)>>,
    reconciles: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

struct Ctx {
    replica: String,
    record: Arc<Record>,
    /// How long each reconcile takes: longer than a move would take without the handshake.
    busy: Duration,
}

/// Marks an object in flight at a replica until dropped (also when a killed replica's tasks
/// drop their reconciles).
struct InFlight(Arc<Record>, String);

impl InFlight {
    fn enter(ctx: &Ctx, name: &str) -> Self {
        let mut in_flight = ctx.record.in_flight.lock().unwrap();
        if let Some(other) = in_flight.insert(name.to_string(), ctx.replica.clone()) {
            ctx.record.overlaps.lock().unwrap().push(format!("{name}: {} while {other}", ctx.replica));
        }
        InFlight(ctx.record.clone(), name.to_string())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.lock().unwrap().remove(&self.1);
    }
}

async fn reconcile(obj: Arc<Shardee>, ctx: Arc<Ctx>) -> Result<Action, Never> {
    let name = obj.name_any();
    let _in_flight = InFlight::enter(&ctx, &name);
    // Every object is almost always in flight at its owner (long reconciles, requeued at once):
    // a move that did not wait for the running reconcile would show as an overlap.
    tokio::time::sleep(ctx.busy).await;
    {
        let mut seen = ctx.record.seen.lock().unwrap();
        let e = seen.entry(name.clone()).or_insert((0, String::new()));
        if obj.spec.round >= e.0 {
            *e = (obj.spec.round, ctx.replica.clone());
        }
    }
    ctx.record.reconciles.fetch_add(1, Ordering::Relaxed);
    Ok(Action::requeue(Duration::from_millis(20)))
}

/// How the replicas split the objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// An elected assigner labels the objects.
    Labels,
    /// The apiserver's shard selectors on slots claimed in the members' Leases.
    Server,
}

/// One replica: membership, assigner candidacy (with labels) and controller, each its own task.
struct Replica {
    id: String,
    shard: Shard,
    store: Store<Shardee>,
    tasks: Vec<JoinHandle<()>>,
}

impl Replica {
    fn start(
        client: Client,
        ns: &str,
        id: &str,
        record: Arc<Record>,
        metrics: &ShardMetrics,
        mode: Mode,
    ) -> Replica {
        let mut config = shard::Config::new(GROUP).identity(id).timing(LEASE, RENEW, RETRY);
        if mode == Mode::Server {
            config = config.server_side(ShardField::Uid);
        }
        let shard = Shard::new(Api::<Lease>::namespaced(client.clone(), ns), config).unwrap();
        shard.observe(Arc::new(metrics.clone()));
        let objects: Api<Shardee> = Api::namespaced(client, ns);
        let mut tasks = vec![tokio::spawn({
            let shard = shard.clone();
            async move { shard.run(std::future::pending()).await.unwrap() }
        })];
        if mode == Mode::Labels {
            tasks.push(tokio::spawn({
                let a = Assigner::new(objects.clone(), &shard);
                async move { a.run(std::future::pending()).await.unwrap() }
            }));
        }
        let (store, writer) = kube_runtime::reflector::store::<Shardee>();
        let events = kube_runtime::reflector(writer, shard.watcher(objects, watcher::Config::default()));
        let controller = Controller::for_stream(store.clone(), events).shard(&shard).concurrency(0);
        metrics.track_owned(&shard, id, &store);
        // A label move takes a few writes (tens of ms); a slot move a claim round, a read and a
        // relist (about a retry period).
        let busy = match mode {
            Mode::Labels => Duration::from_millis(100),
            Mode::Server => RETRY * 3,
        };
        let ctx = Arc::new(Ctx { replica: id.to_string(), record, busy });
        tasks.push(tokio::spawn(
            controller.run(reconcile, |_, _: &Never, _| Action::await_change(), ctx).for_each(|_| async {}),
        ));
        Replica { id: id.to_string(), shard, store, tasks }
    }

    /// A crash: every task dropped at once, nothing released.
    fn kill(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

fn scrape(registry: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry).unwrap();
    out
}

/// The value of the sample `name{labels}` in `scraped` (0 when absent).
fn metric(scraped: &str, sample: &str) -> f64 {
    scraped.lines().find_map(|l| l.strip_prefix(sample).and_then(|v| v.trim().parse().ok())).unwrap_or(0.0)
}

/// Object name → its owner: the owner label, or (server-side) the one replica whose active
/// slots hold the object's (empty when none or several do).
async fn owners(api: &Api<Shardee>, replicas: &[Replica], mode: Mode) -> BTreeMap<String, String> {
    let label = shard::Config::new(GROUP).owner_label();
    let active: Vec<(&str, Slots)> =
        replicas.iter().map(|r| (r.id.as_str(), *r.shard.slots().borrow())).collect();
    let list = api.list(&ListParams::default()).await.unwrap();
    list.items
        .into_iter()
        .map(|o| {
            let owner = match mode {
                Mode::Labels => o.labels().get(&label).cloned().unwrap_or_default(),
                Mode::Server => {
                    let slot = Slots::slot_of(&o.uid().unwrap());
                    let mut holders = active.iter().filter(|(_, s)| s.contains(slot));
                    match (holders.next(), holders.next()) {
                        (Some((id, _)), None) => id.to_string(),
                        _ => String::new(),
                    }
                }
            };
            (o.name_any(), owner)
        })
        .collect()
}

/// Waits until every object is owned by one of `live` (with labels: the one its key hashes to),
/// each live replica owns some, and each one's store holds exactly its objects; returns the
/// owners.
async fn settled(
    api: &Api<Shardee>,
    replicas: &[Replica],
    mode: Mode,
    within: Duration,
) -> BTreeMap<String, String> {
    let live: BTreeSet<&str> = replicas.iter().map(|r| r.id.as_str()).collect();
    let end = Instant::now() + within;
    loop {
        let owners = owners(api, replicas, mode).await;
        let labelled = owners.len() == OBJECTS && owners.values().all(|o| live.contains(o.as_str()));
        // With labels, every move is done: each object is where the hash of its key puts it
        // (a replica that owns only some of its share yet would pass the other checks).
        let ring = shard::Ring::new(live.iter().copied());
        let ns = api.namespace().unwrap_or_default();
        let hashed = mode == Mode::Server
            || owners.iter().all(|(name, o)| ring.owner(&format!("{ns}/{name}")) == Some(o.as_str()));
        // Every replica has joined (owns some) and caches exactly what it owns.
        let stores_match = replicas.iter().all(|r| {
            let mine = owners.values().filter(|o| **o == r.id).count();
            mine > 0 && r.store.len() == mine
        });
        if labelled && hashed && stores_match {
            return owners;
        }
        assert!(
            Instant::now() < end,
            "not settled within {within:?}: live {live:?}, owners {:?}",
            count(&owners)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count(owners: &BTreeMap<String, String>) -> BTreeMap<&str, usize> {
    let mut c = BTreeMap::new();
    for o in owners.values() {
        *c.entry(o.as_str()).or_insert(0) += 1;
    }
    c
}

/// How many of the objects `id` should own among `members`: a fair share with labels (keys hash
/// evenly), the share of the 64 slots it owns with server-side selectors.
fn expected_share(mode: Mode, members: &[&str], id: &str) -> f64 {
    match mode {
        Mode::Labels => OBJECTS as f64 / members.len() as f64,
        Mode::Server => {
            let slots = Slots::owned_by(&shard::Ring::new(members.iter().copied()), id).len();
            OBJECTS as f64 * f64::from(slots) / f64::from(shard::SLOTS)
        }
    }
}

/// Whether `n` objects are about `expected` (random uids and names spread by chance: within
/// 40, about four standard deviations).
fn near(n: usize, expected: f64) -> bool {
    (n as f64 - expected).abs() <= 40.0
}

/// Sets `spec.round` on every object, and waits until each has been reconciled at that round
/// by the replica that owns it.
async fn every_object_reconciled_at(
    api: &Api<Shardee>,
    replicas: &[Replica],
    mode: Mode,
    record: &Record,
    round: u64,
) {
    let names: Vec<String> = owners(api, replicas, mode).await.into_keys().collect();
    futures::stream::iter(names)
        .for_each_concurrent(16, |name| async move {
            let patch = Patch::Merge(json!({"spec": {"round": round}}));
            api.patch(&name, &PatchParams::default(), &patch).await.unwrap();
        })
        .await;
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let owners = owners(api, replicas, mode).await;
        let behind: Vec<&String> = {
            let seen = record.seen.lock().unwrap();
            owners
                .iter()
                .filter(|(name, owner)| seen.get(*name).is_none_or(|(r, by)| *r < round || by != *owner))
                .map(|(name, _)| name)
                .collect::<Vec<_>>()
        };
        if behind.is_empty() {
            return;
        }
        assert!(
            Instant::now() < end,
            "{} objects not reconciled at round {round} by their owner",
            behind.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_split_the_objects_and_move_them_without_overlap() {
    split_and_move(shared(), Mode::Labels).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_split_the_objects_through_server_side_shard_selectors() {
    split_and_move(gated().await, Mode::Server).await;
}

/// A control plane with the `ShardedListAndWatch` gate, shared by this binary's tests.
async fn gated() -> &'static kube_test::TestEnv {
    let gates = "ShardedListAndWatch=true";
    tokio::task::spawn_blocking(|| kube_test::TestEnv::shared_with_feature_gates(gates))
        .await
        .unwrap()
        .unwrap()
}

/// Three replicas split 300 objects, a fourth joins, one crashes: every object is reconciled,
/// by one replica at a time, each caching its share.
async fn split_and_move(env: &'static kube_test::TestEnv, mode: Mode) {
    tokio::task::spawn_blocking(|| env.install_crd(CRD)).await.unwrap().unwrap();
    let ns = tokio::task::spawn_blocking(|| env.create_unique_namespace("shard")).await.unwrap().unwrap();
    let admin = client_of(env);
    let api: Api<Shardee> = Api::namespaced(admin.clone(), &ns);
    futures::stream::iter(0..OBJECTS)
        .for_each_concurrent(16, |i| {
            let api = api.clone();
            async move {
                let obj = Shardee {
                    api_version: "shard.kube-test.example.com/v1".into(),
                    kind: "Shardee".into(),
                    metadata: ObjectMeta { name: Some(format!("obj-{i:03}")), ..ObjectMeta::default() },
                    spec: Spec::default(),
                };
                api.create(&PostParams::default(), &obj).await.unwrap();
            }
        })
        .await;

    let record = Arc::new(Record::default());
    // One registry for all replicas of this process: their moves add up.
    let mut registry = Registry::default();
    let metrics = ShardMetrics::register(&mut registry);
    let mut replicas: Vec<Replica> = ["r0", "r1", "r2"]
        .iter()
        .map(|id| Replica::start(client_of(env), &ns, id, record.clone(), &metrics, mode))
        .collect();
    if mode == Mode::Server {
        assert!(
            replicas[0].shard.server_side_supported().await.unwrap(),
            "the gated apiserver serves shard selectors"
        );
    }

    // Steady churn on a few objects all along, so that moves meet reconciles.
    let churning = Arc::new(AtomicBool::new(true));
    let churn = tokio::spawn({
        let (api, churning) = (api.clone(), churning.clone());
        async move {
            let mut i = 0u64;
            while churning.load(Ordering::Relaxed) {
                let name = format!("obj-{:03}", (i * 37) % OBJECTS as u64);
                let patch = Patch::Merge(json!({"metadata": {"annotations": {"churn": i.to_string()}}}));
                let _ = api.patch(&name, &PatchParams::default(), &patch).await;
                i += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });

    // Three replicas: each owns and caches about a third.
    let three = settled(&api, &replicas, mode, Duration::from_secs(60)).await;
    for (id, n) in count(&three) {
        assert!(
            near(n, expected_share(mode, &["r0", "r1", "r2"], id)),
            "{id} owns {n} of {OBJECTS} with three replicas: {:?}",
            count(&three)
        );
    }
    every_object_reconciled_at(&api, &replicas, mode, &record, 1).await;

    // Scale up: a fourth replica takes about a quarter, from each of the others.
    replicas.push(Replica::start(client_of(env), &ns, "r3", record.clone(), &metrics, mode));
    let four = settled(&api, &replicas, mode, Duration::from_secs(60)).await;
    let moved: Vec<&String> = four.iter().filter(|(n, o)| three[*n] != **o).map(|(n, _)| n).collect();
    assert!(moved.iter().all(|n| four[*n] == "r3"), "objects moved between old replicas");
    assert!(
        near(moved.len(), expected_share(mode, &["r0", "r1", "r2", "r3"], "r3")),
        "{} of {OBJECTS} moved to the fourth replica",
        moved.len()
    );
    every_object_reconciled_at(&api, &replicas, mode, &record, 2).await;
    let scraped = scrape(&registry);
    let r3_owned = four.values().filter(|o| *o == "r3").count();
    assert_eq!(
        metric(&scraped, "kube_shard_owned_objects{group=\"shardees\",controller=\"r3\"}"),
        r3_owned as f64
    );
    if mode == Mode::Server {
        let r3_slots = replicas[3].shard.slots().borrow().len();
        assert!(
            metric(&scraped, "kube_shard_slot_moves_total{group=\"shardees\",step=\"give_up\"}")
                >= f64::from(r3_slots),
            "{scraped}"
        );
        assert!(
            metric(&scraped, "kube_shard_slot_moves_total{group=\"shardees\",step=\"take_over\"}")
                >= f64::from(64 + r3_slots)
        );
    } else {
        assert!(
            metric(&scraped, "kube_shard_let_go_total{group=\"shardees\"}") >= moved.len() as f64,
            "{scraped}"
        );
        assert!(
            metric(
                &scraped,
                "kube_shard_assignments_total{group=\"shardees\",kind=\"Shardee\",step=\"drain\"}"
            ) >= moved.len() as f64
        );
        assert!(
            metric(&scraped, "kube_shard_drain_duration_seconds_count{group=\"shardees\"}")
                >= moved.len() as f64
        );
    }

    // A crash: r1's objects go to the others once its Lease expires, and only r1's move.
    let killed = replicas.remove(1);
    let killed_id = killed.id.clone();
    let crashed_at = Instant::now();
    killed.kill();
    let after = settled(&api, &replicas, mode, Duration::from_secs(60)).await;
    let took = crashed_at.elapsed();
    // The bound: the lease duration plus one retry period, and room for the writes on a
    // loaded machine.
    assert!(
        took <= LEASE + RETRY + Duration::from_secs(10),
        "objects of the crashed replica moved after {took:?}"
    );
    for (name, before) in &four {
        if *before != killed_id {
            assert_eq!(&after[name], before, "{name} moved although its owner lives");
        }
    }
    every_object_reconciled_at(&api, &replicas, mode, &record, 3).await;

    churning.store(false, Ordering::Relaxed);
    churn.await.unwrap();
    let overlaps = record.overlaps.lock().unwrap().clone();
    assert!(overlaps.is_empty(), "objects reconciled by two replicas at once: {overlaps:?}");
    eprintln!(
        "{mode:?}: {} reconciles; crash handover {took:?}; {} objects moved to the fourth replica; final split {:?}",
        record.reconciles.load(Ordering::Relaxed),
        moved.len(),
        count(&after)
    );
    for r in replicas {
        r.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_objects_are_assigned_with_their_owner() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube_core::Resource;

    let env = shared();
    tokio::task::spawn_blocking(|| shared().install_crd(CRD)).await.unwrap().unwrap();
    let ns = tokio::task::spawn_blocking(|| shared().create_unique_namespace("shard-owned"))
        .await
        .unwrap()
        .unwrap();
    let admin = client_of(env);
    let api: Api<Shardee> = Api::namespaced(admin.clone(), &ns);
    let cms: Api<ConfigMap> = Api::namespaced(admin.clone(), &ns);
    for i in 0..20 {
        let obj = Shardee {
            api_version: "shard.kube-test.example.com/v1".into(),
            kind: "Shardee".into(),
            metadata: ObjectMeta { name: Some(format!("owner-{i:02}")), ..ObjectMeta::default() },
            spec: Spec::default(),
        };
        let obj = api.create(&PostParams::default(), &obj).await.unwrap();
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": format!("owned-{i:02}"), "ownerReferences": [obj.controller_owner_ref(&()).unwrap()]},
        }))
        .unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }

    let mut stores = Vec::new();
    let mut tasks = Vec::new();
    for id in ["a", "b"] {
        let client = client_of(env);
        let config = shard::Config::new(GROUP).identity(id).timing(LEASE, RENEW, RETRY);
        let shard = Shard::new(Api::<Lease>::namespaced(client.clone(), &ns), config).unwrap();
        let (owners, owned): (Api<Shardee>, Api<ConfigMap>) =
            (Api::namespaced(client.clone(), &ns), Api::namespaced(client.clone(), &ns));
        tasks.push(tokio::spawn(shard.clone().run(std::future::pending())));
        // No controller runs here to let go of moved owners: both kinds move without a drain.
        tasks.push(tokio::spawn(Assigner::cached(owners, &shard).run(std::future::pending())));
        tasks.push(tokio::spawn(Assigner::cached(owned.clone(), &shard).run(std::future::pending())));
        // What a sharded controller's `owns` input caches.
        let (store, writer) = kube_runtime::reflector::store::<ConfigMap>();
        let watch =
            kube_runtime::reflector(writer, watcher(owned, shard.watcher_config(watcher::Config::default())));
        tasks.push(tokio::spawn(async move {
            watch.for_each(|_| async {}).await;
            Ok(())
        }));
        stores.push((id, store));
    }

    let label = shard::Config::new(GROUP).owner_label();
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let owners: BTreeMap<String, String> = api
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .iter()
            .map(|o| {
                (o.name_any().replace("owner-", ""), o.labels().get(&label).cloned().unwrap_or_default())
            })
            .collect();
        let owned: BTreeMap<String, String> = cms
            .list(&ListParams::default().labels(&label))
            .await
            .unwrap()
            .items
            .iter()
            .map(|c| {
                (c.name_any().replace("owned-", ""), c.labels().get(&label).cloned().unwrap_or_default())
            })
            .collect();
        let cached_ok = stores.iter().all(|(id, s)| s.len() == owned.values().filter(|o| *o == id).count());
        let both_used = ["a", "b"].iter().all(|id| owners.values().any(|o| o == id));
        if owned.len() == 20 && owners == owned && cached_ok && both_used {
            break;
        }
        assert!(
            Instant::now() < end,
            "owned ConfigMaps not with their owners: owners {owners:?}, owned {owned:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for t in tasks {
        t.abort();
    }
}

/// With the apiserver's `ShardedListAndWatch` gate on, watchers with the shards of a split see
/// disjoint shares whose union is everything, each object where its uid's hash says; without the
/// gate the selector is ignored (every watcher sees everything).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_shard_selectors_split_a_watch() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube_core::selector::ShardSelector;

    let env = gated().await;
    let client = client_of(env);
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for i in 0..40 {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("cm-{i:02}")}})).unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    // kube-root-ca.crt may or may not be there: count what the list says.
    let total = cms.list(&ListParams::default()).await.unwrap().items.len();

    const SHARDS: u64 = 3;
    let mut stores = Vec::new();
    for i in 0..SHARDS {
        let selector = ShardSelector::split(ShardField::Uid, i, SHARDS).unwrap();
        let (store, writer) = kube_runtime::reflector::store::<ConfigMap>();
        let config = watcher::Config::default().shard(&selector);
        tokio::spawn(kube_runtime::reflector(writer, watcher(cms.clone(), config)).for_each(|_| async {}));
        stores.push((selector, store));
    }
    // Objects created after the watches started land in their shard too.
    for i in 40..60 {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("cm-{i:02}")}})).unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let sizes: Vec<usize> = stores.iter().map(|(_, s)| s.len()).collect();
        if sizes.iter().sum::<usize>() == total + 20 {
            break;
        }
        assert!(Instant::now() < end, "shard stores hold {sizes:?}, {} objects in all", total + 20);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (selector, store) in &stores {
        assert!(!store.is_empty(), "an empty shard of {SHARDS} over {} objects", total + 20);
        for cm in store.state() {
            assert!(selector.matches_value(&cm.uid().unwrap()), "{} in the wrong shard", cm.name_any());
        }
    }

    // Without the gate (the shared control plane), the selector is ignored.
    let ns = tokio::task::spawn_blocking(|| shared().create_unique_namespace("shard-ignored"))
        .await
        .unwrap()
        .unwrap();
    let plain: Api<ConfigMap> = Api::namespaced(client_of(shared()), &ns);
    for i in 0..8 {
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": format!("cm-{i}")}})).unwrap();
        plain.create(&PostParams::default(), &cm).await.unwrap();
    }
    let every = plain.list(&ListParams::default()).await.unwrap().items.len();
    assert!(every >= 8);
    let half = ListParams::default().shard(&ShardSelector::split(ShardField::Uid, 0, 2).unwrap());
    assert_eq!(plain.list(&half).await.unwrap().items.len(), every);
}

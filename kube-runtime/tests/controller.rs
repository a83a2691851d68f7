//! The controller against a real kube-apiserver: owned objects kept in line, backoff, merged
//! triggers, concurrency, watch mappers, one shared watch, finalizers, panics and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{client_of, shared};
use std::{
    collections::BTreeSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::{Stream, StreamExt};
use k8s_openapi::{
    NamespaceResourceScope, api::core::v1::ConfigMap, apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube_client::{
    Api, Client,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use kube_core::{Resource, ResourceExt};
use kube_runtime::{
    controller::{self, Action, Controller, Outcome},
    finalizer::{self, finalizer},
    reflector::{self, ObjectRef},
    scheduler::ExponentialBackoff,
    watcher,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Declares a namespaced custom resource type of group `ctl.kube-test.example.com`.
macro_rules! custom_resource {
    ($ty:ident, $kind:literal, $plural:literal) => {
        #[derive(Debug, Clone, Default, Serialize, Deserialize)]
        struct $ty {
            #[serde(rename = "apiVersion", default)]
            api_version: String,
            #[serde(default)]
            kind: String,
            metadata: ObjectMeta,
            #[serde(default)]
            spec: Spec,
        }

        impl $ty {
            fn new(name: &str, spec: Spec) -> Self {
                Self {
                    api_version: "ctl.kube-test.example.com/v1".into(),
                    kind: $kind.into(),
                    metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
                    spec,
                }
            }
        }

        impl k8s_openapi::Resource for $ty {
            const API_VERSION: &'static str = "ctl.kube-test.example.com/v1";
            const GROUP: &'static str = "ctl.kube-test.example.com";
            const KIND: &'static str = $kind;
            const VERSION: &'static str = "v1";
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = NamespaceResourceScope;
        }

        impl k8s_openapi::Metadata for $ty {
            type Ty = ObjectMeta;
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Spec {
    #[serde(default)]
    value: String,
    #[serde(default, rename = "configMap")]
    config_map: String,
}

custom_resource!(Widget, "Widget", "widgets");
custom_resource!(Gadget, "Gadget", "gadgets");

fn crd(kind: &str, plural: &str) -> String {
    format!(
        r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.ctl.kube-test.example.com
spec:
  group: ctl.kube-test.example.com
  names: {{kind: {kind}, plural: {plural}, singular: {singular}, listKind: {kind}List}}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
"#,
        singular = kind.to_lowercase()
    )
}

async fn install(kind: &'static str, plural: &'static str) {
    tokio::task::spawn_blocking(move || shared().install_crd(&crd(kind, plural))).await.unwrap().unwrap();
}

/// A namespace and a client for one test.
async fn setup(prefix: &str) -> (Client, String) {
    let env = shared();
    let prefix = prefix.to_string();
    let ns = tokio::task::spawn_blocking(move || shared().create_unique_namespace(&prefix))
        .await
        .unwrap()
        .unwrap();
    (client_of(env), ns)
}

fn widget(name: &str, value: &str, config_map: &str) -> Widget {
    Widget::new(name, Spec { value: value.into(), config_map: config_map.into() })
}

fn configmap(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"value": value}})).unwrap()
}

#[derive(Debug, thiserror::Error)]
enum Failed {
    #[error("api: {0}")]
    Api(#[from] kube_client::Error),
    #[error("failed on purpose")]
    OnPurpose,
    #[error("the object has no name or uid")]
    NotStored,
}

fn no_policy<K, C>(_: Arc<K>, _: &Failed, _: Arc<C>) -> Action {
    Action::await_change()
}

/// Runs a controller's stream in the background, sending outcomes to a channel.
fn spawn<E: std::error::Error + Send + 'static>(
    run: impl Stream<Item = Outcome<E>> + Send + 'static,
) -> tokio::sync::mpsc::UnboundedReceiver<Outcome<E>> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut run = std::pin::pin!(run);
        while let Some(o) = run.next().await {
            if tx.send(o).is_err() {
                break;
            }
        }
    });
    rx
}

/// Polls `check` until it holds, for up to 30 s.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Owning {
    configmaps: Api<ConfigMap>,
}

/// Keeps `<widget>-cm` with `data.value = spec.value`, owned by the widget.
async fn keep_configmap(w: Arc<Widget>, ctx: Arc<Owning>) -> Result<Action, Failed> {
    let owner = w.controller_owner_ref(&()).ok_or(Failed::NotStored)?;
    let cm = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("{}-cm", w.name_any()), "ownerReferences": [owner]},
        "data": {"value": w.spec.value},
    });
    let pp = PatchParams::apply("widget-controller").force();
    ctx.configmaps.patch(&format!("{}-cm", w.name_any()), &pp, &Patch::Apply(cm)).await?;
    Ok(Action::await_change())
}

async fn value_of(api: &Api<ConfigMap>, name: &str) -> Option<String> {
    api.get_opt(name).await.unwrap().and_then(|c| c.data?.get("value").cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owned_configmap_is_recreated_updated_and_reverted() {
    install("Widget", "widgets").await;
    let (client, ns) = setup("ctl-owns").await;
    let widgets: Api<Widget> = Api::namespaced(client.clone(), &ns);
    let configmaps: Api<ConfigMap> = Api::namespaced(client, &ns);
    let _outcomes = spawn(
        Controller::new(widgets.clone(), watcher::Config::default())
            .owns(configmaps.clone(), watcher::Config::default())
            .run(keep_configmap, no_policy, Arc::new(Owning { configmaps: configmaps.clone() })),
    );
    widgets.create(&PostParams::default(), &widget("w1", "one", "")).await.unwrap();
    eventually("the ConfigMap", || async { value_of(&configmaps, "w1-cm").await.as_deref() == Some("one") })
        .await;

    let spec = Patch::Merge(json!({"spec": {"value": "two"}}));
    widgets.patch("w1", &PatchParams::default(), &spec).await.unwrap();
    eventually("the update", || async { value_of(&configmaps, "w1-cm").await.as_deref() == Some("two") })
        .await;

    configmaps.delete("w1-cm", &DeleteParams::default()).await.unwrap();
    eventually("the re-creation", || async {
        value_of(&configmaps, "w1-cm").await.as_deref() == Some("two")
    })
    .await;

    let by_hand = Patch::Merge(json!({"data": {"value": "tampered"}}));
    configmaps.patch("w1-cm", &PatchParams::default(), &by_hand).await.unwrap();
    eventually("the revert", || async { value_of(&configmaps, "w1-cm").await.as_deref() == Some("two") })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_reconcile_backs_off_with_growing_delays_and_a_success_resets_them() {
    let (client, ns) = setup("ctl-backoff").await;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    api.create(&PostParams::default(), &configmap("flaky", "0")).await.unwrap();
    let calls: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let reconcile = |_: Arc<ConfigMap>, calls: Arc<Mutex<Vec<Instant>>>| async move {
        let n = {
            let mut c = calls.lock().unwrap();
            c.push(Instant::now());
            c.len()
        };
        if n <= 3 || n == 5 { Err(Failed::OnPurpose) } else { Ok(Action::await_change()) }
    };
    // A slower base than the default 5 ms, so that the growth stands out from scheduling noise.
    let backoff = ExponentialBackoff { base: Duration::from_millis(100), max: Duration::from_secs(10) };
    let mut outcomes =
        spawn(Controller::new(api.clone(), watcher::Config::default()).rate_limit(backoff).run(
            reconcile,
            no_policy,
            calls.clone(),
        ));
    for expect_ok in [false, false, false, true] {
        assert_eq!(outcomes.recv().await.unwrap().is_ok(), expect_ok);
    }
    api.patch("flaky", &PatchParams::default(), &Patch::Merge(json!({"data": {"value": "1"}})))
        .await
        .unwrap();
    assert!(outcomes.recv().await.unwrap().is_err());
    assert!(outcomes.recv().await.unwrap().is_ok());
    let t = calls.lock().unwrap().clone();
    let gaps: Vec<Duration> = t.windows(2).map(|w| w[1] - w[0]).collect();
    let ms = Duration::from_millis;
    assert!(gaps[0] >= ms(100) && gaps[1] >= ms(200) && gaps[2] >= ms(400), "backoff too short: {gaps:?}");
    assert!(gaps[0] < gaps[1] && gaps[1] < gaps[2], "delays grow: {gaps:?}");
    assert!(gaps[4] >= ms(100) && gaps[4] < ms(400), "after a success the backoff starts over: {gaps:?}");
}

/// Counts reconciles in flight, per key and overall.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
    per_key: Mutex<std::collections::HashMap<String, usize>>,
    max_per_key: AtomicUsize,
    runs: AtomicUsize,
}

impl InFlight {
    async fn hold(&self, name: String, hold: Duration) {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.max.fetch_max(self.now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
        let per = {
            let mut m = self.per_key.lock().unwrap();
            let e = m.entry(name.clone()).or_default();
            *e += 1;
            *e
        };
        self.max_per_key.fetch_max(per, Ordering::SeqCst);
        tokio::time::sleep(hold).await;
        *self.per_key.lock().unwrap().entry(name).or_default() -= 1;
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_triggers_while_running_lead_to_one_more_reconcile_never_two_at_once() {
    let (client, ns) = setup("ctl-merge").await;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    api.create(&PostParams::default(), &configmap("busy", "0")).await.unwrap();
    let stats = Arc::new(InFlight::default());
    let reconcile = |cm: Arc<ConfigMap>, s: Arc<InFlight>| async move {
        s.hold(cm.name_any(), Duration::from_secs(2)).await;
        Ok::<_, Failed>(Action::await_change())
    };
    let mut outcomes = spawn(Controller::new(api.clone(), watcher::Config::default()).run(
        reconcile,
        no_policy,
        stats.clone(),
    ));
    eventually("the first reconcile to start", || async { stats.runs.load(Ordering::SeqCst) == 1 }).await;
    for v in ["1", "2"] {
        api.patch("busy", &PatchParams::default(), &Patch::Merge(json!({"data": {"value": v}})))
            .await
            .unwrap();
    }
    assert!(outcomes.recv().await.unwrap().is_ok());
    assert!(outcomes.recv().await.unwrap().is_ok());
    let more = tokio::time::timeout(Duration::from_secs(3), outcomes.recv()).await;
    assert!(more.is_err(), "exactly one more reconcile, got {more:?}");
    assert_eq!(stats.runs.load(Ordering::SeqCst), 2);
    assert_eq!(stats.max_per_key.load(Ordering::SeqCst), 1, "never two at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_keys_under_concurrency_four_never_exceed_four() {
    let (client, ns) = setup("ctl-concurrency").await;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    for i in 0..200 {
        api.create(&PostParams::default(), &configmap(&format!("cm-{i}"), "0")).await.unwrap();
    }
    let stats = Arc::new(InFlight::default());
    let reconcile = |cm: Arc<ConfigMap>, s: Arc<InFlight>| async move {
        s.hold(cm.name_any(), Duration::from_millis(10)).await;
        Ok::<_, Failed>(Action::await_change())
    };
    let mut outcomes = spawn(Controller::new(api, watcher::Config::default()).concurrency(4).run(
        reconcile,
        no_policy,
        stats.clone(),
    ));
    let mut keys = BTreeSet::new();
    while keys.len() < 200 {
        keys.insert(outcomes.recv().await.unwrap().unwrap().0);
    }
    assert_eq!(stats.max.load(Ordering::SeqCst), 4, "the limit is reached and never exceeded");
    assert_eq!(stats.max_per_key.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watches_mapper_triggers_exactly_the_primaries_it_names() {
    install("Widget", "widgets").await;
    let (client, ns) = setup("ctl-watches").await;
    let widgets: Api<Widget> = Api::namespaced(client.clone(), &ns);
    let configmaps: Api<ConfigMap> = Api::namespaced(client, &ns);
    configmaps.create(&PostParams::default(), &configmap("shared", "0")).await.unwrap();
    configmaps.create(&PostParams::default(), &configmap("other", "0")).await.unwrap();
    for (name, cm) in [("w1", "shared"), ("w2", "shared"), ("w3", "other")] {
        widgets.create(&PostParams::default(), &widget(name, "", cm)).await.unwrap();
    }
    let controller = Controller::new(widgets, watcher::Config::default());
    let store = controller.store();
    let mapper = move |cm: &ConfigMap| {
        let name = cm.name_any();
        let referencing = store.state().into_iter().filter(|w| w.spec.config_map == name);
        referencing.map(|w| ObjectRef::from_obj(w.as_ref())).collect()
    };
    let reconcile = |_: Arc<Widget>, _: Arc<()>| async move { Ok::<_, Failed>(Action::await_change()) };
    let mut outcomes = spawn(controller.watches(configmaps.clone(), watcher::Config::default(), mapper).run(
        reconcile,
        no_policy,
        Arc::new(()),
    ));
    // Let the start-up reconciles settle.
    let mut seen = BTreeSet::new();
    while seen.len() < 3 {
        seen.insert(outcomes.recv().await.unwrap().unwrap().0.name);
    }
    while tokio::time::timeout(Duration::from_secs(1), outcomes.recv()).await.is_ok() {}

    configmaps
        .patch("shared", &PatchParams::default(), &Patch::Merge(json!({"data": {"value": "1"}})))
        .await
        .unwrap();
    let mut triggered = BTreeSet::new();
    while let Ok(Some(o)) = tokio::time::timeout(Duration::from_secs(2), outcomes.recv()).await {
        triggered.insert(o.unwrap().0.name);
    }
    assert_eq!(triggered, BTreeSet::from(["w1".to_string(), "w2".to_string()]));
}

/// The number of open WATCH requests the API server counts for `resource`.
fn open_watches(resource: &str) -> f64 {
    let metrics = shared().raw_get("/metrics").unwrap();
    assert_eq!(metrics.status, 200);
    let needle = format!("resource=\"{resource}\"");
    metrics
        .body
        .lines()
        .filter(|l| l.starts_with("apiserver_longrunning_requests{") && l.contains(&needle))
        .filter(|l| l.contains("verb=\"WATCH\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_controllers_on_one_shared_store_open_one_watch() {
    // A type of its own, so that no other test's watches count.
    install("Gadget", "gadgets").await;
    let (client, ns) = setup("ctl-shared").await;
    let gadgets: Api<Gadget> = Api::namespaced(client, &ns);
    gadgets.create(&PostParams::default(), &Gadget::new("g1", Spec::default())).await.unwrap();

    let (store, writer) = reflector::store();
    let events = reflector::reflector(writer, watcher::watcher(gadgets, watcher::Config::default()));
    tokio::spawn(events.for_each(|_| async {}));
    let reconcile = |_: Arc<Gadget>, _: Arc<()>| async move { Ok::<_, Failed>(Action::await_change()) };
    let mut first = spawn(Controller::for_store(store.clone()).run(reconcile, no_policy, Arc::new(())));
    let mut second = spawn(Controller::for_store(store).run(reconcile, no_policy, Arc::new(())));
    assert_eq!(first.recv().await.unwrap().unwrap().0.name, "g1");
    assert_eq!(second.recv().await.unwrap().unwrap().0.name, "g1");
    let watches = tokio::task::spawn_blocking(|| open_watches("gadgets")).await.unwrap();
    assert_eq!(watches, 1.0, "one watch for both controllers");
}

const FINALIZER: &str = "ctl.kube-test.example.com/cleanup";

struct Finalizing {
    widgets: Api<Widget>,
    cleaned: AtomicUsize,
    interfered: AtomicBool,
    add_errors: AtomicUsize,
}

async fn with_finalizer(w: Arc<Widget>, ctx: Arc<Finalizing>) -> Result<Action, finalizer::Error<Failed>> {
    if !ctx.interfered.swap(true, Ordering::SeqCst) {
        // Another writer edits labels and finalizers between our read and our patch.
        let edit =
            json!({"metadata": {"labels": {"edited": "yes"}, "finalizers": ["other.example.com/keep"]}});
        ctx.widgets.patch(&w.name_any(), &PatchParams::default(), &Patch::Merge(edit)).await.unwrap();
    }
    let cleaned = &ctx.cleaned;
    let result = finalizer(&ctx.widgets, FINALIZER, w, |event| async move {
        if let finalizer::Event::Cleanup(_) = event {
            cleaned.fetch_add(1, Ordering::SeqCst);
        }
        Ok(Action::await_change())
    })
    .await;
    if let Err(finalizer::Error::AddFinalizer { .. }) = &result {
        ctx.add_errors.fetch_add(1, Ordering::SeqCst);
    }
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finalizer_runs_cleanup_on_deletion_and_never_clobbers_a_concurrent_edit() {
    install("Widget", "widgets").await;
    let (client, ns) = setup("ctl-finalizer").await;
    let widgets: Api<Widget> = Api::namespaced(client, &ns);
    let ctx = Arc::new(Finalizing {
        widgets: widgets.clone(),
        cleaned: AtomicUsize::new(0),
        interfered: AtomicBool::new(false),
        add_errors: AtomicUsize::new(0),
    });
    let _outcomes = spawn(Controller::new(widgets.clone(), watcher::Config::default()).run(
        with_finalizer,
        |_, _, _| Action::await_change(),
        ctx.clone(),
    ));
    widgets.create(&PostParams::default(), &widget("w1", "", "")).await.unwrap();
    let finalizers = |w: &Widget| w.finalizers().to_vec();
    eventually("both finalizers", || async {
        let w = widgets.get("w1").await.unwrap();
        finalizers(&w) == ["other.example.com/keep", FINALIZER]
    })
    .await;
    let w = widgets.get("w1").await.unwrap();
    assert_eq!(w.labels().get("edited").map(String::as_str), Some("yes"), "the concurrent label edit stays");
    assert_eq!(ctx.add_errors.load(Ordering::SeqCst), 1, "the stale add failed its test and was retried");

    // Release the other finalizer, then delete: cleanup runs and the object goes away.
    let release = json!([{"op": "test", "path": "/metadata/finalizers/0", "value": "other.example.com/keep"},
                         {"op": "remove", "path": "/metadata/finalizers/0"}]);
    widgets.patch("w1", &PatchParams::default(), &Patch::Json(release)).await.unwrap();
    widgets.delete("w1", &DeleteParams::default()).await.unwrap();
    eventually("the object to disappear", || async { widgets.get_opt("w1").await.unwrap().is_none() }).await;
    assert_eq!(ctx.cleaned.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_reconcile_leaves_the_controller_reconciling_other_keys() {
    let (client, ns) = setup("ctl-panic").await;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    api.create(&PostParams::default(), &configmap("boom", "0")).await.unwrap();
    let reconcile = |cm: Arc<ConfigMap>, _: Arc<()>| async move {
        assert_ne!(cm.name_any(), "boom", "this reconcile panics");
        Ok::<_, Failed>(Action::await_change())
    };
    let mut outcomes = spawn(Controller::new(api.clone(), watcher::Config::default()).run(
        reconcile,
        no_policy,
        Arc::new(()),
    ));
    let first = outcomes.recv().await.unwrap();
    assert!(matches!(first, Err(controller::Error::Panicked { .. })), "{first:?}");
    api.create(&PostParams::default(), &configmap("later", "0")).await.unwrap();
    loop {
        match outcomes.recv().await.unwrap() {
            Ok((key, _)) => {
                assert_eq!(key.name, "later");
                break;
            }
            Err(e) => assert!(matches!(e, controller::Error::Panicked { .. }), "{e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_shutdown_a_running_reconcile_finishes_and_no_new_one_starts() {
    let (client, ns) = setup("ctl-shutdown").await;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    api.create(&PostParams::default(), &configmap("slow", "0")).await.unwrap();
    let stats = Arc::new(InFlight::default());
    let reconcile = |cm: Arc<ConfigMap>, s: Arc<InFlight>| async move {
        s.hold(cm.name_any(), Duration::from_secs(2)).await;
        Ok::<_, Failed>(Action::await_change())
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut outcomes = spawn(
        Controller::new(api.clone(), watcher::Config::default())
            .shutdown_on(async move {
                let _ = stopped.await;
            })
            .run(reconcile, no_policy, stats.clone()),
    );
    eventually("the reconcile to start", || async { stats.runs.load(Ordering::SeqCst) == 1 }).await;
    stop.send(()).unwrap();
    api.create(&PostParams::default(), &configmap("late", "0")).await.unwrap();
    let done = outcomes.recv().await.unwrap().unwrap();
    assert_eq!(done.0.name, "slow", "the running reconcile finished");
    assert!(outcomes.recv().await.is_none(), "then the stream ended");
    assert_eq!(stats.runs.load(Ordering::SeqCst), 1, "nothing started after the signal");
}

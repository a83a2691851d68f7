//! The seed's `Foo` custom resource and its controller: each Foo owns a ConfigMap holding its
//! `name` and `info`; the controller creates it, keeps it in line (re-creating it after a manual
//! delete, reverting manual edits), records Events, reports a `Ready` condition in the status,
//! and, through a finalizer, deletes the ConfigMap before the Foo goes away.

// `foo` is the seed's name for this resource, not a placeholder.
#![allow(clippy::disallowed_names)]

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::{Stream, StreamExt};
use k8s_openapi::{api::core::v1::ConfigMap, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube::{
    Api, Client, CustomResource, Resource, ResourceExt,
    api::{DeleteParams, Patch, PatchParams},
    runtime::{
        controller::{self, Action, Controller},
        events::{self, Recorder, Reporter},
        finalizer::{self, finalizer},
        reflector::ObjectRef,
        watcher,
    },
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// The name of the controller: field manager, event reporter and finalizer prefix.
pub const CONTROLLER: &str = "foo-controller";
/// The finalizer that makes the controller clean up before a Foo is deleted.
pub const FINALIZER: &str = "clux.dev/cleanup";
/// The label on every ConfigMap the controller owns (its watch selects them by it).
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// A Foo: a name and some information to publish in a ConfigMap.
// Two printer columns of the same type look like a repeated attribute to clippy.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "clux.dev", version = "v1", kind = "Foo", namespaced, status = "FooStatus", shortname = "foo")]
#[kube(printcolumn(name = "Info", type = "string", json_path = ".spec.info"))]
#[kube(printcolumn(name = "ConfigMap", type = "string", json_path = ".status.configMap"))]
pub struct FooSpec {
    /// The name to publish.
    pub name: String,
    /// The information to publish.
    pub info: String,
}

/// What the controller last did for a Foo.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FooStatus {
    /// The generation of the spec the ConfigMap reflects.
    pub observed_generation: Option<i64>,
    /// The name of the owned ConfigMap.
    pub config_map: Option<String>,
    /// `Ready`: whether the ConfigMap matches the spec.
    #[serde(default)]
    pub conditions: Vec<FooCondition>,
}

/// A status condition, as the API conventions describe them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FooCondition {
    /// The condition's type (`Ready`).
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase reason.
    pub reason: String,
    /// What a person should know.
    pub message: String,
}

/// What went wrong in a reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request to the API server failed.
    #[error("request for {what} failed: {source}")]
    Api {
        /// What was asked for.
        what: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// A Foo without a namespace (the kind is namespaced, so only a broken cache gives one).
    #[error("foo {0} has no namespace")]
    NoNamespace(String),
}

/// What every reconcile shares.
pub struct Context {
    /// The client.
    pub client: Client,
    /// Events about Foos.
    pub recorder: Recorder,
    /// What the controller did, in words, for a person to follow (the demo prints them).
    pub narrator: Option<mpsc::UnboundedSender<String>>,
}

impl Context {
    /// A context whose reconciles tell `narrator` what they do.
    pub fn new(client: Client, narrator: Option<mpsc::UnboundedSender<String>>) -> Arc<Self> {
        let recorder = Recorder::new(client.clone(), Reporter::new(CONTROLLER).instance(&instance()));
        Arc::new(Self { client, recorder, narrator })
    }

    fn say(&self, line: String) {
        match &self.narrator {
            Some(tx) => {
                let _ = tx.send(line);
            }
            None => tracing::info!("{line}"),
        }
    }
}

fn instance() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| format!("{CONTROLLER}-{}", std::process::id()))
}

fn api_error(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let what = what.into();
    move |source| Error::Api { what, source }
}

/// The ConfigMap a Foo should own.
fn desired_config_map(foo: &Foo) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("foo-{}", foo.name_any())),
            namespace: foo.namespace(),
            labels: Some(BTreeMap::from([(MANAGED_BY.to_string(), CONTROLLER.to_string())])),
            owner_references: foo.controller_owner_ref(&()).map(|owner| vec![owner]),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([
            ("name".to_string(), foo.spec.name.clone()),
            ("info".to_string(), foo.spec.info.clone()),
        ])),
        ..ConfigMap::default()
    }
}

async fn apply(foo: Arc<Foo>, ctx: &Context) -> Result<Action, Error> {
    let namespace = foo.namespace().ok_or_else(|| Error::NoNamespace(foo.name_any()))?;
    let configmaps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    let desired = desired_config_map(&foo);
    let cm_name = desired.name_any();
    let current =
        configmaps.get_opt(&cm_name).await.map_err(api_error(format!("configmap {namespace}/{cm_name}")))?;
    let reference = events::reference(foo.as_ref(), &());
    match &current {
        Some(cm) if cm.data == desired.data => {}
        Some(_) => {
            ctx.say(format!(
                "foo {}: configmap {cm_name} differs from the spec; updating it",
                foo.name_any()
            ));
            ctx.recorder.publish(
                events::Event::normal("ConfigMapUpdated", "Update")
                    .note(format!("configmap {cm_name} brought in line with the spec")),
                &reference,
            );
        }
        None => {
            ctx.say(format!("foo {}: configmap {cm_name} is missing; creating it", foo.name_any()));
            ctx.recorder.publish(
                events::Event::normal("ConfigMapCreated", "Create")
                    .note(format!("created configmap {cm_name}")),
                &reference,
            );
        }
    }
    if current.as_ref().is_none_or(|cm| cm.data != desired.data) {
        let params = PatchParams::apply(CONTROLLER).force();
        configmaps
            .patch(&cm_name, &params, &Patch::Apply(&desired))
            .await
            .map_err(api_error(format!("configmap {namespace}/{cm_name}")))?;
    }
    let status = FooStatus {
        observed_generation: foo.metadata.generation,
        config_map: Some(cm_name.clone()),
        conditions: vec![FooCondition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "ConfigMapInSync".into(),
            message: format!("configmap {cm_name} holds the spec"),
        }],
    };
    if foo.status.as_ref() != Some(&status) {
        let foos: Api<Foo> = Api::namespaced(ctx.client.clone(), &namespace);
        let patch = Patch::Merge(serde_json::json!({"status": status}));
        foos.patch_status(&foo.name_any(), &PatchParams::default(), &patch)
            .await
            .map_err(api_error(format!("status of foo {}", foo.name_any())))?;
        ctx.say(format!(
            "foo {}: status Ready=True (generation {})",
            foo.name_any(),
            foo.metadata.generation.unwrap_or(0)
        ));
    }
    Ok(Action::requeue(Duration::from_secs(300)))
}

async fn cleanup(foo: Arc<Foo>, ctx: &Context) -> Result<Action, Error> {
    let namespace = foo.namespace().ok_or_else(|| Error::NoNamespace(foo.name_any()))?;
    let configmaps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
    let cm_name = format!("foo-{}", foo.name_any());
    // Owner references would let a garbage collector do this; the finalizer makes sure it
    // happens (and that the Foo stays until it has).
    match configmaps.delete(&cm_name, &DeleteParams::default()).await {
        Ok(_) => ctx.say(format!(
            "foo {}: being deleted; deleted configmap {cm_name}, removing the finalizer",
            foo.name_any()
        )),
        Err(e) if e.is_not_found() => {
            ctx.say(format!("foo {}: being deleted; nothing to clean up", foo.name_any()))
        }
        Err(e) => return Err(api_error(format!("configmap {namespace}/{cm_name}"))(e)),
    }
    ctx.recorder.publish(
        events::Event::normal("CleanedUp", "Delete").note(format!("deleted configmap {cm_name}")),
        &events::reference(foo.as_ref(), &()),
    );
    Ok(Action::await_change())
}

/// Reconciles one Foo under the finalizer.
pub async fn reconcile(foo: Arc<Foo>, ctx: Arc<Context>) -> Result<Action, finalizer::Error<Error>> {
    let namespace = foo.namespace().unwrap_or_default();
    let foos: Api<Foo> = Api::namespaced(ctx.client.clone(), &namespace);
    finalizer(&foos, FINALIZER, foo, |event| async {
        match event {
            finalizer::Event::Apply(foo) => apply(foo, &ctx).await,
            finalizer::Event::Cleanup(foo) => cleanup(foo, &ctx).await,
        }
    })
    .await
}

/// After a failed reconcile: say so, and let the queue's backoff decide when to retry.
pub fn error_policy(foo: Arc<Foo>, error: &finalizer::Error<Error>, ctx: Arc<Context>) -> Action {
    ctx.say(format!("foo {}: reconcile failed ({error}); retrying with backoff", foo.name_any()));
    Action::await_change()
}

/// The controller over every Foo of `client`'s cluster (or of `namespace`), with the ConfigMaps
/// it owns; reconciles only while `leading` says so (when given); runs until `shutdown`
/// completes.
pub fn run(
    client: Client,
    namespace: Option<&str>,
    ctx: Arc<Context>,
    leading: Option<tokio::sync::watch::Receiver<bool>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl Stream<Item = Result<(ObjectRef, Action), controller::Error<finalizer::Error<Error>>>> {
    let (foos, configmaps): (Api<Foo>, Api<ConfigMap>) = match namespace {
        Some(ns) => (Api::namespaced(client.clone(), ns), Api::namespaced(client, ns)),
        None => (Api::all(client.clone()), Api::all(client)),
    };
    let owned =
        watcher::Config::default().labels(&format!("{MANAGED_BY}={CONTROLLER}")).drop_managed_fields();
    let mut controller =
        Controller::new(foos, watcher::Config::default().drop_managed_fields()).owns(configmaps, owned);
    if let Some(leading) = leading {
        controller = controller.gate(leading);
    }
    controller.shutdown_on(shutdown).run(reconcile, error_policy, ctx).boxed()
}

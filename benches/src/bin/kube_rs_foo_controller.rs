//! The Foo controller of `examples/src/foo.rs` written with kube-rs 5, for `just size`: the same
//! CRD, owned ConfigMap, finalizer, Events, status condition and plain log level, so the two
//! binaries built with the `deploy` profile compare like for like.

#![allow(clippy::disallowed_names, clippy::duplicated_attributes, missing_docs)]

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::StreamExt;
use k8s_openapi::{
    api::core::v1::ConfigMap,
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
};
use kube_rs::{
    Api, Client, CustomResource, Resource, ResourceExt,
    api::{DeleteParams, Patch, PatchParams},
    runtime::{
        Controller,
        controller::Action,
        events::{Event, EventType, Recorder, Reporter},
        finalizer::{self, finalizer},
        watcher,
    },
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const CONTROLLER: &str = "foo-controller";

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(group = "clux.dev", version = "v1", kind = "Foo", namespaced, status = "FooStatus", shortname = "foo")]
#[kube(crates(kube_core = "kube_rs::core"))]
#[kube(printcolumn = r#"{"name":"Info","type":"string","jsonPath":".spec.info"}"#)]
#[kube(printcolumn = r#"{"name":"ConfigMap","type":"string","jsonPath":".status.configMap"}"#)]
pub struct FooSpec {
    pub name: String,
    pub info: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FooStatus {
    pub observed_generation: Option<i64>,
    pub config_map: Option<String>,
    #[serde(default)]
    pub conditions: Vec<FooCondition>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
pub struct FooCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
#[error("request failed: {0}")]
struct Error(#[from] kube_rs::Error);

struct Context {
    client: Client,
    recorder: Recorder,
}

async fn apply(foo: Arc<Foo>, ctx: &Context) -> Result<Action, Error> {
    let ns = foo.namespace().unwrap_or_default();
    let configmaps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns);
    let name = format!("foo-{}", foo.name_any());
    let owner = OwnerReference {
        api_version: Foo::api_version(&()).into_owned(),
        kind: Foo::kind(&()).into_owned(),
        name: foo.name_any(),
        uid: foo.uid().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let desired = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns.clone()),
            labels: Some(BTreeMap::from([("app.kubernetes.io/managed-by".into(), CONTROLLER.into())])),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([
            ("name".into(), foo.spec.name.clone()),
            ("info".into(), foo.spec.info.clone()),
        ])),
        ..ConfigMap::default()
    };
    let current = configmaps.get_opt(&name).await?;
    if current.as_ref().is_none_or(|cm| cm.data != desired.data) {
        configmaps.patch(&name, &PatchParams::apply(CONTROLLER).force(), &Patch::Apply(&desired)).await?;
        let event = Event {
            type_: EventType::Normal,
            reason: "ConfigMapSynced".into(),
            note: Some(format!("configmap {name} brought in line with the spec")),
            action: "Apply".into(),
            secondary: None,
        };
        if let Err(e) = ctx.recorder.publish(&event, &foo.object_ref(&())).await {
            tracing::warn!(error = %e, "event not recorded");
        }
    }
    let status = FooStatus {
        observed_generation: foo.metadata.generation,
        config_map: Some(name.clone()),
        conditions: vec![FooCondition {
            type_: "Ready".into(),
            status: "True".into(),
            reason: "ConfigMapInSync".into(),
            message: format!("configmap {name} holds the spec"),
        }],
    };
    if foo.status.as_ref() != Some(&status) {
        let foos: Api<Foo> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = Patch::Merge(serde_json::json!({"status": status}));
        foos.patch_status(&foo.name_any(), &PatchParams::default(), &patch).await?;
    }
    Ok(Action::requeue(Duration::from_secs(300)))
}

async fn cleanup(foo: Arc<Foo>, ctx: &Context) -> Result<Action, Error> {
    let configmaps: Api<ConfigMap> =
        Api::namespaced(ctx.client.clone(), &foo.namespace().unwrap_or_default());
    match configmaps.delete(&format!("foo-{}", foo.name_any()), &DeleteParams::default()).await {
        Ok(_) => Ok(Action::await_change()),
        Err(e) if e.to_string().contains("NotFound") => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}

async fn reconcile(foo: Arc<Foo>, ctx: Arc<Context>) -> Result<Action, finalizer::Error<Error>> {
    let foos: Api<Foo> = Api::namespaced(ctx.client.clone(), &foo.namespace().unwrap_or_default());
    finalizer(&foos, "clux.dev/cleanup", foo, |event| async {
        match event {
            finalizer::Event::Apply(foo) => apply(foo, &ctx).await,
            finalizer::Event::Cleanup(foo) => cleanup(foo, &ctx).await,
        }
    })
    .await
}

fn error_policy(_foo: Arc<Foo>, error: &finalizer::Error<Error>, _ctx: Arc<Context>) -> Action {
    tracing::warn!(%error, "reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let level = std::env::var("RUST_LOG").ok().and_then(|l| l.parse().ok()).unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt().with_max_level(level).init();
    let client = Client::try_default().await?;
    let reporter = Reporter { controller: CONTROLLER.into(), instance: std::env::var("HOSTNAME").ok() };
    let ctx = Arc::new(Context { client: client.clone(), recorder: Recorder::new(client.clone(), reporter) });
    let owned = watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={CONTROLLER}"));
    Controller::new(Api::<Foo>::all(client.clone()), watcher::Config::default())
        .owns(Api::<ConfigMap>::all(client), owned)
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|outcome| async move {
            match outcome {
                Ok((object, action)) => tracing::info!(%object, ?action, "reconciled"),
                Err(e) => tracing::warn!(error = %e, "reconcile failed"),
            }
        })
        .await;
    Ok(())
}

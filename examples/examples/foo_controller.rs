//! The seed's `Foo` controller as a deployable program: installs the Foo CRD when the cluster
//! lacks it, then reconciles every Foo (an owned ConfigMap, a finalizer, Events and a `Ready`
//! status condition) until SIGTERM or Ctrl-C, logging each reconcile.
//!
//! ```sh
//! KUBECONFIG=... cargo run -p examples --example foo_controller
//! kubectl apply -f - <<< '{"apiVersion":"clux.dev/v1","kind":"Foo","metadata":{"name":"hello"},"spec":{"name":"hello","info":"hi"}}'
//! kubectl get foos,configmaps
//! ```
//!
//! Expected log lines: `foo hello: configmap foo-hello is missing; creating it`, then
//! `foo hello: status Ready=True (generation 1)`, and one `reconciled` line per reconcile.
//! `just size` builds it with the deployment profile and prints its size.

use std::time::Duration;

use examples::foo::{self, Foo};
use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api, Client, CustomResourceExt,
    api::PostParams,
    runtime::{
        controller,
        wait::{await_condition_within, conditions},
    },
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    let client = Client::try_default().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    if crds.get_opt(&Foo::crd_name()).await?.is_none() {
        crds.create(&PostParams::default(), &Foo::crd()?).await?;
        let established = conditions::is_crd_established();
        await_condition_within(Duration::from_secs(30), crds, &Foo::crd_name(), established).await?;
        tracing::info!("installed the Foo CRD");
    }
    let ctx = foo::Context::new(client.clone(), None);
    let mut outcomes = foo::run(client, None, ctx.clone(), controller::signal()).boxed();
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Ok((object, action)) => tracing::info!(%object, ?action, "reconciled"),
            Err(e) => tracing::warn!(error = %e, "reconcile failed"),
        }
    }
    ctx.recorder.flush().await;
    Ok(())
}

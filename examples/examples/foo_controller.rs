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
//!
//! With `--leader-elect`, copies elect a leader on the Lease `foo-controller` (in `$POD_NAMESPACE`,
//! else `default`) and only the leader reconciles; the others keep their caches warm. Run two
//! copies and kill the leader: the other logs `leading: true` within the lease duration (15 s)
//! and carries on; stop it with Ctrl-C and it releases the Lease, so a successor takes over at
//! once.

use std::time::Duration;

use examples::foo::{self, Foo};
use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api, Client, CustomResourceExt,
    api::PostParams,
    runtime::{
        controller,
        leader::{self, LeaderElector},
        wait::{await_condition_within, conditions},
    },
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A plain level (RUST_LOG=debug, ...): a full EnvFilter would pull a regex engine into a
    // binary meant to be small.
    let level = std::env::var("RUST_LOG").ok().and_then(|l| l.parse().ok()).unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt().with_max_level(level).init();
    let client = Client::try_default().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    if crds.get_opt(&Foo::crd_name()).await?.is_none() {
        crds.create(&PostParams::default(), &Foo::crd()?).await?;
        let established = conditions::is_crd_established();
        await_condition_within(Duration::from_secs(30), crds, &Foo::crd_name(), established).await?;
        tracing::info!("installed the Foo CRD");
    }
    let leading = if std::env::args().any(|a| a == "--leader-elect") {
        let namespace = std::env::var("POD_NAMESPACE").unwrap_or_else(|_| "default".into());
        let elector = LeaderElector::new(
            Api::namespaced(client.clone(), &namespace),
            leader::Config::new(foo::CONTROLLER),
        )?;
        let leadership = elector.leadership();
        tracing::info!(
            identity = elector.identity(),
            "campaigning for the lease {}/{}",
            namespace,
            foo::CONTROLLER
        );
        let mut changes = leadership.changes().boxed();
        tokio::spawn(async move {
            while let Some(leading) = changes.next().await {
                tracing::info!(leading, "leadership changed");
            }
        });
        tokio::spawn(async move {
            if let Err(e) = elector.run(controller::signal()).await {
                tracing::error!(error = %e, "leader election failed");
            }
        });
        Some(leadership.receiver())
    } else {
        None
    };
    let ctx = foo::Context::new(client.clone(), None);
    let mut outcomes = foo::run(client, None, ctx.clone(), leading, controller::signal()).boxed();
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Ok((object, action)) => tracing::info!(%object, ?action, "reconciled"),
            Err(e) => tracing::warn!(error = %e, "reconcile failed"),
        }
    }
    ctx.recorder.flush().await;
    Ok(())
}

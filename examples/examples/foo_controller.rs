//! The seed's `Foo` controller as a deployable program: reconciles every Foo (an owned
//! ConfigMap, a finalizer, Events and a `Ready` status condition) until SIGTERM or Ctrl-C,
//! logging each reconcile.
//!
//! Like any operator, it expects its CRD installed beforehand (by a manifest, not by the
//! controller, which then needs no rights on CRDs and carries no schema code); the `foo_crd`
//! example prints it:
//!
//! ```sh
//! export KUBECONFIG=...
//! cargo run -p examples --example foo_crd | kubectl apply -f -
//! cargo run -p examples --example foo_controller
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

use examples::foo::{self, Foo};
use futures::StreamExt;
use kube::{
    Api, Client, CustomResourceExt,
    api::ListParams,
    runtime::{
        controller,
        leader::{self, LeaderElector},
    },
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A plain level (RUST_LOG=debug, ...): a full EnvFilter would pull a regex engine into a
    // binary meant to be small.
    let level = std::env::var("RUST_LOG").ok().and_then(|l| l.parse().ok()).unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt().with_max_level(level).init();
    let client = Client::try_default().await?;
    // Fail early, and clearly, when the CRD is missing, rather than wait for a store to sync.
    match Api::<Foo>::all(client.clone()).list(&ListParams::default().limit(1)).await {
        Err(kube::Error::Api(status)) if status.code == 404 => anyhow::bail!(
            "the Foo CRD ({}) is not installed: `cargo run -p examples --example foo_crd | kubectl apply -f -`",
            Foo::crd_name()
        ),
        result => drop(result?),
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

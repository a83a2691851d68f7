//! Sharding scale-out: per-replica memory and reconcile throughput of one sharded controller over
//! 10,000 custom resources with 1, 2 and 4 replicas, each replica a process of its own.
//!
//! `just bench-shard` (or `cargo run --release -p kube-benches --bin shard_scale -- [--objects N]
//! [--replicas 1,2,4] [--server-side]`) starts a control plane, creates the objects once (each with a 2 KB spec, so
//! that the cache is most of a replica's memory), then for each replica count starts that many
//! copies of itself in replica mode, in a shard group of its own (so assignment starts from
//! scratch). Each reconcile waits 10 ms (an I/O-bound reconcile) with 8 at a time per replica. It
//! reports, per round: the time until every object was reconciled once (assignment included), the
//! steady reconcile throughput after that (all replicas together), and each replica's peak RSS
//! (VmHWM) and objects cached. `--server-side` shards through the apiserver's shard selectors
//! (an apiserver with the `ShardedListAndWatch` gate, slots claimed in the member Leases, no
//! assigner) instead of labels.

use std::{
    collections::HashSet,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use futures::StreamExt;
use k8s_openapi::{
    NamespaceResourceScope, api::coordination::v1::Lease, apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube_client::{
    Api, Client,
    api::PostParams,
    config::{Config, KubeConfigOptions, KubeconfigSource},
};
use kube_core::{ResourceExt, selector::ShardField};
use kube_runtime::{
    controller::{Action, Controller},
    shard::{self, Assigner, Shard},
    watcher,
};
use serde::{Deserialize, Serialize};

const NS: &str = "shard-scale";
const RECONCILE: Duration = Duration::from_millis(10);
const CONCURRENCY: usize = 8;
/// How long the steady throughput is sampled after the first full pass.
const STEADY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Scaled {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    metadata: ObjectMeta,
    #[serde(default)]
    spec: serde_json::Value,
}

impl k8s_openapi::Resource for Scaled {
    const API_VERSION: &'static str = "bench.kube-test.example.com/v1";
    const GROUP: &'static str = "bench.kube-test.example.com";
    const KIND: &'static str = "Scaled";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "scaleds";
    type Scope = NamespaceResourceScope;
}

impl k8s_openapi::Metadata for Scaled {
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
  name: scaleds.bench.kube-test.example.com
spec:
  group: bench.kube-test.example.com
  names: {kind: Scaled, plural: scaleds, singular: scaled, listKind: ScaledList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

fn client_from(path: &Path) -> anyhow::Result<Client> {
    let config = Config::from_custom_kubeconfig(
        KubeconfigSource::Path(path.to_path_buf()),
        &KubeConfigOptions::default(),
    )?;
    Ok(Client::try_from(config)?)
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

/// Replica mode: runs one sharded controller and prints `reconciled <distinct> <total>` and
/// `cached <n>` every 200 ms.
async fn replica(kubeconfig: &Path, group: &str, id: &str, server_side: bool) -> anyhow::Result<()> {
    let client = client_from(kubeconfig)?;
    let mut config = shard::Config::new(group).identity(id);
    if server_side {
        config = config.server_side(ShardField::Uid);
    }
    let shard = Shard::new(Api::<Lease>::namespaced(client.clone(), NS), config)?;
    let objects: Api<Scaled> = Api::namespaced(client, NS);
    tokio::spawn(shard.clone().run(std::future::pending()));
    if !server_side {
        tokio::spawn(Assigner::new(objects.clone(), &shard).run(std::future::pending()));
    }
    let watch = watcher::Config { drop_managed_fields: true, ..watcher::Config::default() };
    let (store, writer) = kube_runtime::reflector::store::<Scaled>();
    let events = kube_runtime::reflector(writer, shard.watcher(objects, watch));
    let controller = Controller::for_stream(store.clone(), events).shard(&shard).concurrency(CONCURRENCY);
    let seen: Arc<Mutex<(HashSet<String>, u64)>> = Arc::default();
    let report = {
        let seen = seen.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let (distinct, total) = {
                    let s = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    (s.0.len(), s.1)
                };
                println!("reconciled {distinct} {total}");
                println!("cached {}", store.len());
            }
        }
    };
    tokio::spawn(report);
    controller
        .run(
            |obj: Arc<Scaled>, seen: Arc<Mutex<(HashSet<String>, u64)>>| async move {
                tokio::time::sleep(RECONCILE).await;
                let mut s = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                s.0.insert(obj.name_any());
                s.1 += 1;
                // Requeued at once: the steady throughput is what the replicas can do.
                Ok::<_, Never>(Action::requeue(Duration::from_millis(1)))
            },
            |_, _, _| Action::await_change(),
            seen,
        )
        .for_each(|_| async {})
        .await;
    Ok(())
}

struct Args {
    objects: usize,
    replicas: Vec<usize>,
    server_side: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args { objects: 10_000, replicas: vec![1, 2, 4], server_side: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--objects" => a.objects = it.next().context("--objects N")?.parse()?,
            "--replicas" => {
                a.replicas = it
                    .next()
                    .context("--replicas 1,2,4")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--server-side" => a.server_side = true,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

/// The replica processes of one round, and what they last printed.
struct Round {
    children: Vec<Child>,
    state: Arc<Mutex<Vec<(u64, u64, u64)>>>,
}

impl Round {
    fn start(
        exe: &Path,
        kubeconfig: &Path,
        group: &str,
        n: usize,
        server_side: bool,
    ) -> anyhow::Result<Round> {
        let state = Arc::new(Mutex::new(vec![(0, 0, 0); n]));
        let mut children = Vec::new();
        for i in 0..n {
            let mut child = Command::new(exe)
                .args(["--replica", &format!("r{i}"), "--group", group, "--kubeconfig"])
                .arg(kubeconfig)
                .args(server_side.then_some("--server-side"))
                .stdout(Stdio::piped())
                .spawn()?;
            let out = child.stdout.take().context("replica stdout")?;
            let state = state.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let parts: Vec<u64> = line.split(' ').skip(1).filter_map(|x| x.parse().ok()).collect();
                    let mut s = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    match (line.split(' ').next(), parts.as_slice()) {
                        (Some("reconciled"), [d, t]) => (s[i].0, s[i].1) = (*d, *t),
                        (Some("cached"), [c]) => s[i].2 = *c,
                        _ => {}
                    }
                }
            });
            children.push(child);
        }
        Ok(Round { children, state })
    }

    fn snapshot(&self) -> Vec<(u64, u64, u64)> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Peak RSS of each replica in MB.
    fn peak_rss_mb(&self) -> Vec<f64> {
        self.children
            .iter()
            .map(|c| {
                let status = std::fs::read_to_string(format!("/proc/{}/status", c.id())).unwrap_or_default();
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                    .map_or(0.0, |kb| kb / 1024.0)
            })
            .collect()
    }
}

impl Drop for Round {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn populate(client: &Client, objects: usize) -> anyhow::Result<()> {
    let api: Api<Scaled> = Api::namespaced(client.clone(), NS);
    let payload = "x".repeat(2048);
    let created = futures::stream::iter(0..objects)
        .map(|i| {
            let (api, payload) = (api.clone(), payload.clone());
            async move {
                let obj = Scaled {
                    api_version: "bench.kube-test.example.com/v1".into(),
                    kind: "Scaled".into(),
                    metadata: ObjectMeta { name: Some(format!("obj-{i:05}")), ..ObjectMeta::default() },
                    spec: serde_json::json!({ "payload": payload }),
                };
                api.create(&PostParams::default(), &obj).await
            }
        })
        .buffer_unordered(32)
        .filter(|r| futures::future::ready(r.is_err()))
        .count()
        .await;
    anyhow::ensure!(created == 0, "{created} creates failed");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut raw = std::env::args().skip(1);
    if raw.next().as_deref() == Some("--replica") {
        let id = raw.next().context("--replica ID")?;
        let (mut group, mut kubeconfig, mut server_side) = (String::new(), PathBuf::new(), false);
        while let Some(a) = raw.next() {
            match a.as_str() {
                "--server-side" => server_side = true,
                "--group" => group = raw.next().context("--group G")?,
                "--kubeconfig" => kubeconfig = raw.next().context("--kubeconfig PATH")?.into(),
                other => anyhow::bail!("unknown argument {other}"),
            }
        }
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        return rt.block_on(replica(&kubeconfig, &group, &id, server_side));
    }

    let a = args()?;
    let mut builder = kube_test::TestEnv::builder();
    if a.server_side {
        builder = builder.apiserver_arg("--feature-gates=ShardedListAndWatch=true");
    }
    let env = builder.start().context("starting the control plane (KUBEBUILDER_ASSETS)")?;
    env.install_crd(CRD)?;
    env.create_namespace(NS)?;
    let kubeconfig = env.kubeconfig().path().to_path_buf();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let client = rt.block_on(async { client_from(&kubeconfig) })?;
    let t = Instant::now();
    rt.block_on(populate(&client, a.objects))?;
    eprintln!("created {} objects in {:.1} s", a.objects, t.elapsed().as_secs_f64());

    let exe = std::env::current_exe()?;
    println!(
        "| replicas | first full pass | steady reconciles/s (all) | peak RSS per replica (MB) | cached per replica |"
    );
    println!("|---|---|---|---|---|");
    for n in &a.replicas {
        let round = Round::start(&exe, &kubeconfig, &format!("scale-{n}"), *n, a.server_side)?;
        let start = Instant::now();
        let deadline = start + Duration::from_secs(600);
        let first_pass = loop {
            std::thread::sleep(Duration::from_millis(100));
            let distinct: u64 = round.snapshot().iter().map(|s| s.0).sum();
            if distinct >= a.objects as u64 {
                break start.elapsed();
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{n} replicas: {distinct} of {} reconciled",
                a.objects
            );
        };
        let before: u64 = round.snapshot().iter().map(|s| s.1).sum();
        std::thread::sleep(STEADY);
        let after = round.snapshot();
        let rate = (after.iter().map(|s| s.1).sum::<u64>() - before) as f64 / STEADY.as_secs_f64();
        let rss = round.peak_rss_mb();
        let cached: Vec<String> = after.iter().map(|s| s.2.to_string()).collect();
        let rss: Vec<String> = rss.iter().map(|m| format!("{m:.1}")).collect();
        println!(
            "| {n} | {:.1} s | {rate:.0} | {} | {} |",
            first_pass.as_secs_f64(),
            rss.join(", "),
            cached.join(", ")
        );
        drop(round);
    }
    drop(env);
    Ok(())
}

//! `just bench-peers`: our client side by side with kube-rs 5 and client-go against a real
//! kube-apiserver.
//!
//! Starts a kube-test control plane (or uses `--kubeconfig`), creates the population once
//! (`--pods` realistic Pods, 10,000 by default, created concurrently with our client, then given
//! a status as the kubelet would, so each carries two managedFields entries), and runs every
//! scenario for the three clients as separate processes (`peer_ours`, `peer_kube_rs`,
//! `tools/peer-client-go`), `--runs` times each (5 by default), interleaved so that noise hits
//! them alike. Each process is measured from outside with GNU time (`wait4`: wall, user+sys CPU,
//! peak RSS) and the API server's CPU over the run is read from /proc. Prints one table per
//! scenario (median, min–max) with ratios, the targets met or not, and writes everything as
//! JSON to `bench-peers/latest.json` in the target directory.
//!
//! Scenarios (`--only list,informer,watch,controller,watches`):
//! - `list`: one LIST of every Pod, typed, managedFields cut at decode (ours), metadata only;
//!   ours and client-go over protobuf (client-go's default) and JSON.
//! - `informer`: a reflector/informer syncs, then absorbs `--updates` changes made by this
//!   runner; time to sync, peak and steady RSS, CPU.
//! - `watch`: the rate at which a watch from resourceVersion 0 is absorbed into a map.
//!
//! Ours runs the list, informer and watch scenarios over protobuf too (the `ours proto` rows).
//! - `controller`: a controller (controller-runtime for Go) over `--objects` ConfigMaps: the
//!   first pass (start to every object reconciled once), then `--churn` writes at 100/s, each
//!   stamped with its time, and each reconcile's delay after the stamp (p50, p99).
//! - `watches`: `--watches` watches on one client; the TCP connections it holds to the server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::atomic::{AtomicU64, Ordering},
    time::Instant,
};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt, stream};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube_client::{
    Api, Client, Config,
    config::{KubeConfigOptions, KubeconfigSource},
    core::params::{GetParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

const USAGE: &str = "usage: bench_peers [--pods N] [--runs N] [--updates N] [--watches N]
                   [--objects N] [--churn N]
                   [--only list,informer,watch,controller,watches] [--kubeconfig PATH]";

/// Settings from the command line.
struct Args {
    pods: usize,
    runs: usize,
    updates: usize,
    watches: usize,
    objects: usize,
    churn: usize,
    only: Option<Vec<String>>,
    kubeconfig: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        pods: 10_000,
        runs: 5,
        updates: 5_000,
        watches: 200,
        objects: 1_000,
        churn: 1_000,
        only: None,
        kubeconfig: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--pods" => a.pods = value()?.parse()?,
            "--runs" => a.runs = value()?.parse()?,
            "--updates" => a.updates = value()?.parse()?,
            "--watches" => a.watches = value()?.parse()?,
            "--objects" => a.objects = value()?.parse()?,
            "--churn" => a.churn = value()?.parse()?,
            "--only" => a.only = Some(value()?.split(',').map(str::to_owned).collect()),
            "--kubeconfig" => a.kubeconfig = Some(value()?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    a.updates = a.updates.min(a.pods);
    Ok(a)
}

/// The three clients' programs.
struct Programs {
    ours: PathBuf,
    kube_rs: PathBuf,
    client_go: PathBuf,
}

fn programs() -> anyhow::Result<Programs> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("the runner's directory")?;
    let client_go = std::env::var_os("PEER_CLIENT_GO").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/kube-dev/peers/peer-client-go")
    });
    let p = Programs { ours: dir.join("peer_ours"), kube_rs: dir.join("peer_kube_rs"), client_go };
    for path in [&p.ours, &p.kube_rs, &p.client_go] {
        if !path.exists() {
            bail!("{} is not built (run `just bench-peers`)", path.display());
        }
    }
    if !Path::new(TIME).exists() {
        bail!("{TIME} (GNU time) is missing: apt-get install time");
    }
    Ok(p)
}

const TIME: &str = "/usr/bin/time";

/// One client program running one scenario.
#[derive(Clone)]
struct Variant {
    label: &'static str,
    /// Which peer this row is compared with, by label.
    peers: [&'static str; 2],
    program: PathBuf,
    scenario: &'static str,
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
struct Sample {
    wall_s: f64,
    cpu_s: f64,
    peak_rss_mb: f64,
    server_cpu_s: Option<f64>,
    /// The `key=value` figures the program printed, and those the runner added.
    figures: BTreeMap<String, f64>,
}

/// The API server's CPU seconds so far (user + system), from /proc.
fn process_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// What the runner does while a program runs, when it prints a line.
enum Hook<'a> {
    None,
    /// Make the updates once the program says `synced`.
    Updates(&'a dyn Fn()),
    /// Run the controller scenario's stamped writes once the program says `synced`.
    Churn(&'a dyn Fn()),
    /// Count the program's connections once it says `ready`.
    Connections(u16),
}

/// Runs `v` once, measured from outside.
fn run_once(
    v: &Variant,
    env: &[(&str, String)],
    server_pid: Option<u32>,
    hook: &Hook,
) -> anyhow::Result<Sample> {
    let out = tempfile::NamedTempFile::new()?;
    let server_before = server_pid.and_then(process_cpu_s);
    let mut child = Command::new(TIME)
        .arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(out.path())
        .arg("timeout")
        .arg("600")
        .arg(&v.program)
        .arg(v.scenario)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", v.program.display()))?;
    let stdout = child.stdout.take().context("stdout")?;
    let mut figures = BTreeMap::new();
    let mut pid = None;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        for pair in line.split_whitespace() {
            if let Some((k, val)) = pair.split_once('=') {
                if let Ok(x) = val.parse::<f64>() {
                    figures.insert(k.to_owned(), x);
                }
                if k == "pid" {
                    pid = val.parse::<u32>().ok();
                }
            }
        }
        match (line.as_str(), hook) {
            ("synced", Hook::Updates(update) | Hook::Churn(update)) => update(),
            ("ready", Hook::Connections(port)) => {
                let pid = pid.context("the program printed no pid")?;
                figures.insert("connections".into(), kube_test::established_connections(pid, *port) as f64);
            }
            _ => {}
        }
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut stderr)?;
    }
    let status = child.wait()?;
    let server_after = server_pid.and_then(process_cpu_s);
    let measured = std::fs::read_to_string(out.path())?;
    if !status.success() {
        bail!("{} {} failed ({status}): {stderr}{measured}", v.program.display(), v.scenario);
    }
    let last = measured.lines().last().context("GNU time printed nothing")?;
    let n: Vec<f64> = last.split_whitespace().map(|x| x.parse().unwrap_or(f64::NAN)).collect();
    if n.len() != 4 {
        bail!("unexpected GNU time output `{last}`");
    }
    Ok(Sample {
        wall_s: n[0],
        cpu_s: n[1] + n[2],
        peak_rss_mb: n[3] / 1000.0,
        server_cpu_s: server_before.zip(server_after).map(|(b, a)| a - b),
        figures,
    })
}

/// Median, min and max.
fn stats(mut xs: Vec<f64>) -> Option<(f64, f64, f64)> {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    Some((xs[xs.len() / 2], xs[0], xs[xs.len() - 1]))
}

/// One metric of a row: its samples.
fn metric(samples: &[Sample], name: &str) -> Vec<f64> {
    samples
        .iter()
        .filter_map(|s| match name {
            "wall_s" => Some(s.wall_s),
            "cpu_s" => Some(s.cpu_s),
            "peak_rss_mb" => Some(s.peak_rss_mb),
            "server_cpu_s" => s.server_cpu_s,
            "steady_rss_mb" => s.figures.get("steady_rss_kb").map(|k| k / 1000.0),
            "synced_rss_mb" => s.figures.get("synced_rss_kb").map(|k| k / 1000.0),
            "sync_s" => s.figures.get("sync_ms").map(|k| k / 1000.0),
            "absorb_s" => s.figures.get("absorb_ms").map(|k| k / 1000.0),
            other => s.figures.get(other).copied(),
        })
        .collect()
}

/// A scenario: its rows and the metrics it shows.
struct Scenario {
    name: &'static str,
    title: String,
    metrics: &'static [&'static str],
    rows: Vec<Variant>,
}

/// The results of one scenario: per row, its samples.
struct Results {
    scenario: Scenario,
    samples: Vec<Vec<Sample>>,
}

impl Results {
    fn median(&self, label: &str, metric_name: &str) -> Option<f64> {
        let i = self.scenario.rows.iter().position(|r| r.label == label)?;
        stats(metric(&self.samples[i], metric_name)).map(|s| s.0)
    }

    fn print(&self) {
        println!("\n== {}", self.scenario.title);
        print!("{:<18}", "client");
        for m in self.scenario.metrics {
            print!(" {:>20}", m);
        }
        println!("   ratios (CPU, peak RSS) vs peers");
        for (row, samples) in self.scenario.rows.iter().zip(&self.samples) {
            print!("{:<18}", row.label);
            for m in self.scenario.metrics {
                match stats(metric(samples, m)) {
                    Some((med, lo, hi)) => {
                        print!(" {:>20}", format!("{} ({}–{})", fmt(med), fmt(lo), fmt(hi)))
                    }
                    None => print!(" {:>20}", "-"),
                }
            }
            let mut ratios = Vec::new();
            for peer in row.peers.iter().filter(|p| !p.is_empty()) {
                let r = |m: &str| Some(self.median(row.label, m)? / self.median(peer, m)?);
                if let (Some(cpu), Some(rss)) = (r("cpu_s"), r("peak_rss_mb")) {
                    ratios.push(format!("/{peer}: {cpu:.2}, {rss:.2}"));
                }
            }
            println!("   {}", ratios.join("; "));
        }
    }

    fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .scenario
            .rows
            .iter()
            .zip(&self.samples)
            .map(|(row, samples)| {
                let mut metrics = serde_json::Map::new();
                for m in self.scenario.metrics {
                    if let Some((med, lo, hi)) = stats(metric(samples, m)) {
                        metrics.insert(
                            (*m).to_owned(),
                            json!({"median": med, "min": lo, "max": hi, "runs": metric(samples, m)}),
                        );
                    }
                }
                json!({"client": row.label, "program": row.program.file_name().map(|f| f.to_string_lossy().into_owned()), "scenario": row.scenario, "metrics": metrics})
            })
            .collect();
        json!({"scenario": self.scenario.name, "title": self.scenario.title, "rows": rows})
    }
}

fn fmt(x: f64) -> String {
    if x >= 1000.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn variant(label: &'static str, peers: [&'static str; 2], program: &Path, scenario: &'static str) -> Variant {
    Variant { label, peers, program: program.to_path_buf(), scenario }
}

fn scenarios(p: &Programs, a: &Args, pod_kb: f64, mf_kb: f64) -> Vec<Scenario> {
    const LIST: &[&str] = &["wall_s", "cpu_s", "peak_rss_mb", "server_cpu_s"];
    let (o, k, g) = (&p.ours, &p.kube_rs, &p.client_go);
    let typed = ["kube-rs", "client-go proto"];
    let meta = ["kube-rs meta", "client-go meta"];
    vec![
        Scenario {
            name: "list",
            title: format!(
                "1. LIST {} Pods ({pod_kb:.1} KB of JSON each as served, {mf_kb:.1} KB of it managedFields)",
                a.pods
            ),
            metrics: LIST,
            rows: vec![
                variant("ours", typed, o, "list"),
                variant("ours stream", typed, o, "list-stream"),
                variant("ours no-mf", typed, o, "list-nomf"),
                variant("ours proto stream", typed, o, "list-stream-proto"),
                variant("ours proto no-mf", typed, o, "list-nomf-proto"),
                variant("ours meta", meta, o, "list-meta"),
                variant("kube-rs", ["", ""], k, "list"),
                variant("kube-rs meta", ["", ""], k, "list-meta"),
                variant("client-go proto", ["", ""], g, "list"),
                variant("client-go json", ["", ""], g, "list-json"),
                variant("client-go meta", ["", ""], g, "list-meta"),
            ],
        },
        Scenario {
            name: "informer",
            title: format!(
                "2. informer/reflector: sync {} Pods, then absorb {} updates made by another process",
                a.pods, a.updates
            ),
            metrics: &["sync_s", "absorb_s", "cpu_s", "peak_rss_mb", "steady_rss_mb", "server_cpu_s"],
            rows: vec![
                variant("ours", ["kube-rs", "client-go"], o, "informer"),
                variant("ours proto", ["kube-rs", "client-go"], o, "informer-proto"),
                variant("kube-rs", ["", ""], k, "informer"),
                variant("client-go", ["", ""], g, "informer"),
            ],
        },
        Scenario {
            name: "watch",
            title: format!("3. watch from resourceVersion 0: {} ADDED events into a map", a.pods),
            metrics: &["events_per_s", "wall_s", "cpu_s", "peak_rss_mb", "server_cpu_s"],
            rows: vec![
                variant("ours", ["kube-rs", "client-go proto"], o, "watch"),
                variant("ours no-mf", ["kube-rs", "client-go proto"], o, "watch-nomf"),
                variant("ours proto", ["kube-rs", "client-go proto"], o, "watch-proto"),
                variant("kube-rs", ["", ""], k, "watch"),
                variant("client-go proto", ["", ""], g, "watch"),
                variant("client-go json", ["", ""], g, "watch-json"),
            ],
        },
        Scenario {
            name: "controller",
            title: format!(
                "4. controller over {} ConfigMaps: first pass, then {} stamped writes at {CHURN_RATE}/s",
                a.objects, a.churn
            ),
            metrics: &["first_pass_s", "reconciles_per_s", "p50_ms", "p99_ms", "cpu_s", "peak_rss_mb"],
            rows: vec![
                variant("ours", ["kube-rs", "controller-runtime"], o, "controller"),
                variant("kube-rs", ["", ""], k, "controller"),
                variant("controller-runtime", ["", ""], g, "controller"),
            ],
        },
        Scenario {
            name: "watches",
            title: format!("5. {} watches on one client (one per namespace)", a.watches),
            metrics: &["connections", "wall_s", "cpu_s", "peak_rss_mb"],
            rows: vec![
                variant("ours", ["kube-rs", "client-go"], o, "watches"),
                variant("kube-rs", ["", ""], k, "watches"),
                variant("client-go", ["", ""], g, "watches"),
            ],
        },
    ]
}

/// The Pod `i` of the population as created: no server-set fields, no status.
fn pod_to_create(i: usize) -> (Pod, Value) {
    let mut v = kube_benches::pods::pod(i, 0);
    let status = v["status"].take();
    let meta = v["metadata"].as_object_mut().unwrap();
    for server_set in ["uid", "resourceVersion", "creationTimestamp", "managedFields", "generateName"] {
        meta.remove(server_set);
    }
    v.as_object_mut().unwrap().remove("status");
    (serde_json::from_value(v).unwrap(), status)
}

const CONCURRENCY: usize = 32;

/// Creates the namespaces and the Pods that are not there yet; each Pod is created by
/// `kube-controller-manager` and given its status by `kubelet`, as in a cluster.
async fn populate(client: &Client, a: &Args) -> anyhow::Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut names: Vec<String> = (0..20).map(|i| format!("team-{i}")).collect();
    names.extend((0..a.watches).map(kube_benches::peer::watch_namespace));
    stream::iter(names)
        .map(|name| {
            let namespaces = namespaces.clone();
            async move {
                let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))?;
                match namespaces.create(&PostParams::default(), &ns).await {
                    Err(e) if !is_conflict(&e) => {
                        Err(e).with_context(|| format!("creating namespace {name}"))
                    }
                    _ => Ok(()),
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    let all: Api<Pod> = Api::all(client.clone());
    let have = all.list_metadata(&ListParams::default()).await?.items.len();
    if have >= a.pods {
        println!("{have} Pods are there already");
        return Ok(());
    }
    let start = Instant::now();
    let done = AtomicU64::new(0);
    stream::iter(0..a.pods)
        .map(|i| {
            let client = client.clone();
            let done = &done;
            async move {
                let (pod, status) = pod_to_create(i);
                let name = pod.metadata.name.clone().unwrap_or_default();
                let ns = pod.metadata.namespace.clone().unwrap_or_default();
                let api: Api<Pod> = Api::namespaced(client, &ns);
                match api.create(&PostParams::default().field_manager("kube-controller-manager"), &pod).await
                {
                    Err(e) if !is_conflict(&e) => {
                        return Err(e).with_context(|| format!("creating pod {ns}/{name}"));
                    }
                    _ => {}
                }
                let pp = PatchParams { field_manager: Some("kubelet".into()), ..PatchParams::default() };
                api.patch_status(&name, &pp, &Patch::Merge(json!({ "status": status })))
                    .await
                    .with_context(|| format!("setting the status of pod {ns}/{name}"))?;
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                if n % 2000 == 0 {
                    eprintln!("  {n} Pods created");
                }
                anyhow::Ok(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    println!("created {} Pods in {:.1}s", a.pods, start.elapsed().as_secs_f64());
    Ok(())
}

fn is_conflict(e: &kube_client::Error) -> bool {
    matches!(e, kube_client::Error::Api(s) if s.code == 409)
}

/// Changes label `version` of the first `n` Pods to `value` (one MODIFIED event each).
async fn update(client: &Client, n: usize, value: &str) -> anyhow::Result<()> {
    stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            async move {
                let (pod, _) = pod_to_create(i);
                let ns = pod.metadata.namespace.unwrap_or_default();
                let name = pod.metadata.name.unwrap_or_default();
                let api: Api<Pod> = Api::namespaced(client, &ns);
                let pp = PatchParams {
                    field_manager: Some("kube-controller-manager".into()),
                    ..PatchParams::default()
                };
                let patch = json!({"metadata": {"labels": {"version": value}}});
                api.patch(&name, &pp, &Patch::Merge(patch))
                    .await
                    .with_context(|| format!("updating pod {ns}/{name}"))?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Writes per second of the controller scenario's churn.
const CHURN_RATE: u64 = 100;

/// Creates the controller scenario's namespace and ConfigMaps `cm-0`... (once).
async fn populate_configmaps(client: &Client, a: &Args) -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let ns = kube_benches::peer::ctl_namespace();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}}))?;
    match namespaces.create(&PostParams::default(), &namespace).await {
        Ok(_) => {}
        Err(kube_client::Error::Api(s)) if s.code == 409 => {}
        Err(e) => return Err(e.into()),
    }
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    stream::iter(0..a.objects)
        .map(|i| {
            let api = api.clone();
            async move {
                let cm: ConfigMap = serde_json::from_value(json!({
                    "metadata": {"name": format!("cm-{i}"), "labels": {"app": "bench"}},
                    "data": {"key": "value", "index": i.to_string()},
                }))?;
                match api.create(&PostParams::default(), &cm).await {
                    Ok(_) => anyhow::Ok(()),
                    Err(kube_client::Error::Api(s)) if s.code == 409 => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Stamps `churn` ConfigMaps in turn, `CHURN_RATE` a second on a fixed schedule (a slow write
/// does not delay the next), each with the Unix time in nanoseconds of its sending.
async fn churn(client: &Client, a: &Args) -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &kube_benches::peer::ctl_namespace());
    let start = tokio::time::Instant::now();
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..a.churn {
        tokio::time::sleep_until(start + std::time::Duration::from_millis(i as u64 * 1000 / CHURN_RATE))
            .await;
        let api = api.clone();
        let name = format!("cm-{}", i % a.objects.max(1));
        writes.spawn(async move {
            let stamp = kube_benches::peer::unix_nanos().to_string();
            let patch = json!({"metadata": {"annotations": {kube_benches::peer::STAMP: stamp}}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(patch)).await
        });
    }
    while let Some(w) = writes.join_next().await {
        w??;
    }
    Ok(())
}

/// The size of one Pod as served, and of its managedFields, in KB.
async fn served_size(client: &Client) -> anyhow::Result<(f64, f64)> {
    let (pod, _) = pod_to_create(0);
    let api: Api<Pod> = Api::namespaced(client.clone(), pod.metadata.namespace.as_deref().unwrap_or(""));
    let name = pod.metadata.name.unwrap_or_default();
    let request = api.request_builder().get(&name, &GetParams::default())?;
    let served = client.request_bytes(request).await?;
    let value: Value = serde_json::from_slice(&served)?;
    let mf = serde_json::to_vec(&value["metadata"]["managedFields"])?.len();
    let total = served.len();
    Ok((total as f64 / 1000.0, mf as f64 / 1000.0))
}

fn client_from(path: &Path) -> anyhow::Result<Client> {
    let config = Config::from_custom_kubeconfig(
        KubeconfigSource::Path(path.to_path_buf()),
        &KubeConfigOptions::default(),
    )?;
    Ok(Client::try_from(config)?)
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let programs = programs()?;
    let env = match &a.kubeconfig {
        Some(_) => None,
        None => Some(kube_test::TestEnv::start().context("starting the control plane (KUBEBUILDER_ASSETS)")?),
    };
    let kubeconfig = match (&a.kubeconfig, &env) {
        (Some(path), _) => path.clone(),
        (None, Some(env)) => env.kubeconfig().path().to_path_buf(),
        (None, None) => unreachable!("a control plane was started"),
    };
    let server_pid = env.as_ref().and_then(|e| e.apiserver_pid());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let client = rt.block_on(async { client_from(&kubeconfig) })?;
    let port = client_port(&kubeconfig)?;
    rt.block_on(populate(&client, &a))?;
    let (pod_kb, mf_kb) = rt.block_on(served_size(&client))?;
    println!("one Pod as served: {pod_kb:.2} KB of JSON, {mf_kb:.2} KB of it managedFields");

    let child_env: Vec<(&str, String)> = vec![
        ("KUBECONFIG", kubeconfig.display().to_string()),
        ("BENCH_PODS", a.pods.to_string()),
        ("BENCH_UPDATES", a.updates.to_string()),
        ("BENCH_WATCHES", a.watches.to_string()),
        ("BENCH_CTL_NS", kube_benches::peer::ctl_namespace()),
        ("BENCH_CTL_OBJECTS", a.objects.to_string()),
        ("BENCH_CTL_CHURN", a.churn.to_string()),
    ];
    let round = AtomicU64::new(0);
    let do_updates = || {
        let value = format!("u{}", round.fetch_add(1, Ordering::Relaxed));
        if let Err(e) = rt.block_on(update(&client, a.updates, &value)) {
            eprintln!("error: updates failed: {e:#}");
        }
    };
    let do_churn = || {
        if let Err(e) = rt.block_on(churn(&client, &a)) {
            eprintln!("error: the churn failed: {e:#}");
        }
    };
    if a.only.as_ref().is_none_or(|only| only.iter().any(|o| o == "controller")) {
        rt.block_on(populate_configmaps(&client, &a))?;
    }
    let mut results = Vec::new();
    for scenario in scenarios(&programs, &a, pod_kb, mf_kb) {
        if a.only.as_ref().is_some_and(|only| !only.iter().any(|o| o == scenario.name)) {
            continue;
        }
        let hook = match scenario.name {
            "informer" => Hook::Updates(&do_updates),
            "controller" => Hook::Churn(&do_churn),
            "watches" => Hook::Connections(port),
            _ => Hook::None,
        };
        eprintln!("running {} ({} runs of {} programs)", scenario.name, a.runs, scenario.rows.len());
        let mut samples = vec![Vec::new(); scenario.rows.len()];
        for _ in 0..a.runs {
            for (i, row) in scenario.rows.iter().enumerate() {
                samples[i].push(run_once(row, &child_env, server_pid, &hook)?);
            }
        }
        let r = Results { scenario, samples };
        r.print();
        results.push(r);
    }
    targets(&a, &results);
    let out = json!({
        "date": kube_benches::report::date(),
        "machine": kube_benches::report::machine(),
        "pods": a.pods,
        "runs": a.runs,
        "updates": a.updates,
        "watches": a.watches,
        "objects": a.objects,
        "churn": a.churn,
        "pod_json_kb": pod_kb,
        "managed_fields_kb": mf_kb,
        "scenarios": results.iter().map(Results::json).collect::<Vec<_>>(),
    });
    let path = kube_benches::report::write_json("bench-peers", &out)?;
    println!("\nwritten to {}", path.display());
    drop(env);
    Ok(())
}

fn client_port(kubeconfig: &Path) -> anyhow::Result<u16> {
    let config = Config::from_custom_kubeconfig(
        KubeconfigSource::Path(kubeconfig.to_path_buf()),
        &KubeConfigOptions::default(),
    )?;
    config.cluster_url.port_u16().context("the server URL has no port")
}

/// The targets of issue 15 that these scenarios measure: met or not.
fn targets(a: &Args, results: &[Results]) {
    let find = |name: &str| results.iter().find(|r| r.scenario.name == name);
    let mut lines = Vec::new();
    let mut check = |what: String, ratio: Option<f64>, at_most: f64| {
        if let Some(r) = ratio {
            let verdict = if r <= at_most { "met" } else { "NOT met" };
            lines.push(format!("  {what}: {r:.2} (target ≤ {at_most:.2}) {verdict}"));
        }
    };
    let ratio = |r: &Results, a: &str, b: &str, m: &str| Some(r.median(a, m)? / r.median(b, m)?);
    if let Some(r) = find("list") {
        check("LIST CPU ours / kube-rs".into(), ratio(r, "ours", "kube-rs", "cpu_s"), 0.7);
        check("LIST CPU ours stream / kube-rs".into(), ratio(r, "ours stream", "kube-rs", "cpu_s"), 0.7);
        check("LIST CPU ours no-mf / kube-rs".into(), ratio(r, "ours no-mf", "kube-rs", "cpu_s"), 0.45);
        check(
            "LIST CPU ours proto no-mf / client-go proto".into(),
            ratio(r, "ours proto no-mf", "client-go proto", "cpu_s"),
            1.0,
        );
        check(
            "LIST peak RSS ours stream / client-go proto".into(),
            ratio(r, "ours stream", "client-go proto", "peak_rss_mb"),
            1.0,
        );
        check(
            "LIST CPU ours stream / client-go proto".into(),
            ratio(r, "ours stream", "client-go proto", "cpu_s"),
            1.0,
        );
        check(
            "LIST CPU ours proto stream / client-go proto".into(),
            ratio(r, "ours proto stream", "client-go proto", "cpu_s"),
            1.0,
        );
    }
    if let Some(r) = find("informer") {
        check("informer sync time ours / client-go".into(), ratio(r, "ours", "client-go", "sync_s"), 1.0);
        check(
            "informer sync time ours proto / client-go".into(),
            ratio(r, "ours proto", "client-go", "sync_s"),
            1.0,
        );
        check(
            "reflector peak RSS ours proto / client-go".into(),
            ratio(r, "ours proto", "client-go", "peak_rss_mb"),
            0.5,
        );
        check("reflector peak RSS ours / kube-rs".into(), ratio(r, "ours", "kube-rs", "peak_rss_mb"), 0.25);
        check(
            "reflector peak RSS ours / client-go".into(),
            ratio(r, "ours", "client-go", "peak_rss_mb"),
            1.0 / 3.0,
        );
    }
    if let Some(r) = find("watch") {
        // At least 2× the rate: kube-rs's rate / ours at most 0.5.
        check("watch absorb rate kube-rs / ours".into(), ratio(r, "kube-rs", "ours", "events_per_s"), 0.5);
        check(
            "watch absorb rate kube-rs / ours proto".into(),
            ratio(r, "kube-rs", "ours proto", "events_per_s"),
            0.5,
        );
    }
    if let Some(r) = find("watches") {
        if let Some(c) = r.median("ours", "connections") {
            // The issue asks for one connection, but the apiserver allows only 100 streams on
            // one (`--http2-max-streams-per-connection`), so the floor is one per 100 watches.
            let floor = a.watches.div_ceil(100).max(1) as f64;
            let verdict = if c <= floor { "met (at the apiserver's floor)" } else { "NOT met" };
            lines.push(format!(
                "  TCP connections of ours for the watches: {c:.0} (target 1; the apiserver's 100 streams per connection make it {floor:.0}) {verdict}"
            ));
        }
    }
    println!("\n== targets (issue 15)");
    for l in lines {
        println!("{l}");
    }
}

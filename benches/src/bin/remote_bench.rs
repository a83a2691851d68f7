//! `just bench-remote`: exec and port-forward through the API server, ours beside the real
//! `kubectl` in the same run.
//!
//! Starts a kube-test control plane with its fake kubelet (whose "containers" are local
//! processes and whose pod port `echo_port` is a TCP echo server) and one Pod, then measures,
//! each client as separate processes measured from outside (CPU from the runner's reaped
//! children in /proc, or from the live process for a forwarder; peak RSS as `VmHWM`):
//! - exec round trips: `--execs` sequential `echo hi`. Ours in one process with one `Client`
//!   (latency per exec in-process, execs/s over the loop, CPU per exec over the whole process),
//!   ours as one process per exec, and `kubectl exec`, which is a process per exec (latency
//!   as a user sees it, process start included);
//! - exec stdout throughput: `head -c --mb MB /dev/zero` in the container, its output copied to
//!   the client's stdout and read by the runner; MB/s over the whole process;
//! - port-forward: a local listener to the echo port, ours (`portforward_listen`) and
//!   `kubectl port-forward`; the runner's TCP client writes `--mb` MB and reads them back
//!   (MB/s), and opens `--connects` connections one after the other, each connect + 1 byte
//!   echoed (setup latency); plus ours in-process over `portforward` (no local socket).
//!
//! The API server's and the fake kubelet's CPU over each measurement is shown too ("server CPU",
//! for port-forward the setup connections included). Every scenario runs `--runs` times, the clients interleaved. Prints one table with ratios
//! ours / kubectl (medians) and writes everything to `bench-remote/latest.json` in the target
//! directory. The API server, the fake kubelet and the clients share the machine's cores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Pod;
use kube_benches::report::{self, fmt, median, quantile};
use kube_client::{
    Api, Client, Config,
    config::{KubeConfigOptions, KubeconfigSource},
    core::params::AttachParams,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const USAGE: &str = "usage: remote_bench [--execs N] [--mb MB] [--connects N] [--runs N]
                    [--only exec,stream,forward]
       remote_bench client exec|stream|stream-sink|forward|pf-inproc --kubeconfig PATH --ns NS --pod P
                    [--count N] [--bytes B] [--port P]";

const NS: &str = "bench-remote";
const POD: &str = "bench";

struct Args {
    execs: usize,
    mb: usize,
    connects: usize,
    runs: usize,
    only: Option<Vec<String>>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args { execs: 50, mb: 100, connects: 50, runs: 3, only: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--execs" => a.execs = value()?.parse()?,
            "--mb" => a.mb = value()?.parse()?,
            "--connects" => a.connects = value()?.parse()?,
            "--runs" => a.runs = value()?.parse()?,
            "--only" => a.only = Some(value()?.split(',').map(str::to_owned).collect()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    anyhow::ensure!(a.execs > 0 && a.mb > 0 && a.connects > 0 && a.runs > 0, "counts must be positive");
    Ok(a)
}

// ---- the client process (`client ...`): ours, one Client, figures as key=value on stderr ----

struct ClientArgs {
    mode: String,
    kubeconfig: PathBuf,
    ns: String,
    pod: String,
    count: usize,
    bytes: u64,
    port: u16,
}

fn client_args(mut it: impl Iterator<Item = String>) -> anyhow::Result<ClientArgs> {
    let mode = it.next().context(USAGE)?;
    let mut c = ClientArgs {
        mode,
        kubeconfig: PathBuf::new(),
        ns: String::new(),
        pod: String::new(),
        count: 1,
        bytes: 0,
        port: 0,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--kubeconfig" => c.kubeconfig = value()?.into(),
            "--ns" => c.ns = value()?,
            "--pod" => c.pod = value()?,
            "--count" => c.count = value()?.parse()?,
            "--bytes" => c.bytes = value()?.parse()?,
            "--port" => c.port = value()?.parse()?,
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    Ok(c)
}

fn client_main(it: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let c = client_args(it)?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let config = Config::from_custom_kubeconfig(
            KubeconfigSource::Path(c.kubeconfig.clone()),
            &KubeConfigOptions::default(),
        )?;
        let pods: Api<Pod> = Api::namespaced(Client::try_from(config)?, &c.ns);
        match c.mode.as_str() {
            "exec" => {
                let mut latencies = Vec::with_capacity(c.count);
                let start = Instant::now();
                for _ in 0..c.count {
                    let t = Instant::now();
                    let out = pods.exec_output(&c.pod, ["echo", "hi"], None).await?;
                    anyhow::ensure!(out.stdout == b"hi\n" && out.status.success(), "exec: {out:?}");
                    // What a user of the command sees, as kubectl prints it.
                    tokio::io::stdout().write_all(&out.stdout).await?;
                    latencies.push(t.elapsed());
                }
                let wall = start.elapsed().as_secs_f64();
                latencies.sort();
                eprintln!(
                    "loop_s={wall} p50_ms={} p99_ms={}",
                    quantile(&latencies, 0.5) * 1000.0,
                    quantile(&latencies, 0.99) * 1000.0
                );
            }
            "stream" | "stream-sink" => {
                let t = Instant::now();
                let ap = AttachParams { stdout: true, stderr: false, ..AttachParams::default() };
                let command = ["head", "-c", &c.bytes.to_string(), "/dev/zero"];
                let mut proc = pods.exec(&c.pod, command, &ap).await?;
                let mut stdout = proc.take_stdout().context("no stdout")?;
                // To stdout as a CLI would write it: straight to the pipe (tokio's `Stdout` goes
                // through a blocking-pool thread per write, which costs more CPU than the exec).
                let (mut copied, mut buf) = (0u64, vec![0u8; 64 * 1024]);
                let mut out = std::io::stdout().lock();
                loop {
                    let n = stdout.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    if c.mode == "stream" {
                        tokio::task::block_in_place(|| std::io::Write::write_all(&mut out, &buf[..n]))?;
                    }
                    copied += n as u64;
                }
                drop(out);
                anyhow::ensure!(copied == c.bytes, "{copied} bytes of {}", c.bytes);
                anyhow::ensure!(proc.wait().await?.success(), "head failed");
                eprintln!("mb_per_s={}", copied as f64 / 1e6 / t.elapsed().as_secs_f64());
            }
            "forward" => {
                let listener =
                    pods.portforward_listen(&c.pod, SocketAddr::from(([127, 0, 0, 1], 0)), c.port).await?;
                println!("listening {}", listener.local_addr().port());
                // Until the runner closes our stdin.
                let mut sink = Vec::new();
                tokio::io::stdin().read_to_end(&mut sink).await?;
            }
            "pf-inproc" => {
                // Setup: `count` sessions one after the other, each 1 byte echoed; then `bytes`
                // through one more.
                let mut latencies = Vec::with_capacity(c.count);
                for _ in 0..c.count {
                    let t = Instant::now();
                    let mut pf = pods.portforward(&c.pod, &[c.port]).await?;
                    let mut s = pf.take_stream(c.port).context("no stream")?;
                    s.write_all(b"x").await?;
                    let mut one = [0u8; 1];
                    s.read_exact(&mut one).await?;
                    latencies.push(t.elapsed());
                    drop(s);
                    pf.join().await?;
                }
                latencies.sort();
                let mut pf = pods.portforward(&c.pod, &[c.port]).await?;
                let s = pf.take_stream(c.port).context("no stream")?;
                let (mut read, mut write) = tokio::io::split(s);
                let t = Instant::now();
                let total = c.bytes;
                let writer = async move {
                    let chunk = vec![7u8; 64 * 1024];
                    let mut left = total;
                    while left > 0 {
                        let n = left.min(chunk.len() as u64) as usize;
                        write.write_all(&chunk[..n]).await?;
                        left -= n as u64;
                    }
                    std::io::Result::Ok(write)
                };
                let reader = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut got = 0u64;
                    while got < total {
                        let n = read.read(&mut buf).await?;
                        if n == 0 {
                            break;
                        }
                        got += n as u64;
                    }
                    std::io::Result::Ok(got)
                };
                let (w, got) = tokio::try_join!(writer, reader)?;
                let secs = t.elapsed().as_secs_f64();
                anyhow::ensure!(got == total, "{got} bytes echoed of {total}");
                drop(w);
                eprintln!(
                    "mb_per_s={} setup_p50_ms={} setup_p99_ms={}",
                    total as f64 / 1e6 / secs,
                    quantile(&latencies, 0.5) * 1000.0,
                    quantile(&latencies, 0.99) * 1000.0
                );
            }
            other => bail!("unknown mode `{other}`\n{USAGE}"),
        }
        eprintln!("peak_rss_mb={}", report::peak_rss_mb(std::process::id()).unwrap_or(f64::NAN));
        anyhow::Ok(())
    })
}

// ---- the runner ----

/// The runner's reaped children's CPU seconds so far (`cutime + cstime`).
fn children_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    (f.get(13).copied().unwrap_or(0.0) + f.get(14).copied().unwrap_or(0.0)) / 100.0
}

/// `key=value` figures in a client's stderr.
fn figures(stderr: &str) -> BTreeMap<String, f64> {
    stderr
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
        .collect()
}

struct Ctx {
    exe: PathBuf,
    kubectl: PathBuf,
    kubeconfig: PathBuf,
    echo_port: u16,
    /// The API server's and the fake kubelet's processes.
    servers: Vec<u32>,
}

impl Ctx {
    /// CPU seconds of the API server and the kubelet so far (the kubelet's commands included).
    fn servers_cpu_s(&self) -> f64 {
        self.servers.iter().filter_map(|pid| report::cpu_s(*pid)).sum()
    }
}

impl Ctx {
    fn ours(&self, mode: &str) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.args(["client", mode, "--ns", NS, "--pod", POD, "--kubeconfig"]).arg(&self.kubeconfig);
        cmd
    }

    fn kubectl(&self) -> Command {
        let mut cmd = Command::new(&self.kubectl);
        cmd.arg("--kubeconfig").arg(&self.kubeconfig);
        cmd
    }

    fn kubectl_exec(&self, command: &[&str]) -> Command {
        let mut cmd = self.kubectl();
        cmd.args(["exec", "-n", NS, POD, "--"]).args(command);
        cmd
    }
}

/// Runs `cmd` to its end; its stdout, stderr, wall time and CPU.
fn run(cmd: &mut Command) -> anyhow::Result<(Vec<u8>, String, f64, f64)> {
    let cpu = children_cpu_s();
    let t = Instant::now();
    let out = cmd.stdin(Stdio::null()).output()?;
    let wall = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        bail!("{cmd:?} failed ({}): {stderr}", out.status);
    }
    Ok((out.stdout, stderr, wall, children_cpu_s() - cpu))
}

/// Runs `cmd` with its stdout counted and thrown away; bytes, wall time and CPU.
fn run_counting(cmd: &mut Command) -> anyhow::Result<(u64, f64, f64)> {
    let cpu = children_cpu_s();
    let t = Instant::now();
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut stdout = child.stdout.take().context("stdout")?;
    let copied = std::io::copy(&mut stdout, &mut std::io::sink())?;
    let mut stderr = String::new();
    child.stderr.take().context("stderr")?.read_to_string(&mut stderr)?;
    let status = child.wait()?;
    let wall = t.elapsed().as_secs_f64();
    if !status.success() {
        bail!("{cmd:?} failed ({status}): {stderr}");
    }
    Ok((copied, wall, children_cpu_s() - cpu))
}

/// Peak RSS of one run of `cmd`, by GNU time.
fn peak_rss_of(cmd: &Command) -> Option<f64> {
    let out = tempfile::NamedTempFile::new().ok()?;
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(out.path())
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    if !status.success() {
        return None;
    }
    let text = std::fs::read_to_string(out.path()).ok()?;
    text.lines().last()?.trim().parse::<f64>().ok().map(|kb| kb / 1000.0)
}

/// One row of the table: a client in a scenario, its figures per run.
struct Row {
    scenario: &'static str,
    client: &'static str,
    runs: Vec<BTreeMap<&'static str, f64>>,
}

impl Row {
    fn median(&self, metric: &str) -> f64 {
        median(self.runs.iter().filter_map(|r| r.get(metric).copied()).collect())
    }
}

/// exec round trips, ours in one process.
fn exec_ours(ctx: &Ctx, n: usize) -> anyhow::Result<BTreeMap<&'static str, f64>> {
    let (_, stderr, wall, cpu) = run(ctx.ours("exec").args(["--count", &n.to_string()]))?;
    let f = figures(&stderr);
    let loop_s = f.get("loop_s").copied().unwrap_or(f64::NAN);
    Ok(BTreeMap::from([
        ("p50_ms", f.get("p50_ms").copied().unwrap_or(f64::NAN)),
        ("p99_ms", f.get("p99_ms").copied().unwrap_or(f64::NAN)),
        ("per_s", n as f64 / loop_s),
        ("cpu_ms_per_exec", cpu * 1000.0 / n as f64),
        ("process_s", wall),
        ("peak_rss_mb", f.get("peak_rss_mb").copied().unwrap_or(f64::NAN)),
    ]))
}

/// exec round trips as one process each (ours with `--count 1`, or kubectl).
fn exec_per_process(
    n: usize,
    mut make: impl FnMut() -> Command,
) -> anyhow::Result<BTreeMap<&'static str, f64>> {
    let mut latencies = Vec::with_capacity(n);
    let (mut cpu, mut total) = (0.0, 0.0);
    let mut peak = 0.0f64;
    for _ in 0..n {
        let (stdout, stderr, wall, c) = run(&mut make())?;
        anyhow::ensure!(stdout == b"hi\n", "exec printed {:?}", String::from_utf8_lossy(&stdout));
        if let Some(p) = figures(&stderr).get("peak_rss_mb") {
            peak = peak.max(*p);
        }
        latencies.push(Duration::from_secs_f64(wall));
        cpu += c;
        total += wall;
    }
    latencies.sort();
    if peak == 0.0 {
        peak = peak_rss_of(&make()).unwrap_or(f64::NAN);
    }
    Ok(BTreeMap::from([
        ("p50_ms", quantile(&latencies, 0.5) * 1000.0),
        ("p99_ms", quantile(&latencies, 0.99) * 1000.0),
        ("per_s", n as f64 / total),
        ("cpu_ms_per_exec", cpu * 1000.0 / n as f64),
        ("peak_rss_mb", peak),
    ]))
}

/// exec stdout throughput: `bytes` of zeros through the client's stdout.
fn stream(mut cmd: Command, bytes: u64) -> anyhow::Result<BTreeMap<&'static str, f64>> {
    let (copied, wall, cpu) = run_counting(&mut cmd)?;
    anyhow::ensure!(copied == bytes, "{copied} bytes of {bytes}");
    Ok(BTreeMap::from([
        ("mb_per_s", bytes as f64 / 1e6 / wall),
        ("cpu_s_per_100mb", cpu / (bytes as f64 / 1e8)),
    ]))
}

/// A running forwarder (ours or kubectl) and its local port; killed when dropped.
struct Forwarder {
    child: Child,
    port: u16,
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Forwarder {
    /// Starts `cmd` and reads its local port from the line `parse` recognises.
    fn start(mut cmd: Command, parse: fn(&str) -> Option<u16>) -> anyhow::Result<Self> {
        let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = parse(&line) {
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx.recv_timeout(Duration::from_secs(30));
        let f = Forwarder { child, port: port.unwrap_or(0) };
        anyhow::ensure!(f.port != 0, "the forwarder printed no local port");
        Ok(f)
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

/// `kubectl port-forward`'s "Forwarding from 127.0.0.1:PORT -> P".
fn kubectl_port(line: &str) -> Option<u16> {
    line.strip_prefix("Forwarding from 127.0.0.1:")?.split_whitespace().next()?.parse().ok()
}

fn ours_port(line: &str) -> Option<u16> {
    line.strip_prefix("listening ")?.trim().parse().ok()
}

/// Writes `bytes` and reads them back through one connection; MB/s.
fn echo_throughput(addr: SocketAddr, bytes: u64) -> anyhow::Result<f64> {
    let conn = TcpStream::connect(addr)?;
    conn.set_nodelay(true)?;
    let mut write = conn.try_clone()?;
    let mut read = conn;
    let t = Instant::now();
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let chunk = vec![7u8; 64 * 1024];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            write.write_all(&chunk[..n])?;
            left -= n as u64;
        }
        Ok(())
    });
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0u64;
    read.set_read_timeout(Some(Duration::from_secs(60)))?;
    while got < bytes {
        let n = read.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got += n as u64;
    }
    let secs = t.elapsed().as_secs_f64();
    writer.join().map_err(|_| anyhow::anyhow!("the writer panicked"))??;
    anyhow::ensure!(got == bytes, "{got} bytes echoed of {bytes}");
    Ok(bytes as f64 / 1e6 / secs)
}

/// Opens `n` connections one after the other, each connect + 1 byte echoed; sorted latencies.
fn echo_setup(addr: SocketAddr, n: usize) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let mut conn = TcpStream::connect(addr)?;
        conn.set_nodelay(true)?;
        conn.set_read_timeout(Some(Duration::from_secs(30)))?;
        conn.write_all(b"x")?;
        let mut one = [0u8; 1];
        conn.read_exact(&mut one)?;
        latencies.push(t.elapsed());
    }
    latencies.sort();
    Ok(latencies)
}

fn forward(
    cmd: Command,
    parse: fn(&str) -> Option<u16>,
    a: &Args,
) -> anyhow::Result<BTreeMap<&'static str, f64>> {
    let f = Forwarder::start(cmd, parse)?;
    let pid = f.child.id();
    // The first connection opens kubectl's session: leave it out of the setup figures.
    echo_setup(f.addr(), 1).context("the first connection")?;
    let setup = echo_setup(f.addr(), a.connects).context("setup latency")?;
    let bytes = a.mb as u64 * 1_000_000;
    let cpu = report::cpu_s(pid).context("forwarder CPU")?;
    let mb_per_s = echo_throughput(f.addr(), bytes).context("throughput")?;
    let cpu = report::cpu_s(pid).context("forwarder CPU")? - cpu;
    Ok(BTreeMap::from([
        ("setup_p50_ms", quantile(&setup, 0.5) * 1000.0),
        ("setup_p99_ms", quantile(&setup, 0.99) * 1000.0),
        ("mb_per_s", mb_per_s),
        ("cpu_s_per_100mb", cpu / (bytes as f64 / 1e8)),
        ("peak_rss_mb", report::peak_rss_mb(pid).unwrap_or(f64::NAN)),
    ]))
}

fn pf_inproc(ctx: &Ctx, a: &Args) -> anyhow::Result<BTreeMap<&'static str, f64>> {
    let bytes = a.mb as u64 * 1_000_000;
    let (_, stderr, _, cpu) = run(ctx.ours("pf-inproc").args([
        "--port",
        &ctx.echo_port.to_string(),
        "--count",
        &a.connects.to_string(),
        "--bytes",
        &bytes.to_string(),
    ]))?;
    let f = figures(&stderr);
    let get = |k: &str| f.get(k).copied().unwrap_or(f64::NAN);
    Ok(BTreeMap::from([
        ("setup_p50_ms", get("setup_p50_ms")),
        ("setup_p99_ms", get("setup_p99_ms")),
        ("mb_per_s", get("mb_per_s")),
        // The whole process: setups included.
        ("process_cpu_s", cpu),
        ("peak_rss_mb", get("peak_rss_mb")),
    ]))
}

/// The metrics of a scenario, with their titles.
fn metrics(scenario: &str) -> &'static [(&'static str, &'static str)] {
    match scenario {
        "exec" => &[
            ("p50_ms", "p50 ms"),
            ("p99_ms", "p99 ms"),
            ("per_s", "execs/s"),
            ("cpu_ms_per_exec", "client CPU ms/exec"),
            ("peak_rss_mb", "peak RSS MB"),
            ("server_cpu_ms_per_exec", "server CPU ms/exec"),
        ],
        "stream" => &[
            ("mb_per_s", "MB/s"),
            ("cpu_s_per_100mb", "client CPU s/100 MB"),
            ("server_cpu_s_per_100mb", "server CPU s/100 MB"),
        ],
        _ => &[
            ("setup_p50_ms", "setup p50 ms"),
            ("setup_p99_ms", "setup p99 ms"),
            ("mb_per_s", "echo MB/s"),
            ("cpu_s_per_100mb", "client CPU s/100 MB"),
            ("peak_rss_mb", "peak RSS MB"),
            ("server_cpu_s_per_100mb", "server CPU s/100 MB"),
        ],
    }
}

fn print_tables(rows: &[Row], a: &Args) {
    let titles = [
        ("exec", format!("exec `echo hi`, {} one after the other", a.execs)),
        ("stream", format!("exec `head -c {}M /dev/zero`, stdout to the client's stdout", a.mb)),
        (
            "forward",
            format!(
                "port-forward to the echo server: {} connects (+1 byte echoed), {} MB written and read back",
                a.connects, a.mb
            ),
        ),
    ];
    for (scenario, title) in titles {
        let mine: Vec<&Row> = rows.iter().filter(|r| r.scenario == scenario).collect();
        let Some(peer) = mine.iter().find(|r| r.client == "kubectl") else { continue };
        println!("\n== {title} (medians of {} runs)", a.runs);
        print!("{:<34}", "client");
        for (_, t) in metrics(scenario) {
            print!(" {t:>20}");
        }
        println!();
        for r in &mine {
            print!("{:<34}", r.client);
            for (m, _) in metrics(scenario) {
                print!(" {:>20}", fmt(r.median(m)));
            }
            println!();
        }
        for r in mine.iter().filter(|r| r.client != "kubectl") {
            print!("{:<34}", format!("{} / kubectl", r.client));
            for (m, _) in metrics(scenario) {
                let ratio = r.median(m) / peer.median(m);
                print!(" {:>20}", if ratio.is_finite() { format!("{ratio:.2}") } else { "-".into() });
            }
            println!();
        }
    }
}

fn json_rows(rows: &[Row]) -> Value {
    rows.iter()
        .map(|r| {
            let mut metrics = serde_json::Map::new();
            let names: std::collections::BTreeSet<&str> =
                r.runs.iter().flat_map(|m| m.keys().copied()).collect();
            for m in names {
                let runs: Vec<f64> = r.runs.iter().filter_map(|x| x.get(m).copied()).collect();
                metrics.insert(m.to_owned(), json!({"median": r.median(m), "runs": runs}));
            }
            json!({"scenario": r.scenario, "client": r.client, "metrics": metrics})
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let mut raw = std::env::args().skip(1);
    if raw.next().as_deref() == Some("client") {
        return client_main(raw);
    }
    let a = args()?;
    let env = kube_test::TestEnv::start().context("starting the control plane (KUBEBUILDER_ASSETS)")?;
    let kubelet = env.kubelet()?;
    env.create_namespace(NS)?;
    kubelet.run_pod(&env, NS, POD, &[kube_test::FakeContainer::new("main", &["sleep", "3600"])])?;
    let ctx = Ctx {
        exe: std::env::current_exe()?,
        kubectl: env.binaries().kubectl()?.to_path_buf(),
        kubeconfig: env.kubeconfig().path().to_path_buf(),
        echo_port: kubelet.echo_port(),
        servers: env.apiserver_pid().into_iter().chain([kubelet.pid()]).collect(),
    };
    let version = run(ctx.kubectl().args(["version", "--client", "-o", "json"]))
        .ok()
        .and_then(|(out, ..)| serde_json::from_slice::<Value>(&out).ok())
        .and_then(|v| v["clientVersion"]["gitVersion"].as_str().map(str::to_owned))
        .unwrap_or_default();
    println!("kubectl {version}; {} runs", a.runs);
    let bytes = a.mb as u64 * 1_000_000;
    let head = ["head", "-c", &bytes.to_string(), "/dev/zero"].map(str::to_owned);
    let pf_target = format!(":{}", ctx.echo_port);
    let mut rows: Vec<Row> = [
        ("exec", "ours, 1 process"),
        ("exec", "ours, process per exec"),
        ("exec", "kubectl"),
        ("stream", "ours"),
        ("stream", "ours in-process"),
        ("stream", "kubectl"),
        ("forward", "ours listener"),
        ("forward", "ours in-process"),
        ("forward", "kubectl"),
    ]
    .into_iter()
    .filter(|(scenario, _)| a.only.as_ref().is_none_or(|only| only.iter().any(|o| o == scenario)))
    .map(|(scenario, client)| Row { scenario, client, runs: Vec::new() })
    .collect();
    // Warm up: the Pod's first exec, the apiserver's connection to the kubelet.
    run(&mut ctx.kubectl_exec(&["echo", "hi"]))?;
    for run_no in 0..a.runs {
        eprintln!("run {} of {}", run_no + 1, a.runs);
        for row in &mut rows {
            eprintln!("  {} {}", row.scenario, row.client);
            let servers_before = ctx.servers_cpu_s();
            let mut figures = match (row.scenario, row.client) {
                ("exec", "ours, 1 process") => exec_ours(&ctx, a.execs)?,
                ("exec", "ours, process per exec") => exec_per_process(a.execs, || {
                    let mut c = ctx.ours("exec");
                    c.args(["--count", "1"]);
                    c
                })?,
                ("exec", _) => exec_per_process(a.execs, || ctx.kubectl_exec(&["echo", "hi"]))?,
                ("stream", "ours") => {
                    let mut c = ctx.ours("stream");
                    c.args(["--bytes", &bytes.to_string()]);
                    stream(c, bytes)?
                }
                ("stream", "ours in-process") => {
                    let (_, stderr, _, cpu) =
                        run(ctx.ours("stream-sink").args(["--bytes", &bytes.to_string()]))?;
                    let mb_per_s = figures(&stderr).get("mb_per_s").copied().unwrap_or(f64::NAN);
                    BTreeMap::from([("mb_per_s", mb_per_s), ("cpu_s_per_100mb", cpu / (bytes as f64 / 1e8))])
                }
                ("stream", _) => stream(ctx.kubectl_exec(&head.each_ref().map(String::as_str)), bytes)?,
                ("forward", "ours listener") => {
                    let mut c = ctx.ours("forward");
                    c.args(["--port", &ctx.echo_port.to_string()]);
                    forward(c, ours_port, &a)?
                }
                ("forward", "ours in-process") => pf_inproc(&ctx, &a)?,
                _ => {
                    let mut c = ctx.kubectl();
                    c.args(["port-forward", "-n", NS, &format!("pod/{POD}"), &pf_target]);
                    forward(c, kubectl_port, &a)?
                }
            };
            let servers = ctx.servers_cpu_s() - servers_before;
            if row.scenario == "exec" {
                figures.insert("server_cpu_ms_per_exec", servers * 1000.0 / a.execs as f64);
            } else {
                figures.insert("server_cpu_s_per_100mb", servers / (bytes as f64 / 1e8));
            }
            row.runs.push(figures);
        }
    }
    print_tables(&rows, &a);
    let out = json!({
        "date": report::date(),
        "machine": report::machine(),
        "kubectl": version,
        "execs": a.execs,
        "mb": a.mb,
        "connects": a.connects,
        "runs": a.runs,
        "only": a.only,
        "rows": json_rows(&rows),
    });
    let path = report::write_json("bench-remote", &out)?;
    println!("\nwritten to {}", path.display());
    drop(env);
    Ok(())
}

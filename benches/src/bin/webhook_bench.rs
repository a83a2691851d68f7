//! `just bench-webhook`: our admission webhook server beside controller-runtime's, both serving
//! one trivial validating handler over TLS on loopback, driven by the same Rust load generator
//! in the same run.
//!
//! A test CA (kube-test's `TestCa`) issues one serving certificate that both servers load. Each
//! server is a child process started afresh for each measurement: ours is this program with
//! `serve` (kube-webhook, the handler either raw, like controller-runtime's `HandlerFunc`, or
//! a typed `Validator<Pod>` that decodes the object), the peer `tools/webhook-peer`
//! (controller-runtime v0.25.3, `admission.HandlerFunc` allowing everything). The load
//! generator (hyper over rustls, in this process) keeps `--concurrency` requests in flight for
//! `--warmup` + `--duration` seconds: over HTTP/2 on `--connections` connections (as the API
//! server's Go client calls webhooks), and over HTTP/1.1 keep-alive with one connection per
//! request in flight. Each request is an AdmissionReview v1 CREATE of a realistic Pod (about
//! 6 KB) with its own uid; each answer is checked (200, allowed, the same uid).
//!
//! Measured in the window after the warmup: requests per second, latency p50/p99, the server's
//! CPU seconds per 10,000 requests (from /proc), its peak RSS (`VmHWM`), and the load
//! generator's CPU per 10,000 requests. The servers and the load generator share the machine's
//! cores, alike for both. Prints one table per protocol with ratios ours / controller-runtime
//! (medians over `--runs`), and writes everything to `bench-webhook/latest.json` in the target
//! directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use k8s_openapi::api::core::v1::Pod;
use kube_benches::report::{self, fmt, median, quantile};
use kube_core::admission::{AdmissionRequest, AdmissionResponse};
use rustls_pki_types::{CertificateDer, ServerName, pem::PemObject};
use serde_json::{Value, json};

const USAGE: &str = "usage: webhook_bench [--duration S] [--warmup S] [--runs N] [--concurrency C]
                     [--connections K] [--protocols h2,h1] [--peer PATH]
       webhook_bench serve --cert-dir DIR --port P --handler raw|typed";

struct Args {
    duration: Duration,
    warmup: Duration,
    runs: usize,
    concurrency: usize,
    connections: usize,
    protocols: Vec<Proto>,
    peer: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Proto {
    H2,
    H1,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::H2 => "HTTP/2",
            Proto::H1 => "HTTP/1.1",
        }
    }
}

fn args() -> anyhow::Result<Args> {
    let peer = std::env::var_os("WEBHOOK_PEER").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/kube-dev/webhook-peer/webhook-peer")
    });
    let mut a = Args {
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        runs: 2,
        concurrency: 32,
        connections: 2,
        protocols: vec![Proto::H2, Proto::H1],
        peer,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--duration" => a.duration = Duration::from_secs_f64(value()?.parse()?),
            "--warmup" => a.warmup = Duration::from_secs_f64(value()?.parse()?),
            "--runs" => a.runs = value()?.parse()?,
            "--concurrency" => a.concurrency = value()?.parse()?,
            "--connections" => a.connections = value()?.parse()?,
            "--protocols" => {
                a.protocols = value()?
                    .split(',')
                    .map(|p| match p {
                        "h2" => Ok(Proto::H2),
                        "h1" => Ok(Proto::H1),
                        other => Err(anyhow::anyhow!("unknown protocol `{other}` (h2, h1)")),
                    })
                    .collect::<anyhow::Result<_>>()?
            }
            "--peer" => a.peer = value()?.into(),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    anyhow::ensure!(a.concurrency > 0 && a.connections > 0 && a.runs > 0, "counts must be positive");
    Ok(a)
}

/// `serve`: our webhook server, until killed.
fn serve(mut it: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let (mut dir, mut port, mut handler) = (PathBuf::new(), 0u16, String::from("raw"));
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--cert-dir" => dir = value()?.into(),
            "--port" => port = value()?.parse()?,
            "--handler" => handler = value()?,
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    let handler: kube_webhook::Handler =
        match handler.as_str() {
            // Like controller-runtime's `admission.HandlerFunc`: the review decoded, the object left
            // as it came, an answer with the request's uid.
            "raw" => kube_webhook::Handler::admission(|req: AdmissionRequest| async move {
                AdmissionResponse::from(&req)
            }),
            // The typed handler a user would write: the Pod decoded into k8s-openapi's type.
            "typed" => {
                kube_webhook::Validator::new(|_req: AdmissionRequest<Pod>| async move { Ok(vec![]) }).into()
            }
            other => bail!("unknown handler `{other}` (raw, typed)"),
        };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let tls = kube_webhook::TlsConfig::from_files(dir.join("tls.crt"), dir.join("tls.key"));
        let bound = kube_webhook::WebhookServer::new(tls)
            .route("/validate", handler)
            .bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await?;
        println!("serving");
        bound.serve(std::future::pending()).await;
        anyhow::Ok(())
    })
}

/// A server under test.
#[derive(Clone)]
struct Server {
    label: &'static str,
    program: PathBuf,
    args: Vec<String>,
}

/// A running server; killed when dropped.
struct Running {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Server {
    fn start(&self, cert_dir: &Path) -> anyhow::Result<Running> {
        let port = free_port()?;
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .arg("--cert-dir")
            .arg(cert_dir)
            .arg("--port")
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", self.program.display()))?;
        let stdout = child.stdout.take().context("stdout")?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let running = Running { child, addr };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line == "serving" {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(20)).with_context(|| format!("{} did not start", self.label))?;
        // controller-runtime prints before it listens: wait for the port.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(addr).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "{} does not listen on {addr}", self.label);
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(running)
    }
}

/// An AdmissionReview v1 of a Pod CREATE as the API server sends it, split around its uid.
struct Body {
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

const UID_MARK: &str = "@@UID@@";

impl Body {
    fn new() -> Self {
        let mut pod = kube_benches::pods::pod(7, 0);
        pod.as_object_mut().unwrap().remove("status");
        let meta = pod["metadata"].as_object_mut().unwrap();
        for later in ["uid", "resourceVersion", "creationTimestamp"] {
            meta.remove(later);
        }
        meta.insert("managedFields".into(), json!([pod_managed_fields()]));
        let gvk = json!({"group": "", "version": "v1", "kind": "Pod"});
        let gvr = json!({"group": "", "version": "v1", "resource": "pods"});
        let review = json!({
            "kind": "AdmissionReview",
            "apiVersion": "admission.k8s.io/v1",
            "request": {
                "uid": UID_MARK,
                "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
                "name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"],
                "operation": "CREATE",
                "userInfo": {
                    "username": "system:serviceaccount:kube-system:replicaset-controller",
                    "uid": "2c1d9e4a-7b3f-4e8a-9c6d-5f4e3d2c1b0a",
                    "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]
                },
                "object": pod,
                "oldObject": null,
                "dryRun": false,
                "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
            }
        });
        let text = review.to_string();
        let (prefix, suffix) = text.split_once(UID_MARK).unwrap();
        Body { prefix: prefix.as_bytes().to_vec(), suffix: suffix.as_bytes().to_vec() }
    }

    fn with_uid(&self, uid: &str) -> Bytes {
        let mut b = Vec::with_capacity(self.prefix.len() + uid.len() + self.suffix.len());
        b.extend_from_slice(&self.prefix);
        b.extend_from_slice(uid.as_bytes());
        b.extend_from_slice(&self.suffix);
        Bytes::from(b)
    }

    fn len(&self) -> usize {
        self.prefix.len() + self.suffix.len() + 36
    }
}

/// The one managedFields entry a Pod carries at admission: the creator's.
fn pod_managed_fields() -> Value {
    let pod = kube_benches::pods::pod(7, 0);
    pod["metadata"]["managedFields"][0].clone()
}

/// What one load run measured, in its window.
struct Load {
    requests: u64,
    errors: u64,
    /// Sorted.
    latencies: Vec<Duration>,
    window: Duration,
    server_cpu_s: f64,
    /// The load generator's.
    client_cpu_s: f64,
}

type H2Sender = hyper::client::conn::http2::SendRequest<Full<Bytes>>;
type H1Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

enum Sender {
    H2(H2Sender),
    H1(H1Sender),
}

impl Sender {
    async fn send(
        &mut self,
        req: http::Request<Full<Bytes>>,
    ) -> anyhow::Result<http::Response<hyper::body::Incoming>> {
        Ok(match self {
            Sender::H2(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
            Sender::H1(s) => {
                s.ready().await?;
                s.send_request(req).await?
            }
        })
    }
}

fn tls_config(ca_pem: &str, alpn: &[u8]) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert?)?;
    }
    let mut config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(Arc::new(config))
}

async fn connect(addr: SocketAddr, tls: &Arc<rustls::ClientConfig>, proto: Proto) -> anyhow::Result<Sender> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let stream = tokio_rustls::TlsConnector::from(tls.clone())
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let io = TokioIo::new(stream);
    Ok(match proto {
        Proto::H2 => {
            let (send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
            tokio::spawn(conn);
            Sender::H2(send)
        }
        Proto::H1 => {
            let (send, conn) = hyper::client::conn::http1::handshake(io).await?;
            tokio::spawn(conn);
            Sender::H1(send)
        }
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One request and its check; the latency when the answer is right.
async fn one(
    sender: &mut Sender,
    proto: Proto,
    addr: SocketAddr,
    body: &Body,
    uid: &str,
) -> anyhow::Result<Duration> {
    let authority = format!("localhost:{}", addr.port());
    let builder = match proto {
        Proto::H2 => http::Request::post(format!("https://{authority}/validate?timeout=10s")),
        Proto::H1 => http::Request::post("/validate?timeout=10s").header(http::header::HOST, authority),
    };
    let req = builder
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::ACCEPT, "application/json, */*")
        .body(Full::new(body.with_uid(uid)))?;
    let start = Instant::now();
    let resp = sender.send(req).await?;
    let status = resp.status();
    let answer = resp.into_body().collect().await?.to_bytes();
    let took = start.elapsed();
    if status != http::StatusCode::OK
        || !contains(&answer, br#""allowed":true"#)
        || !contains(&answer, uid.as_bytes())
    {
        bail!("unexpected answer {status}: {}", String::from_utf8_lossy(&answer));
    }
    Ok(took)
}

/// Drives the server at `addr` for warmup + duration; `pid` is its process, for its CPU.
async fn load(
    a: &Args,
    proto: Proto,
    addr: SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    body: &Arc<Body>,
    pid: u32,
) -> anyhow::Result<Load> {
    // HTTP/2: `connections` connections shared by the tasks; HTTP/1.1: one per task.
    let mut senders = Vec::new();
    match proto {
        Proto::H2 => {
            let mut shared = Vec::new();
            for _ in 0..a.connections {
                match connect(addr, tls, proto).await? {
                    Sender::H2(s) => shared.push(s),
                    Sender::H1(_) => unreachable!("an HTTP/2 connection"),
                }
            }
            for task in 0..a.concurrency {
                senders.push(Sender::H2(shared[task % shared.len()].clone()));
            }
        }
        Proto::H1 => {
            for _ in 0..a.concurrency {
                senders.push(connect(addr, tls, proto).await?);
            }
        }
    }
    let start = Instant::now();
    let window_start = start + a.warmup;
    let end = window_start + a.duration;
    let mut tasks = Vec::new();
    for (task, mut sender) in senders.into_iter().enumerate() {
        let (body, tls) = (body.clone(), tls.clone());
        tasks.push(tokio::spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0u64);
            let mut n = 0u64;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                n += 1;
                let uid = format!("{task:08x}-7a1c-4f0e-9b2d-{n:012x}");
                match one(&mut sender, proto, addr, &body, &uid).await {
                    Ok(took) if sent >= window_start && sent + took <= end => latencies.push(took),
                    Ok(_) => {}
                    Err(e) => {
                        errors += 1;
                        if errors <= 2 {
                            eprintln!("  request failed: {e:#}");
                        }
                        // A connection that failed is not reused.
                        match connect(addr, &tls, proto).await {
                            Ok(s) => sender = s,
                            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                        }
                    }
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep_until(window_start.into()).await;
    let cpu_before = report::cpu_s(pid).context("server CPU")?;
    let own_before = report::cpu_s(std::process::id()).context("own CPU")?;
    tokio::time::sleep_until(end.into()).await;
    let cpu_after = report::cpu_s(pid).context("server CPU")?;
    let own_after = report::cpu_s(std::process::id()).context("own CPU")?;
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await?;
        latencies.extend(l);
        errors += e;
    }
    latencies.sort();
    Ok(Load {
        requests: latencies.len() as u64,
        errors,
        latencies,
        window: a.duration,
        server_cpu_s: cpu_after - cpu_before,
        client_cpu_s: own_after - own_before,
    })
}

/// One measurement of one server over one protocol.
#[derive(Clone, Debug)]
struct Sample {
    req_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_s_per_10k: f64,
    peak_rss_mb: f64,
    client_cpu_s_per_10k: f64,
    errors: u64,
}

const METRICS: &[(&str, &str)] = &[
    ("req_per_s", "req/s"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("cpu_s_per_10k", "server CPU s/10k"),
    ("peak_rss_mb", "server peak RSS MB"),
    ("client_cpu_s_per_10k", "loadgen CPU s/10k"),
];

impl Sample {
    fn get(&self, metric: &str) -> f64 {
        match metric {
            "req_per_s" => self.req_per_s,
            "p50_ms" => self.p50_ms,
            "p99_ms" => self.p99_ms,
            "cpu_s_per_10k" => self.cpu_s_per_10k,
            "peak_rss_mb" => self.peak_rss_mb,
            "client_cpu_s_per_10k" => self.client_cpu_s_per_10k,
            _ => f64::NAN,
        }
    }
}

fn measure(
    a: &Args,
    rt: &tokio::runtime::Runtime,
    server: &Server,
    proto: Proto,
    cert_dir: &Path,
    tls: &Arc<rustls::ClientConfig>,
    body: &Arc<Body>,
) -> anyhow::Result<Sample> {
    let running = server.start(cert_dir)?;
    let pid = running.child.id();
    let l = rt.block_on(load(a, proto, running.addr, tls, body, pid))?;
    let peak_rss_mb = report::peak_rss_mb(pid).unwrap_or(f64::NAN);
    drop(running);
    Ok(Sample {
        req_per_s: l.requests as f64 / l.window.as_secs_f64(),
        p50_ms: quantile(&l.latencies, 0.5) * 1000.0,
        p99_ms: quantile(&l.latencies, 0.99) * 1000.0,
        cpu_s_per_10k: l.server_cpu_s / l.requests.max(1) as f64 * 10_000.0,
        peak_rss_mb,
        client_cpu_s_per_10k: l.client_cpu_s / l.requests.max(1) as f64 * 10_000.0,
        errors: l.errors,
    })
}

fn main() -> anyhow::Result<()> {
    let mut raw = std::env::args().skip(1);
    if raw.next().as_deref() == Some("serve") {
        return serve(raw);
    }
    let a = args()?;
    if !a.peer.exists() {
        bail!("{} is not built (run tools/webhook-peer/build.sh, or `just bench-webhook`)", a.peer.display());
    }
    let exe = std::env::current_exe()?;
    let ca = kube_test::TestCa::new("bench-webhook CA")?;
    let cert_dir = tempfile::tempdir()?;
    ca.issue_server("webhook")?.write_to(cert_dir.path())?;
    let servers = [
        Server {
            label: "ours",
            program: exe.clone(),
            args: vec!["serve".into(), "--handler".into(), "raw".into()],
        },
        Server {
            label: "ours typed",
            program: exe,
            args: vec!["serve".into(), "--handler".into(), "typed".into()],
        },
        Server { label: "controller-runtime", program: a.peer.clone(), args: vec![] },
    ];
    let body = Arc::new(Body::new());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    println!(
        "AdmissionReview of a Pod CREATE: {:.1} KB; {} in flight, {} s measured after {} s warmup, {} runs",
        body.len() as f64 / 1000.0,
        a.concurrency,
        a.duration.as_secs_f64(),
        a.warmup.as_secs_f64(),
        a.runs
    );
    let mut tables = Vec::new();
    for proto in &a.protocols {
        let alpn: &[u8] = match proto {
            Proto::H2 => b"h2",
            Proto::H1 => b"http/1.1",
        };
        let tls = tls_config(ca.ca_pem(), alpn)?;
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); servers.len()];
        for run in 0..a.runs {
            for (i, server) in servers.iter().enumerate() {
                eprintln!("{} run {}: {}", proto.name(), run + 1, server.label);
                samples[i].push(measure(&a, &rt, server, *proto, cert_dir.path(), &tls, &body)?);
            }
        }
        print_table(*proto, &a, &servers, &samples);
        tables.push(json_table(*proto, &servers, &samples));
    }
    let out = json!({
        "date": report::date(),
        "machine": report::machine(),
        "review_bytes": body.len(),
        "concurrency": a.concurrency,
        "h2_connections": a.connections,
        "duration_s": a.duration.as_secs_f64(),
        "warmup_s": a.warmup.as_secs_f64(),
        "runs": a.runs,
        "protocols": tables,
    });
    let path = report::write_json("bench-webhook", &out)?;
    println!("\nwritten to {}", path.display());
    Ok(())
}

fn medians(samples: &[Sample]) -> Vec<f64> {
    METRICS.iter().map(|(m, _)| median(samples.iter().map(|s| s.get(m)).collect())).collect()
}

fn print_table(proto: Proto, a: &Args, servers: &[Server], samples: &[Vec<Sample>]) {
    let conns = match proto {
        Proto::H2 => format!("{} connections", a.connections),
        Proto::H1 => format!("{} keep-alive connections", a.concurrency),
    };
    println!(
        "\n== {} ({conns}, {} requests in flight), medians of {} runs",
        proto.name(),
        a.concurrency,
        a.runs
    );
    print!("{:<20}", "server");
    for (_, title) in METRICS {
        print!(" {title:>18}");
    }
    println!(" {:>7}", "errors");
    let peer = medians(samples.last().map(Vec::as_slice).unwrap_or_default());
    for (server, s) in servers.iter().zip(samples) {
        print!("{:<20}", server.label);
        for x in medians(s) {
            print!(" {:>18}", fmt(x));
        }
        println!(" {:>7}", s.iter().map(|x| x.errors).sum::<u64>());
    }
    for (server, s) in servers.iter().zip(samples).take(servers.len() - 1) {
        print!("{:<20}", format!("{} / c-r", server.label));
        for (x, p) in medians(s).into_iter().zip(&peer) {
            print!(" {:>18}", format!("{:.2}", x / p));
        }
        println!();
    }
}

fn json_table(proto: Proto, servers: &[Server], samples: &[Vec<Sample>]) -> Value {
    let rows: Vec<Value> = servers
        .iter()
        .zip(samples)
        .map(|(server, s)| {
            let mut metrics = serde_json::Map::new();
            for (m, _) in METRICS {
                let runs: Vec<f64> = s.iter().map(|x| x.get(m)).collect();
                metrics.insert((*m).to_owned(), json!({"median": median(runs.clone()), "runs": runs}));
            }
            json!({"server": server.label, "errors": s.iter().map(|x| x.errors).sum::<u64>(), "metrics": metrics})
        })
        .collect();
    json!({"protocol": proto.name(), "rows": rows})
}

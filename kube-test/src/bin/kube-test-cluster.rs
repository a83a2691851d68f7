//! `kube-test-cluster`: starts one kube-test control plane in the foreground (`just cluster`).
//!
//! Prints the kubeconfig path and a ready-to-paste kubectl line, then runs until Ctrl-C (or
//! SIGTERM), and stops etcd and kube-apiserver and removes the temporary directory on the way
//! out. If this process is killed outright, the servers' supervisors clean up instead.
//! `--keep-dir` keeps the temporary directory, `--no-watch-cache` turns off the watch cache.

use std::{process::ExitCode, sync::mpsc};

use kube_test::TestEnv;

const USAGE: &str = "usage: kube-test-cluster [--keep-dir] [--no-watch-cache]

Starts etcd and kube-apiserver in the foreground until Ctrl-C.
  --keep-dir         keep the temporary directory (logs, kubeconfig, etcd data) afterwards
                     (also KUBE_TEST_KEEP_DIR=1)
  --no-watch-cache   run the apiserver with --watch-cache=false";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", chain(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (stop_tx, stop_rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })?;

    let mut builder = TestEnv::builder();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--keep-dir" => builder = builder.keep_dir(true),
            "--no-watch-cache" => builder = builder.watch_cache(false),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n{USAGE}").into()),
        }
    }
    let env = builder.start()?;
    let kubeconfig = env.kubeconfig().path().display().to_string();
    let kubectl =
        env.binaries().kubectl.as_ref().map_or_else(|| "kubectl".to_owned(), |p| p.display().to_string());
    println!(
        "kube-test control plane ready in {:.1}s at {}",
        env.startup_duration().as_secs_f64(),
        env.server_url()
    );
    println!("kubeconfig: {kubeconfig}");
    println!("token (system:masters): {}", env.token_admin().token().unwrap_or(""));
    println!("directory (logs, certificates, etcd data): {}", env.dir().display());
    println!();
    println!("  {kubectl} --kubeconfig {kubeconfig} get ns");
    println!();
    println!("Press Ctrl-C to stop.");

    let _ = stop_rx.recv();
    eprintln!("stopping...");
    drop(env);
    Ok(())
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

//! The seed's "state container", done with a reflector: a store follows every Pod of a namespace,
//! and a small HTTP handler answers from it (no polling thread, no request to the API server per
//! HTTP request).
//!
//! ```sh
//! KUBECONFIG=... cargo run -p examples --example pod_reflector_http            # serves until Ctrl-C
//! curl localhost:8080/pods
//! KUBECONFIG=... cargo run -p examples --example pod_reflector_http -- --demo  # self-driving
//! ```
//!
//! With `--demo` it creates three Pods, asks its own endpoint once they are all in the store,
//! prints the answer, deletes them and exits. Expected output:
//!
//! ```text
//! serving http://127.0.0.1:PORT/pods from a store of 3 pods
//! GET /pods -> 200 [{"name":"web-0","phase":"Pending","node":null}, ...]
//! ```

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, PostParams},
    runtime::{
        reflector::{self, Store},
        watcher,
    },
};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// The store as JSON: every Pod's name, phase and node.
fn pods_json(store: &Store<Pod>) -> String {
    let mut pods: Vec<Arc<Pod>> = store.state();
    pods.sort_by_key(|p| p.name_any());
    let rows: Vec<serde_json::Value> = pods
        .iter()
        .map(|p| {
            json!({
                "name": p.name_any(),
                "phase": p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Pending".into()),
                "node": p.spec.as_ref().and_then(|s| s.node_name.clone()),
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

/// One HTTP/1.1 exchange: `GET /pods` gets the store's state, anything else a 404.
async fn serve(mut conn: TcpStream, store: Store<Pod>) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let n = conn.read(&mut buf).await?;
    let request = String::from_utf8_lossy(&buf[..n]);
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, body) = match path {
        "/pods" if store.is_ready() => ("200 OK", pods_json(&store)),
        "/pods" => ("503 Service Unavailable", r#"{"error":"the store is not synced yet"}"#.to_string()),
        _ => ("404 Not Found", r#"{"error":"try /pods"}"#.to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(response.as_bytes()).await?;
    conn.shutdown().await
}

/// A client for our own endpoint: good enough for the demo.
async fn get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    let mut conn = TcpStream::connect(addr).await?;
    conn.write_all(format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n").as_bytes()).await?;
    let mut out = String::new();
    conn.read_to_string(&mut out).await?;
    Ok(out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let demo = std::env::args().any(|a| a == "--demo");
    let client = Client::try_default().await?;
    let pods: Api<Pod> = Api::default_namespaced(client);

    let (store, writer) = reflector::store();
    let mut config = watcher::Config::default().drop_managed_fields();
    if demo {
        config = config.labels("example=pod-reflector-http");
    }
    let reflector = reflector::reflector(writer, watcher::watcher(pods.clone(), config));
    tokio::spawn(reflector.for_each(|event| async move {
        if let Err(e) = event {
            eprintln!("watch error: {e}");
        }
    }));
    store.wait_until_ready().await?;

    let listener = TcpListener::bind(if demo { "127.0.0.1:0" } else { "127.0.0.1:8080" }).await?;
    let addr = listener.local_addr()?;
    let server_store = store.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let store = server_store.clone();
            tokio::spawn(async move {
                if let Err(e) = serve(conn, store).await {
                    eprintln!("http: {e}");
                }
            });
        }
    });
    if !demo {
        println!("serving http://{addr}/pods from a store of {} pods; Ctrl-C to stop", store.len());
        tokio::signal::ctrl_c().await?;
        return Ok(());
    }

    let names = ["web-0", "web-1", "web-2"];
    for name in names {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"example": "pod-reflector-http"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}
        }))?;
        pods.create(&PostParams::default(), &pod).await?;
    }
    // The store follows by itself; wait until it holds all three.
    let mut changes = store.subscribe();
    while store.len() < names.len() {
        changes.next().await;
    }
    println!("serving http://{addr}/pods from a store of {} pods", store.len());
    let response = get(addr, "/pods").await?;
    let status = response.lines().next().unwrap_or_default().to_string();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    println!("GET /pods -> {} {body}", status.split_whitespace().nth(1).unwrap_or("?"));
    anyhow::ensure!(
        status.contains("200") && names.iter().all(|n| body.contains(n)),
        "unexpected answer: {response}"
    );
    for name in names {
        pods.delete(name, &DeleteParams::default().grace_period(0)).await?;
    }
    Ok(())
}

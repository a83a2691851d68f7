//! Port-forward through the real apiserver to the fake kubelet, whose pod ports are ports of
//! 127.0.0.1 (one of them a TCP echo server).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{admin_client, env, namespace};
use k8s_openapi::api::core::v1::Pod;
use kube_client::{Api, api::remote::Error};
use kube_test::FakeContainer;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};

fn pod_api(prefix: &str) -> Api<Pod> {
    let ns = namespace(prefix);
    let kubelet = env().kubelet().unwrap();
    kubelet.run_pod(env(), &ns, "pod", &[FakeContainer::new("main", &["sleep", "3600"])]).unwrap();
    Api::namespaced(admin_client(), &ns)
}

fn echo_port() -> u16 {
    env().kubelet().unwrap().echo_port()
}

/// A port of 127.0.0.1 where nothing listens (it was free a moment ago).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn payload(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32).map(|i| (i.wrapping_mul(31).wrapping_add(seed) % 251) as u8).collect()
}

/// Writes `data` and reads as many bytes back, concurrently (the echo server answers as it
/// reads).
async fn echo_round_trip<S: AsyncRead + AsyncWrite + Unpin>(stream: S, data: &[u8]) -> Vec<u8> {
    let (mut read, mut write) = tokio::io::split(stream);
    let mut back = vec![0u8; data.len()];
    let (written, got) = tokio::join!(write.write_all(data), read.read_exact(&mut back));
    written.unwrap();
    got.unwrap();
    back
}

#[tokio::test]
async fn a_stream_to_the_echo_server_round_trips_bytes() {
    let pods = pod_api("pf-one");
    let port = echo_port();
    let mut pf = pods.portforward("pod", &[port]).await.unwrap();
    let stream = pf.take_stream(port).unwrap();
    assert_eq!(stream.port(), port);
    let data = payload(256 * 1024, 7);
    let back = tokio::time::timeout(Duration::from_secs(30), echo_round_trip(stream, &data)).await.unwrap();
    assert!(back == data, "the echoed bytes differ");
    // Dropping the stream ends the forwarded connection, then the session.
    tokio::time::timeout(Duration::from_secs(20), pf.join()).await.unwrap().unwrap();
}

/// Found by `just bench-remote`: the session used to send and receive in one loop, so while it
/// waited to send (the far end not reading, because the echo server was itself waiting for us to
/// read its answers) it stopped reading, and both ends waited forever. Reading late fills both
/// directions first; with 64 MB the old session stalled here every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_duplex_stream_does_not_stall_when_both_directions_are_full() {
    let pods = pod_api("pf-duplex");
    let port = echo_port();
    let mut pf = pods.portforward("pod", &[port]).await.unwrap();
    let stream = pf.take_stream(port).unwrap();
    let data = payload(64 * 1024 * 1024, 3);
    let (mut read, mut write) = tokio::io::split(stream);
    let mut back = vec![0u8; data.len()];
    let late_reader = async {
        // Nothing is read for a while: every buffer on the way there and back fills up.
        tokio::time::sleep(Duration::from_secs(2)).await;
        read.read_exact(&mut back).await
    };
    let round_trip = async { tokio::join!(write.write_all(&data), late_reader) };
    let (written, got) = tokio::time::timeout(Duration::from_secs(60), round_trip)
        .await
        .expect("the port-forward stalled with both directions full");
    written.unwrap();
    got.unwrap();
    assert!(back == data, "the echoed bytes differ");
    drop((read, write));
    tokio::time::timeout(Duration::from_secs(20), pf.join()).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_refused_port_is_an_error_on_its_stream() {
    let pods = pod_api("pf-refused");
    let port = closed_port();
    let mut pf = pods.portforward("pod", &[port]).await.unwrap();
    let mut stream = pf.take_stream(port).unwrap();
    let mut buf = Vec::new();
    let err = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&format!("port {port}")) && msg.contains("refused"), "{msg}");
    let err = pf.join().await.unwrap_err();
    assert!(matches!(&err, Error::PortForward { port: p, .. } if *p == port), "{err:?}");
}

#[tokio::test]
async fn the_local_listener_forwards_concurrent_connections() {
    let pods = pod_api("pf-listen");
    let listener = pods.portforward_listen("pod", "127.0.0.1:0".parse().unwrap(), echo_port()).await.unwrap();
    let addr = listener.local_addr();
    let mut clients = tokio::task::JoinSet::new();
    for i in 0..20u32 {
        clients.spawn(async move {
            let conn = TcpStream::connect(addr).await.unwrap();
            let data = payload(1024 * 1024, i);
            let back = echo_round_trip(conn, &data).await;
            assert!(back == data, "connection {i}: the echoed bytes differ");
        });
    }
    let all = async {
        while let Some(done) = clients.join_next().await {
            done.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(120), all).await.unwrap();
}

#[tokio::test]
async fn a_refused_port_fails_only_its_own_connection() {
    let pods = pod_api("pf-listen-refused");
    let refused = closed_port();
    let mut bad = pods.portforward_listen("pod", "127.0.0.1:0".parse().unwrap(), refused).await.unwrap();
    let good = pods.portforward_listen("pod", "127.0.0.1:0".parse().unwrap(), echo_port()).await.unwrap();

    let mut conn = TcpStream::connect(bad.local_addr()).await.unwrap();
    let mut buf = Vec::new();
    // The forwarded connection is closed; the error is reported by the listener.
    let _ = tokio::time::timeout(Duration::from_secs(20), conn.read_to_end(&mut buf)).await.unwrap();
    assert!(buf.is_empty());
    let err = tokio::time::timeout(Duration::from_secs(20), bad.next_error()).await.unwrap().unwrap();
    assert!(matches!(&err, Error::PortForward { port, .. } if *port == refused), "{err:?}");

    // The listener goes on accepting, and the other forwards as before.
    let conn = TcpStream::connect(bad.local_addr()).await.unwrap();
    drop(conn);
    let data = payload(64 * 1024, 3);
    let conn = TcpStream::connect(good.local_addr()).await.unwrap();
    let back = tokio::time::timeout(Duration::from_secs(20), echo_round_trip(conn, &data)).await.unwrap();
    assert!(back == data);
}

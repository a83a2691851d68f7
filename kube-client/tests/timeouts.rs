//! Transport timeouts: the TLS handshake, response headers and body progress, each reaching
//! the caller once (never retried underneath it), and HTTP/2 keepalive noticing a dead
//! connection under a watch. Scripted servers produce the faults a real apiserver cannot
//! (a server that never speaks TLS, a body that stalls); a TCP proxy in front of the real
//! apiserver stops forwarding to kill a watch's connection without closing it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use common::{config_from, env};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube_client::client::decode::DecodeOptions;
use kube_client::{
    Client, Config, Error,
    client::{ClientBuilder, progress::ProgressTimeout, retry::RetryPolicy},
};
use kube_core::{
    ObjectList, Resource, WatchEvent,
    params::{ListParams, WatchParams},
    request::Request,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A TCP server on loopback that hands each accepted connection to `serve`, and counts them.
async fn start_server<F, Fut>(serve: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(stream));
        }
    });
    (addr.to_string(), accepted)
}

/// Reads one HTTP/1.1 request head.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap_or(0) == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn configmaps() -> Request {
    Request::new(ConfigMap::url_path(&(), Some("default")))
}

async fn list(client: &Client) -> Result<ObjectList<ConfigMap>, Error> {
    client.request(configmaps().list(&ListParams::default()).unwrap()).await
}

#[tokio::test]
async fn a_server_that_never_speaks_tls_fails_after_the_handshake_timeout_once() {
    // accepts, reads the ClientHello, never answers
    let (addr, accepted) = start_server(|mut stream| async move {
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink).await;
    })
    .await;
    let mut config = Config::new(format!("https://{addr}").parse().unwrap());
    config.tls_handshake_timeout = Some(Duration::from_secs(1));
    let client = Client::try_from(config).unwrap();

    let start = Instant::now();
    let err =
        tokio::time::timeout(Duration::from_secs(30), list(&client)).await.expect("no handshake timeout");
    let waited = start.elapsed();
    let err = err.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(waited >= Duration::from_secs(1) && waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "a timed-out handshake is not retried");
}

#[tokio::test]
async fn a_list_that_never_answers_times_out_once() {
    let (addr, accepted) = start_server(|mut stream| async move {
        read_head(&mut stream).await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
    })
    .await;
    let mut config = Config::new(format!("http://{addr}").parse().unwrap());
    config.read_timeout = Some(Duration::from_secs(1));
    let client = Client::try_from(config).unwrap();

    let start = Instant::now();
    let err = list(&client).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    // before: retried five times with backoff, about 6 s and 6 requests
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "a timed-out GET is not retried");
}

/// A server answering every request with status 200, `first` as the start of a chunked body,
/// and then nothing, keeping the connection open.
async fn start_stalling_server(first: &'static str) -> (String, Arc<AtomicUsize>) {
    start_server(move |mut stream| async move {
        read_head(&mut stream).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        let chunk = format!("{:x}\r\n{first}\r\n", first.len());
        let _ = stream.write_all(format!("{head}{chunk}").as_bytes()).await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
    })
    .await
}

#[tokio::test]
async fn a_body_that_stalls_fails_with_a_progress_timeout() {
    let (addr, accepted) = start_stalling_server(r#"{"kind": "ConfigMapList", "items": ["#).await;
    let mut config = Config::new(format!("http://{addr}").parse().unwrap());
    config.progress_timeout = Some(Duration::from_secs(1));
    let client = Client::try_from(config).unwrap();

    let start = Instant::now();
    let err =
        tokio::time::timeout(Duration::from_secs(30), list(&client)).await.expect("no progress timeout");
    assert!(matches!(err, Err(Error::Timeout { .. })), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(4), "{:?}", start.elapsed());
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_request_can_set_its_own_progress_timeout() {
    let (addr, _) = start_stalling_server(r#"{"kind": "ConfigMapList", "items": ["#).await;
    let mut config = Config::new(format!("http://{addr}").parse().unwrap());
    config.progress_timeout = Some(Duration::from_millis(100));
    let client = Client::try_from(config).unwrap();

    let mut req = configmaps().list(&ListParams::default()).unwrap();
    req.extensions_mut().insert(ProgressTimeout(Some(Duration::from_secs(2))));
    let start = Instant::now();
    let err = client.request::<ObjectList<ConfigMap>>(req).await.unwrap_err();
    let waited = start.elapsed();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(waited >= Duration::from_secs(2) && waited < Duration::from_secs(5), "{waited:?}");
}

#[tokio::test]
async fn a_watch_that_stalls_fails_with_the_watch_progress_timeout() {
    let event = r#"{"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"5"}}}
"#;
    let (addr, _) = start_stalling_server(event).await;
    let mut config = Config::new(format!("http://{addr}").parse().unwrap());
    config.progress_timeout = Some(Duration::from_millis(200));
    config.watch_progress_timeout = Some(Duration::from_secs(2));
    let client = Client::try_from(config).unwrap();

    // with bookmarks asked for (the default): the watch progress timeout, not the general one
    let watch = client.request_events::<ConfigMap>(
        configmaps().watch(&WatchParams::default(), "1").unwrap(),
        DecodeOptions::default(),
    );
    let mut watch = Box::pin(watch.await.unwrap());
    let start = Instant::now();
    assert!(matches!(watch.next().await, Some(Ok(WatchEvent::Bookmark(_)))));
    let err = tokio::time::timeout(Duration::from_secs(30), watch.next()).await.expect("no progress timeout");
    let waited = start.elapsed();
    assert!(matches!(err, Some(Err(Error::Timeout { .. }))), "{err:?}");
    assert!(waited >= Duration::from_secs(2) && waited < Duration::from_secs(5), "{waited:?}");
}

/// Measures the API server's bookmark interval on a quiet watch, to check that the default
/// watch progress timeout is comfortably longer.
#[tokio::test]
async fn the_default_watch_progress_timeout_exceeds_the_apiservers_bookmark_interval() {
    let ns = env().create_unique_namespace("bookmarks").unwrap();
    let client = Client::try_from(config_from(env().admin().kubeconfig().path())).unwrap();
    let cms = Request::new(ConfigMap::url_path(&(), Some(&ns)));
    let list: ObjectList<ConfigMap> =
        client.request(cms.list(&ListParams::default()).unwrap()).await.unwrap();
    let rv = list.resource_version().unwrap().to_string();
    let wp = WatchParams::default().timeout(300);
    let mut watch = Box::pin(
        client
            .request_events::<ConfigMap>(cms.watch(&wp, &rv).unwrap(), DecodeOptions::default())
            .await
            .unwrap(),
    );
    let start = Instant::now();
    // the first bookmark on a quiet watch (the watch cache sends them about every minute)
    loop {
        match tokio::time::timeout(Duration::from_secs(100), watch.next()).await {
            Ok(Some(Ok(WatchEvent::Bookmark(_)))) => break,
            Ok(Some(Ok(_))) => continue,
            other => panic!("no bookmark within 100 s: {other:?}"),
        }
    }
    let interval = start.elapsed();
    eprintln!("first bookmark after {interval:?}");
    assert!(
        interval * 3 / 2 < kube_client::config::DEFAULT_WATCH_PROGRESS_TIMEOUT,
        "bookmark after {interval:?}"
    );
}

/// Copies `from` to `to` until either closes; once `frozen`, drops what arrives and stalls.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let Ok(n) = from.read(&mut buf).await else { return };
        if n == 0 {
            return;
        }
        if frozen.load(Ordering::SeqCst) {
            // a black hole: the connection stays open, nothing goes through
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A TCP proxy to the apiserver that can stop forwarding (both ways) while keeping every
/// connection open, as a dead network path does.
async fn start_freezable_proxy() -> (String, Arc<AtomicBool>) {
    let frozen = Arc::new(AtomicBool::new(false));
    let upstream_port = env().apiserver_port();
    let flag = frozen.clone();
    let (addr, _) = start_server(move |client| {
        let frozen = flag.clone();
        async move {
            let upstream = TcpStream::connect(("127.0.0.1", upstream_port)).await.unwrap();
            let (client_read, client_write) = client.into_split();
            let (upstream_read, upstream_write) = upstream.into_split();
            let up = tokio::spawn(pump(client_read, upstream_write, frozen.clone()));
            let down = tokio::spawn(pump(upstream_read, client_write, frozen));
            let _ = tokio::join!(up, down);
        }
    })
    .await;
    (addr, frozen)
}

/// Starts a watch through a freezable proxy with `builder`'s keepalive, freezes the path and
/// returns how long the watch took to fail.
async fn time_to_notice_a_dead_watch(keepalive: Option<(Duration, Duration)>) -> Duration {
    let (addr, frozen) = start_freezable_proxy().await;
    let mut config = config_from(env().admin().kubeconfig().path());
    // the apiserver's certificate names 127.0.0.1, whatever the port
    config.cluster_url = format!("https://{addr}").parse().unwrap();
    // only keepalive may notice: no progress timeout on this watch
    config.watch_progress_timeout = None;
    let builder = ClientBuilder::new(config).retry_policy(RetryPolicy::none());
    let builder = match keepalive {
        Some(k) => builder.http2_keepalive(Some(k)),
        None => builder,
    };
    let client = builder.build().unwrap();
    let ns = env().create_unique_namespace("keepalive").unwrap();
    let cms = Request::new(ConfigMap::url_path(&(), Some(&ns)));
    let list: ObjectList<ConfigMap> =
        client.request(cms.list(&ListParams::default()).unwrap()).await.unwrap();
    let rv = list.resource_version().unwrap().to_string();
    let wp = WatchParams::default().timeout(600).disable_bookmarks();
    let mut watch = Box::pin(
        client
            .request_events::<ConfigMap>(cms.watch(&wp, &rv).unwrap(), DecodeOptions::default())
            .await
            .unwrap(),
    );

    frozen.store(true, Ordering::SeqCst);
    let start = Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(120), watch.next())
        .await
        .expect("the dead watch went unnoticed");
    let noticed = start.elapsed();
    assert!(!matches!(end, Some(Ok(_))), "{end:?}");
    eprintln!("dead watch noticed after {noticed:?}: {end:?}");
    noticed
}

#[tokio::test]
async fn http2_keepalive_notices_a_dead_connection_under_a_watch() {
    let noticed = time_to_notice_a_dead_watch(Some((Duration::from_secs(1), Duration::from_secs(1)))).await;
    assert!(noticed < Duration::from_secs(6), "{noticed:?}");
}

#[tokio::test]
async fn with_the_default_keepalive_a_dead_watch_is_noticed_within_a_minute() {
    let noticed = time_to_notice_a_dead_watch(None).await;
    // a ping after 30 s of silence, 15 s for its answer
    assert!(noticed < Duration::from_secs(60), "{noticed:?}");
}

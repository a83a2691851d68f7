//! The server's own behaviour, by direct HTTPS requests: 400 for bad reviews, 413 for oversize
//! bodies (declared or chunked), 415 without JSON, 405/404, a panicking handler denies and the
//! server carries on, other requests are served meanwhile, and shutdown lets requests finish.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{HttpsClient, Served};
use kube_core::admission::{AdmissionRequest, AdmissionResponse};
use kube_webhook::Handler;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn review(name: &str) -> Vec<u8> {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": format!("uid-{name}"), "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
        "resource": {"group": "", "version": "v1", "resource": "configmaps"},
        "name": name, "operation": "CREATE", "userInfo": {}, "object": {"metadata": {"name": name}}}})
    .to_string()
    .into_bytes()
}

async fn served() -> Served {
    let handler = Handler::admission(|req: AdmissionRequest| async move {
        match req.name.as_str() {
            "boom" => panic!("a bug in the handler"),
            "slow" => tokio::time::sleep(Duration::from_millis(1500)).await,
            _ => {}
        }
        AdmissionResponse::from(&req)
    });
    Served::start(|s| s.route("/admit", handler)).await
}

fn response(body: &str) -> Value {
    serde_json::from_str::<Value>(body).unwrap()["response"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_statuses() {
    let served = served().await;
    let client = HttpsClient::new(served.addr, served.ca.ca_pem());
    let json = Some("application/json");

    let (status, body) = client.request("POST", "/admit", json, review("ok")).await;
    assert_eq!((status, response(&body)["allowed"].clone()), (200, json!(true)));
    assert_eq!(response(&body)["uid"], "uid-ok");

    let (status, body) = client.request("POST", "/admit", json, b"{\"apiVersion\": 3".to_vec()).await;
    assert_eq!(status, 400);
    assert!(
        response(&body)["status"]["message"].as_str().unwrap().contains("invalid admission review"),
        "{body}"
    );

    let (status, body) = client
        .request(
            "POST",
            "/admit",
            json,
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec(),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("without a request"), "{body}");

    let (status, _) = client.request("POST", "/admit", Some("text/plain"), review("ok")).await;
    assert_eq!(status, 415);
    let (status, _) = client.request("POST", "/admit", None, review("ok")).await;
    assert_eq!(status, 415);
    let (status, _) =
        client.request("POST", "/admit", Some("application/json; charset=utf-8"), review("ok")).await;
    assert_eq!(status, 200);

    // A declared length over the limit is answered at once, before any of the body is sent.
    let mut raw = client.raw().await;
    let head = format!(
        "POST /admit HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        7 * 1024 * 1024 + 1
    );
    raw.write_all(head.as_bytes()).await.unwrap();
    let mut reply = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), raw.read(&mut reply)).await.unwrap().unwrap();
    let reply = String::from_utf8_lossy(&reply[..n]);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");

    assert_eq!(client.request("GET", "/admit", None, vec![]).await.0, 405);
    assert_eq!(client.request("POST", "/nowhere", json, review("ok")).await.0, 404);
    assert_eq!(client.request("GET", "/readyz", None, vec![]).await, (200, "ok\n".to_owned()));

    let (status, body) = client.request("POST", "/admit", json, review("boom")).await;
    assert_eq!(status, 200);
    let resp = response(&body);
    assert_eq!(
        (resp["allowed"].clone(), resp["status"]["code"].clone(), resp["uid"].clone()),
        (json!(false), json!(500), json!("uid-boom"))
    );
    let (status, _) = client.request("POST", "/admit", json, review("after")).await;
    assert_eq!(status, 200, "the server keeps serving after a panic");

    let metrics = served.metrics_text();
    for code in ["200", "400", "413", "415"] {
        assert!(
            metrics.contains(&format!(
                r#"controller_runtime_webhook_requests_total{{code="{code}",webhook="/admit"}}"#
            )),
            "{code}: {metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_oversize_upload_is_cut_off_without_blocking_others() {
    let served = served().await;
    let client = HttpsClient::new(served.addr, served.ca.ca_pem());

    // A raw TLS connection streaming a chunked body with no length.
    let mut tls = client.raw().await;
    tls.write_all(b"POST /admit HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n").await.unwrap();
    let chunk = vec![b' '; 1024 * 1024];
    for i in 0..4 {
        tls.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.unwrap();
        tls.write_all(&chunk).await.unwrap();
        tls.write_all(b"\r\n").await.unwrap();
        if i == 1 {
            // Half-way through the upload, other requests are answered.
            let (status, _) =
                client.request("POST", "/admit", Some("application/json"), review("meanwhile")).await;
            assert_eq!(status, 200);
        }
    }
    // Keep sending, in small chunks so that the answer is read soon after it comes (the server
    // may answer and close as soon as the limit is passed; then a write fails, and the answer
    // is still read from what arrived).
    let small = vec![b' '; 64 * 1024];
    let mut written = 4 * 16;
    let mut reply = Vec::new();
    let mut writable = true;
    loop {
        if writable && written < 16 * 16 {
            let sent = async {
                tls.write_all(format!("{:x}\r\n", small.len()).as_bytes()).await?;
                tls.write_all(&small).await?;
                tls.write_all(b"\r\n").await
            };
            writable = sent.await.is_ok();
            written += 1;
        }
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(Duration::from_millis(50), tls.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                reply.extend_from_slice(&buf[..n]);
                if reply.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Err(_) if written >= 16 * 16 || !writable => panic!("no answer after 16 MiB"),
            Err(_) => {}
        }
    }
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_requests_in_flight_finish() {
    let served = served().await;
    let client = HttpsClient::new(served.addr, served.ca.ca_pem());
    let (_, mut send) = client.connect().await.unwrap();
    let req = http::Request::post("/admit")
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(review("slow"))))
        .unwrap();
    let in_flight = tokio::spawn(async move { send.send_request(req).await.map(|r| r.status().as_u16()) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let addr = served.addr;
    let started = std::time::Instant::now();
    served.stop().await;
    assert_eq!(in_flight.await.unwrap().unwrap(), 200, "the slow request finished");
    assert!(started.elapsed() >= Duration::from_millis(900), "stop waited for it");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer listening");
}

//! The connection pool: as many HTTP/2 connections as the server's stream limit needs, and new
//! ones once the client certificate changes.
//!
//! An HTTP/2 connection carries at most the server's `SETTINGS_MAX_CONCURRENT_STREAMS` requests
//! at once (100 on a kube-apiserver unless `--http2-max-streams-per-connection` says otherwise).
//! A request past the limit would wait for a stream to end, which a watch never does; so the
//! pool counts the requests in flight on each connection (each one lives until its response
//! body ends or is dropped) and, when every connection is full, opens another, the way Go's
//! HTTP/2 transport does. Requests go to the oldest connection with room, so connections
//! opened for a burst fall idle once it is over and close after the idle timeout.
//!
//! Whether the server speaks HTTP/2 is known only once a first connection has negotiated it
//! (ALPN), and until then a burst of requests would each open a connection of its own. So the
//! first request goes alone, as a probe, and the others wait for its response; connections
//! opened after that are HTTP/2 from the start, which lets each one be shared by the requests
//! that wait for it. A probe that fails lets the waiting requests go on as they are.

use std::{
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::{Builder as HyperBuilder, Client as HyperClient};
use pin_project_lite::pin_project;
use tokio::sync::watch;

use super::{connector::HttpsConnector, tls::RotatingClientCert};
use crate::error::BoxError;

/// The default number of requests sent at once on one HTTP/2 connection: the kube-apiserver's
/// default stream limit per connection.
pub const DEFAULT_HTTP2_MAX_STREAMS_PER_CONNECTION: usize = 100;

type Hyper = HyperClient<HttpsConnector, Full<Bytes>>;

/// Connections to one server, shared by every clone of the client.
#[derive(Clone)]
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    builder: HyperBuilder,
    connector: HttpsConnector,
    cert: Option<Arc<RotatingClientCert>>,
    max_streams: usize,
    lanes: Mutex<Lanes>,
    protocol: watch::Sender<Protocol>,
}

/// What the pool knows of the server's HTTP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// Nothing yet: the next request is the probe.
    Unknown,
    /// A probe is on its way; requests wait for it.
    Probing,
    /// A response came; `true` for HTTP/2.
    Known { http2: bool },
}

/// The connections in use for the current client certificate.
struct Lanes {
    generation: u64,
    lanes: Vec<Lane>,
}

/// A hyper client of its own, so one HTTP/2 connection, and the requests in flight on it.
struct Lane {
    hyper: Hyper,
    in_flight: Arc<AtomicUsize>,
}

impl Pool {
    /// A pool connecting through `connector`, sending at most `max_streams` requests at once on
    /// a connection, and starting afresh whenever `cert` (an exec plugin's rotating client
    /// certificate) changes.
    pub(crate) fn new(
        builder: HyperBuilder,
        connector: HttpsConnector,
        cert: Option<&Arc<RotatingClientCert>>,
        max_streams: usize,
    ) -> Self {
        Self::with_protocol(builder, connector, cert, max_streams.max(1), Protocol::Unknown)
    }

    /// A pool for requests that upgrade their connection (HTTP/1.1, one connection each, no
    /// probe).
    pub(crate) fn upgrades(
        builder: HyperBuilder,
        connector: HttpsConnector,
        cert: Option<&Arc<RotatingClientCert>>,
    ) -> Self {
        Self::with_protocol(builder, connector, cert, usize::MAX, Protocol::Known { http2: false })
    }

    fn with_protocol(
        builder: HyperBuilder,
        connector: HttpsConnector,
        cert: Option<&Arc<RotatingClientCert>>,
        max_streams: usize,
        protocol: Protocol,
    ) -> Self {
        let generation = cert.map_or(0, |c| c.generation());
        Self {
            inner: Arc::new(Inner {
                builder,
                connector,
                cert: cert.cloned(),
                max_streams,
                lanes: Mutex::new(Lanes { generation, lanes: Vec::new() }),
                protocol: watch::Sender::new(protocol),
            }),
        }
    }

    /// Sends `req` on a connection with a free stream, opening one when there is none.
    pub(crate) fn request(
        &self,
        req: Request<Full<Bytes>>,
    ) -> impl Future<Output = Result<Response<Counted<Incoming>>, BoxError>> + Send + use<> {
        let pool = self.clone();
        async move {
            let probe = pool.probe_or_wait().await;
            let (hyper, stream) = pool.checkout();
            let resp = hyper.request(req).await.map_err(BoxError::from)?;
            if let Some(probe) = probe {
                probe.learned(resp.version() == http::Version::HTTP_2);
            }
            Ok(resp.map(|body| Counted { body, stream: Some(stream) }))
        }
    }

    /// Makes this request the probe when the server's HTTP version is not known yet, or waits
    /// for the probe on its way.
    async fn probe_or_wait(&self) -> Option<Probe> {
        let protocol = &self.inner.protocol;
        let mut became_probe = false;
        protocol.send_if_modified(|p| {
            became_probe = *p == Protocol::Unknown;
            if became_probe {
                *p = Protocol::Probing;
            }
            became_probe
        });
        if became_probe {
            return Some(Probe { pool: self.clone(), done: false });
        }
        // The sender lives as long as the pool: waiting cannot fail.
        let _ = protocol.subscribe().wait_for(|p| *p != Protocol::Probing).await;
        None
    }

    /// The connection for the next request, with one of its streams taken.
    fn checkout(&self) -> (Hyper, InFlight) {
        let inner = &*self.inner;
        let mut lanes = inner.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cert) = &inner.cert {
            let generation = cert.generation();
            if lanes.generation != generation {
                // Dropping the old clients closes their connections once their last request
                // or watch ends.
                tracing::debug!(generation, "client certificate changed; new connections from now on");
                *lanes = Lanes { generation, lanes: Vec::new() };
            }
        }
        let room = lanes.lanes.iter().find(|lane| lane.in_flight.load(Ordering::Acquire) < inner.max_streams);
        let lane = match room {
            Some(lane) => lane,
            None => {
                if !lanes.lanes.is_empty() {
                    tracing::debug!(
                        connections = lanes.lanes.len() + 1,
                        max_streams = inner.max_streams,
                        "every connection is at its stream limit; opening another"
                    );
                }
                let hyper = if *inner.protocol.borrow() == (Protocol::Known { http2: true }) {
                    // One connection per client, shared by every request waiting for it.
                    inner.builder.clone().http2_only(true).build(inner.connector.clone())
                } else {
                    inner.builder.build(inner.connector.clone())
                };
                lanes.lanes.push(Lane { hyper, in_flight: Arc::new(AtomicUsize::new(0)) });
                let last = lanes.lanes.len() - 1;
                &lanes.lanes[last]
            }
        };
        lane.in_flight.fetch_add(1, Ordering::AcqRel);
        (lane.hyper.clone(), InFlight(lane.in_flight.clone()))
    }
}

/// The first request of a pool, which the others wait for until it has a response.
struct Probe {
    pool: Pool,
    done: bool,
}

impl Probe {
    /// The response came over HTTP/2 (`true`) or HTTP/1.1.
    fn learned(mut self, http2: bool) {
        self.done = true;
        tracing::debug!(http2, "server HTTP version known");
        self.pool.inner.protocol.send_replace(Protocol::Known { http2 });
    }
}

impl Drop for Probe {
    /// A probe that failed or was dropped: the waiting requests go on, and the next new
    /// request probes again.
    fn drop(&mut self) {
        if !self.done {
            self.pool.inner.protocol.send_replace(Protocol::Unknown);
        }
    }
}

/// One request in flight on a connection, until dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

pin_project! {
    /// A response body holding its connection's stream until it ends or is dropped.
    pub(crate) struct Counted<B> {
        #[pin]
        body: B,
        stream: Option<InFlight>,
    }
}

impl<B: Body> Body for Counted<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let frame = this.body.poll_frame(cx);
        if let Poll::Ready(None | Some(Err(_))) = frame {
            this.stream.take();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use hyper_util::rt::TokioExecutor;

    use super::*;

    fn pool(max_streams: usize) -> Pool {
        let proxy = super::super::connector::ProxyConnector::new(None, None).unwrap();
        let tls = super::super::tls::client_config(&[], false, None).unwrap();
        let connector = HttpsConnector::new(proxy, tls, None, None);
        Pool::new(HyperClient::builder(TokioExecutor::new()), connector, None, max_streams)
    }

    fn lanes(pool: &Pool) -> Vec<usize> {
        let lanes = pool.inner.lanes.lock().unwrap();
        lanes.lanes.iter().map(|l| l.in_flight.load(Ordering::Acquire)).collect()
    }

    #[test]
    fn a_full_connection_makes_the_pool_open_another() {
        let pool = pool(2);
        let held: Vec<_> = (0..5).map(|_| pool.checkout().1).collect();
        assert_eq!(lanes(&pool), [2, 2, 1]);
        drop(held);
        assert_eq!(lanes(&pool), [0, 0, 0]);
    }

    #[test]
    fn requests_go_to_the_oldest_connection_with_room() {
        let pool = pool(2);
        let mut held: Vec<_> = (0..4).map(|_| pool.checkout().1).collect();
        held.remove(0);
        let _next = pool.checkout().1;
        assert_eq!(lanes(&pool), [2, 2]);
        drop(held);
        let _again = pool.checkout().1;
        assert_eq!(lanes(&pool), [2, 0], "the first connection is filled before the second");
    }

    #[tokio::test]
    async fn a_body_gives_its_stream_back_when_it_ends() {
        use http_body_util::BodyExt;
        let pool = pool(1);
        let (_, stream) = pool.checkout();
        let mut body = Counted { body: Full::new(Bytes::from_static(b"x")), stream: Some(stream) };
        assert_eq!(lanes(&pool), [1]);
        while let Some(frame) = body.frame().await {
            frame.unwrap();
        }
        assert_eq!(lanes(&pool), [0], "ended, while the body itself is still held");
    }
}

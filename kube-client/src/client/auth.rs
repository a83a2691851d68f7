//! Authentication as a tower layer: the `Authorization` header from the configured credentials,
//! refreshed as they expire, and one retry with fresh credentials after a 401.

use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, Response, StatusCode, header::AUTHORIZATION};
use tower::{Layer, Service, ServiceExt};

use crate::{config::Auth, error::BoxError};

/// Credentials could not be obtained (a failing exec plugin, an unreadable token file).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AuthError(#[from] pub crate::config::Error);

/// Adds credentials to every request.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    auth: Auth,
}

impl AuthLayer {
    /// A layer authenticating with `auth`.
    pub fn new(auth: Auth) -> Self {
        Self { auth }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, auth: self.auth.clone() }
    }
}

/// The service of [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Auth,
}

async fn authorization(auth: &Auth) -> Result<Option<http::HeaderValue>, BoxError> {
    if auth.may_block() {
        let auth = auth.clone();
        let joined = tokio::task::spawn_blocking(move || auth.authorization()).await;
        let result = joined.map_err(|e| -> BoxError { format!("credential task failed: {e}").into() })?;
        result.map_err(|e| AuthError(e).into())
    } else {
        auth.authorization().map_err(|e| AuthError(e).into())
    }
}

impl<S, B> Service<Request<Bytes>> for AuthService<S>
where
    S: Service<Request<Bytes>, Response = Response<B>, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<B>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Bytes>) -> Self::Future {
        let auth = self.auth.clone();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            if matches!(auth, Auth::None) || req.headers().contains_key(AUTHORIZATION) {
                return inner.ready().await?.call(req).await;
            }
            // Only credentials that can change are worth a second try after a 401.
            let refreshable = matches!(auth, Auth::Exec(_) | Auth::TokenFile(_));
            let retry = refreshable.then(|| {
                let mut r = Request::new(req.body().clone());
                *r.method_mut() = req.method().clone();
                *r.uri_mut() = req.uri().clone();
                *r.headers_mut() = req.headers().clone();
                r
            });
            if let Some(value) = authorization(&auth).await? {
                req.headers_mut().insert(AUTHORIZATION, value);
            }
            let resp = inner.ready().await?.call(req).await?;
            match retry {
                Some(mut again) if resp.status() == StatusCode::UNAUTHORIZED => {
                    tracing::debug!("401 with cached credentials; refreshing them and retrying once");
                    drop(resp);
                    auth.invalidate();
                    if let Some(value) = authorization(&auth).await? {
                        again.headers_mut().insert(AUTHORIZATION, value);
                    }
                    inner.ready().await?.call(again).await
                }
                _ => Ok(resp),
            }
        })
    }
}

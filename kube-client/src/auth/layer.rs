//! Authentication as a tower layer: the `Authorization` header from the configured credentials,
//! refreshed as they expire, the exec plugin's client certificate kept current, and one retry
//! with fresh credentials after a 401.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderValue, Request, Response, StatusCode, header::AUTHORIZATION};
use tower::{Layer, Service, ServiceExt};

use super::{Auth, Error, ExecAuth, ExecCredential, bearer_header};
use crate::{
    client::{retry::clone_request, tls::RotatingClientCert},
    config::SecretString,
    error::BoxError,
};

/// Adds credentials to every request.
///
/// - Bearer tokens, basic auth, token files and exec plugin tokens go into `Authorization`;
///   token files are re-read and exec plugins re-run (in `spawn_blocking`) as their
///   credentials expire.
/// - OIDC id-tokens are refreshed at the issuer when they expire ([`OidcAuth::token`](super::OidcAuth::token)).
/// - With [`AuthLayer::with_client_cert`], the exec plugin's client certificate is put into a
///   [`RotatingClientCert`] before each request, so new TLS connections use the plugin's
///   latest certificate (also when the plugin returns only a certificate).
/// - After a 401, credentials that can change (token file, exec plugin, OIDC with a
///   refresh-token) are refreshed and the request is sent once more.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    auth: Auth,
    client_cert: Option<Arc<RotatingClientCert>>,
}

impl AuthLayer {
    /// A layer authenticating with `auth`.
    pub fn new(auth: Auth) -> Self {
        Self { auth, client_cert: None }
    }

    /// Puts the client certificate of an [`Auth::Exec`] plugin into `cert` before each
    /// request. The TLS configuration resolves client certificates with the same `cert`.
    #[must_use]
    pub fn with_client_cert(mut self, cert: Arc<RotatingClientCert>) -> Self {
        self.client_cert = Some(cert);
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, auth: self.auth.clone(), client_cert: self.client_cert.clone() }
    }
}

/// The service of [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Auth,
    client_cert: Option<Arc<RotatingClientCert>>,
}

/// The credentials put on one request.
struct Applied {
    header: Option<HeaderValue>,
    /// The OIDC id-token sent, to tell the provider which token a 401 rejected.
    oidc_token: Option<SecretString>,
    /// The exec credential sent, to tell the cache which credential a 401 rejected.
    exec_credential: Option<ExecCredential>,
}

/// Credentials could not be had: the error travels down the stack boxed, and the client
/// tells it from transport errors by its type.
fn auth_error(e: Error) -> BoxError {
    Box::new(e)
}

fn join_error(e: tokio::task::JoinError) -> BoxError {
    auth_error(Error::CredentialTask(e))
}

/// The exec plugin's credential: the cached one when valid, else from running the plugin off
/// the async runtime. Its client certificate goes into `cert`.
async fn exec_credential(
    exec: &Arc<ExecAuth>,
    cert: Option<&RotatingClientCert>,
) -> Result<ExecCredential, BoxError> {
    let credential = match exec.cached_at(SystemTime::now()) {
        Some(credential) => credential,
        None => {
            let exec = exec.clone();
            tokio::task::spawn_blocking(move || exec.credential())
                .await
                .map_err(join_error)?
                .map_err(auth_error)?
        }
    };
    if let Some(cert) = cert {
        cert.update(credential.identity.as_ref()).map_err(|e| {
            auth_error(Error::ExecCredential {
                command: exec.config().command.clone(),
                reason: format!("unusable client certificate and key: {e}"),
            })
        })?;
    }
    Ok(credential)
}

async fn credentials(auth: &Auth, cert: Option<&RotatingClientCert>) -> Result<Applied, BoxError> {
    let header = match auth {
        Auth::Oidc(oidc) => {
            let token = oidc.token().await.map_err(auth_error)?;
            let header = bearer_header(&token).map_err(auth_error)?;
            return Ok(Applied { header: Some(header), oidc_token: Some(token), exec_credential: None });
        }
        Auth::Exec(exec) => {
            let credential = exec_credential(exec, cert).await?;
            let header = exec_header(&credential)?;
            return Ok(Applied { header, oidc_token: None, exec_credential: Some(credential) });
        }
        auth if auth.may_block() => {
            let auth = auth.clone();
            tokio::task::spawn_blocking(move || auth.authorization())
                .await
                .map_err(join_error)?
                .map_err(auth_error)?
        }
        auth => auth.authorization().map_err(auth_error)?,
    };
    Ok(Applied { header, oidc_token: None, exec_credential: None })
}

fn exec_header(credential: &ExecCredential) -> Result<Option<HeaderValue>, BoxError> {
    credential.token.as_ref().map(bearer_header).transpose().map_err(auth_error)
}

/// Whether the credentials can change, so a 401 is worth a second try.
fn refreshable(auth: &Auth) -> bool {
    match auth {
        Auth::Exec(_) | Auth::TokenFile(_) => true,
        Auth::Oidc(oidc) => oidc.can_refresh(),
        _ => false,
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
        let cert = self.client_cert.clone();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            if matches!(auth, Auth::None) {
                return inner.ready().await?.call(req).await;
            }
            if req.headers().contains_key(AUTHORIZATION) {
                // The caller chose the credentials; still keep an exec certificate current.
                if let (Auth::Exec(exec), Some(cert)) = (&auth, cert.as_deref()) {
                    exec_credential(exec, Some(cert)).await?;
                }
                return inner.ready().await?.call(req).await;
            }
            let retry = refreshable(&auth).then(|| clone_request(&req));
            let applied = credentials(&auth, cert.as_deref()).await?;
            if let Some(value) = applied.header {
                req.headers_mut().insert(AUTHORIZATION, value);
            }
            let resp = inner.ready().await?.call(req).await?;
            match retry {
                Some(mut again) if resp.status() == StatusCode::UNAUTHORIZED => {
                    tracing::debug!("401 with cached credentials; refreshing them and retrying once");
                    drop(resp);
                    let header = match (&auth, applied.oidc_token, applied.exec_credential) {
                        (Auth::Oidc(oidc), Some(rejected), _) => {
                            let token = oidc.refresh_rejected(&rejected).await.map_err(auth_error)?;
                            Some(bearer_header(&token).map_err(auth_error)?)
                        }
                        (Auth::Exec(exec), _, Some(rejected)) => {
                            // only the first of several concurrent 401s re-runs the plugin
                            let forget = exec.clone();
                            tokio::task::spawn_blocking(move || forget.invalidate_if(&rejected))
                                .await
                                .map_err(join_error)?;
                            exec_header(&exec_credential(exec, cert.as_deref()).await?)?
                        }
                        _ => {
                            auth.invalidate();
                            credentials(&auth, cert.as_deref()).await?.header
                        }
                    };
                    if let Some(value) = header {
                        again.headers_mut().insert(AUTHORIZATION, value);
                    }
                    inner.ready().await?.call(again).await
                }
                _ => Ok(resp),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{OidcAuth, OidcConfig, oidc_test};
    use super::*;
    use std::sync::Mutex;

    type Seen = Arc<Mutex<Vec<String>>>;

    /// A service answering 200 when `accept` takes the `Authorization` header, 401 otherwise,
    /// recording the headers it saw.
    fn server(
        accept: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> (
        impl Service<Request<Bytes>, Response = Response<()>, Error = BoxError, Future: Send> + Clone + Send,
        Seen,
    ) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let accept = Arc::new(accept);
        let record = seen.clone();
        let svc = tower::service_fn(move |req: Request<Bytes>| {
            let header =
                req.headers().get(AUTHORIZATION).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            record.lock().unwrap().push(header.clone());
            let status = if accept(&header) { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
            let mut resp = Response::new(());
            *resp.status_mut() = status;
            futures::future::ready(Ok::<_, BoxError>(resp))
        });
        (svc, seen)
    }

    /// An exec authenticator running the script `plugin` (made executable here).
    #[cfg(unix)]
    fn exec_auth(plugin: &std::path::Path) -> Arc<ExecAuth> {
        std::fs::set_permissions(plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let config = crate::config::ExecConfig {
            api_version: Some("client.authentication.k8s.io/v1".into()),
            command: plugin.display().to_string(),
            interactive_mode: Some(crate::config::ExecInteractiveMode::Never),
            ..Default::default()
        };
        Arc::new(ExecAuth::new(config, None))
    }

    fn get() -> Request<Bytes> {
        Request::builder().uri("https://k8s/api").body(Bytes::new()).unwrap()
    }

    #[tokio::test]
    async fn oidc_expired_token_is_refreshed_and_401_refreshes_once() {
        let issuer = oidc_test::TestIssuer::start(oidc_test::rotating_handler());
        let expired = oidc_test::expired_jwt("id-1");
        let oidc = Arc::new(OidcAuth::new(issuer.config(Some(&expired), Some("rt-1"))));
        let auth = Auth::Oidc(oidc.clone());

        // the server accepts every token but the first refreshed one (id-2), as if revoked
        let id2 = Arc::new(Mutex::new(None::<String>));
        let id2_seen = id2.clone();
        let (svc, seen) = server(move |h| id2_seen.lock().unwrap().as_deref() != Some(h));
        let mut svc = AuthLayer::new(auth).layer(svc);

        let resp = svc.ready().await.unwrap().call(get()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let first = seen.lock().unwrap()[0].clone();
        assert_eq!(first, format!("Bearer {}", oidc.id_token().unwrap().expose()));
        assert_ne!(first, format!("Bearer {expired}"), "refreshed before use");
        assert_eq!(issuer.token_requests().len(), 1);

        // now that token is rejected: one refresh, one retry with the new token
        *id2.lock().unwrap() = Some(first.clone());
        let resp = svc.ready().await.unwrap().call(get()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[1], first);
        assert_eq!(seen[2], format!("Bearer {}", oidc.id_token().unwrap().expose()));
        assert_ne!(seen[2], first);
        assert_eq!(issuer.token_requests().len(), 2);
        assert_eq!(oidc.refresh_token().unwrap().expose(), "rt-3");
    }

    #[tokio::test]
    async fn oidc_without_refresh_token_is_not_retried() {
        let token = oidc_test::fresh_jwt("id");
        let config = OidcConfig { id_token: Some(token.clone().into()), ..Default::default() };
        let auth = Auth::Oidc(Arc::new(OidcAuth::new(config)));
        let (svc, seen) = server(|_| false);
        let resp = AuthLayer::new(auth).layer(svc).oneshot(get()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(*seen.lock().unwrap(), [format!("Bearer {token}")]);
    }

    #[tokio::test]
    async fn oidc_refresh_failure_is_an_auth_error() {
        let issuer = oidc_test::TestIssuer::start(|_| (401, r#"{"error": "invalid_client"}"#.to_owned()));
        let oidc = OidcAuth::new(issuer.config(Some(&oidc_test::expired_jwt("x")), Some("rt-1")));
        let (svc, seen) = server(|_| true);
        let err = AuthLayer::new(Auth::Oidc(Arc::new(oidc))).layer(svc).oneshot(get()).await.unwrap_err();
        assert!(err.is::<Error>(), "{err}");
        assert!(err.to_string().contains("invalid_client"), "{err}");
        assert!(seen.lock().unwrap().is_empty(), "nothing sent without credentials");
    }

    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_401s_rerun_the_exec_plugin_once() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let plugin = dir.path().join("plugin.sh");
        std::fs::write(
            &plugin,
            format!(
                "#!/bin/sh\necho run >> '{runs}'\nn=$(wc -l < '{runs}' | tr -d ' ')\n\
                 printf '{{\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": \"ExecCredential\", \
                 \"status\": {{\"token\": \"tok-%s\"}}}}' \"$n\"\n",
                runs = runs.display()
            ),
        )
        .unwrap();
        let exec = exec_auth(&plugin);
        assert_eq!(exec.credential().unwrap().token.unwrap().expose(), "tok-1");
        // tok-1 has been revoked
        let (svc, seen) = server(|h| h != "Bearer tok-1");
        let svc = AuthLayer::new(Auth::Exec(exec)).layer(svc);
        let responses = futures::future::join_all((0..5).map(|_| svc.clone().oneshot(get()))).await;
        for resp in responses {
            assert_eq!(resp.unwrap().status(), StatusCode::OK);
        }
        let seen = seen.lock().unwrap();
        let rejected = seen.iter().filter(|h| *h == "Bearer tok-1").count();
        assert!(rejected >= 1, "{seen:?}");
        assert_eq!(seen.iter().filter(|h| *h == "Bearer tok-2").count(), 5, "{seen:?}");
        assert_eq!(seen.len(), 5 + rejected, "{seen:?}");
        assert_eq!(std::fs::read_to_string(&runs).unwrap().lines().count(), 2, "one run after the 401s");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn exec_certificate_only_updates_the_rotating_cert() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["exec-user".to_owned()]).unwrap().self_signed(&key).unwrap();
        let credential = serde_json::json!({
            "apiVersion": "client.authentication.k8s.io/v1",
            "kind": "ExecCredential",
            "status": {"clientCertificateData": cert.pem(), "clientKeyData": key.serialize_pem()},
        });
        std::fs::write(dir.path().join("cred.json"), credential.to_string()).unwrap();
        let plugin = dir.path().join("plugin.sh");
        std::fs::write(
            &plugin,
            format!("#!/bin/sh\necho run >> '{0}/runs'\ncat '{0}/cred.json'\n", dir.path().display()),
        )
        .unwrap();
        let exec = exec_auth(&plugin);
        let rotating = Arc::new(RotatingClientCert::new());
        let (svc, seen) = server(|_| true);
        let mut svc = AuthLayer::new(Auth::Exec(exec)).with_client_cert(rotating.clone()).layer(svc);

        for _ in 0..2 {
            let resp = svc.ready().await.unwrap().call(get()).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
        }
        assert_eq!(*seen.lock().unwrap(), ["", ""], "a certificate-only plugin adds no Authorization");
        assert_eq!(rotating.generation(), 1);
        assert_eq!(rotating.current().unwrap().cert[0].as_ref(), cert.der().as_ref());
        let runs = std::fs::read_to_string(dir.path().join("runs")).unwrap();
        assert_eq!(runs.lines().count(), 1, "cached between requests");

        // an explicit Authorization header still keeps the certificate current
        let mut req = get();
        req.headers_mut().insert(AUTHORIZATION, HeaderValue::from_static("Bearer mine"));
        svc.ready().await.unwrap().call(req).await.unwrap();
        assert_eq!(seen.lock().unwrap()[2], "Bearer mine");
    }
}

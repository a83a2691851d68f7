//! Headers every request carries: `User-Agent` and the impersonation headers.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use http::{HeaderMap, HeaderName, HeaderValue, Request};
use tower::{Layer, Service};

use crate::{Error, config::Impersonation, error::SettingError};

/// The default `User-Agent`.
pub const USER_AGENT: &str = concat!("kube-client/", env!("CARGO_PKG_VERSION"));

/// The impersonation headers for `imp` (user, uid, groups, extra).
pub fn impersonation_headers(imp: &Impersonation) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    let value = |v: &str| {
        HeaderValue::try_from(v)
            .map_err(|source| SettingError::ImpersonationValue { value: v.to_owned(), source })
    };
    if let Some(user) = &imp.user {
        headers.append("impersonate-user", value(user)?);
    }
    if let Some(uid) = &imp.uid {
        headers.append("impersonate-uid", value(uid)?);
    }
    for group in &imp.groups {
        headers.append("impersonate-group", value(group)?);
    }
    for (key, values) in &imp.extra {
        // Extra keys go in the header name, percent-encoded as the API server expects.
        let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
        let name = HeaderName::try_from(format!("impersonate-extra-{}", encoded.to_lowercase()))
            .map_err(|source| SettingError::ImpersonationExtraKey { key: key.clone(), source })?;
        for v in values {
            headers.append(name.clone(), value(v)?);
        }
    }
    Ok(headers)
}

/// Adds fixed headers to every request, without replacing headers the request already has.
#[derive(Debug, Clone)]
pub struct HeadersLayer {
    headers: Arc<HeaderMap>,
}

impl HeadersLayer {
    /// A layer adding `headers`.
    pub fn new(headers: HeaderMap) -> Self {
        Self { headers: Arc::new(headers) }
    }
}

impl<S> Layer<S> for HeadersLayer {
    type Service = Headers<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Headers { inner, headers: self.headers.clone() }
    }
}

/// The service of [`HeadersLayer`].
#[derive(Debug, Clone)]
pub struct Headers<S> {
    inner: S,
    headers: Arc<HeaderMap>,
}

impl<S, B> Service<Request<B>> for Headers<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> S::Future {
        for name in self.headers.keys() {
            if !req.headers().contains_key(name) {
                for value in self.headers.get_all(name) {
                    req.headers_mut().append(name.clone(), value.clone());
                }
            }
        }
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn impersonation_headers_follow_the_api_conventions() {
        let imp = Impersonation {
            user: Some("jane".into()),
            uid: Some("42".into()),
            groups: vec!["dev".into(), "ops".into()],
            extra: BTreeMap::from([("scopes.example.com/Project".to_string(), vec!["a".into(), "b".into()])]),
        };
        let h = impersonation_headers(&imp).unwrap();
        assert_eq!(h["impersonate-user"], "jane");
        assert_eq!(h["impersonate-uid"], "42");
        let groups: Vec<_> = h.get_all("impersonate-group").iter().collect();
        assert_eq!(groups, ["dev", "ops"]);
        let extra: Vec<_> = h.get_all("impersonate-extra-scopes.example.com%2fproject").iter().collect();
        assert_eq!(extra, ["a", "b"]);
        assert!(impersonation_headers(&Impersonation::default()).unwrap().is_empty());
    }
}

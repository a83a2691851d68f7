//! Kubernetes API shapes without IO: resources and their type information, generic objects,
//! lists, watch events, the API `Status` error, query parameters, selectors and a request builder
//! that turns a resource plus a verb into an [`http::Request`].
//!
//! Nothing in this crate performs IO or needs an async runtime: everything it builds can be checked
//! with plain tests, and a client only has to send what it produced.

pub mod selector;

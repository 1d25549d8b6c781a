//! Refuses requests for hosts we do not serve (Django's ALLOWED_HOSTS): a forged Host header can
//! then never reach a handler. A plain tower service, not a `from_fn` middleware: that one clones
//! and boxes every service beneath it on each request, about 5% of the landing page's cost
//! (BENCHMARKS.md, "The architecture work (part 5) before and after").

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::{Either, Ready, ready};
use tower::{Layer, Service};

use crate::kernel::config::strip_port;

/// The lowercase host names served, without ports.
#[derive(Clone)]
pub struct AllowedHostsLayer(pub Arc<Vec<String>>);

impl<S> Layer<S> for AllowedHostsLayer {
    type Service = AllowedHosts<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AllowedHosts { inner, hosts: self.0.clone() }
    }
}

#[derive(Clone)]
pub struct AllowedHosts<S> {
    inner: S,
    hosts: Arc<Vec<String>>,
}

impl<S> AllowedHosts<S> {
    fn allows(&self, req: &Request) -> bool {
        let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok());
        let Some(host) = host.or_else(|| req.uri().authority().map(|a| a.as_str())) else { return false };
        let host = strip_port(host);
        self.hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(host))
    }
}

impl<S> Service<Request> for AllowedHosts<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if self.allows(&req) {
            Either::Right(self.inner.call(req))
        } else {
            tracing::warn!(event = "host_rejected", "request for a host not in ALLOWED_HOSTS");
            Either::Left(ready(Ok(StatusCode::BAD_REQUEST.into_response())))
        }
    }
}

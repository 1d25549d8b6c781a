//! Reads a small request body (a `Content-Length` up to the body limit) in full before the route
//! sees the request. A route that answers without reading the body (a like, a wrong method, a
//! refused login) would otherwise answer before the body's bytes arrived when a client sends them
//! in a packet of their own, as many do; hyper then closes the kept-alive connection rather than
//! read past an unread body, and the request the client sends next on it is lost. Measured under
//! load as broken pipes on 0.2–2% of likes (`bench/backup-drill.sh`). Requests without a body
//! pass straight through, unboxed; larger bodies (uploads) stream to their handler as before.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either};
use tower::{Layer, Service, ServiceExt};

use super::error::body_error;

#[derive(Clone, Copy)]
pub struct ReadSmallBodiesLayer {
    /// The largest body read ahead, in bytes.
    pub limit: usize,
}

impl<S> Layer<S> for ReadSmallBodiesLayer {
    type Service = ReadSmallBodies<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ReadSmallBodies { inner, limit: self.limit }
    }
}

#[derive(Clone)]
pub struct ReadSmallBodies<S> {
    inner: S,
    limit: usize,
}

fn content_length(req: &Request) -> Option<usize> {
    req.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

impl<S, B> Service<Request<B>> for ReadSmallBodies<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // The body as axum's own type (the router would wrap it so anyway, once).
        let req = req.map(Body::new);
        let limit = self.limit;
        match content_length(&req) {
            Some(length) if length > 0 && length <= limit => {
                let inner = self.inner.clone();
                Either::Right(Box::pin(async move {
                    let (parts, body) = req.into_parts();
                    match axum::body::to_bytes(body, limit).await {
                        Ok(bytes) => inner.oneshot(Request::from_parts(parts, Body::from(bytes))).await,
                        Err(err) => Ok(body_error(&err, StatusCode::BAD_REQUEST).into_response()),
                    }
                }))
            }
            _ => Either::Left(self.inner.call(req)),
        }
    }
}

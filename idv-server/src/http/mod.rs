//! The HTTP API under `/v1`: routing, authentication and JSON in and out.

mod body;
mod error;
mod query;
mod users;
mod verifications;
mod views;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use idv_core::{Idv, Principal};
use serde::Serialize;
use tracing::Instrument;

pub use error::ApiError;

/// What every request handler shares.
pub struct State {
    pub idv: Arc<Idv>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: u64,
}

pub type HttpResponse = Response<Full<Bytes>>;
type Handled = Result<HttpResponse, ApiError>;

/// Serves one request. Never fails: every error becomes a JSON response.
pub async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<HttpResponse, Infallible> {
    let request_id = new_request_id();
    let span = tracing::info_span!("request", %request_id, method = %request.method(), path = request.uri().path());
    async move {
        let started = Instant::now();
        let mut response = route(&state, request).await.unwrap_or_else(ApiError::into_response);
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        tracing::info!(status = response.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "request served");
        Ok(response)
    }
    .instrument(span)
    .await
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    hex::encode(bytes)
}

async fn route(state: &State, request: Request<Incoming>) -> Handled {
    let path = request.uri().path().to_string();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let method = request.method().clone();
    match (&method, segments.as_slice()) {
        (&Method::GET, ["v1", "health"]) => Ok(json(StatusCode::OK, &Health::ok())),
        (&Method::POST, ["v1", "auth", "login"]) => users::login(state, request).await,
        (&Method::POST, ["v1", "users"]) => users::create(state, request).await,
        (&Method::GET, ["v1", "users"]) => users::list(state, request).await,
        (&Method::GET, ["v1", "users", id]) => users::get(state, request, id).await,
        (&Method::PUT, ["v1", "users", id]) => users::update(state, request, id).await,
        (&Method::DELETE, ["v1", "users", id]) => users::delete(state, request, id).await,
        (&Method::GET, ["v1", "users", id, "verifications"]) => {
            verifications::list_for_user(state, request, id).await
        }
        (&Method::POST, ["v1", "verifications"]) => verifications::create(state, request).await,
        (&Method::GET, ["v1", "verifications"]) => verifications::list(state, request).await,
        (&Method::GET, ["v1", "verifications", id]) => verifications::get(state, request, id).await,
        (&Method::PUT, ["v1", "verifications", id]) => verifications::review(state, request, id).await,
        (&Method::DELETE, ["v1", "verifications", id]) => {
            verifications::delete(state, request, id).await
        }
        (_, segments) => Err(unrouted(segments)),
    }
}

/// 405 with `Allow` for a known path and another method; 404 otherwise.
fn unrouted(segments: &[&str]) -> ApiError {
    let allowed = match segments {
        ["v1", "health"] => "GET",
        ["v1", "auth", "login"] => "POST",
        ["v1", "users"] | ["v1", "verifications"] => "GET, POST",
        ["v1", "users", _] | ["v1", "verifications", _] => "GET, PUT, DELETE",
        ["v1", "users", _, "verifications"] => "GET",
        _ => return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route"),
    };
    ApiError {
        allow: Some(allowed),
        ..ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("allowed methods: {allowed}"))
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
}

impl Health {
    fn ok() -> Self {
        Self { status: "ok", version: env!("CARGO_PKG_VERSION") }
    }
}

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut response = Response::new(Full::new(Bytes::from(bytes)));
            *response.status_mut() = status;
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(e) => ApiError::from(idv_core::Error::internal(e)).into_response(),
    }
}

/// The caller, from `Authorization: Bearer <token>`.
async fn authenticate(state: &State, request: &Request<Incoming>) -> Result<Principal, ApiError> {
    let Some(header) = request.headers().get(AUTHORIZATION) else {
        return Err(ApiError::unauthorized(false));
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ApiError::unauthorized(true))?;
    state.idv.authenticate(token).await.map_err(ApiError::from)
}

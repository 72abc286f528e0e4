//! The HTTP API under `/v1`: routing, credentials, idempotency and JSON in and out.

mod api_keys;
mod body;
mod error;
mod events;
mod idempotency;
mod logs;
mod query;
pub(crate) mod routes;
mod users;
mod verifications;
mod views;
mod webhooks;
mod websocket;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING,
};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use idv_core::{Idv, Principal};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;

pub use error::ApiError;
pub use events::EventHub;
use routes::Route;
pub use routes::ROUTES;

use query::Query;

/// What every request handler shares.
pub struct State {
    pub idv: Arc<Idv>,
    /// Live events of this instance's subscribers.
    pub events: Arc<EventHub>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: u64,
}

/// Response bodies: whole (JSON) or streamed (server-sent events).
pub type Body = BoxBody<Bytes, Infallible>;
pub type HttpResponse = Response<Body>;

/// A body of known bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}
type Handled = Result<HttpResponse, ApiError>;

/// A request with its body read (JSON methods only) and its path parameters.
pub struct Req {
    pub parts: Parts,
    pub body: Bytes,
    pub params: Vec<String>,
    pub peer: Option<SocketAddr>,
    /// The connection's upgrade, for the WebSocket endpoint.
    upgrade: std::sync::Mutex<Option<hyper::upgrade::OnUpgrade>>,
    /// The caller, once established.
    caller: tokio::sync::OnceCell<Result<Principal, ApiError>>,
}

impl Req {
    /// The body as `T` (400 for malformed JSON, 422 naming the field otherwise).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        body::parse_json(&self.body)
    }

    /// Takes the connection's upgrade (once).
    pub fn take_upgrade(&self) -> Option<hyper::upgrade::OnUpgrade> {
        self.upgrade
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    pub fn query(&self) -> Result<Query, ApiError> {
        Query::parse(self.parts.uri.query())
    }

    /// The `index`th path parameter as a positive id.
    pub fn id(&self, index: usize, name: &'static str) -> Result<i64, ApiError> {
        query::parse_id(self.params.get(index).map_or("", String::as_str), name)
    }
}

/// Serves one request. Never fails: every error becomes a JSON response.
pub async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
    peer: Option<SocketAddr>,
) -> Result<HttpResponse, Infallible> {
    let request_id = new_request_id();
    let span = tracing::info_span!("request", %request_id, method = %request.method(), path = request.uri().path());
    async move {
        let started = Instant::now();
        let mut response = serve(&state, request, peer)
            .await
            .unwrap_or_else(ApiError::into_response);
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-request-id", value);
        }
        let elapsed_ms = started.elapsed().as_millis() as u64;
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms,
            "request served"
        );
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

async fn serve(
    state: &Arc<State>,
    request: Request<Incoming>,
    peer: Option<SocketAddr>,
) -> Handled {
    let declares_body = declares_body(&request);
    let mut body_read = false;
    let result = route_and_dispatch(state, request, peer, &mut body_read).await;
    let mut response = result.unwrap_or_else(ApiError::into_response);
    if declares_body && !body_read {
        // The unread body is still on the wire: the connection cannot carry another request.
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response)
}

fn declares_body(request: &Request<Incoming>) -> bool {
    let headers = request.headers();
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    headers.contains_key(TRANSFER_ENCODING) || length.is_some_and(|n| n > 0)
}

async fn route_and_dispatch(
    state: &Arc<State>,
    request: Request<Incoming>,
    peer: Option<SocketAddr>,
    body_read: &mut bool,
) -> Handled {
    let (route, params) = routes::resolve(request.method(), request.uri().path())?;
    let takes_body = matches!(*request.method(), Method::POST | Method::PUT);
    let (mut parts, incoming) = request.into_parts();
    let upgrade = std::sync::Mutex::new(parts.extensions.remove::<hyper::upgrade::OnUpgrade>());
    let body = if takes_body {
        let body = body::read_json_body(&parts, incoming, state.max_body_bytes).await?;
        *body_read = true;
        body
    } else {
        Bytes::new()
    };
    let req = Req {
        parts,
        body,
        params,
        peer,
        upgrade,
        caller: tokio::sync::OnceCell::new(),
    };
    if req.parts.method == Method::POST {
        idempotency::serve(state, req, route).await
    } else {
        dispatch(state, route, &req).await
    }
}

pub(crate) async fn dispatch(state: &State, route: Route, req: &Req) -> Handled {
    match route {
        Route::Health => Ok(json(StatusCode::OK, &Health::ok())),
        Route::OpenApi => Ok(openapi()),
        Route::Login => users::login(state, req).await,
        Route::CreateUser => users::create(state, req).await,
        Route::ListUsers => users::list(state, req).await,
        Route::GetUser => users::get(state, req).await,
        Route::UpdateUser => users::update(state, req).await,
        Route::DeleteUser => users::delete(state, req).await,
        Route::UserVerifications => verifications::list_for_user(state, req).await,
        Route::CreateVerification => verifications::create(state, req).await,
        Route::ListVerifications => verifications::list(state, req).await,
        Route::GetVerification => verifications::get(state, req).await,
        Route::ReviewVerification => verifications::review(state, req).await,
        Route::DeleteVerification => verifications::delete(state, req).await,
        Route::CreateKey => api_keys::create(state, req).await,
        Route::ListKeys => api_keys::list(state, req).await,
        Route::GetKey => api_keys::get(state, req).await,
        Route::UpdateKey => api_keys::update(state, req).await,
        Route::DeleteKey => api_keys::delete(state, req).await,
        Route::ListLogs => logs::list(state, req).await,
        Route::Events => events::stream(state, req).await,
        Route::WebSocket => websocket::connect(state, req).await,
        Route::CreateWebhook => webhooks::create(state, req).await,
        Route::ListWebhooks => webhooks::list(state, req).await,
        Route::GetWebhook => webhooks::get(state, req).await,
        Route::DeleteWebhook => webhooks::delete(state, req).await,
        Route::WebhookDeliveries => webhooks::deliveries(state, req).await,
        Route::GetDelivery => webhooks::delivery(state, req).await,
        Route::Redeliver => webhooks::redeliver(state, req).await,
    }
}

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

fn openapi() -> HttpResponse {
    let mut response = Response::new(full(Bytes::from_static(OPENAPI.as_bytes())));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
}

impl Health {
    fn ok() -> Self {
        Self {
            status: "ok",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// A JSON response.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut response = Response::new(full(bytes));
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
        Err(e) => ApiError::from(idv_core::Error::internal(e)).into_response(),
    }
}

/// The credential of a request: `Authorization: Bearer <token or API key>` or `X-API-Key`.
enum Credential<'a> {
    Token(&'a str),
    ApiKey(&'a str),
}

fn credential(parts: &Parts) -> Result<Option<Credential<'_>>, ApiError> {
    if let Some(value) = parts.headers.get("x-api-key") {
        let key = value
            .to_str()
            .map_err(|_| ApiError::unauthorized(true))?
            .trim();
        return Ok(Some(Credential::ApiKey(key)));
    }
    let Some(header) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| ApiError::unauthorized(true))?;
    if idv_core::api_keys::prefix_of(token).is_some() {
        Ok(Some(Credential::ApiKey(token)))
    } else {
        Ok(Some(Credential::Token(token)))
    }
}

/// The caller; 401 without a valid credential. Checked once per request, however often asked.
async fn authenticate(state: &State, req: &Req) -> Result<Principal, ApiError> {
    req.caller
        .get_or_init(|| check_credential(state, req))
        .await
        .clone()
}

async fn check_credential(state: &State, req: &Req) -> Result<Principal, ApiError> {
    let result = match credential(&req.parts)? {
        None => return Err(ApiError::unauthorized(false)),
        Some(Credential::Token(token)) => state.idv.authenticate(token).await,
        Some(Credential::ApiKey(key)) => state.idv.authenticate_key(key).await,
    };
    result.map_err(ApiError::from)
}

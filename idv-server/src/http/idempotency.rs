//! `Idempotency-Key` on POST: the same key with the same request within 24 hours gets the
//! first response again; with another request, 422.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use hyper::{Response, StatusCode};
use idv_core::idempotency::{fingerprint, Begin, StoredResponse};

use super::routes::Route;
use super::{
    authenticate, credential, dispatch, full, ApiError, Handled, HttpResponse, Req, State,
};

const HEADER: &str = "idempotency-key";

/// Whose keys these are: the caller's identity, or the client address without a credential.
async fn scope(state: &State, req: &Req) -> Option<String> {
    match credential(&req.parts) {
        Ok(None) => Some(match req.peer {
            Some(peer) => format!("anonymous:{}", peer.ip()),
            None => "anonymous".to_string(),
        }),
        Ok(Some(_)) => match authenticate(state, req).await {
            Ok(caller) => Some(match caller.api_key_id {
                Some(key_id) => format!("key:{key_id}"),
                None => format!("user:{}", caller.user_id),
            }),
            // The handler answers 401; nothing is worth remembering.
            Err(_) => None,
        },
        Err(_) => None,
    }
}

/// Serves a POST under its idempotency key, if it has one.
///
/// Logins are exempt: they change nothing worth protecting, and keeping their response would
/// keep an access token.
pub async fn serve(state: &Arc<State>, req: Req, route: Route) -> Handled {
    let Some(value) = req.parts.headers.get(HEADER) else {
        return dispatch(state, route, &req).await;
    };
    if route == Route::Login {
        return dispatch(state, route, &req).await;
    }
    let key = value
        .to_str()
        .map_err(|_| {
            ApiError::bad_parameter("Idempotency-Key", "Idempotency-Key must be visible ASCII")
        })?
        .to_string();
    let Some(scope) = scope(state, &req).await else {
        return dispatch(state, route, &req).await;
    };
    let path = req.parts.uri.path_and_query().map_or("", |p| p.as_str());
    let print = fingerprint(req.parts.method.as_str(), path, &req.body);
    let begun = state
        .idv
        .begin_idempotent(&scope, &key, &print)
        .await
        .map_err(|e| match e {
            idv_core::Error::Invalid { message, .. } => {
                ApiError::bad_parameter("Idempotency-Key", message)
            }
            other => other.into(),
        })?;
    match begun {
        Begin::Proceed => {}
        Begin::Replay(stored) => return Ok(replay(stored)),
        Begin::Mismatch => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
            )
            .with_field("Idempotency-Key"))
        }
        Begin::InProgress => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still being processed",
            )
            .with_field("Idempotency-Key"))
        }
    }

    // The work runs to its end even if the client goes away, so its retry finds the outcome
    // instead of a key stuck in progress.
    let state = state.clone();
    let task = tokio::spawn(async move {
        let response = dispatch(&state, route, &req)
            .await
            .unwrap_or_else(ApiError::into_response);
        keep(&state, &scope, &key, route, response).await
    });
    task.await
        .map_err(|e| ApiError::from(idv_core::Error::internal(e)))
}

/// Stores the response for replay (or releases the key when a retry may succeed) and hands
/// it back.
async fn keep(
    state: &State,
    scope: &str,
    key: &str,
    route: Route,
    response: HttpResponse,
) -> HttpResponse {
    let status = response.status();
    let retryable = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::UNAUTHORIZED;
    if retryable {
        if let Err(e) = state.idv.abandon_idempotent(scope, key).await {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let location = parts
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let kept = StoredResponse {
        status: status.as_u16(),
        body: without_secrets(route, &bytes),
        location,
    };
    if let Err(e) = state.idv.finish_idempotent(scope, key, kept).await {
        tracing::warn!(error = %e, "could not keep an idempotent response");
    }
    Response::from_parts(parts, full(bytes))
}

/// The body as kept for replay: a new API key is shown once, so its replay carries `"key":
/// null`.
fn without_secrets(route: Route, body: &Bytes) -> Vec<u8> {
    if route != Route::CreateKey {
        return body.to_vec();
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            if let Some(key) = value.get_mut("key") {
                *key = serde_json::Value::Null;
            }
            serde_json::to_vec(&value).unwrap_or_default()
        }
        Err(_) => body.to_vec(),
    }
}

fn replay(stored: StoredResponse) -> HttpResponse {
    let mut response = Response::new(full(Bytes::from(stored.body)));
    *response.status_mut() = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    if let Some(location) = stored.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(LOCATION, location);
    }
    response
}

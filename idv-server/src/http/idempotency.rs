//! `Idempotency-Key` on POST: the same key with the same request within 24 hours gets the
//! first response again; with another request, 422.

use std::future::Future;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use hyper::{Response, StatusCode};
use idv_core::idempotency::{fingerprint, Begin, StoredResponse};

use super::{authenticate, credential, full, ApiError, Handled, HttpResponse, Req, State};

const HEADER: &str = "idempotency-key";

/// Whose keys these are: the caller's identity, or everyone without a credential.
async fn scope(state: &State, req: &Req) -> Option<String> {
    match credential(&req.parts) {
        Ok(None) => Some("anonymous".to_string()),
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

/// Runs `handler` under the request's idempotency key, if it has one.
pub async fn serve<'a, F, Fut>(state: &State, req: &'a Req, handler: F) -> Handled
where
    F: FnOnce(&'a Req) -> Fut,
    Fut: Future<Output = Handled>,
{
    let Some(value) = req.parts.headers.get(HEADER) else {
        return handler(req).await;
    };
    let key = value.to_str().map_err(|_| {
        ApiError::bad_parameter("Idempotency-Key", "Idempotency-Key must be visible ASCII")
    })?;
    let Some(scope) = scope(state, req).await else {
        return handler(req).await;
    };
    let path = req.parts.uri.path_and_query().map_or("", |p| p.as_str());
    let print = fingerprint(req.parts.method.as_str(), path, &req.body);
    match state
        .idv
        .begin_idempotent(&scope, key, &print)
        .await
        .map_err(|e| match e {
            idv_core::Error::Invalid { message, .. } => {
                ApiError::bad_parameter("Idempotency-Key", message)
            }
            other => other.into(),
        })? {
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

    let response = handler(req).await.unwrap_or_else(ApiError::into_response);
    let status = response.status();
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::UNAUTHORIZED
    {
        if let Err(e) = state.idv.abandon_idempotent(&scope, key).await {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
        return Ok(response);
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
    let stored = StoredResponse {
        status: status.as_u16(),
        body: bytes.to_vec(),
        location,
    };
    if let Err(e) = state.idv.finish_idempotent(&scope, key, stored).await {
        tracing::warn!(error = %e, "could not keep an idempotent response");
    }
    Ok(Response::from_parts(parts, full(bytes)))
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

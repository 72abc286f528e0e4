//! API errors: one JSON shape, one mapping from core errors to status codes.

use bytes::Bytes;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};
use idv_core::Error;

use super::{full, HttpResponse};
use serde::Serialize;
use std::borrow::Cow;

/// An error as clients see it: `{"error": {"code", "message", "field"}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: Cow<'static, str>,
    pub field: Option<Cow<'static, str>>,
    /// Whether the request carried a credential that was refused (vs. none at all).
    pub bad_credential: bool,
    /// Methods the path allows, for 405 responses.
    pub allow: Option<String>,
    /// Seconds to wait, for 429 responses.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            bad_credential: false,
            allow: None,
            retry_after: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400 for a malformed parameter, naming it.
    pub fn bad_parameter(
        field: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_parameter", message).with_field(field)
    }

    pub fn unauthorized(bad_credential: bool) -> Self {
        let message = if bad_credential {
            "the access token is invalid or expired"
        } else {
            "an access token is required"
        };
        Self {
            bad_credential,
            ..Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
        }
    }

    pub fn into_response(self) -> HttpResponse {
        let body = Body {
            error: Detail {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
            },
        };
        let json = serde_json::to_vec(&body).expect("error bodies always serialise");
        let mut response = Response::new(full(Bytes::from(json)));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(allow) = self
            .allow
            .as_deref()
            .and_then(|a| HeaderValue::from_str(a).ok())
        {
            headers.insert(ALLOW, allow);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = if self.bad_credential {
                r#"Bearer realm="idv", error="invalid_token""#
            } else {
                r#"Bearer realm="idv""#
            };
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound { what } => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            Error::Conflict {
                field,
                code,
                message,
            } => Self::new(StatusCode::CONFLICT, code, message).with_field(field),
            Error::Invalid {
                field,
                code,
                message,
            } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_field(field),
            Error::Unauthorized => Self::unauthorized(true),
            Error::Forbidden => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", "you may not do this")
            }
            Error::RateLimited { retry_after } => {
                let seconds = retry_after.as_secs().max(1);
                Self {
                    retry_after: Some(seconds),
                    ..Self::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too_many_attempts",
                        "too many attempts; try again later",
                    )
                }
            }
            Error::Unavailable(detail) => {
                tracing::error!(error = %detail, "backing service unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "try again shortly",
                )
            }
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "an unexpected error occurred",
                )
            }
            // The core error is non-exhaustive; anything new is treated as ours to fix.
            other => {
                tracing::error!(error = %other, "unmapped error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "an unexpected error occurred",
                )
            }
        }
    }
}

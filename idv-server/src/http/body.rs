//! Reading request bodies: size limit, media type and strict JSON.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::StatusCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// How long a client may take to send its whole body.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body must be at most {limit} bytes"),
    )
}

/// Whether the request says it has no body at all.
fn is_empty(parts: &Parts) -> bool {
    let length = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok());
    let chunked = parts.headers.contains_key(hyper::header::TRANSFER_ENCODING);
    !chunked && length.is_none_or(|l| l.trim() == "0")
}

/// Whether the request declares a JSON body (`application/json`, any case, any parameters).
fn is_json(parts: &Parts) -> bool {
    let Some(value) = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Reads the whole body of a JSON request: 415 unless it is declared JSON, 413 over `limit`.
pub async fn read_json_body(parts: &Parts, body: Incoming, limit: u64) -> Result<Bytes, ApiError> {
    if is_empty(parts) {
        // Nothing to declare: handlers that need JSON refuse the empty body as malformed.
        return Ok(Bytes::new());
    }
    if !is_json(parts) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the request body must be JSON with Content-Type: application/json",
        ));
    }
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    let read = tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, limit_usize).collect());
    let Ok(collected) = read.await else {
        return Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the request body did not arrive in time",
        ));
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large(limit))
        }
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "body_unreadable",
            "the request body could not be read",
        )),
    }
}

/// Parses a JSON body into `T`. Malformed JSON is 400; JSON of the wrong shape (unknown,
/// duplicate, missing or mistyped fields) is 422 naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, over the whole body, so that a field error never hides malformed JSON.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|_| malformed())?;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_type",
            "the body must be a JSON object",
        )
        .with_field("body"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    let value = match parsed {
        Ok(value) => value,
        Err(e) => return Err(shape_error(e)),
    };
    deserializer.end().map_err(|_| malformed())?;
    Ok(value)
}

fn malformed() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_json",
        "the request body is not valid JSON",
    )
}

fn shape_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = error.inner();
    if !matches!(inner.classify(), serde_json::error::Category::Data) {
        return malformed();
    }
    let message = inner.to_string();
    // serde names unknown, duplicate and missing fields in backticks; the path names the
    // field whose value had the wrong type.
    let named = backticked(&message).filter(|_| {
        ["unknown field", "duplicate field", "missing field"]
            .iter()
            .any(|p| message.starts_with(p))
    });
    let path = error.path().to_string();
    let field = match named {
        Some(name) if path == "." => name.to_string(),
        Some(name) if path == name || path.ends_with(&format!(".{name}")) => path,
        Some(name) => format!("{path}.{name}"),
        None if path == "." => "body".to_string(),
        None => path,
    };
    let code = if message.starts_with("unknown field") {
        "unknown_field"
    } else if message.starts_with("duplicate field") {
        "duplicate_field"
    } else if message.starts_with("missing field") {
        "required"
    } else {
        "invalid_type"
    };
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or_default()
        .to_string();
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_field(field)
}

fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(&message[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        age: Option<u32>,
    }

    fn error_of(json: &str) -> ApiError {
        parse_json::<Login>(json.as_bytes()).unwrap_err()
    }

    #[test]
    fn names_unknown_duplicate_missing_and_mistyped_fields() {
        let unknown = error_of(r#"{"email":"a","is_admin":true}"#);
        assert_eq!(
            (unknown.status, unknown.field.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("is_admin"))
        );
        let duplicate = error_of(r#"{"email":"a","email":"b"}"#);
        assert_eq!(
            (duplicate.code, duplicate.field.as_deref()),
            ("duplicate_field", Some("email"))
        );
        let missing = error_of(r#"{}"#);
        assert_eq!(
            (missing.code, missing.field.as_deref()),
            ("required", Some("email"))
        );
        let mistyped = error_of(r#"{"email":"a","age":"x"}"#);
        assert_eq!(
            (mistyped.code, mistyped.field.as_deref()),
            ("invalid_type", Some("age"))
        );
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        for body in [r#"{"email":"#, "", "nope", r#"{"email":"a"} trailing"#] {
            assert_eq!(error_of(body).status, StatusCode::BAD_REQUEST, "{body:?}");
        }
    }

    #[test]
    fn a_non_object_body_is_unprocessable() {
        let e = error_of("[1,2]");
        assert_eq!(
            (e.status, e.field.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("body"))
        );
    }
}

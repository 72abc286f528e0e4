//! The route table. The OpenAPI document is checked against it in the tests.

use hyper::{Method, StatusCode};

use super::error::ApiError;

/// Every operation of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Health,
    OpenApi,
    Login,
    CreateUser,
    ListUsers,
    GetUser,
    UpdateUser,
    DeleteUser,
    UserVerifications,
    CreateVerification,
    ListVerifications,
    GetVerification,
    ReviewVerification,
    DeleteVerification,
    CreateKey,
    ListKeys,
    GetKey,
    UpdateKey,
    DeleteKey,
    ListLogs,
    Events,
    WebSocket,
    CreateWebhook,
    ListWebhooks,
    GetWebhook,
    DeleteWebhook,
    WebhookDeliveries,
    GetDelivery,
    Redeliver,
}

/// Method, path pattern (`{name}` matches one segment) and operation.
pub const ROUTES: &[(&str, &str, Route)] = &[
    ("GET", "/v1/health", Route::Health),
    ("GET", "/v1/openapi.json", Route::OpenApi),
    ("POST", "/v1/auth/login", Route::Login),
    ("POST", "/v1/users", Route::CreateUser),
    ("GET", "/v1/users", Route::ListUsers),
    ("GET", "/v1/users/{user_id}", Route::GetUser),
    ("PUT", "/v1/users/{user_id}", Route::UpdateUser),
    ("DELETE", "/v1/users/{user_id}", Route::DeleteUser),
    (
        "GET",
        "/v1/users/{user_id}/verifications",
        Route::UserVerifications,
    ),
    ("POST", "/v1/verifications", Route::CreateVerification),
    ("GET", "/v1/verifications", Route::ListVerifications),
    (
        "GET",
        "/v1/verifications/{verification_id}",
        Route::GetVerification,
    ),
    (
        "PUT",
        "/v1/verifications/{verification_id}",
        Route::ReviewVerification,
    ),
    (
        "DELETE",
        "/v1/verifications/{verification_id}",
        Route::DeleteVerification,
    ),
    ("POST", "/v1/api-keys", Route::CreateKey),
    ("GET", "/v1/api-keys", Route::ListKeys),
    ("GET", "/v1/api-keys/{api_key_id}", Route::GetKey),
    ("PUT", "/v1/api-keys/{api_key_id}", Route::UpdateKey),
    ("DELETE", "/v1/api-keys/{api_key_id}", Route::DeleteKey),
    ("GET", "/v1/logs", Route::ListLogs),
    ("GET", "/v1/events", Route::Events),
    ("GET", "/v1/ws", Route::WebSocket),
    ("POST", "/v1/webhooks", Route::CreateWebhook),
    ("GET", "/v1/webhooks", Route::ListWebhooks),
    ("GET", "/v1/webhooks/{webhook_id}", Route::GetWebhook),
    ("DELETE", "/v1/webhooks/{webhook_id}", Route::DeleteWebhook),
    (
        "GET",
        "/v1/webhooks/{webhook_id}/deliveries",
        Route::WebhookDeliveries,
    ),
    (
        "GET",
        "/v1/webhook-deliveries/{delivery_id}",
        Route::GetDelivery,
    ),
    (
        "POST",
        "/v1/webhook-deliveries/{delivery_id}/redeliver",
        Route::Redeliver,
    ),
];

/// The parameters of `path` if it matches `pattern`.
fn matches(pattern: &str, path: &str) -> Option<Vec<String>> {
    let mut wanted = pattern.split('/');
    let mut given = path.split('/');
    let mut params = Vec::new();
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') => params.push(g.to_string()),
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// The operation for a request, or 404 (no such path) / 405 (path exists, method does not).
pub fn resolve(method: &Method, path: &str) -> Result<(Route, Vec<String>), ApiError> {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let mut allowed = Vec::new();
    for (route_method, pattern, route) in ROUTES {
        let Some(params) = matches(pattern, path) else {
            continue;
        };
        if method.as_str() == *route_method {
            return Ok((*route, params));
        }
        allowed.push(*route_method);
    }
    if allowed.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such route",
        ));
    }
    let allow = allowed.join(", ");
    Err(ApiError {
        allow: Some(allow.clone()),
        ..ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("allowed methods: {allow}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_parameters_and_refuses_other_methods() {
        let (route, params) = resolve(&Method::GET, "/v1/users/7/verifications").unwrap();
        assert_eq!(
            (route, params),
            (Route::UserVerifications, vec!["7".to_string()])
        );
        let e = resolve(&Method::PATCH, "/v1/users/7").unwrap_err();
        assert_eq!(
            (e.status, e.allow.as_deref()),
            (StatusCode::METHOD_NOT_ALLOWED, Some("GET, PUT, DELETE"))
        );
        assert_eq!(
            resolve(&Method::GET, "/v1/nothing").unwrap_err().status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            resolve(&Method::GET, "/v1/users/").unwrap().0,
            Route::ListUsers
        );
    }
}

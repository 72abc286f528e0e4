//! `/v1/auth/login` and `/v1/users`.

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use idv_core::accounts::{ProfileUpdate, Registration};
use serde::{Deserialize, Serialize};

use super::body::{parse_json, read_json_body};
use super::query::{parse_id, Query};
use super::views::{Message, PageView, UserView};
use super::{authenticate, json, ApiError, Handled, State};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Serialize)]
struct LoginResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
}

pub async fn login(state: &State, request: Request<Incoming>) -> Handled {
    let body = read_json_body(request, state.max_body_bytes).await?;
    let login: LoginRequest = parse_json(&body)?;
    let issued = state.idv.login(&login.email, &login.password).await.map_err(|e| match e {
        idv_core::Error::Unauthorized => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "the e-mail address or password is wrong",
        ),
        other => other.into(),
    })?;
    let response = LoginResponse {
        access_token: issued.access_token.expose(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
    };
    Ok(json(StatusCode::OK, &response))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUser {
    email: String,
    password: String,
    full_name: String,
}

pub async fn create(state: &State, request: Request<Incoming>) -> Handled {
    let body = read_json_body(request, state.max_body_bytes).await?;
    let new: CreateUser = parse_json(&body)?;
    let registration = Registration { email: new.email, password: new.password, full_name: new.full_name };
    let user = state.idv.register(registration).await?;
    Ok(json(StatusCode::CREATED, &UserView::from(user)))
}

pub async fn list(state: &State, request: Request<Incoming>) -> Handled {
    let caller = authenticate(state, &request).await?;
    let page = Query::parse(request.uri().query())?.page()?;
    let users = state.idv.list_users(&caller, page).await?;
    Ok(json(StatusCode::OK, &PageView::new(users, UserView::from)))
}

pub async fn get(state: &State, request: Request<Incoming>, id: &str) -> Handled {
    let caller = authenticate(state, &request).await?;
    let id = parse_id(id, "user_id")?;
    let user = state.idv.get_user(&caller, id).await?;
    Ok(json(StatusCode::OK, &UserView::from(user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateUser {
    email: Option<String>,
    full_name: Option<String>,
    password: Option<String>,
}

pub async fn update(state: &State, request: Request<Incoming>, id: &str) -> Handled {
    let caller = authenticate(state, &request).await?;
    let id = parse_id(id, "user_id")?;
    let body = read_json_body(request, state.max_body_bytes).await?;
    let changes: UpdateUser = parse_json(&body)?;
    if changes.email.is_none() && changes.full_name.is_none() && changes.password.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "give at least one of email, full_name, password",
        )
        .with_field("body"));
    }
    let update = ProfileUpdate { email: changes.email, full_name: changes.full_name, password: changes.password };
    let user = state.idv.update_user(&caller, id, update).await?;
    Ok(json(StatusCode::OK, &UserView::from(user)))
}

pub async fn delete(state: &State, request: Request<Incoming>, id: &str) -> Handled {
    let caller = authenticate(state, &request).await?;
    let id = parse_id(id, "user_id")?;
    state.idv.delete_user(&caller, id).await?;
    Ok(json(StatusCode::OK, &Message { message: "User deleted successfully" }))
}

//! `/v1/auth/login` and `/v1/users`.

use hyper::StatusCode;
use idv_core::accounts::{ProfileUpdate, Registration};
use idv_core::api_keys::Permission;
use serde::{Deserialize, Serialize};

use super::views::{Message, PageView, UserView};
use super::{authenticate, credential, json, ApiError, Handled, Req, State};

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

pub async fn login(state: &State, req: &Req) -> Handled {
    let login: LoginRequest = req.json()?;
    let client = req.peer.map(|peer| peer.ip());
    let issued = state
        .idv
        .login(&login.email, &login.password, client)
        .await
        .map_err(|e| match e {
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

/// Registration is open; a caller who presents a credential needs `write` permission.
pub async fn create(state: &State, req: &Req) -> Handled {
    if credential(&req.parts)?.is_some() {
        authenticate(state, req).await?.require(Permission::Write)?;
    }
    let new: CreateUser = req.json()?;
    let registration = Registration {
        email: new.email,
        password: new.password,
        full_name: new.full_name,
    };
    let user = state.idv.register(registration).await?;
    Ok(json(StatusCode::CREATED, &UserView::from(user)))
}

pub async fn list(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let page = req.query()?.page()?;
    let users = state.idv.list_users(&caller, page).await?;
    Ok(json(StatusCode::OK, &PageView::new(users, UserView::from)))
}

pub async fn get(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let id = req.id(0, "user_id")?;
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

pub async fn update(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let id = req.id(0, "user_id")?;
    let changes: UpdateUser = req.json()?;
    if changes.email.is_none() && changes.full_name.is_none() && changes.password.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "give at least one of email, full_name, password",
        )
        .with_field("body"));
    }
    let update = ProfileUpdate {
        email: changes.email,
        full_name: changes.full_name,
        password: changes.password,
    };
    let user = state.idv.update_user(&caller, id, update).await?;
    Ok(json(StatusCode::OK, &UserView::from(user)))
}

pub async fn delete(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let id = req.id(0, "user_id")?;
    state.idv.delete_user(&caller, id).await?;
    Ok(json(
        StatusCode::OK,
        &Message {
            message: "User deleted successfully",
        },
    ))
}

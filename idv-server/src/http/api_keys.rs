//! `/v1/api-keys`: administrators create, list, change and revoke API keys.

use chrono::{DateTime, Utc};
use hyper::StatusCode;
use idv_core::api_keys::{ApiKey, KeyRequest};
use serde::{Deserialize, Serialize};

use super::views::{time, Message, PageView};
use super::{authenticate, json, ApiError, Handled, Req, State};

#[derive(Serialize)]
struct KeyView {
    id: i64,
    name: String,
    permissions: Vec<&'static str>,
    /// The visible start of the key, to tell keys apart.
    prefix: String,
    created_at: String,
    last_used_at: Option<String>,
    expires_at: Option<String>,
}

impl From<ApiKey> for KeyView {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name,
            permissions: key.permissions.iter().map(|p| p.as_str()).collect(),
            prefix: key.prefix,
            created_at: time(key.created_at),
            last_used_at: key.last_used_at.map(time),
            expires_at: key.expires_at.map(time),
        }
    }
}

#[derive(Serialize)]
struct CreatedKeyView<'a> {
    #[serde(flatten)]
    key: KeyView,
    /// The key itself, shown this once.
    #[serde(rename = "key")]
    secret: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    name: String,
    permissions: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateKey {
    name: Option<String>,
    permissions: Option<Vec<String>>,
}

fn parse_expiry(text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_timestamp",
                    "expires_at must be an RFC 3339 timestamp",
                )
                .with_field("expires_at")
            })
    })
    .transpose()
}

pub async fn create(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let body: CreateKey = req.json()?;
    let request = KeyRequest {
        name: Some(body.name),
        permissions: Some(body.permissions),
        expires_at: parse_expiry(body.expires_at.as_deref())?,
    };
    let created = state.idv.create_api_key(&caller, request).await?;
    let view = CreatedKeyView {
        key: created.record.into(),
        secret: created.key.expose(),
    };
    Ok(json(StatusCode::CREATED, &view))
}

pub async fn list(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let page = state
        .idv
        .list_api_keys(&caller, req.query()?.page()?)
        .await?;
    Ok(json(StatusCode::OK, &PageView::new(page, KeyView::from)))
}

pub async fn get(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let key = state
        .idv
        .get_api_key(&caller, req.id(0, "api_key_id")?)
        .await?;
    Ok(json(StatusCode::OK, &KeyView::from(key)))
}

pub async fn update(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let id = req.id(0, "api_key_id")?;
    let body: UpdateKey = req.json()?;
    if body.name.is_none() && body.permissions.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            "give name, permissions or both",
        )
        .with_field("body"));
    }
    let request = KeyRequest {
        name: body.name,
        permissions: body.permissions,
        expires_at: None,
    };
    let key = state.idv.update_api_key(&caller, id, request).await?;
    Ok(json(StatusCode::OK, &KeyView::from(key)))
}

pub async fn delete(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    state
        .idv
        .revoke_api_key(&caller, req.id(0, "api_key_id")?)
        .await?;
    Ok(json(
        StatusCode::OK,
        &Message {
            message: "API key revoked successfully",
        },
    ))
}

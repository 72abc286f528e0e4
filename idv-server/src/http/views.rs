//! Response bodies: the API's view of domain types.

use chrono::{DateTime, SecondsFormat, Utc};
use idv_core::domain::{Page, User, Verification, VerificationResult};
use serde::Serialize;

/// Timestamps as the API writes them: UTC, whole seconds, `Z`.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Serialize)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub role: &'static str,
    pub created_at: String,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            email: user.email,
            full_name: user.full_name,
            role: user.role.as_str(),
            created_at: time(user.created_at),
        }
    }
}

/// A verification in lists: no result.
#[derive(Serialize)]
pub struct VerificationSummary {
    pub id: i64,
    pub user_id: i64,
    pub document_type: &'static str,
    pub status: &'static str,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Verification> for VerificationSummary {
    fn from(v: &Verification) -> Self {
        Self {
            id: v.id,
            user_id: v.user_id,
            document_type: v.document_type.as_str(),
            status: v.status.as_str(),
            created_at: time(v.created_at),
            updated_at: time(v.updated_at),
        }
    }
}

/// One verification with its result (`null` until decided).
#[derive(Serialize)]
pub struct VerificationView {
    #[serde(flatten)]
    pub summary: VerificationSummary,
    pub result: Option<VerificationResult>,
}

impl From<Verification> for VerificationView {
    fn from(v: Verification) -> Self {
        Self {
            summary: VerificationSummary::from(&v),
            result: v.result,
        }
    }
}

#[derive(Serialize)]
pub struct Meta {
    pub current_page: u32,
    pub per_page: u32,
    pub total_pages: u64,
    pub total_count: u64,
}

/// A page as `{"data": [...], "meta": {...}}`.
#[derive(Serialize)]
pub struct PageView<T> {
    pub data: Vec<T>,
    pub meta: Meta,
}

pub fn meta<T>(page: &Page<T>) -> Meta {
    Meta {
        current_page: page.request.page,
        per_page: page.request.per_page,
        total_pages: page.total_pages(),
        total_count: page.total,
    }
}

impl<T> PageView<T> {
    pub fn new<D>(page: Page<D>, view: impl FnMut(D) -> T) -> Self {
        let meta = meta(&page);
        Self {
            data: page.items.into_iter().map(view).collect(),
            meta,
        }
    }
}

#[derive(Serialize)]
pub struct Message {
    pub message: &'static str,
}

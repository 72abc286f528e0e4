//! `/v1/logs`: the system log, for administrators.

use hyper::StatusCode;
use idv_core::logs::{parse_range_bound, Level, LogEntry, LogFilter, RangeEnd};
use serde::Serialize;

use super::query::Query;
use super::views::{time, PageView};
use super::{authenticate, json, ApiError, Handled, Req, State};

#[derive(Serialize)]
struct LogView {
    id: i64,
    timestamp: String,
    level: &'static str,
    event: &'static str,
    message: String,
    user_id: Option<i64>,
}

impl From<LogEntry> for LogView {
    fn from(entry: LogEntry) -> Self {
        Self {
            id: entry.id,
            timestamp: time(entry.timestamp),
            level: entry.level.as_str(),
            event: entry.event.as_str(),
            message: entry.message,
            user_id: entry.user_id,
        }
    }
}

fn bound(
    query: &Query,
    name: &'static str,
    end: RangeEnd,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    query
        .get(name)
        .map(|text| {
            parse_range_bound(text, end).ok_or_else(|| {
                ApiError::bad_parameter(
                    name,
                    format!("{name} must be a date (YYYY-MM-DD) or an RFC 3339 timestamp"),
                )
            })
        })
        .transpose()
}

/// The filter of a `/v1/logs` query: 400 for a bad date, an unknown level or `to` before `from`.
fn filter(query: &Query) -> Result<LogFilter, ApiError> {
    let from = bound(query, "from", RangeEnd::From)?;
    let to = bound(query, "to", RangeEnd::To)?;
    if let (Some(from), Some(to)) = (from, to) {
        if to <= from {
            return Err(ApiError::bad_parameter("to", "to must not be before from"));
        }
    }
    let level = query
        .get("level")
        .map(|text| {
            Level::parse(text).ok_or_else(|| {
                ApiError::bad_parameter("level", "level must be one of info, warn, error")
            })
        })
        .transpose()?;
    Ok(LogFilter { from, to, level })
}

pub async fn list(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    caller.require_admin_permission()?;
    let query = req.query()?;
    let filter = filter(&query)?;
    let page = state.idv.list_logs(&caller, filter, query.page()?).await?;
    Ok(json(StatusCode::OK, &PageView::new(page, LogView::from)))
}

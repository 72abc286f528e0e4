//! `/v1/webhooks` and `/v1/webhook-deliveries`: endpoints, their deliveries and attempts.

use hyper::StatusCode;
use idv_core::webhooks::{Delivery, DeliveryAttempt, WebhookEndpoint};
use serde::{Deserialize, Serialize};

use super::views::{time, Message, PageView};
use super::{authenticate, json, Handled, Req, State};

#[derive(Serialize)]
struct EndpointView {
    id: i64,
    url: String,
    /// Event kinds delivered; empty means all.
    events: Vec<&'static str>,
    created_at: String,
}

impl From<&WebhookEndpoint> for EndpointView {
    fn from(e: &WebhookEndpoint) -> Self {
        Self {
            id: e.id,
            url: e.url.clone(),
            events: e.events.iter().map(|k| k.as_str()).collect(),
            created_at: time(e.created_at),
        }
    }
}

#[derive(Serialize)]
struct CreatedEndpointView<'a> {
    #[serde(flatten)]
    endpoint: EndpointView,
    /// Signs deliveries; shown only in this response.
    secret: &'a str,
}

#[derive(Serialize)]
struct DeliveryView {
    id: i64,
    webhook_id: i64,
    event_id: i64,
    status: &'static str,
    attempts: u32,
    next_attempt_at: Option<String>,
    last_error: Option<String>,
    created_at: String,
    delivered_at: Option<String>,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        let pending = d.status == idv_core::webhooks::DeliveryStatus::Pending;
        Self {
            id: d.id,
            webhook_id: d.endpoint_id,
            event_id: d.event_id,
            status: d.status.as_str(),
            attempts: d.attempts,
            next_attempt_at: pending.then(|| time(d.next_attempt_at)),
            last_error: d.last_error.clone(),
            created_at: time(d.created_at),
            delivered_at: d.delivered_at.map(time),
        }
    }
}

#[derive(Serialize)]
struct AttemptView {
    number: u32,
    at: String,
    status_code: Option<u16>,
    error: Option<String>,
    duration_ms: u64,
}

impl From<&DeliveryAttempt> for AttemptView {
    fn from(a: &DeliveryAttempt) -> Self {
        Self {
            number: a.number,
            at: time(a.at),
            status_code: a.status_code,
            error: a.error.clone(),
            duration_ms: a.duration_ms,
        }
    }
}

#[derive(Serialize)]
struct DeliveryDetail {
    #[serde(flatten)]
    delivery: DeliveryView,
    attempt_log: Vec<AttemptView>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateEndpoint {
    url: String,
    #[serde(default)]
    events: Vec<String>,
}

pub async fn create(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let body: CreateEndpoint = req.json()?;
    let endpoint = state
        .idv
        .create_webhook(&caller, &body.url, &body.events)
        .await?;
    let view = CreatedEndpointView {
        endpoint: EndpointView::from(&endpoint),
        secret: endpoint.secret.expose(),
    };
    Ok(json(StatusCode::CREATED, &view))
}

pub async fn list(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    caller.require_admin_permission()?;
    let page = state
        .idv
        .list_webhooks(&caller, req.query()?.page()?)
        .await?;
    Ok(json(
        StatusCode::OK,
        &PageView::new(page, |e| EndpointView::from(&e)),
    ))
}

pub async fn get(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let endpoint = state
        .idv
        .get_webhook(&caller, req.id(0, "webhook_id")?)
        .await?;
    Ok(json(StatusCode::OK, &EndpointView::from(&endpoint)))
}

pub async fn delete(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    state
        .idv
        .delete_webhook(&caller, req.id(0, "webhook_id")?)
        .await?;
    Ok(json(
        StatusCode::OK,
        &Message {
            message: "Webhook deleted successfully",
        },
    ))
}

pub async fn deliveries(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    caller.require_admin_permission()?;
    let id = req.id(0, "webhook_id")?;
    let page = state
        .idv
        .list_deliveries(&caller, id, req.query()?.page()?)
        .await?;
    Ok(json(
        StatusCode::OK,
        &PageView::new(page, |d| DeliveryView::from(&d)),
    ))
}

pub async fn delivery(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let (delivery, attempts) = state
        .idv
        .get_delivery(&caller, req.id(0, "delivery_id")?)
        .await?;
    let detail = DeliveryDetail {
        delivery: DeliveryView::from(&delivery),
        attempt_log: attempts.iter().map(AttemptView::from).collect(),
    };
    Ok(json(StatusCode::OK, &detail))
}

pub async fn redeliver(state: &State, req: &Req) -> Handled {
    let caller = authenticate(state, req).await?;
    let delivery = state
        .idv
        .redeliver(&caller, req.id(0, "delivery_id")?)
        .await?;
    Ok(json(StatusCode::OK, &DeliveryView::from(&delivery)))
}

//! Webhook use cases: endpoints for administrators, and the background work that turns events
//! into deliveries and sends them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngCore;
use tokio::sync::watch;

use crate::auth::Secret;
use crate::domain::{now, Page, PageRequest};
use crate::error::{Error, Result};
use crate::events::{Event, EventKind};
use crate::idv::{Idv, Principal};
use crate::ports::WebhookTransport;
use crate::webhooks::{
    backoff, signature_header, AttemptOutcome, Delivery, DeliveryAttempt, DeliveryClaim,
    DestinationError, NewWebhookEndpoint, WebhookEndpoint, RETRY_PERIOD,
};

/// How long a sender holds a delivery; above the transport's request timeout.
const DELIVERY_LEASE: Duration = Duration::from_secs(60);
const IDLE_POLL: Duration = Duration::from_millis(300);
const FAN_OUT_PAGE: u32 = 200;
const MAX_URL_LEN: usize = 2048;

fn new_secret() -> Secret {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    Secret::new(format!("whsec_{}", hex::encode(bytes)))
}

fn parse_kinds(names: &[String]) -> Result<Vec<EventKind>> {
    let mut kinds = Vec::new();
    for name in names {
        let kind = EventKind::parse(name).ok_or_else(|| {
            Error::invalid("events", "unknown_event", format!("unknown event {name:?}"))
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

impl Idv {
    fn transport(&self) -> Result<&Arc<dyn WebhookTransport>> {
        self.ports.webhook_transport.as_ref().ok_or_else(|| {
            Error::invalid(
                "url",
                "webhooks_disabled",
                "this server does not send webhooks",
            )
        })
    }

    async fn check_url(&self, url: &str) -> Result<()> {
        if url.len() > MAX_URL_LEN {
            return Err(Error::invalid(
                "url",
                "invalid_url",
                "the URL is longer than 2048 bytes",
            ));
        }
        self.transport()?.check_destination(url).await.map_err(|e| {
            let code = match e {
                DestinationError::Internal(_) => "forbidden_destination",
                DestinationError::Scheme | DestinationError::Malformed => "invalid_url",
            };
            Error::invalid("url", code, e.to_string())
        })
    }

    /// Adds an endpoint (administrators); its secret is in the result, to show once.
    pub async fn create_webhook(
        &self,
        caller: &Principal,
        url: &str,
        events: &[String],
    ) -> Result<WebhookEndpoint> {
        caller.require_admin_permission()?;
        let events = parse_kinds(events)?;
        self.check_url(url).await?;
        let new = NewWebhookEndpoint {
            url: url.to_string(),
            events,
            secret: new_secret(),
        };
        self.ports.webhooks.create_endpoint(new).await
    }

    /// Makes sure the operator's endpoint (`IDV_WEBHOOK_URL`) exists, with every event kind.
    pub async fn ensure_webhook(&self, url: &str, secret: Secret) -> Result<()> {
        self.check_url(url).await?;
        let mut page = PageRequest {
            page: 1,
            per_page: PageRequest::MAX_PER_PAGE,
        };
        loop {
            let endpoints = self.ports.webhooks.list_endpoints(page).await?;
            if endpoints.items.iter().any(|e| e.url == url) {
                return Ok(());
            }
            if u64::from(page.page) >= endpoints.total_pages() {
                break;
            }
            page.page += 1;
        }
        let new = NewWebhookEndpoint {
            url: url.to_string(),
            events: Vec::new(),
            secret,
        };
        self.ports.webhooks.create_endpoint(new).await.map(|_| ())
    }

    pub async fn list_webhooks(
        &self,
        caller: &Principal,
        page: PageRequest,
    ) -> Result<Page<WebhookEndpoint>> {
        caller.require_admin_permission()?;
        self.ports.webhooks.list_endpoints(page).await
    }

    pub async fn get_webhook(&self, caller: &Principal, id: i64) -> Result<WebhookEndpoint> {
        caller.require_admin_permission()?;
        self.ports.webhooks.get_endpoint(id).await
    }

    pub async fn delete_webhook(&self, caller: &Principal, id: i64) -> Result<()> {
        caller.require_admin_permission()?;
        self.ports.webhooks.delete_endpoint(id).await
    }

    /// Deliveries of an endpoint, newest first.
    pub async fn list_deliveries(
        &self,
        caller: &Principal,
        endpoint_id: i64,
        page: PageRequest,
    ) -> Result<Page<Delivery>> {
        caller.require_admin_permission()?;
        self.ports.webhooks.get_endpoint(endpoint_id).await?;
        self.ports
            .webhooks
            .list_deliveries(Some(endpoint_id), page)
            .await
    }

    /// A delivery with its attempts.
    pub async fn get_delivery(
        &self,
        caller: &Principal,
        id: i64,
    ) -> Result<(Delivery, Vec<DeliveryAttempt>)> {
        caller.require_admin_permission()?;
        let delivery = self.ports.webhooks.get_delivery(id).await?;
        let attempts = self.ports.webhooks.list_attempts(id).await?;
        Ok((delivery, attempts))
    }

    /// Sends a delivery again, whatever became of it, with a fresh retry period.
    pub async fn redeliver(&self, caller: &Principal, id: i64) -> Result<Delivery> {
        caller.require_admin_permission()?;
        self.ports.webhooks.redeliver(id, now()).await
    }

    /// Creates deliveries for events not yet fanned out; returns whether there may be more.
    async fn fan_out(&self) -> Result<bool> {
        let from = self.ports.webhooks.fan_out_cursor().await?;
        let events = self.ports.events.events_after(from, FAN_OUT_PAGE).await?;
        let Some(last) = events.last().map(|e| e.id) else {
            return Ok(false);
        };
        let endpoints = self.all_endpoints().await?;
        let pairs: Vec<(i64, i64)> = events
            .iter()
            .flat_map(|event| {
                // An endpoint receives what happens after it was added.
                endpoints
                    .iter()
                    .filter(|e| e.wants(event.kind) && event.created_at >= e.created_at)
                    .map(|e| (e.id, event.id))
            })
            .collect();
        self.ports
            .webhooks
            .add_deliveries(from, last, &pairs, now())
            .await?;
        Ok(events.len() == FAN_OUT_PAGE as usize)
    }

    async fn all_endpoints(&self) -> Result<Vec<WebhookEndpoint>> {
        let mut all = Vec::new();
        let mut page = PageRequest {
            page: 1,
            per_page: PageRequest::MAX_PER_PAGE,
        };
        loop {
            let endpoints = self.ports.webhooks.list_endpoints(page).await?;
            let pages = endpoints.total_pages();
            all.extend(endpoints.items);
            if u64::from(page.page) >= pages {
                return Ok(all);
            }
            page.page += 1;
        }
    }

    async fn event(&self, id: i64) -> Result<Option<Event>> {
        let found = self.ports.events.events_after(id - 1, 1).await?;
        Ok(found.into_iter().find(|e| e.id == id))
    }

    /// Sends one claimed delivery and records the attempt.
    async fn deliver(&self, transport: &dyn WebhookTransport, claim: DeliveryClaim) -> Result<()> {
        let delivery = &claim.delivery;
        let endpoint = match self.ports.webhooks.get_endpoint(delivery.endpoint_id).await {
            Ok(endpoint) => endpoint,
            // Deleted meanwhile, with its deliveries.
            Err(Error::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let number = delivery.attempts + 1;
        let started = Instant::now();
        let result = match self.event(delivery.event_id).await? {
            Some(event) => send(transport, &endpoint, &event, delivery.id, number).await,
            None => Err("the event no longer exists".to_string()),
        };
        let attempt = DeliveryAttempt {
            delivery_id: delivery.id,
            number,
            at: now(),
            status_code: result.as_ref().ok().copied(),
            error: match &result {
                Ok(code) if (200..300).contains(code) => None,
                Ok(code) => Some(format!("HTTP {code}")),
                Err(e) => Some(e.clone()),
            },
            duration_ms: started.elapsed().as_millis() as u64,
        };
        let outcome = outcome(&attempt, delivery, self.settings.webhook_retry_base);
        tracing::debug!(
            delivery_id = delivery.id,
            attempt = number,
            ?outcome,
            "webhook attempt"
        );
        self.ports
            .webhooks
            .record_attempt(&claim, &attempt, &outcome)
            .await?;
        Ok(())
    }

    /// Fans events out and sends due deliveries until `shutdown` turns true. Run one or more
    /// per instance; they share the work through the store.
    pub async fn run_webhooks(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let Some(transport) = self.ports.webhook_transport.clone() else {
            return;
        };
        while !*shutdown.borrow() {
            let mut busy = match self.fan_out().await {
                Ok(more) => more,
                Err(e) => {
                    tracing::warn!(error = %e, "could not fan events out to webhooks");
                    false
                }
            };
            match self
                .ports
                .webhooks
                .claim_delivery(DELIVERY_LEASE, now())
                .await
            {
                Ok(Some(claim)) => {
                    busy = true;
                    if let Err(e) = self.deliver(transport.as_ref(), claim).await {
                        tracing::warn!(error = %e, "could not record a webhook attempt");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not claim a webhook delivery"),
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// The body and headers of a delivery, sent once.
async fn send(
    transport: &dyn WebhookTransport,
    endpoint: &WebhookEndpoint,
    event: &Event,
    delivery_id: i64,
    attempt: u32,
) -> std::result::Result<u16, String> {
    // The same bytes on every attempt: the envelope is built from stored facts only.
    let body = serde_json::to_vec(&event.envelope()).map_err(|e| e.to_string())?;
    let timestamp = chrono::Utc::now().timestamp();
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        (
            "idv-signature".to_string(),
            signature_header(&endpoint.secret, timestamp, &body),
        ),
        ("idv-event-id".to_string(), event.id.to_string()),
        ("idv-event".to_string(), event.kind.as_str().to_string()),
        ("idv-delivery-id".to_string(), delivery_id.to_string()),
        ("idv-delivery-attempt".to_string(), attempt.to_string()),
    ];
    transport.post(&endpoint.url, body, headers).await
}

/// Delivered on 2xx; otherwise retried with backoff until the retry period has passed.
fn outcome(attempt: &DeliveryAttempt, delivery: &Delivery, base: Duration) -> AttemptOutcome {
    if attempt.error.is_none() {
        return AttemptOutcome::Delivered;
    }
    let jitter = f64::from(rand::random::<u16>()) / f64::from(u16::MAX);
    let wait = chrono::Duration::from_std(backoff(base, attempt.number, jitter))
        .unwrap_or(chrono::Duration::MAX);
    let period = chrono::Duration::from_std(RETRY_PERIOD).unwrap_or(chrono::Duration::MAX);
    let next = attempt.at + wait;
    if next - delivery.retry_since > period {
        AttemptOutcome::Failed
    } else {
        AttemptOutcome::Retry(next)
    }
}

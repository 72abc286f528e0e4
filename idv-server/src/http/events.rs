//! `GET /v1/events`: live events as server-sent events, resumable with `Last-Event-ID`.
//!
//! One hub per server polls the store for new events and broadcasts them to the connections
//! of this instance; since every instance reads the same store, a subscriber sees the events of
//! all instances. A reconnecting subscriber names the last id it saw and first gets what it
//! missed from the store, then the live stream, each event exactly once.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Frame;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use idv_core::events::{Event, EventFilter};
use idv_core::Idv;
use tokio::sync::{broadcast, mpsc, watch};

use super::query::parse_id;
use super::{authenticate, ApiError, Handled, Req, State};

/// Longest wait for news from the store before looking again anyway.
const WAIT: Duration = Duration::from_secs(1);
/// Comment lines that keep idle connections open through proxies.
const HEARTBEAT: Duration = Duration::from_secs(15);
const PAGE: u32 = 500;

/// Fans new events out to this instance's subscribers.
pub struct EventHub {
    sender: broadcast::Sender<Arc<Event>>,
}

impl EventHub {
    /// Starts polling the store from its newest event.
    pub async fn start(idv: Arc<Idv>, mut shutdown: watch::Receiver<bool>) -> Arc<Self> {
        let (sender, _) = broadcast::channel(1024);
        let hub = Arc::new(Self {
            sender: sender.clone(),
        });
        let mut last = idv.last_event_id().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not read the newest event id");
            0
        });
        tokio::spawn(async move {
            loop {
                match idv.events_after(last, PAGE).await {
                    Ok(events) => {
                        let full_page = events.len() == PAGE as usize;
                        for event in events {
                            last = event.id;
                            let _ = sender.send(Arc::new(event));
                        }
                        if full_page {
                            continue;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not read new events"),
                }
                tokio::select! {
                    waited = idv.wait_for_events(last, WAIT) => {
                        if let Err(e) = waited {
                            tracing::warn!(error = %e, "could not wait for events");
                            tokio::time::sleep(WAIT).await;
                        }
                    }
                    _ = shutdown.changed() => return,
                }
            }
        });
        hub
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }
}

/// What a subscription sends, whatever carries it (SSE or WebSocket).
pub(super) enum Outgoing {
    /// The stream is open.
    Hello,
    Event(Arc<Event>),
    /// Nothing happened for a while.
    Heartbeat,
}

/// An SSE body fed by a subscription.
struct SseBody {
    outgoing: mpsc::Receiver<Outgoing>,
}

impl hyper::body::Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.outgoing
            .poll_recv(cx)
            .map(|next| next.map(|item| Ok(Frame::data(sse(&item)))))
    }
}

/// One item as SSE text.
fn sse(item: &Outgoing) -> Bytes {
    match item {
        Outgoing::Hello => Bytes::from_static(b"retry: 2000\n: connected\n\n"),
        Outgoing::Heartbeat => Bytes::from_static(b": heartbeat\n\n"),
        Outgoing::Event(event) => frame(event),
    }
}

/// One event as an SSE frame.
fn frame(event: &Event) -> Bytes {
    let data = event.envelope().to_string();
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {data}\n\n",
        event.id,
        event.kind.as_str()
    ))
}

/// The id to resume after: the `Last-Event-ID` header, or `last_event_id` in the query.
fn resume_after(req: &Req) -> Result<Option<i64>, ApiError> {
    let header = req
        .parts
        .headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("?").trim().to_string());
    let query = req.query()?.get("last_event_id").map(str::to_string);
    match header.or(query) {
        None => Ok(None),
        Some(text) if text == "0" => Ok(Some(0)),
        Some(text) => parse_id(&text, "Last-Event-ID").map(Some),
    }
}

/// Who may see what, and where to resume: shared by the SSE and WebSocket endpoints.
pub(super) async fn subscription(
    state: &State,
    req: &Req,
) -> Result<(EventFilter, Option<i64>), ApiError> {
    let caller = authenticate(state, req).await?;
    let query = req.query()?;
    let verification_id = query
        .get("verification_id")
        .map(|t| parse_id(t, "verification_id"))
        .transpose()?;
    let filter = state.idv.event_filter(&caller, verification_id).await?;
    Ok((filter, resume_after(req)?))
}

pub async fn stream(state: &State, req: &Req) -> Handled {
    let (filter, after) = subscription(state, req).await?;
    // Subscribe before reading the backlog, so nothing falls between the two.
    let live = state.events.subscribe();
    let (sender, outgoing) = mpsc::channel(64);
    tokio::spawn(pump(state.idv.clone(), filter, after, live, sender));

    let mut response = Response::new(SseBody { outgoing }.boxed());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// Sends the backlog after `cursor`, then live events, then heartbeats, until the client goes.
pub(super) async fn pump(
    idv: Arc<Idv>,
    filter: EventFilter,
    after: Option<i64>,
    mut live: broadcast::Receiver<Arc<Event>>,
    sender: mpsc::Sender<Outgoing>,
) {
    if sender.send(Outgoing::Hello).await.is_err() {
        return;
    }
    let mut cursor = after;
    if let Some(start) = cursor {
        match replay(&idv, &filter, start, &sender).await {
            Some(reached) => cursor = Some(reached),
            None => return,
        }
    }
    loop {
        let received = tokio::select! {
            received = live.recv() => received,
            _ = tokio::time::sleep(HEARTBEAT) => {
                if sender.send(Outgoing::Heartbeat).await.is_err() {
                    return;
                }
                continue;
            }
        };
        match received {
            Ok(event) => {
                if cursor.is_some_and(|c| event.id <= c) {
                    continue;
                }
                cursor = Some(event.id);
                if filter.matches(&event) && sender.send(Outgoing::Event(event)).await.is_err() {
                    return;
                }
            }
            // Too slow for the live stream: catch up from the store.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let Some(start) = cursor else { continue };
                match replay(&idv, &filter, start, &sender).await {
                    Some(reached) => cursor = Some(reached),
                    None => return,
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Sends stored events after `after` that match; returns the last id read, or `None` when the
/// client is gone.
async fn replay(
    idv: &Idv,
    filter: &EventFilter,
    mut after: i64,
    sender: &mpsc::Sender<Outgoing>,
) -> Option<i64> {
    loop {
        let events = match idv.events_after(after, PAGE).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "could not replay events");
                return Some(after);
            }
        };
        if events.is_empty() {
            return Some(after);
        }
        for event in events {
            after = event.id;
            if filter.matches(&event)
                && sender.send(Outgoing::Event(Arc::new(event))).await.is_err()
            {
                return None;
            }
        }
    }
}

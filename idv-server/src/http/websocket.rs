//! `GET /v1/ws`: the live events of `/v1/events` over a WebSocket.
//!
//! Each event is one text message holding the event JSON; `?last_event_id=` resumes after an
//! id, as `Last-Event-ID` does for server-sent events. Pings keep idle connections open.

use hyper::header::{
    HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::events::{pump, subscription, Outgoing};
use super::{full, ApiError, Handled, Req, State};

fn header_is(req: &Req, name: hyper::header::HeaderName, wanted: &str) -> bool {
    req.parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(wanted))
        })
}

fn not_a_websocket() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "not_a_websocket_request",
        "this endpoint needs a WebSocket upgrade (Upgrade: websocket, Sec-WebSocket-Version: 13)",
    )
}

pub async fn connect(state: &State, req: &Req) -> Handled {
    let (filter, after) = subscription(state, req).await?;
    let upgrading = header_is(req, UPGRADE, "websocket")
        && header_is(req, CONNECTION, "upgrade")
        && header_is(req, SEC_WEBSOCKET_VERSION, "13");
    let key = req
        .parts
        .headers
        .get(SEC_WEBSOCKET_KEY)
        .filter(|_| upgrading)
        .ok_or_else(not_a_websocket)?;
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = req.take_upgrade().ok_or_else(not_a_websocket)?;

    let live = state.events.subscribe();
    let (sender, outgoing) = mpsc::channel(64);
    tokio::spawn(pump(state.idv.clone(), filter, after, live, sender));
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let socket =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                forward(socket, outgoing).await;
            }
            Err(e) => tracing::debug!(error = %e, "WebSocket upgrade failed"),
        }
    });

    let mut response = Response::new(full(bytes::Bytes::new()));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, value);
    }
    Ok(response)
}

/// Writes events as text messages and heartbeats as pings until either side goes.
async fn forward<S>(socket: WebSocketStream<S>, mut outgoing: mpsc::Receiver<Outgoing>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::{SinkExt, StreamExt};
    let (mut sink, mut incoming) = socket.split();
    loop {
        tokio::select! {
            next = outgoing.recv() => {
                let message = match next {
                    Some(Outgoing::Event(event)) => Message::Text(event.envelope().to_string()),
                    Some(Outgoing::Heartbeat) => Message::Ping(Vec::new()),
                    Some(Outgoing::Hello) => continue,
                    None => break,
                };
                if sink.send(message).await.is_err() {
                    return;
                }
            }
            received = incoming.next() => match received {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                // Pongs are answered by the library; clients have nothing else to say.
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = sink.close().await;
}

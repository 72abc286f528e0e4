//! Live events over server-sent events: every progress step and the final status, in order;
//! reconnecting with the last id seen replays exactly what was missed.

use std::time::{Duration, Instant};

use idv_tests::{verification_body, TestApp};
use serde_json::Value;

/// One parsed SSE event.
#[derive(Debug, Clone)]
struct Sse {
    id: i64,
    kind: String,
    data: Value,
}

/// An open event stream.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(app: &TestApp, token: &str, query: &str, last_id: Option<i64>) -> Self {
        let mut request = reqwest::Client::new()
            .get(app.url(&format!("/v1/events{query}")))
            .bearer_auth(token);
        if let Some(id) = last_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("the stream opens");
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(content_type, "text/event-stream");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (skipping comments), or `None` after `wait` without one.
    async fn next(&mut self, wait: Duration) -> Option<Sse> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(event) = self.take_event() {
                return Some(event);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Ok(None)) => panic!("the stream ended"),
                Ok(Err(e)) => panic!("the stream failed: {e}"),
                Err(_) => return None,
            }
        }
    }

    fn take_event(&mut self) -> Option<Sse> {
        while let Some(end) = self.buffer.find("\n\n") {
            let block: String = self.buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::trim)
                    .map(str::to_string)
            };
            if let (Some(id), Some(kind), Some(data)) =
                (field("id:"), field("event:"), field("data:"))
            {
                let data: Value = serde_json::from_str(&data).expect("event data is JSON");
                return Some(Sse {
                    id: id.parse().expect("a numeric id"),
                    kind,
                    data,
                });
            }
        }
        None
    }

    /// Events until the verification's status changed, at most `wait`.
    async fn until_decided(&mut self, wait: Duration) -> Vec<Sse> {
        let mut seen = Vec::new();
        while let Some(event) = self.next(wait).await {
            let done = event.kind == "verification_status_changed";
            seen.push(event);
            if done {
                return seen;
            }
        }
        panic!("no final status within {wait:?}; saw {seen:?}");
    }
}

const STEPS: [&str; 6] = [
    "decoding",
    "face_detection",
    "face_matching",
    "liveness",
    "document_checks",
    "decided",
];

fn steps(events: &[Sse]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == "verification_progress")
        .map(|e| e.data["data"]["step"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_sees_every_step_and_the_final_status_in_order() {
    let app = TestApp::spawn().await;
    let user = app.new_user("ann").await;
    let mut stream = Stream::open(&app, &user.token, "", None).await;

    let body = verification_body(user.id, "id_card", "id_td1_valid_flat.png", "obama2.jpg");
    let id = app.submit(&user.token, &body).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let events = stream.until_decided(Duration::from_secs(60)).await;

    assert_eq!(events[0].kind, "verification_created");
    assert_eq!(steps(&events), STEPS);
    let last = events.last().unwrap();
    assert_eq!(last.data["event"], "verification_status_changed");
    let data = &last.data["data"];
    assert_eq!(
        (data["id"].as_i64(), data["user_id"].as_i64()),
        (Some(id), Some(user.id))
    );
    assert_eq!(data["status"], "approved");
    for key in ["created_at", "updated_at"] {
        assert!(data[key].is_string(), "{key} in {data}");
    }
    assert!(
        events.windows(2).all(|w| w[0].id < w[1].id),
        "ids increase: {events:?}"
    );
    assert!(events
        .iter()
        .all(|e| e.data["data"]["id"].as_i64() == Some(id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_with_the_last_id_replays_exactly_what_was_missed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("bob").await;
    let body = verification_body(user.id, "id_card", "id_td1_valid_flat.png", "biden.jpg");

    let mut first = Stream::open(&app, &admin, "", None).await;
    app.submit(&admin, &body).await.expect(201);
    let all_of_first = first.until_decided(Duration::from_secs(60)).await;
    // Disconnect part-way through what we could have seen: keep only the first three.
    let seen = &all_of_first[..3];
    drop(first);

    // Meanwhile a second verification runs.
    let second = app.submit(&admin, &body).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.wait_for_final(&admin, second).await;

    let mut resumed = Stream::open(&app, &admin, "", Some(seen[2].id)).await;
    let mut replayed = Vec::new();
    while let Some(event) = resumed.next(Duration::from_secs(2)).await {
        replayed.push(event);
    }
    let expected: Vec<i64> = (seen[2].id + 1..=replayed.last().unwrap().id).collect();
    let got: Vec<i64> = replayed.iter().map(|e| e.id).collect();
    assert_eq!(
        got, expected,
        "every event after the last seen id, once, in order"
    );
    let rest_of_first: Vec<i64> = all_of_first[3..].iter().map(|e| e.id).collect();
    assert!(
        rest_of_first.iter().all(|id| got.contains(id)),
        "the missed part of the first run"
    );
    let second_final = replayed.iter().find(|e| {
        e.kind == "verification_status_changed" && e.data["data"]["id"].as_i64() == Some(second)
    });
    assert_eq!(second_final.unwrap().data["data"]["status"], "rejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_sees_only_their_own_events_and_may_narrow_to_one_verification() {
    let app = TestApp::spawn().await;
    let ann = app.new_user("ann").await;
    let bob = app.new_user("bob").await;
    let mut anns = Stream::open(&app, &ann.token, "", None).await;

    let bobs_body = verification_body(bob.id, "id_card", "id_td1_valid_flat.png", "obama2.jpg");
    let bobs = app.submit(&bob.token, &bobs_body).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.wait_for_final(&bob.token, bobs).await;
    let anns_body = verification_body(ann.id, "id_card", "id_td1_valid_flat.png", "obama2.jpg");
    let first = app.submit(&ann.token, &anns_body).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    let events = anns.until_decided(Duration::from_secs(60)).await;
    assert!(
        events
            .iter()
            .all(|e| e.data["data"]["user_id"].as_i64() == Some(ann.id)),
        "{events:?}"
    );
    assert_eq!(events[0].data["data"]["id"].as_i64(), Some(first));

    let query = format!("?verification_id={first}");
    let mut narrowed = Stream::open(&app, &ann.token, &query, Some(0)).await;
    let replayed = narrowed.until_decided(Duration::from_secs(10)).await;
    assert!(replayed
        .iter()
        .all(|e| e.data["data"]["id"].as_i64() == Some(first)));
    assert_eq!(steps(&replayed), STEPS);

    let forbidden = app
        .get(
            &format!("/v1/events?verification_id={bobs}"),
            Some(&ann.token),
        )
        .await;
    forbidden.expect_error(403, "forbidden", None);
    let missing = app
        .get("/v1/events?verification_id=999999", Some(&ann.token))
        .await;
    assert_eq!(missing.status, 404);
    app.get("/v1/events", None)
        .await
        .expect_error(401, "unauthorized", None);
    let bad = app
        .get("/v1/events?verification_id=abc", Some(&ann.token))
        .await;
    bad.expect_error(400, "invalid_parameter", Some("verification_id"));
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn ws_connect(app: &TestApp, token: &str, query: &str) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let url = format!(
        "{}{query}",
        app.url("/v1/ws").replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().expect("a WebSocket request");
    let bearer = format!("Bearer {token}").parse().expect("a header value");
    request.headers_mut().insert("authorization", bearer);
    let tcp = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let (socket, response) = tokio_tungstenite::client_async(request, tcp)
        .await
        .expect("the upgrade");
    assert_eq!(response.status(), 101);
    socket
}

/// The next event message, or `None` after `wait` without one.
async fn ws_next(socket: &mut Socket, wait: Duration) -> Option<Value> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Some(Ok(_))) => continue,
            Ok(other) => panic!("the socket ended: {other:?}"),
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_carries_the_same_events_and_resumes_after_an_id() {
    let app = TestApp::spawn().await;
    let user = app.new_user("wes").await;
    let mut socket = ws_connect(&app, &user.token, "").await;
    let body = verification_body(user.id, "id_card", "id_td1_valid_flat.png", "obama2.jpg");
    let id = app.submit(&user.token, &body).await.expect(201)["id"]
        .as_i64()
        .unwrap();

    let mut events = Vec::new();
    while let Some(event) = ws_next(&mut socket, Duration::from_secs(60)).await {
        let done = event["event"] == "verification_status_changed";
        events.push(event);
        if done {
            break;
        }
    }
    assert_eq!(events[0]["event"], "verification_created");
    let steps: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "verification_progress")
        .map(|e| e["data"]["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, STEPS);
    let last = events.last().expect("the final status");
    assert_eq!(
        (last["data"]["id"].as_i64(), last["data"]["status"].as_str()),
        (Some(id), Some("approved"))
    );
    drop(socket);

    let ids: Vec<i64> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let mut resumed = ws_connect(&app, &user.token, &format!("?last_event_id={}", ids[2])).await;
    let mut replayed = Vec::new();
    while let Some(event) = ws_next(&mut resumed, Duration::from_secs(2)).await {
        replayed.push(event["id"].as_str().unwrap().parse::<i64>().unwrap());
    }
    assert_eq!(
        replayed,
        ids[3..],
        "exactly the events after the id, once, in order"
    );

    let plain = app.get("/v1/ws", Some(&user.token)).await;
    plain.expect_error(400, "not_a_websocket_request", None);
    app.get("/v1/ws", None)
        .await
        .expect_error(401, "unauthorized", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_rejections_and_failed_logins_raise_one_suspicious_activity_event_each() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("mallory").await;
    let body = verification_body(user.id, "id_card", "id_td1_valid_flat.png", "biden.jpg");
    for _ in 0..4 {
        let id = app.submit(&user.token, &body).await.expect(201)["id"]
            .as_i64()
            .unwrap();
        let done = app.wait_for_final(&user.token, id).await;
        assert_eq!(done["status"], "rejected");
    }
    for _ in 0..6 {
        let login = serde_json::json!({"email": user.email, "password": "not the password"});
        let resp = app.post_json("/v1/auth/login", None, &login).await;
        assert!(matches!(resp.status, 401 | 429), "{}", resp.short());
    }

    let mut all = Stream::open(&app, &admin, "", Some(0)).await;
    let mut suspicious = Vec::new();
    while let Some(event) = all.next(Duration::from_secs(2)).await {
        if event.kind == "suspicious_activity" {
            suspicious.push(event.data["data"].clone());
        }
    }
    let reasons: Vec<&str> = suspicious
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["rejected_verifications", "failed_logins"],
        "{suspicious:?}"
    );
    assert!(suspicious
        .iter()
        .all(|d| d["user_id"].as_i64() == Some(user.id)));
    assert_eq!(
        (
            suspicious[0]["count"].as_i64(),
            suspicious[1]["count"].as_i64()
        ),
        (Some(3), Some(5))
    );
}

//! Webhooks against a real HTTP receiver on 127.0.0.1: signatures over the exact bytes,
//! receivers that fail, that never answer, a restart in the middle of retries, and destinations
//! that must be refused.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use idv_tests::{verification_body, DataDir, TestApp};
use serde_json::{json, Value};

/// What the receiver does with the next request.
#[derive(Debug, Clone, Copy)]
enum Answer {
    Status(u16),
    /// Never answers (the sender must time out).
    Hang,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    event_id: String,
    signature: String,
    body: Vec<u8>,
}

#[derive(Default)]
struct Inbox {
    plan: VecDeque<Answer>,
    got: Vec<Received>,
}

/// A local webhook receiver that answers 200 unless told otherwise.
struct Receiver {
    url: String,
    inbox: Arc<Mutex<Inbox>>,
}

impl Receiver {
    async fn start(plan: Vec<Answer>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let inbox = Arc::new(Mutex::new(Inbox {
            plan: plan.into(),
            got: Vec::new(),
        }));
        let shared = inbox.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let inbox = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(inbox.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, inbox }
    }

    fn got(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().got.clone()
    }

    /// Distinct event ids received with a 2xx answer are what an idempotent receiver keeps.
    async fn wait_for(&self, count: usize, wait: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.got();
            if got.len() >= count {
                return got;
            }
            assert!(
                started.elapsed() < wait,
                "got {} of {count} requests: {got:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn answer(
    inbox: Arc<Mutex<Inbox>>,
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (event_id, signature) = (header("idv-event-id"), header("idv-signature"));
    let body = request
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    let next = {
        let mut inbox = inbox.lock().unwrap();
        inbox.got.push(Received {
            event_id,
            signature,
            body,
        });
        inbox.plan.pop_front().unwrap_or(Answer::Status(200))
    };
    match next {
        Answer::Status(code) => {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = hyper::StatusCode::from_u16(code).unwrap();
            Ok(response)
        }
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Response::new(Full::new(Bytes::new())))
        }
    }
}

/// Checks `t=<ts>,v1=<hex>` against HMAC-SHA256(secret, "<ts>." + body).
fn signature_is_valid(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut parts = header.split(',');
    let (Some(t), Some(v1)) = (
        parts.next().and_then(|p| p.strip_prefix("t=")),
        parts.next().and_then(|p| p.strip_prefix("v1=")),
    ) else {
        return false;
    };
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let fresh = (now - t.parse::<i64>().unwrap()).abs() < 300;
    fresh && mac.verify_slice(&hex::decode(v1).unwrap()).is_ok()
}

async fn app_sending_webhooks(dir: DataDir) -> TestApp {
    TestApp::spawn_in(dir, |c| {
        c.webhook_allow_internal = true;
        c.webhook_retry_base_ms = 200;
    })
    .await
}

async fn add_endpoint(app: &TestApp, admin: &str, url: &str, events: Value) -> (i64, String) {
    let body = json!({"url": url, "events": events});
    let created = app.post_json("/v1/webhooks", Some(admin), &body).await;
    let created = created.expect(201);
    let secret = created["secret"].as_str().expect("a secret").to_string();
    (created["id"].as_i64().unwrap(), secret)
}

fn by_event(got: &[Received]) -> BTreeMap<String, Vec<Received>> {
    let mut map: BTreeMap<String, Vec<Received>> = BTreeMap::new();
    for r in got {
        map.entry(r.event_id.clone()).or_default().push(r.clone());
    }
    map
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_signed_over_the_exact_bytes_and_match_the_spec_payload() {
    let receiver = Receiver::start(vec![]).await;
    let app = app_sending_webhooks(DataDir::new()).await;
    let admin = app.admin_token().await;
    let (_, secret) = add_endpoint(
        &app,
        &admin,
        &receiver.url,
        json!(["verification_status_changed"]),
    )
    .await;
    let user = app.new_user("ann").await;
    let body = verification_body(user.id, "id_card", "id_td1_valid_flat.png", "obama2.jpg");
    let id = app.submit(&user.token, &body).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.wait_for_final(&user.token, id).await;

    let got = receiver.wait_for(1, Duration::from_secs(30)).await;
    let delivery = &got[0];
    assert!(
        signature_is_valid(&secret, &delivery.signature, &delivery.body),
        "{delivery:?}"
    );
    assert!(!signature_is_valid(
        "another-secret",
        &delivery.signature,
        &delivery.body
    ));
    let payload: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(payload["event"], "verification_status_changed");
    assert_eq!(payload["id"], delivery.event_id);
    let data = &payload["data"];
    assert_eq!(
        (data["id"].as_i64(), data["user_id"].as_i64()),
        (Some(id), Some(user.id))
    );
    assert_eq!(data["status"], "approved");
    let keys: Vec<&str> = data
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["created_at", "id", "status", "updated_at", "user_id"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_retries_until_it_accepts_with_identical_bytes() {
    let plan = vec![
        Answer::Status(500),
        Answer::Status(503),
        Answer::Status(404),
    ];
    let receiver = Receiver::start(plan).await;
    let app = app_sending_webhooks(DataDir::new()).await;
    let admin = app.admin_token().await;
    let (endpoint, secret) =
        add_endpoint(&app, &admin, &receiver.url, json!(["user_deleted"])).await;
    let user = app.new_user("bob").await;
    app.delete(&format!("/v1/users/{}", user.id), Some(&admin))
        .await
        .expect(200);

    let got = receiver.wait_for(4, Duration::from_secs(30)).await;
    let events = by_event(&got);
    assert_eq!(events.len(), 1, "one event: {events:?}");
    let tries = events.values().next().unwrap();
    assert!(
        tries.windows(2).all(|w| w[0].body == w[1].body),
        "identical body on every retry"
    );
    assert!(tries
        .iter()
        .all(|t| signature_is_valid(&secret, &t.signature, &t.body)));

    let deliveries = app
        .get(&format!("/v1/webhooks/{endpoint}/deliveries"), Some(&admin))
        .await;
    let delivery = deliveries.expect(200)["data"][0].clone();
    assert_eq!(
        (delivery["status"].as_str(), delivery["attempts"].as_u64()),
        (Some("delivered"), Some(4))
    );
    let detail = app
        .get(
            &format!("/v1/webhook-deliveries/{}", delivery["id"]),
            Some(&admin),
        )
        .await;
    let log: Vec<Value> = detail.expect(200)["attempt_log"]
        .as_array()
        .unwrap()
        .clone();
    let codes: Vec<Option<u64>> = log.iter().map(|a| a["status_code"].as_u64()).collect();
    assert_eq!(codes, vec![Some(500), Some(503), Some(404), Some(200)]);

    // Sent again on request, with the same event id and bytes.
    let resent = app
        .post_json(
            &format!("/v1/webhook-deliveries/{}/redeliver", delivery["id"]),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(resent.expect(200)["status"], "pending");
    let again = receiver.wait_for(5, Duration::from_secs(30)).await;
    assert_eq!(again[4].event_id, tries[0].event_id);
    assert_eq!(again[4].body, tries[0].body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_times_out_and_is_retried() {
    let receiver = Receiver::start(vec![Answer::Hang]).await;
    let app = app_sending_webhooks(DataDir::new()).await;
    let admin = app.admin_token().await;
    let (endpoint, _) = add_endpoint(&app, &admin, &receiver.url, json!(["user_deleted"])).await;
    let user = app.new_user("cy").await;
    app.delete(&format!("/v1/users/{}", user.id), Some(&admin))
        .await
        .expect(200);

    let got = receiver.wait_for(2, Duration::from_secs(40)).await;
    assert_eq!(got[0].body, got[1].body);
    let deliveries = app
        .get(&format!("/v1/webhooks/{endpoint}/deliveries"), Some(&admin))
        .await;
    let delivery = deliveries.expect(200)["data"][0].clone();
    let detail = app
        .get(
            &format!("/v1/webhook-deliveries/{}", delivery["id"]),
            Some(&admin),
        )
        .await;
    let log = detail.expect(200)["attempt_log"].clone();
    assert_eq!(log[0]["error"], "timed out", "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_deliveries_survive_a_restart_and_arrive_exactly_once() {
    let plan = vec![Answer::Status(500); 3];
    let receiver = Receiver::start(plan).await;
    let app = app_sending_webhooks(DataDir::new()).await;
    let admin = app.admin_token().await;
    add_endpoint(&app, &admin, &receiver.url, json!([])).await;
    let user = app.new_user("dee").await;
    let body = verification_body(user.id, "id_card", "id_td1_valid_flat.png", "biden.jpg");
    let id = app.submit(&user.token, &body).await.expect(201)["id"]
        .as_i64()
        .unwrap();
    app.wait_for_final(&user.token, id).await;
    receiver.wait_for(2, Duration::from_secs(30)).await;

    let dir = app.shutdown().await;
    let restarted = app_sending_webhooks(dir).await;
    let admin = restarted.admin_token().await;
    // created, 6 progress steps, status change: 8 events for this verification.
    let started = Instant::now();
    loop {
        let events = by_event(&receiver.got());
        let delivered = events.len();
        if delivered >= 8 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "only {delivered} events arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let got = receiver.got();
    let events = by_event(&got);
    let kinds: Vec<String> = events
        .values()
        .map(|tries| {
            serde_json::from_slice::<Value>(&tries[0].body).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        kinds.contains(&"verification_status_changed".to_string()),
        "{kinds:?}"
    );
    // Only the failing answers were repeated: each event was accepted exactly once.
    let failures = 3;
    assert_eq!(got.len(), events.len() + failures, "{got:?}");
    let list = restarted.get("/v1/webhooks", Some(&admin)).await;
    assert_eq!(list.expect(200)["meta"]["total_count"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_and_non_http_destinations_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for url in [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://2130706433/hook",
        "http://0x7f000001/hook",
        "http://localhost:8080/hook",
    ] {
        let resp = app
            .post_json("/v1/webhooks", Some(&admin), &json!({"url": url}))
            .await;
        resp.expect_error(422, "forbidden_destination", Some("url"));
    }
    for url in ["ftp://example.com/hook", "file:///etc/passwd", "not a url"] {
        let resp = app
            .post_json("/v1/webhooks", Some(&admin), &json!({"url": url}))
            .await;
        resp.expect_error(422, "invalid_url", Some("url"));
    }
    let bad_event = json!({"url": "https://example.com/hook", "events": ["everything"]});
    app.post_json("/v1/webhooks", Some(&admin), &bad_event)
        .await
        .expect_error(422, "unknown_event", Some("events"));
    let listed = app.get("/v1/webhooks", Some(&admin)).await;
    assert_eq!(
        listed.expect(200)["meta"]["total_count"],
        0,
        "nothing was stored"
    );

    let user = app.new_user("eve").await;
    let resp = app
        .post_json(
            "/v1/webhooks",
            Some(&user.token),
            &json!({"url": "https://example.com/h"}),
        )
        .await;
    resp.expect_error(403, "forbidden", None);
    app.get("/v1/webhooks/999", Some(&admin))
        .await
        .expect_error(404, "not_found", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_endpoint_from_configuration_receives_every_event() {
    let receiver = Receiver::start(vec![]).await;
    let secret = "operator-secret-0123456789";
    let url = receiver.url.clone();
    let app = TestApp::spawn_with(|c| {
        c.webhook_allow_internal = true;
        c.webhook_url = Some(url);
        c.webhook_secret = Some(secret.to_string());
    })
    .await;
    let admin = app.admin_token().await;
    let listed = app.get("/v1/webhooks", Some(&admin)).await;
    let endpoints = listed.expect(200)["data"].clone();
    assert_eq!(endpoints[0]["url"], receiver.url.as_str());
    assert_eq!(endpoints[0]["events"], json!([]), "every kind");
    assert!(endpoints[0].get("secret").is_none(), "never listed");

    let user = app.new_user("op").await;
    app.delete(&format!("/v1/users/{}", user.id), Some(&admin))
        .await
        .expect(200);
    let got = receiver.wait_for(1, Duration::from_secs(30)).await;
    let payload: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(payload["event"], "user_deleted");
    assert!(signature_is_valid(secret, &got[0].signature, &got[0].body));
}

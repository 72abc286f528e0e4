//! Several server processes on one PostgreSQL database and one S3 bucket share the work: every
//! verification is decided exactly once, also when one of them is killed mid-way.
//!
//! Needs PostgreSQL and the test S3 server: run through `scripts/test`, which starts both.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

const ADMIN_EMAIL: &str = "admin@instances.example.com";
const ADMIN_PASSWORD: &str = "instances-admin-password";
const JWT_SECRET: &str = "instances-test-secret-0123456789abcdefghijklmnop";

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run these tests through scripts/test"))
}

fn psql(url: &str, sql: &str) {
    let status = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .status()
        .expect("psql runs");
    assert!(status.success(), "psql {sql}");
}

/// A database and a bucket prefix for one test, removed at the end.
struct Shared {
    admin_url: String,
    database: String,
    prefix: String,
}

impl Shared {
    fn new(name: &str) -> Self {
        let admin_url = std::env::var("IDV_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let unique = format!("{name}_{}", std::process::id());
        let database = format!("idv_test_{unique}");
        psql(
            &admin_url,
            &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
        );
        psql(&admin_url, &format!("CREATE DATABASE {database}"));
        Self {
            admin_url,
            database,
            prefix: format!("idv-instances/{unique}"),
        }
    }

    fn database_url(&self) -> String {
        let base = self
            .admin_url
            .rsplit_once('/')
            .map_or(self.admin_url.as_str(), |(b, _)| b);
        format!("{base}/{}", self.database)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
        );
        let objects = std::path::Path::new(&env("IDV_S3_SERVER_DIR"))
            .join("data")
            .join(env("IDV_TEST_S3_BUCKET"))
            .join(&self.prefix);
        let _ = std::fs::remove_dir_all(objects);
    }
}

/// One `idv-server` process.
struct Instance {
    child: Child,
    base: String,
    data_dir: std::path::PathBuf,
}

impl Instance {
    fn start(shared: &Shared, name: &str, lease_secs: u64) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data_dir =
            std::env::temp_dir().join(format!("idv-instance-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&data_dir).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_idv-server"))
            .env("IDV_ADDR", format!("127.0.0.1:{port}"))
            .env("IDV_DATA_DIR", &data_dir)
            .env("IDV_DATABASE_URL", shared.database_url())
            .env(
                "IDV_BLOB_URL",
                format!("s3://{}/{}", env("IDV_TEST_S3_BUCKET"), shared.prefix),
            )
            .env("IDV_S3_ENDPOINT", env("IDV_TEST_S3_ENDPOINT"))
            .env("IDV_S3_FORCE_PATH_STYLE", "true")
            .env("IDV_JWT_SECRET", JWT_SECRET)
            .env("IDV_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("IDV_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("IDV_JOB_LEASE_SECS", lease_secs.to_string())
            .env("IDV_WORKERS", "2")
            .env("IDV_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("idv-server starts");
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
        }
    }

    async fn ready(&mut self, client: &reqwest::Client) {
        let started = Instant::now();
        while client
            .get(format!("{}/v1/health", self.base))
            .send()
            .await
            .is_err()
        {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "idv-server exited at start"
            );
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "idv-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn kill(&mut self) {
        // SIGKILL: no graceful shutdown, claimed jobs stay claimed until their lease runs out.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let body = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD});
    let resp: Value = client
        .post(format!("{base}/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    resp["access_token"].as_str().expect("a token").to_string()
}

fn photo(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../photos")
        .join(name);
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(path).unwrap())
}

async fn get_json(client: &reqwest::Client, url: &str, token: &str) -> Value {
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    response.json().await.unwrap()
}

async fn submit(client: &reqwest::Client, base: &str, token: &str, body: &Value) -> i64 {
    let resp = client
        .post(format!("{base}/v1/verifications"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["id"].as_i64().unwrap()
}

async fn wait_all_final(client: &reqwest::Client, base: &str, token: &str, ids: &[i64]) {
    let started = Instant::now();
    for id in ids {
        loop {
            let body = get_json(client, &format!("{base}/v1/verifications/{id}"), token).await;
            if matches!(
                body["status"].as_str(),
                Some("approved" | "rejected" | "review")
            ) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "verification {id} not decided: {body}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// How many times each verification was decided, from the system log.
async fn decisions(client: &reqwest::Client, base: &str, token: &str) -> HashMap<i64, usize> {
    let mut counts = HashMap::new();
    for page in 1.. {
        let url = format!("{base}/v1/logs?per_page=100&page={page}");
        let body = get_json(client, &url, token).await;
        let entries = body["data"].as_array().unwrap();
        if entries.is_empty() {
            break;
        }
        for entry in entries {
            let event = entry["event"].as_str().unwrap();
            if matches!(
                event,
                "verification_approved" | "verification_rejected" | "verification_review"
            ) {
                let message = entry["message"].as_str().unwrap();
                let id: i64 = message.split_whitespace().nth(1).unwrap().parse().unwrap();
                *counts.entry(id).or_insert(0) += 1;
            }
        }
    }
    counts
}

fn pairs(user_id: i64, n: usize) -> Vec<Value> {
    let (front, genuine, impostor) = (
        photo("id_td1_valid_flat.png"),
        photo("obama2.jpg"),
        photo("biden.jpg"),
    );
    (0..n)
        .map(|i| {
            let selfie = if i % 2 == 0 { &genuine } else { &impostor };
            json!({"user_id": user_id, "document_type": "id_card", "document_front_image": front, "selfie_image": selfie})
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_decide_fifty_verifications_exactly_once() {
    let shared = Shared::new("two_instances");
    let client = reqwest::Client::new();
    let mut a = Instance::start(&shared, "a", 120);
    a.ready(&client).await;
    let mut b = Instance::start(&shared, "b", 120);
    b.ready(&client).await;
    let token = login(&client, &a.base).await;

    let mut ids = Vec::new();
    for (i, body) in pairs(1, 50).iter().enumerate() {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        ids.push(submit(&client, base, &token, body).await);
    }
    wait_all_final(&client, &b.base, &token, &ids).await;

    let counts = decisions(&client, &a.base, &token).await;
    for id in &ids {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "verification {id} decided {:?} times",
            counts.get(id)
        );
    }
    let one = get_json(
        &client,
        &format!("{}/v1/verifications/{}", a.base, ids[0]),
        &token,
    )
    .await;
    assert_eq!(one["status"], "approved", "{one}");
    let two = get_json(
        &client,
        &format!("{}/v1/verifications/{}", b.base, ids[1]),
        &token,
    )
    .await;
    assert_eq!(two["status"], "rejected", "{two}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_leaves_its_jobs_to_the_other() {
    let shared = Shared::new("killed_instance");
    let client = reqwest::Client::new();
    let mut a = Instance::start(&shared, "victim", 3);
    a.ready(&client).await;
    let token = login(&client, &a.base).await;
    let mut ids = Vec::new();
    for body in pairs(1, 8) {
        ids.push(submit(&client, &a.base, &token, &body).await);
    }

    // Kill it while it holds a job.
    let started = Instant::now();
    loop {
        let url = format!("{}/v1/verifications?status=processing", a.base);
        let body = get_json(&client, &url, &token).await;
        if body["meta"]["total_count"].as_u64() > Some(0) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "nothing was ever processing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill();

    let mut b = Instance::start(&shared, "survivor", 3);
    b.ready(&client).await;
    wait_all_final(&client, &b.base, &token, &ids).await;
    let counts = decisions(&client, &b.base, &token).await;
    for id in &ids {
        assert_eq!(
            counts.get(id),
            Some(&1),
            "verification {id} decided {:?} times",
            counts.get(id)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_subscribers_of_every_instance() {
    let shared = Shared::new("events_everywhere");
    let client = reqwest::Client::new();
    let mut a = Instance::start(&shared, "events_a", 120);
    a.ready(&client).await;
    let mut b = Instance::start(&shared, "events_b", 120);
    b.ready(&client).await;
    let token = login(&client, &a.base).await;

    let mut stream = client
        .get(format!("{}/v1/events", b.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let body = pairs(1, 1).remove(0);
    let id = submit(&client, &a.base, &token, &body).await;

    let wanted = "\"status\":\"approved\"";
    let mut seen = String::new();
    let started = Instant::now();
    while !(seen.contains("verification_status_changed") && seen.contains(wanted)) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "instance b saw only: {seen}"
        );
        let chunk = tokio::time::timeout(Duration::from_secs(30), stream.chunk()).await;
        let chunk = chunk
            .expect("an event or a heartbeat in time")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains(&format!("\"id\":{id}")), "{seen}");
    assert!(seen.contains("verification_created"), "{seen}");
}

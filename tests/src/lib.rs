//! Harness of the idv black-box tests: a real `idv-server` on `127.0.0.1:0` with its own data
//! folder, the real ONNX face models (loaded once per test binary), and small HTTP helpers.
//!
//! Tests must run on a multi-threaded runtime — `#[tokio::test(flavor = "multi_thread",
//! worker_threads = 2)]` — so that dropping a [`TestApp`] can shut its server down before its
//! data folder is removed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use idv_adapters::onnx::{OnnxConfig, OnnxScorer};
use idv_core::scoring::Scorer;
use idv_server::config::{ScoringConfig, StoreConfig};
use idv_server::{RunningServer, ServerConfig};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

/// The JWT secret of every test server (unless a test clears it).
pub const JWT_SECRET: &str = "idv-black-box-test-secret-0123456789-abcdefghij";
pub const ADMIN_EMAIL: &str = "admin@idv-tests.example.com";
pub const ADMIN_PASSWORD: &str = "Admin-Password-For-Tests-1";
/// Lifetime of access tokens on test servers, in seconds.
pub const TOKEN_TTL_SECS: u64 = 3600;
/// How long [`TestApp::wait_for_final`] waits for a verification to be decided.
pub const FINAL_TIMEOUT: Duration = Duration::from_secs(60);
/// Placeholder user ids in the case files of `/work/shared/cases`.
pub const CASE_USER_1: &str = "\"00000000-0000-4000-8000-000000000001\"";
pub const CASE_USER_2: &str = "\"00000000-0000-4000-8000-000000000002\"";

/// The face pipeline, loaded once per test binary (loading takes seconds).
fn onnx() -> &'static Arc<OnnxScorer> {
    static SCORER: OnceLock<Arc<OnnxScorer>> = OnceLock::new();
    SCORER.get_or_init(|| {
        Arc::new(OnnxScorer::load(OnnxConfig::default()).expect("the face models in models/ load"))
    })
}

/// The shared face pipeline as the server takes it.
pub fn scorer() -> Arc<dyn Scorer> {
    onnx().clone()
}

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// Bytes of a repository photo in `photos/`.
pub fn photo(name: &str) -> Vec<u8> {
    let path = workspace_dir().join("photos").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Standard base64 of a repository photo in `photos/`.
pub fn photo_b64(name: &str) -> String {
    b64(&photo(name))
}

/// Standard, padded base64.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Text of a case file copied into `tests/fixtures/cases/`.
pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/cases")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A case body with its placeholder user ids replaced, as text (so that duplicate keys stay):
/// the first placeholder becomes `user_1`, the second `user_2`.
pub fn case_body(name: &str, user_1: i64, user_2: Option<i64>) -> String {
    let text = fixture(name);
    assert!(
        text.contains(CASE_USER_1),
        "{name} has no user id placeholder"
    );
    let text = text.replace(CASE_USER_1, &user_1.to_string());
    match user_2 {
        Some(id) => {
            assert!(
                text.contains(CASE_USER_2),
                "{name} has no second user id placeholder"
            );
            text.replace(CASE_USER_2, &id.to_string())
        }
        None => text,
    }
}

/// A verification request body with images from `photos/`.
pub fn verification_body(user_id: i64, document_type: &str, document: &str, selfie: &str) -> Value {
    json!({
        "user_id": user_id,
        "document_type": document_type,
        "document_front_image": photo_b64(document),
        "selfie_image": photo_b64(selfie),
    })
}

/// Where the test servers keep their state: the embedded default (SQLite and files in the data
/// folder), or PostgreSQL and S3 when `IDV_TEST_BACKEND=postgres-s3`.
///
/// The PostgreSQL + S3 backend reads `IDV_TEST_POSTGRES_URL` (default
/// `postgres://postgres@127.0.0.1:5432/postgres`), and the settings `.ci/s3-server start`
/// exports: `IDV_TEST_S3_ENDPOINT`, `IDV_TEST_S3_BUCKET`, `IDV_S3_SERVER_DIR` and the AWS
/// credentials. Each data folder then gets its own database and its own prefix in the bucket.
pub fn remote_backend() -> bool {
    match std::env::var("IDV_TEST_BACKEND").as_deref() {
        Ok("postgres-s3") => true,
        Ok("embedded") | Err(_) => false,
        Ok(other) => panic!("IDV_TEST_BACKEND={other:?}: use embedded or postgres-s3"),
    }
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the test S3 server with `eval \"$(.ci/s3-server start)\"`")
    })
}

/// A database and a bucket prefix of their own, dropped with the data folder.
#[derive(Debug)]
struct Remote {
    admin_url: String,
    database: String,
    bucket: String,
    prefix: String,
    endpoint: String,
    /// s3s-fs keeps each object as a file under `<data dir>/<bucket>/<key>`.
    s3_data_dir: PathBuf,
}

fn psql(url: &str, sql: &str) {
    let output = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .expect("psql runs");
    assert!(
        output.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Remote {
    fn new(unique: &str) -> Self {
        let admin_url = std::env::var("IDV_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let database = format!("idv_test_{}", unique.replace('-', "_"));
        psql(&admin_url, &format!("CREATE DATABASE {database}"));
        Self {
            admin_url,
            database,
            bucket: required_env("IDV_TEST_S3_BUCKET"),
            prefix: format!("idv-tests/{unique}"),
            endpoint: required_env("IDV_TEST_S3_ENDPOINT"),
            s3_data_dir: PathBuf::from(required_env("IDV_S3_SERVER_DIR")).join("data"),
        }
    }

    fn database_url(&self) -> String {
        let base = self
            .admin_url
            .rsplit_once('/')
            .map_or(self.admin_url.as_str(), |(base, _)| base);
        format!("{base}/{}", self.database)
    }

    fn objects_dir(&self) -> PathBuf {
        self.s3_data_dir.join(&self.bucket).join(&self.prefix)
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
        );
        let _ = std::fs::remove_dir_all(self.objects_dir());
    }
}

/// A data folder of its own (with its own database and bucket prefix on the PostgreSQL + S3
/// backend), removed when dropped.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    remote: Option<Remote>,
}

impl DataDir {
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        loop {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let unique = format!(
                "{}-{}-{nanos}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let path = std::env::temp_dir().join(format!("idv-tests-{unique}"));
            match std::fs::create_dir(&path) {
                Ok(()) => {
                    let remote = remote_backend().then(|| Remote::new(&unique));
                    return Self { path, remote };
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create {}: {e}", path.display()),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder that holds the images of verifications, one sub-folder each.
    pub fn verification_images(&self) -> PathBuf {
        match &self.remote {
            Some(remote) => remote.objects_dir().join("verifications"),
            None => self.path.join("blobs").join("verifications"),
        }
    }
}

impl Default for DataDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The configuration of a test server on `data_dir`, built field by field (no environment).
pub fn test_config(data_dir: &DataDir) -> ServerConfig {
    let (database_url, blob_url, s3_endpoint) = match &data_dir.remote {
        Some(remote) => (
            Some(remote.database_url()),
            Some(format!("s3://{}/{}", remote.bucket, remote.prefix)),
            Some(remote.endpoint.clone()),
        ),
        None => (None, None, None),
    };
    ServerConfig {
        addr: "127.0.0.1:0".parse().expect("a valid address"),
        store: StoreConfig {
            data_dir: data_dir.path().to_path_buf(),
            database_url,
            blob_url,
            s3_endpoint,
            s3_force_path_style: true,
        },
        scoring: ScoringConfig {
            model_dir: None,
            max_image_pixels: 40_000_000,
            max_image_bytes: 10 * 1024 * 1024,
            match_threshold: 0.5,
            match_review_margin: 0.05,
            liveness: idv_core::policy::LivenessMode::Review,
            liveness_threshold: 0.5,
            builtin_liveness: true,
            liveness_model: None,
            liveness_model_profile: None,
            min_document_side: 300,
        },
        jwt_secret: Some(JWT_SECRET.to_string()),
        jwt_secret_file: None,
        token_ttl_secs: TOKEN_TTL_SECS,
        admin_email: Some(ADMIN_EMAIL.to_string()),
        admin_password: Some(ADMIN_PASSWORD.to_string()),
        admin_password_file: None,
        max_body_bytes: 48 * 1024 * 1024,
        workers: 2,
        log_retention_days: 90,
        job_lease_secs: 120,
        webhook_url: None,
        webhook_secret: None,
        webhook_secret_file: None,
        webhook_allow_internal: false,
        webhook_retry_base_ms: 10_000,
        suspicious_rejections: 3,
        suspicious_window_hours: 24,
        suspicious_failed_logins: 5,
    }
}

/// A response: status, headers and the body as text and as JSON (`Null` when it is not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status; returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.short()
        );
        assert!(
            !self.body.is_null(),
            "the body is not JSON: {}",
            self.short()
        );
        &self.body
    }

    /// Asserts an error response: status, `{"error": {"code", "message", "field"?}}` exactly,
    /// a JSON content type, and no internals (paths, SQL, panics) in the text.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str, field: Option<&str>) {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.short()
        );
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/json"),
            "content type {content_type:?}"
        );
        let body = self
            .body
            .as_object()
            .unwrap_or_else(|| panic!("not a JSON object: {}", self.short()));
        assert_eq!(
            body.keys().collect::<Vec<_>>(),
            ["error"],
            "{}",
            self.short()
        );
        let error = &self.body["error"];
        assert_eq!(error["code"], code, "{}", self.short());
        assert_eq!(error["field"].as_str(), field, "{}", self.short());
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty(),
            "the error has no message: {}",
            self.short()
        );
        for leak in ["/tmp", "idv-tests-", "sqlite", "SELECT", "panicked", ".rs:"] {
            assert!(
                !self.text.contains(leak),
                "the error reveals {leak:?}: {}",
                self.short()
            );
        }
    }

    /// The body, shortened for assertion messages.
    pub fn short(&self) -> String {
        let mut text: String = self.text.chars().take(600).collect();
        if text.len() < self.text.len() {
            text.push('…');
        }
        format!("[{}] {text}", self.status)
    }
}

/// A registered user with an access token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub email: String,
    pub password: String,
    pub token: String,
}

/// A running server on its own data folder; shuts down and removes the folder when dropped.
pub struct TestApp {
    server: Option<RunningServer>,
    dir: Option<DataDir>,
    pub base: String,
    client: reqwest::Client,
}

impl TestApp {
    /// A server with the test configuration on a fresh data folder.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A server on a fresh data folder; `tweak` changes the test configuration.
    pub async fn spawn_with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        Self::spawn_in(DataDir::new(), tweak).await
    }

    /// A server on `dir` (e.g. one returned by [`TestApp::shutdown`]).
    pub async fn spawn_in(dir: DataDir, tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let mut config = test_config(&dir);
        tweak(&mut config);
        let server = idv_server::start(config, Some(scorer()))
            .await
            .expect("the test server starts");
        assert!(
            server.addr.ip().is_loopback(),
            "tests talk to 127.0.0.1 only"
        );
        // One connection per request: the server closes connections after some early errors
        // without saying so (media.rs, `an_early_error_says_connection_close_or_…`), which
        // must not make unrelated requests fail.
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(120))
            .build()
            .expect("an HTTP client");
        Self {
            base: format!("http://{}", server.addr),
            server: Some(server),
            dir: Some(dir),
            client,
        }
    }

    /// Creates another administrator directly through the library, as `idv admin create` does.
    pub async fn create_admin(&self, email: &str, password: &str) {
        let server = self
            .server
            .as_ref()
            .expect("the server runs until shutdown");
        let registration = idv_core::accounts::Registration {
            email: email.to_string(),
            password: password.to_string(),
            full_name: "Second Administrator".to_string(),
        };
        server
            .idv
            .create_admin(registration)
            .await
            .expect("the administrator is created");
    }

    /// Shuts the server down gracefully and hands back its data folder.
    pub async fn shutdown(mut self) -> DataDir {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        self.dir.take().expect("the data folder is kept until drop")
    }

    pub fn data_dir(&self) -> &Path {
        self.dir
            .as_ref()
            .expect("the data folder is kept until drop")
            .path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request; `content_type` is sent only when given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut request = self.client.request(method.clone(), self.url(path));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        Self::read(request, method.as_str(), path).await
    }

    async fn read(request: reqwest::RequestBuilder, method: &str, path: &str) -> Resp {
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e:?}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: body: {e}"));
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            text,
            body,
        }
    }

    /// `GET path` with a raw `Authorization` header value.
    pub async fn get_with_authorization(&self, path: &str, value: &str) -> Resp {
        let request = self
            .client
            .get(self.url(path))
            .header("authorization", value);
        Self::read(request, "GET", path).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::GET, path, token, None, None).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::DELETE, path, token, None, None).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send_text(Method::POST, path, token, &body.to_string())
            .await
    }

    pub async fn put_json(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send_text(Method::PUT, path, token, &body.to_string())
            .await
    }

    /// Sends JSON text as it is (for duplicate keys and byte-exact case files).
    pub async fn send_text(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        text: &str,
    ) -> Resp {
        self.request(
            method,
            path,
            token,
            Some("application/json"),
            Some(text.as_bytes().to_vec()),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.post_json(
            "/v1/auth/login",
            None,
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Logs in; panics unless it succeeds.
    pub async fn token(&self, email: &str, password: &str) -> String {
        let resp = self.login(email, password).await;
        let body = resp.expect(200);
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_string()
    }

    pub async fn admin_token(&self) -> String {
        self.token(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    /// Registers a user (asserting 201) and logs them in.
    pub async fn register(&self, email: &str, password: &str, full_name: &str) -> TestUser {
        let body = json!({"email": email, "password": password, "full_name": full_name});
        let resp = self.post_json("/v1/users", None, &body).await;
        let id = resp.expect(201)["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id: {}", resp.short()));
        let token = self.token(email, password).await;
        TestUser {
            id,
            email: email.to_string(),
            password: password.to_string(),
            token,
        }
    }

    /// Registers `<name>@example.com` with a fixed password.
    pub async fn new_user(&self, name: &str) -> TestUser {
        self.register(&format!("{name}@example.com"), "Password-123456", name)
            .await
    }

    pub async fn submit(&self, token: &str, body: &Value) -> Resp {
        self.post_json("/v1/verifications", Some(token), body).await
    }

    /// Submits text as it is to `POST /v1/verifications`.
    pub async fn submit_text(&self, token: &str, text: &str) -> Resp {
        self.send_text(Method::POST, "/v1/verifications", Some(token), text)
            .await
    }

    /// Submits and asserts 201 with a `pending` verification; returns its id.
    pub async fn submit_ok(&self, token: &str, text: &str) -> i64 {
        let resp = self.submit_text(token, text).await;
        let body = resp.expect(201);
        assert_eq!(body["status"], "pending", "{}", resp.short());
        body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id: {}", resp.short()))
    }

    /// Polls `GET /v1/verifications/{id}` until it is approved, rejected or in review.
    pub async fn wait_for_final(&self, token: &str, id: i64) -> Value {
        let started = Instant::now();
        loop {
            let resp = self
                .get(&format!("/v1/verifications/{id}"), Some(token))
                .await;
            let body = resp.expect(200);
            let status = body["status"].as_str().unwrap_or_default();
            match status {
                "approved" | "rejected" | "review" => return body.clone(),
                "pending" | "processing" => {}
                other => panic!("verification {id} has status {other:?}: {}", resp.short()),
            }
            assert!(
                started.elapsed() < FINAL_TIMEOUT,
                "verification {id} still {status} after {FINAL_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `total_count` of `GET /v1/verifications` as the administrator.
    pub async fn verification_count(&self, admin_token: &str) -> u64 {
        let resp = self.get("/v1/verifications", Some(admin_token)).await;
        resp.expect(200)["meta"]["total_count"]
            .as_u64()
            .expect("a total count")
    }

    /// The image folders of verifications in the blob store that hold at least one image.
    /// (The S3 test server keeps each object as a file and leaves empty folders behind when
    /// objects are deleted, so an empty folder counts as gone.)
    pub fn blob_dirs(&self) -> BTreeSet<PathBuf> {
        let root = self
            .dir
            .as_ref()
            .expect("the data folder is kept until drop")
            .verification_images();
        match std::fs::read_dir(&root) {
            Ok(entries) => entries
                .map(|e| e.expect("a directory entry").path())
                .filter(|path| holds_a_file(path))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
            Err(e) => panic!("{}: {e}", root.display()),
        }
    }

    /// Submits and returns the id and the image folder that appeared for it.
    pub async fn submit_with_folder(&self, token: &str, text: &str) -> (i64, PathBuf) {
        let before = self.blob_dirs();
        let id = self.submit_ok(token, text).await;
        let new: Vec<PathBuf> = self.blob_dirs().difference(&before).cloned().collect();
        assert_eq!(
            new.len(),
            1,
            "one image folder per verification, got {new:?}"
        );
        let folder = new.into_iter().next().expect("one folder");
        assert!(folder.is_dir(), "{}", folder.display());
        (id, folder)
    }

    /// Asserts that a valid verification is still accepted (after a bad request).
    pub async fn assert_still_works(&self, token: &str, user_id: i64) {
        let body = case_body("body_control_valid.json", user_id, None);
        self.submit_ok(token, &body).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let Some(server) = self.server.take() else {
            return;
        };
        // Stop the server before the data folder goes; possible only on a multi-threaded runtime.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
                tokio::task::block_in_place(|| handle.block_on(server.shutdown()));
            }
        }
    }
}

/// Whether `path` is a file or a folder with a file somewhere below it.
pub fn holds_a_file(path: &Path) -> bool {
    match std::fs::read_dir(path) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .any(|e| holds_a_file(&e.path())),
        Err(_) => path.is_file(),
    }
}

/// Upright 8-bit RGB pixels, row by row.
#[derive(Debug, Clone)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
}

impl Pixels {
    /// Decodes an image file with the product's own decoder (EXIF orientation applied).
    pub fn decode(bytes: &[u8]) -> Self {
        let image = onnx()
            .decode(bytes)
            .unwrap_or_else(|e| panic!("the image decodes: {e}"));
        Self {
            width: image.width(),
            height: image.height(),
            rgb: image.as_raw().clone(),
        }
    }

    fn at(&self, x: u32, y: u32) -> &[u8] {
        let i = ((y * self.width + x) * 3) as usize;
        &self.rgb[i..i + 3]
    }

    /// The pixels as a camera stores them when it writes EXIF orientation 6 instead of
    /// rotating: turned 90° counter-clockwise, so that a 90° clockwise turn makes them upright.
    pub fn stored_for_orientation_6(&self) -> Self {
        let (width, height) = (self.height, self.width);
        let mut rgb = Vec::with_capacity(self.rgb.len());
        for y in 0..height {
            for x in 0..width {
                rgb.extend_from_slice(self.at(self.width - 1 - y, x));
            }
        }
        Self { width, height, rgb }
    }
}

/// Sample layouts for [`encode_png`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PngKind {
    Rgb8,
    Rgb16,
    Gray8,
}

/// Big-endian TIFF/EXIF block holding only `Orientation = value` (a PNG `eXIf` chunk).
pub fn exif_orientation(value: u16) -> Vec<u8> {
    let mut exif = b"MM\x00\x2a".to_vec();
    exif.extend_from_slice(&8u32.to_be_bytes()); // first IFD right after the header
    exif.extend_from_slice(&1u16.to_be_bytes()); // one entry
    exif.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    exif.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    exif.extend_from_slice(&1u32.to_be_bytes()); // one value
    exif.extend_from_slice(&value.to_be_bytes());
    exif.extend_from_slice(&[0, 0]);
    exif.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    exif
}

/// Encodes pixels as an uncompressed (stored-deflate) PNG, optionally with an `eXIf` chunk.
pub fn encode_png(pixels: &Pixels, kind: PngKind, exif: Option<&[u8]>) -> Vec<u8> {
    let (bit_depth, color_type) = match kind {
        PngKind::Rgb8 => (8, 2),
        PngKind::Rgb16 => (16, 2),
        PngKind::Gray8 => (8, 0),
    };
    let mut raw = Vec::new();
    for row in pixels.rgb.chunks(pixels.width as usize * 3) {
        raw.push(0); // filter: none
        for rgb in row.chunks(3) {
            match kind {
                PngKind::Rgb8 => raw.extend_from_slice(rgb),
                PngKind::Rgb16 => {
                    for &v in rgb {
                        raw.extend_from_slice(&(u16::from(v) * 257).to_be_bytes());
                    }
                }
                PngKind::Gray8 => {
                    let luma = (299 * u32::from(rgb[0])
                        + 587 * u32::from(rgb[1])
                        + 114 * u32::from(rgb[2]))
                        / 1000;
                    raw.push(luma as u8);
                }
            }
        }
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&pixels.width.to_be_bytes());
    ihdr.extend_from_slice(&pixels.height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, color_type, 0, 0, 0]);
    png_chunk(&mut png, b"IHDR", &ihdr);
    if let Some(exif) = exif {
        png_chunk(&mut png, b"eXIf", exif);
    }
    png_chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    png_chunk(&mut png, b"IEND", &[]);
    png
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(65_535).collect()
    };
    let last = blocks.len() - 1;
    for (i, block) in blocks.into_iter().enumerate() {
        out.push(u8::from(i == last));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

/// A PNG whose header claims `width` × `height` pixels, with one tiny IDAT chunk.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let chunk = png_chunk;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, adaptive filter, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    // zlib stream of a few zero bytes (stored block).
    chunk(&mut png, b"IDAT", &zlib_stored(&[0; 4]));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_known_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn zlib_stored_matches_a_known_stream() {
        assert_eq!(
            zlib_stored(&[0; 4]),
            [0x78, 0x01, 0x01, 0x04, 0x00, 0xfb, 0xff, 0, 0, 0, 0, 0x00, 0x04, 0x00, 0x01]
        );
    }

    #[test]
    fn png_variants_decode_to_the_same_upright_pixels() {
        let original = Pixels::decode(&photo("no_face.png"));
        for kind in [PngKind::Rgb8, PngKind::Rgb16] {
            let again = Pixels::decode(&encode_png(&original, kind, None));
            assert_eq!(
                (again.width, again.height),
                (original.width, original.height)
            );
            assert!(again.rgb == original.rgb, "{kind:?}");
        }
        let stored = original.stored_for_orientation_6();
        assert_eq!(
            (stored.width, stored.height),
            (original.height, original.width)
        );
        let full_turn = stored
            .stored_for_orientation_6()
            .stored_for_orientation_6()
            .stored_for_orientation_6();
        assert!(
            full_turn.rgb == original.rgb && full_turn.width == original.width,
            "four quarter turns"
        );
        assert!(stored.rgb != original.rgb);
        let gray = Pixels::decode(&encode_png(&original, PngKind::Gray8, None));
        assert!(gray.rgb.chunks(3).all(|p| p[0] == p[1] && p[1] == p[2]));
    }

    #[test]
    fn case_body_replaces_both_placeholders() {
        let text = case_body("case16_body_duplicate_user_id.json", 7, Some(8));
        assert!(text.starts_with(r#"{"user_id": 7, "document_type": "passport", "user_id": 8,"#));
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers of the API key, log, idempotency, throttle and resource suites.

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// Year, month and day of a count of days since 1970-01-01 (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The UTC date `YYYY-MM-DD` of a Unix time.
pub fn utc_date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// A Unix time as RFC 3339 in the offset `offset_minutes` east of UTC (`Z` for 0), e.g.
/// `2026-12-04T10:00:00+02:00`.
pub fn rfc3339(secs: i64, offset_minutes: i32) -> String {
    let local = secs + i64::from(offset_minutes) * 60;
    let (y, mo, d) = civil_from_days(local.div_euclid(86_400));
    let in_day = local.rem_euclid(86_400);
    let (h, mi, s) = (in_day / 3600, in_day % 3600 / 60, in_day % 60);
    let zone = if offset_minutes == 0 {
        "Z".to_string()
    } else {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let abs = offset_minutes.unsigned_abs();
        format!("{sign}{:02}:{:02}", abs / 60, abs % 60)
    };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{zone}")
}

/// The Unix time of a timestamp as the API writes them: `YYYY-MM-DDTHH:MM:SSZ`.
#[track_caller]
pub fn parse_api_time(text: &str) -> i64 {
    let bytes = text.as_bytes();
    assert!(
        bytes.len() == 20
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes[10] == b'T'
            && bytes[13] == b':'
            && bytes[16] == b':'
            && bytes[19] == b'Z',
        "not an API timestamp: {text:?}"
    );
    let num = |range: std::ops::Range<usize>| -> i64 {
        text[range]
            .parse()
            .unwrap_or_else(|_| panic!("not an API timestamp: {text:?}"))
    };
    let days = days_from_civil(num(0..4), num(5..7) as u32, num(8..10) as u32);
    days * 86_400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19)
}

/// Percent-encodes a query-string value (everything but unreserved characters), so that e.g.
/// the `+` of an offset is not read as a space.
pub fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Requests with extra headers (`X-API-Key`, `Idempotency-Key`), keys, the log, the data folder.
impl TestApp {
    /// Sends a request with exactly these extra headers (no `Authorization` unless given).
    pub async fn request_with_headers(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut request = self.client.request(method.clone(), self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        Self::read(request, method.as_str(), path).await
    }

    /// `method path` with a JSON body (or none), authenticated by `X-API-Key: key`.
    pub async fn with_api_key_header(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> Resp {
        let mut headers = vec![("x-api-key", key)];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.request_with_headers(
            method,
            path,
            &headers,
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
    }

    /// `POST path` with a JSON body, a bearer credential and an `Idempotency-Key`.
    pub async fn post_idempotent(
        &self,
        path: &str,
        token: Option<&str>,
        idempotency_key: &str,
        body: &str,
    ) -> Resp {
        let authorization = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![
            ("content-type", "application/json"),
            ("idempotency-key", idempotency_key),
        ];
        if let Some(value) = &authorization {
            headers.push(("authorization", value));
        }
        self.request_with_headers(Method::POST, path, &headers, Some(body.as_bytes().to_vec()))
            .await
    }

    /// Creates an API key as `token` (asserting 201); returns its id and the key itself.
    pub async fn create_api_key(
        &self,
        token: &str,
        name: &str,
        permissions: &[&str],
    ) -> (i64, String) {
        let resp = self
            .post_json(
                "/v1/api-keys",
                Some(token),
                &json!({"name": name, "permissions": permissions}),
            )
            .await;
        let body = resp.expect(201);
        let id = body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id: {}", resp.short()));
        let key = body["key"]
            .as_str()
            .unwrap_or_else(|| panic!("no key: {}", resp.short()))
            .to_string();
        (id, key)
    }

    /// Every entry of `GET /v1/logs?<query>` (all pages, 100 a page) and the raw texts.
    pub async fn all_logs(&self, admin_token: &str, query: &str) -> (Vec<Value>, String) {
        let mut entries = Vec::new();
        let mut raw = String::new();
        for page in 1u64.. {
            let separator = if query.is_empty() { "" } else { "&" };
            let path = format!("/v1/logs?{query}{separator}page={page}&per_page=100");
            let resp = self.get(&path, Some(admin_token)).await;
            let body = resp.expect(200);
            raw.push_str(&resp.text);
            let data = body["data"].as_array().expect("a list of entries");
            entries.extend(data.iter().cloned());
            let total_pages = body["meta"]["total_pages"].as_u64().expect("total_pages");
            if page >= total_pages {
                break;
            }
        }
        (entries, raw)
    }

    /// Every file of the data folder, read as bytes, that contains `needle`.
    pub fn data_files_containing(&self, needle: &str) -> Vec<PathBuf> {
        fn walk(dir: &Path, needle: &[u8], found: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.filter_map(Result::ok) {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, needle, found);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    if bytes.windows(needle.len()).any(|w| w == needle) {
                        found.push(path);
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(self.data_dir(), needle.as_bytes(), &mut found);
        found
    }
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_format_and_parse_back() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00Z");
        // 2026-12-04T08:00:00Z
        let t = 1_796_371_200;
        assert_eq!(rfc3339(t, 0), "2026-12-04T08:00:00Z");
        assert_eq!(rfc3339(t, 120), "2026-12-04T10:00:00+02:00");
        assert_eq!(rfc3339(t, -570), "2026-12-03T22:30:00-09:30");
        assert_eq!(utc_date(t), "2026-12-04");
        assert_eq!(parse_api_time("2026-12-04T08:00:00Z"), t);
        assert_eq!(parse_api_time("2024-02-29T23:59:59Z"), 1_709_251_199);
        assert_eq!(
            query_value("2026-12-04T10:00:00+02:00"),
            "2026-12-04T10%3A00%3A00%2B02%3A00"
        );
    }
}

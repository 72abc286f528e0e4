//! `Idempotency-Key` on POST: a retry gets the first response again and does nothing twice;
//! another request under the same key is a 422; keys are per caller; malformed keys are 400;
//! responses that a retry may fix (401) are not kept.

use idv_tests::{case_body, remote_backend, Resp, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use serde_json::json;

const REPLAYED: &str = "idempotent-replayed";

/// Asserts that `again` is a replay of `first`: same status and body, marked as replayed.
#[track_caller]
fn assert_replay(first: &Resp, again: &Resp) {
    assert_eq!(again.status, first.status, "{}", again.short());
    assert_eq!(
        again.text, first.text,
        "the replay differs from the first response"
    );
    assert_eq!(
        again.header(REPLAYED),
        Some("true"),
        "a replay says so: {:?}",
        again.headers
    );
    assert!(
        again
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        again.headers
    );
    assert_eq!(again.header("location"), first.header("location"));
}

/// Asserts a response that was served, not replayed.
#[track_caller]
fn assert_fresh(resp: &Resp) {
    assert_eq!(resp.header(REPLAYED), None, "{}", resp.short());
}

async fn user_count(app: &TestApp, admin: &str) -> u64 {
    app.get("/v1/users", Some(admin)).await.expect(200)["meta"]["total_count"]
        .as_u64()
        .expect("a total count")
}

async fn key_count(app: &TestApp, admin: &str) -> u64 {
    app.get("/v1/api-keys", Some(admin)).await.expect(200)["meta"]["total_count"]
        .as_u64()
        .expect("a total count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_submission_is_replayed_and_not_repeated() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let user = app.new_user("ann").await;
    let body = case_body("body_control_valid.json", user.id, None);

    let first = app
        .post_idempotent("/v1/verifications", Some(&user.token), "submit-1", &body)
        .await;
    let created = first.expect(201);
    assert_eq!(created["status"], "pending");
    assert_fresh(&first);
    let id = created["id"].as_i64().expect("an id");
    assert_eq!(
        first.header("location"),
        Some(format!("/v1/verifications/{id}").as_str())
    );
    let again = app
        .post_idempotent("/v1/verifications", Some(&user.token), "submit-1", &body)
        .await;
    assert_replay(&first, &again);
    // Also with a fresh token of the same user: the key belongs to the user, not the token.
    let token = app.token(&user.email, &user.password).await;
    let third = app
        .post_idempotent("/v1/verifications", Some(&token), "submit-1", &body)
        .await;
    assert_replay(&first, &third);
    assert_eq!(app.verification_count(&admin).await, 1, "one verification");

    // The same key with another body is refused and changes nothing.
    let other = body.replace("\"passport\"", "\"id_card\"");
    assert_ne!(other, body);
    for changed in [other.as_str(), &format!("{body} "), &format!(" {body}")] {
        let resp = app
            .post_idempotent("/v1/verifications", Some(&user.token), "submit-1", changed)
            .await;
        assert_eq!(resp.status, 422, "{}", resp.short());
        resp.expect_error(422, "idempotency_key_reused", Some("Idempotency-Key"));
        assert_fresh(&resp);
    }
    // ... and another path with the same key and body is another request too.
    let resp = app
        .post_idempotent(
            "/v1/verifications?x=1",
            Some(&user.token),
            "submit-1",
            &body,
        )
        .await;
    resp.expect_error(422, "idempotency_key_reused", Some("Idempotency-Key"));
    assert_eq!(app.verification_count(&admin).await, 1);

    // Another key is another request; without a key nothing is remembered.
    let resp = app
        .post_idempotent("/v1/verifications", Some(&user.token), "submit-2", &body)
        .await;
    assert_fresh(&resp);
    assert_ne!(resp.expect(201)["id"], id);
    app.submit_ok(&user.token, &body).await;
    app.submit_ok(&user.token, &body).await;
    assert_eq!(app.verification_count(&admin).await, 4);
    // The first key still replays the first response.
    let resp = app
        .post_idempotent("/v1/verifications", Some(&user.token), "submit-1", &body)
        .await;
    assert_replay(&first, &resp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_belong_to_their_caller() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let ann = app.new_user("ann").await;
    let bob = app.new_user("bob").await;
    let (_, api_key) = app.create_api_key(&admin, "service", &["write"]).await;
    let body = case_body("body_control_valid.json", ann.id, None);
    const KEY: &str = "shared-key-0001";

    // The same key and the same bytes from four callers: four verifications.
    let mut ids = Vec::new();
    for (who, token) in [
        ("ann", ann.token.as_str()),
        ("admin", admin.as_str()),
        ("api key", api_key.as_str()),
    ] {
        let resp = app
            .post_idempotent("/v1/verifications", Some(token), KEY, &body)
            .await;
        assert_eq!(resp.status, 201, "{who}: {}", resp.short());
        assert_fresh(&resp);
        ids.push(resp.body["id"].as_i64().expect("an id"));
    }
    let bob_body = case_body("body_control_valid.json", bob.id, None);
    let resp = app
        .post_idempotent("/v1/verifications", Some(&bob.token), KEY, &bob_body)
        .await;
    assert_eq!(resp.status, 201, "bob: {}", resp.short());
    assert_fresh(&resp);
    ids.push(resp.body["id"].as_i64().expect("an id"));
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert_eq!(app.verification_count(&admin).await, 4);

    // A key's first use by one caller does not bind another caller's use of it.
    let resp = app
        .post_idempotent("/v1/verifications", Some(&bob.token), "ann-only", &body)
        .await;
    resp.expect_error(403, "forbidden", None);
    let resp = app
        .post_idempotent("/v1/verifications", Some(&ann.token), "ann-only", &body)
        .await;
    assert_eq!(resp.expect(201)["user_id"], ann.id);
    assert_fresh(&resp);
    assert_eq!(app.verification_count(&admin).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_and_key_creations_are_idempotent_too() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let registration =
        json!({"email": "ann@example.com", "password": "Password-123", "full_name": "Ann"})
            .to_string();
    let first = app
        .post_idempotent("/v1/users", None, "register-ann", &registration)
        .await;
    let user = first.expect(201).clone();
    assert_fresh(&first);
    let again = app
        .post_idempotent("/v1/users", None, "register-ann", &registration)
        .await;
    assert_replay(&first, &again);
    assert_eq!(user_count(&app, &admin).await, 2, "the admin and Ann");
    // Without the key, the same registration is a conflict.
    app.post_json(
        "/v1/users",
        None,
        &serde_json::from_str(&registration).expect("JSON"),
    )
    .await
    .expect_error(409, "email_taken", Some("email"));
    let other = json!({"email": "bob@example.com", "password": "Password-123", "full_name": "Bob"})
        .to_string();
    let resp = app
        .post_idempotent("/v1/users", None, "register-ann", &other)
        .await;
    resp.expect_error(422, "idempotency_key_reused", Some("Idempotency-Key"));
    assert_eq!(user_count(&app, &admin).await, 2);
    app.token("ann@example.com", "Password-123").await;
    assert_eq!(user["email"], "ann@example.com");

    let create = json!({"name": "Mobile App", "permissions": ["read"]}).to_string();
    let first = app
        .post_idempotent("/v1/api-keys", Some(&admin), "key-1", &create)
        .await;
    let key = first.expect(201).clone();
    assert_fresh(&first);
    let again = app
        .post_idempotent("/v1/api-keys", Some(&admin), "key-1", &create)
        .await;
    assert_eq!(again.status, 201, "{}", again.short());
    assert_eq!(again.header(REPLAYED), Some("true"));
    assert_eq!(again.body["id"], key["id"], "no second key");
    assert_eq!(key_count(&app, &admin).await, 1);
    let resp = app
        .post_idempotent(
            "/v1/api-keys",
            Some(&admin),
            "key-1",
            &json!({"name": "Other", "permissions": ["read"]}).to_string(),
        )
        .await;
    resp.expect_error(422, "idempotency_key_reused", Some("Idempotency-Key"));
    assert_eq!(key_count(&app, &admin).await, 1);
    // The key created under an Idempotency-Key works like any other.
    let secret = key["key"].as_str().expect("the key");
    app.get("/v1/users", Some(secret)).await.expect(200);
}

/// README: "The key is shown once; idv keeps only its hash and a visible prefix."
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_created_under_an_idempotency_key_is_not_kept_in_plain_text() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (_, plain) = app.create_api_key(&admin, "plain", &["read"]).await;
    let create = json!({"name": "retried", "permissions": ["read"]}).to_string();
    let first = app
        .post_idempotent("/v1/api-keys", Some(&admin), "key-create-1", &create)
        .await;
    let key = first.expect(201)["key"]
        .as_str()
        .expect("the key")
        .to_string();
    let secret = &key[13..];
    if !remote_backend() {
        assert_eq!(
            app.data_files_containing(&plain[13..]),
            Vec::<std::path::PathBuf>::new(),
            "a key created without an Idempotency-Key is not stored"
        );
        assert_eq!(
            app.data_files_containing(secret),
            Vec::<std::path::PathBuf>::new(),
            "the key is stored in plain text"
        );
    }
    // A retry cannot show the key again, since idv does not have it.
    let again = app
        .post_idempotent("/v1/api-keys", Some(&admin), "key-create-1", &create)
        .await;
    assert!(
        !again.text.contains(secret),
        "the key is shown a second time: {}",
        again.short()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_keys_are_400_and_change_nothing() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let user = app.new_user("ann").await;
    let body = case_body("body_control_valid.json", user.id, None);
    let registration =
        json!({"email": "bob@example.com", "password": "Password-123", "full_name": "Bob"})
            .to_string();
    let long_256 = "k".repeat(256);
    let long_300 = "k".repeat(300);
    for bad in [
        long_300.as_str(),
        long_256.as_str(),
        "has space",
        " ",
        "",
        "tab\tinside",
    ] {
        let resp = app
            .post_idempotent("/v1/verifications", Some(&user.token), bad, &body)
            .await;
        assert_eq!(resp.status, 400, "{bad:?}: {}", resp.short());
        resp.expect_error(400, "invalid_parameter", Some("Idempotency-Key"));
        let resp = app
            .post_idempotent("/v1/users", None, bad, &registration)
            .await;
        assert_eq!(resp.status, 400, "{bad:?}: {}", resp.short());
        resp.expect_error(400, "invalid_parameter", Some("Idempotency-Key"));
    }
    assert_eq!(app.verification_count(&admin).await, 0);
    assert_eq!(user_count(&app, &admin).await, 2);

    // 255 visible ASCII characters are a key.
    let longest: String = (0..255)
        .map(|i| char::from(b'!' + (i % 94) as u8))
        .collect();
    let first = app
        .post_idempotent("/v1/verifications", Some(&user.token), &longest, &body)
        .await;
    first.expect(201);
    let again = app
        .post_idempotent("/v1/verifications", Some(&user.token), &longest, &body)
        .await;
    assert_replay(&first, &again);
    assert_eq!(app.verification_count(&admin).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_replayed_but_a_401_is_not_kept() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let user = app.new_user("ann").await;
    let good = case_body("body_control_valid.json", user.id, None);
    let bad = good.replace("\"passport\"", "\"library_card\"");
    assert_ne!(bad, good);

    // A 422 is the answer to that request: replayed as it was.
    let first = app
        .post_idempotent("/v1/verifications", Some(&user.token), "bad-1", &bad)
        .await;
    first.expect_error(422, "invalid_document_type", Some("document_type"));
    assert_fresh(&first);
    let again = app
        .post_idempotent("/v1/verifications", Some(&user.token), "bad-1", &bad)
        .await;
    again.expect_error(422, "invalid_document_type", Some("document_type"));
    assert_replay(&first, &again);
    // The corrected request needs a new key.
    let resp = app
        .post_idempotent("/v1/verifications", Some(&user.token), "bad-1", &good)
        .await;
    resp.expect_error(422, "idempotency_key_reused", Some("Idempotency-Key"));
    assert_eq!(app.verification_count(&admin).await, 0);

    // A 401 is not kept: the retry with a valid credential is served.
    for garbage in [
        "garbage",
        "idv_00000000_0000000000000000000000000000000000000000000",
    ] {
        let resp = app
            .post_idempotent("/v1/verifications", Some(garbage), "auth-1", &good)
            .await;
        resp.expect_error(401, "unauthorized", None);
        assert_fresh(&resp);
    }
    let resp = app
        .post_idempotent("/v1/verifications", Some(&user.token), "auth-1", &good)
        .await;
    assert_eq!(resp.status, 201, "{}", resp.short());
    assert_fresh(&resp);
    assert_eq!(app.verification_count(&admin).await, 1);

    // Nor is a failed login: the retry with the right password logs in.
    let wrong = json!({"email": ADMIN_EMAIL, "password": "Not-The-Password-1"}).to_string();
    let right = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).to_string();
    for _ in 0..2 {
        let resp = app
            .post_idempotent("/v1/auth/login", None, "login-1", &wrong)
            .await;
        resp.expect_error(401, "invalid_credentials", None);
        assert_fresh(&resp);
    }
    let resp = app
        .post_idempotent("/v1/auth/login", None, "login-1", &right)
        .await;
    assert_eq!(resp.status, 200, "{}", resp.short());
    assert_fresh(&resp);
    assert_eq!(resp.body["token_type"], "Bearer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_do_the_work_once() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let user = app.new_user("ann").await;
    let body = case_body("body_control_valid.json", user.id, None);
    for round in 0..3 {
        let key = format!("race-{round}");
        let send = || app.post_idempotent("/v1/verifications", Some(&user.token), &key, &body);
        let (a, b, c) = tokio::join!(send(), send(), send());
        let mut served = 0;
        for resp in [&a, &b, &c] {
            match resp.status {
                201 if resp.header(REPLAYED).is_none() => served += 1,
                201 => {}
                409 => resp.expect_error(409, "idempotency_in_progress", Some("Idempotency-Key")),
                other => panic!("round {round}: unexpected {other}: {}", resp.short()),
            }
        }
        assert_eq!(served, 1, "round {round}: {a:?} {b:?} {c:?}");
        assert_eq!(app.verification_count(&admin).await, round + 1);
    }
}

/// A client that gives up waiting (closes its connection) retries with the same key. The retry
/// must get the first request's outcome or be served afresh: not a 409 "still being processed"
/// for the 24 hours the key is kept. Registration hashes the password, so the server is busy
/// long enough for the client to leave while the request is in progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_the_client_gave_up_is_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let address = app.base.trim_start_matches("http://").to_string();
    for round in 0..10 {
        let key = format!("gave-up-{round}");
        let email = format!("round{round}@example.com");
        let body =
            json!({"email": email, "password": "Password-123", "full_name": "Round"}).to_string();
        let mut stream = tokio::net::TcpStream::connect(&address)
            .await
            .expect("a connection");
        let request = format!(
            "POST /v1/users HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Idempotency-Key: {key}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("sent");
        // Wait until the server is working on it: the same request again is "in progress".
        let probe = app.post_idempotent("/v1/users", None, &key, &body).await;
        if probe.status != 409 {
            // The probe came first, or the first request was already done: try again.
            assert_eq!(probe.status, 201, "{}", probe.short());
            continue;
        }
        probe.expect_error(409, "idempotency_in_progress", Some("Idempotency-Key"));
        // The client gives up.
        stream.shutdown().await.expect("closed");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        drop(stream);
        if !answer.is_empty() {
            // The server finished before it saw the client leave: try again.
            continue;
        }
        println!("round {round}: the server dropped the request");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        let retry = loop {
            let resp = app.post_idempotent("/v1/users", None, &key, &body).await;
            if resp.status != 409 {
                break resp;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the retry is still refused as in progress: {}",
                resp.short()
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        assert_eq!(retry.status, 201, "{}", retry.short());
        assert_eq!(retry.body["email"], email.as_str());
        app.token(&email, "Password-123").await;
        let users = app.get("/v1/users?per_page=100", Some(&admin)).await;
        let registered = users.expect(200)["data"]
            .as_array()
            .expect("a list")
            .iter()
            .filter(|u| u["email"] == email.as_str())
            .count();
        assert_eq!(registered, 1);
        return;
    }
    panic!("in no round did the server drop a request in progress");
}

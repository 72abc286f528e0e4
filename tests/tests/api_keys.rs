//! API keys: created once by an administrator, shown once, sent as a bearer token or as
//! `X-API-Key`; `read`, `write` and `admin` limit what a key may do; renamed, re-permissioned
//! and revoked with immediate effect; expiry; validation; who may manage keys.

use std::time::{Duration, Instant};

use idv_tests::{
    case_body, parse_api_time, rfc3339, unix_now, Resp, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD,
};
use reqwest::Method;
use serde_json::{json, Value};

/// The fields of a key as the API shows it (without the key itself).
const KEY_FIELDS: [&str; 7] = [
    "created_at",
    "expires_at",
    "id",
    "last_used_at",
    "name",
    "permissions",
    "prefix",
];

fn sorted_keys(body: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {body}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Asserts a 401 with the challenge of a refused credential.
#[track_caller]
fn assert_invalid_credential(resp: &Resp, what: &str) {
    assert_eq!(resp.status, 401, "{what}: {}", resp.short());
    resp.expect_error(401, "unauthorized", None);
    let challenge = resp.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains(r#"error="invalid_token""#),
        "{what}: {challenge:?}"
    );
}

/// Asserts a 403 `forbidden`.
#[track_caller]
fn assert_forbidden(resp: &Resp, what: &str) {
    assert_eq!(resp.status, 403, "{what}: {}", resp.short());
    resp.expect_error(403, "forbidden", None);
}

/// `GET /v1/api-keys` total as the administrator.
async fn key_count(app: &TestApp, admin: &str) -> u64 {
    let resp = app.get("/v1/api-keys", Some(admin)).await;
    resp.expect(200)["meta"]["total_count"]
        .as_u64()
        .expect("a total count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_key_is_shown_once_and_authenticates_both_ways() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let resp = app
        .post_json(
            "/v1/api-keys",
            Some(&admin),
            &json!({"name": "Mobile App", "permissions": ["read"]}),
        )
        .await;
    let created = resp.expect(201).clone();
    let mut expected_fields = KEY_FIELDS.to_vec();
    expected_fields.push("key");
    expected_fields.sort_unstable();
    assert_eq!(sorted_keys(&created), expected_fields, "{created}");
    let id = created["id"].as_i64().expect("an id");
    assert!(id > 0);
    assert_eq!(created["name"], "Mobile App");
    assert_eq!(created["permissions"], json!(["read"]));
    assert_eq!(created["last_used_at"], Value::Null);
    assert_eq!(created["expires_at"], Value::Null);
    let created_at = parse_api_time(created["created_at"].as_str().expect("created_at"));
    let key = created["key"].as_str().expect("the key").to_string();
    let prefix = created["prefix"].as_str().expect("a prefix").to_string();
    assert!(key.starts_with("idv_"), "{key}");
    assert!(
        prefix.len() == 12
            && prefix.starts_with("idv_")
            && prefix[4..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{prefix}"
    );
    assert!(key.starts_with(&format!("{prefix}_")), "{key} / {prefix}");
    let secret = &key[prefix.len() + 1..];
    assert!(secret.len() >= 32, "a long random secret: {key}");

    // Neither the list nor the key itself ever shows the key again.
    let path = format!("/v1/api-keys/{id}");
    let one = app.get(&path, Some(&admin)).await;
    let shown = one.expect(200).clone();
    assert_eq!(sorted_keys(&shown), KEY_FIELDS, "{shown}");
    for field in KEY_FIELDS {
        assert_eq!(shown[field], created[field], "{field}");
    }
    let list = app.get("/v1/api-keys", Some(&admin)).await;
    let listed = list.expect(200).clone();
    assert_eq!(
        listed["meta"],
        json!({"current_page": 1, "per_page": 10, "total_pages": 1, "total_count": 1})
    );
    assert_eq!(listed["data"][0], shown);
    for resp in [&one, &list] {
        assert!(!resp.text.contains(&key), "the key is shown again");
        assert!(!resp.text.contains(secret), "the secret is shown again");
    }

    // The key works as a bearer token and as X-API-Key.
    let bearer = app.get("/v1/users", Some(&key)).await;
    let users = bearer.expect(200);
    assert!(
        users["data"]
            .as_array()
            .expect("a list")
            .iter()
            .any(|u| u["email"] == ADMIN_EMAIL),
        "{}",
        bearer.short()
    );
    let header = app
        .with_api_key_header(Method::GET, "/v1/users", &key, None)
        .await;
    assert_eq!(header.expect(200), users);
    // A lower-case scheme is still a bearer token.
    let resp = app
        .get_with_authorization("/v1/users", &format!("bearer {key}"))
        .await;
    resp.expect(200);

    // It records when it was used.
    let after = app.get(&path, Some(&admin)).await;
    let used = after.expect(200)["last_used_at"]
        .as_str()
        .unwrap_or_else(|| panic!("last_used_at is still null: {}", after.short()));
    assert!(parse_api_time(used) >= created_at, "{used}");
    assert!(!after.text.contains(&key));

    // Near misses of the key are refused.
    let mut tampered = key.clone();
    let last = tampered.pop().expect("a character");
    tampered.push(if last == 'a' { 'b' } else { 'a' });
    for (what, bad) in [
        ("tampered", tampered.as_str()),
        ("prefix only", prefix.as_str()),
        ("truncated", &key[..key.len() - 1]),
    ] {
        assert_invalid_credential(&app.get("/v1/users", Some(bad)).await, what);
        assert_invalid_credential(
            &app.with_api_key_header(Method::GET, "/v1/users", bad, None)
                .await,
            what,
        );
    }
    // An access token is not an API key.
    assert_invalid_credential(
        &app.with_api_key_header(Method::GET, "/v1/users", &admin, None)
            .await,
        "an access token in X-API-Key",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_write_and_admin_permissions_limit_what_a_key_may_do() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let user = app.new_user("ann").await;
    let (_, read) = app.create_api_key(&admin, "reader", &["read"]).await;
    let (_, write) = app.create_api_key(&admin, "writer", &["write"]).await;
    let (_, both) = app
        .create_api_key(&admin, "reader-writer", &["read", "write"])
        .await;
    let (admin_key_id, admin_key) = app.create_api_key(&admin, "root", &["admin"]).await;
    let control = case_body("body_control_valid.json", user.id, None);
    let user_path = format!("/v1/users/{}", user.id);
    let existing = app.submit_ok(&admin, &control).await;
    let verification_path = format!("/v1/verifications/{existing}");
    let register = |name: &str| json!({"email": format!("{name}@example.com"), "password": "Password-123", "full_name": name});

    // read: GET requests only.
    for path in [
        "/v1/users",
        user_path.as_str(),
        "/v1/verifications",
        verification_path.as_str(),
    ] {
        app.get(path, Some(&read)).await.expect(200);
    }
    assert_forbidden(
        &app.post_json("/v1/users", Some(&read), &register("r1"))
            .await,
        "read: POST /v1/users",
    );
    assert_forbidden(
        &app.submit_text(&read, &control).await,
        "read: POST /v1/verifications",
    );
    assert_forbidden(
        &app.put_json(&user_path, Some(&read), &json!({"full_name": "Changed"}))
            .await,
        "read: PUT /v1/users/{id}",
    );
    assert_forbidden(
        &app.delete(&user_path, Some(&read)).await,
        "read: DELETE /v1/users/{id}",
    );
    assert_forbidden(
        &app.put_json(
            &verification_path,
            Some(&read),
            &json!({"status": "approved"}),
        )
        .await,
        "read: PUT /v1/verifications/{id}",
    );
    assert_forbidden(
        &app.delete(&verification_path, Some(&read)).await,
        "read: DELETE /v1/verifications/{id}",
    );

    // write: creating and changing, but no reading (README: `read` is GET requests).
    let resp = app.submit_text(&write, &control).await;
    let created = resp.expect(201);
    assert_eq!(created["status"], "pending", "{}", resp.short());
    assert_eq!(created["user_id"], user.id);
    let new_id = created["id"].as_i64().expect("an id");
    let resp = app
        .put_json(
            &user_path,
            Some(&write),
            &json!({"full_name": "Ann Written"}),
        )
        .await;
    assert_eq!(resp.expect(200)["full_name"], "Ann Written");
    let resp = app
        .post_json("/v1/users", Some(&write), &register("w1"))
        .await;
    assert_eq!(resp.expect(201)["email"], "w1@example.com");
    for path in [
        "/v1/users",
        user_path.as_str(),
        "/v1/verifications",
        verification_path.as_str(),
        format!("/v1/verifications/{new_id}").as_str(),
        format!("/v1/users/{}/verifications", user.id).as_str(),
    ] {
        assert_forbidden(
            &app.get(path, Some(&write)).await,
            &format!("write: GET {path}"),
        );
    }

    // read + write: both, but still no keys or logs.
    app.get(&verification_path, Some(&both)).await.expect(200);
    app.submit_text(&both, &control).await.expect(201);

    // Nothing above was done by a refused request.
    assert_eq!(app.verification_count(&admin).await, 3);
    let resp = app.get(&user_path, Some(&admin)).await;
    assert_eq!(resp.expect(200)["full_name"], "Ann Written");
    let resp = app.get("/v1/users", Some(&admin)).await;
    assert_eq!(resp.expect(200)["meta"]["total_count"], 3, "admin, ann, w1");

    // Keys and logs need `admin`. A key with read and write cannot create a key, whatever it
    // asks for: creating keys itself needs `admin`, so `exceeds_caller` is never reached.
    let admin_key_path = format!("/v1/api-keys/{admin_key_id}");
    for (name, key) in [
        ("read", read.as_str()),
        ("write", write.as_str()),
        ("read,write", both.as_str()),
    ] {
        for path in ["/v1/api-keys", "/v1/logs", admin_key_path.as_str()] {
            assert_forbidden(
                &app.get(path, Some(key)).await,
                &format!("{name}: GET {path}"),
            );
        }
        for permissions in [json!(["admin"]), json!(["read"]), json!(["read", "write"])] {
            let resp = app
                .post_json(
                    "/v1/api-keys",
                    Some(key),
                    &json!({"name": "escalate", "permissions": permissions}),
                )
                .await;
            assert_forbidden(&resp, &format!("{name}: POST /v1/api-keys {permissions}"));
        }
        let resp = app
            .put_json(
                &format!("/v1/api-keys/{admin_key_id}"),
                Some(key),
                &json!({"permissions": ["read"]}),
            )
            .await;
        assert_forbidden(&resp, &format!("{name}: PUT /v1/api-keys/{{id}}"));
        assert_forbidden(
            &app.delete(&format!("/v1/api-keys/{admin_key_id}"), Some(key))
                .await,
            &format!("{name}: DELETE /v1/api-keys/{{id}}"),
        );
    }
    assert_eq!(key_count(&app, &admin).await, 4, "no key was created");

    // admin: everything.
    app.get("/v1/users", Some(&admin_key)).await.expect(200);
    app.get("/v1/logs", Some(&admin_key)).await.expect(200);
    app.get(&verification_path, Some(&admin_key))
        .await
        .expect(200);
    app.submit_text(&admin_key, &control).await.expect(201);
    let resp = app
        .put_json(
            &verification_path,
            Some(&admin_key),
            &json!({"status": "rejected", "note": "by key"}),
        )
        .await;
    assert_eq!(resp.expect(200)["status"], "rejected");
    let (made_id, made) = app
        .create_api_key(&admin_key, "made by a key", &["admin"])
        .await;
    app.get("/v1/logs", Some(&made)).await.expect(200);
    app.get(&format!("/v1/api-keys/{made_id}"), Some(&admin_key))
        .await
        .expect(200);
    let resp = app
        .delete(&format!("/v1/users/{}", user.id), Some(&admin_key))
        .await;
    resp.expect(200);
    app.delete(&format!("/v1/api-keys/{made_id}"), Some(&admin_key))
        .await
        .expect(200);
    assert_eq!(key_count(&app, &admin).await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renaming_and_changing_permissions_take_effect_at_once() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let user = app.new_user("ann").await;
    let control = case_body("body_control_valid.json", user.id, None);
    let (id, key) = app.create_api_key(&admin, "service", &["write"]).await;
    let path = format!("/v1/api-keys/{id}");
    app.submit_text(&key, &control).await.expect(201);
    assert_forbidden(&app.get("/v1/users", Some(&key)).await, "write: GET");
    let before = app.get(&path, Some(&admin)).await.expect(200).clone();

    let resp = app
        .put_json(
            &path,
            Some(&admin),
            &json!({"name": "  renamed service  ", "permissions": ["read"]}),
        )
        .await;
    let changed = resp.expect(200).clone();
    assert_eq!(sorted_keys(&changed), KEY_FIELDS, "{changed}");
    assert!(!resp.text.contains(&key));
    assert_eq!(changed["name"], "renamed service");
    assert_eq!(changed["permissions"], json!(["read"]));
    for field in ["id", "prefix", "created_at", "expires_at"] {
        assert_eq!(changed[field], before[field], "{field}");
    }
    assert_eq!(app.get(&path, Some(&admin)).await.expect(200), &changed);
    // At once: the same key now reads and no longer writes.
    app.get("/v1/users", Some(&key)).await.expect(200);
    assert_forbidden(&app.submit_text(&key, &control).await, "now read-only");

    // Only the name: permissions stay; only permissions: the name stays.
    let resp = app
        .put_json(&path, Some(&admin), &json!({"name": "again"}))
        .await;
    assert_eq!(resp.expect(200)["permissions"], json!(["read"]));
    let resp = app
        .put_json(
            &path,
            Some(&admin),
            &json!({"permissions": ["write", "read", "write"]}),
        )
        .await;
    let body = resp.expect(200);
    assert_eq!(body["name"], "again");
    assert_eq!(body["permissions"], json!(["read", "write"]));
    app.submit_text(&key, &control).await.expect(201);
    app.get("/v1/users", Some(&key)).await.expect(200);

    // Refused changes change nothing.
    let refused = [
        (json!({}), "required", "body"),
        (json!({"name": ""}), "invalid_name", "name"),
        (json!({"name": "   "}), "invalid_name", "name"),
        (json!({"name": "x".repeat(101)}), "invalid_name", "name"),
        (json!({"permissions": []}), "required", "permissions"),
        (
            json!({"permissions": ["superuser"]}),
            "unknown_permission",
            "permissions",
        ),
        (
            json!({"expires_at": "2099-01-01T00:00:00Z"}),
            "unknown_field",
            "expires_at",
        ),
        (json!({"key": "idv_x"}), "unknown_field", "key"),
    ];
    for (body, code, field) in refused {
        let resp = app.put_json(&path, Some(&admin), &body).await;
        assert_eq!(resp.status, 422, "{body}: {}", resp.short());
        resp.expect_error(422, code, Some(field));
    }
    let resp = app.get(&path, Some(&admin)).await;
    let body = resp.expect(200);
    assert_eq!(body["name"], "again");
    assert_eq!(body["permissions"], json!(["read", "write"]));

    app.put_json(
        "/v1/api-keys/999999",
        Some(&admin),
        &json!({"name": "ghost"}),
    )
    .await
    .expect_error(404, "not_found", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_stops_working_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (id, key) = app.create_api_key(&admin, "doomed", &["admin"]).await;
    let (kept_id, kept) = app.create_api_key(&admin, "kept", &["read"]).await;
    let path = format!("/v1/api-keys/{id}");
    app.get("/v1/users", Some(&key)).await.expect(200);

    let resp = app.delete(&path, Some(&admin)).await;
    assert_eq!(
        resp.expect(200),
        &json!({"message": "API key revoked successfully"})
    );
    assert_invalid_credential(&app.get("/v1/users", Some(&key)).await, "revoked, bearer");
    assert_invalid_credential(
        &app.with_api_key_header(Method::GET, "/v1/users", &key, None)
            .await,
        "revoked, X-API-Key",
    );
    assert_invalid_credential(
        &app.post_json(
            "/v1/api-keys",
            Some(&key),
            &json!({"name": "revenant", "permissions": ["admin"]}),
        )
        .await,
        "revoked, POST /v1/api-keys",
    );
    app.get(&path, Some(&admin))
        .await
        .expect_error(404, "not_found", None);
    app.delete(&path, Some(&admin))
        .await
        .expect_error(404, "not_found", None);
    app.put_json(&path, Some(&admin), &json!({"name": "back"}))
        .await
        .expect_error(404, "not_found", None);
    let resp = app.get("/v1/api-keys", Some(&admin)).await;
    let body = resp.expect(200);
    assert_eq!(body["meta"]["total_count"], 1);
    assert_eq!(body["data"][0]["id"], kept_id);
    // The other key still works; a key may revoke itself.
    app.get("/v1/users", Some(&kept)).await.expect(200);
    let (self_id, self_key) = app.create_api_key(&admin, "self", &["admin"]).await;
    app.delete(&format!("/v1/api-keys/{self_id}"), Some(&self_key))
        .await
        .expect(200);
    assert_invalid_credential(&app.get("/v1/users", Some(&self_key)).await, "self-revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_may_expire() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for past in [
        rfc3339(unix_now() - 60, 0),
        rfc3339(unix_now() - 3600, 120),
        "2001-01-01T00:00:00Z".to_string(),
    ] {
        let resp = app
            .post_json(
                "/v1/api-keys",
                Some(&admin),
                &json!({"name": "stale", "permissions": ["read"], "expires_at": past}),
            )
            .await;
        assert_eq!(resp.status, 422, "{past}: {}", resp.short());
        resp.expect_error(422, "in_the_past", Some("expires_at"));
    }
    assert_eq!(key_count(&app, &admin).await, 0);

    // A future expiry with an offset is kept and shown in UTC.
    let later = unix_now() + 86_400;
    let resp = app
        .post_json(
            "/v1/api-keys",
            Some(&admin),
            &json!({"name": "tomorrow", "permissions": ["read"], "expires_at": rfc3339(later, 120)}),
        )
        .await;
    assert_eq!(resp.expect(201)["expires_at"], rfc3339(later, 0));

    // One that expires in a few seconds works until then, and is refused after.
    const LIFETIME: i64 = 4;
    let started = Instant::now();
    let expires = unix_now() + LIFETIME;
    let resp = app
        .post_json(
            "/v1/api-keys",
            Some(&admin),
            &json!({"name": "brief", "permissions": ["read"], "expires_at": rfc3339(expires, 0)}),
        )
        .await;
    let body = resp.expect(201).clone();
    assert_eq!(body["expires_at"], rfc3339(expires, 0));
    let key = body["key"].as_str().expect("a key").to_string();
    let first = app.get("/v1/users", Some(&key)).await;
    assert_eq!(
        first.status,
        200,
        "a key that has not expired yet works (after {:?}): {}",
        started.elapsed(),
        first.short()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let resp = app.get("/v1/users", Some(&key)).await;
        if resp.status == 401 {
            assert_invalid_credential(&resp, "expired");
            break;
        }
        assert_eq!(resp.status, 200, "{}", resp.short());
        assert!(
            Instant::now() < deadline,
            "the key still works long after it expired"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        unix_now() >= expires,
        "refused before its expiry: now {} < {expires}",
        unix_now()
    );
    assert_invalid_credential(
        &app.with_api_key_header(Method::GET, "/v1/users", &key, None)
            .await,
        "expired, X-API-Key",
    );
    // Still listed, with its expiry, until revoked.
    let resp = app
        .get(&format!("/v1/api-keys/{}", body["id"]), Some(&admin))
        .await;
    assert_eq!(resp.expect(200)["expires_at"], rfc3339(expires, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_key_requests_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let refused = [
        (
            json!({"name": "k", "permissions": ["delete"]}),
            "unknown_permission",
            "permissions",
        ),
        (
            json!({"name": "k", "permissions": ["Read"]}),
            "unknown_permission",
            "permissions",
        ),
        (
            json!({"name": "k", "permissions": ["read", "root"]}),
            "unknown_permission",
            "permissions",
        ),
        (
            json!({"name": "k", "permissions": []}),
            "required",
            "permissions",
        ),
        (
            json!({"name": "k", "permissions": "read"}),
            "invalid_type",
            "permissions",
        ),
        (json!({"name": "k"}), "required", "permissions"),
        (json!({"permissions": ["read"]}), "required", "name"),
        (
            json!({"name": "", "permissions": ["read"]}),
            "invalid_name",
            "name",
        ),
        (
            json!({"name": " \t ", "permissions": ["read"]}),
            "invalid_name",
            "name",
        ),
        (
            json!({"name": "x".repeat(101), "permissions": ["read"]}),
            "invalid_name",
            "name",
        ),
        (
            json!({"name": "line\nbreak", "permissions": ["read"]}),
            "invalid_name",
            "name",
        ),
        (
            json!({"name": "k", "permissions": ["read"], "owner_id": 1}),
            "unknown_field",
            "owner_id",
        ),
        (
            json!({"name": "k", "permissions": ["read"], "key": "idv_chosen"}),
            "unknown_field",
            "key",
        ),
        (
            json!({"name": "k", "permissions": ["read"], "expires_at": "tomorrow"}),
            "invalid_timestamp",
            "expires_at",
        ),
        (
            json!({"name": "k", "permissions": ["read"], "expires_at": "2099-01-01"}),
            "invalid_timestamp",
            "expires_at",
        ),
        (
            json!({"name": "k", "permissions": ["read"], "expires_at": "2099-13-01T00:00:00Z"}),
            "invalid_timestamp",
            "expires_at",
        ),
        (
            json!({"name": "k", "permissions": ["read"], "expires_at": 4_102_444_800_u64}),
            "invalid_type",
            "expires_at",
        ),
    ];
    for (body, code, field) in refused {
        let resp = app.post_json("/v1/api-keys", Some(&admin), &body).await;
        assert_eq!(resp.status, 422, "{body}: {}", resp.short());
        resp.expect_error(422, code, Some(field));
        assert!(
            !resp.text.contains("idv_"),
            "no key in an error: {}",
            resp.short()
        );
    }
    assert_eq!(key_count(&app, &admin).await, 0, "nothing was created");

    // Accepted: the name is trimmed, permissions are sorted without duplicates, 100 characters
    // are allowed, and a null expiry is none.
    let resp = app
        .post_json(
            "/v1/api-keys",
            Some(&admin),
            &json!({"name": "  Mobile App  ", "permissions": ["write", "read", "write"], "expires_at": null}),
        )
        .await;
    let body = resp.expect(201);
    assert_eq!(body["name"], "Mobile App");
    assert_eq!(body["permissions"], json!(["read", "write"]));
    assert_eq!(body["expires_at"], Value::Null);
    let long = "é".repeat(100);
    let resp = app
        .post_json(
            "/v1/api-keys",
            Some(&admin),
            &json!({"name": long, "permissions": ["admin", "read"]}),
        )
        .await;
    let body = resp.expect(201);
    assert_eq!(body["name"], long);
    assert_eq!(body["permissions"], json!(["read", "admin"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_administrators_manage_keys() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("ann").await;
    let (id, key) = app.create_api_key(&admin, "existing", &["read"]).await;
    let path = format!("/v1/api-keys/{id}");
    let create = json!({"name": "mine", "permissions": ["read"]});
    let rename = json!({"name": "taken over"});

    // A user: 403 everywhere, even for a key that does not exist.
    for (what, resp) in [
        (
            "POST",
            app.post_json("/v1/api-keys", Some(&user.token), &create)
                .await,
        ),
        ("GET list", app.get("/v1/api-keys", Some(&user.token)).await),
        ("GET one", app.get(&path, Some(&user.token)).await),
        (
            "GET missing",
            app.get("/v1/api-keys/999999", Some(&user.token)).await,
        ),
        ("PUT", app.put_json(&path, Some(&user.token), &rename).await),
        ("DELETE", app.delete(&path, Some(&user.token)).await),
    ] {
        assert_forbidden(&resp, &format!("user: {what}"));
        assert!(!resp.text.contains(&key));
    }
    // No credential: 401 with a plain challenge.
    for (what, resp) in [
        ("POST", app.post_json("/v1/api-keys", None, &create).await),
        ("GET list", app.get("/v1/api-keys", None).await),
        ("GET one", app.get(&path, None).await),
        ("PUT", app.put_json(&path, None, &rename).await),
        ("DELETE", app.delete(&path, None).await),
    ] {
        assert_eq!(resp.status, 401, "{what}: {}", resp.short());
        resp.expect_error(401, "unauthorized", None);
        assert!(
            resp.header("www-authenticate")
                .is_some_and(|c| c.starts_with("Bearer")),
            "{what}: no challenge"
        );
    }
    // Nothing changed.
    let resp = app.get("/v1/api-keys", Some(&admin)).await;
    let body = resp.expect(200);
    assert_eq!(body["meta"]["total_count"], 1);
    assert_eq!(body["data"][0]["name"], "existing");
    app.get("/v1/users", Some(&key)).await.expect(200);

    // Missing ids are 404, malformed ids 400 naming the parameter.
    for resp in [
        app.get("/v1/api-keys/999999", Some(&admin)).await,
        app.put_json("/v1/api-keys/999999", Some(&admin), &rename)
            .await,
        app.delete("/v1/api-keys/999999", Some(&admin)).await,
    ] {
        resp.expect_error(404, "not_found", None);
    }
    for bad in [
        "abc",
        "0",
        "-1",
        "1.5",
        "%2B1",
        "99999999999999999999",
        "1e3",
    ] {
        let bad_path = format!("/v1/api-keys/{bad}");
        for resp in [
            app.get(&bad_path, Some(&admin)).await,
            app.put_json(&bad_path, Some(&admin), &rename).await,
            app.delete(&bad_path, Some(&admin)).await,
        ] {
            assert_eq!(resp.status, 400, "{bad_path}: {}", resp.short());
            resp.expect_error(400, "invalid_parameter", Some("api_key_id"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keys_of_a_deleted_administrator_stop_working() {
    const SECOND_ADMIN: &str = "second-admin@idv-tests.example.com";
    // A second administrator, as `idv admin create` makes one.
    let app = TestApp::spawn().await;
    app.create_admin(SECOND_ADMIN, ADMIN_PASSWORD).await;
    let admin = app.admin_token().await;
    let second = app.token(SECOND_ADMIN, ADMIN_PASSWORD).await;
    let (_, first_key) = app.create_api_key(&admin, "first's", &["admin"]).await;
    let (second_key_id, second_key) = app.create_api_key(&second, "second's", &["read"]).await;
    app.get("/v1/users", Some(&second_key)).await.expect(200);
    let resp = app.get("/v1/users?per_page=100", Some(&admin)).await;
    let second_id = resp.expect(200)["data"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|u| u["email"] == SECOND_ADMIN)
        .and_then(|u| u["id"].as_i64())
        .expect("the second administrator is listed");

    app.delete(&format!("/v1/users/{second_id}"), Some(&first_key))
        .await
        .expect(200);
    assert_invalid_credential(&app.get("/v1/users", Some(&second_key)).await, "bearer");
    assert_invalid_credential(
        &app.with_api_key_header(Method::GET, "/v1/users", &second_key, None)
            .await,
        "X-API-Key",
    );
    assert_invalid_credential(&app.get("/v1/users", Some(&second)).await, "token");
    // The other administrator's key is unaffected.
    app.get("/v1/users", Some(&first_key)).await.expect(200);
    let resp = app
        .get(&format!("/v1/api-keys/{second_key_id}"), Some(&admin))
        .await;
    println!(
        "the deleted administrator's key afterwards: {}",
        resp.short()
    );
    // Logging in is still the first administrator's.
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(200);
}

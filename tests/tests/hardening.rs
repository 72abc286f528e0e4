//! Attacks found by breaking the product: privilege escalation with a limited key, NUL
//! characters, far-future expiries, look-alike e-mail addresses.

use idv_tests::{TestApp, ADMIN_EMAIL};
use serde_json::json;

/// The administrator's id, from the user list.
async fn admin_id(app: &TestApp, admin: &str) -> i64 {
    let users = app.get("/v1/users?per_page=100", Some(admin)).await;
    let users = users.expect(200)["data"].as_array().unwrap().clone();
    users.iter().find(|u| u["email"] == ADMIN_EMAIL).unwrap()["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_key_cannot_take_over_or_remove_an_administrator() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let admin_id = admin_id(&app, &admin).await;
    let (_, key) = app.create_api_key(&admin, "svc", &["read", "write"]).await;
    let user = app.new_user("ann").await;

    for body in [
        json!({"password": "pwned pwned pwned"}),
        json!({"email": "evil@example.com"}),
    ] {
        for target in [admin_id, user.id] {
            let resp = app
                .put_json(&format!("/v1/users/{target}"), Some(&key), &body)
                .await;
            resp.expect_error(403, "forbidden", None);
        }
    }
    let renamed = app
        .put_json(
            &format!("/v1/users/{}", user.id),
            Some(&key),
            &json!({"full_name": "Ann B"}),
        )
        .await;
    assert_eq!(renamed.expect(200)["full_name"], "Ann B");
    app.delete(&format!("/v1/users/{admin_id}"), Some(&key))
        .await
        .expect_error(403, "forbidden", None);
    let review = json!({"status": "approved"});
    app.put_json("/v1/verifications/1", Some(&key), &review)
        .await
        .expect_error(403, "forbidden", None);
    // The administrator is untouched.
    assert!(
        app.get("/v1/users", Some(&app.admin_token().await))
            .await
            .status
            == 200
    );

    let (_, full) = app.create_api_key(&admin, "ops", &["admin"]).await;
    let changed = app
        .put_json(
            &format!("/v1/users/{}", user.id),
            Some(&full),
            &json!({"password": "a new password 1"}),
        )
        .await;
    changed.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_far_expiries_and_look_alike_addresses_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let nul = r#"{"email":"ann\u0000@example.com","password":"whatever-123"}"#;
    let resp = app
        .send_text(reqwest::Method::POST, "/v1/auth/login", None, nul)
        .await;
    resp.expect_error(401, "invalid_credentials", None);
    let note = r#"{"status":"approved","note":"ok\u0000"}"#;
    let resp = app
        .send_text(
            reqwest::Method::PUT,
            "/v1/verifications/1",
            Some(&admin),
            note,
        )
        .await;
    resp.expect_error(422, "invalid_character", Some("note"));

    let far =
        json!({"name": "k", "permissions": ["read"], "expires_at": "9999-12-31T23:59:59-14:00"});
    app.post_json("/v1/api-keys", Some(&admin), &far)
        .await
        .expect_error(422, "too_far", Some("expires_at"));
    app.get("/v1/api-keys", Some(&admin)).await.expect(200);

    app.register("mara@example.com", "Correct-Horse-71", "Mara")
        .await;
    for twin in ["mara@example.com\u{200b}", "ｍara@example.com"] {
        let body = json!({"email": twin, "password": "Correct-Horse-72", "full_name": "M"});
        let resp = app.post_json("/v1/users", None, &body).await;
        assert!(
            matches!(resp.status, 409 | 422),
            "{twin:?}: {}",
            resp.short()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_administrator_stays_and_a_deleted_one_takes_their_keys_along() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let first_id = admin_id(&app, &admin).await;
    let resp = app
        .delete(&format!("/v1/users/{first_id}"), Some(&admin))
        .await;
    resp.expect_error(409, "last_admin", Some("user_id"));

    app.create_admin("second@idv-tests.example.com", "Second-Password-1")
        .await;
    let second = app
        .token("second@idv-tests.example.com", "Second-Password-1")
        .await;
    let (key_id, key) = app.create_api_key(&second, "second's", &["read"]).await;
    let second_id = admin_id_of(&app, &admin, "second@idv-tests.example.com").await;
    app.delete(&format!("/v1/users/{second_id}"), Some(&admin))
        .await
        .expect(200);
    assert_eq!(app.get("/v1/users", Some(&key)).await.status, 401);

    let logs = app.get("/v1/logs?per_page=100", Some(&admin)).await;
    let revoked: Vec<String> = logs.expect(200)["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "key_revoked")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert!(
        revoked[0].contains(&format!("API key {key_id} ")),
        "{revoked:?}"
    );
    let resp = app
        .delete(&format!("/v1/users/{first_id}"), Some(&admin))
        .await;
    resp.expect_error(409, "last_admin", Some("user_id"));
}

async fn admin_id_of(app: &TestApp, token: &str, email: &str) -> i64 {
    let users = app.get("/v1/users?per_page=100", Some(token)).await;
    let users = users.expect(200)["data"].as_array().unwrap().clone();
    users.iter().find(|u| u["email"] == email).unwrap()["id"]
        .as_i64()
        .unwrap()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_images_are_readable_by_the_service_alone() {
    use std::os::unix::fs::PermissionsExt;
    if idv_tests::remote_backend() {
        return; // the images are in S3 then
    }
    let app = TestApp::spawn().await;
    let mode = std::fs::metadata(app.data_dir().join("blobs"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
}

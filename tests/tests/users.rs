//! Users: registration and its validation, e-mail uniqueness (case 15), roles, path ids,
//! pagination (case 18) and deletion with everything that belongs to the user.

use idv_tests::{case_body, fixture, TestApp, ADMIN_EMAIL};
use serde_json::{json, Value};

fn parse(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).expect("a JSON case file")
}

/// Asserts a user object: exactly the public fields, an RFC 3339 UTC time, no secrets.
#[track_caller]
fn assert_user(body: &Value, email: &str, full_name: &str) {
    let object = body.as_object().expect("an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["created_at", "email", "full_name", "id", "role"],
        "{body}"
    );
    assert!(body["id"].as_i64().is_some_and(|id| id > 0), "{body}");
    assert_eq!(body["email"], email);
    assert_eq!(body["full_name"], full_name);
    let created = body["created_at"].as_str().expect("a time");
    assert!(
        created.len() == 20 && created.ends_with('Z') && created.as_bytes()[10] == b'T',
        "{created}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_returns_the_new_user() {
    let app = TestApp::spawn().await;
    let body =
        json!({"email": "ann@example.com", "password": "Password-123", "full_name": "Ann Example"});
    let resp = app.post_json("/v1/users", None, &body).await;
    assert_user(resp.expect(201), "ann@example.com", "Ann Example");
    assert_eq!(resp.body["role"], "user");
    let id = resp.body["id"].as_i64().expect("an id");
    let token = app.token("ann@example.com", "Password-123").await;
    let resp = app.get(&format!("/v1/users/{id}"), Some(&token)).await;
    assert_user(resp.expect(200), "ann@example.com", "Ann Example");
}

/// case-15: the same mailbox in another letter case or with spaces is taken; a tag is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_addresses_are_unique_regardless_of_case_and_spaces() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let a = parse("case15_body_user_a.json");
    let b = parse("case15_body_user_b_case_variant.json");
    let c = parse("case15_body_user_c_whitespace.json");
    let d = parse("case15_body_user_d_plus_address.json");

    let resp = app.post_json("/v1/users", None, &a).await;
    assert_user(resp.expect(201), "mara.quillon@example.com", "Mara Quillon");
    app.post_json("/v1/users", None, &b)
        .await
        .expect_error(409, "email_taken", Some("email"));
    // The product trims addresses, so the whitespace variant is the same mailbox: 409.
    app.post_json("/v1/users", None, &c)
        .await
        .expect_error(409, "email_taken", Some("email"));
    let resp = app.post_json("/v1/users", None, &d).await;
    assert_user(resp.expect(201), "mara.quillon+kyc@example.com", "Mara Q");
    let d_id = resp.body["id"].as_i64().expect("an id");

    let resp = app
        .post_json(
            "/v1/auth/login",
            None,
            &parse("case15_body_login_upper.json"),
        )
        .await;
    assert_eq!(resp.expect(200)["token_type"], "Bearer");

    // The change-e-mail path: d takes b's address → 409, by d themself and by the admin.
    let d_token = app
        .token("mara.quillon+kyc@example.com", "Correct-Horse-74")
        .await;
    let change = json!({"email": b["email"]});
    let path = format!("/v1/users/{d_id}");
    app.put_json(&path, Some(&d_token), &change)
        .await
        .expect_error(409, "email_taken", Some("email"));
    app.put_json(&path, Some(&admin), &change)
        .await
        .expect_error(409, "email_taken", Some("email"));
    let resp = app.get(&path, Some(&admin)).await;
    assert_user(resp.expect(200), "mara.quillon+kyc@example.com", "Mara Q");
    // Two users in all besides the administrator.
    let resp = app.get("/v1/users", Some(&admin)).await;
    assert_eq!(resp.expect(200)["meta"]["total_count"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_registrations_are_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            r#"{"email":"not-an-address","password":"Password-123","full_name":"A"}"#,
            "invalid_email",
            "email",
        ),
        (
            r#"{"email":"a@localhost","password":"Password-123","full_name":"A"}"#,
            "invalid_email",
            "email",
        ),
        (
            r#"{"email":"a@example.com","password":"short","full_name":"A"}"#,
            "invalid_password",
            "password",
        ),
        (
            r#"{"email":"a@example.com","password":"Password-123","full_name":"   "}"#,
            "required",
            "full_name",
        ),
        (
            r#"{"email":"a@example.com","email":"b@example.com","password":"Password-123","full_name":"A"}"#,
            "duplicate_field",
            "email",
        ),
        (
            r#"{"email":"a@example.com","full_name":"A"}"#,
            "required",
            "password",
        ),
        (
            r#"{"email":"a@example.com","password":12345678,"full_name":"A"}"#,
            "invalid_type",
            "password",
        ),
        (
            r#"{"email":"a@example.com","password":"Password-123","full_name":"A\u0000B"}"#,
            "invalid_name",
            "full_name",
        ),
        (
            r#"{"email":"a b@example.com","password":"Password-123","full_name":"A"}"#,
            "invalid_email",
            "email",
        ),
        (
            r#"{"email":"","password":"Password-123","full_name":"A"}"#,
            "required",
            "email",
        ),
    ];
    let long_name =
        json!({"email": "a@example.com", "password": "Password-123", "full_name": "n".repeat(201)});
    app.post_json("/v1/users", None, &long_name)
        .await
        .expect_error(422, "invalid_name", Some("full_name"));
    let long_email = json!({"email": format!("{}@example.com", "a".repeat(243)), "password": "Password-123", "full_name": "A"});
    app.post_json("/v1/users", None, &long_email)
        .await
        .expect_error(422, "invalid_email", Some("email"));
    let long_password =
        json!({"email": "a@example.com", "password": "p".repeat(257), "full_name": "A"});
    app.post_json("/v1/users", None, &long_password)
        .await
        .expect_error(422, "invalid_password", Some("password"));
    for (body, code, field) in cases {
        let resp = app
            .send_text(reqwest::Method::POST, "/v1/users", None, body)
            .await;
        assert_eq!(resp.status, 422, "{body}: {}", resp.short());
        resp.expect_error(422, code, Some(field));
    }
    for body in [
        r#"{"email":"a@example.com","password":"Password-123","full_name":"A","is_admin":true}"#,
        r#"{"is_admin":true,"email":"a@example.com","password":"Password-123","full_name":"A"}"#,
    ] {
        let resp = app
            .send_text(reqwest::Method::POST, "/v1/users", None, body)
            .await;
        resp.expect_error(422, "unknown_field", Some("is_admin"));
    }
    let admin = app.admin_token().await;
    let resp = app.get("/v1/users", Some(&admin)).await;
    assert_eq!(
        resp.expect(200)["meta"]["total_count"],
        1,
        "nothing was registered"
    );
    assert_eq!(resp.body["data"][0]["email"], ADMIN_EMAIL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_reach_only_themselves_and_admins_reach_everyone() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let ann = app.new_user("ann").await;
    let bob = app.new_user("bob").await;
    let bob_path = format!("/v1/users/{}", bob.id);
    let ann_path = format!("/v1/users/{}", ann.id);

    app.get("/v1/users", Some(&ann.token))
        .await
        .expect_error(403, "forbidden", None);
    app.get(&bob_path, Some(&ann.token))
        .await
        .expect_error(403, "forbidden", None);
    let rename = json!({"full_name": "Renamed"});
    app.put_json(&bob_path, Some(&ann.token), &rename)
        .await
        .expect_error(403, "forbidden", None);
    app.delete(&bob_path, Some(&ann.token))
        .await
        .expect_error(403, "forbidden", None);
    app.get(&format!("{bob_path}/verifications"), Some(&ann.token))
        .await
        .expect_error(403, "forbidden", None);
    // Bob is untouched.
    let resp = app.get(&bob_path, Some(&admin)).await;
    assert_user(resp.expect(200), &bob.email, "bob");

    let resp = app.get(&ann_path, Some(&ann.token)).await;
    assert_user(resp.expect(200), &ann.email, "ann");
    let resp = app.put_json(&ann_path, Some(&ann.token), &rename).await;
    assert_user(resp.expect(200), &ann.email, "Renamed");
    let resp = app.put_json(&bob_path, Some(&admin), &rename).await;
    assert_user(resp.expect(200), &bob.email, "Renamed");
    // An empty update names what is missing.
    app.put_json(&ann_path, Some(&ann.token), &json!({}))
        .await
        .expect_error(422, "required", Some("body"));
    // A user cannot make themself admin.
    app.put_json(
        &ann_path,
        Some(&ann.token),
        &json!({"full_name": "Ann", "role": "admin"}),
    )
    .await
    .expect_error(422, "unknown_field", Some("role"));
    let resp = app.get(&ann_path, Some(&admin)).await;
    assert_eq!(resp.expect(200)["role"], "user");

    for path in ["/v1/users/999999", "/v1/users/999999/verifications"] {
        app.get(path, Some(&admin))
            .await
            .expect_error(404, "not_found", None);
    }
    app.put_json("/v1/users/999999", Some(&admin), &rename)
        .await
        .expect_error(404, "not_found", None);
    app.delete("/v1/users/999999", Some(&admin))
        .await
        .expect_error(404, "not_found", None);

    let resp = app.delete(&ann_path, Some(&ann.token)).await;
    assert_eq!(
        resp.expect(200),
        &json!({"message": "User deleted successfully"})
    );
    app.get(&ann_path, Some(&admin))
        .await
        .expect_error(404, "not_found", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_ids_are_400_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for id in ["0", "-1", "abc", "99999999999999999999", "1.0", "%2B1"] {
        let user = format!("/v1/users/{id}");
        app.get(&user, Some(&admin))
            .await
            .expect_error(400, "invalid_parameter", Some("user_id"));
        app.delete(&user, Some(&admin)).await.expect_error(
            400,
            "invalid_parameter",
            Some("user_id"),
        );
        app.put_json(&user, Some(&admin), &json!({"full_name": "X"}))
            .await
            .expect_error(400, "invalid_parameter", Some("user_id"));
        app.get(&format!("{user}/verifications"), Some(&admin))
            .await
            .expect_error(400, "invalid_parameter", Some("user_id"));
        let verification = format!("/v1/verifications/{id}");
        app.get(&verification, Some(&admin)).await.expect_error(
            400,
            "invalid_parameter",
            Some("verification_id"),
        );
        app.delete(&verification, Some(&admin)).await.expect_error(
            400,
            "invalid_parameter",
            Some("verification_id"),
        );
    }
}

/// case-18 on `/v1/users` and `/v1/verifications`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_is_strict_and_pages_past_the_end_are_empty() {
    // No workers: the verifications only need to exist.
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let mut user_ids = Vec::new();
    for name in ["u1", "u2", "u3"] {
        user_ids.push(app.new_user(name).await.id);
    }
    for &id in &user_ids {
        app.submit_ok(&admin, &case_body("body_control_valid.json", id, None))
            .await;
    }

    for list in ["/v1/users", "/v1/verifications"] {
        let bad = [
            ("per_page=2147483648", "per_page"),
            ("per_page=1000000", "per_page"),
            ("per_page=0", "per_page"),
            ("per_page=-5", "per_page"),
            ("per_page=abc", "per_page"),
            ("per_page=101", "per_page"),
            ("per_page=", "per_page"),
            ("page=0", "page"),
            ("page=-1", "page"),
            ("page=99999999999", "page"),
            ("page=abc", "page"),
            ("page=1&page=2", "page"),
        ];
        for (query, field) in bad {
            let resp = app.get(&format!("{list}?{query}"), Some(&admin)).await;
            assert_eq!(resp.status, 400, "{list}?{query}: {}", resp.short());
            resp.expect_error(400, "invalid_parameter", Some(field));
        }

        // Four users (with the administrator), three verifications.
        let total: usize = if list == "/v1/users" { 4 } else { 3 };
        let resp = app.get(&format!("{list}?per_page=100"), Some(&admin)).await;
        let body = resp.expect(200);
        assert_eq!(
            body["meta"],
            json!({"current_page": 1, "per_page": 100, "total_pages": 1, "total_count": total})
        );
        assert_eq!(body["data"].as_array().expect("a list").len(), total);

        let resp = app
            .get(&format!("{list}?page=2&per_page=2"), Some(&admin))
            .await;
        let body = resp.expect(200);
        assert_eq!(
            body.as_object().expect("an object").len(),
            2,
            "only data and meta: {}",
            resp.short()
        );
        assert_eq!(
            body["meta"],
            json!({"current_page": 2, "per_page": 2, "total_pages": 2, "total_count": total})
        );
        assert_eq!(body["data"].as_array().expect("a list").len(), total - 2);

        let resp = app
            .get(&format!("{list}?page=3&per_page=2"), Some(&admin))
            .await;
        let body = resp.expect(200);
        assert_eq!(body["data"], json!([]));
        assert_eq!(
            body["meta"],
            json!({"current_page": 3, "per_page": 2, "total_pages": 2, "total_count": total})
        );

        let resp = app.get(&format!("{list}?page=1000000"), Some(&admin)).await;
        let body = resp.expect(200);
        assert_eq!(body["data"], json!([]));
        assert_eq!(
            body["meta"],
            json!({"current_page": 1000000, "per_page": 10, "total_pages": 1, "total_count": total})
        );

        let resp = app.get(list, Some(&admin)).await;
        assert_eq!(
            resp.expect(200)["meta"],
            json!({"current_page": 1, "per_page": 10, "total_pages": 1, "total_count": total})
        );
    }
    // Pages are consistent: two pages of two make up the whole ordered list.
    let all = app
        .get("/v1/users?per_page=4", Some(&admin))
        .await
        .expect(200)["data"]
        .clone();
    let first = app
        .get("/v1/users?per_page=2", Some(&admin))
        .await
        .expect(200)["data"]
        .clone();
    let second = app
        .get("/v1/users?per_page=2&page=2", Some(&admin))
        .await
        .expect(200)["data"]
        .clone();
    let joined: Vec<Value> = first
        .as_array()
        .into_iter()
        .chain(second.as_array())
        .flatten()
        .cloned()
        .collect();
    assert_eq!(Value::Array(joined), all);
    // The status filter is strict too.
    app.get("/v1/verifications?status=bogus", Some(&admin))
        .await
        .expect_error(400, "invalid_parameter", Some("status"));
    let resp = app
        .get("/v1/verifications?status=pending", Some(&admin))
        .await;
    assert_eq!(resp.expect(200)["meta"]["total_count"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_user_removes_their_verifications_and_images() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let gone = app.new_user("gone").await;
    let kept = app.new_user("kept").await;
    let (gone_verification, gone_folder) = app
        .submit_with_folder(&admin, &case_body("body_control_valid.json", gone.id, None))
        .await;
    let (kept_verification, kept_folder) = app
        .submit_with_folder(&admin, &case_body("body_control_valid.json", kept.id, None))
        .await;

    let path = format!("/v1/users/{}", gone.id);
    let resp = app.delete(&path, Some(&admin)).await;
    assert_eq!(
        resp.expect(200),
        &json!({"message": "User deleted successfully"})
    );
    app.get(&path, Some(&admin))
        .await
        .expect_error(404, "not_found", None);
    app.delete(&path, Some(&admin))
        .await
        .expect_error(404, "not_found", None);
    app.get(&format!("{path}/verifications"), Some(&admin))
        .await
        .expect_error(404, "not_found", None);
    app.get(
        &format!("/v1/verifications/{gone_verification}"),
        Some(&admin),
    )
    .await
    .expect_error(404, "not_found", None);
    assert!(
        !idv_tests::holds_a_file(&gone_folder),
        "{} was not removed",
        gone_folder.display()
    );

    // The other user keeps everything.
    let resp = app.get("/v1/verifications", Some(&admin)).await;
    let body = resp.expect(200);
    assert_eq!(body["meta"]["total_count"], 1);
    assert_eq!(body["data"][0]["id"], kept_verification);
    assert!(kept_folder.is_dir());
    app.wait_for_final(&admin, kept_verification).await;
    assert!(kept_folder.is_dir(), "images stay after processing");
}

/// An unknown field is named as itself (`is_admin`, not `is_admin.is_admin`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_fields_are_named_once_wherever_they_appear() {
    let app = TestApp::spawn().await;
    for body in [
        r#"{"email":"a@example.com","password":"Password-123","full_name":"A","is_admin":true}"#,
        r#"{"is_admin":true,"email":"a@example.com","password":"Password-123","full_name":"A"}"#,
    ] {
        let resp = app
            .send_text(reqwest::Method::POST, "/v1/users", None, body)
            .await;
        resp.expect_error(422, "unknown_field", Some("is_admin"));
    }
    let user = app.new_user("ann").await;
    let resp = app
        .put_json(
            &format!("/v1/users/{}", user.id),
            Some(&user.token),
            &json!({"role": "admin"}),
        )
        .await;
    resp.expect_error(422, "unknown_field", Some("role"));
    let resp = app
        .submit_text(
            &user.token,
            &case_body("case16_body_unknown_field.json", user.id, None),
        )
        .await;
    resp.expect_error(422, "unknown_field", Some("status"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_change_their_email_and_password() {
    let app = TestApp::spawn().await;
    let ann = app.new_user("ann").await;
    let path = format!("/v1/users/{}", ann.id);
    app.put_json(&path, Some(&ann.token), &json!({"password": "short"}))
        .await
        .expect_error(422, "invalid_password", Some("password"));
    app.put_json(&path, Some(&ann.token), &json!({"email": "not-an-address"}))
        .await
        .expect_error(422, "invalid_email", Some("email"));
    let change = json!({"email": "  Ann.New@Example.com ", "password": "New-Password-456"});
    let resp = app.put_json(&path, Some(&ann.token), &change).await;
    assert_user(resp.expect(200), "Ann.New@Example.com", "ann");

    app.login(&ann.email, &ann.password)
        .await
        .expect_error(401, "invalid_credentials", None);
    app.login("ann.new@example.com", &ann.password)
        .await
        .expect_error(401, "invalid_credentials", None);
    let resp = app.login("ann.new@example.com", "New-Password-456").await;
    assert_eq!(resp.expect(200)["token_type"], "Bearer");
    // The old address is free again.
    let resp = app
        .post_json(
            "/v1/users",
            None,
            &json!({"email": ann.email, "password": "Password-789", "full_name": "Other"}),
        )
        .await;
    assert_user(resp.expect(201), &ann.email, "Other");
}

/// Registrations of one mailbox racing each other: exactly one wins, the others get 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registrations_of_one_address_create_one_user() {
    let app = TestApp::spawn().await;
    let variants = [
        "race@example.com",
        "RACE@example.com",
        " race@example.com",
        "Race@Example.com",
        "race@EXAMPLE.com",
        "race@example.com ",
    ];
    let requests = variants.iter().map(|email| {
        let body = json!({"email": email, "password": "Password-123", "full_name": "Racer"});
        let app = &app;
        async move { app.post_json("/v1/users", None, &body).await }
    });
    let mut created = 0;
    for resp in join_all(requests.collect()).await {
        match resp.status {
            201 => created += 1,
            _ => resp.expect_error(409, "email_taken", Some("email")),
        }
    }
    assert_eq!(created, 1);
    let admin = app.admin_token().await;
    let resp = app.get("/v1/users", Some(&admin)).await;
    assert_eq!(resp.expect(200)["meta"]["total_count"], 2);
}

/// Runs futures concurrently on the current task (no extra dependency).
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

//! Every resource route of `idv_server::ROUTES`: credentials required where the README says,
//! 403 for a plain user where the README says so, 404 for missing ids, and JSON-only bodies on
//! the key routes (case 19).

use idv_tests::{case_body, Resp, TestApp, TestUser};
use reqwest::Method;
use serde_json::{json, Value};

/// The routes that the README lists as open to anyone.
const OPEN: [(&str, &str); 4] = [
    ("GET", "/v1/health"),
    ("GET", "/v1/openapi.json"),
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/users"),
];

/// `pattern` with every `{parameter}` replaced by `id`.
fn concrete(pattern: &str, id: &str) -> String {
    pattern
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                id
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).expect("an HTTP method")
}

/// Sends `method path` with `{}` as JSON for POST and PUT, and these headers.
async fn call(app: &TestApp, method_name: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
    let mut headers = headers.to_vec();
    let body = matches!(method_name, "POST" | "PUT").then(|| {
        headers.push(("content-type", "application/json"));
        b"{}".to_vec()
    });
    app.request_with_headers(method(method_name), path, &headers, body)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_but_the_open_ones_needs_a_credential() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    // Id 1 exists for users (the administrator), verifications and keys, so that a refusal
    // cannot be a 404 in disguise.
    let user = app.new_user("ann").await;
    app.submit_ok(&admin, &case_body("body_control_valid.json", user.id, None))
        .await;
    app.create_api_key(&admin, "existing", &["read"]).await;
    let mut closed = 0;
    for (method_name, pattern, _) in idv_server::ROUTES {
        let path = concrete(pattern, "1");
        if OPEN.contains(&(*method_name, *pattern)) {
            let resp = call(&app, method_name, &path, &[]).await;
            assert_ne!(
                resp.status,
                401,
                "{method_name} {path} is open: {}",
                resp.short()
            );
            assert!(resp.header("www-authenticate").is_none());
            continue;
        }
        closed += 1;
        let what = format!("{method_name} {path}");
        let resp = call(&app, method_name, &path, &[]).await;
        assert_eq!(
            resp.status,
            401,
            "{what} without a credential: {}",
            resp.short()
        );
        resp.expect_error(401, "unauthorized", None);
        let challenge = resp.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer") && !challenge.contains("error="),
            "{what}: {challenge:?}"
        );
        for (name, value) in [
            ("authorization", "Bearer garbage"),
            ("authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln"),
            (
                "authorization",
                "Bearer idv_00000000_0000000000000000000000000000000000000000000",
            ),
            ("x-api-key", "garbage"),
            (
                "x-api-key",
                "idv_00000000_0000000000000000000000000000000000000000000",
            ),
        ] {
            let resp = call(&app, method_name, &path, &[(name, value)]).await;
            assert_eq!(
                resp.status,
                401,
                "{what} with {name}: {value}: {}",
                resp.short()
            );
            resp.expect_error(401, "unauthorized", None);
            let challenge = resp.header("www-authenticate").unwrap_or_default();
            assert!(
                challenge.starts_with("Bearer ") && challenge.contains(r#"error="invalid_token""#),
                "{what} with {value}: {challenge:?}"
            );
        }
    }
    assert_eq!(
        closed,
        idv_server::ROUTES.len() - OPEN.len(),
        "every open route is in the table"
    );
    assert!(closed >= 16, "{closed} routes need a credential");
    // Nothing was changed by the refused requests.
    assert_eq!(app.verification_count(&admin).await, 1);
    let resp = app.get("/v1/api-keys", Some(&admin)).await;
    assert_eq!(resp.expect(200)["meta"]["total_count"], 1);
    let resp = app
        .get(&format!("/v1/users/{}", user.id), Some(&admin))
        .await;
    assert_eq!(resp.expect(200)["full_name"], "ann");
}

/// One request of a plain user that the README reserves for someone else.
struct Refused {
    method: &'static str,
    path: String,
    body: Option<Value>,
}

fn refused(method: &'static str, path: String, body: Option<Value>) -> Refused {
    Refused { method, path, body }
}

async fn send(
    app: &TestApp,
    token: &str,
    method_name: &str,
    path: &str,
    body: Option<&Value>,
) -> Resp {
    match body {
        Some(body) => {
            app.send_text(method(method_name), path, Some(token), &body.to_string())
                .await
        }
        None => {
            app.request(method(method_name), path, Some(token), None, None)
                .await
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_users_reach_only_what_the_readme_gives_them() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let ann: TestUser = app.new_user("ann").await;
    let bob = app.new_user("bob").await;
    let ann_body = case_body("body_control_valid.json", ann.id, None);
    let bob_body = case_body("body_control_valid.json", bob.id, None);
    let ann_v = app.submit_ok(&ann.token, &ann_body).await;
    let bob_v = app.submit_ok(&bob.token, &bob_body).await;
    let (key_id, _) = app.create_api_key(&admin, "existing", &["read"]).await;
    let bob_path = format!("/v1/users/{}", bob.id);

    let refusals = [
        refused("GET", "/v1/users".into(), None),
        refused("GET", bob_path.clone(), None),
        refused(
            "PUT",
            bob_path.clone(),
            Some(json!({"full_name": "Hacked"})),
        ),
        refused("DELETE", bob_path.clone(), None),
        refused("GET", format!("{bob_path}/verifications"), None),
        refused("GET", format!("/v1/verifications/{bob_v}"), None),
        refused(
            "PUT",
            format!("/v1/verifications/{bob_v}"),
            Some(json!({"status": "approved"})),
        ),
        // Reviews are for administrators, even of one's own verification.
        refused(
            "PUT",
            format!("/v1/verifications/{ann_v}"),
            Some(json!({"status": "approved"})),
        ),
        refused("DELETE", format!("/v1/verifications/{bob_v}"), None),
        refused(
            "POST",
            "/v1/api-keys".into(),
            Some(json!({"name": "mine", "permissions": ["read"]})),
        ),
        refused("GET", "/v1/api-keys".into(), None),
        refused("GET", format!("/v1/api-keys/{key_id}"), None),
        refused(
            "PUT",
            format!("/v1/api-keys/{key_id}"),
            Some(json!({"name": "mine"})),
        ),
        refused("DELETE", format!("/v1/api-keys/{key_id}"), None),
        refused("GET", "/v1/logs".into(), None),
    ];
    for r in &refusals {
        let resp = send(&app, &ann.token, r.method, &r.path, r.body.as_ref()).await;
        assert_eq!(
            resp.status,
            403,
            "{} {}: {}",
            r.method,
            r.path,
            resp.short()
        );
        resp.expect_error(403, "forbidden", None);
    }
    // POST /v1/verifications for someone else.
    let resp = app.submit_text(&ann.token, &bob_body).await;
    resp.expect_error(403, "forbidden", None);

    // What Ann may do: herself and her own verifications.
    let ann_path = format!("/v1/users/{}", ann.id);
    app.get(&ann_path, Some(&ann.token)).await.expect(200);
    let resp = app
        .put_json(&ann_path, Some(&ann.token), &json!({"full_name": "Ann B"}))
        .await;
    assert_eq!(resp.expect(200)["full_name"], "Ann B");
    let resp = app
        .get(&format!("{ann_path}/verifications"), Some(&ann.token))
        .await;
    assert_eq!(resp.expect(200)["meta"]["total_count"], 1);
    let resp = app.get("/v1/verifications", Some(&ann.token)).await;
    assert_eq!(resp.expect(200)["data"][0]["id"], ann_v);
    app.get(&format!("/v1/verifications/{ann_v}"), Some(&ann.token))
        .await
        .expect(200);
    app.delete(&format!("/v1/verifications/{ann_v}"), Some(&ann.token))
        .await
        .expect(200);

    // Bob and his things are as they were.
    let resp = app.get(&bob_path, Some(&admin)).await;
    assert_eq!(resp.expect(200)["full_name"], "bob");
    let resp = app
        .get(&format!("/v1/verifications/{bob_v}"), Some(&admin))
        .await;
    assert_eq!(resp.expect(200)["status"], "pending");
    assert_eq!(app.verification_count(&admin).await, 1);
    let resp = app.get("/v1/api-keys", Some(&admin)).await;
    let body = resp.expect(200);
    assert_eq!(body["meta"]["total_count"], 1);
    assert_eq!(body["data"][0]["name"], "existing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_ids_are_404_for_administrators() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let user = app.new_user("ann").await;
    // Ids that existed once are as missing as ids that never did.
    let gone_user = app.new_user("gone").await;
    app.delete(&format!("/v1/users/{}", gone_user.id), Some(&admin))
        .await
        .expect(200);
    let gone_v = app
        .submit_ok(&admin, &case_body("body_control_valid.json", user.id, None))
        .await;
    app.delete(&format!("/v1/verifications/{gone_v}"), Some(&admin))
        .await
        .expect(200);
    let (gone_key, _) = app.create_api_key(&admin, "gone", &["read"]).await;
    app.delete(&format!("/v1/api-keys/{gone_key}"), Some(&admin))
        .await
        .expect(200);

    for (user_id, verification_id, key_id) in [
        (999_999, 999_999, 999_999),
        (gone_user.id, gone_v, gone_key),
    ] {
        let cases = [
            ("GET", format!("/v1/users/{user_id}"), None),
            (
                "PUT",
                format!("/v1/users/{user_id}"),
                Some(json!({"full_name": "Nobody"})),
            ),
            ("DELETE", format!("/v1/users/{user_id}"), None),
            ("GET", format!("/v1/users/{user_id}/verifications"), None),
            ("GET", format!("/v1/verifications/{verification_id}"), None),
            (
                "PUT",
                format!("/v1/verifications/{verification_id}"),
                Some(json!({"status": "approved"})),
            ),
            (
                "DELETE",
                format!("/v1/verifications/{verification_id}"),
                None,
            ),
            ("GET", format!("/v1/api-keys/{key_id}"), None),
            (
                "PUT",
                format!("/v1/api-keys/{key_id}"),
                Some(json!({"name": "Nobody"})),
            ),
            ("DELETE", format!("/v1/api-keys/{key_id}"), None),
        ];
        for (method_name, path, body) in cases {
            let resp = send(&app, &admin, method_name, &path, body.as_ref()).await;
            assert_eq!(resp.status, 404, "{method_name} {path}: {}", resp.short());
            resp.expect_error(404, "not_found", None);
        }
        // A verification for a user who does not exist is an invalid value, not a 404.
        let resp = app
            .submit_text(&admin, &case_body("body_control_valid.json", user_id, None))
            .await;
        resp.expect_error(422, "unknown_user", Some("user_id"));
    }
    assert_eq!(app.verification_count(&admin).await, 0);
}

/// case-19 on the key routes: only JSON bodies, with any letter case and parameters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_routes_accept_only_json_bodies() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (id, _) = app.create_api_key(&admin, "existing", &["read"]).await;
    let path = format!("/v1/api-keys/{id}");
    let create = json!({"name": "made", "permissions": ["read"]}).to_string();
    let rename = json!({"name": "renamed"}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("multipart/form-data; boundary=xyz"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
    ] {
        for (method_name, target, body) in [
            ("POST", "/v1/api-keys", &create),
            ("PUT", path.as_str(), &rename),
        ] {
            let resp = app
                .request(
                    method(method_name),
                    target,
                    Some(&admin),
                    content_type,
                    Some(body.as_bytes().to_vec()),
                )
                .await;
            assert_eq!(
                resp.status,
                415,
                "{method_name} {target} with {content_type:?}: {}",
                resp.short()
            );
            resp.expect_error(415, "unsupported_media_type", None);
        }
    }
    let resp = app.get("/v1/api-keys", Some(&admin)).await;
    let body = resp.expect(200);
    assert_eq!(body["meta"]["total_count"], 1, "nothing was created");
    assert_eq!(body["data"][0]["name"], "existing", "nothing was changed");

    for (i, content_type) in ["application/json; charset=utf-8", "APPLICATION/JSON"]
        .into_iter()
        .enumerate()
    {
        let resp = app
            .request(
                Method::POST,
                "/v1/api-keys",
                Some(&admin),
                Some(content_type),
                Some(create.clone().into_bytes()),
            )
            .await;
        assert_eq!(
            resp.status,
            201,
            "POST with {content_type:?}: {}",
            resp.short()
        );
        assert!(resp.body["key"]
            .as_str()
            .is_some_and(|k| k.starts_with("idv_")));
        let name = format!("renamed {i}");
        let resp = app
            .request(
                Method::PUT,
                &path,
                Some(&admin),
                Some(content_type),
                Some(json!({"name": name}).to_string().into_bytes()),
            )
            .await;
        assert_eq!(
            resp.status,
            200,
            "PUT with {content_type:?}: {}",
            resp.short()
        );
        assert_eq!(resp.body["name"], name);
    }
    let resp = app.get("/v1/api-keys", Some(&admin)).await;
    assert_eq!(resp.expect(200)["meta"]["total_count"], 3);
}

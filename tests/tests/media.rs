//! Request framing: content types (case 19), malformed JSON, body size, unknown routes and
//! methods.

use idv_tests::{case_body, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};
use reqwest::Method;
use serde_json::json;

/// One JSON endpoint with a body it accepts and the status of success.
struct Endpoint {
    method: Method,
    path: String,
    /// A fresh accepted body for each call (registration needs new addresses).
    body: Box<dyn Fn(usize) -> String>,
    ok: u16,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_json_bodies_are_accepted_on_every_post_and_put() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("ann").await;
    let control = case_body("body_control_valid.json", user.id, None);
    let endpoints = [
        Endpoint {
            method: Method::POST,
            path: "/v1/users".into(),
            body: Box::new(|i| {
                json!({"email": format!("new{i}@example.com"), "password": "Password-123", "full_name": "N"}).to_string()
            }),
            ok: 201,
        },
        Endpoint {
            method: Method::POST,
            path: "/v1/auth/login".into(),
            body: Box::new(|_| {
                json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).to_string()
            }),
            ok: 200,
        },
        Endpoint {
            method: Method::POST,
            path: "/v1/verifications".into(),
            body: Box::new(move |_| control.clone()),
            ok: 201,
        },
        Endpoint {
            method: Method::PUT,
            path: format!("/v1/users/{}", user.id),
            body: Box::new(|i| json!({"full_name": format!("Name {i}")}).to_string()),
            ok: 200,
        },
    ];
    let users_before =
        app.get("/v1/users", Some(&admin)).await.expect(200)["meta"]["total_count"].clone();
    let mut call = 0;
    for endpoint in &endpoints {
        for content_type in [
            None,
            Some("text/plain"),
            Some("multipart/form-data; boundary=xyz"),
            Some("application/x-www-form-urlencoded"),
        ] {
            call += 1;
            let body = (endpoint.body)(call).into_bytes();
            let resp = app
                .request(
                    endpoint.method.clone(),
                    &endpoint.path,
                    Some(&admin),
                    content_type,
                    Some(body),
                )
                .await;
            assert_eq!(
                resp.status,
                415,
                "{} {} with {content_type:?}: {}",
                endpoint.method,
                endpoint.path,
                resp.short()
            );
            resp.expect_error(415, "unsupported_media_type", None);
        }
    }
    // Nothing was created or changed by the refused requests.
    let resp = app.get("/v1/users", Some(&admin)).await;
    assert_eq!(resp.expect(200)["meta"]["total_count"], users_before);
    assert_eq!(app.verification_count(&admin).await, 0);
    let resp = app
        .get(&format!("/v1/users/{}", user.id), Some(&admin))
        .await;
    assert_eq!(resp.expect(200)["full_name"], "ann");

    for endpoint in &endpoints {
        for content_type in [
            "application/json; charset=utf-8",
            "APPLICATION/JSON",
            "Application/Json ; charset=UTF-8",
        ] {
            call += 1;
            let body = (endpoint.body)(call).into_bytes();
            let resp = app
                .request(
                    endpoint.method.clone(),
                    &endpoint.path,
                    Some(&admin),
                    Some(content_type),
                    Some(body),
                )
                .await;
            assert_eq!(
                resp.status,
                endpoint.ok,
                "{} {} with {content_type:?}: {}",
                endpoint.method,
                endpoint.path,
                resp.short()
            );
            assert!(resp.body.is_object(), "{}", resp.short());
        }
    }
    assert_eq!(app.verification_count(&admin).await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_and_a_non_object_is_422() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let paths = [
        (Method::POST, "/v1/users".to_string()),
        (Method::POST, "/v1/auth/login".to_string()),
        (Method::POST, "/v1/verifications".to_string()),
        (Method::PUT, "/v1/users/1".to_string()),
        (Method::PUT, "/v1/verifications/1".to_string()),
    ];
    for (method, path) in &paths {
        for body in [
            "",
            "nope",
            "{'single':'quotes'}",
            "\u{feff}{}",
            "{1:2}",
            "{,}",
        ] {
            let resp = app
                .send_text(method.clone(), path, Some(&admin), body)
                .await;
            assert_eq!(
                resp.status,
                400,
                "{method} {path} {body:?}: {}",
                resp.short()
            );
            resp.expect_error(400, "invalid_json", None);
        }
        for body in ["42", "null", r#""text""#, "true"] {
            let resp = app
                .send_text(method.clone(), path, Some(&admin), body)
                .await;
            assert_eq!(
                resp.status,
                422,
                "{method} {path} {body:?}: {}",
                resp.short()
            );
            resp.expect_error(422, "invalid_type", Some("body"));
        }
    }
    // Invalid UTF-8 inside a string is malformed, not a crash.
    let resp = app
        .request(
            Method::POST,
            "/v1/auth/login",
            None,
            Some("application/json"),
            Some(b"{\"email\":\"\xff\xfe\",\"password\":\"x\"}".to_vec()),
        )
        .await;
    resp.expect_error(400, "invalid_json", None);
    app.admin_token().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_413() {
    const LIMIT: usize = 16 * 1024;
    let app = TestApp::spawn_with(|c| c.max_body_bytes = LIMIT as u64).await;
    let admin = app.admin_token().await;

    // A login body of exactly the limit (padded with spaces) is read; one byte more is not.
    let login = json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).to_string();
    let exact = format!("{login}{}", " ".repeat(LIMIT - login.len()));
    let resp = app
        .send_text(Method::POST, "/v1/auth/login", None, &exact)
        .await;
    assert_eq!(resp.expect(200)["token_type"], "Bearer");
    let over = format!("{exact} ");
    let resp = app
        .send_text(Method::POST, "/v1/auth/login", None, &over)
        .await;
    resp.expect_error(413, "body_too_large", None);

    let name = "x".repeat(2 * LIMIT);
    let register =
        json!({"email": "big@example.com", "password": "Password-123", "full_name": name});
    app.post_json("/v1/users", None, &register)
        .await
        .expect_error(413, "body_too_large", None);
    let user = app.new_user("ann").await;
    app.put_json(
        &format!("/v1/users/{}", user.id),
        Some(&admin),
        &json!({"full_name": name}),
    )
    .await
    .expect_error(413, "body_too_large", None);
    let control = case_body("body_control_valid.json", user.id, None);
    app.submit_text(&admin, &control)
        .await
        .expect_error(413, "body_too_large", None);
    assert_eq!(app.verification_count(&admin).await, 0);
    let resp = app.get("/v1/users", Some(&admin)).await;
    assert_eq!(
        resp.expect(200)["meta"]["total_count"],
        2,
        "the oversized registration was not stored"
    );
    // Still serving.
    app.admin_token().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let resp = app.get("/v1/health", None).await;
    assert_eq!(resp.expect(200)["status"], "ok");

    for path in [
        "/",
        "/v1",
        "/v1/nothing",
        "/v2/users",
        "/v1/users/1/verifications/1",
        "/v1//users",
        "/users",
    ] {
        let resp = app.get(path, Some(&admin)).await;
        assert_eq!(resp.status, 404, "{path}: {}", resp.short());
        resp.expect_error(404, "not_found", None);
    }
    let cases = [
        (Method::PATCH, "/v1/users", "GET, POST"),
        (Method::DELETE, "/v1/users", "GET, POST"),
        (Method::PUT, "/v1/verifications", "GET, POST"),
        (Method::GET, "/v1/auth/login", "POST"),
        (Method::DELETE, "/v1/auth/login", "POST"),
        (Method::POST, "/v1/users/1", "GET, PUT, DELETE"),
        (Method::PATCH, "/v1/verifications/1", "GET, PUT, DELETE"),
        (Method::POST, "/v1/users/1/verifications", "GET"),
        (Method::POST, "/v1/health", "GET"),
    ];
    for (method, path, allow) in cases {
        let resp = app
            .request(
                method.clone(),
                path,
                Some(&admin),
                Some("application/json"),
                Some(b"{}".to_vec()),
            )
            .await;
        assert_eq!(resp.status, 405, "{method} {path}: {}", resp.short());
        resp.expect_error(405, "method_not_allowed", None);
        let mut given: Vec<&str> = resp
            .header("allow")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .collect();
        let mut wanted: Vec<&str> = allow.split(", ").collect();
        given.sort_unstable();
        wanted.sort_unstable();
        assert_eq!(given, wanted, "{method} {path}: Allow");
    }
}

/// Malformed JSON is 400 even when the part before the error is an incomplete object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_garbage_is_malformed_even_after_an_incomplete_object() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let cases = [
        (
            Method::POST,
            "/v1/users",
            r#"{"email":"a@example.com"} trailing"#,
        ),
        (Method::POST, "/v1/users", r#"{"email":"a@example.com"}}"#),
        (Method::POST, "/v1/users", "{} {}"),
        (Method::POST, "/v1/users", r#"{"a":1,}"#),
        (
            Method::POST,
            "/v1/auth/login",
            r#"{"email":"a@example.com"} x"#,
        ),
        (Method::POST, "/v1/verifications", r#"{"email":"#),
        (
            Method::POST,
            "/v1/verifications",
            r#"{"user_id":1} trailing"#,
        ),
        (Method::PUT, "/v1/verifications/1", r#"{"note":"x"}}"#),
    ];
    for (method, path, body) in cases {
        let resp = app
            .send_text(method.clone(), path, Some(&admin), body)
            .await;
        assert_eq!(
            resp.status,
            400,
            "{method} {path} {body:?}: {}",
            resp.short()
        );
        resp.expect_error(400, "invalid_json", None);
    }
}

/// One HTTP/1.1 exchange on a raw connection: status, lower-cased headers.
async fn read_response(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
) -> std::io::Result<(u16, Vec<(String, String)>)> {
    use tokio::io::AsyncReadExt;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed before a response",
            ));
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed inside a response",
            ));
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    Ok((status, headers))
}

/// A client on a slow uplink gets an error before it has sent its whole body (the server may
/// answer early). If the server then drops the connection it must say `Connection: close`;
/// otherwise the client finishes sending and its next request on the connection must work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_error_says_connection_close_or_keeps_the_connection_usable() {
    use tokio::io::AsyncWriteExt;
    const LIMIT: usize = 200_000;
    let app = TestApp::spawn_with(|c| c.max_body_bytes = LIMIT as u64).await;
    let admin = app.admin_token().await;
    let user = app.new_user("ann").await;
    let control = case_body("body_control_valid.json", user.id, None);
    let oversized = format!("{control}{}", " ".repeat(LIMIT));
    let address = app.base.trim_start_matches("http://").to_string();
    let cases = [
        // The control: the body is read before the 401, and the connection stays usable.
        (
            "POST",
            "/v1/verifications",
            "not-a-token",
            "application/json",
            &control,
            401,
        ),
        (
            "POST",
            "/v1/verifications",
            admin.as_str(),
            "text/plain",
            &control,
            415,
        ),
        (
            "POST",
            "/v1/verifications",
            admin.as_str(),
            "application/json",
            &oversized,
            413,
        ),
        (
            "POST",
            "/v1/nothing",
            admin.as_str(),
            "application/json",
            &control,
            404,
        ),
        (
            "PATCH",
            "/v1/verifications",
            admin.as_str(),
            "application/json",
            &control,
            405,
        ),
    ];
    let mut failures = Vec::new();
    for (method, path, token, content_type, body, status) in cases {
        let stream = tokio::net::TcpStream::connect(&address)
            .await
            .expect("a connection");
        let (mut reader, mut writer) = stream.into_split();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        writer
            .write_all(head.as_bytes())
            .await
            .expect("the head is sent");
        writer
            .write_all(&body.as_bytes()[..1000])
            .await
            .expect("the start of the body is sent");
        // The rest of the body follows the early response, or after a while if there is none
        // (a server that reads the whole body first answers then).
        let (answered, wait) = tokio::sync::oneshot::channel::<()>();
        let rest = body.as_bytes()[1000..].to_vec();
        let sender = tokio::spawn(async move {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), wait).await;
            writer.write_all(&rest).await.map(|()| writer)
        });
        let response = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            read_response(&mut reader),
        )
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no response"));
        let _ = answered.send(());
        let (got, headers) = response.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert_eq!(got, status, "{method} {path}");
        if headers
            .iter()
            .any(|(k, v)| k == "connection" && v.eq_ignore_ascii_case("close"))
        {
            continue;
        }
        // Keep-alive was not refused: the connection must take the next request.
        let reuse = async {
            let mut writer = sender.await.expect("the sender ran")?;
            writer
                .write_all(format!("GET /v1/health HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes())
                .await?;
            read_response(&mut reader).await
        };
        match tokio::time::timeout(std::time::Duration::from_secs(60), reuse).await {
            Ok(Ok((200, _))) => {}
            other => failures.push(format!(
                "{method} {path} ({status}) without `Connection: close`, then: {other:?}"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A body must be a JSON object: serde's derived structs also accept arrays of the field values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_array_is_not_an_object() {
    let app = TestApp::spawn().await;
    let register = json!(["arr@example.com", "Password-123", "Array User"]);
    let resp = app.post_json("/v1/users", None, &register).await;
    resp.expect_error(422, "invalid_type", Some("body"));
    let login = json!([ADMIN_EMAIL, ADMIN_PASSWORD]);
    let resp = app.post_json("/v1/auth/login", None, &login).await;
    resp.expect_error(422, "invalid_type", Some("body"));
    let resp = app
        .send_text(Method::POST, "/v1/users", None, "[1,2]")
        .await;
    resp.expect_error(422, "invalid_type", Some("body"));
    // Malformed, whatever it starts with.
    let resp = app.send_text(Method::POST, "/v1/users", None, "[1,").await;
    resp.expect_error(400, "invalid_json", None);
}

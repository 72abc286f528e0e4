//! Login and access tokens: the login response, 401s with their challenge, and the JWT attacks
//! of cases 10–12 (regenerated with the test secret and the product's claim names), case 14.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use idv_tests::{fixture, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET, TOKEN_TTL_SECS};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// A token with exactly this header and these claims, signed with `key` by `alg`.
fn forge(header: &Value, claims: &Value, key: &[u8], alg: Algorithm) -> String {
    let input = format!("{}.{}", segment(header), segment(claims));
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), &EncodingKey::from_secret(key), alg)
            .expect("HMAC signing works");
    format!("{input}.{signature}")
}

fn segment(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn hs256_header() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

/// Claims of a valid admin token for `admin_id`.
fn admin_claims(admin_id: i64) -> Value {
    json!({"sub": admin_id.to_string(), "role": "admin", "iat": now(), "exp": now() + 3600})
}

/// The id of the administrator, from the user list.
async fn admin_id(app: &TestApp, token: &str) -> i64 {
    let resp = app.get("/v1/users", Some(token)).await;
    let users = resp.expect(200)["data"].as_array().expect("a list").clone();
    let admin = users
        .iter()
        .find(|u| u["email"] == ADMIN_EMAIL)
        .expect("the admin is listed");
    assert_eq!(admin["role"], "admin");
    admin["id"].as_i64().expect("an id")
}

/// Asserts that `token` is refused on `GET /v1/users` as an invalid credential.
async fn assert_refused(app: &TestApp, name: &str, token: &str) {
    let resp = app.get("/v1/users", Some(token)).await;
    assert_eq!(resp.status, 401, "{name}: {}", resp.short());
    resp.expect_error(401, "unauthorized", None);
    let challenge = resp
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("{name}: no WWW-Authenticate"));
    assert!(challenge.starts_with("Bearer "), "{name}: {challenge}");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{name}: {challenge}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_returns_a_bearer_token_that_works() {
    let app = TestApp::spawn().await;
    let resp = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let body = resp.expect(200);
    let keys: Vec<&String> = body.as_object().expect("an object").keys().collect();
    assert_eq!(keys.len(), 3, "{}", resp.short());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], TOKEN_TTL_SECS);
    let token = body["access_token"].as_str().expect("a string");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS compact token: {token}");
    let decode = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
    };
    assert_eq!(decode(parts[0])["alg"], "HS256");
    let claims = decode(parts[1]);
    let id = admin_id(&app, token).await;
    assert_eq!(claims["sub"], id.to_string());
    assert_eq!(claims["role"], "admin");
    let (iat, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert_eq!(exp - iat, TOKEN_TTL_SECS as i64, "{claims}");
    assert!((iat - now()).abs() < 300, "{claims}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_email_are_refused_alike() {
    let app = TestApp::spawn().await;
    let wrong = app.login(ADMIN_EMAIL, "Not-The-Password-1").await;
    wrong.expect_error(401, "invalid_credentials", None);
    let unknown = app.login("nobody@example.com", ADMIN_PASSWORD).await;
    unknown.expect_error(401, "invalid_credentials", None);
    assert_eq!(
        wrong.body, unknown.body,
        "an unknown address must not be told apart"
    );
    // Still works afterwards.
    app.admin_token().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_malformed_authorization_is_401_with_a_challenge() {
    let app = TestApp::spawn().await;
    for path in [
        "/v1/users",
        "/v1/verifications",
        "/v1/users/1",
        "/v1/users/1/verifications",
    ] {
        let resp = app.get(path, None).await;
        resp.expect_error(401, "unauthorized", None);
        let challenge = resp
            .header("www-authenticate")
            .unwrap_or_else(|| panic!("{path}: no WWW-Authenticate"));
        assert!(challenge.starts_with("Bearer"), "{path}: {challenge}");
        assert!(
            !challenge.contains("error="),
            "no credential is not an invalid one: {challenge}"
        );
    }
    let token = app.admin_token().await;
    for header in [
        format!("Basic {token}"),
        "Bearer".to_string(),
        "Bearer    ".to_string(),
        token.clone(),
    ] {
        let resp = app.get_with_authorization("/v1/users", &header).await;
        assert_eq!(
            resp.status,
            401,
            "Authorization: {header:?}: {}",
            resp.short()
        );
        resp.expect_error(401, "unauthorized", None);
    }
}

/// case-10: the six `alg: none` tokens of the case file, and the same forms re-made with the
/// real administrator's id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alg_none_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let tokens: Vec<String> = fixture("case10_jwt_alg_none.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    assert_eq!(tokens.len(), 6, "case-10 has six tokens");
    for (i, token) in tokens.iter().enumerate() {
        assert_refused(&app, &format!("case-10 token {i}"), token).await;
    }

    let admin = app.admin_token().await;
    let claims = admin_claims(admin_id(&app, &admin).await);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let input = format!(
            "{}.{}",
            segment(&json!({"alg": alg, "typ": "JWT"})),
            segment(&claims)
        );
        assert_refused(
            &app,
            &format!("alg {alg} with trailing dot"),
            &format!("{input}."),
        )
        .await;
        assert_refused(&app, &format!("alg {alg} without signature part"), &input).await;
        // A leftover valid HS256 signature of exactly this input.
        let signature = jsonwebtoken::crypto::sign(
            input.as_bytes(),
            &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
            Algorithm::HS256,
        )
        .expect("signing works");
        assert_refused(
            &app,
            &format!("alg {alg} with a valid HS256 signature"),
            &format!("{input}.{signature}"),
        )
        .await;
    }
    // The administrator's own token still works.
    app.get("/v1/users", Some(&admin)).await.expect(200);
}

/// case-11 and case-12, regenerated with the test secret; the valid control must pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_mistyped_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = admin_id(&app, &admin).await;
    let secret = JWT_SECRET.as_bytes();
    let sub = id.to_string();
    let t = now();

    let control = forge(&hs256_header(), &admin_claims(id), secret, Algorithm::HS256);
    let resp = app.get("/v1/users", Some(&control)).await;
    resp.expect(200);

    let pem = fixture("case11_test_rsa_public.pem");
    let pem_trimmed = pem.trim_end().to_string();
    let mut refused = vec![
        (
            "no exp",
            forge(
                &hs256_header(),
                &json!({"sub": sub, "role": "admin", "iat": t}),
                secret,
                Algorithm::HS256,
            ),
        ),
        (
            "exp 1 h past",
            forge(
                &hs256_header(),
                &json!({"sub": sub, "role": "admin", "iat": t - 7200, "exp": t - 3600}),
                secret,
                Algorithm::HS256,
            ),
        ),
        (
            "exp as a string",
            forge(
                &hs256_header(),
                &json!({"sub": sub, "role": "admin", "iat": t, "exp": (t + 3600).to_string()}),
                secret,
                Algorithm::HS256,
            ),
        ),
        (
            "HS512 header, HS512 signature with the secret",
            forge(
                &json!({"alg": "HS512", "typ": "JWT"}),
                &admin_claims(id),
                secret,
                Algorithm::HS512,
            ),
        ),
        (
            "RS256 header, HS256 signature with the secret",
            forge(
                &json!({"alg": "RS256", "typ": "JWT"}),
                &admin_claims(id),
                secret,
                Algorithm::HS256,
            ),
        ),
        (
            "HS256 keyed with the RSA public key (with newline)",
            forge(
                &hs256_header(),
                &admin_claims(id),
                pem.as_bytes(),
                Algorithm::HS256,
            ),
        ),
        (
            "HS256 keyed with the RSA public key (without newline)",
            forge(
                &hs256_header(),
                &admin_claims(id),
                pem_trimmed.as_bytes(),
                Algorithm::HS256,
            ),
        ),
        (
            "signed with another secret",
            forge(
                &hs256_header(),
                &admin_claims(id),
                b"another-secret-of-at-least-32-bytes!!",
                Algorithm::HS256,
            ),
        ),
        (
            "subject that does not exist",
            forge(
                &hs256_header(),
                &json!({"sub": "999999", "role": "admin", "iat": t, "exp": t + 3600}),
                secret,
                Algorithm::HS256,
            ),
        ),
        (
            "subject as in the case files (a UUID)",
            forge(
                &hs256_header(),
                &json!({"sub": "00000000-0000-4000-8000-000000000001", "role": "admin", "iat": t, "exp": t + 3600}),
                secret,
                Algorithm::HS256,
            ),
        ),
    ];
    // The control's header and claims with its signature changed in the middle.
    let (input, signature) = control.rsplit_once('.').expect("three parts");
    let mut bad = signature.chars().collect::<Vec<_>>();
    bad[10] = if bad[10] == 'A' { 'B' } else { 'A' };
    refused.push((
        "bad signature",
        format!("{input}.{}", bad.into_iter().collect::<String>()),
    ));
    // A user's token whose role was changed to admin, keeping the user's signature.
    let user = app.new_user("mallory").await;
    let (_, payload_and_sig) = user.token.split_once('.').expect("three parts");
    let (_, user_signature) = payload_and_sig.split_once('.').expect("three parts");
    let elevated = json!({"sub": user.id.to_string(), "role": "admin", "iat": t, "exp": t + 3600});
    refused.push((
        "user token with role changed to admin",
        format!(
            "{}.{}.{user_signature}",
            segment(&hs256_header()),
            segment(&elevated)
        ),
    ));
    // The case-11/12 files as shipped (signed with another secret, UUID subjects).
    for name in [
        "case11_jwt_alg_confusion_hs256_pubkey.txt",
        "case12_jwt_no_exp.txt",
        "case12_jwt_expired_1h.txt",
        "case12_jwt_exp_string.txt",
        "case12_jwt_valid_control.txt",
    ] {
        for token in fixture(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            refused.push(("as shipped in the case files", token.to_string()));
        }
    }

    for (name, token) in &refused {
        assert_refused(&app, name, token).await;
    }
    // A role in the token is not trusted: a user's own valid token does not make them admin.
    app.get("/v1/users", Some(&user.token))
        .await
        .expect_error(403, "forbidden", None);
    // The control still works after all of that.
    app.get("/v1/users", Some(&control)).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_of_a_deleted_user_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("leaving").await;
    let path = format!("/v1/users/{}", user.id);
    app.get(&path, Some(&user.token)).await.expect(200);
    app.delete(&path, Some(&admin)).await.expect(200);
    let resp = app.get(&path, Some(&user.token)).await;
    resp.expect_error(401, "unauthorized", None);
    let challenge = resp.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    app.get("/v1/verifications", Some(&user.token))
        .await
        .expect_error(401, "unauthorized", None);
}

/// case-14: registered with an NFC password, logged in with the same text in NFD.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_in_nfd_logs_in_to_an_account_made_with_nfc() {
    let app = TestApp::spawn().await;
    let create: Value =
        serde_json::from_str(&fixture("case14_body_user_password_nfc.json")).expect("JSON");
    let login: Value =
        serde_json::from_str(&fixture("case14_body_login_password_nfd.json")).expect("JSON");
    assert_eq!(create["email"], login["email"]);
    assert_ne!(
        create["password"], login["password"],
        "the files differ in normal form"
    );

    let resp = app.post_json("/v1/users", None, &create).await;
    let id = resp.expect(201)["id"].as_i64().expect("an id");
    let resp = app.post_json("/v1/auth/login", None, &login).await;
    let body = resp.expect(200);
    assert_eq!(body["token_type"], "Bearer");
    let token = body["access_token"].as_str().expect("a token");
    app.get(&format!("/v1/users/{id}"), Some(token))
        .await
        .expect(200);
    // And the NFC form itself still works.
    let nfc = json!({"email": create["email"], "password": create["password"]});
    app.post_json("/v1/auth/login", None, &nfc)
        .await
        .expect(200);
}

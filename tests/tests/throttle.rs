//! Login throttling: 5 failures for one account or 20 from one address lock login out with a
//! 429 and `Retry-After`; other accounts are unaffected by an account's lock; the lock is
//! logged. (The window is 15 minutes; no test waits for it.)

use idv_tests::{Resp, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD};

/// The throttle window of the README, in seconds.
const WINDOW_SECS: u64 = 15 * 60;

/// Asserts a 429 with a JSON error and `Retry-After` in whole seconds within the window.
#[track_caller]
fn assert_throttled(resp: &Resp, what: &str) -> u64 {
    assert_eq!(resp.status, 429, "{what}: {}", resp.short());
    resp.expect_error(429, "too_many_attempts", None);
    let retry_after = resp
        .header("retry-after")
        .unwrap_or_else(|| panic!("{what}: no Retry-After: {:?}", resp.headers));
    let seconds: u64 = retry_after
        .parse()
        .unwrap_or_else(|_| panic!("{what}: Retry-After {retry_after:?} is not whole seconds"));
    assert!(
        (1..=WINDOW_SECS).contains(&seconds),
        "{what}: Retry-After {seconds}"
    );
    assert!(resp.body.get("access_token").is_none());
    seconds
}

/// `login_throttled` entries of the log, asserting that they name no one.
async fn throttled_entries(app: &TestApp, admin: &str) -> usize {
    let (entries, raw) = app.all_logs(admin, "").await;
    assert!(!raw.contains('@'), "the log names an address: {raw}");
    let throttled: Vec<_> = entries
        .iter()
        .filter(|e| e["event"] == "login_throttled")
        .collect();
    for entry in &throttled {
        assert_eq!(entry["level"], "warn", "{entry}");
    }
    throttled.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_failures_lock_an_account_even_against_the_right_password() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let ann = app.new_user("ann").await;
    let bob = app.new_user("bob").await;
    assert_eq!(throttled_entries(&app, &admin).await, 0);

    // Five failures, under spellings of the address that name the same account.
    for email in [
        "ann@example.com",
        "ANN@example.com",
        " ann@example.com ",
        "Ann@Example.Com",
        "ann@example.com",
    ] {
        let resp = app.login(email, "Wrong-Password-1").await;
        assert_eq!(resp.status, 401, "{email:?}: {}", resp.short());
        resp.expect_error(401, "invalid_credentials", None);
    }
    let first = app.login(&ann.email, &ann.password).await;
    let retry_after = assert_throttled(&first, "the right password");
    println!("Retry-After: {retry_after}");
    assert_throttled(&app.login(&ann.email, "Wrong-Password-1").await, "wrong");
    assert_throttled(
        &app.login("ANN@EXAMPLE.COM", &ann.password).await,
        "another spelling",
    );

    // Other accounts from the same client still log in; the locked one stays locked.
    app.login(&bob.email, &bob.password).await.expect(200);
    app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await.expect(200);
    assert_throttled(&app.login(&ann.email, &ann.password).await, "still");
    // A token issued before the lock still works: the lock is on logging in.
    app.get(&format!("/v1/users/{}", ann.id), Some(&ann.token))
        .await
        .expect(200);

    // An unknown account locks alike, so a lock does not tell that an account exists.
    for _ in 0..5 {
        app.login("ghost@example.com", "Wrong-Password-1")
            .await
            .expect_error(401, "invalid_credentials", None);
    }
    let ghost = app.login("ghost@example.com", "Wrong-Password-1").await;
    assert_throttled(&ghost, "an unknown account");
    assert_eq!(ghost.body, first.body);

    assert_eq!(
        throttled_entries(&app, &admin).await,
        5,
        "every refused attempt is logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_failures_from_one_address_lock_every_account() {
    let app = TestApp::spawn().await;
    // Taken before the address is locked.
    let admin = app.admin_token().await;
    let ann = app.new_user("ann").await;
    for i in 1..=20 {
        let email = format!("unknown-{i}@example.com");
        let resp = app.login(&email, "Wrong-Password-1").await;
        assert_eq!(resp.status, 401, "attempt {i}: {}", resp.short());
        resp.expect_error(401, "invalid_credentials", None);
    }
    assert_throttled(
        &app.login("unknown-21@example.com", "Wrong-Password-1")
            .await,
        "the 21st",
    );
    assert_throttled(
        &app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await,
        "the administrator with the right password",
    );
    assert_throttled(
        &app.login(&ann.email, &ann.password).await,
        "a user with the right password",
    );
    // Existing tokens keep working.
    app.get("/v1/users", Some(&admin)).await.expect(200);
    assert_eq!(throttled_entries(&app, &admin).await, 3);
}

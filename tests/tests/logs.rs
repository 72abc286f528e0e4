//! The system log: date ranges with dates and offsets (case 20), the level filter, pagination,
//! what is recorded, that no secret or personal detail is, and who may read it.

use std::time::{Duration, Instant};

use idv_tests::{
    parse_api_time, query_value, rfc3339, unix_now, utc_date, verification_body, Resp, TestApp,
    ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET,
};
use reqwest::Method;
use serde_json::{json, Value};

/// Asserts the shape of a log entry.
#[track_caller]
fn assert_entry(entry: &Value) {
    let mut keys: Vec<&str> = entry
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {entry}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["event", "id", "level", "message", "timestamp", "user_id"],
        "{entry}"
    );
    assert!(entry["id"].as_i64().is_some_and(|id| id > 0), "{entry}");
    parse_api_time(entry["timestamp"].as_str().expect("a timestamp"));
    assert!(
        ["info", "warn", "error"].contains(&entry["level"].as_str().unwrap_or_default()),
        "{entry}"
    );
    assert!(entry["event"].as_str().is_some_and(|e| !e.is_empty()));
    assert!(entry["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(entry["user_id"].is_null() || entry["user_id"].as_i64().is_some());
}

/// The ids of the entries of one `GET /v1/logs?<query>` page (per_page=100).
async fn ids(app: &TestApp, admin: &str, query: &str) -> Vec<i64> {
    let path = format!("/v1/logs?{query}&per_page=100");
    let resp = app.get(&path, Some(admin)).await;
    let body = resp.expect(200);
    let data = body["data"].as_array().expect("a list");
    assert!(
        body["meta"]["total_pages"].as_u64() <= Some(1),
        "{query}: more than one page"
    );
    data.iter()
        .map(|e| {
            assert_entry(e);
            e["id"].as_i64().expect("an id")
        })
        .collect()
}

/// The last entry with `event`, failing when there is none.
#[track_caller]
fn last_of<'a>(entries: &'a [Value], event: &str) -> &'a Value {
    entries
        .iter()
        .rev()
        .find(|e| e["event"] == event)
        .unwrap_or_else(|| panic!("no {event} entry in {entries:?}"))
}

/// Polls the log until every one of `events` is there; returns all entries and the raw texts.
async fn wait_for_events(app: &TestApp, admin: &str, events: &[&str]) -> (Vec<Value>, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (entries, raw) = app.all_logs(admin, "").await;
        let missing: Vec<&&str> = events
            .iter()
            .filter(|event| !entries.iter().any(|e| e["event"] == **event))
            .collect();
        if missing.is_empty() {
            return (entries, raw);
        }
        assert!(
            Instant::now() < deadline,
            "the log has no {missing:?}: {entries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// case-20: a date-only range covers the whole UTC day; offsets are honoured; `to` before
/// `from`, a bad date and an unknown level are 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_ranges_cover_whole_days_and_honour_offsets() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.login(ADMIN_EMAIL, "Not-The-Password-1")
        .await
        .expect_error(401, "invalid_credentials", None);
    let (entries, _) = app.all_logs(&admin, "").await;
    let failed = last_of(&entries, "login_failed").clone();
    assert_entry(&failed);
    assert_eq!(failed["level"], "warn", "{failed}");
    let id = failed["id"].as_i64().expect("an id");
    let at = parse_api_time(failed["timestamp"].as_str().expect("a timestamp"));

    // The day of the entry (today, UTC, unless midnight passed in between).
    let day = utc_date(at);
    assert!(
        [utc_date(unix_now()), utc_date(unix_now() - 120)].contains(&day),
        "the entry is of today: {failed}"
    );
    let yesterday = utc_date(at - 86_400);
    let tomorrow = utc_date(at + 86_400);
    let included = |query: String| {
        let app = &app;
        let admin = &admin;
        async move { ids(app, admin, &query).await.contains(&id) }
    };
    assert!(included(format!("from={day}&to={day}")).await);
    assert!(included(format!("to={day}")).await);
    assert!(included(format!("from={day}")).await);
    assert!(included(format!("from={yesterday}&to={tomorrow}")).await);
    assert!(!included(format!("from={tomorrow}")).await);
    assert!(!included(format!("to={yesterday}")).await);
    assert!(!included(format!("from={yesterday}&to={yesterday}")).await);

    // Instants with offsets: the entry happened within the second `at` (whole seconds shown).
    let from = |secs: i64, offset: i32| format!("from={}", query_value(&rfc3339(secs, offset)));
    let to = |secs: i64, offset: i32| format!("to={}", query_value(&rfc3339(secs, offset)));
    for offset in [0, 120, -120, 330, -570] {
        assert!(
            included(from(at, offset)).await,
            "from {}",
            rfc3339(at, offset)
        );
        assert!(
            !included(from(at + 1, offset)).await,
            "from {}",
            rfc3339(at + 1, offset)
        );
        assert!(
            included(to(at + 1, offset)).await,
            "to {}",
            rfc3339(at + 1, offset)
        );
        assert!(
            !included(to(at - 1, offset)).await,
            "to {}",
            rfc3339(at - 1, offset)
        );
        assert!(
            included(format!("{}&{}", from(at, offset), to(at + 1, 0))).await,
            "from {} to {}",
            rfc3339(at, offset),
            rfc3339(at + 1, 0)
        );
    }
    // The same instant written in two offsets is one range of one second.
    assert!(included(format!("{}&{}", from(at, 120), to(at + 1, -120))).await);

    // to before from, bad dates, unknown levels, repeated parameters: 400 naming the parameter.
    let bad = [
        (format!("from={day}&to={yesterday}"), "to"),
        (format!("{}&{}", from(at, 0), to(at - 1, 0)), "to"),
        // Written later in local time, but a minute earlier as an instant.
        (format!("{}&{}", from(at, 0), to(at - 60, 120)), "to"),
        ("level=verbose".to_string(), "level"),
        ("level=".to_string(), "level"),
        ("level=warning".to_string(), "level"),
        ("from=2026-13-01".to_string(), "from"),
        ("from=2026-02-30".to_string(), "from"),
        ("from=yesterday".to_string(), "from"),
        ("from=".to_string(), "from"),
        ("to=2026-12-04T25:00:00Z".to_string(), "to"),
        ("to=04.12.2026".to_string(), "to"),
        (format!("from={day}&from={day}"), "from"),
    ];
    for (query, field) in bad {
        let resp = app.get(&format!("/v1/logs?{query}"), Some(&admin)).await;
        assert_eq!(resp.status, 400, "{query}: {}", resp.short());
        resp.expect_error(400, "invalid_parameter", Some(field));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_level_filter_returns_only_that_level() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.new_user("ann").await;
    app.login("ann@example.com", "wrong-password-1").await;
    app.login("nobody@example.com", "wrong-password-1").await;
    let (all, _) = app.all_logs(&admin, "").await;
    for level in ["info", "warn", "error"] {
        let (entries, _) = app.all_logs(&admin, &format!("level={level}")).await;
        for entry in &entries {
            assert_entry(entry);
            assert_eq!(entry["level"], level, "{entry}");
        }
        let expected: Vec<&Value> = all.iter().filter(|e| e["level"] == level).collect();
        assert_eq!(
            entries.iter().collect::<Vec<_>>(),
            expected,
            "level={level}"
        );
    }
    let (warn, _) = app.all_logs(&admin, "level=warn").await;
    // The page counts are those of the filtered entries.
    let resp = app
        .get("/v1/logs?level=warn&per_page=1", Some(&admin))
        .await;
    let warn_count = warn.len() as u64;
    assert_eq!(
        resp.expect(200)["meta"],
        json!({"current_page": 1, "per_page": 1, "total_pages": warn_count, "total_count": warn_count})
    );
    let tomorrow = utc_date(unix_now() + 86_400);
    let resp = app
        .get(&format!("/v1/logs?from={tomorrow}"), Some(&admin))
        .await;
    assert_eq!(
        resp.expect(200),
        &json!({"data": [], "meta": {"current_page": 1, "per_page": 10, "total_pages": 0, "total_count": 0}})
    );
    let failures = warn.iter().filter(|e| e["event"] == "login_failed").count();
    assert_eq!(failures, 2, "{warn:?}");
    let (info, _) = app.all_logs(&admin, "level=info").await;
    assert!(info.iter().any(|e| e["event"] == "server_started"));
    assert!(info.iter().all(|e| e["event"] != "login_failed"));
    // The level combines with a range.
    let day = utc_date(unix_now());
    let (today, _) = app
        .all_logs(&admin, &format!("level=warn&from={day}&to={day}"))
        .await;
    assert!(today.iter().all(|e| e["level"] == "warn"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_pages_oldest_first_like_every_list() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for name in ["ann", "bob", "cid", "dot"] {
        app.new_user(name).await;
    }
    app.login("ann@example.com", "wrong-password-1").await;
    let (all, _) = app.all_logs(&admin, "").await;
    let total = all.len() as u64;
    assert!(
        total >= 7,
        "start, 5 registrations, a failed login: {all:?}"
    );
    let all_ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().expect("id")).collect();
    assert!(all_ids.windows(2).all(|w| w[0] < w[1]), "{all_ids:?}");
    let times: Vec<i64> = all
        .iter()
        .map(|e| parse_api_time(e["timestamp"].as_str().expect("a timestamp")))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    // The administrator is created at start, then the start is recorded.
    assert_eq!(
        (&all[0]["event"], &all[1]["event"]),
        (&json!("user_registered"), &json!("server_started")),
        "{all:?}"
    );

    let resp = app.get("/v1/logs", Some(&admin)).await;
    let body = resp.expect(200);
    assert_eq!(
        body["meta"],
        json!({"current_page": 1, "per_page": 10, "total_pages": total.div_ceil(10), "total_count": total})
    );
    let total_pages = total.div_ceil(3);
    let mut paged = Vec::new();
    for page in 1..=total_pages {
        let resp = app
            .get(&format!("/v1/logs?page={page}&per_page=3"), Some(&admin))
            .await;
        let body = resp.expect(200);
        assert_eq!(
            body["meta"],
            json!({"current_page": page, "per_page": 3, "total_pages": total_pages, "total_count": total})
        );
        let data = body["data"].as_array().expect("a list");
        let expected_len = if page < total_pages {
            3
        } else {
            total - 3 * (total_pages - 1)
        };
        assert_eq!(data.len() as u64, expected_len, "page {page}");
        paged.extend(data.iter().cloned());
    }
    assert_eq!(paged, all);
    let past = total_pages + 1;
    let resp = app
        .get(&format!("/v1/logs?page={past}&per_page=3"), Some(&admin))
        .await;
    assert_eq!(
        resp.expect(200),
        &json!({"data": [], "meta": {"current_page": past, "per_page": 3, "total_pages": total_pages, "total_count": total}})
    );
    for (query, field) in [
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("page=0", "page"),
        ("page=abc", "page"),
    ] {
        let resp = app.get(&format!("/v1/logs?{query}"), Some(&admin)).await;
        assert_eq!(resp.status, 400, "{query}: {}", resp.short());
        resp.expect_error(400, "invalid_parameter", Some(field));
    }
}

/// What the service did is recorded, by id only: no address, password, token, key, name or
/// image reaches the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_record_what_happened_without_secrets() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let full_name = "Zebulon Quartermaine";
    let password = "Sekret-Passw0rd-Quux";
    let user = app
        .register("zeb.quartermaine@example.org", password, full_name)
        .await;
    let doomed = app.new_user("doomed-user").await;
    let approved = app
        .submit(
            &user.token,
            &verification_body(user.id, "id_card", "id_td1_valid_flat.png", "obama2.jpg"),
        )
        .await;
    let approved = approved.expect(201)["id"].as_i64().expect("an id");
    let rejected = app
        .submit(
            &admin,
            &verification_body(user.id, "id_card", "id_td1_valid_flat.png", "biden.jpg"),
        )
        .await;
    let rejected = rejected.expect(201)["id"].as_i64().expect("an id");
    let wrong_password = "Wrong-Passw0rd-Zork";
    let unknown_email = "ghost.account@example.net";
    app.login(&user.email, wrong_password)
        .await
        .expect_error(401, "invalid_credentials", None);
    app.login(unknown_email, wrong_password)
        .await
        .expect_error(401, "invalid_credentials", None);
    let (key_id, key) = app.create_api_key(&admin, "Log Test Key", &["admin"]).await;
    app.get("/v1/users", Some(&key)).await.expect(200);
    app.with_api_key_header(Method::GET, "/v1/users", &key, None)
        .await
        .expect(200);
    app.delete(&format!("/v1/api-keys/{key_id}"), Some(&admin))
        .await
        .expect(200);
    assert_eq!(
        app.wait_for_final(&admin, approved).await["status"],
        "approved"
    );
    assert_eq!(
        app.wait_for_final(&admin, rejected).await["status"],
        "rejected"
    );
    app.put_json(
        &format!("/v1/verifications/{rejected}"),
        Some(&admin),
        &json!({"status": "approved", "note": "checked by hand"}),
    )
    .await
    .expect(200);
    app.delete(&format!("/v1/users/{}", doomed.id), Some(&admin))
        .await
        .expect(200);

    let events = [
        "server_started",
        "user_registered",
        "user_deleted",
        "login_failed",
        "verification_submitted",
        "verification_approved",
        "verification_rejected",
        "verification_reviewed",
        "key_created",
        "key_revoked",
    ];
    let (entries, raw) = wait_for_events(&app, &admin, &events).await;
    for entry in &entries {
        assert_entry(entry);
        println!(
            "{} {:5} {:24} user {:>4} {}",
            entry["timestamp"].as_str().unwrap_or_default(),
            entry["level"].as_str().unwrap_or_default(),
            entry["event"].as_str().unwrap_or_default(),
            entry["user_id"],
            entry["message"].as_str().unwrap_or_default()
        );
    }
    // The entries name the right people and things.
    let about = |event: &str, user_id: Value| {
        entries
            .iter()
            .any(|e| e["event"] == event && e["user_id"] == user_id)
    };
    assert!(about("user_registered", json!(user.id)));
    assert!(about("user_registered", json!(doomed.id)));
    assert!(about("user_deleted", json!(doomed.id)));
    assert!(about("login_failed", json!(user.id)));
    assert!(about("login_failed", Value::Null), "the unknown account");
    assert!(about("verification_submitted", json!(user.id)));
    assert!(about("verification_approved", json!(user.id)));
    assert!(about("verification_rejected", json!(user.id)));
    assert!(about("verification_reviewed", json!(user.id)));
    let count = |event: &str| entries.iter().filter(|e| e["event"] == event).count();
    assert_eq!(count("server_started"), 1);
    assert_eq!(count("verification_submitted"), 2);
    assert_eq!(count("login_failed"), 2);
    assert_eq!(count("key_created"), 1);
    assert_eq!(count("key_revoked"), 1);
    assert_eq!(last_of(&entries, "login_failed")["level"], "warn");
    for event in ["key_created", "key_revoked"] {
        let message = last_of(&entries, event)["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains(&key_id.to_string()), "{event}: {message}");
    }

    // Nothing secret or personal, anywhere in the log.
    let secrets = [
        ADMIN_EMAIL,
        ADMIN_PASSWORD,
        user.email.as_str(),
        password,
        full_name,
        "Zebulon",
        "Quartermaine",
        doomed.email.as_str(),
        unknown_email,
        wrong_password,
        admin.as_str(),
        user.token.as_str(),
        doomed.token.as_str(),
        key.as_str(),
        &key[13..],
        JWT_SECRET,
        // Read from the card's machine-readable zone.
        "ERIKSSON",
        "D23145890",
        "1974-08-12",
        "740812",
    ];
    for secret in secrets {
        assert!(!raw.contains(secret), "the log contains {secret:?}");
    }
    assert!(!raw.contains('@'), "the log contains an address: {raw}");
    for entry in &entries {
        let message = entry["message"].as_str().unwrap_or_default();
        assert!(message.len() < 200, "a long message: {message}");
    }
}

/// Asserts a 401 with a `Bearer` challenge.
#[track_caller]
fn assert_unauthorized(resp: &Resp, what: &str) {
    assert_eq!(resp.status, 401, "{what}: {}", resp.short());
    resp.expect_error(401, "unauthorized", None);
    assert!(
        resp.header("www-authenticate")
            .is_some_and(|c| c.starts_with("Bearer")),
        "{what}: no challenge"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_administrators_read_the_log() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("ann").await;
    let (_, read_write) = app.create_api_key(&admin, "rw", &["read", "write"]).await;
    let (_, admin_key) = app.create_api_key(&admin, "root", &["admin"]).await;
    for query in ["", "?level=warn"] {
        let path = format!("/v1/logs{query}");
        let resp = app.get(&path, Some(&user.token)).await;
        assert_eq!(resp.status, 403, "{path}: {}", resp.short());
        resp.expect_error(403, "forbidden", None);
        let resp = app.get(&path, Some(&read_write)).await;
        assert_eq!(resp.status, 403, "{path}: {}", resp.short());
        resp.expect_error(403, "forbidden", None);
        assert_unauthorized(&app.get(&path, None).await, &path);
        assert_unauthorized(&app.get(&path, Some("garbage")).await, &path);
    }
    let resp = app.get("/v1/logs", Some(&admin_key)).await;
    assert!(resp.expect(200)["meta"]["total_count"].as_u64() >= Some(2));
}

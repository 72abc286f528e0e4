//! Restart: verifications accepted by an instance without workers are decided by the next
//! instance on the same data folder, and the generated JWT secret survives.

use idv_tests::{case_body, verification_body, TestApp};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_verifications_are_decided_after_a_restart() {
    // No configured secret: the server generates one and keeps it in the data folder.
    let first = TestApp::spawn_with(|c| {
        c.workers = 0;
        c.jwt_secret = None;
    })
    .await;
    let admin = first.admin_token().await;
    let user = first.new_user("ann").await;
    let bodies = [
        verification_body(user.id, "id_card", "id_td1_valid_flat.png", "obama2.jpg").to_string(),
        verification_body(user.id, "id_card", "id_td1_valid_flat.png", "biden.jpg").to_string(),
        case_body("body_control_valid.json", user.id, None),
    ];
    let mut ids = Vec::new();
    for body in &bodies {
        ids.push(first.submit_ok(&admin, body).await);
    }
    for id in &ids {
        let resp = first
            .get(&format!("/v1/verifications/{id}"), Some(&admin))
            .await;
        assert_eq!(
            resp.expect(200)["status"],
            "pending",
            "no worker runs on the first instance"
        );
    }
    assert!(
        first.data_dir().join("jwt-secret").is_file(),
        "the generated secret is kept"
    );
    let dir = first.shutdown().await;

    let second = TestApp::spawn_in(dir, |c| c.jwt_secret = None).await;
    // Tokens of the first run are still valid.
    let resp = second.get("/v1/users", Some(&admin)).await;
    assert_eq!(resp.expect(200)["meta"]["total_count"], 2);
    second
        .get(&format!("/v1/users/{}", user.id), Some(&user.token))
        .await
        .expect(200);

    let mut statuses = Vec::new();
    for id in &ids {
        let done = second.wait_for_final(&admin, *id).await;
        assert_ne!(done["result"], Value::Null, "{done}");
        statuses.push(done["status"].clone());
    }
    println!("after restart: {statuses:?}");
    assert_eq!(statuses[0], "approved");
    assert_eq!(statuses[1], "rejected");
    let resp = second
        .get("/v1/verifications?status=pending", Some(&admin))
        .await;
    assert_eq!(resp.expect(200)["meta"]["total_count"], 0);
}

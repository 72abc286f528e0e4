//! Manual review, deletion and visibility of verifications.

use idv_tests::{case_body, verification_body, TestApp};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_review_keeps_the_measured_scores_and_records_the_decision() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("joe").await;
    let resp = app
        .submit(
            &admin,
            &verification_body(user.id, "id_card", "id_td1_valid_flat.png", "biden.jpg"),
        )
        .await;
    let id = resp.expect(201)["id"].as_i64().expect("an id");
    let path = format!("/v1/verifications/{id}");
    let measured = app.wait_for_final(&admin, id).await;
    assert_eq!(measured["status"], "rejected", "{measured}");
    println!("before review: {}", measured["result"]);

    // Refused reviews change nothing.
    let refused = [
        (
            json!({"status": "approved", "result": {"face_match_score": 0.99}}),
            422,
            "read_only",
            Some("result"),
        ),
        (
            json!({"status": "pending"}),
            422,
            "invalid_status",
            Some("status"),
        ),
        (
            json!({"status": "processing"}),
            422,
            "invalid_status",
            Some("status"),
        ),
        (
            json!({"status": "bogus"}),
            422,
            "invalid_status",
            Some("status"),
        ),
        (
            json!({"status": "APPROVED"}),
            422,
            "invalid_status",
            Some("status"),
        ),
        (
            json!({"note": "no status"}),
            422,
            "required",
            Some("status"),
        ),
        (
            json!({"status": "approved", "note": "x".repeat(2001)}),
            422,
            "too_long",
            Some("note"),
        ),
    ];
    for (body, status, code, field) in refused {
        let resp = app.put_json(&path, Some(&admin), &body).await;
        assert_eq!(resp.status, status, "{body}: {}", resp.short());
        resp.expect_error(status, code, field);
    }
    let resp = app
        .put_json(
            &path,
            Some(&admin),
            &json!({"status": "approved", "reviewer_id": 1}),
        )
        .await;
    resp.expect_error(422, "unknown_field", Some("reviewer_id"));
    // A user may not review, not even their own verification.
    app.put_json(&path, Some(&user.token), &json!({"status": "approved"}))
        .await
        .expect_error(403, "forbidden", None);
    app.put_json(
        "/v1/verifications/999999",
        Some(&admin),
        &json!({"status": "approved"}),
    )
    .await
    .expect_error(404, "not_found", None);
    let unchanged = app.get(&path, Some(&admin)).await;
    assert_eq!(
        unchanged.expect(200),
        &measured,
        "refused reviews changed the verification"
    );

    let admin_id = admin_id(&app, &admin).await;
    let resp = app
        .put_json(
            &path,
            Some(&admin),
            &json!({"status": "approved", "note": "checked by hand"}),
        )
        .await;
    let reviewed = resp.expect(200).clone();
    println!("after review: {}", reviewed["result"]);
    assert_eq!(reviewed["id"], id);
    assert_eq!(reviewed["status"], "approved");
    let (before, after) = (&measured["result"], &reviewed["result"]);
    for key in [
        "face_match_score",
        "face_similarity",
        "liveness_score",
        "document_validity",
        "liveness_assessed",
        "document_checks",
        "faces_in_selfie",
        "faces_on_document",
    ] {
        assert_eq!(after[key], before[key], "{key} changed in the review");
    }
    assert_eq!(after["reasons"], json!(["face_mismatch", "manual_review"]));
    let decision = &after["manual_decision"];
    assert_eq!(decision["reviewer_id"], admin_id);
    assert_eq!(decision["note"], "checked by hand");
    assert_eq!(decision["previous_status"], "rejected");
    assert!(
        decision["decided_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') || t.contains('+')),
        "{decision}"
    );
    // The decision is stored and the user sees it.
    let resp = app.get(&path, Some(&user.token)).await;
    assert_eq!(resp.expect(200), &reviewed);
    // A second review records the status it replaces.
    let resp = app
        .put_json(&path, Some(&admin), &json!({"status": "rejected"}))
        .await;
    let again = resp.expect(200);
    assert_eq!(again["status"], "rejected");
    assert_eq!(
        again["result"]["manual_decision"]["previous_status"],
        "approved"
    );
    assert_eq!(again["result"]["manual_decision"]["note"], Value::Null);
    assert_eq!(
        again["result"]["face_match_score"],
        measured["result"]["face_match_score"]
    );
    assert_eq!(
        again["result"]["reasons"],
        json!(["face_mismatch", "manual_review"])
    );
}

async fn admin_id(app: &TestApp, admin: &str) -> i64 {
    let resp = app.get("/v1/users?per_page=100", Some(admin)).await;
    let users = resp.expect(200)["data"].as_array().expect("a list").clone();
    users
        .iter()
        .find(|u| u["role"] == "admin")
        .and_then(|u| u["id"].as_i64())
        .expect("the admin is listed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_verification_removes_it_and_its_images() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("ann").await;
    let other = app.new_user("bob").await;
    let body = case_body("body_control_valid.json", user.id, None);
    let (id, folder) = app.submit_with_folder(&admin, &body).await;
    let (kept, kept_folder) = app.submit_with_folder(&admin, &body).await;
    let path = format!("/v1/verifications/{id}");

    app.delete(&path, Some(&other.token))
        .await
        .expect_error(403, "forbidden", None);
    app.delete("/v1/verifications/999999", Some(&admin))
        .await
        .expect_error(404, "not_found", None);
    let resp = app.delete(&path, Some(&admin)).await;
    assert_eq!(
        resp.expect(200),
        &json!({"message": "Verification request deleted successfully"})
    );
    app.get(&path, Some(&admin))
        .await
        .expect_error(404, "not_found", None);
    app.delete(&path, Some(&admin))
        .await
        .expect_error(404, "not_found", None);
    app.put_json(&path, Some(&admin), &json!({"status": "approved"}))
        .await
        .expect_error(404, "not_found", None);
    assert!(
        !idv_tests::holds_a_file(&folder),
        "{} was not removed",
        folder.display()
    );

    // The other verification is untouched and still gets decided; its owner may delete it.
    assert!(kept_folder.is_dir());
    app.wait_for_final(&admin, kept).await;
    let resp = app
        .delete(&format!("/v1/verifications/{kept}"), Some(&user.token))
        .await;
    resp.expect(200);
    assert!(
        !idv_tests::holds_a_file(&kept_folder),
        "{} was not removed",
        kept_folder.display()
    );
    assert_eq!(app.verification_count(&admin).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_see_only_their_own_verifications() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let ann = app.new_user("ann").await;
    let bob = app.new_user("bob").await;
    let ann_ids = [
        app.submit_ok(&admin, &case_body("body_control_valid.json", ann.id, None))
            .await,
        app.submit_ok(
            &ann.token,
            &case_body("body_control_valid.json", ann.id, None),
        )
        .await,
    ];
    let bob_id = app
        .submit_ok(
            &bob.token,
            &case_body("body_control_valid.json", bob.id, None),
        )
        .await;

    let resp = app.get("/v1/verifications", Some(&ann.token)).await;
    let body = resp.expect(200);
    assert_eq!(
        body["meta"],
        json!({"current_page": 1, "per_page": 10, "total_pages": 1, "total_count": 2})
    );
    let ids: Vec<i64> = body["data"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v["id"].as_i64().expect("an id"))
        .collect();
    assert_eq!(ids, ann_ids);
    for item in body["data"].as_array().expect("a list") {
        assert_eq!(item["user_id"], ann.id);
        assert!(
            item.get("result").is_none(),
            "lists carry no results: {item}"
        );
    }
    let resp = app
        .get(
            &format!("/v1/users/{}/verifications", ann.id),
            Some(&ann.token),
        )
        .await;
    assert_eq!(resp.expect(200)["meta"]["total_count"], 2);

    app.get(
        &format!("/v1/users/{}/verifications", bob.id),
        Some(&ann.token),
    )
    .await
    .expect_error(403, "forbidden", None);
    app.get(&format!("/v1/verifications/{bob_id}"), Some(&ann.token))
        .await
        .expect_error(403, "forbidden", None);
    let resp = app.get("/v1/verifications", Some(&admin)).await;
    assert_eq!(resp.expect(200)["meta"]["total_count"], 3);
    let resp = app
        .get(&format!("/v1/users/{}/verifications", bob.id), Some(&admin))
        .await;
    let body = resp.expect(200);
    assert_eq!(body["meta"]["total_count"], 1);
    assert_eq!(body["data"][0]["id"], bob_id);
}

//! Verifications scored by the real models on real photos, and submissions that are refused.
//!
//! Run with `--nocapture` to see the measured scores.

use idv_tests::{verification_body, TestApp, TestUser};
use serde_json::{json, Value};

/// Submits `document` and `selfie` for `user` with `token`, checks the 201, waits for the
/// decision and returns the final verification.
async fn verify(
    app: &TestApp,
    token: &str,
    user: &TestUser,
    document_type: &str,
    document: &str,
    selfie: &str,
) -> Value {
    let body = verification_body(user.id, document_type, document, selfie);
    let resp = app.submit(token, &body).await;
    let created = resp.expect(201).clone();
    let id = created["id"].as_i64().expect("an id");
    assert_eq!(
        resp.header("location"),
        Some(format!("/v1/verifications/{id}").as_str())
    );
    assert_eq!(created["user_id"], user.id);
    assert_eq!(created["document_type"], document_type);
    assert_eq!(created["status"], "pending");
    assert_eq!(created["result"], Value::Null);
    assert!(
        created["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{created}"
    );

    let done = app.wait_for_final(token, id).await;
    let result = &done["result"];
    println!(
        "{document} vs {selfie}: status {}, face_match_score {}, face_similarity {}, reasons {}, faces selfie/document {}/{}",
        done["status"], result["face_match_score"], result["face_similarity"], result["reasons"],
        result["faces_in_selfie"], result["faces_on_document"]
    );
    assert_eq!(done["id"], id);
    assert_eq!(done["user_id"], user.id);
    // Liveness is not measured, and says so.
    assert_eq!(result["liveness_score"], Value::Null, "{done}");
    assert_eq!(result["liveness_assessed"], false, "{done}");
    // The user sees the same result as the administrator.
    let own = app
        .get(&format!("/v1/verifications/{id}"), Some(&user.token))
        .await;
    assert_eq!(own.expect(200), &done);
    done
}

fn score(done: &Value) -> f64 {
    done["result"]["face_match_score"]
        .as_f64()
        .unwrap_or_else(|| panic!("no face_match_score: {done}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_person_is_approved() {
    let app = TestApp::spawn().await;
    let user = app.new_user("barack").await;
    // Submitted by the user themself.
    let done = verify(
        &app,
        &user.token,
        &user,
        "passport",
        "obama.jpg",
        "obama2.jpg",
    )
    .await;
    assert_eq!(done["status"], "approved", "{done}");
    assert!(score(&done) > 0.8, "{done}");
    assert_eq!(done["result"]["reasons"], json!([]));
    assert_eq!(done["result"]["document_validity"], true);
    assert_eq!(done["result"]["faces_in_selfie"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_people_are_rejected_as_a_mismatch() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("barack").await;
    for selfie in ["biden.jpg", "astronaut.png"] {
        let done = verify(&app, &admin, &user, "passport", "obama.jpg", selfie).await;
        assert_eq!(done["status"], "rejected", "{selfie}: {done}");
        assert_eq!(
            done["result"]["reasons"],
            json!(["face_mismatch"]),
            "{selfie}: {done}"
        );
        assert!(score(&done) < 0.3, "{selfie}: {done}");
        assert_eq!(
            done["result"]["document_validity"], true,
            "{selfie}: {done}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_card_portrait_matches_its_holder() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("barack").await;
    let done = verify(
        &app,
        &admin,
        &user,
        "id_card",
        "id_td1_valid_flat.png",
        "obama2.jpg",
    )
    .await;
    assert_eq!(done["status"], "approved", "{done}");
    assert_eq!(done["document_type"], "id_card");
    assert!(score(&done) >= 0.55, "{done}");
    assert_eq!(done["result"]["document_validity"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selfie_without_a_face_is_rejected() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("nobody").await;
    let done = verify(&app, &admin, &user, "passport", "obama.jpg", "no_face.png").await;
    assert_eq!(done["status"], "rejected", "{done}");
    assert_eq!(
        done["result"]["reasons"],
        json!(["no_face_detected"]),
        "{done}"
    );
    assert_eq!(done["result"]["faces_in_selfie"], 0);
    assert_eq!(done["result"]["face_match_score"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_submissions_are_refused_and_store_nothing() {
    // No workers: only acceptance is under test.
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let ann = app.new_user("ann").await;
    let bob = app.new_user("bob").await;
    let good = verification_body(bob.id, "passport", "obama.jpg", "obama2.jpg");

    // A user may not submit for someone else.
    app.submit(&ann.token, &good)
        .await
        .expect_error(403, "forbidden", None);
    let mut unknown = good.clone();
    unknown["user_id"] = json!(999999);
    app.submit(&admin, &unknown)
        .await
        .expect_error(422, "unknown_user", Some("user_id"));
    for bad_id in [json!(0), json!(-1)] {
        let mut body = good.clone();
        body["user_id"] = bad_id;
        app.submit(&admin, &body)
            .await
            .expect_error(422, "invalid_id", Some("user_id"));
    }
    for document_type in ["drivers_licence", "PASSPORT", ""] {
        let mut body = good.clone();
        body["document_type"] = json!(document_type);
        app.submit(&admin, &body).await.expect_error(
            422,
            "invalid_document_type",
            Some("document_type"),
        );
    }
    for user_id in [
        json!(bob.id.to_string()),
        json!(1.5),
        json!(null),
        json!("00000000-0000-4000-8000-000000000001"),
    ] {
        let mut body = good.clone();
        body["user_id"] = user_id.clone();
        let resp = app.submit(&admin, &body).await;
        assert_eq!(resp.status, 422, "user_id {user_id}: {}", resp.short());
        resp.expect_error(422, "invalid_type", Some("user_id"));
    }
    let mut missing = good.clone();
    missing
        .as_object_mut()
        .expect("an object")
        .remove("selfie_image");
    app.submit(&admin, &missing)
        .await
        .expect_error(422, "required", Some("selfie_image"));
    let mut empty = good.clone();
    empty["document_front_image"] = json!("  ");
    app.submit(&admin, &empty)
        .await
        .expect_error(422, "required", Some("document_front_image"));

    // A bad optional back image is named too; the good images before it are not kept.
    let mut back = good.clone();
    back["document_back_image"] = json!("not*base64");
    app.submit(&admin, &back).await.expect_error(
        422,
        "invalid_base64",
        Some("document_back_image"),
    );
    back["document_back_image"] = json!(idv_tests::b64(b"GIF89a not accepted"));
    app.submit(&admin, &back).await.expect_error(
        422,
        "unsupported_image_type",
        Some("document_back_image"),
    );

    assert_eq!(app.verification_count(&admin).await, 0);
    assert!(app.blob_dirs().is_empty(), "no images were stored");
    // The owner and the administrator may submit.
    for token in [&bob.token, &admin] {
        let resp = app.submit(token, &good).await;
        assert_eq!(resp.expect(201)["status"], "pending");
    }
    assert_eq!(app.verification_count(&admin).await, 2);
}

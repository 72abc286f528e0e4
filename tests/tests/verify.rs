//! Verifications scored by the real models on real photos, and submissions that are refused.
//!
//! Run with `--nocapture` to see the measured scores.

use idv_adapters::onnx::passive::FaceRegion;
use idv_adapters::onnx::{OnnxConfig, OnnxScorer};
use idv_adapters::synth::attacks::{print_attack, screen_attack};
use idv_core::policy::LivenessMode;
use idv_tests::{b64, photo, verification_body, TestApp, TestUser};
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
    // Liveness is measured whenever the selfie has a face, and says how.
    if result["faces_in_selfie"] == 0 {
        assert_eq!(result["liveness_score"], Value::Null, "{done}");
        assert_eq!(result["liveness_assessed"], false, "{done}");
    } else {
        let liveness = result["liveness_score"].as_f64().expect("a liveness score");
        assert!((0.0..=1.0).contains(&liveness), "{done}");
        assert_eq!(result["liveness_assessed"], true, "{done}");
        assert_eq!(result["liveness"]["source"], "builtin", "{done}");
        assert!(result["liveness"]["signals"]
            .as_array()
            .is_some_and(|s| !s.is_empty()));
    }
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

/// The outcome of each document check, by name.
fn checks(done: &Value) -> Value {
    done["result"]["document_checks"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holder_of_a_valid_card_is_approved_and_its_zone_read() {
    let app = TestApp::spawn().await;
    let user = app.new_user("barack").await;
    // Submitted by the user themself.
    let done = verify(
        &app,
        &user.token,
        &user,
        "id_card",
        "id_td1_valid_flat.png",
        "obama2.jpg",
    )
    .await;
    assert_eq!(done["status"], "approved", "{done}");
    assert_eq!(done["document_type"], "id_card");
    assert!(score(&done) > 0.8, "{done}");
    let result = &done["result"];
    assert_eq!(result["reasons"], json!([]));
    assert_eq!(result["document_validity"], true);
    assert_eq!(result["faces_in_selfie"], 1);
    assert!(result["liveness_score"].as_f64().unwrap() >= 0.5, "{done}");
    let mut expected: serde_json::Map<String, Value> = [
        "decodes",
        "large_enough",
        "sharp_enough",
        "portrait_found",
        "mrz_found",
        "mrz_check_digits",
        "not_expired",
        "type_consistent",
    ]
    .into_iter()
    .map(|name| (name.to_owned(), json!("passed")))
    .collect();
    expected.insert("back_decodes".into(), json!("not_run"));
    assert_eq!(checks(&done), Value::Object(expected));
    // The parsed zone, for the caller who may read the verification.
    assert_eq!(
        result["document"],
        json!({
            "mrz_format": "td1",
            "side": "front",
            "document_code": "I",
            "issuing_state": "UTO",
            "document_number": "D23145890",
            "surname": "ERIKSSON",
            "given_names": "ANNA MARIA",
            "nationality": "UTO",
            "sex": "F",
            "birth_date": "1974-08-12",
            "expiry_date": "2034-04-15",
            "optional_data": "",
            "check_digits": [
                {"field": "document_number", "valid": true},
                {"field": "birth_date", "valid": true},
                {"field": "expiry_date", "valid": true},
                {"field": "composite", "valid": true},
            ],
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_people_are_rejected_as_a_mismatch() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("barack").await;
    for selfie in ["biden.jpg", "astronaut.png"] {
        let done = verify(
            &app,
            &admin,
            &user,
            "id_card",
            "id_td1_valid_flat.png",
            selfie,
        )
        .await;
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
async fn the_expired_specimen_card_is_rejected_as_expired() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("anna").await;
    let done = verify(
        &app,
        &admin,
        &user,
        "id_card",
        "id_td1_specimen_flat.png",
        "obama2.jpg",
    )
    .await;
    assert_eq!(done["status"], "rejected", "{done}");
    assert_eq!(done["result"]["reasons"], json!(["document_expired"]));
    assert_eq!(done["result"]["document_validity"], false);
    let checks = checks(&done);
    assert_eq!(checks["mrz_check_digits"], "passed", "{done}");
    assert_eq!(checks["not_expired"], "failed", "{done}");
    assert_eq!(done["result"]["document"]["expiry_date"], "2012-04-15");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_with_one_edited_digit_fails_its_check_digits() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("anna").await;
    let done = verify(
        &app,
        &admin,
        &user,
        "id_card",
        "id_td1_wrong_digit.png",
        "obama2.jpg",
    )
    .await;
    assert_eq!(done["status"], "rejected", "{done}");
    assert_eq!(done["result"]["reasons"], json!(["mrz_checksum_failed"]));
    assert_eq!(checks(&done)["mrz_check_digits"], "failed");
    let document = &done["result"]["document"];
    // Read as printed: the edited number, its check digit failing, the other checks holding.
    assert_eq!(document["document_number"], "D23145893");
    assert_eq!(
        document["check_digits"],
        json!([
            {"field": "document_number", "valid": false},
            {"field": "birth_date", "valid": true},
            {"field": "expiry_date", "valid": true},
            {"field": "composite", "valid": false},
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_sent_as_a_passport_is_a_type_mismatch() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("anna").await;
    let done = verify(
        &app,
        &admin,
        &user,
        "passport",
        "id_td1_valid_flat.png",
        "obama2.jpg",
    )
    .await;
    assert_eq!(done["status"], "rejected", "{done}");
    assert_eq!(done["result"]["reasons"], json!(["document_type_mismatch"]));
    assert_eq!(checks(&done)["type_consistent"], "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_without_a_readable_zone_are_not_called_valid() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("barack").await;
    // A passport must carry a zone: a plain photo has none, so a person must look.
    let done = verify(&app, &admin, &user, "passport", "obama.jpg", "obama2.jpg").await;
    assert_eq!(done["status"], "review", "{done}");
    assert_eq!(done["result"]["reasons"], json!(["document_unreadable"]));
    assert_eq!(done["result"]["document_validity"], false);
    assert_eq!(checks(&done)["mrz_found"], "failed");
    assert!(done["result"].get("document").is_none(), "{done}");
    assert!(score(&done) > 0.8, "the faces still match: {done}");
    // A driving licence has no zone to read: those checks did not run, which is not a pass.
    let done = verify(
        &app,
        &admin,
        &user,
        "driving_license",
        "obama.jpg",
        "obama2.jpg",
    )
    .await;
    assert_eq!(done["status"], "review", "{done}");
    assert_eq!(
        done["result"]["reasons"],
        json!(["document_checks_incomplete"])
    );
    assert_eq!(done["result"]["document_validity"], false);
    for check in [
        "mrz_found",
        "mrz_check_digits",
        "not_expired",
        "type_consistent",
    ] {
        assert_eq!(checks(&done)[check], "not_run", "{check}: {done}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selfie_without_a_face_is_rejected() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("nobody").await;
    let done = verify(
        &app,
        &admin,
        &user,
        "id_card",
        "id_td1_valid_flat.png",
        "no_face.png",
    )
    .await;
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
    let good = verification_body(bob.id, "id_card", "id_td1_valid_flat.png", "obama2.jpg");

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

/// Simulated recaptures of the holder's selfie (a halftone print and a screen photographed with
/// a phone, from `idv_adapters::synth::attacks`) score lower than the selfie itself; with
/// liveness required, the print is rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recaptured_selfies_score_lower_and_a_print_is_rejected() {
    let app = TestApp::spawn_with(|c| c.scoring.liveness = LivenessMode::Required).await;
    let admin = app.admin_token().await;
    let user = app.new_user("barack").await;
    let original = verify(
        &app,
        &admin,
        &user,
        "id_card",
        "id_td1_valid_flat.png",
        "obama2.jpg",
    )
    .await;
    assert_eq!(original["status"], "approved", "{original}");
    let live = original["result"]["liveness_score"].as_f64().unwrap();

    let scorer = OnnxScorer::load(OnnxConfig::default()).expect("models load");
    let selfie = scorer.decode(&photo("obama2.jpg")).expect("decodes");
    let face = FaceRegion::from(&scorer.detect_faces(&selfie).unwrap()[0]);
    let attacks = [
        ("print", print_attack(&selfie, face, 7)),
        ("screen", screen_attack(&selfie, face, 7)),
    ];
    for (kind, image) in attacks {
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let mut body = verification_body(user.id, "id_card", "id_td1_valid_flat.png", "obama2.jpg");
        body["selfie_image"] = json!(b64(&png));
        let resp = app.submit(&admin, &body).await;
        let id = resp.expect(201)["id"].as_i64().unwrap();
        let done = app.wait_for_final(&admin, id).await;
        let result = &done["result"];
        println!(
            "{kind} recapture of obama2.jpg: status {}, liveness_score {} (original {live}), signals {}",
            done["status"], result["liveness_score"], result["liveness"]["signals"]
        );
        assert_eq!(result["faces_in_selfie"], 1, "{kind}: {done}");
        let score = result["liveness_score"].as_f64().unwrap();
        assert!(score < live, "{kind}: {score} is not below {live}");
        if kind == "print" {
            assert_eq!(done["status"], "rejected", "{done}");
            assert_eq!(result["reasons"], json!(["liveness_failed"]), "{done}");
        }
    }
}

//! The image and body cases of `/work/shared/cases` (copied to `tests/fixtures/cases/`), with
//! their placeholder user ids replaced by real ones.

use idv_tests::{
    b64, case_body, encode_png, exif_orientation, photo, photo_b64, png_claiming, Pixels, PngKind,
    TestApp,
};
use serde_json::{json, Value};

/// Status and reasons of a decided verification.
fn outcome(done: &Value) -> (Value, Value) {
    (done["status"].clone(), done["result"]["reasons"].clone())
}

/// Asserts that a refused request stored nothing and that a valid one still works.
async fn assert_nothing_stored_and_still_works(
    app: &TestApp,
    admin: &str,
    user_id: i64,
    count_before: u64,
) {
    assert_eq!(
        app.verification_count(admin).await,
        count_before,
        "nothing was stored"
    );
    let folders = app.blob_dirs().len() as u64;
    assert_eq!(folders, count_before, "no image folder was left behind");
    app.assert_still_works(admin, user_id).await;
}

/// cases 01, 02, 05, 06: EXIF orientation, CMYK, 16-bit and grayscale end like the control.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusual_but_valid_images_end_like_the_control() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("lia").await;
    let files = [
        "body_control_valid.json",
        "case01_body_selfie_exif6.json",
        "case02_body_cmyk_front.json",
        "case05_body_rgb16_selfie.json",
        "case06_body_grayscale_selfie.json",
    ];
    let mut ids = Vec::new();
    for file in files {
        let resp = app
            .submit_text(&admin, &case_body(file, user.id, None))
            .await;
        assert_eq!(resp.status, 201, "{file}: {}", resp.short());
        assert_eq!(resp.body["status"], "pending", "{file}");
        ids.push(resp.body["id"].as_i64().expect("an id"));
    }
    let mut outcomes = Vec::new();
    for (file, id) in files.iter().zip(&ids) {
        let done = app.wait_for_final(&admin, *id).await;
        let result = &done["result"];
        println!(
            "{file}: status {}, reasons {}, face_match_score {}, faces selfie/document {}/{}, document_checks {}",
            done["status"], result["reasons"], result["face_match_score"], result["faces_in_selfie"],
            result["faces_on_document"], result["document_checks"]
        );
        outcomes.push((file, outcome(&done), done));
    }
    let (_, control, control_done) = &outcomes[0];
    assert!(
        control_done["result"]["reasons"]
            .as_array()
            .is_some_and(|r| !r.contains(&json!("processing_failed"))),
        "the control was processed: {control_done}"
    );
    for (file, outcome, done) in &outcomes[1..] {
        assert_eq!(outcome, control, "{file} ended unlike the control: {done}");
        assert_eq!(
            done["result"]["faces_in_selfie"], control_done["result"]["faces_in_selfie"],
            "{file}: faces in the selfie"
        );
        assert_eq!(
            done["result"]["document_checks"], control_done["result"]["document_checks"],
            "{file}: document checks"
        );
    }
}

/// The case files' selfie is a drawing that no detector finds, so the control above ends in
/// `no_face_detected` and cannot show a selfie variant losing its face. The same variants made
/// from a real selfie (as PNGs) must match the document like the original photo does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_selfie_variants_match_like_the_original() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user("barack").await;
    let original = photo("obama2.jpg");
    let pixels = Pixels::decode(&original);
    let stored = pixels.stored_for_orientation_6();
    let variants = [
        ("original JPEG", original.clone()),
        ("8-bit RGB PNG", encode_png(&pixels, PngKind::Rgb8, None)),
        (
            "EXIF orientation 6 PNG",
            encode_png(&stored, PngKind::Rgb8, Some(&exif_orientation(6))),
        ),
        ("16-bit RGB PNG", encode_png(&pixels, PngKind::Rgb16, None)),
        ("grayscale PNG", encode_png(&pixels, PngKind::Gray8, None)),
    ];
    let mut ids = Vec::new();
    for (name, bytes) in &variants {
        let body = json!({
            "user_id": user.id,
            "document_type": "id_card",
            "document_front_image": photo_b64("id_td1_valid_flat.png"),
            "selfie_image": b64(bytes),
        });
        let resp = app.submit(&admin, &body).await;
        assert_eq!(resp.status, 201, "{name}: {}", resp.short());
        ids.push(resp.body["id"].as_i64().expect("an id"));
    }
    for ((name, _), id) in variants.iter().zip(ids) {
        let done = app.wait_for_final(&admin, id).await;
        let result = &done["result"];
        println!(
            "ID card vs obama2 as {name}: status {}, face_match_score {}, face_similarity {}, reasons {}",
            done["status"], result["face_match_score"], result["face_similarity"], result["reasons"]
        );
        assert_eq!(done["status"], "approved", "{name}: {done}");
        assert_eq!(result["reasons"], json!([]), "{name}");
        assert_eq!(result["faces_in_selfie"], 1, "{name}");
        let score = result["face_match_score"].as_f64().unwrap_or_default();
        assert!(score > 0.8, "{name}: face_match_score {score}");
    }
    // The same sideways pixels without the tag are not a match: the tag is what makes it one.
    let body = json!({
        "user_id": user.id,
        "document_type": "id_card",
        "document_front_image": photo_b64("id_td1_valid_flat.png"),
        "selfie_image": b64(&encode_png(&stored, PngKind::Rgb8, None)),
    });
    let resp = app.submit(&admin, &body).await;
    let id = resp.expect(201)["id"].as_i64().expect("an id");
    let done = app.wait_for_final(&admin, id).await;
    println!(
        "ID card vs obama2 sideways without a tag: {} {}",
        done["status"], done["result"]["face_match_score"]
    );
    assert_ne!(done["status"], "approved", "{done}");
}

/// case-04: a truncated JPEG is refused before anything is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_selfie_is_corrupt_and_nothing_is_stored() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let user = app.new_user("lia").await;
    let resp = app
        .submit_text(
            &admin,
            &case_body("case04_body_truncated_selfie.json", user.id, None),
        )
        .await;
    resp.expect_error(422, "image_corrupt", Some("selfie_image"));
    assert_nothing_stored_and_still_works(&app, &admin, user.id, 0).await;
}

/// case-07: `data:` URLs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_url_prefixes_are_stripped_and_checked() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let user = app.new_user("lia").await;

    let (_, folder) = app
        .submit_with_folder(
            &admin,
            &case_body("case07_body_data_url_prefix.json", user.id, None),
        )
        .await;
    // The stored selfie is the bytes behind the prefix, unchanged.
    let body: Value = serde_json::from_str(&case_body(
        "case07_body_data_url_prefix.json",
        user.id,
        None,
    ))
    .expect("JSON");
    let payload = body["selfie_image"]
        .as_str()
        .expect("text")
        .strip_prefix("data:image/jpeg;base64,")
        .expect("a prefix");
    let stored = std::fs::read(folder.join("selfie_image")).expect("the stored selfie");
    assert_eq!(
        b64(&stored),
        payload,
        "the stored selfie differs from the submitted bytes"
    );

    let resp = app
        .submit_text(
            &admin,
            &case_body("case07_body_data_url_wrong_mime.json", user.id, None),
        )
        .await;
    resp.expect_error(422, "mime_mismatch", Some("selfie_image"));
    assert_nothing_stored_and_still_works(&app, &admin, user.id, 1).await;

    let resp = app
        .submit_text(
            &admin,
            &case_body("case07_body_data_url_not_image.json", user.id, None),
        )
        .await;
    resp.expect_error(422, "unsupported_image_type", Some("selfie_image"));
    assert_nothing_stored_and_still_works(&app, &admin, user.id, 2).await;
}

/// case-08: base64 wrapped in lines is accepted; a stray character is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrapped_base64_is_accepted_and_junk_is_refused() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let user = app.new_user("lia").await;
    let control: Value =
        serde_json::from_str(&case_body("body_control_valid.json", user.id, None)).expect("JSON");
    for file in [
        "case08_body_b64_lf_every_76.json",
        "case08_body_b64_crlf_every_76.json",
    ] {
        let text = case_body(file, user.id, None);
        let (_, folder) = app.submit_with_folder(&admin, &text).await;
        let stored = std::fs::read(folder.join("selfie_image")).expect("the stored selfie");
        assert_eq!(
            b64(&stored),
            control["selfie_image"],
            "{file}: the stored selfie differs from the control's"
        );
    }
    let resp = app
        .submit_text(
            &admin,
            &case_body("case08_body_b64_junk_char.json", user.id, None),
        )
        .await;
    resp.expect_error(422, "invalid_base64", Some("selfie_image"));
    assert_nothing_stored_and_still_works(&app, &admin, user.id, 2).await;
    // The URL-safe alphabet is not standard base64 either.
    let mut url_safe = control.clone();
    url_safe["selfie_image"] = json!(control["selfie_image"]
        .as_str()
        .expect("text")
        .replace('/', "_")
        .replace('+', "-"));
    app.submit(&admin, &url_safe)
        .await
        .expect_error(422, "invalid_base64", Some("selfie_image"));
    assert_nothing_stored_and_still_works(&app, &admin, user.id, 3).await;
}

/// case-16: duplicate keys and unknown keys are refused; nothing is stored for anyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_unknown_keys_are_refused() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let first = app.new_user("first").await;
    let second = app.new_user("second").await;

    let text = case_body(
        "case16_body_duplicate_user_id.json",
        first.id,
        Some(second.id),
    );
    let resp = app.submit_text(&admin, &text).await;
    resp.expect_error(422, "duplicate_field", Some("user_id"));
    for user in [&first, &second] {
        let resp = app
            .get(
                &format!("/v1/users/{}/verifications", user.id),
                Some(&admin),
            )
            .await;
        let body = resp.expect(200);
        assert_eq!(body["meta"]["total_count"], 0, "user {}", user.id);
        assert_eq!(body["data"], json!([]));
    }
    assert_nothing_stored_and_still_works(&app, &admin, first.id, 0).await;

    let text = case_body("case16_body_unknown_field.json", first.id, None);
    let resp = app.submit_text(&admin, &text).await;
    resp.expect_error(422, "unknown_field", Some("status"));
    assert_nothing_stored_and_still_works(&app, &admin, first.id, 1).await;
    let resp = app
        .get("/v1/verifications?status=approved", Some(&admin))
        .await;
    assert_eq!(
        resp.expect(200)["meta"]["total_count"],
        0,
        "nothing was approved by the client"
    );
}

/// A PNG whose header claims 50000×50000 pixels is refused from its header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_claiming_huge_dimensions_is_too_large() {
    let app = TestApp::spawn_with(|c| c.workers = 0).await;
    let admin = app.admin_token().await;
    let user = app.new_user("lia").await;
    let huge = b64(&png_claiming(50_000, 50_000));
    for field in ["selfie_image", "document_front_image"] {
        let mut body = json!({
            "user_id": user.id,
            "document_type": "id_card",
            "document_front_image": photo_b64("id_td1_valid_flat.png"),
            "selfie_image": photo_b64("obama2.jpg"),
        });
        body[field] = json!(huge);
        let resp = app.submit(&admin, &body).await;
        resp.expect_error(422, "image_too_large", Some(field));
        assert_nothing_stored_and_still_works(&app, &admin, user.id, 0).await;
        // Reset for the next field: remove the control verification again.
        let list = app.get("/v1/verifications", Some(&admin)).await;
        let id = list.expect(200)["data"][0]["id"].as_i64().expect("an id");
        app.delete(&format!("/v1/verifications/{id}"), Some(&admin))
            .await
            .expect(200);
    }
    // A small image of a normal size in the same form is accepted (the PNG writer is sound).
    let small = b64(&png_claiming(1, 1));
    let body = json!({
        "user_id": user.id,
        "document_type": "id_card",
        "document_front_image": photo_b64("id_td1_valid_flat.png"),
        "selfie_image": small,
    });
    let resp = app.submit(&admin, &body).await;
    assert_eq!(
        resp.status,
        201,
        "a 1×1 PNG built the same way is accepted: {}",
        resp.short()
    );
}

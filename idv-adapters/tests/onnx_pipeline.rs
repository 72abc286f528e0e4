//! End-to-end tests of the ONNX scorer: the real vendored models on the real photos in
//! `photos/`, asserting the measured similarities, face counts and image rejections.
//!
//! Run with `--nocapture` to see the measured cosines.

#![cfg(feature = "onnx")]

use std::sync::{Arc, OnceLock};

use idv_adapters::onnx::{OnnxConfig, OnnxError, OnnxScorer};
use idv_core::scoring::{Evidence, ImageRejection, ScoreError, ScoreInput, Scorer};

/// Genuine pairs measured 0.66–0.88 with the reference runtime; leave room below.
const SAME_PERSON_MIN: f32 = 0.5;
/// Impostor pairs measured at most 0.35 on public photos; OpenCV's SFace threshold is 0.363.
const DIFFERENT_PERSON_MAX: f32 = 0.3;

/// The models take seconds to load; every test shares one scorer.
fn scorer() -> &'static OnnxScorer {
    static SCORER: OnceLock<OnnxScorer> = OnceLock::new();
    SCORER.get_or_init(|| {
        let start = std::time::Instant::now();
        let scorer = OnnxScorer::load(OnnxConfig::default()).expect("models load");
        println!("models loaded in {:?}", start.elapsed());
        scorer
    })
}

fn photo(name: &str) -> Arc<[u8]> {
    let path = format!("{}/../photos/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .into()
}

fn input(document: &str, selfie: &str) -> ScoreInput {
    ScoreInput {
        document_front: photo(document),
        document_back: None,
        selfie: photo(selfie),
    }
}

fn analyse(document: &str, selfie: &str) -> Evidence {
    scorer()
        .analyse(&input(document, selfie))
        .unwrap_or_else(|e| panic!("{document} vs {selfie}: {e}"))
}

/// Measures the similarity of the largest faces of two photos and prints it.
fn cosine(document: &str, selfie: &str) -> f32 {
    let evidence = analyse(document, selfie);
    let cosine = evidence
        .face_similarity
        .unwrap_or_else(|| panic!("{document} vs {selfie}: no face in one of them"));
    println!("cosine {document} vs {selfie}: {cosine:.4}");
    cosine
}

#[test]
fn same_person_in_two_photos_matches() {
    let c = cosine("obama.jpg", "obama2.jpg");
    assert!((SAME_PERSON_MIN..=0.95).contains(&c), "cosine {c}");
}

#[test]
fn different_people_do_not_match() {
    for other in ["biden.jpg", "astronaut.png"] {
        let c = cosine("obama.jpg", other);
        assert!(c < DIFFERENT_PERSON_MAX, "obama vs {other}: cosine {c}");
    }
    let c = cosine("biden.jpg", "astronaut.png");
    assert!(c < DIFFERENT_PERSON_MAX, "biden vs astronaut: cosine {c}");
}

#[test]
fn id_card_portrait_matches_the_holder() {
    let evidence = analyse("id_td1_valid_flat.png", "obama2.jpg");
    let faces = &evidence.document_faces;
    println!("id card faces: {faces:?}");
    assert!(
        faces.len() >= 2,
        "portrait and ghost portrait, got {faces:?}"
    );
    // The main portrait occupies roughly x 40–270, y 80–375 of the 1012×638 card.
    let portrait = faces[0];
    let centre = (
        portrait.x + portrait.width / 2.0,
        portrait.y + portrait.height / 2.0,
    );
    assert!(
        (40.0..270.0).contains(&centre.0) && (80.0..375.0).contains(&centre.1),
        "{portrait:?}"
    );
    assert!(faces[1].area() < portrait.area() / 4.0, "{faces:?}");
    let c = evidence.face_similarity.expect("both have faces");
    println!("cosine id_td1_valid_flat.png vs obama2.jpg: {c:.4}");
    assert!(c >= SAME_PERSON_MIN, "cosine {c}");
}

#[test]
fn id_card_portrait_does_not_match_someone_else() {
    let c = cosine("id_td1_valid_flat.png", "biden.jpg");
    assert!(c < DIFFERENT_PERSON_MAX, "cosine {c}");
}

#[test]
fn selfie_has_exactly_one_face() {
    let evidence = analyse("obama.jpg", "obama2.jpg");
    assert_eq!(
        evidence.selfie_faces.len(),
        1,
        "{:?}",
        evidence.selfie_faces
    );
    assert_eq!(evidence.document_faces.len(), 1);
    let face = evidence.selfie_faces[0];
    assert!(face.confidence >= 0.6 && face.confidence <= 1.0);
    // The built-in liveness check ran on the selfie face.
    let liveness = evidence.liveness.expect("liveness assessed");
    assert!(liveness.score >= 0.5, "{liveness:?}");
    assert_eq!(liveness.signals.len(), 4);
    assert_eq!(evidence.document_back_decoded, None);
    assert_eq!(evidence.document_size.width, 910);
    assert_eq!(evidence.document_size.height, 1137);
}

#[test]
fn photo_without_a_face_has_no_faces_and_no_similarity() {
    let evidence = analyse("obama.jpg", "no_face.png");
    assert!(
        evidence.selfie_faces.is_empty(),
        "{:?}",
        evidence.selfie_faces
    );
    assert_eq!(evidence.face_similarity, None);
}

#[test]
fn timings_are_filled_in() {
    let t = analyse("obama.jpg", "obama2.jpg").timings;
    for (step, d) in [
        ("decode", t.decode),
        ("detect", t.detect),
        ("align", t.align),
        ("embed", t.embed),
    ] {
        assert!(!d.is_zero(), "{step} took no time");
    }
}

#[test]
fn document_back_only_needs_to_decode() {
    let mut with_back = input("obama.jpg", "obama2.jpg");
    with_back.document_back = Some(photo("id_td1_specimen_flat.png"));
    let evidence = scorer().analyse(&with_back).unwrap();
    assert_eq!(evidence.document_back_decoded, Some(true));

    with_back.document_back = Some(photo("cases/case04_selfie_truncated.jpg"));
    assert_eq!(
        scorer().analyse(&with_back),
        Err(ScoreError::Image {
            field: "document_back_image",
            rejection: ImageRejection::Corrupt
        })
    );
}

/// `obama2.jpg` stored sideways (rotated 90° anticlockwise) as a phone does, with an EXIF
/// Orientation tag of 6 telling viewers to turn it clockwise; `tag: false` leaves the tag out.
fn sideways_selfie(tag: bool) -> Vec<u8> {
    let upright = image::load_from_memory(&photo("obama2.jpg")).unwrap();
    let mut jpeg = Vec::new();
    upright
        .rotate270()
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    if tag {
        // APP1 "Exif", big-endian TIFF header, one IFD entry: Orientation (0x0112) SHORT = 6.
        let app1: [u8; 36] = [
            0xFF, 0xE1, 0x00, 0x22, b'E', b'x', b'i', b'f', 0, 0, b'M', b'M', 0x00, 0x2A, 0, 0, 0,
            8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0,
        ];
        jpeg.splice(2..2, app1);
    }
    jpeg
}

#[test]
fn exif_rotated_selfie_is_scored_upright() {
    let mut rotated = input("obama.jpg", "obama2.jpg");
    rotated.selfie = sideways_selfie(true).into();
    let evidence = scorer().analyse(&rotated).unwrap();
    assert_eq!(
        evidence.selfie_faces.len(),
        1,
        "{:?}",
        evidence.selfie_faces
    );
    let c = evidence.face_similarity.unwrap();
    println!("cosine obama.jpg vs obama2.jpg (sideways, EXIF 6): {c:.4}");
    assert!(c >= SAME_PERSON_MIN, "cosine {c}");
    let info = scorer().check(&sideways_selfie(true)).unwrap();
    assert_eq!((info.width, info.height), (626, 1200));
    // Without the tag the same pixels are a sideways face and must not be turned.
    let info = scorer().check(&sideways_selfie(false)).unwrap();
    assert_eq!((info.width, info.height), (1200, 626));
}

#[test]
fn cmyk_document_is_read_like_its_rgb_control() {
    let rgb = scorer().decode(&photo("cases/document_front.jpg")).unwrap();
    let cmyk = scorer()
        .decode(&photo("cases/case02_document_front_cmyk.jpg"))
        .unwrap();
    let rgb_faces = scorer().detect_faces(&rgb).unwrap();
    let cmyk_faces = scorer().detect_faces(&cmyk).unwrap();
    assert_eq!((rgb_faces.len(), cmyk_faces.len()), (1, 1));
    let (a, b) = (rgb_faces[0], cmyk_faces[0]);
    assert!(
        (a.x - b.x).abs() < 3.0 && (a.y - b.y).abs() < 3.0,
        "{a:?} vs {b:?}"
    );
    assert!((a.width - b.width).abs() < 3.0, "{a:?} vs {b:?}");
}

#[test]
fn rotated_grayscale_and_deep_selfies_are_scored() {
    // The drawn face in these files need not be detected; they must decode, upright.
    for name in [
        "cases/case01_selfie_exif_orientation6.jpg",
        "cases/case05_selfie_rgb16.png",
        "cases/case06_selfie_grayscale.jpg",
    ] {
        let info = scorer().check(&photo(name)).unwrap();
        assert_eq!((info.width, info.height), (480, 600), "{name}");
        scorer().analyse(&input("obama.jpg", name)).unwrap();
    }
    let cmyk = scorer().check(&photo("cases/case02_document_front_cmyk.jpg"));
    assert_eq!(cmyk.map(|i| (i.width, i.height)), Ok((856, 540)));
}

#[test]
fn truncated_selfie_is_corrupt() {
    let result = scorer().analyse(&input("obama.jpg", "cases/case04_selfie_truncated.jpg"));
    assert_eq!(
        result,
        Err(ScoreError::Image {
            field: "selfie_image",
            rejection: ImageRejection::Corrupt
        })
    );
}

/// A well-formed PNG whose header claims 50 000 × 50 000 pixels (7.5 GB decoded) but whose
/// data is a few bytes: the shape of a decompression bomb.
fn huge_png() -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut png, b"IHDR", &ihdr);
    // An empty zlib stream.
    png_chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut png, b"IEND", &[]);
    png
}

fn png_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    png.extend_from_slice(&body);
    png.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// CRC-32 (IEEE) as PNG chunks need it; bitwise is fast enough for a few bytes.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// A real JPEG with its frame header patched to claim 60 000 × 60 000 pixels.
fn huge_jpeg() -> Vec<u8> {
    let mut jpeg = photo("cases/selfie_upright.jpg").to_vec();
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline frame header");
    // FF C0, length (2), precision (1), then height and width (2 each).
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]);
    jpeg
}

#[test]
fn oversized_header_is_refused_before_decoding() {
    assert_eq!(
        scorer().check(&huge_png()),
        Err(ImageRejection::TooManyPixels {
            pixels: 2_500_000_000,
            limit: 40_000_000
        })
    );
    assert_eq!(
        scorer().check(&huge_jpeg()),
        Err(ImageRejection::TooManyPixels {
            pixels: 3_600_000_000,
            limit: 40_000_000
        })
    );
    let mut oversized = input("obama.jpg", "obama2.jpg");
    oversized.document_front = huge_png().into();
    assert!(matches!(
        scorer().analyse(&oversized),
        Err(ScoreError::Image {
            field: "document_front_image",
            rejection: ImageRejection::TooManyPixels { .. }
        })
    ));
}

#[test]
fn header_without_data_is_corrupt() {
    // The decoder cannot even finish reading the header of a file cut after IHDR.
    let png = huge_png();
    assert_eq!(scorer().check(&png[..33]), Err(ImageRejection::Corrupt));
}

#[test]
fn non_images_are_unsupported() {
    for bytes in [
        &b"%PDF-1.7\n"[..],
        b"<html></html>",
        b"GIF89a\x01\x00\x01\x00",
    ] {
        assert_eq!(scorer().check(bytes), Err(ImageRejection::UnsupportedType));
    }
    let mut not_image = input("obama.jpg", "obama2.jpg");
    not_image.selfie = Arc::from(&b"hello"[..]);
    assert_eq!(
        scorer().analyse(&not_image),
        Err(ScoreError::Image {
            field: "selfie_image",
            rejection: ImageRejection::UnsupportedType
        })
    );
}

#[tokio::test]
async fn async_port_runs_on_the_blocking_pool() {
    let scorer: Arc<dyn Scorer> = Arc::new(scorer().clone());
    let info = scorer.check_image(photo("obama2.jpg")).await.unwrap();
    assert_eq!((info.width, info.height), (626, 1200));
    let evidence = scorer
        .score(
            input("obama.jpg", "obama2.jpg"),
            std::sync::Arc::new(|_| {}),
        )
        .await
        .unwrap();
    assert!(evidence.face_similarity.unwrap() > SAME_PERSON_MIN);
}

#[test]
fn missing_model_names_the_file_and_the_fix() {
    let config = OnnxConfig {
        model_dir: "/nonexistent/models".into(),
        ..OnnxConfig::default()
    };
    let error = OnnxScorer::load(config).unwrap_err();
    assert!(matches!(error, OnnxError::ModelMissing { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("/nonexistent/models/face_detection_yunet_2023mar.onnx"));
    assert!(message.contains("models/") && message.contains("IDV_MODEL_DIR"));
}

#[test]
fn altered_model_is_refused() {
    let dir = std::env::temp_dir().join(format!("idv-onnx-altered-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let original = format!(
        "{}/../models/face_detection_yunet_2023mar.onnx",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut bytes = std::fs::read(original).unwrap();
    bytes.push(0);
    std::fs::write(dir.join("face_detection_yunet_2023mar.onnx"), bytes).unwrap();
    let config = OnnxConfig {
        model_dir: dir.clone(),
        ..OnnxConfig::default()
    };
    let error = OnnxScorer::load(config).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    let OnnxError::ModelAltered {
        expected, found, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        *expected,
        "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
    );
    assert_ne!(found, expected);
    assert!(error.to_string().contains("altered"));
}

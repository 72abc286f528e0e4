//! An operator's anti-spoofing model, configured as the README says: loaded next to the built-in
//! check, or refused at start-up with the setting at fault.
//!
//! The model is `idv-adapters/tests/fixtures/colour_liveness.onnx`, a two-logit network made by
//! `scripts/make-test-liveness-model.py` whose "live" probability follows the red and blue means
//! of its input; it stands in for a real anti-spoofing model, which cannot ship here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use idv_core::scoring::{LivenessSource, ScoreInput};
use idv_server::app::load_scorer;
use idv_server::config::ScoringConfig;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn scoring(model: Option<PathBuf>, profile: Option<PathBuf>) -> ScoringConfig {
    ScoringConfig {
        model_dir: None,
        max_image_pixels: 40_000_000,
        max_image_bytes: 10 * 1024 * 1024,
        match_threshold: 0.5,
        match_review_margin: 0.05,
        liveness: idv_core::policy::LivenessMode::Review,
        liveness_threshold: 0.5,
        builtin_liveness: true,
        liveness_model: model,
        liveness_model_profile: profile,
        min_document_side: 300,
    }
}

/// A folder for profile files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("idv-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PROFILE: &str = r#"{"input_size": [64, 64], "crop_scale": 1.5, "channel_order": "rgb",
    "scale": 1.0, "mean": [0, 0, 0], "std": [1, 1, 1], "live_index": 1,
    "activation": "softmax"}"#;

#[test]
fn a_configured_model_scores_beside_the_builtin_check() {
    let scratch = Scratch::new("liveness-model");
    let profile = scratch.write("profile.json", PROFILE);
    let model = repo("idv-adapters/tests/fixtures/colour_liveness.onnx");
    let scorer = load_scorer(&scoring(Some(model), Some(profile))).expect("the model loads");
    let read = |name: &str| -> Arc<[u8]> { std::fs::read(repo(name)).unwrap().into() };
    let evidence = scorer
        .analyse(&ScoreInput {
            document_front: read("photos/id_td1_valid_flat.png"),
            document_back: None,
            selfie: read("photos/obama2.jpg"),
        })
        .unwrap();
    let liveness = evidence.liveness.expect("liveness assessed");
    assert_eq!(liveness.source, LivenessSource::BuiltinAndModel);
    let (builtin, model) = (
        liveness.builtin_score.unwrap(),
        liveness.model_score.unwrap(),
    );
    assert!((0.0..=1.0).contains(&model), "{model}");
    assert_eq!(liveness.score, builtin.min(model));
    assert!(!liveness.signals.is_empty());
}

#[test]
fn a_model_that_cannot_be_used_stops_start_up_naming_the_setting() {
    let scratch = Scratch::new("liveness-model-bad");
    let model = repo("idv-adapters/tests/fixtures/colour_liveness.onnx");
    let profile = scratch.write("profile.json", PROFILE);
    let setting = |config: ScoringConfig| load_scorer(&config).expect_err("refused").setting;

    assert_eq!(
        setting(scoring(Some(model.clone()), None)),
        "IDV_LIVENESS_MODEL_PROFILE"
    );
    assert_eq!(
        setting(scoring(None, Some(profile.clone()))),
        "IDV_LIVENESS_MODEL"
    );
    let broken = scratch.write("broken.json", r#"{"input_size": [64, 64]"#);
    assert_eq!(
        setting(scoring(Some(model.clone()), Some(broken))),
        "IDV_LIVENESS_MODEL_PROFILE"
    );
    let outside = scratch.write(
        "outside.json",
        &PROFILE.replace("\"live_index\": 1", "\"live_index\": 5"),
    );
    assert_eq!(
        setting(scoring(Some(model.clone()), Some(outside))),
        "IDV_LIVENESS_MODEL"
    );
    let pinned = scratch.write(
        "pinned.json",
        &PROFILE.replace(
            "\"softmax\"",
            &format!("\"softmax\", \"sha256\": \"{}\"", "ab".repeat(32)),
        ),
    );
    assert_eq!(
        setting(scoring(Some(model), Some(pinned))),
        "IDV_LIVENESS_MODEL"
    );
    let not_onnx = scratch.write("model.onnx", "not a model");
    assert_eq!(
        setting(scoring(Some(not_onnx), Some(profile.clone()))),
        "IDV_LIVENESS_MODEL"
    );
    assert_eq!(
        setting(scoring(Some(scratch.0.join("missing.onnx")), Some(profile))),
        "IDV_LIVENESS_MODEL"
    );
}

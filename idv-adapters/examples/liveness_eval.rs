//! Measures the passive liveness check on the repository photos and simulated attacks.
//!
//! `cargo run --release -p idv-adapters --example liveness_eval -- [K] [SEED] [--dump]`
//!
//! For each subject photo: the original, K bona fide variants and K print, screen and card
//! attacks. Sample seeds are `SEED * 100_000 + subject * 1_000 + kind * 100 + k` (K < 100), so
//! seed base 10 (used for calibration) never overlaps bases 1–9. `--dump` prints one CSV line per
//! image with every signal.

use std::time::Instant;

use idv_adapters::onnx::passive::{assess, FaceRegion, LivenessReading, THRESHOLD};
use idv_adapters::onnx::{OnnxConfig, OnnxScorer};
use idv_adapters::synth::attacks::{bona_fide_variant, card_attack, print_attack, screen_attack};
use image::RgbImage;

const PHOTOS: [&str; 8] = [
    concat!(env!("CARGO_MANIFEST_DIR"), "/../photos/obama.jpg"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/../photos/obama2.jpg"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/../photos/biden.jpg"),
    concat!(env!("CARGO_MANIFEST_DIR"), "/../photos/astronaut.png"),
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../photos/cases/selfie_upright.jpg"
    ),
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../photos/cases/case01_selfie_exif_orientation6.jpg"
    ),
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../photos/cases/case06_selfie_grayscale.jpg"
    ),
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../photos/cases/case05_selfie_rgb16.png"
    ),
];
const CARD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../photos/id_td1_valid_flat.png"
);
const KINDS: [&str; 5] = ["original", "bona_fide", "print", "screen", "card"];

#[derive(Default)]
struct Tally {
    scores: Vec<f32>,
    no_face: usize,
    ms: Vec<f64>,
}

fn face_of(scorer: &OnnxScorer, img: &RgbImage) -> Option<FaceRegion> {
    let faces = scorer.detect_faces(img).expect("detector runs");
    faces.first().map(|f| FaceRegion {
        x: f.x,
        y: f.y,
        width: f.width,
        height: f.height,
    })
}

fn centred_box(img: &RgbImage) -> FaceRegion {
    let (w, h) = (img.width() as f32, img.height() as f32);
    FaceRegion {
        x: 0.25 * w,
        y: 0.2 * h,
        width: 0.5 * w,
        height: 0.5 * h,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dump = args.iter().any(|a| a == "--dump");
    let nums: Vec<u64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let k = nums.first().copied().unwrap_or(10).min(99);
    let base = nums.get(1).copied().unwrap_or(1);
    let scorer = OnnxScorer::load(OnnxConfig {
        ..OnnxConfig::default()
    })
    .expect("models load");
    let card = scorer
        .decode(&std::fs::read(CARD).expect("card readable"))
        .expect("card decodes");
    let mut tallies: Vec<Tally> = KINDS.iter().map(|_| Tally::default()).collect();
    if dump {
        println!("kind,subject,seed,score,periodic,periodic_stat,border,border_stat,colour,colour_stat,sharpness,sharpness_stat");
    }
    let mut record =
        |kind: usize, subject: usize, seed: u64, img: &RgbImage, face: Option<FaceRegion>| {
            let t = &mut tallies[kind];
            let Some(face) = face else {
                t.no_face += 1;
                return;
            };
            let start = Instant::now();
            let r: LivenessReading = assess(img, face);
            t.ms.push(start.elapsed().as_secs_f64() * 1e3);
            t.scores.push(r.score);
            if dump {
                let s = r.signals;
                println!(
                    "{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.1},{:.3},{:.3}",
                    KINDS[kind],
                    subject,
                    seed,
                    r.score,
                    s.periodic.score,
                    s.periodic.statistic,
                    s.border.score,
                    s.border.statistic,
                    s.colour.score,
                    s.colour.statistic,
                    s.sharpness.score,
                    s.sharpness.statistic
                );
            }
        };
    for (subject, path) in PHOTOS.iter().enumerate() {
        let photo = scorer
            .decode(&std::fs::read(path).expect("photo readable"))
            .expect("photo decodes");
        // The drawn selfies in cases/ have no detectable face: assess them (and attack them)
        // with a centred box, as the project would have no box to give.
        let face = face_of(&scorer, &photo).unwrap_or_else(|| {
            eprintln!("no face detected in {path}; using a centred box");
            centred_box(&photo)
        });
        record(0, subject, 0, &photo, Some(face));
        for i in 0..k {
            let seed_of = |kind: u64| base * 100_000 + subject as u64 * 1_000 + kind * 100 + i;
            let s = seed_of(1);
            let img = bona_fide_variant(&photo, s);
            record(1, subject, s, &img, face_of(&scorer, &img));
            let s = seed_of(2);
            let img = print_attack(&photo, face, s);
            record(2, subject, s, &img, face_of(&scorer, &img));
            let s = seed_of(3);
            let img = screen_attack(&photo, face, s);
            record(3, subject, s, &img, face_of(&scorer, &img));
            let s = seed_of(4);
            let img = card_attack(&card, s);
            record(4, subject, s, &img, face_of(&scorer, &img));
        }
    }
    println!("threshold {THRESHOLD}, K = {k}, seed base {base}");
    println!(
        "{:<10} {:>5} {:>8} {:>13} {:>7} {:>7} {:>7} {:>8}",
        "kind", "n", "no_face", "error", "min", "median", "max", "ms/img"
    );
    for (kind, t) in tallies.iter_mut().enumerate() {
        t.scores.sort_by(f32::total_cmp);
        let n = t.scores.len();
        let (label, errors) = if kind <= 1 {
            ("BPCER", t.scores.iter().filter(|&&s| s < THRESHOLD).count())
        } else {
            (
                "APCER",
                t.scores.iter().filter(|&&s| s >= THRESHOLD).count(),
            )
        };
        let pick = |q: f32| {
            t.scores
                .get(((n.max(1) - 1) as f32 * q) as usize)
                .copied()
                .unwrap_or(f32::NAN)
        };
        let ms = t.ms.iter().sum::<f64>() / t.ms.len().max(1) as f64;
        println!(
            "{:<10} {:>5} {:>8} {:>5} {:>3}/{:<3} {:>7.3} {:>7.3} {:>7.3} {:>8.2}",
            KINDS[kind],
            n,
            t.no_face,
            label,
            errors,
            n,
            pick(0.0),
            pick(0.5),
            pick(1.0),
            ms
        );
    }
}

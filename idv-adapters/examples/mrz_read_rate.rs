//! Read rate of idv's MRZ reader on synthetic cards.
//!
//! ```text
//! cargo run --release -p idv-adapters --features synth --example mrz_read_rate -- \
//!     [N] [SEED] [--save DIR] [--rot DEG] [--height LO-HI]
//! ```
//!
//! Defaults: 300 cards, seed 1, rotation ±5°, MRZ cap height 16–40 px. It prints the share of
//! cards read exactly, misread (and whether a misread still passed every check digit, the
//! dangerous case), and not found, broken down by distortion. Failing cards are written to DIR
//! as PNG when `--save` is given. The data on the cards is fictional.

use std::time::Instant;

use idv_adapters::onnx::mrz_reader::{MrzReader, OCRB_FONT};
use idv_adapters::onnx::MRZ_SURE_MARGIN as UNSURE_MARGIN;
use idv_adapters::synth::cards::{generate, CardSpec};
use idv_core::mrz::{parse, MrzFormat};

#[derive(Default, Clone, Copy)]
struct Tally {
    total: usize,
    exact: usize,
    misread: usize,
    misread_valid: usize,
    misread_valid_sure: usize,
    exact_unsure: usize,
    not_found: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        self.total += 1;
        match outcome {
            Outcome::Exact { sure } => {
                self.exact += 1;
                if !sure {
                    self.exact_unsure += 1;
                }
            }
            Outcome::Misread { checks_pass, sure } => {
                self.misread += 1;
                if checks_pass {
                    self.misread_valid += 1;
                    if sure {
                        self.misread_valid_sure += 1;
                    }
                }
            }
            Outcome::NotFound => self.not_found += 1,
        }
    }

    fn line(&self) -> String {
        let pct = |n: usize| 100.0 * n as f64 / self.total.max(1) as f64;
        format!(
            "n={:4}  exact {:6.2}% ({} unsure)  misread {:5.2}% (checks pass {}, of which sure {})  \
             not found {:5.2}%",
            self.total,
            pct(self.exact),
            self.exact_unsure,
            pct(self.misread),
            self.misread_valid,
            self.misread_valid_sure,
            pct(self.not_found)
        )
    }
}

#[derive(Clone, Copy)]
enum Outcome {
    Exact { sure: bool },
    Misread { checks_pass: bool, sure: bool },
    NotFound,
}

fn bucket(value: f32, edges: &[f32]) -> usize {
    edges.iter().take_while(|e| value >= **e).count()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut positional = Vec::new();
    let mut save: Option<String> = None;
    let mut rot = 5.0f32;
    let mut height = (16.0f32, 40.0f32);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--save" => save = args.next(),
            "--rot" => rot = args.next().and_then(|s| s.parse().ok()).unwrap_or(rot),
            "--height" => {
                if let Some((lo, hi)) = args.next().as_deref().and_then(|s| s.split_once('-')) {
                    height = (
                        lo.parse().unwrap_or(height.0),
                        hi.parse().unwrap_or(height.1),
                    );
                }
            }
            _ => positional.push(a),
        }
    }
    let n: u64 = positional
        .first()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let seed: u64 = positional.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let reader = MrzReader::new(OCRB_FONT).expect("reader");
    let mut spec = CardSpec::new(OCRB_FONT).expect("spec");
    spec.formats = vec![MrzFormat::Td1, MrzFormat::Td2, MrzFormat::Td3];
    spec.rotation_deg = (-rot, rot);
    spec.blur_sigma = (0.0, 1.2);
    spec.jpeg_quality = (40, 95);
    spec.char_height = height;
    spec.noise = 6.0;
    println!(
        "{n} cards, seed {seed}: TD1/TD2/TD3, rotation ±{rot}°, blur σ 0–1.2, JPEG q 40–95, \
         MRZ cap height {}–{} px, noise σ 0–6; a read is unsure when a character's margin is \
         below {UNSURE_MARGIN}",
        height.0, height.1
    );

    let mut all = Tally::default();
    let rot_edges = [1.5, 3.0];
    let blur_edges = [0.4, 0.8];
    let q_edges = [60.0, 80.0];
    let h_edges = [22.0, 30.0];
    let mut by_rot = [Tally::default(); 3];
    let mut by_blur = [Tally::default(); 3];
    let mut by_q = [Tally::default(); 3];
    let mut by_h = [Tally::default(); 3];
    let mut by_format = [Tally::default(); 3];
    let mut read_ms = 0.0;
    let mut pixels = 0usize;
    for i in 0..n {
        let card = generate(seed.wrapping_mul(1_000_003).wrapping_add(i), &spec);
        let start = Instant::now();
        let text = reader.read(&card.image);
        read_ms += start.elapsed().as_secs_f64() * 1000.0;
        pixels += card.image.len() / 3;
        let outcome = match &text {
            None => Outcome::NotFound,
            Some(t) if t.lines == card.lines => Outcome::Exact {
                sure: t.min_margin >= UNSURE_MARGIN,
            },
            Some(t) => Outcome::Misread {
                checks_pass: parse(&t.lines).is_ok_and(|m| m.checksums_valid()),
                sure: t.min_margin >= UNSURE_MARGIN,
            },
        };
        let d = card.distortion;
        all.add(outcome);
        by_rot[bucket(d.rotation_deg.abs(), &rot_edges)].add(outcome);
        by_blur[bucket(d.blur_sigma, &blur_edges)].add(outcome);
        by_q[bucket(f32::from(d.jpeg_quality), &q_edges)].add(outcome);
        by_h[bucket(d.char_height, &h_edges)].add(outcome);
        by_format[card.format as usize].add(outcome);
        if !matches!(outcome, Outcome::Exact { .. }) {
            let what = match &text {
                None => "not found".to_string(),
                Some(t) => format!("min margin {:.3} mean {:.3}", t.min_margin, t.mean_score),
            };
            println!(
                "  card {i}: {:?} rot {:.1} blur {:.2} q {} h {:.1} noise {:.1}: {what}",
                card.format, d.rotation_deg, d.blur_sigma, d.jpeg_quality, d.char_height, d.noise
            );
            if let Some(t) = &text {
                for (got, want) in t.lines.iter().zip(&card.lines) {
                    if got != want {
                        println!("    read {got}\n    true {want}");
                    }
                }
            }
            if let Some(dir) = &save {
                let _ = std::fs::create_dir_all(dir);
                let _ = card.image.save(format!("{dir}/card_{seed}_{i}.png"));
            }
        }
    }
    println!("all       {}", all.line());
    for (name, tallies, labels) in [
        ("|rot|", &by_rot, ["<1.5°", "1.5-3°", ">=3°"]),
        ("blur", &by_blur, ["<0.4", "0.4-0.8", ">=0.8"]),
        ("jpeg q", &by_q, ["<60", "60-80", ">=80"]),
        ("cap h", &by_h, ["<22px", "22-30px", ">=30px"]),
        ("format", &by_format, ["TD1", "TD2", "TD3"]),
    ] {
        for (t, label) in tallies.iter().zip(labels) {
            println!("{name:6} {label:8} {}", t.line());
        }
    }
    println!(
        "read time {:.1} ms per image (mean {:.0} kpx per image)",
        read_ms / n.max(1) as f64,
        pixels as f64 / n.max(1) as f64 / 1000.0
    );
}

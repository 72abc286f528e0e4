//! Throughput of `idv batch` on the repository's photos.
//!
//! Builds a batch folder of cases from `photos/` (genuine and impostor pairs and the ID card),
//! verifies it with as many threads as CPUs, and prints verifications per second.
//! Run with `cargo bench -p idv-cli --bench batch`.

use std::path::{Path, PathBuf};

use idv_adapters::onnx::{OnnxConfig, OnnxScorer};
use idv_cli::batch;
use idv_core::domain::DocumentType;
use idv_core::policy::Policy;

const PAIRS: [(&str, &str); 4] = [
    ("obama.jpg", "obama2.jpg"),
    ("obama.jpg", "biden.jpg"),
    ("id_td1_valid_flat.png", "obama2.jpg"),
    ("obama2.jpg", "astronaut.png"),
];

fn photos() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../photos")
}

fn build_batch(dir: &Path, copies: usize) -> std::io::Result<()> {
    for copy in 0..copies {
        for (i, (front, selfie)) in PAIRS.iter().enumerate() {
            let case = dir.join(format!("case-{copy:02}-{i}"));
            std::fs::create_dir_all(&case)?;
            std::fs::copy(photos().join(front), case.join("document_front.img"))?;
            std::fs::copy(photos().join(selfie), case.join("selfie.img"))?;
        }
    }
    Ok(())
}

fn main() {
    let dir = std::env::temp_dir().join(format!("idv-batch-bench-{}", std::process::id()));
    build_batch(&dir, 4).expect("building the batch folder");
    let scorer = OnnxScorer::load(OnnxConfig::default()).expect("loading the models");
    let cases = batch::find_cases(&dir).expect("listing cases");
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());

    // One warm-up pass so that first-use allocations do not count.
    batch::run(
        &scorer,
        &Policy::default(),
        DocumentType::IdCard,
        &cases[..jobs.min(cases.len())],
        jobs,
        |_| {},
    );
    let summary = batch::run(
        &scorer,
        &Policy::default(),
        DocumentType::IdCard,
        &cases,
        jobs,
        |_| {},
    );

    println!(
        "idv batch: {} cases on {jobs} threads in {:.2} s",
        summary.cases,
        summary.elapsed.as_secs_f64()
    );
    println!(
        "idv batch: {:.2} verifications/s ({} failed)",
        summary.per_second(),
        summary.failed
    );
    std::fs::remove_dir_all(&dir).expect("removing the batch folder");
    assert_eq!(summary.failed, 0, "every bench case must be processed");
}

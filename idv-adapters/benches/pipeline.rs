//! Times one verification through the ONNX scorer: the synthetic ID card id_td1_valid_flat.png
//! as the document (so its machine-readable zone is read), obama2.jpg as the selfie. Prints the
//! median of each pipeline step (faces, liveness, document) over the runs, the median total, and
//! the process's peak resident memory.
//!
//! Run with `cargo bench -p idv-adapters --bench pipeline`; set `IDV_BENCH_RUNS` to change the
//! number of timed runs (default 20).

use std::sync::Arc;
use std::time::{Duration, Instant};

use idv_adapters::onnx::{OnnxConfig, OnnxScorer};
use idv_core::scoring::{ScoreInput, StepTimings};

const DEFAULT_RUNS: usize = 20;

/// A step's name and how to read its time from the timings.
type Step = (&'static str, fn(&StepTimings) -> Duration);

fn main() {
    let runs = std::env::var("IDV_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(DEFAULT_RUNS);

    let start = Instant::now();
    let scorer = OnnxScorer::load(OnnxConfig::from_env()).expect("models load");
    println!("model load (sha256 + optimise): {}", ms(start.elapsed()));

    let input = ScoreInput {
        document_front: photo("id_td1_valid_flat.png"),
        document_back: None,
        selfie: photo("obama2.jpg"),
    };
    // The first run pays for lazy allocations and cold caches; keep it out of the medians.
    scorer.analyse(&input).expect("warm-up run");

    let mut samples: Vec<(StepTimings, Duration)> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let evidence = scorer.analyse(&input).expect("verification");
        samples.push((evidence.timings, start.elapsed()));
    }
    report(&samples);
}

fn photo(name: &str) -> Arc<[u8]> {
    let path = format!("{}/../photos/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .into()
}

fn report(samples: &[(StepTimings, Duration)]) {
    println!(
        "one verification (document id_td1_valid_flat.png 1012x638, selfie obama2.jpg 626x1200), \
         median of {} runs:",
        samples.len()
    );
    let steps: [Step; 7] = [
        ("decode", |t| t.decode),
        ("detect", |t| t.detect),
        ("align", |t| t.align),
        ("embed", |t| t.embed),
        ("compare", |t| t.compare),
        ("liveness", |t| t.liveness),
        ("document", |t| t.document),
    ];
    for (name, step) in steps {
        let median = median(samples.iter().map(|(t, _)| step(t)).collect());
        println!("  {name:<8} {}", ms(median));
    }
    let total = median(samples.iter().map(|(_, total)| *total).collect());
    println!("  {:<8} {}", "total", ms(total));
    match peak_rss_kib() {
        Some(kib) => println!("peak RSS: {:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak RSS: unavailable"),
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:>10.4} ms", d.as_secs_f64() * 1000.0)
}

/// High-water mark of resident memory, from Linux's /proc.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

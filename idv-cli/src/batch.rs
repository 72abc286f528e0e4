//! `idv batch`: one case per sub-folder, verified in parallel.
//!
//! A case folder holds exactly one document front (`document_front.*`, `front.*` or
//! `document.*`), at most one back (`document_back.*` or `back.*`) and exactly one selfie
//! (`selfie.*`); several candidates for one of them fail the case as ambiguous. Formats are
//! found from the content, so the extension does not matter.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use idv_adapters::onnx::OnnxScorer;
use idv_core::domain::DocumentType;
use idv_core::policy::Policy;

use crate::report::{verify_files, CaseFiles, Report};

const FRONT_NAMES: [&str; 3] = ["document_front", "front", "document"];
const BACK_NAMES: [&str; 2] = ["document_back", "back"];
const SELFIE_NAMES: [&str; 1] = ["selfie"];

/// A case folder found in the batch directory.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub dir: PathBuf,
}

/// The sub-folders of `dir`, sorted by name.
pub fn find_cases(dir: &Path) -> std::io::Result<Vec<Case>> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            cases.push(Case {
                name,
                dir: entry.path(),
            });
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

/// The one file in `dir` whose stem (name without extension) is one of `stems`,
/// case-insensitively; several candidates make the case ambiguous.
fn find_file(dir: &Path, stems: &[&str]) -> Result<Option<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read folder {}: {e}", dir.display()))?;
    let mut found: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read folder {}: {e}", dir.display()))?
            .path();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if path.is_file() && stems.contains(&stem.as_str()) {
            found.push(path);
        }
    }
    if found.len() > 1 {
        found.sort();
        let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "ambiguous: several candidates {}",
            names.join(", ")
        ));
    }
    Ok(found.pop())
}

/// The image files of a case, or why they cannot be found.
pub fn case_files(case: &Case) -> Result<CaseFiles, String> {
    let front = find_file(&case.dir, &FRONT_NAMES)?;
    let selfie = find_file(&case.dir, &SELFIE_NAMES)?;
    let back = find_file(&case.dir, &BACK_NAMES)?;
    match (front, selfie) {
        (Some(document_front), Some(selfie)) => Ok(CaseFiles {
            document_front,
            document_back: back,
            selfie,
        }),
        (None, _) => Err("no document front (document_front.*, front.* or document.*)".into()),
        (_, None) => Err("no selfie (selfie.*)".into()),
    }
}

fn run_case(
    scorer: &OnnxScorer,
    policy: &Policy,
    document_type: DocumentType,
    case: &Case,
) -> Report {
    let mut report = match case_files(case) {
        Ok(files) => verify_files(scorer, policy, document_type, &files),
        Err(e) => Report::failed(document_type, e),
    };
    report.case = Some(case.name.clone());
    report
}

/// Figures of a finished batch.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub cases: usize,
    pub failed: usize,
    pub elapsed: Duration,
}

impl Summary {
    pub fn per_second(&self) -> f64 {
        self.cases as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Verifies every case on `jobs` threads; `on_report` sees each report as it completes (in
/// completion order).
pub fn run(
    scorer: &OnnxScorer,
    policy: &Policy,
    document_type: DocumentType,
    cases: &[Case],
    jobs: usize,
    mut on_report: impl FnMut(Report),
) -> Summary {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel();
    let mut failed = 0;
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(cases.len().max(1)) {
            let sender = sender.clone();
            let next = &next;
            scope.spawn(move || {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if sender
                        .send(run_case(scorer, policy, document_type, case))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(sender);
        for report in receiver {
            failed += usize::from(report.is_error());
            on_report(report);
        }
    });
    Summary {
        cases: cases.len(),
        failed,
        elapsed: started.elapsed(),
    }
}

//! `idv`: verify identity documents and selfies from files, and administer an idv store.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use idv_cli::batch;
use idv_cli::report::{verify_files, CaseFiles};
use idv_core::accounts::{create_account, Registration};
use idv_core::domain::{DocumentType, Role};
use idv_core::logs::{Event, Level, NewLogEntry};
use idv_server::config::{ScoringConfig, StoreConfig};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(
    name = "idv",
    version,
    about = "Verify identity documents and selfies with idv"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify one document and selfie; prints the result as JSON.
    Verify {
        #[arg(long)]
        document_front: PathBuf,
        #[arg(long)]
        document_back: Option<PathBuf>,
        #[arg(long)]
        selfie: PathBuf,
        /// passport, id_card, driving_license or residence_permit.
        #[arg(long, default_value = "passport", value_parser = parse_document_type)]
        document_type: DocumentType,
        #[command(flatten)]
        scoring: ScoringConfig,
    },
    /// Verify every case folder in DIR in parallel; one JSON line per case.
    Batch {
        dir: PathBuf,
        /// Write the JSON lines here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Cases verified at once (default: the number of CPUs).
        #[arg(long)]
        jobs: Option<usize>,
        #[arg(long, default_value = "passport", value_parser = parse_document_type)]
        document_type: DocumentType,
        #[command(flatten)]
        scoring: ScoringConfig,
    },
    /// Administer the store of an idv server.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator account.
    Create {
        #[arg(long)]
        email: String,
        /// The password; prefer the environment variable so it stays out of shell history.
        #[arg(long, env = "IDV_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "Administrator")]
        full_name: String,
        #[command(flatten)]
        store: StoreConfig,
    },
}

fn parse_document_type(text: &str) -> Result<DocumentType, String> {
    DocumentType::parse(text).ok_or_else(|| {
        "expected passport, id_card, driving_license or residence_permit".to_string()
    })
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Verify {
            document_front,
            document_back,
            selfie,
            document_type,
            scoring,
        } => {
            let files = CaseFiles {
                document_front,
                document_back,
                selfie,
            };
            verify(&scoring, document_type, &files)
        }
        Command::Batch {
            dir,
            out,
            jobs,
            document_type,
            scoring,
        } => run_batch(&scoring, document_type, &dir, out, jobs),
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password,
                    full_name,
                    store,
                },
        } => create_admin(
            &store,
            Registration {
                email,
                password,
                full_name,
            },
        ),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("idv: {message}");
    ExitCode::FAILURE
}

fn verify(scoring: &ScoringConfig, document_type: DocumentType, files: &CaseFiles) -> ExitCode {
    let policy = match scoring.checked_policy() {
        Ok(policy) => policy,
        Err(e) => return fail(e),
    };
    let scorer = match idv_server::app::load_scorer(scoring) {
        Ok(scorer) => scorer,
        Err(e) => return fail(e),
    };
    let report = verify_files(&scorer, &policy, document_type, files);
    match serde_json::to_string_pretty(&report) {
        Ok(json) => println!("{json}"),
        Err(e) => return fail(e),
    }
    if report.is_error() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn run_batch(
    scoring: &ScoringConfig,
    document_type: DocumentType,
    dir: &std::path::Path,
    out: Option<PathBuf>,
    jobs: Option<usize>,
) -> ExitCode {
    let cases = match batch::find_cases(dir) {
        Ok(cases) if cases.is_empty() => {
            return fail(format!(
                "{} has no case folders (one sub-folder per case)",
                dir.display()
            ))
        }
        Ok(cases) => cases,
        Err(e) => return fail(format!("cannot read {}: {e}", dir.display())),
    };
    let policy = match scoring.checked_policy() {
        Ok(policy) => policy,
        Err(e) => return fail(e),
    };
    let scorer = match idv_server::app::load_scorer(scoring) {
        Ok(scorer) => scorer,
        Err(e) => return fail(e),
    };
    let mut sink: Box<dyn Write> = match &out {
        Some(path) => match File::create(path) {
            Ok(file) => Box::new(BufWriter::new(file)),
            Err(e) => return fail(format!("cannot create {}: {e}", path.display())),
        },
        None => Box::new(std::io::stdout().lock()),
    };
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let progress = ProgressBar::new(cases.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} cases  {elapsed_precise}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut write_error = None;
    let summary = batch::run(&scorer, &policy, document_type, &cases, jobs, |report| {
        progress.inc(1);
        let line = serde_json::to_string(&report).map_err(std::io::Error::from);
        if let Err(e) = line.and_then(|line| writeln!(sink, "{line}")) {
            write_error.get_or_insert(e);
        }
    });
    progress.finish_and_clear();
    if let Err(e) = sink.flush() {
        write_error.get_or_insert(e);
    }
    eprintln!(
        "idv: {} cases, {} could not be processed, {:.1} s, {:.2} verifications/s",
        summary.cases,
        summary.failed,
        summary.elapsed.as_secs_f64(),
        summary.per_second()
    );
    if let Some(e) = write_error {
        return fail(format!("cannot write results: {e}"));
    }
    if summary.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn create_admin(store: &StoreConfig, registration: Registration) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(e),
    };
    runtime.block_on(async {
        let stores = match idv_server::app::open_stores(store).await {
            Ok(stores) => stores,
            Err(e) => return fail(e),
        };
        match create_account(stores.store.as_ref(), registration, Role::Admin).await {
            Ok(user) => {
                let entry = NewLogEntry {
                    timestamp: idv_core::domain::now(),
                    level: Level::Info,
                    event: Event::UserRegistered,
                    message: format!("user {} registered with role admin by the idv CLI", user.id),
                    user_id: Some(user.id),
                };
                if let Err(e) = stores.store.append_log(entry).await {
                    eprintln!("idv: the administrator was created, but the system log could not record it: {e}");
                }
                println!("{}", serde_json::json!({ "id": user.id, "role": "admin" }));
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        }
    })
}

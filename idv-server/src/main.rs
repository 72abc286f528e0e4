//! `idv-server`: serves the idv API. Configuration by `IDV_*` variables or flags (`--help`).

use clap::Parser;
use idv_server::ServerConfig;

#[derive(Parser)]
#[command(
    name = "idv-server",
    version,
    about = "The idv identity-verification HTTP server"
)]
struct Cli {
    #[command(flatten)]
    config: ServerConfig,
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IDV_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match idv_server::start(cli.config, None).await {
        Ok(server) => {
            server.run_until_signal().await;
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("idv-server: cannot start: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

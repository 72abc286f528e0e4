//! Assembly: adapters chosen by configuration, the use cases, workers and the listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use idv_adapters::fs::FsBlobStore;
use idv_adapters::onnx::antispoof::{AntiSpoofConfig, AntiSpoofProfile};
use idv_adapters::onnx::{OnnxConfig, OnnxError, OnnxScorer};
use idv_adapters::postgres::PostgresStore;
use idv_adapters::s3::{S3BlobStore, S3Config};
use idv_adapters::sqlite::SqliteStore;
use idv_adapters::webhook::HttpWebhookTransport;
use idv_core::accounts::Registration;
use idv_core::ports::{BlobStore, Store};
use idv_core::scoring::Scorer;
use idv_core::{Idv, Ports, Settings};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{ConfigError, ScoringConfig, ServerConfig, StoreConfig};
use crate::http::{self, EventHub, State};

/// The stores named by the configuration, opened and migrated.
pub struct Stores {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn BlobStore>,
}

/// Opens the database and the image store; the error names the setting at fault.
pub async fn open_stores(config: &StoreConfig) -> Result<Stores, ConfigError> {
    Ok(Stores {
        store: open_store(config).await?,
        blobs: open_blobs(config).await?,
    })
}

async fn open_store(config: &StoreConfig) -> Result<Arc<dyn Store>, ConfigError> {
    let url = config.database_url();
    let fail = |e: idv_core::Error| ConfigError::new("IDV_DATABASE_URL", e.to_string());
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::connect(&url).await.map_err(fail)?));
    }
    if !url.starts_with("sqlite:") {
        return Err(ConfigError::new(
            "IDV_DATABASE_URL",
            "use sqlite://path or postgres://…",
        ));
    }
    if let Some(parent) = sqlite_parent(&url) {
        private_dir(&parent).map_err(|e| {
            ConfigError::new(
                "IDV_DATABASE_URL",
                format!("cannot create {}: {e}", parent.display()),
            )
        })?;
    }
    Ok(Arc::new(SqliteStore::connect(&url).await.map_err(fail)?))
}

async fn open_blobs(config: &StoreConfig) -> Result<Arc<dyn BlobStore>, ConfigError> {
    let url = config.blob_url();
    let fail = |e: idv_core::Error| ConfigError::new("IDV_BLOB_URL", e.to_string());
    if url.starts_with("s3://") {
        let mut s3 = S3Config::from_url(&url).map_err(fail)?;
        s3.endpoint = config.s3_endpoint.clone();
        s3.force_path_style = config.s3_force_path_style;
        return Ok(Arc::new(S3BlobStore::connect(s3).await.map_err(fail)?));
    }
    let Some(root) = url.strip_prefix("file://") else {
        return Err(ConfigError::new(
            "IDV_BLOB_URL",
            "use file://path or s3://bucket/prefix",
        ));
    };
    Ok(Arc::new(FsBlobStore::open(root).await.map_err(fail)?))
}

/// Creates a missing folder so that only its owner may read it: the database holds personal
/// data. An existing folder is the operator's and keeps its permissions.
fn private_dir(path: &std::path::Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// The folder of a `sqlite://path` database file.
fn sqlite_parent(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite://")?.split('?').next()?;
    let parent = std::path::Path::new(path).parent()?;
    (!parent.as_os_str().is_empty()).then(|| parent.to_path_buf())
}

/// Loads the face models named by the configuration.
pub fn load_scorer(config: &ScoringConfig) -> Result<OnnxScorer, ConfigError> {
    let mut onnx = OnnxConfig::default();
    if let Some(dir) = &config.model_dir {
        onnx.model_dir = dir.clone();
    }
    onnx.max_pixels = config.max_image_pixels;
    onnx.max_bytes = config.max_image_bytes;
    onnx.builtin_liveness = config.builtin_liveness;
    onnx.liveness_model = match (&config.liveness_model, &config.liveness_model_profile) {
        (Some(model), Some(profile)) => Some(AntiSpoofConfig {
            model: model.clone(),
            profile: AntiSpoofProfile::from_file(profile)
                .map_err(|e| ConfigError::new("IDV_LIVENESS_MODEL_PROFILE", e))?,
        }),
        (Some(_), None) => {
            return Err(ConfigError::new(
                "IDV_LIVENESS_MODEL_PROFILE",
                "a liveness model needs a profile saying how it wants its input",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "IDV_LIVENESS_MODEL",
                "a liveness model profile is set but no model",
            ))
        }
        (None, None) => None,
    };
    OnnxScorer::load(onnx).map_err(|e| {
        let setting = match e {
            OnnxError::ModelLoad { ref path, .. }
            | OnnxError::ModelMissing { ref path }
            | OnnxError::ModelRead { ref path, .. }
                if Some(path) == config.liveness_model.as_ref() =>
            {
                "IDV_LIVENESS_MODEL"
            }
            _ => "IDV_MODEL_DIR",
        };
        ConfigError::new(setting, e.to_string())
    })
}

/// Builds the service from the configuration. `scorer` replaces the configured face pipeline
/// (tests share one loaded pipeline between servers).
pub async fn build(
    config: &ServerConfig,
    scorer: Option<Arc<dyn Scorer>>,
) -> Result<Arc<Idv>, ConfigError> {
    let stores = open_stores(&config.store).await?;
    let scorer = match scorer {
        Some(scorer) => scorer,
        None => Arc::new(load_scorer(&config.scoring)?),
    };
    let mut settings = Settings::new(config.jwt_secret()?);
    settings.token_ttl = config.token_ttl();
    settings.policy = config.scoring.checked_policy()?;
    settings.job_lease = Duration::from_secs(config.job_lease_secs.max(1));
    settings.webhook_retry_base = Duration::from_millis(config.webhook_retry_base_ms.max(1));
    settings.suspicion = idv_core::suspicious::SuspicionSettings {
        rejections: config.suspicious_rejections.max(1),
        window: Duration::from_secs(config.suspicious_window_hours.max(1).saturating_mul(3600)),
        failed_logins: config.suspicious_failed_logins.max(1),
    };
    let transport = HttpWebhookTransport::new(config.webhook_allow_internal)
        .map_err(|e| ConfigError::new("IDV_WEBHOOK_URL", e))?;
    let ports = Ports::from_store(stores.store, stores.blobs, scorer)
        .with_webhook_transport(Arc::new(transport));
    let idv = Idv::new(ports, settings)
        .map_err(|e| ConfigError::new("IDV_MATCH_THRESHOLD", e.to_string()))?;

    if let Some((url, secret)) = config.webhook()? {
        idv.ensure_webhook(&url, secret)
            .await
            .map_err(|e| ConfigError::new("IDV_WEBHOOK_URL", e.to_string()))?;
    }
    if let Some((email, password)) = config.admin_credentials()? {
        let admin = Registration {
            email,
            password: password.expose().to_string(),
            full_name: "Administrator".into(),
        };
        match idv.ensure_admin(admin).await {
            Ok(true) => tracing::info!("first administrator created"),
            Ok(false) => {}
            Err(e) => return Err(ConfigError::new("IDV_ADMIN_EMAIL", e.to_string())),
        }
    }
    Ok(Arc::new(idv))
}

/// A server that is accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub idv: Arc<Idv>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, lets requests in flight finish, and stops the workers.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }

    /// Runs until Ctrl-C or SIGTERM, then shuts down gracefully.
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        tracing::info!("shutting down");
        self.shutdown().await;
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler cannot fail on unix");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Builds the service, binds the address and starts serving and processing.
pub async fn start(
    config: ServerConfig,
    scorer: Option<Arc<dyn Scorer>>,
) -> Result<RunningServer, ConfigError> {
    let idv = build(&config, scorer).await?;
    let listener = TcpListener::bind(config.addr).await.map_err(|e| {
        ConfigError::new("IDV_ADDR", format!("cannot listen on {}: {e}", config.addr))
    })?;
    let addr = listener
        .local_addr()
        .map_err(|e| ConfigError::new("IDV_ADDR", e.to_string()))?;
    let (shutdown, signal) = watch::channel(false);

    let mut workers = Vec::new();
    for _ in 0..config.workers {
        workers.push(tokio::spawn(idv.clone().run_worker(signal.clone())));
    }
    let retention = Duration::from_secs(config.log_retention_days.saturating_mul(86_400));
    workers.push(tokio::spawn(housekeeping(
        idv.clone(),
        retention,
        signal.clone(),
    )));
    idv.record_start().await;
    workers.push(tokio::spawn(idv.clone().run_webhooks(signal.clone())));
    let events = EventHub::start(idv.clone(), signal.clone()).await;
    let state = Arc::new(State {
        idv: idv.clone(),
        events,
        max_body_bytes: config.max_body_bytes,
    });
    let task = tokio::spawn(async move {
        serve(listener, state, signal).await;
        for worker in workers {
            let _ = worker.await;
        }
    });
    tracing::info!(%addr, "idv server listening");
    Ok(RunningServer {
        addr,
        idv,
        shutdown,
        task,
    })
}

/// Removes expired log entries and idempotency records, at start and then hourly.
async fn housekeeping(idv: Arc<Idv>, log_retention: Duration, mut signal: watch::Receiver<bool>) {
    loop {
        match idv.purge_logs(log_retention).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "expired log entries removed"),
            Err(e) => tracing::warn!(error = %e, "could not remove expired log entries"),
        }
        if let Err(e) = idv.purge_idempotency().await {
            tracing::warn!(error = %e, "could not remove expired idempotency records");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = signal.changed() => return,
        }
    }
}

async fn serve(listener: TcpListener, state: Arc<State>, mut signal: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = signal.changed() => break,
        };
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        connections.spawn(connection(stream, peer, state.clone(), signal.clone()));
    }
    drop(listener);
    let finished = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(10), finished)
        .await
        .is_err()
    {
        tracing::warn!("connections still open after 10 s; closing them");
        connections.abort_all();
    }
}

/// Serves one connection (upgrades to WebSocket included) until it ends or the server stops,
/// when requests in flight may finish first.
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    state: Arc<State>,
    mut signal: watch::Receiver<bool>,
) {
    let service = service_fn(move |request| http::handle(state.clone(), request, Some(peer)));
    let connection = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        _ = signal.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = ended {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

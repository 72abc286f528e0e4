//! Server configuration: defaults, then `IDV_*` environment variables, then flags.
//!
//! Every setting is listed in the README's configuration table. Secrets also have a `_FILE`
//! variant that names a file holding the value.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use idv_core::auth::Secret;
use idv_core::policy::{LivenessMode, Policy};

/// Settings shared by the server and the `idv` CLI's admin commands.
#[derive(Debug, Clone, Args)]
pub struct StoreConfig {
    /// Folder for the embedded database, images and the generated JWT secret.
    #[arg(long, env = "IDV_DATA_DIR", default_value = "./idv-data")]
    pub data_dir: PathBuf,

    /// Database URL: `sqlite://path` (default: `<data dir>/idv.db`) or
    /// `postgres://user@host/db`.
    #[arg(long, env = "IDV_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Image store URL: `file://path` (default: `<data dir>/blobs`) or `s3://bucket/prefix`.
    #[arg(long, env = "IDV_BLOB_URL")]
    pub blob_url: Option<String>,

    /// Endpoint of an S3-compatible server, for `s3://` image stores (default: AWS).
    #[arg(long, env = "IDV_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// Address S3 buckets by path (`endpoint/bucket`), as most S3-compatible servers need.
    #[arg(long, env = "IDV_S3_FORCE_PATH_STYLE", default_value_t = false)]
    pub s3_force_path_style: bool,
}

impl StoreConfig {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("idv.db").display()))
    }

    pub fn blob_url(&self) -> String {
        self.blob_url
            .clone()
            .unwrap_or_else(|| format!("file://{}", self.data_dir.join("blobs").display()))
    }
}

/// Settings of the face pipeline and the decision policy.
#[derive(Debug, Clone, Args)]
pub struct ScoringConfig {
    /// Folder holding the ONNX models (default: the repository's `models/`).
    #[arg(long, env = "IDV_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,

    /// Largest accepted image, in pixels, checked from the header before decoding.
    #[arg(long, env = "IDV_MAX_IMAGE_PIXELS", default_value_t = 40_000_000)]
    pub max_image_pixels: u64,

    /// Largest accepted image file, in bytes (after base64 decoding).
    #[arg(long, env = "IDV_MAX_IMAGE_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_image_bytes: u64,

    /// `face_match_score` at or above which faces match; 0.5 is SFace's published threshold.
    #[arg(long, env = "IDV_MATCH_THRESHOLD", default_value_t = 0.5)]
    pub match_threshold: f64,

    /// Scores within this distance of the threshold go to `review`.
    #[arg(long, env = "IDV_MATCH_REVIEW_MARGIN", default_value_t = 0.05)]
    pub match_review_margin: f64,

    /// What a `liveness_score` below the threshold does: `required` rejects it (and sends
    /// unassessed liveness to review), `review` sends it to review, `advisory` only reports it.
    #[arg(long, env = "IDV_LIVENESS", default_value = "review", value_parser = parse_liveness_mode)]
    pub liveness: LivenessMode,

    /// `liveness_score` below which a selfie counts as a presentation attack.
    #[arg(long, env = "IDV_LIVENESS_THRESHOLD", default_value_t = 0.5)]
    pub liveness_threshold: f64,

    /// Run the built-in passive liveness check (recaptures of prints and screens).
    #[arg(long, env = "IDV_BUILTIN_LIVENESS", default_value_t = true, action = clap::ArgAction::Set)]
    pub builtin_liveness: bool,

    /// An anti-spoofing ONNX model of your own; needs `IDV_LIVENESS_MODEL_PROFILE`.
    #[arg(long, env = "IDV_LIVENESS_MODEL")]
    pub liveness_model: Option<PathBuf>,

    /// JSON file saying how the liveness model wants its input (see the README).
    #[arg(long, env = "IDV_LIVENESS_MODEL_PROFILE")]
    pub liveness_model_profile: Option<PathBuf>,

    /// Shortest side, in pixels, of an acceptable document image.
    #[arg(long, env = "IDV_MIN_DOCUMENT_SIDE", default_value_t = 300)]
    pub min_document_side: u32,
}

impl ScoringConfig {
    /// The decision policy, refused with the setting at fault when a value makes no sense.
    pub fn checked_policy(&self) -> Result<Policy, ConfigError> {
        let policy = self.policy();
        policy.validate().map_err(|why| {
            let setting = match why.split_whitespace().next() {
                Some("match_review_margin") => "IDV_MATCH_REVIEW_MARGIN",
                Some("liveness_threshold") => "IDV_LIVENESS_THRESHOLD",
                _ => "IDV_MATCH_THRESHOLD",
            };
            ConfigError::new(setting, why)
        })?;
        Ok(policy)
    }

    pub fn policy(&self) -> Policy {
        Policy {
            match_threshold: self.match_threshold,
            match_review_margin: self.match_review_margin,
            liveness_mode: self.liveness,
            liveness_threshold: self.liveness_threshold,
            min_document_side: self.min_document_side,
            ..Policy::default()
        }
    }
}

fn parse_liveness_mode(text: &str) -> Result<LivenessMode, String> {
    LivenessMode::parse(text).ok_or_else(|| "expected required, review or advisory".to_owned())
}

/// Everything the server needs.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Address to listen on.
    #[arg(long, env = "IDV_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    #[command(flatten)]
    pub store: StoreConfig,

    #[command(flatten)]
    pub scoring: ScoringConfig,

    /// Secret that signs access tokens (at least 32 bytes). Default: generated on first start
    /// and kept in `<data dir>/jwt-secret`.
    #[arg(long, env = "IDV_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// File holding the JWT secret.
    #[arg(long, env = "IDV_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,

    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "IDV_TOKEN_TTL_SECS", default_value_t = 3600)]
    pub token_ttl_secs: u64,

    /// E-mail of the administrator created on first start.
    #[arg(long, env = "IDV_ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    /// Password of the administrator created on first start.
    #[arg(long, env = "IDV_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// File holding the administrator's password.
    #[arg(long, env = "IDV_ADMIN_PASSWORD_FILE")]
    pub admin_password_file: Option<PathBuf>,

    /// Largest accepted request body, in bytes; larger ones get 413.
    #[arg(long, env = "IDV_MAX_BODY_BYTES", default_value_t = 48 * 1024 * 1024)]
    pub max_body_bytes: u64,

    /// Background tasks that score verifications. 0 makes an instance that only accepts
    /// requests and leaves processing to others.
    #[arg(long, env = "IDV_WORKERS", default_value_t = 2)]
    pub workers: usize,

    /// Endpoint that receives every event (besides those administrators add).
    #[arg(long, env = "IDV_WEBHOOK_URL")]
    pub webhook_url: Option<String>,

    /// Secret that signs deliveries to `IDV_WEBHOOK_URL` (required with it).
    #[arg(long, env = "IDV_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,

    /// File holding the webhook secret.
    #[arg(long, env = "IDV_WEBHOOK_SECRET_FILE")]
    pub webhook_secret_file: Option<PathBuf>,

    /// Let webhooks reach loopback, private and link-local addresses (receivers inside the
    /// operator's own network).
    #[arg(long, env = "IDV_WEBHOOK_ALLOW_INTERNAL", default_value_t = false)]
    pub webhook_allow_internal: bool,

    /// First webhook retry delay in milliseconds; later ones double, up to an hour.
    #[arg(long, env = "IDV_WEBHOOK_RETRY_BASE_MS", default_value_t = 10_000)]
    pub webhook_retry_base_ms: u64,

    /// Rejected verifications of one user within the window that raise a
    /// `suspicious_activity` event.
    #[arg(long, env = "IDV_SUSPICIOUS_REJECTIONS", default_value_t = 3)]
    pub suspicious_rejections: u64,

    /// The window for counting rejections, in hours.
    #[arg(long, env = "IDV_SUSPICIOUS_WINDOW_HOURS", default_value_t = 24)]
    pub suspicious_window_hours: u64,

    /// Failed logins to one account (within the 15-minute login window) that raise a
    /// `suspicious_activity` event.
    #[arg(long, env = "IDV_SUSPICIOUS_FAILED_LOGINS", default_value_t = 5)]
    pub suspicious_failed_logins: u64,

    /// Days the system log keeps its entries.
    #[arg(long, env = "IDV_LOG_RETENTION_DAYS", default_value_t = 90)]
    pub log_retention_days: u64,

    /// How long a worker may hold a job before another instance takes it over, in seconds.
    #[arg(long, env = "IDV_JOB_LEASE_SECS", default_value_t = 120)]
    pub job_lease_secs: u64,
}

/// A configuration that cannot be used, with the setting at fault.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {message}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(setting: &'static str, message: impl Into<String>) -> Self {
        Self {
            setting,
            message: message.into(),
        }
    }
}

impl ServerConfig {
    pub fn token_ttl(&self) -> Duration {
        Duration::from_secs(self.token_ttl_secs)
    }

    /// The administrator to create on first start, if both e-mail and password are set.
    pub fn admin_credentials(&self) -> Result<Option<(String, Secret)>, ConfigError> {
        let password = secret_value(
            "IDV_ADMIN_PASSWORD",
            self.admin_password.as_deref(),
            self.admin_password_file.as_deref(),
        )?;
        match (&self.admin_email, password) {
            (Some(email), Some(password)) => Ok(Some((email.clone(), password))),
            (None, None) => Ok(None),
            _ => Err(ConfigError::new(
                "IDV_ADMIN_EMAIL",
                "set both IDV_ADMIN_EMAIL and IDV_ADMIN_PASSWORD, or neither",
            )),
        }
    }

    /// The operator's webhook endpoint and its secret, if one is configured.
    pub fn webhook(&self) -> Result<Option<(String, Secret)>, ConfigError> {
        let secret = secret_value(
            "IDV_WEBHOOK_SECRET",
            self.webhook_secret.as_deref(),
            self.webhook_secret_file.as_deref(),
        )?;
        match (&self.webhook_url, secret) {
            (Some(url), Some(secret)) if secret.expose().len() >= 16 => Ok(Some((url.clone(), secret))),
            (Some(_), Some(_)) => Err(ConfigError::new("IDV_WEBHOOK_SECRET", "must be at least 16 bytes")),
            (Some(_), None) => Err(ConfigError::new(
                "IDV_WEBHOOK_SECRET",
                "IDV_WEBHOOK_URL needs a secret to sign deliveries; `openssl rand -hex 32` makes one",
            )),
            (None, Some(_)) => Err(ConfigError::new("IDV_WEBHOOK_URL", "a webhook secret is set but no URL")),
            (None, None) => Ok(None),
        }
    }

    /// The JWT secret: from the settings, or from `<data dir>/jwt-secret`, generated there on
    /// first start.
    pub fn jwt_secret(&self) -> Result<Secret, ConfigError> {
        let configured = secret_value(
            "IDV_JWT_SECRET",
            self.jwt_secret.as_deref(),
            self.jwt_secret_file.as_deref(),
        )?;
        let secret = match configured {
            Some(secret) => secret,
            None => stored_secret(&self.store.data_dir.join("jwt-secret"))?,
        };
        if secret.expose().len() < idv_core::auth::TokenAuthority::MIN_SECRET_LEN {
            return Err(ConfigError::new(
                "IDV_JWT_SECRET",
                "must be at least 32 bytes; `openssl rand -hex 32` makes a good one",
            ));
        }
        Ok(secret)
    }
}

/// A secret given directly or through a file; setting both is an error.
fn secret_value(
    setting: &'static str,
    value: Option<&str>,
    file: Option<&Path>,
) -> Result<Option<Secret>, ConfigError> {
    match (value, file) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            setting,
            "set the value or its _FILE variant, not both",
        )),
        (Some(value), None) => Ok(Some(Secret::new(value))),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|text| Some(Secret::new(text.trim_end_matches(['\r', '\n']))))
            .map_err(|e| ConfigError::new(setting, format!("cannot read {}: {e}", path.display()))),
        (None, None) => Ok(None),
    }
}

/// Reads the generated secret, or creates it (readable by the owner only).
fn stored_secret(path: &Path) -> Result<Secret, ConfigError> {
    let fail = |e: std::io::Error| {
        ConfigError::new(
            "IDV_DATA_DIR",
            format!("cannot keep the JWT secret at {}: {e}", path.display()),
        )
    };
    if let Ok(text) = std::fs::read_to_string(path) {
        return Ok(Secret::new(text.trim()));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let secret = hex::encode(bytes);
    write_private(path, &secret).map_err(fail)?;
    Ok(Secret::new(secret))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

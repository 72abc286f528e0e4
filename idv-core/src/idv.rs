//! [`Idv`]: the use cases, assembled from ports and settings.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::api_keys::{Permission, Permissions};
use crate::auth::{Secret, TokenAuthority};
use crate::domain::{Role, UserId};
use crate::error::{Error, Result};
use crate::policy::Policy;
use crate::ports::{
    ApiKeyStore, BlobStore, EventStore, IdempotencyStore, JobQueue, LogStore, Store, UserStore,
    VerificationStore, WebhookStore, WebhookTransport,
};
use crate::scoring::Scorer;
use crate::suspicious::SuspicionSettings;
use crate::throttle::{LoginThrottle, ThrottleSettings};

/// The adapters idv runs on.
#[derive(Clone)]
pub struct Ports {
    pub users: Arc<dyn UserStore>,
    pub verifications: Arc<dyn VerificationStore>,
    pub jobs: Arc<dyn JobQueue>,
    pub api_keys: Arc<dyn ApiKeyStore>,
    pub logs: Arc<dyn LogStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub events: Arc<dyn EventStore>,
    pub webhooks: Arc<dyn WebhookStore>,
    /// Sends webhooks; without one, webhooks cannot be configured.
    pub webhook_transport: Option<Arc<dyn WebhookTransport>>,
    pub blobs: Arc<dyn BlobStore>,
    pub scorer: Arc<dyn Scorer>,
}

impl Ports {
    /// The same ports, sending webhooks with `transport`.
    pub fn with_webhook_transport(mut self, transport: Arc<dyn WebhookTransport>) -> Self {
        self.webhook_transport = Some(transport);
        self
    }

    /// Ports from one store object that plays every storage role.
    pub fn from_store(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        scorer: Arc<dyn Scorer>,
    ) -> Self {
        Self {
            users: store.clone(),
            verifications: store.clone(),
            jobs: store.clone(),
            api_keys: store.clone(),
            logs: store.clone(),
            idempotency: store.clone(),
            events: store.clone(),
            webhooks: store,
            webhook_transport: None,
            blobs,
            scorer,
        }
    }
}

/// Settings of the use cases.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Signs access tokens (at least 32 bytes).
    pub jwt_secret: Secret,
    /// Lifetime of access tokens.
    pub token_ttl: Duration,
    pub policy: Policy,
    /// How long a worker holds a job before another may take it over.
    pub job_lease: Duration,
    /// Claims of one job before it is given up and sent to review.
    pub max_job_attempts: u32,
    pub login_throttle: ThrottleSettings,
    pub suspicion: SuspicionSettings,
    /// First webhook retry delay; later ones double (see [`crate::webhooks::backoff`]).
    pub webhook_retry_base: Duration,
}

impl Settings {
    /// Settings with defaults for everything but the secret.
    pub fn new(jwt_secret: Secret) -> Self {
        Self {
            jwt_secret,
            token_ttl: Duration::from_secs(3600),
            policy: Policy::default(),
            job_lease: Duration::from_secs(120),
            max_job_attempts: 3,
            login_throttle: ThrottleSettings::default(),
            suspicion: SuspicionSettings::default(),
            webhook_retry_base: Duration::from_secs(10),
        }
    }
}

/// Who is calling: established by [`Idv::authenticate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub role: Role,
    /// What the credential allows: everything for a login token, the key's permissions for
    /// an API key. The role still limits what the user behind it may do.
    pub permissions: Permissions,
    /// The API key used, if any.
    pub api_key_id: Option<i64>,
}

impl Principal {
    /// A caller who logged in with a password: the role alone decides.
    pub fn user(user_id: UserId, role: Role) -> Self {
        Self {
            user_id,
            role,
            permissions: Permissions::ALL,
            api_key_id: None,
        }
    }

    /// `Forbidden` unless the credential allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<()> {
        if self.permissions.allows(permission) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Administration of keys and logs: an admin whose credential allows `admin`.
    pub fn require_admin_permission(&self) -> Result<()> {
        self.require_admin()?;
        self.require(Permission::Admin)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admins may act on anyone; users only on themselves.
    pub fn may_act_for(&self, user_id: UserId) -> Result<()> {
        if self.is_admin() || self.user_id == user_id {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    pub fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// The identity-verification service: accounts, verifications and their processing.
pub struct Idv {
    pub(crate) ports: Ports,
    pub(crate) tokens: TokenAuthority,
    pub(crate) settings: Settings,
    /// Wakes workers when a job is queued.
    pub(crate) work: Notify,
    pub(crate) throttle: LoginThrottle,
}

impl Idv {
    /// Assembles the service. Fails when the settings are not usable.
    pub fn new(ports: Ports, settings: Settings) -> Result<Self> {
        settings
            .policy
            .validate()
            .map_err(|why| Error::invalid("policy", "invalid_setting", why))?;
        let tokens = TokenAuthority::new(&settings.jwt_secret, settings.token_ttl)?;
        let throttle = LoginThrottle::new(settings.login_throttle);
        Ok(Self {
            ports,
            tokens,
            settings,
            work: Notify::new(),
            throttle,
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.settings.policy
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn scorer(&self) -> &Arc<dyn Scorer> {
        &self.ports.scorer
    }
}

/// Runs CPU-heavy work on a blocking thread in the caller's span.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(Error::internal)
}

//! API keys: long-lived credentials for services, each with a set of permissions.
//!
//! A key reads `idv_<prefix>_<secret>`. Only the prefix (to find the key and to show it) and a
//! SHA-256 of the whole key are stored; the key itself is shown once, when it is created. Keys
//! carry 256 bits of randomness, so a fast hash is enough: there is nothing to brute-force.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::Secret;
use crate::domain::{now, Page, PageRequest, UserId};
use crate::error::{Error, Result};
use crate::idv::{Idv, Principal};
use crate::logs::{Event, Level};

/// What a key allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read requests (`GET`).
    Read,
    /// Creating and changing users and verifications.
    Write,
    /// Everything, including keys and logs.
    Admin,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Permission::Read, Permission::Write, Permission::Admin]
            .into_iter()
            .find(|p| p.as_str() == text)
    }
}

/// A set of permissions. `admin` implies the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions(u8);

impl Permissions {
    pub const ALL: Permissions = Permissions(0b111);

    fn bit(permission: Permission) -> u8 {
        1 << (permission as u8)
    }

    pub fn from_list(list: &[Permission]) -> Self {
        Self(list.iter().fold(0, |bits, p| bits | Self::bit(*p)))
    }

    /// Whether the set allows `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        self.0 & (Self::bit(permission) | Self::bit(Permission::Admin)) != 0
    }

    /// Whether every permission of `other` is allowed by this set.
    pub fn covers(self, other: Permissions) -> bool {
        [Permission::Read, Permission::Write, Permission::Admin]
            .into_iter()
            .all(|p| other.0 & Self::bit(p) == 0 || self.allows(p))
    }
}

/// A stored key (never the key itself).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    /// Sorted, without duplicates.
    pub permissions: Vec<Permission>,
    /// The visible start of the key, `idv_<prefix>`.
    pub prefix: String,
    pub key_hash: String,
    /// The administrator who created the key; the key acts with their role.
    pub owner_id: UserId,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key to be stored.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub permissions: Vec<Permission>,
    pub prefix: String,
    pub key_hash: String,
    pub owner_id: UserId,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Changes to a key; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ApiKeyChanges {
    pub name: Option<String>,
    pub permissions: Option<Vec<Permission>>,
}

/// What a client asks for when creating or changing a key.
#[derive(Debug, Clone, Default)]
pub struct KeyRequest {
    pub name: Option<String>,
    pub permissions: Option<Vec<String>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A freshly created key, with the secret shown this once.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub key: Secret,
    pub record: ApiKey,
}

const KEY_PREFIX: &str = "idv_";
const MAX_NAME_CHARS: usize = 100;

/// SHA-256 of a whole key, hex-encoded.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The stored prefix of a presented key, if it has the shape of one.
pub fn prefix_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (visible, secret) = rest.split_once('_')?;
    let ok =
        visible.len() == 8 && secret.len() == 43 && visible.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| &key[..KEY_PREFIX.len() + visible.len()])
}

fn generate_key() -> (String, String) {
    let mut visible = [0u8; 4];
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut visible);
    rand::thread_rng().fill_bytes(&mut secret);
    use base64::Engine;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(secret)
        .replace(['-', '_'], "x");
    let prefix = format!("{KEY_PREFIX}{}", hex::encode(visible));
    (format!("{prefix}_{secret}"), prefix)
}

fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "name",
            "invalid_name",
            "name must be 1 to 100 characters",
        ));
    }
    Ok(name.to_string())
}

/// Parses permission names: non-empty, known, no duplicates; the result is sorted.
fn parse_permissions(names: &[String]) -> Result<Vec<Permission>> {
    if names.is_empty() {
        return Err(Error::invalid(
            "permissions",
            "required",
            "give at least one permission",
        ));
    }
    let mut permissions = Vec::new();
    for name in names {
        let Some(permission) = Permission::parse(name) else {
            return Err(Error::invalid(
                "permissions",
                "unknown_permission",
                format!("unknown permission {name:?}; use read, write or admin"),
            ));
        };
        if !permissions.contains(&permission) {
            permissions.push(permission);
        }
    }
    permissions.sort();
    Ok(permissions)
}

fn check_grant(caller: &Principal, permissions: &[Permission]) -> Result<()> {
    if caller
        .permissions
        .covers(Permissions::from_list(permissions))
    {
        Ok(())
    } else {
        Err(Error::invalid(
            "permissions",
            "exceeds_caller",
            "a key cannot have permissions its creator lacks",
        ))
    }
}

impl Idv {
    /// Creates a key. Admins only, and never with more than the caller holds.
    pub async fn create_api_key(
        &self,
        caller: &Principal,
        request: KeyRequest,
    ) -> Result<CreatedKey> {
        caller.require_admin_permission()?;
        let name = validate_name(request.name.as_deref().unwrap_or_default())?;
        let permissions = parse_permissions(request.permissions.as_deref().unwrap_or_default())?;
        check_grant(caller, &permissions)?;
        if request.expires_at.is_some_and(|at| at <= now()) {
            return Err(Error::invalid(
                "expires_at",
                "in_the_past",
                "expires_at must be in the future",
            ));
        }
        let horizon = now() + chrono::Duration::days(3653);
        if request.expires_at.is_some_and(|at| at > horizon) {
            return Err(Error::invalid(
                "expires_at",
                "too_far",
                "expires_at must be within 10 years",
            ));
        }
        let (key, prefix) = generate_key();
        let new = NewApiKey {
            name,
            permissions,
            prefix,
            key_hash: hash_key(&key),
            owner_id: caller.user_id,
            expires_at: request.expires_at,
        };
        let record = self.ports.api_keys.create_api_key(new).await?;
        self.record(
            Level::Info,
            Event::KeyCreated,
            format!("API key {} created", record.id),
            caller.user_id,
        )
        .await;
        Ok(CreatedKey {
            key: Secret::new(key),
            record,
        })
    }

    pub async fn list_api_keys(
        &self,
        caller: &Principal,
        page: PageRequest,
    ) -> Result<Page<ApiKey>> {
        caller.require_admin_permission()?;
        self.ports.api_keys.list_api_keys(page).await
    }

    pub async fn get_api_key(&self, caller: &Principal, id: i64) -> Result<ApiKey> {
        caller.require_admin_permission()?;
        self.ports.api_keys.get_api_key(id).await
    }

    pub async fn update_api_key(
        &self,
        caller: &Principal,
        id: i64,
        request: KeyRequest,
    ) -> Result<ApiKey> {
        caller.require_admin_permission()?;
        let name = request.name.as_deref().map(validate_name).transpose()?;
        let permissions = request
            .permissions
            .as_deref()
            .map(parse_permissions)
            .transpose()?;
        if let Some(permissions) = &permissions {
            check_grant(caller, permissions)?;
        }
        self.ports
            .api_keys
            .update_api_key(id, ApiKeyChanges { name, permissions })
            .await
    }

    /// Revokes (deletes) a key; it stops working at once.
    pub async fn revoke_api_key(&self, caller: &Principal, id: i64) -> Result<()> {
        caller.require_admin_permission()?;
        self.ports.api_keys.delete_api_key(id).await?;
        self.record(
            Level::Info,
            Event::KeyRevoked,
            format!("API key {id} revoked"),
            caller.user_id,
        )
        .await;
        Ok(())
    }

    /// Establishes the caller from an API key: known, not expired, owner still there.
    pub async fn authenticate_key(&self, key: &str) -> Result<Principal> {
        let prefix = prefix_of(key).ok_or(Error::Unauthorized)?;
        let stored = match self.ports.api_keys.find_api_key(prefix).await? {
            Some(stored) => stored,
            None => return Err(Error::Unauthorized),
        };
        if !constant_time_eq(stored.key_hash.as_bytes(), hash_key(key).as_bytes()) {
            return Err(Error::Unauthorized);
        }
        if stored.expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(Error::Unauthorized);
        }
        let owner = match self.ports.users.get_user(stored.owner_id).await {
            Ok(owner) => owner,
            Err(Error::NotFound { .. }) => return Err(Error::Unauthorized),
            Err(e) => return Err(e),
        };
        if let Err(e) = self.ports.api_keys.touch_api_key(stored.id, now()).await {
            tracing::warn!(error = %e, key_id = stored.id, "could not record key use");
        }
        Ok(Principal {
            user_id: owner.id,
            role: owner.role,
            permissions: Permissions::from_list(&stored.permissions),
            api_key_id: Some(stored.id),
        })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_a_findable_prefix() {
        let (key, prefix) = generate_key();
        assert_eq!(prefix_of(&key), Some(prefix.as_str()));
        assert!(prefix_of("idv_zz_short").is_none());
        assert!(prefix_of("Bearer something").is_none());
    }

    #[test]
    fn admin_implies_every_permission() {
        let admin = Permissions::from_list(&[Permission::Admin]);
        assert!(admin.allows(Permission::Read) && admin.allows(Permission::Write));
        let read = Permissions::from_list(&[Permission::Read]);
        assert!(!read.allows(Permission::Write));
        assert!(!read.covers(Permissions::from_list(&[
            Permission::Read,
            Permission::Write
        ])));
        assert!(Permissions::ALL.covers(admin));
    }

    #[test]
    fn permissions_must_be_known_and_non_empty() {
        assert!(parse_permissions(&[]).is_err());
        assert!(parse_permissions(&["delete".into()]).is_err());
        let parsed = parse_permissions(&["write".into(), "read".into(), "read".into()]).unwrap();
        assert_eq!(parsed, vec![Permission::Read, Permission::Write]);
    }
}

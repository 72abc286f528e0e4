//! Account use cases: register, log in, authenticate, read, update and delete users.

use std::net::IpAddr;

use crate::api_keys::Permission;
use crate::auth::{self, IssuedToken};
use crate::domain::{NewUser, Page, PageRequest, Role, User, UserChanges, UserId};
use crate::error::{Error, Result};
use crate::idv::{blocking, Idv, Principal};
use crate::logs::{Event, Level};
use crate::ports::{email_key, UserStore};

/// A new account's details as a client sends them.
#[derive(Clone)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub full_name: String,
}

/// Changes a client asks for; `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct ProfileUpdate {
    pub email: Option<String>,
    pub full_name: Option<String>,
    pub password: Option<String>,
}

const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 256;
const MAX_NAME_CHARS: usize = 200;
const MAX_EMAIL_CHARS: usize = 254;

/// Dummy hash verified when an e-mail is unknown, so that login takes as long either way.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Y9hPz2pT2mIuFm0PvO4nOdb+O6m6p2Q3q6zj1jP0Ge4";

fn validate_email(email: &str) -> Result<String> {
    let email = email.trim();
    let invalid = |why: &'static str| Error::invalid("email", "invalid_email", why);
    if email.is_empty() {
        return Err(Error::invalid("email", "required", "email is required"));
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid("email must be at most 254 characters"));
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err(invalid("email must contain '@'"));
    };
    let well_formed = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c));
    if !well_formed {
        return Err(invalid("email is not a valid address"));
    }
    Ok(email.to_string())
}

/// Characters that render as nothing and would let two addresses look the same.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}')
}

fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid(
            "full_name",
            "required",
            "full_name must not be blank",
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "full_name",
            "invalid_name",
            "full_name must be at most 200 characters without control characters",
        ));
    }
    Ok(name.to_string())
}

fn validate_password(password: &str) -> Result<()> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(Error::invalid(
            "password",
            "invalid_password",
            "password must be 8 to 256 characters",
        ));
    }
    Ok(())
}

async fn hash(password: String) -> Result<String> {
    blocking(move || auth::hash_password(&password)).await?
}

impl Idv {
    /// Registers a user with the `user` role.
    pub async fn register(&self, registration: Registration) -> Result<User> {
        self.create_account(registration, Role::User).await
    }

    /// Creates an administrator (CLI and first start).
    pub async fn create_admin(&self, registration: Registration) -> Result<User> {
        self.create_account(registration, Role::Admin).await
    }

    /// Creates the administrator when the store has no users yet (first start); returns whether
    /// it created one.
    pub async fn ensure_admin(&self, registration: Registration) -> Result<bool> {
        // Only on first start: an administrator deleted later does not come back.
        let first_page = PageRequest {
            page: 1,
            per_page: 1,
        };
        if self.ports.users.list_users(first_page).await?.total > 0 {
            return Ok(false);
        }
        match self.create_admin(registration).await {
            Ok(_) => Ok(true),
            // Another instance created it at the same moment.
            Err(Error::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn create_account(&self, registration: Registration, role: Role) -> Result<User> {
        let user = create_account(self.ports.users.as_ref(), registration, role).await?;
        let message = format!("user {} registered with role {}", user.id, role.as_str());
        self.record(Level::Info, Event::UserRegistered, message, user.id)
            .await;
        Ok(user)
    }

    /// Checks e-mail and password and issues an access token. `Unauthorized` for an unknown
    /// address or a wrong password alike; `RateLimited` after repeated failures for the account
    /// or from `client`.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<IssuedToken> {
        let key = email_key(email);
        if key.chars().any(char::is_control) {
            // No stored address has one; some databases cannot even be asked.
            return Err(Error::Unauthorized);
        }
        if let Some(retry_after) = self.throttle.check(&key, client) {
            self.record(
                Level::Warn,
                Event::LoginThrottled,
                "login refused: too many failures".into(),
                None,
            )
            .await;
            return Err(Error::RateLimited { retry_after });
        }
        let user = self.ports.users.find_user_by_email(&key).await?;
        let hash = user
            .as_ref()
            .map_or(DUMMY_HASH.to_string(), |u| u.password_hash.clone());
        let password = password.to_string();
        let matches = blocking(move || auth::verify_password(&password, &hash)).await?;
        match user {
            Some(user) if matches => {
                self.throttle.record_success(&key);
                self.tokens.issue(user.id, user.role)
            }
            user => {
                let failures = self.throttle.record_failure(&key, client);
                let user_id = user.map(|u| u.id);
                let message = match user_id {
                    Some(id) => format!("login failed for user {id}: wrong password"),
                    None => "login failed: unknown account".to_string(),
                };
                self.record(Level::Warn, Event::LoginFailed, message, user_id)
                    .await;
                if let Some(user_id) = user_id {
                    self.watch_failed_logins(user_id, failures).await;
                }
                Err(Error::Unauthorized)
            }
        }
    }

    /// Establishes the caller from an access token. A token of a deleted user is refused.
    pub async fn authenticate(&self, token: &str) -> Result<Principal> {
        let subject = self.tokens.verify(token)?;
        match self.ports.users.get_user(subject.user_id).await {
            Ok(user) => Ok(Principal::user(user.id, user.role)),
            Err(Error::NotFound { .. }) => Err(Error::Unauthorized),
            Err(e) => Err(e),
        }
    }

    pub async fn get_user(&self, caller: &Principal, id: UserId) -> Result<User> {
        caller.require(Permission::Read)?;
        caller.may_act_for(id)?;
        self.ports.users.get_user(id).await
    }

    /// Every user, for administrators.
    pub async fn list_users(&self, caller: &Principal, page: PageRequest) -> Result<Page<User>> {
        caller.require(Permission::Read)?;
        caller.require_admin()?;
        self.ports.users.list_users(page).await
    }

    pub async fn update_user(
        &self,
        caller: &Principal,
        id: UserId,
        update: ProfileUpdate,
    ) -> Result<User> {
        caller.require(Permission::Write)?;
        caller.may_act_for(id)?;
        if update.email.is_some() || update.password.is_some() {
            // Credentials give everything their account has: a key may change them only if it
            // could do everything already.
            Self::require_credentials_power(caller)?;
        }
        let email = update.email.as_deref().map(validate_email).transpose()?;
        let full_name = update.full_name.as_deref().map(validate_name).transpose()?;
        if let Some(password) = &update.password {
            validate_password(password)?;
        }
        if let Some(email) = &email {
            let owner = self
                .ports
                .users
                .find_user_by_email(&email_key(email))
                .await?;
            if owner.is_some_and(|owner| owner.id != id) {
                return Err(email_taken());
            }
        }
        let password_hash = match update.password {
            Some(password) => Some(hash(password).await?),
            None => None,
        };
        let changes = UserChanges {
            email,
            full_name,
            password_hash,
        };
        self.ports.users.update_user(id, changes).await
    }

    /// Deletes a user, their verifications and their images.
    pub async fn delete_user(&self, caller: &Principal, id: UserId) -> Result<()> {
        caller.require(Permission::Write)?;
        caller.may_act_for(id)?;
        self.protect_admins_from_keys(caller, id).await?;
        let target = self.ports.users.get_user(id).await?;
        if target.role == Role::Admin && !self.another_admin_exists(id).await? {
            return Err(Error::conflict(
                "user_id",
                "last_admin",
                "the last administrator cannot be deleted; make another one first",
            ));
        }
        // Revoked one by one, so that each revocation is an event and a log entry.
        for key_id in self.api_keys_of(id).await? {
            match self.ports.api_keys.delete_api_key(key_id).await {
                Ok(()) | Err(Error::NotFound { .. }) => {
                    let message = format!("API key {key_id} revoked with its owner {id}");
                    self.record(Level::Info, Event::KeyRevoked, message, caller.user_id)
                        .await;
                }
                Err(e) => return Err(e),
            }
        }
        let prefixes = self.ports.users.delete_user(id).await?;
        for prefix in prefixes {
            self.remove_images(&prefix).await;
        }
        self.record(
            Level::Info,
            Event::UserDeleted,
            format!("user {id} deleted"),
            id,
        )
        .await;
        Ok(())
    }
}

/// Validates and stores a new account with `role`. Used by [`Idv`] and by administration tools
/// that work on a store directly (such as `idv admin create`).
pub async fn create_account(
    users: &dyn UserStore,
    registration: Registration,
    role: Role,
) -> Result<User> {
    let email = validate_email(&registration.email)?;
    let full_name = validate_name(&registration.full_name)?;
    validate_password(&registration.password)?;
    if users
        .find_user_by_email(&email_key(&email))
        .await?
        .is_some()
    {
        return Err(email_taken());
    }
    let password_hash = hash(registration.password).await?;
    let user = NewUser {
        email,
        full_name,
        role,
        password_hash,
    };
    let created = users.create_user(user).await?;
    tracing::info!(
        user_id = created.id,
        role = role.as_str(),
        "user registered"
    );
    Ok(created)
}

impl Idv {
    /// Whether an administrator other than `id` exists.
    async fn another_admin_exists(&self, id: UserId) -> Result<bool> {
        let mut page = PageRequest {
            page: 1,
            per_page: PageRequest::MAX_PER_PAGE,
        };
        loop {
            let users = self.ports.users.list_users(page).await?;
            if users
                .items
                .iter()
                .any(|u| u.role == Role::Admin && u.id != id)
            {
                return Ok(true);
            }
            if u64::from(page.page) >= users.total_pages() {
                return Ok(false);
            }
            page.page += 1;
        }
    }

    /// Ids of the API keys `owner` created.
    async fn api_keys_of(&self, owner: UserId) -> Result<Vec<i64>> {
        let mut ids = Vec::new();
        let mut page = PageRequest {
            page: 1,
            per_page: PageRequest::MAX_PER_PAGE,
        };
        loop {
            let keys = self.ports.api_keys.list_api_keys(page).await?;
            ids.extend(
                keys.items
                    .iter()
                    .filter(|k| k.owner_id == owner)
                    .map(|k| k.id),
            );
            if u64::from(page.page) >= keys.total_pages() {
                return Ok(ids);
            }
            page.page += 1;
        }
    }

    /// Whether `caller` is an API key without the `admin` permission.
    fn limited_key(caller: &Principal) -> bool {
        caller.api_key_id.is_some() && !caller.permissions.allows(Permission::Admin)
    }

    /// A key without `admin` may not change anyone's e-mail or password: credentials would give
    /// it everything the account can do.
    fn require_credentials_power(caller: &Principal) -> Result<()> {
        if Self::limited_key(caller) {
            return Err(Error::Forbidden);
        }
        Ok(())
    }

    /// A key without `admin` may not delete an administrator.
    async fn protect_admins_from_keys(&self, caller: &Principal, id: UserId) -> Result<()> {
        if Self::limited_key(caller) && self.ports.users.get_user(id).await?.role == Role::Admin {
            return Err(Error::Forbidden);
        }
        Ok(())
    }
}

fn email_taken() -> Error {
    Error::conflict(
        "email",
        "email_taken",
        "a user with this email already exists",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_is_a_valid_argon2id_string() {
        assert!(argon2::PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn trims_emails_and_keeps_tags() {
        assert_eq!(
            validate_email("  a+tag@example.com ").unwrap(),
            "a+tag@example.com"
        );
        assert!(validate_email("no-at-sign").is_err());
        assert!(validate_email("a@localhost").is_err());
        assert!(validate_email("a b@example.com").is_err());
        assert!(validate_email("ann@example.com\u{200b}").is_err());
        assert_eq!(
            email_key("ａｎｎ@Example.com"),
            email_key("ann@example.com")
        );
    }
}

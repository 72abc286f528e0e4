//! Credentials: password hashing and signed access tokens.

use std::time::Duration;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::domain::{Role, UserId};
use crate::error::{Error, Result};

/// A secret string whose `Debug` output never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Passwords are compared as Unicode NFC, so that the same text typed as precomposed or as
/// combining characters is the same password.
fn normalise(password: &str) -> String {
    password.nfc().collect()
}

/// Hashes a password with argon2id into a PHC string. CPU-heavy: call on a blocking thread.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(normalise(password).as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(Error::internal)
}

/// Checks a password against a PHC string. CPU-heavy: call on a blocking thread.
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    argon2()
        .verify_password(normalise(password).as_bytes(), &parsed)
        .is_ok()
}

/// Claims carried by an access token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    iat: i64,
    exp: i64,
}

/// Who a valid token says the caller is. The role is re-read from the store on every request;
/// the token's role is informational.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSubject {
    pub user_id: UserId,
}

/// Issues and checks HS256 access tokens.
///
/// Exactly one algorithm is accepted; tokens without `exp`, with a non-numeric or past `exp`
/// (beyond [`TokenAuthority::LEEWAY`]), or with a bad signature are refused.
pub struct TokenAuthority {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl std::fmt::Debug for TokenAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAuthority")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A freshly issued token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: Secret,
    pub expires_in: u64,
}

impl TokenAuthority {
    /// Clock skew tolerated when checking `exp`.
    pub const LEEWAY: Duration = Duration::from_secs(30);
    /// Shortest secret accepted: 32 bytes, the size of the HMAC-SHA256 output.
    pub const MIN_SECRET_LEN: usize = 32;

    /// `secret` must be at least [`Self::MIN_SECRET_LEN`] bytes.
    pub fn new(secret: &Secret, ttl: Duration) -> Result<Self> {
        let bytes = secret.expose().as_bytes();
        if bytes.len() < Self::MIN_SECRET_LEN {
            return Err(Error::invalid(
                "IDV_JWT_SECRET",
                "secret_too_short",
                format!(
                    "the JWT secret must be at least {} bytes",
                    Self::MIN_SECRET_LEN
                ),
            ));
        }
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            ttl,
        })
    }

    /// Issues a token for a user.
    pub fn issue(&self, user_id: UserId, role: Role) -> Result<IssuedToken> {
        let now = chrono::Utc::now().timestamp();
        let ttl = self.ttl.as_secs();
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            iat: now,
            exp: now + ttl as i64,
        };
        let token = jsonwebtoken::encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &self.encoding,
        )
        .map_err(Error::internal)?;
        Ok(IssuedToken {
            access_token: Secret::new(token),
            expires_in: ttl,
        })
    }

    /// Checks a token and returns its subject; `Unauthorized` for anything not valid.
    pub fn verify(&self, token: &str) -> Result<TokenSubject> {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = Self::LEEWAY.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| Error::Unauthorized)?;
        let user_id = data
            .claims
            .sub
            .parse::<UserId>()
            .map_err(|_| Error::Unauthorized)?;
        Ok(TokenSubject { user_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority() -> TokenAuthority {
        TokenAuthority::new(
            &Secret::new("0123456789abcdef0123456789abcdef"),
            Duration::from_secs(60),
        )
        .unwrap()
    }

    #[test]
    fn accepts_a_token_it_issued() {
        let auth = authority();
        let token = auth.issue(7, Role::User).unwrap();
        assert_eq!(auth.verify(token.access_token.expose()).unwrap().user_id, 7);
    }

    #[test]
    fn rejects_token_signed_with_another_secret() {
        let other = TokenAuthority::new(
            &Secret::new("another-secret-another-secret-xx"),
            Duration::from_secs(60),
        )
        .unwrap();
        let token = other.issue(7, Role::Admin).unwrap();
        assert_eq!(
            authority().verify(token.access_token.expose()),
            Err(Error::Unauthorized)
        );
    }

    #[test]
    fn rejects_token_signed_with_none() {
        // Header {"alg":"none","typ":"JWT"}, claims with a far exp, empty signature.
        let token = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.\
                     eyJzdWIiOiIxIiwicm9sZSI6ImFkbWluIiwiaWF0IjowLCJleHAiOjQxMDI0NDQ4MDB9.";
        assert_eq!(authority().verify(token), Err(Error::Unauthorized));
    }

    #[test]
    fn rejects_expired_token() {
        let auth = authority();
        let claims = Claims {
            sub: "1".into(),
            role: Role::User,
            iat: 0,
            exp: 1000,
        };
        let token = jsonwebtoken::encode(&Header::default(), &claims, &auth.encoding).unwrap();
        assert_eq!(auth.verify(&token), Err(Error::Unauthorized));
    }

    #[test]
    fn refuses_short_secret() {
        assert!(TokenAuthority::new(&Secret::new("short"), Duration::from_secs(60)).is_err());
    }

    #[test]
    fn password_matches_in_either_unicode_normal_form() {
        let hash = hash_password("Ma\u{f1}ana").unwrap();
        assert!(verify_password("Man\u{303}ana", &hash));
        assert!(!verify_password("Manana", &hash));
    }

    #[test]
    fn secret_debug_hides_value() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}

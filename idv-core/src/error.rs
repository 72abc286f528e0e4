//! The one error type of the core: outcomes, not library types.

use std::borrow::Cow;

/// What went wrong, as a caller needs to know it.
///
/// Adapters map their own errors into this once; the server maps it to HTTP in one place.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The named resource does not exist (or the caller may not know that it does).
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// The request conflicts with stored state, such as an e-mail address already in use.
    #[error("{field}: {message}")]
    Conflict {
        field: Cow<'static, str>,
        code: &'static str,
        message: Cow<'static, str>,
    },
    /// The request is well-formed but a value in it is not acceptable.
    #[error("{field}: {message}")]
    Invalid {
        field: Cow<'static, str>,
        code: &'static str,
        message: Cow<'static, str>,
    },
    /// No valid credential.
    #[error("authentication required")]
    Unauthorized,
    /// A valid credential that does not allow this.
    #[error("not allowed")]
    Forbidden,
    /// Too many attempts; try again after the given time.
    #[error("too many attempts; retry after {retry_after:?}")]
    RateLimited { retry_after: std::time::Duration },
    /// A backing service is unreachable or busy; retrying may help.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A fault of ours. The text is for logs, never for clients.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// An [`Error::Invalid`] for `field` with a stable `code`.
    pub fn invalid(
        field: impl Into<Cow<'static, str>>,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::Invalid {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// An [`Error::Conflict`] for `field` with a stable `code`.
    pub fn conflict(
        field: impl Into<Cow<'static, str>>,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::Conflict {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// An [`Error::Internal`] carrying `cause` for the logs.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}

/// Result with the core [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

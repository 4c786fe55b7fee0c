//! Why an operation was refused or failed, and what can stop the service starting.

use crate::config::ConfigError;
use replaydesk_delivery::DeliveryError;
use replaydesk_emulator::EmulatorError;
use replaydesk_im::client::ImError;
use replaydesk_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad input: the message starts with the field at fault.
    #[error("{0}")]
    Invalid(String),
    /// A bad query parameter (the message starts with it).
    #[error("{0}")]
    BadRequest(String),
    /// A body that is not JSON at all.
    #[error("{0}")]
    Malformed(String),
    /// No credentials, or wrong ones.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials for something else (e.g. another class's report token).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The IM service refused or could not be reached.
    #[error("IM call failed: {0}")]
    Im(#[from] ImError),
    /// Stopping, or not able to take work now.
    #[error("{0}")]
    Unavailable(String),
    /// Too many tries (failed sign-ins): try again after `retry_after_secs`.
    #[error("{detail}; retry in {retry_after_secs} s")]
    RateLimited {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    /// The stable code both doors give in `{"error","detail"}` (the HTTP door adds the
    /// status that goes with it).
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Invalid(_) => "invalid_request",
            ServiceError::BadRequest(_) => "bad_request",
            ServiceError::Malformed(_) => "malformed_json",
            ServiceError::Unauthorized(_) => "unauthorized",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Im(_) => "im_error",
            ServiceError::Unavailable(_) => "unavailable",
            ServiceError::RateLimited { .. } => "rate_limited",
            ServiceError::Internal(_) => "internal",
        }
    }
}

/// What a door's caller receives: the code and the message.
impl From<ServiceError> for crate::api::ErrorBody {
    fn from(e: ServiceError) -> Self {
        Self {
            error: e.code().to_owned(),
            detail: e.to_string(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ServiceError::NotFound(format!("{what} not found")),
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            StoreError::Invalid(m) => ServiceError::Invalid(m),
            other => {
                tracing::error!(error = %other, "database error");
                ServiceError::Internal("database error".into())
            }
        }
    }
}

impl From<DeliveryError> for ServiceError {
    fn from(e: DeliveryError) -> Self {
        match e {
            DeliveryError::Store(s) => s.into(),
            DeliveryError::Invalid(m) => ServiceError::Invalid(m),
        }
    }
}

/// What can stop [`ReplayDesk::start`].
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot start the sandbox IM emulator: {0}")]
    Emulator(#[from] EmulatorError),
    #[error("cannot make the IM client: {0}")]
    Im(#[from] ImError),
    #[error("cannot start the delivery worker: {0}")]
    Delivery(#[from] DeliveryError),
}

use thiserror::Error;

/// Why a message could not be read or written. Field names are given as paths
/// (`value.uid`) so a support engineer can find the culprit in the payload.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("Data is not valid JSON: {0}")]
    NotJson(String),
    #[error("Data is not a JSON object")]
    NotAnObject,
    #[error("required field `{field}` is missing")]
    MissingField { field: String },
    #[error("field `{field}` is unusable: {reason}")]
    InvalidField { field: String, reason: String },
    #[error("type {0} is not a replay protocol message (expected 1001, 1002, 1003 or 1004)")]
    UnknownType(i64),
    #[error("message body is {size} bytes, over the IM limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
}

impl ProtocolError {
    pub(crate) fn missing(field: &str) -> Self {
        ProtocolError::MissingField {
            field: field.to_owned(),
        }
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        ProtocolError::InvalidField {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

//! Errors, sorted by who is at fault: [`ServeError`] stops the server from starting (the
//! operator fixes the settings); [`ApiError`] answers one request (the client fixes the
//! request, or it is ours and logged).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use thiserror::Error;

/// Why the server cannot start, or an auth-store operation of the CLI failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address is taken or not ours.
    #[error(
        "cannot listen on {address}: {source}. Pick another --listen address or stop what uses it"
    )]
    Bind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate or key cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The token store cannot be used.
    #[error("the token store {path}: {message}")]
    Tokens {
        /// `auth.sqlite`.
        path: String,
        /// What failed.
        message: String,
    },
    /// The lake cannot be opened.
    #[error(transparent)]
    Lake(#[from] trailhound_lake::LakeError),
    /// A setting is wrong.
    #[error("{0}")]
    Config(String),
    /// Serving failed after it started.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// An answer to one request that went wrong: an HTTP status, a stable code for programs and a
/// message for people. Sent as `{"error": code, "message": message}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: who is asking is not known.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: known, but not allowed.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 422: understood, but too heavy to answer within the server's limits.
    pub fn too_heavy(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 503: the lake is not there yet.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// 500: ours. The details go to the log; the client gets the gist.
    pub fn internal(message: impl std::fmt::Display) -> ApiError {
        tracing::error!("{message}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error: {message}"),
        )
    }

    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({"error": self.code, "message": self.message})),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"trailhound\""),
            );
        }
        response
    }
}

impl From<trailhound_lake::LakeError> for ApiError {
    fn from(err: trailhound_lake::LakeError) -> ApiError {
        match err {
            trailhound_lake::LakeError::Config(message) => {
                ApiError::bad_request("invalid", message)
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<trailhound_query::QueryError> for ApiError {
    fn from(err: trailhound_query::QueryError) -> ApiError {
        use trailhound_query::QueryError as Q;
        match &err {
            Q::NotReadOnly(_) => ApiError::bad_request("not_read_only", err.to_string()),
            Q::Plan(_) => ApiError::bad_request("invalid_sql", err.to_string()),
            Q::Exhausted(_) => ApiError::too_heavy("query_memory", err.to_string()),
            _ => ApiError::internal(err),
        }
    }
}

//! The error type of `millrace-server`, and MLflow's error replies.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use millrace_core::spec::validate::redact_secrets;
use millrace_metadata::MetadataError;
use serde_json::json;

/// What can go wrong starting or running the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The address cannot be listened on.
    #[error(
        "cannot listen on {address}: {source} (is another server using the port? try --bind 127.0.0.1:0)"
    )]
    Bind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
    /// An MLflow server the mirror writes to could not be reached.
    #[error(
        "cannot reach the MLflow server at {url} ({call}): {reason} (is it running, and is the URL its tracking URI?)"
    )]
    Unreachable {
        /// The server's tracking URI.
        url: String,
        /// The call (`POST runs/create`).
        call: String,
        /// Why.
        reason: String,
    },
    /// An MLflow server the mirror writes to refused a call.
    #[error("the MLflow server at {url} answered {call} with {status} {code}: {message}")]
    Refused {
        /// The server's tracking URI.
        url: String,
        /// The call (`POST runs/create`).
        call: String,
        /// The HTTP status.
        status: u16,
        /// MLflow's error code (`RESOURCE_DOES_NOT_EXIST`), or empty when the reply had none.
        code: String,
        /// What it said.
        message: String,
    },
    /// The MLflow server keeps run files where the mirror cannot write them over HTTP.
    #[error(
        "the MLflow server at {url} keeps run files at `{artifact_uri}`; the mirror uploads files through MLflow's artifact proxy (`mlflow-artifacts:/`): start the server with artifact serving on (the default since MLflow 2; not --no-serve-artifacts)"
    )]
    ArtifactStore {
        /// The server's tracking URI.
        url: String,
        /// The remote run's artifact URI.
        artifact_uri: String,
    },
    /// The scheduler cannot go on (a schedule this machine cannot read, the store failing).
    #[error("the scheduler of `{pipeline}` stopped: {reason}")]
    Schedule {
        /// The pipeline.
        pipeline: String,
        /// Why.
        reason: String,
    },
    /// The run to mirror, or what it made, could not be read here.
    #[error("cannot mirror run {run_id}: {reason}")]
    Mirror {
        /// The Millrace run.
        run_id: String,
        /// Why.
        reason: String,
    },
}

/// An error answered the way an MLflow server answers it: an HTTP status and
/// `{"error_code": ..., "message": ...}`, the code the `mlflow` client acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// MLflow's error code (`RESOURCE_DOES_NOT_EXIST`).
    pub code: &'static str,
    /// What went wrong, in words.
    pub message: String,
}

impl ApiError {
    /// `400 INVALID_PARAMETER_VALUE`: a request the API refuses.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_PARAMETER_VALUE",
            message: message.into(),
        }
    }

    /// `400 BAD_REQUEST`: a body that is not the JSON the endpoint reads.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "BAD_REQUEST",
            message: message.into(),
        }
    }

    /// `404 RESOURCE_DOES_NOT_EXIST`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "RESOURCE_DOES_NOT_EXIST",
            message: message.into(),
        }
    }

    /// `404 ENDPOINT_NOT_FOUND`: no such route.
    pub fn no_endpoint(method: &str, path: &str) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "ENDPOINT_NOT_FOUND",
            message: format!("no endpoint {method} {path}"),
        }
    }

    /// `403 PERMISSION_DENIED`: the request may not do this (a UI action without the right token).
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: "PERMISSION_DENIED",
            message: message.into(),
        }
    }

    /// `409 INVALID_STATE`: the request conflicts with how things stand (canceling a run that is not executing).
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::CONFLICT,
            code: "INVALID_STATE",
            message: message.into(),
        }
    }

    /// `500 INTERNAL_ERROR`.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "INTERNAL_ERROR",
            message: message.into(),
        }
    }
}

impl From<MetadataError> for ApiError {
    fn from(error: MetadataError) -> Self {
        let message = error.to_string();
        match error {
            MetadataError::NotFound { .. } => ApiError::not_found(message),
            MetadataError::AlreadyExists(_) => ApiError {
                status: StatusCode::BAD_REQUEST,
                code: "RESOURCE_ALREADY_EXISTS",
                message,
            },
            MetadataError::InvalidArgument(_)
            | MetadataError::InvalidFilter { .. }
            | MetadataError::InvalidOrderBy { .. }
            | MetadataError::PropertyTypeMismatch { .. }
            | MetadataError::UndeclaredProperty { .. } => ApiError::invalid(message),
            _ => ApiError::internal(message),
        }
    }
}

impl From<millrace_runner::RunnerError> for ApiError {
    fn from(error: millrace_runner::RunnerError) -> Self {
        use millrace_runner::RunnerError;
        match error {
            RunnerError::Metadata(inner) => ApiError::from(inner),
            error @ (RunnerError::UnknownRun { .. } | RunnerError::UnknownArtifact { .. }) => {
                ApiError::not_found(error.to_string())
            }
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// The message as it may be shown to a client: without any password or secret in it.
    pub fn shown_message(&self) -> std::borrow::Cow<'_, str> {
        redact_secrets(&self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.shown_message().into_owned();
        (
            self.status,
            Json(json!({"error_code": self.code, "message": message})),
        )
            .into_response()
    }
}

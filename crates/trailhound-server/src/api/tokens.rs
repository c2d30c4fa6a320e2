//! Token management for admins: list, create (the secret is shown once), revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::state::AppState;

pub(super) async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let tokens = state.auth.tokens().map_err(ApiError::internal)?;
    Ok(Json(json!({ "tokens": tokens })))
}

#[derive(Debug, Deserialize)]
pub(super) struct CreateRequest {
    name: String,
    role: String,
}

pub(super) async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(Role::Admin)?;
    let request: CreateRequest =
        super::json_body(&body, "{\"name\": \"…\", \"role\": \"viewer\"}")?;
    let role = Role::parse(&request.role).ok_or_else(|| {
        ApiError::bad_request(
            "invalid",
            format!("role {:?}: use viewer or admin", request.role),
        )
    })?;
    let (info, secret) = state
        .auth
        .create_token(&request.name, role)
        .map_err(|err| match err {
            crate::error::ServeError::Config(message) => ApiError::bad_request("invalid", message),
            other => ApiError::internal(other),
        })?;
    tracing::info!(token = %info.name, role = role.as_str(), by = %caller.token.name, "token created");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": info, "secret": secret })),
    ))
}

pub(super) async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Role::Admin)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request("invalid", format!("{id:?} is not a token id")))?;
    if !state.auth.revoke(id).map_err(ApiError::internal)? {
        return Err(ApiError::not_found(format!("no live token {id}")));
    }
    tracing::info!(token = id, by = %caller.token.name, "token revoked");
    Ok(Json(json!({ "revoked": id })))
}

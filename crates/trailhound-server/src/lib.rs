//! `trailhound serve`: the HTTP API, the web dashboard and their authentication, over the
//! same lake and query engine as the CLI.
//!
//! ```text
//!  browser ──/login──► session cookie ─┐
//!  program ──Authorization: Bearer ────┼─► auth ─► /api/v1/* ─► LakeView ─► QueryEngine (SQL)
//!                                      │                                  └► Catalog (findings,
//!  Prometheus ──/metrics (bearer) ─────┘                                     status, triage)
//! ```
//!
//! - [`auth`]: tokens (`trailhound token create --role viewer|admin`) stored hashed in
//!   `auth.sqlite`; browser sessions; CSRF; roles.
//! - [`api`]: the JSON endpoints; their OpenAPI document is `/api/v1/openapi.json`.
//! - [`lake_view`]: one query engine per committed state of the lake, with time, memory and
//!   concurrency limits, and answers reused until the lake changes.
//! - `dashboard`: the embedded single-page dashboard; `metrics`: Prometheus `/metrics`;
//!   `tls`: optional HTTPS with rustls.
#![deny(missing_docs)]

pub mod api;
pub mod auth;
mod dashboard;
mod error;
pub mod lake_view;
mod metrics;
mod openapi;
mod state;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use trailhound_query::QueryLimits;

pub use auth::{AuthStore, Role, TokenInfo};
pub use error::{ApiError, ServeError};
pub use state::{AppState, ServeSettings, TlsFiles};

/// The whole application: API, dashboard, login, health and metrics.
pub fn router(state: AppState) -> Router {
    let authenticated = from_fn_with_state(state.clone(), auth::authenticate);
    let api = api::router().route_layer(authenticated.clone());
    let metrics = Router::new()
        .route("/metrics", get(metrics_text))
        .route_layer(authenticated);
    Router::new()
        .nest("/api/v1", api)
        .merge(metrics)
        .merge(dashboard::router())
        .route("/health", get(health))
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
        .fallback(not_found)
        .layer(from_fn_with_state(state.clone(), security_headers))
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
}

/// Builds the shared state for `settings`.
///
/// # Errors
///
/// When the token store cannot be opened.
pub fn state(settings: ServeSettings) -> Result<AppState, ServeError> {
    let auth = AuthStore::open(&settings.data_dir)?;
    let lake = lake_view::LakeView::new(
        settings.data_dir.clone(),
        QueryLimits {
            memory_bytes: Some(settings.query_memory),
        },
        settings.query_timeout,
        settings.cache_entries,
    );
    Ok(AppState {
        settings: Arc::new(settings),
        auth: Arc::new(auth),
        lake: Arc::new(lake),
        metrics: Arc::new(metrics::Metrics::default()),
    })
}

/// Serves until the process is stopped. `on_listening` is told the bound address (the port,
/// when `:0` was asked) before the first request is accepted.
///
/// Stopping the process at any moment is safe: every change the server makes (a triage, a
/// token, a session) is one SQLite transaction.
///
/// # Errors
///
/// [`ServeError`] when the address cannot be bound or the TLS files cannot be used.
pub async fn serve(
    mut settings: ServeSettings,
    on_listening: impl FnOnce(SocketAddr, bool),
) -> Result<(), ServeError> {
    let acceptor = settings.tls.as_ref().map(tls::load).transpose()?;
    if acceptor.is_some() {
        settings.secure_cookies = true;
    }
    let address = settings.listen;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind {
            address: address.to_string(),
            source,
        })?;
    let local = listener.local_addr()?;
    let app = router(state(settings)?);
    on_listening(local, acceptor.is_some());
    match acceptor {
        Some(acceptor) => {
            let listener = tls::TlsListener::new(listener, acceptor)?;
            axum::serve(listener, app).await?;
        }
        None => axum::serve(listener, app).await?,
    }
    Ok(())
}

/// [`serve`] on a runtime of its own, for a caller that is not async (the CLI): checks the
/// settings, starts one worker thread per core, and serves until an error.
///
/// # Errors
///
/// [`ServeError::Config`] for settings that cannot work; otherwise as [`serve`].
pub fn serve_blocking(
    settings: ServeSettings,
    on_listening: impl FnOnce(SocketAddr, bool),
) -> Result<(), ServeError> {
    if settings.query_timeout.is_zero() {
        return Err(ServeError::Config(
            "--query-timeout must be at least 1 second".to_owned(),
        ));
    }
    if settings.max_rows == 0 {
        return Err(ServeError::Config(
            "--max-rows must be at least 1".to_owned(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| ServeError::Config(format!("cannot start the server's runtime: {err}")))?;
    runtime.block_on(serve(settings, on_listening))
}

async fn health(State(state): State<AppState>) -> Response {
    axum::Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "lake": state.lake.exists(),
    }))
    .into_response()
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&state),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found(
        "no such page or endpoint; the API is under /api/v1 (see /api/v1/openapi.json)",
    )
}

/// Headers that keep the dashboard from being framed, sniffed, leaked by referrers or made to
/// run scripts it did not ship; and API answers from being cached.
async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    // A handler that serves a document of its own (a report) sets a stricter policy.
    if !headers.contains_key("content-security-policy") {
        set(
            headers,
            "content-security-policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        );
    }
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "x-frame-options", "DENY");
    set(headers, "referrer-policy", "no-referrer");
    set(headers, "cross-origin-opener-policy", "same-origin");
    set(headers, "cross-origin-resource-policy", "same-origin");
    if api {
        set(headers, "cache-control", "no-store");
    }
    if state.settings.tls.is_some() {
        set(headers, "strict-transport-security", "max-age=31536000");
    }
    response
}

//! The web dashboard: a few static files embedded in the binary (no build step, no separate
//! web server). The page is a small script that draws from the JSON API; everything it shows
//! comes from `/api/v1` with the browser's session.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::auth::caller_of;
use crate::state::AppState;

/// The embedded files: name, content type, content.
const ASSETS: [(&str, &str, &str); 4] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/charts.js"),
    ),
    (
        "login.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/login.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
];

const INDEX: &str = include_str!("../assets/index.html");
const LOGIN: &str = include_str!("../assets/login.html");

/// `/`, `/login` and `/assets/…`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/login", get(login_page))
        .route("/assets/{name}", get(asset))
}

fn html(text: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// The dashboard for a logged-in browser; the login page for anyone else.
async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match caller_of(&state, &headers, &Method::GET) {
        Ok(_) => html(INDEX),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

async fn login_page() -> Response {
    html(LOGIN)
}

/// The page's code and style: no data, so they are served to anyone (the login page needs
/// them before anyone has logged in).
async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(file, _, _)| *file == name) {
        Some((_, kind, content)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *content,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

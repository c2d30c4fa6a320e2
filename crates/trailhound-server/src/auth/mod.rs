//! Who is asking, and may they: bearer tokens for programs, a session cookie for browsers.
//!
//! - Every route but `/health`, `/login` and the login page's assets goes through
//!   [`authenticate`], which puts a [`Caller`] in the request or answers 401.
//! - A browser logs in by posting a token to `/login`; it gets an `HttpOnly`,
//!   `SameSite=Strict` session cookie (`Secure` over TLS) and a CSRF value. A request that
//!   changes something with the cookie must echo that value in `X-CSRF-Token`; a bearer token
//!   is never sent by a browser on its own, so bearer requests need no CSRF value.
//! - Handlers that change things call [`Caller::require`] with [`Role::Admin`]: 403 otherwise.

mod store;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

pub use store::{AUTH_FILE, AuthStore, Role, SESSION_LIFETIME, Session, TokenInfo};

use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "trailhound_session";

/// The header that carries the CSRF value.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token used, directly or through a session.
    pub token: TokenInfo,
    /// The session's CSRF value, for a browser.
    pub csrf: Option<String>,
}

impl Caller {
    /// Refuses with 403 unless the caller has `role` or more.
    ///
    /// # Errors
    ///
    /// [`ApiError`] 403.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.token.role >= role {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "forbidden",
                format!(
                    "this needs the {} role; token {:?} is a {}",
                    role.as_str(),
                    self.token.name,
                    self.token.role.as_str()
                ),
            ))
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether a browser request comes from a page of this server: its `Origin` (sent by browsers
/// on every cross-site and every POST request) names the host it was sent to. Requests
/// without one (programs, curl) are not from a page at all.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| !host.is_empty() && authority == host)
}

/// Compares without stopping at the first difference, so timing tells nothing.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Resolves the caller of a request from its bearer token or session cookie.
///
/// # Errors
///
/// 401 when there is neither, or it is unknown, revoked or expired; 403 when a cookie request
/// that changes something lacks the CSRF value.
pub fn caller_of(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Caller, ApiError> {
    if let Some(secret) = bearer(headers) {
        let token = state
            .auth
            .verify(secret)
            .map_err(ApiError::internal)?
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "the bearer token is not known or was revoked; create one with `trailhound token create`",
                )
            })?;
        return Ok(Caller { token, csrf: None });
    }
    let Some(cookie) = cookie(headers, SESSION_COOKIE) else {
        return Err(ApiError::unauthorized(
            "log in at /login, or send `Authorization: Bearer <token>` (`trailhound token create`)",
        ));
    };
    let session = state
        .auth
        .session(cookie)
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::unauthorized("the session has expired or was ended; log in again")
        })?;
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !same_origin(headers) {
        return Err(ApiError::forbidden(
            "csrf",
            "the request comes from a page of another site",
        ));
    }
    if !safe {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !sent.is_some_and(|sent| same_secret(sent, &session.csrf)) {
            return Err(ApiError::forbidden(
                "csrf",
                "a change made with the session cookie must carry the session's X-CSRF-Token header",
            ));
        }
    }
    Ok(Caller {
        token: session.token,
        csrf: Some(session.csrf),
    })
}

/// Middleware: refuses anonymous requests, and hands the [`Caller`] to the handler.
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match caller_of(&state, request.headers(), request.method()) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(err) => err.into_response(),
    }
}

/// What `/login` takes: the token, as JSON or a form.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    token: String,
}

fn session_cookie(state: &AppState, value: &str, max_age: i64) -> Result<HeaderValue, ApiError> {
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .map_err(ApiError::internal)
}

/// `POST /login`: trades a token for a session cookie. Answers the caller's name, role and the
/// CSRF value.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    // A login posted by another site's page would sign the browser in as someone else.
    if !same_origin(&headers) {
        return ApiError::forbidden("csrf", "the login comes from a page of another site")
            .into_response();
    }
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let parsed: Result<LoginRequest, String> = if form {
        form_token(&body)
    } else {
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    };
    let request = match parsed {
        Ok(request) => request,
        Err(err) => {
            return ApiError::bad_request(
                "invalid",
                format!("send {{\"token\": \"th_…\"}}: {err}"),
            )
            .into_response();
        }
    };
    let outcome = (|| -> Result<Response, ApiError> {
        let token = state
            .auth
            .verify(&request.token)
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::unauthorized("that token is not known or was revoked"))?;
        let (cookie, csrf) = state
            .auth
            .create_session(&token)
            .map_err(ApiError::internal)?;
        tracing::info!(token = %token.name, "logged in");
        let mut response = Json(serde_json::json!({
            "name": token.name,
            "role": token.role,
            "csrf": csrf,
        }))
        .into_response();
        response.headers_mut().insert(
            header::SET_COOKIE,
            session_cookie(&state, &cookie, SESSION_LIFETIME.num_seconds())?,
        );
        Ok(response)
    })();
    outcome.unwrap_or_else(IntoResponse::into_response)
}

/// A form body's `token` field.
fn form_token(body: &[u8]) -> Result<LoginRequest, String> {
    form_urlencoded::parse(body)
        .find(|(key, _)| key == "token")
        .map(|(_, value)| LoginRequest {
            token: value.into_owned(),
        })
        .ok_or_else(|| "no token field".to_owned())
}

/// `POST /logout`: ends the session (the CSRF value is required, as for any change).
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let outcome = (|| -> Result<Response, ApiError> {
        caller_of(&state, &headers, &Method::POST)?;
        if let Some(value) = cookie(&headers, SESSION_COOKIE) {
            state.auth.end_session(value).map_err(ApiError::internal)?;
        }
        let mut response = Json(serde_json::json!({"logged_out": true})).into_response();
        response
            .headers_mut()
            .insert(header::SET_COOKIE, session_cookie(&state, "", 0)?);
        Ok(response)
    })();
    outcome.unwrap_or_else(IntoResponse::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_tokens_and_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer th_abc"),
        );
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; trailhound_session=xyz; other=1"),
        );
        assert_eq!(bearer(&headers), Some("th_abc"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn decodes_form_tokens() -> Result<(), String> {
        let request = form_token(b"x=1&token=th_a%2Db+c")?;
        assert_eq!(request.token, "th_a-b c");
        assert!(form_token(b"x=1").is_err());
        Ok(())
    }

    #[test]
    fn tells_pages_of_other_sites_apart() {
        let mut headers = HeaderMap::new();
        assert!(same_origin(&headers), "no Origin: not from a page");
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&headers));
    }

    #[test]
    fn compares_secrets_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}

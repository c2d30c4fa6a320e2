//! API tokens and browser sessions, in `auth.sqlite` beside the lake.
//!
//! A token is 32 random bytes shown once at creation (`th_` and URL-safe base64). Only its
//! SHA-256 is stored: a token carries 256 bits of entropy, so a fast hash is as safe as a slow
//! password hash while keeping each request's check to one indexed lookup. A session is
//! another 32 random bytes in an `HttpOnly` cookie, also stored hashed, tied to the token that
//! logged in: revoking the token ends its sessions.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use ring::rand::SecureRandom;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::error::ServeError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,          -- viewer | admin
    hash          TEXT NOT NULL UNIQUE,   -- SHA-256 of the token, hex
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    hash        TEXT PRIMARY KEY,         -- SHA-256 of the cookie value, hex
    token_id    INTEGER NOT NULL,
    csrf        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
";

/// The file's name in the data directory.
pub const AUTH_FILE: &str = "auth.sqlite";

/// How long a browser session lasts.
pub const SESSION_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(12);

/// How often a token's `last_used_at` is written: a request should not cost a disk write.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything: events, SQL, findings, Insights, status.
    Viewer,
    /// Also triages findings and manages tokens.
    Admin,
}

impl Role {
    /// `viewer` or `admin`.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }
}

/// A token as listed: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Its number.
    pub id: i64,
    /// Who or what it is for.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// When it was made (RFC 3339).
    pub created_at: String,
    /// When it was last used, to the minute.
    pub last_used_at: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<String>,
}

/// A logged-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The token it logged in with.
    pub token: TokenInfo,
    /// The value unsafe requests must echo in `X-CSRF-Token`.
    pub csrf: String,
}

/// The token and session store.
pub struct AuthStore {
    path: PathBuf,
    connection: Mutex<Connection>,
    touched: Mutex<HashMap<i64, Instant>>,
    random: ring::rand::SystemRandom,
}

fn sha256_hex(text: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()))
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn token_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenInfo> {
    let role: String = row.get(2)?;
    Ok(TokenInfo {
        id: row.get(0)?,
        name: row.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        created_at: row.get(3)?,
        last_used_at: row.get(4)?,
        revoked_at: row.get(5)?,
    })
}

const TOKEN_COLUMNS: &str = "t.id, t.name, t.role, t.created_at, t.last_used_at, t.revoked_at";

impl AuthStore {
    /// Opens (creating if needed) the store in `data_dir`. The file is made readable by its
    /// owner only.
    ///
    /// # Errors
    ///
    /// [`ServeError::Tokens`] when the file cannot be created or read.
    pub fn open(data_dir: &Path) -> Result<AuthStore, ServeError> {
        let path = data_dir.join(AUTH_FILE);
        let fail = |message: String| ServeError::Tokens {
            path: path.display().to_string(),
            message,
        };
        std::fs::create_dir_all(data_dir).map_err(|e| fail(e.to_string()))?;
        let connection = Connection::open(&path).map_err(|e| fail(e.to_string()))?;
        restrict_to_owner(&path).map_err(|e| fail(e.to_string()))?;
        let setup = || -> rusqlite::Result<()> {
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.busy_timeout(Duration::from_secs(10))?;
            connection.execute_batch(SCHEMA)
        };
        setup().map_err(|e| fail(e.to_string()))?;
        Ok(AuthStore {
            path: path.clone(),
            connection: Mutex::new(connection),
            touched: Mutex::new(HashMap::new()),
            random: ring::rand::SystemRandom::new(),
        })
    }

    fn fail(&self, err: impl std::fmt::Display) -> ServeError {
        ServeError::Tokens {
            path: self.path.display().to_string(),
            message: err.to_string(),
        }
    }

    fn connection(&self) -> Result<std::sync::MutexGuard<'_, Connection>, ServeError> {
        self.connection
            .lock()
            .map_err(|_| self.fail("a request panicked while using the store"))
    }

    fn secret(&self) -> Result<String, ServeError> {
        let mut bytes = [0u8; 32];
        self.random
            .fill(&mut bytes)
            .map_err(|_| self.fail("the system's random number generator failed"))?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Makes a token; returns it as listed and the secret, which is not kept.
    ///
    /// # Errors
    ///
    /// [`ServeError::Config`] for an empty name; [`ServeError::Tokens`] when the store fails.
    pub fn create_token(&self, name: &str, role: Role) -> Result<(TokenInfo, String), ServeError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(ServeError::Config(
                "a token needs a name saying who or what it is for (--name)".to_owned(),
            ));
        }
        let secret = format!("th_{}", self.secret()?);
        let connection = self.connection()?;
        connection
            .execute(
                "INSERT INTO tokens (name, role, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, role.as_str(), sha256_hex(&secret), now_text()],
            )
            .map_err(|e| self.fail(e))?;
        let id = connection.last_insert_rowid();
        let info = connection
            .query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens t WHERE t.id = ?1"),
                [id],
                token_row,
            )
            .map_err(|e| self.fail(e))?;
        Ok((info, secret))
    }

    /// Every token, revoked ones included.
    ///
    /// # Errors
    ///
    /// When the store fails.
    pub fn tokens(&self) -> Result<Vec<TokenInfo>, ServeError> {
        let connection = self.connection()?;
        let mut statement = connection
            .prepare(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens t ORDER BY t.id"
            ))
            .map_err(|e| self.fail(e))?;
        let rows = statement
            .query_map([], token_row)
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// Revokes token `id` and ends its sessions. `false` if there is no such live token.
    ///
    /// # Errors
    ///
    /// When the store fails.
    pub fn revoke(&self, id: i64) -> Result<bool, ServeError> {
        let connection = self.connection()?;
        let changed = connection
            .execute(
                "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now_text()],
            )
            .map_err(|e| self.fail(e))?;
        connection
            .execute("DELETE FROM sessions WHERE token_id = ?1", [id])
            .map_err(|e| self.fail(e))?;
        Ok(changed > 0)
    }

    /// The live token whose secret is `secret`.
    ///
    /// # Errors
    ///
    /// When the store fails.
    pub fn verify(&self, secret: &str) -> Result<Option<TokenInfo>, ServeError> {
        let found = self
            .connection()?
            .query_row(
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens t WHERE t.hash = ?1 AND t.revoked_at IS NULL"
                ),
                [sha256_hex(secret.trim())],
                token_row,
            )
            .optional()
            .map_err(|e| self.fail(e))?;
        if let Some(token) = &found {
            self.touch(token.id)?;
        }
        Ok(found)
    }

    /// Writes `last_used_at`, at most once a minute per token.
    fn touch(&self, id: i64) -> Result<(), ServeError> {
        {
            let mut touched = self
                .touched
                .lock()
                .map_err(|_| self.fail("a request panicked while using the store"))?;
            let now = Instant::now();
            if touched
                .get(&id)
                .is_some_and(|last| now.duration_since(*last) < TOUCH_EVERY)
            {
                return Ok(());
            }
            touched.insert(id, now);
        }
        self.connection()?
            .execute(
                "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1",
                params![id, now_text()],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// Starts a browser session for `token`; returns the cookie value and the CSRF value.
    ///
    /// # Errors
    ///
    /// When the store fails.
    pub fn create_session(&self, token: &TokenInfo) -> Result<(String, String), ServeError> {
        let cookie = self.secret()?;
        let csrf = self.secret()?;
        let now = chrono::Utc::now();
        let connection = self.connection()?;
        // Expired sessions are swept as new ones start: the table stays small.
        connection
            .execute(
                "DELETE FROM sessions WHERE expires_at < ?1",
                [now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)],
            )
            .map_err(|e| self.fail(e))?;
        connection
            .execute(
                "INSERT INTO sessions (hash, token_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    sha256_hex(&cookie),
                    token.id,
                    csrf,
                    now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    (now + SESSION_LIFETIME).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ],
            )
            .map_err(|e| self.fail(e))?;
        Ok((cookie, csrf))
    }

    /// The live session whose cookie value is `cookie`, with its live token.
    ///
    /// # Errors
    ///
    /// When the store fails.
    pub fn session(&self, cookie: &str) -> Result<Option<Session>, ServeError> {
        let now = now_text();
        let found = self
            .connection()?
            .query_row(
                &format!(
                    "SELECT {TOKEN_COLUMNS}, s.csrf FROM sessions s JOIN tokens t ON t.id = s.token_id
                     WHERE s.hash = ?1 AND s.expires_at > ?2 AND t.revoked_at IS NULL"
                ),
                params![sha256_hex(cookie), now],
                |row| {
                    Ok(Session {
                        token: token_row(row)?,
                        csrf: row.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.fail(e))?;
        Ok(found)
    }

    /// Ends the session whose cookie value is `cookie`.
    ///
    /// # Errors
    ///
    /// When the store fails.
    pub fn end_session(&self, cookie: &str) -> Result<(), ServeError> {
        self.connection()?
            .execute("DELETE FROM sessions WHERE hash = ?1", [sha256_hex(cookie)])
            .map_err(|e| self.fail(e))?;
        Ok(())
    }
}

#[cfg(unix)]
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn store() -> Result<(tempfile::TempDir, AuthStore), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = AuthStore::open(dir.path())?;
        Ok((dir, store))
    }

    #[test]
    fn a_token_is_stored_hashed_and_verifies_until_revoked() -> TestResult {
        let (dir, store) = store()?;
        let (info, secret) = store.create_token("ci", Role::Admin)?;
        assert!(secret.starts_with("th_") && secret.len() > 40);
        let raw = std::fs::read(dir.path().join(AUTH_FILE))?;
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is not in the file"
        );
        let verified = store.verify(&secret)?.ok_or("not known")?;
        assert_eq!((verified.id, verified.role), (info.id, Role::Admin));
        assert!(store.tokens()?[0].last_used_at.is_some(), "use is recorded");
        assert_eq!(store.verify("th_wrong")?, None);
        assert!(store.revoke(info.id)?);
        assert!(!store.revoke(info.id)?);
        assert_eq!(store.verify(&secret)?, None);
        Ok(())
    }

    #[test]
    fn sessions_end_with_their_token() -> TestResult {
        let (_dir, store) = store()?;
        let (info, _) = store.create_token("laptop", Role::Viewer)?;
        let (cookie, csrf) = store.create_session(&info)?;
        let session = store.session(&cookie)?.ok_or("no session")?;
        assert_eq!(
            (session.token.id, session.csrf.as_str()),
            (info.id, csrf.as_str())
        );
        assert!(store.session("other")?.is_none());
        store.revoke(info.id)?;
        assert!(store.session(&cookie)?.is_none());
        Ok(())
    }

    #[test]
    fn a_token_needs_a_name() -> TestResult {
        let (_dir, store) = store()?;
        assert!(matches!(
            store.create_token("  ", Role::Viewer),
            Err(ServeError::Config(_))
        ));
        Ok(())
    }
}

//! What every request shares: the settings, the token store, the lake view and the metrics.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::AuthStore;
use crate::lake_view::LakeView;
use crate::metrics::Metrics;

/// A certificate chain and its private key, PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub certificate: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// How `trailhound serve` runs.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// The data directory (lake, catalog, `auth.sqlite`).
    pub data_dir: PathBuf,
    /// Where to listen; loopback unless the operator says otherwise.
    pub listen: SocketAddr,
    /// Serve HTTPS with these.
    pub tls: Option<TlsFiles>,
    /// How long one SQL statement may run.
    pub query_timeout: Duration,
    /// Memory all running queries may hold together.
    pub query_memory: usize,
    /// Rows one SQL request may return.
    pub max_rows: usize,
    /// Answers kept per lake snapshot for repeated overview requests; 0 turns it off.
    pub cache_entries: usize,
    /// Mark the session cookie `Secure` (always with TLS; also behind a TLS proxy).
    pub secure_cookies: bool,
}

impl ServeSettings {
    /// Defaults for `data_dir`: 127.0.0.1:8080, 30 s and 1 GiB per query, 10,000 rows.
    pub fn new(data_dir: PathBuf) -> ServeSettings {
        ServeSettings {
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: None,
            query_timeout: Duration::from_secs(30),
            query_memory: 1 << 30,
            max_rows: 10_000,
            cache_entries: 256,
            secure_cookies: false,
        }
    }
}

/// Shared by all requests; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The settings.
    pub settings: Arc<ServeSettings>,
    /// Tokens and sessions.
    pub auth: Arc<AuthStore>,
    /// The lake, its catalog, and the query engine over them.
    pub lake: Arc<LakeView>,
    /// Request counts and latencies.
    pub metrics: Arc<Metrics>,
}

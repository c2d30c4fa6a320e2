//! HTTPS: a listener that completes TLS handshakes (rustls, ring) before axum sees a
//! connection. Handshakes run concurrently, each with a deadline, so a slow or silent client
//! cannot hold up the others.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

use crate::error::ServeError;
use crate::state::TlsFiles;

const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(10);

/// Reads the certificate chain and key and builds the server's TLS settings.
///
/// # Errors
///
/// [`ServeError::Tls`] naming the file and what is wrong with it.
pub fn load(files: &TlsFiles) -> Result<TlsAcceptor, ServeError> {
    let certificates: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&files.certificate)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|err| {
                ServeError::Tls(format!(
                    "cannot read the certificate chain {}: {err}",
                    files.certificate.display()
                ))
            })?;
    if certificates.is_empty() {
        return Err(ServeError::Tls(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            files.certificate.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|err| {
        ServeError::Tls(format!(
            "cannot read a private key from {}: {err}",
            files.key.display()
        ))
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| ServeError::Tls(err.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certificates, key)
    .map_err(|err| {
        ServeError::Tls(format!(
            "the key {} does not fit the certificate {}: {err}",
            files.key.display(),
            files.certificate.display()
        ))
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepted, handshaken connections.
pub struct TlsListener {
    incoming: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `listener`, handshaking with `acceptor`.
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (sender, incoming) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors and the like: back off, as axum does.
                        tracing::warn!("accepting a connection: {err}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if sender.is_closed() {
                    break;
                }
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = sender.send((tls, peer)).await;
                        }
                        Ok(Err(err)) => tracing::debug!(%peer, "TLS handshake failed: {err}"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { incoming, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(connection) => connection,
            // The accepting task only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

//! TLS for `renlian serve --tls-cert --tls-key`, so one node needs no proxy in front. The
//! certificate and key are PEM files; they are read again when either file changes
//! (checked as each connection arrives: a renewed certificate is served without a
//! restart), and a renewal that does not load leaves the working one in place.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {message}")]
    Pem { path: String, message: String },
    #[error("{0} holds no certificate")]
    NoCertificate(String),
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// The certificate chain and key files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The TLS configuration in use, and the file times it was loaded at.
pub struct Tls {
    files: TlsFiles,
    current: Mutex<Loaded>,
}

struct Loaded {
    stamps: (Option<SystemTime>, Option<SystemTime>),
    config: Arc<rustls::ServerConfig>,
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn pem_error(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn build(files: &TlsFiles) -> Result<rustls::ServerConfig, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| pem_error(&files.cert, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| pem_error(&files.cert, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(files.cert.display().to_string()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| pem_error(&files.key, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl Tls {
    /// Loads the files; an error here stops the server from starting.
    pub fn load(files: TlsFiles) -> Result<Tls, TlsError> {
        let stamps = (modified(&files.cert), modified(&files.key));
        let config = Arc::new(build(&files)?);
        Ok(Tls {
            files,
            current: Mutex::new(Loaded { stamps, config }),
        })
    }

    /// The configuration for a new connection: reloaded first if a file changed.
    pub fn config(&self) -> Arc<rustls::ServerConfig> {
        let stamps = (modified(&self.files.cert), modified(&self.files.key));
        let mut current = match self.current.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        if current.stamps != stamps {
            // Remember the new times either way: a broken renewal is reported once, not
            // on every connection, and the next change is tried again.
            current.stamps = stamps;
            match build(&self.files) {
                Ok(config) => {
                    tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                    current.config = Arc::new(config);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "TLS certificate changed but does not load; serving the previous one")
                }
            }
        }
        current.config.clone()
    }
}

//! [`AppState`]: everything a request handler may use, in one explicit struct.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use billing::Billing;
use gallery::Gallery;
use sqlx::AnyPool;
use vision::{Analyzer, Engine};

use crate::auth::Authenticator;
use crate::image::UrlPolicy;
use crate::keys::KeyStore;

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The service name of the credential scope (`iai`, as the SDK signs it).
    pub service: String,
    /// Largest request body accepted: 10 MiB as Tencent Cloud takes (two 5 MiB base64
    /// images of a CompareFace), plus 64 KiB for the JSON around them.
    pub max_body_bytes: usize,
    /// Requests per second per SecretId (token bucket, burst of the same size); 0 = off.
    pub rate_per_key: u32,
    /// Regions accepted in X-TC-Region; empty accepts any.
    pub regions: Vec<String>,
    pub urls: UrlPolicy,
    /// The `licensing` service's registry settings (moves per seat and year).
    pub licensing: licence_registry::RegistryConfig,
    /// Open connections and the header deadline (`listener`).
    pub connections: crate::listener::ConnectionLimits,
    /// The whole request body must arrive within this; a slower client gets
    /// `RequestTimeout`-style refusal instead of holding the request open.
    pub body_read_timeout: std::time::Duration,
    /// Refuse TC3 requests that do not sign `x-tc-action` and their body
    /// ([`Authenticator::strict`]).
    pub strict_signing: bool,
    /// Pixels of images being worked on at once across the server (`actions::common::
    /// admit`); a request's images wait for their share.
    pub pixel_budget: u64,
    /// How long a request waits for its share of the pixel budget before
    /// `RequestLimitExceeded`.
    pub admission_wait: std::time::Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            service: "iai".into(),
            max_body_bytes: 10 * 1024 * 1024 + 64 * 1024,
            rate_per_key: 20,
            regions: Vec::new(),
            urls: UrlPolicy::default(),
            licensing: licence_registry::RegistryConfig::default(),
            connections: crate::listener::ConnectionLimits::default(),
            body_read_timeout: std::time::Duration::from_secs(30),
            strict_signing: false,
            // Three of the largest JPEGs the API takes (4000×4000) at once: ~5 GB of
            // engine memory at the detector's peak.
            pixel_budget: 48_000_000,
            admission_wait: std::time::Duration::from_secs(10),
        }
    }
}

/// Faults a test injects on purpose; all off in a server.
#[derive(Debug, Default)]
pub struct Faults {
    /// Stops an enrolment (CreatePerson, CreateFace) right after its metering commits, as
    /// if the process died there: nothing after it runs (no gallery write, no void).
    pub stop_after_enrolment_metering: AtomicBool,
    /// Stops an enrolment right after its gallery write commits, before the server
    /// confirms its pending metering (and before it answers).
    pub stop_after_enrolment_write: AtomicBool,
}

impl Faults {
    pub fn stops_after_enrolment_metering(&self) -> bool {
        self.stop_after_enrolment_metering.load(Ordering::Relaxed)
    }

    pub fn stops_after_enrolment_write(&self) -> bool {
        self.stop_after_enrolment_write.load(Ordering::Relaxed)
    }
}

/// The state shared by every request.
pub struct AppState {
    pub pool: AnyPool,
    pub billing: Billing,
    pub gallery: Gallery,
    pub engine: Arc<Engine>,
    /// The analysis networks (liveness), beside the engine.
    pub analyzer: Arc<Analyzer>,
    pub auth: Authenticator,
    pub config: ServerConfig,
    /// Test-only fault injection (see [`Faults`]).
    pub faults: Faults,
    /// The offline-SDK licence registry, opened (and migrated) by the first licensing call.
    licences: tokio::sync::OnceCell<licence_registry::Registry>,
    /// The pixel budget, in units of [`PIXEL_UNIT`] pixels.
    pub pixels: Arc<tokio::sync::Semaphore>,
}

/// Pixels per permit of the pixel budget (a semaphore counts in `u32`).
pub const PIXEL_UNIT: u64 = 4096;

/// Permits for `pixels` pixels, rounded up.
pub fn pixel_units(pixels: u64) -> u32 {
    u32::try_from(pixels.div_ceil(PIXEL_UNIT)).unwrap_or(u32::MAX)
}

impl AppState {
    pub fn new(
        pool: AnyPool,
        billing: Billing,
        gallery: Gallery,
        engine: Arc<Engine>,
        analyzer: Arc<Analyzer>,
        keys: KeyStore,
        config: ServerConfig,
    ) -> Arc<Self> {
        let pixels = Arc::new(tokio::sync::Semaphore::new(
            pixel_units(config.pixel_budget).max(1) as usize,
        ));
        let mut auth = Authenticator::new(keys, config.service.clone(), config.rate_per_key);
        auth.strict = config.strict_signing;
        Arc::new(AppState {
            pool,
            billing,
            gallery,
            engine,
            analyzer,
            auth,
            config,
            faults: Faults::default(),
            licences: tokio::sync::OnceCell::new(),
            pixels,
        })
    }

    /// The whole pixel budget in permits: one image never asks for more (a budget set
    /// below the largest image still lets it through, alone).
    pub fn pixel_units_total(&self) -> u32 {
        pixel_units(self.config.pixel_budget).max(1)
    }

    /// The licence registry on this server's pool, its key ring sealed with the master
    /// key; opened on first use.
    pub async fn licences(
        &self,
    ) -> Result<&licence_registry::Registry, licence_registry::RegistryError> {
        self.licences
            .get_or_try_init(|| async {
                licence_registry::Registry::open(
                    self.pool.clone(),
                    Arc::new(self.auth.keys.master().clone()),
                    self.config.licensing.clone(),
                )
                .await
            })
            .await
    }
}

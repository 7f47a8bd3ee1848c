//! `renlian serve`: the face API server on one database pool. Loads the engine and the
//! analysis models at start (fetching both packs on first start, with progress on
//! stderr), prints the address it listens on, and on SIGINT/SIGTERM stops accepting
//! while in-flight requests finish.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use api::{AppState, ServerConfig};
use clap::Subcommand;

use crate::progress::PackProgress;
use crate::{cli_keys, db, GlobalOpts};

/// How often pending notices (pack low/exhausted) are delivered or retried.
const NOTICE_ROUND: std::time::Duration = std::time::Duration::from_secs(30);

/// How often enrolments left pending by a crash are looked for (the first round runs at
/// start); each is settled once older than the grace period.
const RECONCILE_ROUND: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the face API (IAI API 3.0, TC3-HMAC-SHA256) on HTTP.
    Serve {
        /// Address to listen on (port 0 picks a free port; the address is printed).
        #[arg(long, default_value = "127.0.0.1:8600", value_name = "ADDR")]
        listen: SocketAddr,
        /// Requests per second per SecretId (0 turns the limit off).
        #[arg(long, default_value_t = 20)]
        rate_per_key: u32,
        /// Let `Url` images come from loopback, private and link-local addresses.
        #[arg(long)]
        allow_private_urls: bool,
        /// Smallest face side the engine finds when a request names no MinFaceSize, in
        /// pixels (80 = MMOD's own window; under it the image is upsampled, 4× the cost
        /// per halving).
        #[arg(long, default_value_t = 80, value_name = "PX")]
        min_face_size: u32,
        /// Face detector: `mmod` (dlib's CNN, the accurate mode and the default) or
        /// `fast` (BlazeFace with boxes mapped to MMOD's; docs/vision.md has both's
        /// measured speed and accuracy).
        #[arg(long, value_enum, default_value_t = crate::cli_vision::DetectorArg::Mmod)]
        detector: crate::cli_vision::DetectorArg,
        /// Serve HTTPS with this PEM certificate chain (with --tls-key); the files are
        /// read again when they change, so a renewed certificate needs no restart.
        #[arg(long, value_name = "PEM", requires = "tls_key")]
        tls_cert: Option<std::path::PathBuf>,
        /// The certificate's PEM private key.
        #[arg(long, value_name = "PEM", requires = "tls_cert")]
        tls_key: Option<std::path::PathBuf>,
        /// Refuse TC3 requests that do not sign X-TC-Action and their body. The official
        /// SDKs sign only Content-Type and Host, so this is for clients that can.
        #[arg(long)]
        strict_signing: bool,
    },
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("shutting down: finishing in-flight requests");
}

pub async fn run(cmd: Command, global: &GlobalOpts) -> anyhow::Result<()> {
    let Command::Serve {
        listen,
        rate_per_key,
        allow_private_urls,
        min_face_size,
        detector,
        tls_cert,
        tls_key,
        strict_signing,
    } = cmd;
    // Bad certificate files stop the start before the models are loaded.
    let tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(Arc::new(
            api::tls::Tls::load(api::tls::TlsFiles { cert, key })
                .context("loading the TLS certificate")?,
        )),
        _ => None,
    };
    let (engine, analyzer) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let store = models::ModelStore::from_env()?;
        store
            .ensure(models::Pack::Dlib, &PackProgress::new())
            .context("obtaining the dlib model pack")?;
        store
            .ensure(models::Pack::HumanModels, &PackProgress::new())
            .context("obtaining the human-models pack")?;
        let config = vision::EngineConfig {
            detect: vision::DetectOptions {
                min_face_size,
                ..Default::default()
            },
            detector: detector.into(),
            ..Default::default()
        };
        let engine = vision::Engine::load(&store, config).context("loading the face engine")?;
        let analyzer =
            vision::Analyzer::load(&store).context("loading the face analysis models")?;
        if vision::runtime::onnxruntime_loaded() {
            for (graph, why) in vision::runtime::onnxruntime_fallbacks() {
                tracing::warn!(
                    graph,
                    why,
                    "ONNX Runtime refused the graph; it runs on tract"
                );
            }
        }
        Ok((engine, analyzer))
    })
    .await??;
    let pool = db::open(global).await?;
    // The same settings (time zone, settlement day) and notice senders as the billing
    // commands, so a bill previewed on the CLI is the bill the server meters into.
    let billing = billing::Billing::open(pool.clone(), crate::cli_billing::config()?).await?;
    let _delivery = billing.spawn_notice_delivery(crate::cli_billing::senders()?, NOTICE_ROUND);
    let gallery = gallery::Gallery::open(pool.clone(), gallery::GalleryConfig::default()).await?;
    // Settles what a crash of this or another node left pending (docs/billing.md).
    let _reconciler = api::spawn_reconciler(
        billing.clone(),
        gallery.clone(),
        api::reconcile::DEFAULT_GRACE,
        RECONCILE_ROUND,
    );
    let keys = cli_keys::open_store(global, pool.clone()).await?;
    let mut config = ServerConfig {
        rate_per_key,
        strict_signing,
        licensing: crate::cli_license::registry_config()?,
        ..Default::default()
    };
    config.urls.allow_private = allow_private_urls;
    let state = AppState::new(
        pool,
        billing,
        gallery,
        Arc::new(engine),
        Arc::new(analyzer),
        keys,
        config,
    );
    let console = console::Console::open(state.clone())
        .await
        .context("opening the console")?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("listening on {scheme}://{addr}");
    println!("console: {scheme}://{addr}{}/", console::BASE);
    let limits = state.config.connections;
    let app = api::router(state).merge(console::router(console));
    api::serve_router(listener, app, limits, tls, shutdown_signal()).await?;
    Ok(())
}

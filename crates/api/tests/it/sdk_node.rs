//! The official Tencent Cloud Node.js SDK (tencentcloud-sdk-nodejs, installed by
//! scripts/node-sdk-env into ~/.cache/renlian) against the server: the scenario of
//! tests/node/calls.mjs through the SDK's own IAI clients (2020-03-03 and 2018-03-01),
//! with TC3 (POST and GET) and signature v1 (HmacSHA256 POST, HmacSHA1 GET), every
//! response checked against the SDK's TypeScript declarations. The SDK signs TC3 for
//! the service named by its endpoint's first label, so each database gets two runs: the
//! endpoint `127.0.0.1:PORT` (service `127`) and `localhost:PORT` (service
//! `localhost:PORT`). Each run has its own server, account and key, so its metered
//! counts must equal exactly the billable calls that run made. On SQLite and on
//! PostgreSQL.

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use api::{Action, ServerConfig};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The folder holding the SDK's node_modules.
fn node_sdk() -> PathBuf {
    let out = std::process::Command::new(repo_root().join("scripts/node-sdk-env"))
        .output()
        .expect("scripts/node-sdk-env runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn official_node_sdk_calls_every_served_action() {
    let sdk = node_sdk();
    let photos = tempfile::tempdir().unwrap();
    crate::sdk::write_photos(photos.path());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node/calls.mjs");
    let billable: Vec<Action> = Action::ALL
        .iter()
        .copied()
        .filter(|a| a.item().is_some())
        .collect();
    on_both!(db => {
        for host in ["127.0.0.1", "localhost"] {
            eprintln!("-- endpoint {host}:PORT");
            let s = common::start(db, ServerConfig { rate_per_key: 0, ..Default::default() }).await;
            let out = tokio::process::Command::new("node")
                .arg(&script)
                .env("RENLIAN_NODE_SDK", &sdk)
                .env("RENLIAN_ENDPOINT", format!("{host}:{}", s.addr.port()))
                .env("RENLIAN_SECRET_ID", &s.secret_id)
                .env("RENLIAN_SECRET_KEY", &s.secret_key)
                .env("RENLIAN_PHOTOS", photos.path())
                // The SDK sends through a proxy named by http_proxy: the test server is
                // on loopback.
                .env_remove("http_proxy")
                .env_remove("HTTP_PROXY")
                .output()
                .await
                .expect("node runs (scripts/node-sdk-env installs it)");
            let stdout = String::from_utf8_lossy(&out.stdout);
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            assert!(
                out.status.success(),
                "Node SDK script failed (endpoint {host}):\n{stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let billed: BTreeMap<String, i64> =
                serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap();
            // The script counts every billable action of the server, called or not.
            let names: Vec<&str> = billed.keys().map(String::as_str).collect();
            let mut want: Vec<&str> = billable.iter().map(|a| a.name()).collect();
            want.sort_unstable();
            assert_eq!(names, want);
            assert!(billed.values().filter(|n| **n > 0).count() >= 15, "{billed:?}");
            for (action, calls) in &billed {
                assert_eq!(s.metered(action).await, *calls, "metered {action} ({host})");
            }
            // Free actions leave no usage.
            for a in Action::ALL.iter().filter(|a| a.item().is_none()) {
                assert_eq!(s.metered(a.name()).await, 0, "metered {a} ({host})");
            }
            s.stop().await;
        }
    });
}

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

use std::path::PathBuf;

use api::{Action, ServerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn official_node_sdk_calls_every_served_action() {
    let sdk = crate::sdk::installed("node-sdk-env"); // the folder holding node_modules
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
            let billed = crate::sdk::billed_calls(
                tokio::process::Command::new("node")
                    .arg(&script)
                    .env("RENLIAN_NODE_SDK", &sdk)
                    .env("RENLIAN_ENDPOINT", format!("{host}:{}", s.addr.port()))
                    .env("RENLIAN_SECRET_ID", &s.secret_id)
                    .env("RENLIAN_SECRET_KEY", &s.secret_key)
                    .env("RENLIAN_PHOTOS", photos.path())
                    // The SDK sends through a proxy named by http_proxy: the test server
                    // is on loopback.
                    .env_remove("http_proxy")
                    .env_remove("HTTP_PROXY"),
                &format!("the Node.js SDK script (endpoint {host}, node from scripts/node-sdk-env)"),
            )
            .await;
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

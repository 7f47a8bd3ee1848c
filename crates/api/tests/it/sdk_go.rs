//! Tencent Cloud's official Go SDK against the server: the scenario of the Python SDK's
//! test (`sdk`) through the SDK's own IAI clients (2020-03-03 and 2018-03-01), with TC3
//! (POST and GET) and signature v1 (HmacSHA256 form POST, HmacSHA1 GET). The SDK decodes
//! every answer into its typed models, which declare each number an integer or a float:
//! a float where a model says integer (`3.0` into `*int64`) fails the call. Then the
//! metered counts must equal the billable calls the program made. On SQLite and on
//! PostgreSQL. scripts/go-env installs Go when missing and builds the program
//! (tests/go/main.go) against the SDK folder (`RENLIAN_GO_SDK`, else
//! ../shared/clients/tencentcloud-sdk-go), used in place.

use crate::common;

use api::ServerConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn official_go_sdk_calls_every_served_action() {
    let program = crate::sdk::installed("go-env"); // the Go program, built
    let photos = tempfile::tempdir().unwrap();
    crate::sdk::write_photos(photos.path());
    on_both!(db => {
        let s = common::start(db, ServerConfig { rate_per_key: 0, ..Default::default() }).await;
        let billed = crate::sdk::billed_calls(
            tokio::process::Command::new(&program)
                .env("RENLIAN_ENDPOINT", s.addr.to_string())
                .env("RENLIAN_SECRET_ID", &s.secret_id)
                .env("RENLIAN_SECRET_KEY", &s.secret_key)
                .env("RENLIAN_PHOTOS", photos.path()),
            "the Go SDK program",
        )
        .await;
        eprintln!("billed calls: {billed:?}");
        // Every billable action of the scenario (DetectLiveFace through the 2018 client).
        assert_eq!(billed.len(), 15, "{billed:?}");
        for (action, calls) in &billed {
            assert_eq!(s.metered(action).await, *calls, "metered {action}");
        }
        // Free actions leave no usage.
        assert_eq!(s.metered("GetGroupList").await, 0);
        assert_eq!(s.metered("GetPersonList").await, 0);
        s.stop().await;
    });
}

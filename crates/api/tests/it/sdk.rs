//! The official Tencent Cloud Python SDK against the server: every served action of
//! 2020-03-03 (and a few of 2018-03-01) through the SDK's own client, with TC3 and
//! signature v1 (HmacSHA256 form POST, HmacSHA1 GET), checking fields and error codes;
//! then the metered counts must equal the billable calls the script made. On SQLite and
//! on PostgreSQL. The SDK is installed by scripts/sdk-env into ~/.cache/renlian.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use api::ServerConfig;
use common::fixture;

/// Runs the project script `scripts/NAME` (an SDK installer) and returns the path it
/// prints: the client's interpreter, folder or program.
pub(crate) fn installed(name: &str) -> PathBuf {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name);
    let out = std::process::Command::new(&script)
        .output()
        .unwrap_or_else(|e| panic!("scripts/{name} runs: {e}"));
    assert!(
        out.status.success(),
        "scripts/{name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

pub fn sdk_python() -> PathBuf {
    installed("sdk-env")
}

/// Runs an SDK client (`what` names it in failures), which must succeed and print the
/// billable calls it made per action as JSON on its last line of stdout.
pub(crate) async fn billed_calls(
    client: &mut tokio::process::Command,
    what: &str,
) -> BTreeMap<String, i64> {
    let out = client
        .output()
        .await
        .unwrap_or_else(|e| panic!("{what} runs: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("")).unwrap()
}

/// The fixture photos scaled down to 320 px wide (the CPU detector is slow on large
/// photos), one at 640 px (DetectLiveFaceAccurate asks for a face over 100×100), and a
/// blank image, as PNG files in `dir` (also for the Go and Node.js SDKs' tests).
pub(crate) fn write_photos(dir: &Path) {
    for (name, out, width) in [
        ("obama.jpg", "obama.png", 320),
        ("obama2.jpg", "obama2.png", 320),
        ("biden.jpg", "biden.png", 320),
        ("obama.jpg", "obama640.png", 640),
    ] {
        let img = image::load_from_memory(&fixture(name)).unwrap();
        let small = img.resize(width, 10_000, image::imageops::FilterType::Triangle);
        small.save(dir.join(out)).unwrap();
        if out == "obama.png" {
            // On its side (90° clockwise), without EXIF: for NeedRotateDetection.
            small.rotate90().save(dir.join("obama_side.png")).unwrap();
        }
    }
    std::fs::write(dir.join("blank.png"), common::blank_png()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn official_python_sdk_calls_every_served_action() {
    let python = sdk_python();
    let photos = tempfile::tempdir().unwrap();
    write_photos(photos.path());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sdk/calls.py");
    on_both!(db => {
        let s = common::start(db, ServerConfig { rate_per_key: 0, ..Default::default() }).await;
        let billed = billed_calls(
            tokio::process::Command::new(&python)
                .arg(&script)
                .env("RENLIAN_ENDPOINT", s.addr.to_string())
                .env("RENLIAN_SECRET_ID", &s.secret_id)
                .env("RENLIAN_SECRET_KEY", &s.secret_key)
                .env("RENLIAN_PHOTOS", photos.path()),
            "the Python SDK script",
        )
        .await;
        assert!(billed.len() >= 10, "{billed:?}");
        for (action, calls) in &billed {
            assert_eq!(s.metered(action).await, *calls, "metered {action}");
        }
        // Free actions leave no usage.
        assert_eq!(s.metered("GetGroupList").await, 0);
        s.stop().await;
    });
}

//! The web console in a real browser: Debian's chromium, driven by Playwright for Python,
//! runs `crates/console/tests/browser/console_flow.py` against a live `renlian serve`:
//! every page in English and Chinese under axe-core (WCAG 2 A/AA, serious and critical
//! violations fail), then a customer's work from the invite to a 1:N search, with the
//! official Tencent Cloud SDK making the API calls. The browser, a CJK font, Playwright
//! and axe-core come from `scripts/browser-env`; the screenshots are kept in
//! `target/console-screenshots/` (docs/console.md shows some).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::billing_support::{Backend, Env};
use crate::console_support::{account, invite};
use crate::face_support::fixtures;
use crate::serve_support::Serve;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Installs (once) and names what the browser test runs: `python`, `chromium`, `axe`.
fn browser_env() -> BTreeMap<String, String> {
    let out = Command::new(repo_root().join("scripts/browser-env"))
        .output()
        .expect("scripts/browser-env runs");
    assert!(
        out.status.success(),
        "scripts/browser-env failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let paths: BTreeMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for key in ["python", "chromium", "axe"] {
        let path = paths
            .get(key)
            .unwrap_or_else(|| panic!("browser-env printed no {key}="));
        assert!(
            Path::new(path).exists(),
            "browser-env: {key}={path} does not exist"
        );
    }
    paths
}

/// The fixture photos the flow uploads, 320 px wide (detection on the CPU is slow on
/// large photos): two of one person, one of another.
fn small_photos(dir: &Path) {
    let from = fixtures();
    for name in ["obama.jpg", "obama2.jpg", "biden.jpg"] {
        let img = image::open(from.join(name)).unwrap();
        img.resize(320, 10_000, image::imageops::FilterType::Triangle)
            .to_rgb8()
            .save(dir.join(name))
            .unwrap();
    }
}

/// Where the screenshots stay after the test: `target/console-screenshots/`, emptied first.
fn screenshot_dir() -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .to_path_buf();
    let dir = target.join("console-screenshots");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_a_real_browser() {
    let tools = browser_env();
    let photos = tempfile::tempdir().unwrap();
    small_photos(photos.path());
    let out = screenshot_dir();

    let e = Env::new(Backend::Sqlite).await;
    let acme = account(&e, "acme");
    let id = acme.to_string();
    // Enough money to buy packs.
    e.json(&["account", "topup", &id, "500000"]);
    let key = e.json(&["key", "create", "--account", &id]);
    let server = Serve::start(&e, 0);
    // An operator of account 1: the flow covers the customer and the operator pages.
    let email = "ops@acme.test";
    let link = invite(&e, server.addr, acme, email, true);

    let script = repo_root().join("crates/console/tests/browser/console_flow.py");
    let run = Command::new(&tools["python"])
        .arg(&script)
        .args(["--server", &server.addr.to_string()])
        .args([
            "--invite",
            &link,
            "--email",
            email,
            "--account",
            &id,
            "--operator",
        ])
        .args(["--secret-id", key["SecretId"].as_str().unwrap()])
        .args(["--secret-key", key["SecretKey"].as_str().unwrap()])
        .arg("--fixtures")
        .arg(photos.path())
        .arg("--out")
        .arg(&out)
        .args(["--chromium", &tools["chromium"], "--axe", &tools["axe"]])
        .args([
            "--customer-pages",
            &console::render::CUSTOMER_PAGES.join(","),
        ])
        .args([
            "--operator-pages",
            &console::render::OPERATOR_PAGES.join(","),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    server.kill();
    assert!(
        run.status.success(),
        "console_flow.py failed (screenshots in {}):\n{stdout}\n{stderr}",
        out.display()
    );
    assert!(stdout.contains("console_flow: OK"), "{stdout}");

    // What the flow left: a screenshot of every page in both languages, the bill.
    let pages = console::render::CUSTOMER_PAGES
        .iter()
        .map(|k| k.to_string())
        .chain(
            console::render::OPERATOR_PAGES
                .iter()
                .map(|k| format!("operator-{k}")),
        );
    for page in pages {
        for lang in ["en", "zh"] {
            let shot = out.join(format!("{lang}-{page}.png"));
            let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
            assert!(size > 10_000, "{}: {size} bytes", shot.display());
        }
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["violations"], serde_json::json!([]), "{summary}");
    assert_eq!(summary["missing"], serde_json::json!([]), "{summary}");
    assert_eq!(summary["sdk_calls"], 3, "{summary}");
    e.close().await;
}

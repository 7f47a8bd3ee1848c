//! `renlian serve --detector fast`: the API on the fast detector path, its boxes in
//! MMOD's convention (compared with `renlian detect`, MMOD, on the same photo), and
//! NeedRotateDetection on it.

use base64::Engine as _;
use serde_json::json;

use crate::billing_support::{Backend, Env};
use crate::console_support::account;
use crate::serve_support::{small_photo_b64, Client, Serve};

fn iou(a: (i64, i64, i64, i64), b: (i64, i64, i64, i64)) -> f64 {
    let (ax2, ay2, bx2, by2) = (a.0 + a.2, a.1 + a.3, b.0 + b.2, b.1 + b.3);
    let w = (ax2.min(bx2) - a.0.max(b.0)).max(0);
    let h = (ay2.min(by2) - a.1.max(b.1)).max(0);
    let inter = (w * h) as f64;
    inter / ((a.2 * a.3 + b.2 * b.3) as f64 - inter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fast_detector_serves_the_api_with_mmod_like_boxes() {
    let e = Env::new(Backend::Sqlite).await;
    let acme = account(&e, "acme");
    let server = Serve::start_with(&e, 0, &["--detector", "fast"]);
    let client = Client::for_account(&e, server.addr, acme);

    let photo = small_photo_b64();
    let r = client
        .ok("DetectFace", json!({ "Image": photo, "MinFaceSize": 34 }))
        .await;
    let faces = r["FaceInfos"].as_array().unwrap();
    assert_eq!(faces.len(), 1, "{r}");
    let fast = |f: &serde_json::Value| {
        (
            f["X"].as_i64().unwrap(),
            f["Y"].as_i64().unwrap(),
            f["Width"].as_i64().unwrap(),
            f["Height"].as_i64().unwrap(),
        )
    };
    let fast_box = fast(&faces[0]);

    // MMOD's box on the same pixels, from the CLI's default detector.
    let png = e.dir.path().join("photo.png");
    std::fs::write(
        &png,
        base64::engine::general_purpose::STANDARD
            .decode(&photo)
            .unwrap(),
    )
    .unwrap();
    let mmod = e.json(&["detect", png.to_str().unwrap()]);
    let m = &mmod["faces"][0];
    let mmod_box = (
        m["x"].as_i64().unwrap(),
        m["y"].as_i64().unwrap(),
        m["width"].as_i64().unwrap(),
        m["height"].as_i64().unwrap(),
    );
    let overlap = iou(fast_box, mmod_box);
    eprintln!("fast {fast_box:?}, MMOD {mmod_box:?}: IoU {overlap:.3}");
    assert!(
        overlap >= 0.6,
        "fast {fast_box:?} vs MMOD {mmod_box:?}: IoU {overlap}"
    );

    // The photo turned a quarter: found with NeedRotateDetection, the box mapped back to
    // the image as sent (its width and height swapped relative to the upright box).
    let img = image::load_from_memory(
        &base64::engine::general_purpose::STANDARD
            .decode(&photo)
            .unwrap(),
    )
    .unwrap()
    .rotate90();
    let mut turned = std::io::Cursor::new(Vec::new());
    img.write_to(&mut turned, image::ImageFormat::Png).unwrap();
    let turned = base64::engine::general_purpose::STANDARD.encode(turned.into_inner());
    let r = client
        .ok(
            "DetectFace",
            json!({ "Image": turned, "NeedRotateDetection": 1 }),
        )
        .await;
    assert_eq!(r["FaceInfos"].as_array().unwrap().len(), 1, "{r}");
    let (_, _, w, h) = fast(&r["FaceInfos"][0]);
    // (BlazeFace sees the turned photo letterboxed differently: within 15 %.)
    let near = |a: i64, b: i64| (a - b).abs() as f64 <= 0.15 * b as f64;
    assert!(near(w, fast_box.3) && near(h, fast_box.2), "{r}");
    server.kill();
}

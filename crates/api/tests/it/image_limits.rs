//! The documented resolution limits (a JPEG's longer side ≤ 4000 px, other formats'
//! ≤ 2000 px) are enforced from the header, before decoding: small files that declare
//! huge images cost the server nothing, even eight at once.

use std::io::Cursor;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{self, b64, code};

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::GrayImage::new(width, height);
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A real 16×16 JPEG whose frame header is rewritten to declare `width`×`height`.
fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(16, 16, image::Rgb([90, 90, 90]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    let mut bytes = out.into_inner();
    // SOF0 (FF C0): length (2), precision (1), height (2), width (2).
    let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn declared_resolution_over_the_limit_is_refused_before_decoding() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    let zeros = b64(&png(6320, 6320));
    assert!(
        zeros.len() < 400_000,
        "the bomb is small: {} bytes",
        zeros.len()
    );
    let huge_jpeg = b64(&jpeg_declaring(30000, 30000));
    for image in [&zeros, &huge_jpeg] {
        let r = s.call("DetectFace", json!({ "Image": image })).await;
        assert_eq!(code(&r), "FailedOperation.ImageResolutionExceed", "{r}");
    }
    // At the limits: a 2000 px PNG and a 4000 px JPEG header pass the check (and then
    // find no face / fail to decode the rewritten data), 2001 and 4001 do not.
    let r = s
        .call("DetectFace", json!({ "Image": b64(&png(2000, 64)) }))
        .await;
    assert_ne!(code(&r), "FailedOperation.ImageResolutionExceed", "{r}");
    let r = s
        .call("DetectFace", json!({ "Image": b64(&png(2001, 64)) }))
        .await;
    assert_eq!(code(&r), "FailedOperation.ImageResolutionExceed", "{r}");
    let r = s
        .call(
            "DetectFace",
            json!({ "Image": b64(&jpeg_declaring(64, 4000)) }),
        )
        .await;
    assert_ne!(code(&r), "FailedOperation.ImageResolutionExceed", "{r}");
    let r = s
        .call(
            "DetectFace",
            json!({ "Image": b64(&jpeg_declaring(64, 4001)) }),
        )
        .await;
    assert_eq!(code(&r), "FailedOperation.ImageResolutionExceed", "{r}");

    // Eight bombs at once, with a sampler watching this process's memory: all refused
    // fast, memory flat, and the server still answers. The bound leaves room for the
    // other tests this binary runs meanwhile; decoding one bomb used to take 4.2 GB.
    let before = rss_kib();
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss_kib());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            peak
        })
    };
    let started = Instant::now();
    let calls = (0..8).map(|i| {
        let image = if i % 2 == 0 {
            zeros.clone()
        } else {
            huge_jpeg.clone()
        };
        let s = &s;
        async move { s.call("DetectFace", json!({ "Image": image })).await }
    });
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(code(&r), "FailedOperation.ImageResolutionExceed", "{r}");
    }
    let elapsed = started.elapsed();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.unwrap();
    eprintln!(
        "8 bombs refused in {elapsed:?}; RSS {} MiB before, {} MiB at peak",
        before / 1024,
        peak / 1024
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert!(
        peak.saturating_sub(before) < 1024 * 1024,
        "RSS grew by {} MiB",
        (peak - before) / 1024
    );
    let r = s.call("GetGroupList", json!({})).await;
    assert_eq!(code(&r), "", "{r}");
    s.stop().await;
}

/// The pixel budget: images beyond it wait for their share, and past the wait are refused
/// with `RequestLimitExceeded`; calls without images are not held up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn images_over_the_pixel_budget_wait_then_are_refused() {
    let db = common::sqlite().await;
    let config = api::ServerConfig {
        pixel_budget: 800 * 800,
        admission_wait: Duration::from_millis(500),
        ..common::config()
    };
    let s = common::start(&db, config).await;
    // Faceless 800×800 with NeedRotateDetection: seconds of work holding the whole budget.
    let busy = image::RgbImage::from_fn(800, 800, |x, y| {
        let v = ((x * 7 + y * 13) % 251) as u8;
        image::Rgb([v, v.wrapping_mul(3), v.wrapping_add(90)])
    });
    let mut jpeg = Cursor::new(Vec::new());
    busy.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    let busy = b64(&jpeg.into_inner());
    let small = b64(&png(200, 200));
    let slow = s.call(
        "DetectFace",
        json!({ "Image": busy, "NeedRotateDetection": 1 }),
    );
    let waiting = async {
        // Let the slow call take the budget first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let free = s.call("GetGroupList", json!({})).await;
        let refused = s.call("DetectFace", json!({ "Image": small })).await;
        (free, refused)
    };
    let (slow, (free, refused)) = tokio::join!(slow, waiting);
    assert_eq!(code(&slow), "InvalidParameterValue.NoFaceInPhoto", "{slow}");
    assert_eq!(code(&free), "", "{free}");
    assert_eq!(code(&refused), "RequestLimitExceeded", "{refused}");
    // Once the budget is free again, the same image is served.
    let r = s
        .call("DetectFace", json!({ "Image": b64(&png(200, 200)) }))
        .await;
    assert_eq!(code(&r), "InvalidParameterValue.NoFaceInPhoto", "{r}");
    s.stop().await;
}

/// WebP photos are served like the other formats: the same face in the same place as the
/// PNG of the same pixels, and a WebP over 2000 px refused from its header like a PNG.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webp_photos_are_detected_like_png() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    let png = common::small_photo("obama.jpg");
    let pixels = image::load_from_memory(&png).unwrap();
    let mut webp = Cursor::new(Vec::new());
    pixels
        .write_to(&mut webp, image::ImageFormat::WebP)
        .unwrap();
    let webp = webp.into_inner();
    assert_eq!(&webp[8..12], b"WEBP");
    let from_png = s.call("DetectFace", json!({ "Image": b64(&png) })).await;
    let from_webp = s.call("DetectFace", json!({ "Image": b64(&webp) })).await;
    assert_eq!(code(&from_webp), "", "{from_webp}");
    assert_eq!(from_webp["FaceInfos"], from_png["FaceInfos"]);
    assert_eq!(s.metered("DetectFace").await, 2);

    let wide = image::GrayImage::new(2001, 8);
    let mut big = Cursor::new(Vec::new());
    wide.write_to(&mut big, image::ImageFormat::WebP).unwrap();
    let r = s
        .call("DetectFace", json!({ "Image": b64(&big.into_inner()) }))
        .await;
    assert_eq!(code(&r), "FailedOperation.ImageResolutionExceed", "{r}");
    s.stop().await;
}

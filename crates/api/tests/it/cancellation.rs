//! A client that hangs up stops the engine work of its request: the detection ends at
//! its next network run instead of running to the end, unbilled, for nobody.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::{self, b64, code, Tamper};

/// An 800×800 photo-like image with no face: NeedRotateDetection then runs the
/// detector on four orientations, a few seconds of work in a test build.
fn faceless() -> Vec<u8> {
    let img = image::RgbImage::from_fn(800, 800, |x, y| {
        let v = ((x * 7 + y * 13) % 251) as u8;
        image::Rgb([v, v.wrapping_mul(3), v.wrapping_add(90)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dropped_request_stops_its_engine_work() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    let params = json!({ "Image": b64(&faceless()), "NeedRotateDetection": 1 });

    // The whole call, waited for: how long the work takes.
    let started = Instant::now();
    let r = s.call("DetectFace", params.clone()).await;
    let full = started.elapsed();
    assert_eq!(code(&r), "InvalidParameterValue.NoFaceInPhoto", "{r}");
    let billed = s.metered("DetectFace").await;

    // The same call, hung up on 300 ms in.
    let stopped_before = vision::cancel::stopped_count();
    let signed = s.sign("DetectFace", &params.to_string(), &Tamper::default());
    let mut raw = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
        s.addr,
        signed.body.len()
    );
    for (k, v) in &signed.headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    raw.push_str(&signed.body);
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    c.write_all(raw.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hung_up = Instant::now();
    drop(c);
    let mut stopped_after = None;
    while hung_up.elapsed() < full * 2 {
        if vision::cancel::stopped_count() > stopped_before {
            stopped_after = Some(hung_up.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopped_after = stopped_after.expect("the engine work ran on after the client hung up");
    eprintln!("full call {full:?}; work stopped {stopped_after:?} after the hang-up");
    assert!(
        stopped_after < full,
        "stopped after {stopped_after:?}, the whole call takes {full:?}"
    );
    // Nothing billed for the abandoned call, and the server still answers.
    assert_eq!(s.metered("DetectFace").await, billed);
    let r = s.call("GetGroupList", json!({})).await;
    assert_eq!(code(&r), "", "{r}");
    s.stop().await;
}

//! The face-analysis actions end to end over HTTP: DetectLiveFace and
//! DetectLiveFaceAccurate on real photos, their errors, and their metering.

mod common;

use common::{b64, blank_png, code, fixture, small_photo};
use serde_json::json;

/// The score the server should give: the largest face's, through the same analyzer.
fn expected_score(photo: &[u8]) -> f64 {
    let engine = common::engine();
    let img = engine.decode(photo).unwrap();
    let face = engine
        .detect(&img)
        .unwrap()
        .into_iter()
        .max_by_key(|f| f.rect.area())
        .unwrap();
    let s = common::analyzer().liveness.assess(&img, face.rect).unwrap();
    (s.score * 100.0).round() / 100.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn detect_live_face_on_photos() {
    on_both!(db => {
        let s = common::start(db, common::config()).await;
        let obama = fixture("obama.jpg");
        let want = expected_score(&obama);

        let r = s.call("DetectLiveFaceAccurate", json!({"Image": b64(&obama)})).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(r["Score"].as_f64().unwrap(), want, "{r}");
        assert!((0.0..=100.0).contains(&want));
        assert_eq!(r["FaceModelVersion"], "3.0");

        // DetectLiveFace: the same score, IsLiveness at the recommended threshold 40; on
        // 2018-03-01 too.
        let t = common::Tamper { version: Some("2018-03-01".into()), ..Default::default() };
        let r = s.call_with("DetectLiveFace", json!({"Image": b64(&obama)}), &t).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(r["Score"].as_f64().unwrap(), want, "{r}");
        assert_eq!(r["IsLiveness"].as_bool().unwrap(), want >= 40.0, "{r}");
        assert_eq!(r["FaceModelVersion"], "3.0");
        let r = s.call("DetectLiveFace", json!({"Image": b64(&obama), "FaceModelVersion": "2.0"})).await;
        assert_eq!(code(&r), "", "{r}");
        assert_eq!(r["FaceModelVersion"], "2.0");
        assert!(r.get("IsLiveness").is_none(), "{r}");

        // No face: the IAI no-face error, billed like the other face actions.
        let r = s.call("DetectLiveFaceAccurate", json!({"Image": b64(&blank_png())})).await;
        assert_eq!(code(&r), "InvalidParameterValue.NoFaceInPhoto");
        let r = s.call("DetectLiveFace", json!({"Image": b64(&blank_png())})).await;
        assert_eq!(code(&r), "InvalidParameterValue.NoFaceInPhoto");

        // Accurate asks for faces over 100×100: a 320-px-wide photo's face is smaller.
        let small = small_photo("obama.jpg");
        let width = common::engine().detect_bytes(&small).unwrap()[0].width();
        assert!(width < 100, "{width}");
        let r = s.call("DetectLiveFaceAccurate", json!({"Image": b64(&small)})).await;
        assert_eq!(code(&r), "FailedOperation.FaceSizeTooSmall", "{r}");
        let r = s.call("DetectLiveFace", json!({"Image": b64(&small)})).await;
        assert_eq!(code(&r), "", "{r}");

        // Refused before any work, and not billed.
        let r = s.call("DetectLiveFaceAccurate", json!({"Image": b64(&obama), "FaceModelVersion": "2.0"})).await;
        assert_eq!(code(&r), "InvalidParameterValue.FaceModelVersionIllegal");
        let r = s.call("DetectLiveFace", json!({"Image": b64(&obama), "FaceModelVersion": 3})).await;
        assert_eq!(code(&r), "InvalidParameter");
        let r = s.call("DetectLiveFaceAccurate", json!({})).await;
        assert_eq!(code(&r), "InvalidParameterValue.ImageEmpty");
        let r = s.call("DetectLiveFaceAccurate", json!({"Image": b64(b"not an image")})).await;
        assert_eq!(code(&r), "FailedOperation.ImageDecodeFailed");
        let r = s.call("DetectLiveFace", json!({"Image": b64(&[0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])})).await;
        assert_eq!(code(&r), "FailedOperation.ImageDecodeFailed");
        let r = s.call("DetectLiveFace", json!({"Url": "http://169.254.169.254/latest/meta-data/"})).await;
        assert_eq!(code(&r), "InvalidParameterValue.UrlIllegal");
        let r = s.call("DetectLiveFace", json!({"Image": b64(&vec![0u8; 3_932_163])})).await;
        assert_eq!(code(&r), "FailedOperation.ImageSizeExceed");

        // Metered once per success and per NoFaceInPhoto, under one billing item.
        assert_eq!(s.metered("DetectLiveFaceAccurate").await, 2);
        assert_eq!(s.metered("DetectLiveFace").await, 4);
        s.stop().await;
    });
}

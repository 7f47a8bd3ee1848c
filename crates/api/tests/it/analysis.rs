//! The face-analysis actions end to end over HTTP: AnalyzeFace's 90 points and
//! AnalyzeDenseLandmarks (geometry, limits, errors, metering; SQLite), DetectLiveFace and
//! DetectLiveFaceAccurate (SQLite and PostgreSQL) on real photos.

use crate::common;

use common::{b64, blank_png, code, fixture, small_photo};
use serde_json::{json, Value};

fn xy(p: &Value) -> (f64, f64) {
    (
        p["X"].as_f64().expect("X is a number"),
        p["Y"].as_f64().expect("Y is a number"),
    )
}

fn centroid(points: &Value) -> (f64, f64) {
    let ps = points.as_array().expect("a list of points");
    assert!(!ps.is_empty());
    let n = ps.len() as f64;
    let (sx, sy) = ps
        .iter()
        .map(xy)
        .fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
    (sx / n, sy / n)
}

fn bounds(points: &Value) -> (f64, f64, f64, f64) {
    let ps: Vec<(f64, f64)> = points.as_array().unwrap().iter().map(xy).collect();
    let min_x = ps.iter().map(|p| p.0).fold(f64::MAX, f64::min);
    let max_x = ps.iter().map(|p| p.0).fold(f64::MIN, f64::max);
    let min_y = ps.iter().map(|p| p.1).fold(f64::MAX, f64::min);
    let max_y = ps.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    (min_x, max_x, min_y, max_y)
}

/// The geometry every 90-point shape of an upright face must have.
fn check_shape(shape: &Value) {
    for (region, n) in [
        ("FaceProfile", 21),
        ("LeftEye", 8),
        ("RightEye", 8),
        ("LeftEyeBrow", 8),
        ("RightEyeBrow", 8),
        ("Mouth", 22),
        ("Nose", 13),
        ("LeftPupil", 1),
        ("RightPupil", 1),
    ] {
        let got = shape[region].as_array().map(Vec::len);
        assert_eq!(got, Some(n), "{region}: {shape}");
    }
    // Pupils inside their eyes' bounds; brows above the eyes; nose between eyes and
    // mouth; the profile spans wider than the eyes.
    for (eye, pupil, brow) in [
        ("LeftEye", "LeftPupil", "LeftEyeBrow"),
        ("RightEye", "RightPupil", "RightEyeBrow"),
    ] {
        let (x0, x1, y0, y1) = bounds(&shape[eye]);
        let (px, py) = xy(&shape[pupil][0]);
        assert!(
            x0 <= px && px <= x1 && y0 - 1.0 <= py && py <= y1 + 1.0,
            "{pupil} outside {eye}: {shape}"
        );
        assert!(
            centroid(&shape[brow]).1 < centroid(&shape[eye]).1,
            "{brow} below {eye}"
        );
    }
    let eyes_y = (centroid(&shape["LeftEye"]).1 + centroid(&shape["RightEye"]).1) / 2.0;
    let nose = centroid(&shape["Nose"]);
    let mouth = centroid(&shape["Mouth"]);
    assert!(
        eyes_y < nose.1 && nose.1 < mouth.1,
        "eyes {eyes_y}, nose {nose:?}, mouth {mouth:?}"
    );
    let (fx0, fx1, _, fy1) = bounds(&shape["FaceProfile"]);
    let (ex0, _, _, _) = bounds(&shape["LeftEye"]);
    let (_, ex1, _, _) = bounds(&shape["RightEye"]);
    let (l, r) = (ex0.min(ex1), ex0.max(ex1));
    assert!(
        fx0 < l && r < fx1,
        "profile x {fx0}..{fx1} does not surround the eyes {l}..{r}"
    );
    assert!(
        fy1 > mouth.1,
        "the profile's lowest point is above the mouth"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn analyze_face_and_dense_landmarks() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    let obama = b64(&fixture("obama.jpg"));

    // One face, 90 points in their regions.
    let r = s
        .call("AnalyzeFace", json!({ "Image": obama, "Mode": 1 }))
        .await;
    assert_eq!(code(&r), "", "{r}");
    assert!(r["ImageWidth"].as_u64().unwrap() > 0);
    let shapes = r["FaceShapeSet"].as_array().unwrap();
    assert_eq!(shapes.len(), 1, "{r}");
    check_shape(&shapes[0]);
    assert_eq!(r["FaceModelVersion"], "3.0");

    // Mode 0 on a photo with one face gives the same face.
    let all = s
        .call("AnalyzeFace", json!({ "Image": obama, "Mode": 0 }))
        .await;
    assert_eq!(
        all["FaceShapeSet"].as_array().map(Vec::len),
        Some(1),
        "{all}"
    );
    assert_eq!(all["FaceShapeSet"][0], shapes[0], "same photo, same points");

    // Dense landmarks: every region present, the box is the detector's.
    let d = s
        .call("AnalyzeDenseLandmarks", json!({ "Image": obama }))
        .await;
    assert_eq!(code(&d), "", "{d}");
    let dense = &d["DenseFaceShapeSet"][0];
    for region in [
        "LeftEye",
        "RightEye",
        "LeftEyeBrow",
        "RightEyeBrow",
        "MouthOutside",
        "MouthInside",
        "Nose",
        "LeftPupil",
        "RightPupil",
        "CentralAxis",
        "Chin",
        "LeftEyeBags",
        "RightEyeBags",
        "Forehead",
    ] {
        let n = dense[region].as_array().map(Vec::len).unwrap_or(0);
        assert!(n > 0, "{region} empty: {dense}");
    }
    assert!(dense["Width"].as_i64().unwrap() > 50, "{dense}");
    let (x0, x1, _, _) = bounds(&dense["MouthOutside"]);
    let (ix0, ix1, _, _) = bounds(&dense["MouthInside"]);
    assert!(x0 <= ix0 && ix1 <= x1, "inner lips wider than the outer");

    // Errors: a bad Mode, a wrong model version, no face, bad image.
    let r = s
        .call("AnalyzeFace", json!({ "Image": obama, "Mode": 2 }))
        .await;
    assert_eq!(code(&r), "InvalidParameterValue", "{r}");
    let r = s
        .call(
            "AnalyzeDenseLandmarks",
            json!({ "Image": obama, "FaceModelVersion": "2.0" }),
        )
        .await;
    assert_eq!(
        code(&r),
        "InvalidParameterValue.FaceModelVersionIllegal",
        "{r}"
    );
    let r = s
        .call("AnalyzeFace", json!({ "Image": b64(&blank_png()) }))
        .await;
    assert_eq!(code(&r), "InvalidParameterValue.NoFaceInPhoto", "{r}");
    let r = s
        .call("AnalyzeFace", json!({ "Image": "not base64 !" }))
        .await;
    assert!(
        code(&r).starts_with("FailedOperation.Image") || code(&r).starts_with("InvalidParameter"),
        "{r}"
    );

    // Billed once per successful call, and for the photo without a face (billing.md);
    // refused parameters and undecodable images are not billed.
    assert_eq!(s.metered("AnalyzeFace").await, 3);
    assert_eq!(s.metered("AnalyzeDenseLandmarks").await, 1);
    s.stop().await;
    db.drop_db().await;
}

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

/// A photo blurred with a Gaussian of `sigma` pixels, as JPEG.
fn blurred(name: &str, sigma: f32) -> Vec<u8> {
    let img = image::load_from_memory(&fixture(name)).unwrap();
    let out = image::imageops::blur(&img.to_rgb8(), sigma);
    let mut buf = std::io::Cursor::new(Vec::new());
    out.write_to(&mut buf, image::ImageFormat::Jpeg).unwrap();
    buf.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn attributes_quality_and_quality_control() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    let obama = b64(&fixture("obama.jpg"));
    let soft = b64(&blurred("obama.jpg", 12.0));

    // DetectFace with attributes and quality: in range, the men male, Eileen Collins
    // (astronaut.png) female, eyes open, nothing invented for what no model sees.
    for (photo, male) in [
        ("obama.jpg", true),
        ("biden.jpg", true),
        ("astronaut.png", false),
    ] {
        let r = s
            .call("DetectFace", json!({ "Image": b64(&fixture(photo)), "NeedFaceAttributes": 1, "NeedQualityDetection": 1 }))
            .await;
        assert_eq!(code(&r), "", "{photo}: {r}");
        let a = &r["FaceInfos"][0]["FaceAttributesInfo"];
        assert_eq!(a["Gender"].as_i64().unwrap() >= 50, male, "{photo}: {a}");
        let age = a["Age"].as_i64().unwrap();
        assert!((15..=85).contains(&age), "{photo}: {a}");
        for k in ["Pitch", "Yaw"] {
            assert!(a[k].as_f64().unwrap().abs() <= 20.0, "{photo} {k}: {a}");
        }
        // Whole numbers on the wire, as the SDK models declare them (Go: int64).
        for k in ["Pitch", "Yaw", "Roll"] {
            assert!(a[k].is_i64(), "{photo} {k} must be an integer: {a}");
        }
        assert_eq!(a["EyeOpen"], true, "{photo}: {a}");
        assert!(
            a["Hat"].is_null() && a["Mask"].is_null() && a["Hair"].is_null(),
            "{a}"
        );
        let q = &r["FaceInfos"][0]["FaceQualityInfo"];
        for k in ["Score", "Sharpness", "Brightness"] {
            assert!(
                (0..=100).contains(&q[k].as_i64().unwrap()),
                "{photo} {k}: {q}"
            );
        }
    }

    // A blurred photo scores lower sharpness and fails the strict quality levels.
    let sharp = s
        .call(
            "DetectFace",
            json!({ "Image": obama, "NeedQualityDetection": 1 }),
        )
        .await;
    let blur = s
        .call(
            "DetectFace",
            json!({ "Image": soft, "NeedQualityDetection": 1 }),
        )
        .await;
    let sharpness = |r: &Value| {
        r["FaceInfos"][0]["FaceQualityInfo"]["Sharpness"]
            .as_i64()
            .unwrap()
    };
    assert!(
        sharpness(&blur) + 20 <= sharpness(&sharp),
        "{blur} vs {sharp}"
    );
    assert!(
        sharpness(&blur) < 60,
        "σ = 12 px on a 237 px face is blurred (docs/quality.md): {blur}"
    );

    // DetectFaceAttributes: only what was asked for; a wrong type is refused.
    let r = s
        .call(
            "DetectFaceAttributes",
            json!({ "Image": obama, "FaceAttributesType": "gender,AGE,Eye" }),
        )
        .await;
    assert_eq!(code(&r), "", "{r}");
    let d = &r["FaceDetailInfos"][0]["FaceDetailAttributesInfo"];
    assert_eq!(d["Gender"]["Type"], 0, "{d}");
    assert!(d["Age"].as_i64().unwrap() > 0 && d["Smile"] == 0, "{d}");
    assert_eq!(d["Eye"]["EyeOpen"]["Type"], 0, "{d}");
    assert_eq!(d["Emotion"]["Probability"], 0.0, "not asked for: {d}");
    let r = s
        .call(
            "DetectFaceAttributes",
            json!({ "Image": obama, "FaceAttributesType": "Age;Gender" }),
        )
        .await;
    assert_eq!(code(&r), "InvalidParameterValue", "{r}");

    // QualityControl: out of range refused; the blurred photo refused at 4 and enrolled at 0.
    s.call("CreateGroup", json!({ "GroupId": "g", "GroupName": "g" }))
        .await;
    let r = s
        .call("CreatePerson", json!({ "GroupId": "g", "PersonId": "p", "PersonName": "p", "Image": soft, "QualityControl": 5 }))
        .await;
    assert_eq!(
        code(&r),
        "InvalidParameterValue.QualityControlIllegal",
        "{r}"
    );
    let r = s
        .call("CreatePerson", json!({ "GroupId": "g", "PersonId": "p", "PersonName": "p", "Image": soft, "QualityControl": 4 }))
        .await;
    assert_eq!(code(&r), "FailedOperation.FaceQualityNotQualified", "{r}");
    let r = s
        .call("CreatePerson", json!({ "GroupId": "g", "PersonId": "p", "PersonName": "p", "Image": obama, "QualityControl": 1 }))
        .await;
    assert_eq!(code(&r), "", "{r}");
    let r = s
        .call("CreateFace", json!({ "PersonId": "p", "Images": [soft, obama], "QualityControl": 4, "FaceMatchThreshold": 30 }))
        .await;
    assert_eq!(r["RetCode"], json!([-1601, 0]), "{r}");
    let r = s
        .call(
            "SearchFaces",
            json!({ "GroupIds": ["g"], "Image": soft, "QualityControl": 4 }),
        )
        .await;
    assert_eq!(code(&r), "FailedOperation.FaceQualityNotQualified", "{r}");
    let r = s
        .call(
            "SearchFaces",
            json!({ "GroupIds": ["g"], "Image": soft, "QualityControl": 0 }),
        )
        .await;
    assert_eq!(r["Results"][0]["RetCode"], 0, "{r}");
    let r = s
        .call(
            "VerifyFace",
            json!({ "PersonId": "p", "Image": soft, "QualityControl": 4 }),
        )
        .await;
    assert_eq!(code(&r), "FailedOperation.FaceQualityNotQualified", "{r}");
    let r = s
        .call(
            "CompareFace",
            json!({ "ImageA": obama, "ImageB": soft, "QualityControl": 4 }),
        )
        .await;
    assert_eq!(code(&r), "FailedOperation.FaceQualityNotQualified", "{r}");

    // A refused quality check is not billed; the successful calls are.
    assert_eq!(s.metered("CreatePerson").await, 1);
    assert_eq!(s.metered("SearchFaces").await, 1);
    assert_eq!(s.metered("VerifyFace").await, 0);
    assert_eq!(s.metered("DetectFaceAttributes").await, 1);
    assert_eq!(s.metered("DetectFace").await, 5);
    s.stop().await;
    db.drop_db().await;
}

/// Two fixture photos side by side, each scaled to `height` pixels high, as PNG.
fn side_by_side(left: &str, right: &str, height: u32) -> Vec<u8> {
    let load = |name: &str| {
        let img = image::load_from_memory(&fixture(name)).unwrap();
        img.resize(10_000, height, image::imageops::FilterType::Triangle)
            .to_rgb8()
    };
    let (a, b) = (load(left), load(right));
    let mut out = image::RgbImage::new(a.width() + b.width(), height);
    image::imageops::replace(&mut out, &a, 0, 0);
    image::imageops::replace(&mut out, &b, i64::from(a.width()), 0);
    let mut buf = std::io::Cursor::new(Vec::new());
    out.write_to(&mut buf, image::ImageFormat::Png).unwrap();
    buf.into_inner()
}

/// A photo with two faces: every face gets its own attributes and shape, in the API's
/// order (largest first), and Mode 1 / MaxFaceNum 1 keep the largest only.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_faces_in_one_photo() {
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    // Eileen Collins (astronaut.png) and Barack Obama, the Obama photo drawn larger.
    let pair = b64(&side_by_side("astronaut.png", "obama.jpg", 700));

    let r = s
        .call("DetectFace", json!({ "Image": pair, "MaxFaceNum": 5, "NeedFaceAttributes": 1, "NeedQualityDetection": 1 }))
        .await;
    assert_eq!(code(&r), "", "{r}");
    let faces = r["FaceInfos"].as_array().unwrap();
    assert_eq!(faces.len(), 2, "{r}");
    let area = |f: &Value| f["Width"].as_i64().unwrap() * f["Height"].as_i64().unwrap();
    assert!(area(&faces[0]) >= area(&faces[1]), "largest first: {r}");
    // Each face's attributes are its own: one man, one woman, told apart by position.
    let mut by_x: Vec<&Value> = faces.iter().collect();
    by_x.sort_by_key(|f| f["X"].as_i64().unwrap());
    let gender = |f: &Value| f["FaceAttributesInfo"]["Gender"].as_i64().unwrap();
    assert!(gender(by_x[0]) < 50 && gender(by_x[1]) >= 50, "{r}");
    assert!(faces.iter().all(|f| !f["FaceQualityInfo"].is_null()), "{r}");

    let one = s
        .call(
            "DetectFace",
            json!({ "Image": pair, "NeedFaceAttributes": 1 }),
        )
        .await;
    assert_eq!(one["FaceInfos"].as_array().map(Vec::len), Some(1), "{one}");
    assert_eq!(
        one["FaceInfos"][0]["X"], faces[0]["X"],
        "MaxFaceNum 1 keeps the largest"
    );

    let all = s.call("AnalyzeFace", json!({ "Image": pair })).await;
    let shapes = all["FaceShapeSet"].as_array().unwrap();
    assert_eq!(shapes.len(), 2, "{all}");
    for shape in shapes {
        check_shape(shape);
    }
    let largest = s
        .call("AnalyzeFace", json!({ "Image": pair, "Mode": 1 }))
        .await;
    assert_eq!(
        largest["FaceShapeSet"].as_array().map(Vec::len),
        Some(1),
        "{largest}"
    );
    assert_eq!(
        largest["FaceShapeSet"][0], shapes[0],
        "Mode 1 is the largest face"
    );

    let d = s
        .call(
            "DetectFaceAttributes",
            json!({ "Image": pair, "MaxFaceNum": 2, "FaceAttributesType": "Gender" }),
        )
        .await;
    let kinds: Vec<i64> = d["FaceDetailInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["FaceDetailAttributesInfo"]["Gender"]["Type"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(sorted, [0, 1], "one man (0), one woman (1): {d}");
    s.stop().await;
    db.drop_db().await;
}

/// A fixture photo (scaled down) turned by `turn`, as PNG: no EXIF orientation to undo it.
fn turned_photo(name: &str, turn: vision::Turn) -> Vec<u8> {
    let img = image::load_from_memory(&small_photo(name))
        .unwrap()
        .to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    turn.apply(&img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// A box as the API writes it: (X, Y, Width, Height).
fn api_box(v: &Value) -> (i64, i64, i64, i64) {
    let n = |k: &str| v[k].as_i64().unwrap_or_else(|| panic!("{k} in {v}"));
    (n("X"), n("Y"), n("Width"), n("Height"))
}

/// An upright box of a `w`×`h` image where it lands once the image is turned by `turn`.
fn box_turned(b: (i64, i64, i64, i64), turn: vision::Turn, w: u32, h: u32) -> (i64, i64, i64, i64) {
    let (x, y, bw, bh) = b;
    let (w, h) = (i64::from(w), i64::from(h));
    // Turn the two inclusive corners forward, the inverse of Turn::pixel_to_original.
    let fwd = |px: i64, py: i64| match turn {
        vision::Turn::None => (px, py),
        vision::Turn::Cw90 => (h - 1 - py, px),
        vision::Turn::Cw180 => (w - 1 - px, h - 1 - py),
        vision::Turn::Cw270 => (py, w - 1 - px),
    };
    let (ax, ay) = fwd(x, y);
    let (bx, by) = fwd(x + bw - 1, y + bh - 1);
    let (l, t, r, b) = (ax.min(bx), ay.min(by), ax.max(bx), ay.max(by));
    (l, t, r - l + 1, b - t + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotated_photos_need_rotate_detection() {
    use vision::Turn;
    let db = common::sqlite().await;
    let s = common::start(&db, common::config()).await;
    let upright = small_photo("obama.jpg");
    let up = s
        .call(
            "DetectFace",
            json!({ "Image": b64(&upright), "NeedFaceAttributes": 1 }),
        )
        .await;
    assert_eq!(code(&up), "", "{up}");
    let (w, h) = (
        up["ImageWidth"].as_u64().unwrap() as u32,
        up["ImageHeight"].as_u64().unwrap() as u32,
    );
    let up_box = api_box(&up["FaceInfos"][0]);
    let up_roll = up["FaceInfos"][0]["FaceAttributesInfo"]["Roll"]
        .as_f64()
        .unwrap();

    for turn in [Turn::Cw90, Turn::Cw180] {
        let photo = b64(&turned_photo("obama.jpg", turn));
        // Without the switch the detector misses the face on its side or upside down.
        let r = s.call("DetectFace", json!({ "Image": photo })).await;
        assert_eq!(
            code(&r),
            "InvalidParameterValue.NoFaceInPhoto",
            "{turn:?}: {r}"
        );

        // With it: the same face, its box in the frame of the image as sent.
        let r = s
            .call(
                "DetectFace",
                json!({ "Image": photo, "NeedRotateDetection": 1, "NeedFaceAttributes": 1 }),
            )
            .await;
        assert_eq!(code(&r), "", "{turn:?}: {r}");
        let (tw, th) = turn.turned_size(w, h);
        assert_eq!(
            (r["ImageWidth"].as_u64(), r["ImageHeight"].as_u64()),
            (Some(tw.into()), Some(th.into()))
        );
        let faces = r["FaceInfos"].as_array().unwrap();
        assert_eq!(faces.len(), 1, "{r}");
        // Turning the photo back is exact, so the detection is the upright one, turned.
        assert_eq!(
            api_box(&faces[0]),
            box_turned(up_box, turn, w, h),
            "{turn:?}"
        );
        // Roll (clockwise positive) turns with the image.
        let roll = faces[0]["FaceAttributesInfo"]["Roll"].as_f64().unwrap();
        let want =
            f64::from(Turn::None.roll_to_original((up_roll + f64::from(turn.degrees())) as f32));
        let diff = (roll - want).rem_euclid(360.0);
        assert!(
            diff <= 1.0 || diff >= 359.0,
            "{turn:?}: roll {roll}, upright {up_roll}"
        );

        // The other detecting actions report the same box.
        let d = s
            .call(
                "AnalyzeDenseLandmarks",
                json!({ "Image": photo, "NeedRotateDetection": 1 }),
            )
            .await;
        assert_eq!(
            api_box(&d["DenseFaceShapeSet"][0]),
            api_box(&faces[0]),
            "{d}"
        );
        assert_eq!(
            (d["ImageWidth"].as_u64(), d["ImageHeight"].as_u64()),
            (Some(tw.into()), Some(th.into()))
        );
        let d = s
            .call(
                "DetectFaceAttributes",
                json!({ "Image": photo, "NeedRotateDetection": 1, "FaceAttributesType": "HeadPose" }),
            )
            .await;
        assert_eq!(
            api_box(&d["FaceDetailInfos"][0]["FaceRect"]),
            api_box(&faces[0]),
            "{d}"
        );
        let head_pose = &d["FaceDetailInfos"][0]["FaceDetailAttributesInfo"]["HeadPose"];
        assert!(
            head_pose["Roll"].is_i64() && head_pose["Pitch"].is_i64(),
            "{d}"
        );
        let pose_roll = head_pose["Roll"].as_f64().unwrap();
        assert!((pose_roll - roll).abs() <= 1.0, "{d}");

        // AnalyzeFace: the 90 points map back onto the face, inside its box.
        let a = s
            .call(
                "AnalyzeFace",
                json!({ "Image": photo, "NeedRotateDetection": 1 }),
            )
            .await;
        assert_eq!(code(&a), "", "{turn:?}: {a}");
        let (bx, by, bw, bh) = api_box(&faces[0]);
        let shape = &a["FaceShapeSet"][0];
        for region in [
            "LeftEye",
            "RightEye",
            "Nose",
            "Mouth",
            "LeftPupil",
            "RightPupil",
        ] {
            let (x0, x1, y0, y1) = bounds(&shape[region]);
            assert!(
                x0 >= bx as f64
                    && x1 <= (bx + bw) as f64
                    && y0 >= by as f64
                    && y1 <= (by + bh) as f64,
                "{turn:?}: {region} outside the face box {:?}: {}",
                (bx, by, bw, bh),
                shape[region]
            );
        }
    }
    let r = s
        .call(
            "DetectFace",
            json!({ "Image": b64(&upright), "NeedRotateDetection": 2 }),
        )
        .await;
    assert_eq!(code(&r), "InvalidParameterValue", "{r}");

    // Search and verification of rotated photos find the person enrolled upright.
    let r = s
        .call("CreateGroup", json!({ "GroupId": "g", "GroupName": "g" }))
        .await;
    assert_eq!(code(&r), "", "{r}");
    let r = s
        .call(
            "CreatePerson",
            json!({ "GroupId": "g", "PersonId": "obama", "PersonName": "Obama", "Image": b64(&upright) }),
        )
        .await;
    assert_eq!(code(&r), "", "{r}");
    // CompareFace turns each image as it needs: a photo on its side against the same
    // photo upright is a perfect match.
    let r = s
        .call(
            "CompareFace",
            json!({ "ImageA": b64(&upright), "ImageB": b64(&turned_photo("obama.jpg", Turn::Cw270)),
                    "NeedRotateDetection": 1 }),
        )
        .await;
    assert_eq!(code(&r), "", "{r}");
    assert!(r["Score"].as_f64().unwrap() >= 99.0, "{r}");
    // An enrolment from a turned photo stores the box in the frame of the photo as sent.
    let r = s
        .call(
            "CreateFace",
            json!({ "PersonId": "obama", "Images": [b64(&turned_photo("obama.jpg", Turn::Cw90))],
                    "NeedRotateDetection": 1 }),
        )
        .await;
    assert_eq!(code(&r), "", "{r}");
    assert_eq!(
        api_box(&r["SucFaceRects"][0]),
        box_turned(up_box, Turn::Cw90, w, h),
        "{r}"
    );
    let side = b64(&turned_photo("obama3.jpg", Turn::Cw90));
    let r = s
        .call("SearchPersons", json!({ "GroupIds": ["g"], "Image": side }))
        .await;
    assert_eq!(code(&r), "InvalidParameterValue.NoFaceInPhoto", "{r}");
    let r = s
        .call(
            "SearchPersons",
            json!({ "GroupIds": ["g"], "Image": side, "NeedRotateDetection": 1 }),
        )
        .await;
    assert_eq!(code(&r), "", "{r}");
    let best = &r["Results"][0]["Candidates"][0];
    assert_eq!(best["PersonId"], "obama", "{r}");
    assert!(best["Score"].as_f64().unwrap() >= 40.0, "{r}");
    // Verification of the photo upside down scores as the upright photo does: turned
    // back, it is the same image.
    let verify = |image: String| {
        let s = &s;
        async move {
            let r = s
                .call(
                    "VerifyPerson",
                    json!({ "PersonId": "obama", "Image": image, "NeedRotateDetection": 1 }),
                )
                .await;
            assert_eq!(code(&r), "", "{r}");
            r
        }
    };
    let upright2 = verify(b64(&small_photo("obama2.jpg"))).await;
    let upside_down = verify(b64(&turned_photo("obama2.jpg", Turn::Cw180))).await;
    assert_eq!(upside_down["Score"], upright2["Score"], "{upside_down}");
    assert_eq!(upside_down["IsMatch"], upright2["IsMatch"], "{upside_down}");
    assert!(
        upside_down["Score"].as_f64().unwrap() >= 40.0,
        "{upside_down}"
    );
    s.stop().await;
    db.drop_db().await;
}

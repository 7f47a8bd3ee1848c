//! The gallery, tracking and the IR / depth checks through the SDK.

use image::{GrayImage, Luma, Rgb, RgbImage};
use sdk::{DescriptorVersion, ErrorCode, Sdk, TrackerConfig};

use crate::support::*;

const KEY: [u8; 32] = [7; 32];

#[test]
fn the_gallery_finds_the_enrolled_person_with_the_apis_score() {
    let (dir, sdk, _clock) = open_device(Sdk::Search);
    let gallery = sdk.gallery(&KEY).unwrap();
    assert_eq!(
        gallery.descriptor_version().unwrap(),
        DescriptorVersion::LATEST
    );
    let img = |name: &str| sdk.decode(&photo(name)).unwrap();
    gallery
        .enrol("obama", &img("obama.jpg"), Some("Barack".into()))
        .unwrap();
    gallery.enrol("biden", &img("biden.jpg"), None).unwrap();
    assert_eq!(gallery.list(), vec!["biden".to_owned(), "obama".to_owned()]);

    let (_, probe) = sdk.extract(&img("obama3.jpg")).unwrap();
    let hits = gallery.search(&probe.0, 2).unwrap();
    assert_eq!(hits[0].person_id, "obama", "{hits:?}");
    assert!(hits[0].score > hits[1].score, "{hits:?}");
    let (_, enrolled) = sdk.extract(&img("obama.jpg")).unwrap();
    let expected = sdk.compare(&probe.0, &enrolled.0).unwrap();
    assert!((f64::from(hits[0].distance) - expected.distance).abs() < 1e-4);
    assert!(
        (hits[0].score - expected.score).abs() < 0.01,
        "{hits:?} {expected:?}"
    );

    // Reopened with the wrong key: refused, not empty.
    drop(gallery);
    let err = sdk.gallery(&[8; 32]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::GalleryKey, "{err}");

    // With no licence at all, the data can still be exported.
    let mut out = Vec::new();
    let n = sdk::export_gallery(dir.path(), &KEY, &mut out, &[9; 32]).unwrap();
    assert_eq!(n, 2);
    let again = sdk.gallery(&KEY).unwrap();
    assert_eq!(again.remove_person("biden").unwrap(), 1);
    assert_eq!(again.list(), vec!["obama".to_owned()]);
}

#[test]
fn a_gallery_of_version_1_descriptors_keeps_version_1() {
    let (dir, sdk, _clock) = open_device(Sdk::Search);
    let img = |name: &str| sdk.decode(&photo(name)).unwrap();
    let face = |i: &RgbImage| sdk.detect(i).unwrap().remove(0);
    let v1 = |name: &str| {
        let i = img(name);
        sdk.descriptor_as(&i, &face(&i), DescriptorVersion::V1)
            .unwrap()
    };
    // A gallery as an SDK before version 2 wrote it: version-1 descriptors, a file
    // without a descriptor version (local-gallery's default options).
    {
        let old =
            local_gallery::LocalGallery::open(dir.path().join(sdk::GALLERY_DIR), &KEY).unwrap();
        assert_eq!(old.descriptor_version(), 1);
        old.add_face(
            &local_gallery::PersonId::new("obama").unwrap(),
            &v1("obama.jpg").0,
            local_gallery::FaceMeta::default(),
        )
        .unwrap();
    }
    let gallery = sdk.gallery(&KEY).unwrap();
    assert_eq!(gallery.descriptor_version().unwrap(), DescriptorVersion::V1);
    // A version-2 descriptor is refused, not compared with version-1 ones.
    let (_, probe) = sdk.extract(&img("obama3.jpg")).unwrap();
    let err = gallery.search(&probe.0, 1).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
    assert!(err.to_string().contains("version-1"), "{err}");
    let err = gallery.add("x", &probe.0, None, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument, "{err}");
    // Version 1 searches with version 1's scores; enrol describes with version 1.
    let probe = v1("obama3.jpg");
    let hits = gallery
        .search_as(&probe.0, 2, DescriptorVersion::V1)
        .unwrap();
    let expected = sdk
        .compare_as(&probe.0, &v1("obama.jpg").0, DescriptorVersion::V1)
        .unwrap();
    // The index's distance is f32: the same score to the reported two decimals.
    assert!(
        (hits[0].score - expected.score).abs() < 0.01,
        "{hits:?} {expected:?}"
    );
    gallery.enrol("biden", &img("biden.jpg"), None).unwrap();
    let hits = gallery
        .search_as(&v1("biden.jpg").0, 1, DescriptorVersion::V1)
        .unwrap();
    assert_eq!(hits[0].person_id, "biden");
    assert!(hits[0].distance < 1e-6, "{hits:?}");
    // Emptied, it takes the latest version at its next opening.
    gallery.remove_person("obama").unwrap();
    gallery.remove_person("biden").unwrap();
    drop(gallery);
    let gallery = sdk.gallery(&KEY).unwrap();
    assert_eq!(
        gallery.descriptor_version().unwrap(),
        DescriptorVersion::LATEST
    );
    gallery
        .add("obama", &probe_v2(&sdk, &img("obama.jpg")), None, None)
        .unwrap();
}

fn probe_v2(sdk: &sdk::FaceSdk, img: &RgbImage) -> Vec<f32> {
    sdk.extract(img).unwrap().1 .0
}

#[test]
fn the_gallery_needs_the_search_feature() {
    let (_dir, sdk, _clock) = open_device(Sdk::Detect);
    let gallery = sdk.gallery(&KEY).unwrap();
    let err = gallery.search(&[0.1; 128], 1).unwrap_err();
    assert_eq!(err.code(), ErrorCode::FeatureNotLicensed);
    let err = gallery.add("p1", &[0.1; 128], None, None).unwrap_err();
    assert_eq!(err.code(), ErrorCode::FeatureNotLicensed);
    // Listing needs no feature.
    assert!(gallery.list().is_empty());
}

/// `face` pasted on a grey 480×360 canvas at `x`, shrunk to 160 px wide.
fn frame(face: &RgbImage, x: i64, blur: bool) -> RgbImage {
    let small = image::imageops::resize(face, 160, 160, image::imageops::FilterType::Triangle);
    let small = if blur {
        image::imageops::blur(&small, 3.0)
    } else {
        small
    };
    let mut canvas = RgbImage::from_pixel(480, 360, Rgb([120, 120, 120]));
    image::imageops::overlay(&mut canvas, &small, x, 100);
    canvas
}

#[test]
fn a_moving_face_keeps_its_track_and_its_sharpest_frame() {
    let (_dir, sdk, _clock) = open_device(Sdk::Detect);
    let biden = sdk.decode(&photo("biden.jpg")).unwrap();
    let face = sdk.detect(&biden).unwrap().remove(0);
    let r = face.rect;
    let pad = r.width() / 2;
    let crop = image::imageops::crop_imm(
        &biden,
        (r.left - pad).max(0) as u32,
        (r.top - pad).max(0) as u32,
        (r.width() + 2 * pad) as u32,
        (r.height() + 2 * pad) as u32,
    )
    .to_image();
    let tracker = sdk.tracker(TrackerConfig::default()).unwrap();
    let mut ids = Vec::new();
    for i in 0..6u64 {
        let blurred = i != 3;
        let result = tracker
            .feed(&frame(&crop, 40 + 50 * i as i64, blurred), i * 200)
            .unwrap();
        assert_eq!(result.faces.len(), 1, "frame {i}");
        ids.push(result.faces[0].track);
    }
    assert!(ids.iter().all(|&id| id == ids[0]), "{ids:?}");
    let ended = tracker.finish();
    assert_eq!(ended.len(), 1);
    let best = &ended[0].best;
    assert_eq!(best.at_ms, 600, "the one sharp frame: {best:?}");
    // Its crop is usable as is: the face found in it describes the same person.
    let sdk2 = open_device(Sdk::Search).1;
    let d_best = sdk2.descriptor(&best.crop, &best.face_in_crop).unwrap();
    let (_, d_src) = sdk2.extract(&biden).unwrap();
    let same = sdk2.compare(&d_best.0, &d_src.0).unwrap();
    assert!(same.score >= 50.0, "{same:?}");
    // Time going back is refused; a search licence has no tracking.
    assert_eq!(
        tracker.feed(&biden, 100).map(drop).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        sdk2.tracker(TrackerConfig::default()).unwrap_err().code(),
        ErrorCode::FeatureNotLicensed
    );
}

#[test]
fn ir_and_depth_liveness_need_their_features_and_registered_frames() {
    let (_dir, ir_sdk, _clock) = open_device(Sdk::IrLiveness);
    let img = ir_sdk.decode(&photo("obama.jpg")).unwrap();
    let face = ir_sdk.detect(&img).unwrap().remove(0);

    // An IR-like frame of the real face: a face where the RGB face is.
    let ir = image::imageops::grayscale(&img);
    let verdict = ir_sdk.ir_liveness(&img, &face, &ir).unwrap();
    assert!(verdict.is_live && verdict.score >= 50, "{verdict:?}");
    // A screen replay: no near-infrared, a dark frame.
    let dark = GrayImage::from_pixel(img.width(), img.height(), Luma([6]));
    let verdict = ir_sdk.ir_liveness(&img, &face, &dark).unwrap();
    assert!(!verdict.is_live && verdict.score < 50, "{verdict:?}");
    // Frames that are not registered to the RGB frame are refused.
    let small = GrayImage::new(10, 10);
    let err = ir_sdk.ir_liveness(&img, &face, &small).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    // IR licence, no depth.
    let flat = sdk::DepthMap::from_pixel(img.width(), img.height(), Luma([500]));
    let err = ir_sdk.depth_liveness(&img, &face, &flat).unwrap_err();
    assert_eq!(err.code(), ErrorCode::FeatureNotLicensed);

    let (_dir, d_sdk, _clock) = open_device(Sdk::Liveness3d);
    // A photo held flat in front of the sensor.
    let verdict = d_sdk.depth_liveness(&img, &face, &flat).unwrap();
    assert!(!verdict.is_live && verdict.score < 50, "{verdict:?}");
    let err = d_sdk.ir_liveness(&img, &face, &ir).unwrap_err();
    assert_eq!(err.code(), ErrorCode::FeatureNotLicensed);
}

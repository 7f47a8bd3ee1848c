//! The tracker, IR and depth entry points called through the ABI from Rust: each result
//! equals the Rust SDK's on the same input.

use std::ffi::{c_char, CStr, CString};
use std::path::Path;

use renlian_sdk::*;
use sdk::{DepthMap, FaceSdk, Sdk, TrackerConfig};

use crate::support::*;

/// An SDK opened through the ABI; freed on drop.
struct CSdk(*mut rl_sdk);

impl Drop for CSdk {
    fn drop(&mut self) {
        // SAFETY: opened by rl_sdk_open, freed once.
        unsafe { rl_sdk_free(self.0) }
    }
}

fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

fn path(p: &Path) -> CString {
    c(p.to_str().expect("UTF-8 path"))
}

fn last_error() -> String {
    let mut buf = [0 as c_char; 512];
    // SAFETY: a buffer of its own length.
    unsafe { rl_last_error_message(buf.as_mut_ptr(), buf.len()) };
    // SAFETY: NUL-terminated within the buffer.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

fn ok(rc: i32) {
    assert_eq!(rc, RL_OK, "{}", last_error());
}

fn open_c(licence: &str, data: &Path) -> CSdk {
    let mut config = std::ptr::null_mut();
    let mut sdk = std::ptr::null_mut();
    // SAFETY: a config made, filled and freed on this thread; valid C strings.
    unsafe {
        ok(rl_config_new(&mut config));
        ok(rl_config_set_licence(config, c(licence).as_ptr()));
        ok(rl_config_add_trusted_key(
            config,
            c(&trusted_key()).as_ptr(),
        ));
        ok(rl_config_set_model_dir(config, path(model_dir()).as_ptr()));
        ok(rl_config_set_data_dir(config, path(data).as_ptr()));
        ok(rl_config_set_device_id(config, c(DEVICE).as_ptr()));
        let rc = rl_sdk_open(config, &mut sdk);
        rl_config_free(config);
        ok(rc);
    }
    CSdk(sdk)
}

/// The C and the Rust SDK with one licence for `product`.
fn both(product: Sdk) -> (tempfile::TempDir, CSdk, tempfile::TempDir, FaceSdk) {
    let licence = device_licence(product);
    let data = tempfile::tempdir().expect("temp dir");
    let c_sdk = open_c(&licence, data.path());
    let (rust_data, rust) = rust_sdk(&licence);
    (data, c_sdk, rust_data, rust)
}

fn rgb_image(img: &sdk::RgbImage) -> rl_image {
    rl_image {
        data: img.as_raw().as_ptr(),
        len: img.as_raw().len(),
        width: img.width(),
        height: img.height(),
        stride: 0,
        format: RL_PIXEL_RGB24,
    }
}

fn photo(name: &str, rust: &FaceSdk) -> sdk::RgbImage {
    rust.decode(&std::fs::read(fixtures().join(name)).expect("photo"))
        .expect("decode")
}

fn first_face(sdk: &CSdk, img: &rl_image) -> rl_face {
    let mut faces = [rl_face {
        rect: rl_rect {
            left: 0,
            top: 0,
            right: 0,
            bottom: 0,
        },
        confidence: 0.0,
        landmarks: [rl_point { x: 0, y: 0 }; RL_LANDMARKS],
    }; 4];
    let mut n = 0;
    // SAFETY: live handle, a valid image, an array of its own length.
    ok(unsafe { rl_sdk_detect(sdk.0, img, faces.as_mut_ptr(), faces.len(), &mut n) });
    assert!(n >= 1, "no face");
    faces[0]
}

#[test]
fn a_tracked_sequence_gives_the_rust_trackers_tracks_and_best_shot() {
    let (_d, c_sdk, _rd, rust) = both(Sdk::Detect);
    let frames = [
        photo("obama.jpg", &rust),
        photo("obama2.jpg", &rust),
        photo("obama.jpg", &rust),
    ];
    let times = [0u64, 100, 200];

    let mut tracker = std::ptr::null_mut();
    let mut config = std::mem::MaybeUninit::<rl_tracker_config>::uninit();
    // SAFETY: writes a config; the handle is live.
    unsafe {
        ok(rl_tracker_config_default(config.as_mut_ptr()));
        ok(rl_tracker_new(c_sdk.0, config.as_ptr(), &mut tracker));
    }
    // SAFETY: the config was written above.
    let config = unsafe { config.assume_init() };
    assert_eq!(TrackerConfig::from(config), TrackerConfig::default());
    let rust_tracker = rust.tracker(TrackerConfig::default()).expect("tracker");

    for (img, at) in frames.iter().zip(times) {
        let want = rust_tracker.feed(img, at).expect("feed");
        let mut faces = vec![std::mem::MaybeUninit::<rl_tracked_face>::uninit(); 8];
        let (mut n, mut ended) = (0usize, 0usize);
        // SAFETY: a live tracker, a valid image, arrays of their own lengths.
        ok(unsafe {
            rl_tracker_feed(
                tracker,
                &rgb_image(img),
                at,
                faces.as_mut_ptr().cast(),
                faces.len(),
                &mut n,
                std::ptr::null_mut(),
                0,
                &mut ended,
            )
        });
        assert_eq!(
            (n, ended),
            (want.faces.len(), want.ended.len()),
            "frame {at}"
        );
        for (got, want) in faces.iter().zip(&want.faces) {
            // SAFETY: the first n were written.
            let got = unsafe { got.assume_init() };
            assert_eq!(got.track, want.track);
            assert_eq!(got.confirmed, i32::from(want.confirmed), "frame {at}");
            assert_eq!(sdk::Face::from(&got.face), want.face);
            assert_eq!(got.quality.score, want.quality.score);
        }
    }

    // The live track's best shot, then the end of the stream.
    let track = rust_tracker.feed(&frames[0], 300).expect("feed").faces[0].track;
    let want = rust_tracker.best_shot(track).expect("a live track");
    let mut shot = std::mem::MaybeUninit::<rl_best_shot>::uninit();
    // The first call learns the crop's size, the second fills it.
    let mut faces = 0usize;
    let mut ended = 0usize;
    // SAFETY: as above.
    unsafe {
        ok(rl_tracker_feed(
            tracker,
            &rgb_image(&frames[0]),
            300,
            std::ptr::null_mut(),
            0,
            &mut faces,
            std::ptr::null_mut(),
            0,
            &mut ended,
        ));
        ok(rl_tracker_best_shot(
            tracker,
            track,
            shot.as_mut_ptr(),
            std::ptr::null_mut(),
            0,
        ));
    }
    // SAFETY: written by the call.
    let s = unsafe { shot.assume_init() };
    let mut crop = vec![0u8; s.crop_width as usize * s.crop_height as usize * 3];
    // SAFETY: a buffer of the announced size.
    ok(unsafe {
        rl_tracker_best_shot(
            tracker,
            track,
            shot.as_mut_ptr(),
            crop.as_mut_ptr(),
            crop.len(),
        )
    });
    assert_eq!((s.track, s.at_ms), (want.track, want.at_ms));
    assert_eq!(sdk::Face::from(&s.face), want.face);
    assert_eq!(sdk::Face::from(&s.face_in_crop), want.face_in_crop);
    assert_eq!((s.crop_width, s.crop_height), want.crop.dimensions());
    assert_eq!(&crop, want.crop.as_raw());

    let rust_ended = rust_tracker.finish();
    let mut ended = vec![std::mem::MaybeUninit::<rl_ended_track>::uninit(); 4];
    let mut n = 0;
    // SAFETY: as above.
    ok(unsafe { rl_tracker_finish(tracker, ended.as_mut_ptr().cast(), ended.len(), &mut n) });
    assert_eq!(n, rust_ended.len());
    assert!(n >= 1, "the confirmed track ends with the stream");
    for (i, (got, want)) in ended.iter().zip(&rust_ended).enumerate() {
        // SAFETY: the first n were written.
        let got = unsafe { got.assume_init() };
        assert_eq!(
            (got.track, got.hits, got.first_ms, got.last_ms),
            (want.track, want.hits, want.first_ms, want.last_ms)
        );
        assert_eq!(got.reason, RL_TRACK_FINISHED);
        assert_eq!(got.best.at_ms, want.best.at_ms);
        let mut crop = vec![0u8; got.best.crop_width as usize * got.best.crop_height as usize * 3];
        // SAFETY: a buffer of the announced size.
        ok(unsafe { rl_tracker_ended_crop(tracker, i, crop.as_mut_ptr(), crop.len()) });
        assert_eq!(&crop, want.best.crop.as_raw());
    }
    // SAFETY: out of range is refused, not read.
    assert_eq!(
        unsafe { rl_tracker_ended_crop(tracker, n, std::ptr::null_mut(), 0) },
        RL_E_INVALID_ARGUMENT
    );
    // SAFETY: made by rl_tracker_new, freed once.
    unsafe { rl_tracker_free(tracker) };
}

/// Calls an IR or depth entry point and returns the verdict and its reasons.
fn verdict(
    call: impl FnOnce(*mut rl_sensor_liveness, *mut c_char, usize, *mut usize) -> i32,
) -> (rl_sensor_liveness, String) {
    let mut out = std::mem::MaybeUninit::<rl_sensor_liveness>::uninit();
    let mut text = [0 as c_char; 1024];
    let mut len = 0usize;
    ok(call(
        out.as_mut_ptr(),
        text.as_mut_ptr(),
        text.len(),
        &mut len,
    ));
    // SAFETY: written on success; NUL-terminated within the buffer.
    let (out, text) = unsafe { (out.assume_init(), CStr::from_ptr(text.as_ptr())) };
    let text = text.to_string_lossy().into_owned();
    assert_eq!(len, text.len());
    (out, text)
}

#[test]
fn ir_liveness_gives_the_rust_sdks_verdict() {
    let (_d, c_sdk, _rd, rust) = both(Sdk::IrLiveness);
    let img = photo("obama.jpg", &rust);
    let rgb = rgb_image(&img);
    let face = first_face(&c_sdk, &rgb);
    // A uniform grey frame: no face in IR where the RGB face is (a screen replay).
    let grey = vec![128u8; (img.width() * img.height()) as usize];
    let ir = rl_image {
        data: grey.as_ptr(),
        len: grey.len(),
        width: img.width(),
        height: img.height(),
        stride: 0,
        format: RL_PIXEL_GRAY8,
    };
    let want = rust
        .ir_liveness(
            &img,
            &sdk::Face::from(&face),
            &image::GrayImage::from_raw(img.width(), img.height(), grey.clone()).unwrap(),
        )
        .expect("ir liveness");
    // SAFETY: a live handle and valid images.
    let (got, reasons) =
        verdict(|o, t, c, l| unsafe { rl_sdk_ir_liveness(c_sdk.0, &rgb, &face, &ir, o, t, c, l) });
    assert_eq!(
        (got.score, got.live),
        (u32::from(want.score), i32::from(want.is_live))
    );
    assert!(!want.is_live, "a grey frame is refused: {want:?}");
    assert_eq!(got.failed_checks as usize, want.reasons.len());
    let joined: Vec<String> = want.reasons.iter().map(ToString::to_string).collect();
    assert_eq!(reasons, joined.join("; "));
    // An IR frame must be grey pixels.
    // SAFETY: refused before any read beyond the struct.
    let rc = unsafe {
        rl_sdk_ir_liveness(
            c_sdk.0,
            &rgb,
            &face,
            &rgb,
            &mut got.clone(),
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, RL_E_INVALID_ARGUMENT, "{}", last_error());
    // Depth liveness is another licence's feature.
    let depth = vec![600u16; grey.len()];
    let map = rl_depth_map {
        data: depth.as_ptr(),
        len: depth.len(),
        width: img.width(),
        height: img.height(),
        stride: 0,
    };
    // SAFETY: as above.
    let rc = unsafe {
        rl_sdk_depth_liveness(
            c_sdk.0,
            &rgb,
            &face,
            &map,
            &mut got.clone(),
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, RL_E_FEATURE_NOT_LICENSED);
    assert!(last_error().contains("3d-liveness"), "{}", last_error());
}

#[test]
fn depth_liveness_gives_the_rust_sdks_verdict() {
    let (_d, c_sdk, _rd, rust) = both(Sdk::Liveness3d);
    let img = photo("obama.jpg", &rust);
    let rgb = rgb_image(&img);
    let face = first_face(&c_sdk, &rgb);
    // A flat sheet 60 cm away, rows padded to check the stride.
    let (w, h) = (img.width() as usize, img.height() as usize);
    let stride = w + 3;
    let depth: Vec<u16> = (0..stride * h)
        .map(|i| if i % stride < w { 600 } else { 0 })
        .collect();
    let map = rl_depth_map {
        data: depth.as_ptr(),
        len: depth.len(),
        width: img.width(),
        height: img.height(),
        stride: stride as u32,
    };
    let flat = DepthMap::from_pixel(img.width(), img.height(), image::Luma([600u16]));
    let want = rust
        .depth_liveness(&img, &sdk::Face::from(&face), &flat)
        .expect("depth liveness");
    // SAFETY: a live handle, valid image and map.
    let (got, reasons) = verdict(|o, t, c, l| unsafe {
        rl_sdk_depth_liveness(c_sdk.0, &rgb, &face, &map, o, t, c, l)
    });
    assert_eq!(
        (got.score, got.live),
        (u32::from(want.score), i32::from(want.is_live))
    );
    assert!(!want.is_live, "a flat sheet is refused: {want:?}");
    let joined: Vec<String> = want.reasons.iter().map(ToString::to_string).collect();
    assert_eq!(reasons, joined.join("; "));
    // A map one value short of its last row is an image error.
    let short = rl_depth_map {
        len: depth.len() - 4,
        ..map
    };
    // SAFETY: refused before reading past len.
    let rc = unsafe {
        rl_sdk_depth_liveness(
            c_sdk.0,
            &rgb,
            &face,
            &short,
            &mut got.clone(),
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, RL_E_IMAGE, "{}", last_error());
}

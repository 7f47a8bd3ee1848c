//! Face thumbnails cut at enrolment (CreatePerson, CreateFace) from real photos, the
//! deployment's setting that turns them off, and the cost of one crop.

use std::time::Instant;

use gallery::{AccountId, FaceId};
use image::{imageops, ImageFormat, RgbImage};
use serde_json::{json, Value};
use vision::thumbnail::{crop_region, face_thumbnail, scaled_size, Region, SIDE};
use vision::Rect;

use crate::common;
use common::{b64, code, fixture, small_photo};

fn decode_jpeg(bytes: &[u8]) -> RgbImage {
    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF], "a JPEG");
    image::load_from_memory_with_format(bytes, ImageFormat::Jpeg)
        .unwrap()
        .to_rgb8()
}

/// `region` of `source`, scaled to `size` as the server does.
fn scaled_crop(source: &RgbImage, region: Region, size: (u32, u32)) -> RgbImage {
    let crop = imageops::crop_imm(source, region.x, region.y, region.width, region.height);
    imageops::resize(&*crop, size.0, size.1, imageops::FilterType::Triangle)
}

/// Mean absolute difference per channel of two images of one size.
fn mean_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

fn rect_of(face_rect: &Value) -> Rect {
    let get = |k: &str| face_rect[k].as_i64().unwrap();
    Rect::new(
        get("X"),
        get("Y"),
        get("X") + get("Width") - 1,
        get("Y") + get("Height") - 1,
    )
}

/// Checks that `jpeg` is the thumbnail of the face at `face_rect` in `photo`: a JPEG of
/// the expected size showing that region of the photo, not the one beside it.
fn assert_thumbnail_of(jpeg: &[u8], photo: &[u8], face_rect: &Value) {
    let thumb = decode_jpeg(jpeg);
    let source = image::load_from_memory(photo).unwrap().to_rgb8();
    let region = crop_region(rect_of(face_rect), source.width(), source.height()).unwrap();
    let size = scaled_size(region.width, region.height);
    assert_eq!(thumb.dimensions(), size);
    assert_eq!(size.0.max(size.1), SIDE);
    let same = mean_diff(&thumb, &scaled_crop(&source, region, size));
    let beside = Region {
        x: if region.x + region.width * 3 / 2 <= source.width() {
            region.x + region.width / 2
        } else {
            region.x.saturating_sub(region.width / 2)
        },
        ..region
    };
    let other = mean_diff(&thumb, &scaled_crop(&source, beside, size));
    assert!(same < 6.0, "JPEG error only: {same}");
    assert!(
        other > 3.0 * same,
        "another region differs: {other} vs {same}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn enrolled_faces_get_a_thumbnail_of_the_face() {
    on_both!(db => {
        let s = common::start(db, common::config()).await;
        let account = AccountId::new(s.account.to_string()).unwrap();
        let gallery = &s.state.gallery;
        let thumbnail = |id: &str| {
            let id = FaceId::from_request(id);
            let account = account.clone();
            async move { gallery.thumbnail(&account, &id).await.unwrap() }
        };
        let obama = small_photo("obama.jpg");
        let obama2 = small_photo("obama2.jpg");
        assert_eq!(code(&s.call("CreateGroup", json!({"GroupName": "g", "GroupId": "g"})).await), "");

        let r = s.call("CreatePerson", json!({
            "GroupId": "g", "PersonId": "p", "PersonName": "Obama", "Image": b64(&obama)
        })).await;
        assert_eq!(code(&r), "", "{r}");
        let first = r["FaceId"].as_str().unwrap().to_string();
        let jpeg = thumbnail(&first).await.expect("CreatePerson stores a thumbnail");
        assert_thumbnail_of(&jpeg, &obama, &r["FaceRect"]);

        let r = s.call("CreateFace", json!({
            "PersonId": "p", "Images": [b64(&obama2)], "FaceMatchThreshold": 30
        })).await;
        assert_eq!(r["SucFaceNum"], 1, "{r}");
        let second = r["SucFaceIds"][0].as_str().unwrap().to_string();
        let jpeg = thumbnail(&second).await.expect("CreateFace stores a thumbnail");
        assert_thumbnail_of(&jpeg, &obama2, &r["SucFaceRects"][0]);

        // The operator turns thumbnails off: new faces get none, stored ones stay.
        gallery.set_store_thumbnails(false).await.unwrap();
        let r = s.call("CreateFace", json!({
            "PersonId": "p", "Images": [b64(&obama)], "FaceMatchThreshold": 30
        })).await;
        assert_eq!(r["SucFaceNum"], 1, "{r}");
        let third = r["SucFaceIds"][0].as_str().unwrap().to_string();
        assert_eq!(thumbnail(&third).await, None);
        assert!(thumbnail(&first).await.is_some());

        // Deleted with their faces.
        assert_eq!(code(&s.call("DeletePerson", json!({"PersonId": "p"})).await), "");
        assert_eq!(thumbnail(&first).await, None);
        assert_eq!(thumbnail(&second).await, None);
        s.stop().await;
    });
}

/// The cost of one thumbnail on a fixture photo at its full size (the face found on the
/// small copy, its box scaled up): printed, and checked to be a thumbnail.
#[test]
fn one_crop_costs_a_few_milliseconds() {
    let engine = common::engine();
    let full = image::load_from_memory(&fixture("obama.jpg"))
        .unwrap()
        .to_rgb8();
    let small = engine.decode(&small_photo("obama.jpg")).unwrap();
    let face = engine
        .detect(&small)
        .unwrap()
        .into_iter()
        .max_by_key(|f| f.rect.area())
        .expect("a face");
    let k = f64::from(full.width()) / f64::from(small.width());
    let scale = |v: i64| (v as f64 * k).round() as i64;
    let rect = Rect::new(
        scale(face.rect.left),
        scale(face.rect.top),
        scale(face.rect.right),
        scale(face.rect.bottom),
    );
    let runs = 30;
    let mut bytes = 0;
    let mut thumb = Vec::new();
    for (photo, rect, name) in [(&full, rect, "full"), (&small, face.rect, "small")] {
        thumb = face_thumbnail(photo, rect).unwrap();
        let mut ms: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                thumb = face_thumbnail(photo, rect).unwrap();
                bytes = thumb.len();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        // The minimum is the cost on an idle core; the median shows the machine's load.
        let (min, median) = (ms[0], ms[ms.len() / 2]);
        eprintln!(
            "thumbnail ({name} photo {}x{}, face {}x{}): {min:.2} ms per crop (min; median \
             {median:.2}), {bytes} bytes",
            photo.width(),
            photo.height(),
            rect.width(),
            rect.height()
        );
    }
    let back = decode_jpeg(&thumb);
    assert_eq!(back.width().max(back.height()), SIDE);
}

//! Face thumbnails for the web console: the face cut from a photo with a margin around
//! its box, scaled so that its longer side is [`SIDE`] pixels, as a JPEG. The API's
//! CreatePerson and CreateFace cut one per stored face and hand it to the gallery write
//! (docs/gallery.md, "Thumbnails"). Here rather than in the API because it is pixel
//! work: this crate is built optimised even in tests, so what they measure is what a
//! server pays.

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::RgbImage;

use crate::error::{Result, VisionError};
use crate::geometry::Rect;

/// The thumbnail's longer side in pixels: enough to tell faces apart in a list, and
/// still sharp shown at half that size on a high-density screen.
pub const SIDE: u32 = 112;
/// How much larger than the detector's box the crop is, about its centre: the box holds
/// the face from brows to chin, the margin adds hair and chin so that it reads as a face.
pub const MARGIN: f64 = 1.4;
/// JPEG quality: about 4.4 KB per thumbnail on the fixture photos, with no visible
/// blocks at this size.
pub const QUALITY: u8 = 80;

/// A region of an image: left, top, width, height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// The crop: `face` (dlib's inclusive edges, possibly reaching outside the image) enlarged
/// by [`MARGIN`] about its centre and clipped to the image. `None` when nothing of it lies
/// inside.
pub fn crop_region(face: Rect, image_width: u32, image_height: u32) -> Option<Region> {
    let cx = (face.left + face.right + 1) as f64 / 2.0;
    let cy = (face.top + face.bottom + 1) as f64 / 2.0;
    let half_w = face.width() as f64 * MARGIN / 2.0;
    let half_h = face.height() as f64 * MARGIN / 2.0;
    let left = (cx - half_w).round().max(0.0);
    let top = (cy - half_h).round().max(0.0);
    let right = (cx + half_w).round().min(f64::from(image_width));
    let bottom = (cy + half_h).round().min(f64::from(image_height));
    if right - left < 1.0 || bottom - top < 1.0 {
        return None;
    }
    Some(Region {
        x: left as u32,
        y: top as u32,
        width: (right - left) as u32,
        height: (bottom - top) as u32,
    })
}

/// The size a crop is scaled to: its longer side [`SIDE`], the aspect ratio kept.
pub fn scaled_size(width: u32, height: u32) -> (u32, u32) {
    let longer = width.max(height).max(1);
    let scale =
        |v: u32| ((f64::from(v) * f64::from(SIDE) / f64::from(longer)).round() as u32).max(1);
    (scale(width), scale(height))
}

/// The thumbnail of the face at `face` in `image`, JPEG-encoded. `InvalidArgument` when
/// the box lies wholly outside the image.
pub fn face_thumbnail(image: &RgbImage, face: Rect) -> Result<Vec<u8>> {
    let region = crop_region(face, image.width(), image.height()).ok_or_else(|| {
        VisionError::InvalidArgument(format!("face box {face:?} lies outside the image"))
    })?;
    let (width, height) = scaled_size(region.width, region.height);
    // The triangle filter costs about two taps per source pixel per pass, through the
    // `image` crate's per-pixel accessors: 4-5 ms for a 316-px crop, and it grows with
    // the square of the face. Averaging k×k blocks first (one add per source byte)
    // leaves it at most a 2× reduction, so a large face costs little more than a small
    // one.
    let k = region.width.max(region.height) / SIDE;
    let crop = if k >= 2 {
        box_shrink(image, region, k)
    } else {
        imageops::crop_imm(image, region.x, region.y, region.width, region.height).to_image()
    };
    // Triangle (bilinear, widened when shrinking) weighs every source pixel, so the
    // last step does not alias either.
    let small = imageops::resize(&crop, width, height, FilterType::Triangle);
    let mut out = Vec::with_capacity(8 * 1024);
    JpegEncoder::new_with_quality(&mut out, QUALITY)
        .encode_image(&small)
        .map_err(|e| VisionError::InvalidArgument(format!("thumbnail JPEG encoding: {e}")))?;
    Ok(out)
}

/// `region` of `image` reduced `k` times by averaging k×k blocks (rounded). The last
/// `region.width % k` columns and `region.height % k` rows are left out: under one pixel
/// of the result.
fn box_shrink(image: &RgbImage, region: Region, k: u32) -> RgbImage {
    let (w, h) = ((region.width / k) as usize, (region.height / k) as usize);
    let k = k as usize;
    let stride = image.width() as usize * 3;
    let src = image.as_raw();
    let (x0, y0) = (region.x as usize, region.y as usize);
    let area = (k * k) as u32;
    let mut out = Vec::with_capacity(w * h * 3);
    let mut sums = vec![0u32; w * 3];
    for oy in 0..h {
        sums.fill(0);
        for row in (y0 + oy * k)..(y0 + oy * k + k) {
            let line = &src[row * stride + x0 * 3..row * stride + (x0 + w * k) * 3];
            for (i, block) in line.chunks_exact(k * 3).enumerate() {
                for px in block.chunks_exact(3) {
                    sums[i * 3] += u32::from(px[0]);
                    sums[i * 3 + 1] += u32::from(px[1]);
                    sums[i * 3 + 2] += u32::from(px[2]);
                }
            }
        }
        out.extend(sums.iter().map(|s| ((s + area / 2) / area) as u8));
    }
    // The buffer holds exactly w × h pixels.
    RgbImage::from_raw(w as u32, h as u32, out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_is_the_box_enlarged_about_its_centre() {
        // A 100×120 box (inclusive edges 100..=199, 50..=169) in a large image.
        let r = crop_region(Rect::new(100, 50, 199, 169), 1000, 1000).unwrap();
        assert_eq!(
            r,
            Region {
                x: 80,
                y: 26,
                width: 140,
                height: 168
            }
        );
        assert_eq!(scaled_size(r.width, r.height), (93, 112));
    }

    #[test]
    fn the_crop_is_clipped_to_the_image() {
        // A box reaching past the top-left corner.
        let r = crop_region(Rect::new(-20, -30, 79, 69), 300, 200).unwrap();
        assert_eq!((r.x, r.y), (0, 0));
        assert_eq!((r.width, r.height), (100, 90));
        // Past the bottom-right corner.
        let r = crop_region(Rect::new(250, 150, 349, 249), 300, 200).unwrap();
        assert_eq!((r.x + r.width, r.y + r.height), (300, 200));
        // Wholly outside.
        assert_eq!(crop_region(Rect::new(400, 400, 499, 499), 300, 200), None);
        assert_eq!(scaled_size(300, 20), (112, 7));
        assert_eq!(scaled_size(5, 500), (1, 112));
    }

    #[test]
    fn box_shrink_averages_blocks_of_the_region() {
        // Pixel value = x + 10·y in every channel; 2×2 blocks from (1, 1).
        let image = RgbImage::from_fn(8, 8, |x, y| {
            let v = (x + 10 * y) as u8;
            image::Rgb([v, v, 255 - v])
        });
        let region = Region {
            x: 1,
            y: 1,
            width: 5,
            height: 4,
        };
        let small = box_shrink(&image, region, 2);
        assert_eq!(small.dimensions(), (2, 2));
        // Block (1..=2, 1..=2): (11 + 12 + 21 + 22) / 4 = 16.5, rounded up; blue
        // (244 + 243 + 234 + 233) / 4 = 238.5.
        assert_eq!(small.get_pixel(0, 0).0, [17, 17, 239]);
        // Block (3..=4, 3..=4): (33 + 34 + 43 + 44) / 4 = 38.5; blue 866 / 4 = 216.5.
        assert_eq!(small.get_pixel(1, 1).0, [39, 39, 217]);
    }

    #[test]
    fn the_thumbnail_is_a_jpeg_of_the_face_region() {
        // Left half black, right half white; the box straddles the edge at x = 200.
        let image = RgbImage::from_fn(400, 300, |x, _| {
            if x < 200 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let jpeg = face_thumbnail(&image, Rect::new(150, 100, 249, 199)).unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        let back = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
            .unwrap()
            .to_rgb8();
        assert_eq!(back.dimensions(), (SIDE, SIDE));
        assert!(back.get_pixel(10, 56)[0] < 30, "left of the crop is dark");
        assert!(
            back.get_pixel(100, 56)[0] > 225,
            "right of the crop is light"
        );
        assert!(matches!(
            face_thumbnail(&image, Rect::new(500, 500, 599, 599)),
            Err(VisionError::InvalidArgument(_))
        ));
    }
}

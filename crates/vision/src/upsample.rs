//! dlib's upsampling for small faces: `cnn_face_detection_model_v1(img, n)` doubles the
//! image `n` times with `pyramid_up` (`pyramid_down<2>`) before the detector's pass,
//! then maps every box back with `rect_down`. Reproduced exactly, not approximated by
//! another resize, because the detector's boxes (and so the landmarks and descriptors
//! that follow) move with the resampling grid: the parity test compares against dlib's
//! own upsampled detections.

use image::RgbImage;

use crate::geometry::{DRect, Point, Rect};

/// The size `pyramid_up` gives a `width`×`height` image: `pyramid_down<2>::rect_up` of
/// the image's rectangle, rounded the way dlib converts a `drectangle` (`lround`). It is
/// not quite twice the size: (2w + 2) × (2h + 1).
pub fn upsampled_size(width: u32, height: u32) -> (u32, u32) {
    let up = rect_up(&DRect::new(
        0.0,
        0.0,
        f64::from(width) - 1.0,
        f64::from(height) - 1.0,
    ))
    .to_rect();
    (
        u32::try_from(up.right + 1).unwrap_or(u32::MAX),
        u32::try_from(up.bottom + 1).unwrap_or(u32::MAX),
    )
}

/// `pyramid_down<2>::point_up`.
fn point_up(p: Point) -> Point {
    Point::new((p.x + 1.25) * 2.0, (p.y + 0.75) * 2.0)
}

/// `pyramid_down<2>::point_down`.
fn point_down(p: Point) -> Point {
    Point::new(p.x / 2.0 - 1.25, p.y / 2.0 - 0.75)
}

fn rect_up(r: &DRect) -> DRect {
    let (tl, br) = (point_up(r.tl()), point_up(r.br()));
    DRect::new(tl.x, tl.y, br.x, br.y)
}

/// A box found on an image upsampled `levels` times, in the original image
/// (`pyramid_down<2>::rect_down(rect, levels)`, then dlib's rounding).
pub fn rect_down(r: &Rect, levels: u32) -> Rect {
    let (mut tl, mut br) = (
        Point::new(r.left as f64, r.top as f64),
        Point::new(r.right as f64, r.bottom as f64),
    );
    for _ in 0..levels {
        tl = point_down(tl);
        br = point_down(br);
    }
    DRect::new(tl.x, tl.y, br.x, br.y).to_rect()
}

/// `pyramid_up(img, pyramid_down<2>)`: bilinear `resize_image` to [`upsampled_size`].
///
/// dlib's RGB bilinear resize runs four columns at a time in single precision (`simd4f`),
/// stepping the source column by adding `4 * x_scale` to a float, truncating to integers
/// on the way out; the columns left over at the row's end go through the scalar path in
/// double precision. Both are reproduced as written, because the float accumulation
/// drifts enough over a row to change pixel values by one level.
pub fn pyramid_up(img: &RgbImage) -> RgbImage {
    let (in_w, in_h) = (img.width() as usize, img.height() as usize);
    let (out_w, out_h) = upsampled_size(img.width(), img.height());
    let mut out = RgbImage::new(out_w, out_h);
    if in_w == 0 || in_h == 0 {
        return out;
    }
    let (out_w, out_h) = (out_w as usize, out_h as usize);
    let src = img.as_raw();
    let px = |row: usize, col: usize| {
        let i = (row * in_w + col) * 3;
        [src[i], src[i + 1], src[i + 2]]
    };
    let x_scale = (in_w as f64 - 1.0) / ((out_w as f64 - 1.0).max(1.0));
    let y_scale = (in_h as f64 - 1.0) / ((out_h as f64 - 1.0).max(1.0));
    let dst = out.as_mut();
    let mut y = -y_scale;
    for r in 0..out_h {
        y += y_scale;
        let top = y.floor() as usize;
        let bottom = (top + 1).min(in_h - 1);
        let tb_frac = y - top as f64;
        let row = &mut dst[r * out_w * 3..(r + 1) * out_w * 3];

        // The four-lane single-precision loop.
        let (tb_f, inv_tb_f) = (tb_frac as f32, (1.0 - tb_frac) as f32);
        let x0 = -4.0 * x_scale;
        let mut lanes: [f32; 4] = std::array::from_fn(|k| (x0 + k as f64 * x_scale) as f32);
        let step = (4.0 * x_scale) as f32;
        let mut c = 0;
        loop {
            for lane in &mut lanes {
                *lane += step;
            }
            // Truncation toward zero, as `_mm_cvttps_epi32`; the lanes are never negative.
            let left: [usize; 4] = lanes.map(|x| x as i32 as usize);
            if left[3] + 1 >= in_w {
                break;
            }
            for k in 0..4 {
                let lr = lanes[k] - left[k] as f32;
                let inv_lr = 1.0 - lr;
                let (tlf, trf, blf, brf) =
                    (inv_tb_f * inv_lr, inv_tb_f * lr, tb_f * inv_lr, tb_f * lr);
                let (tl, tr, bl, br) = (
                    px(top, left[k]),
                    px(top, left[k] + 1),
                    px(bottom, left[k]),
                    px(bottom, left[k] + 1),
                );
                for ch in 0..3 {
                    let v = tlf * f32::from(tl[ch])
                        + trf * f32::from(tr[ch])
                        + blf * f32::from(bl[ch])
                        + brf * f32::from(br[ch]);
                    row[(c + k) * 3 + ch] = v as i32 as u8;
                }
            }
            c += 4;
        }

        // The columns left over, in double precision.
        let mut x = -x_scale + c as f64 * x_scale;
        while c < out_w {
            x += x_scale;
            let left = x.floor() as usize;
            let right = (left + 1).min(in_w - 1);
            let lr = x - left as f64;
            let (tl, tr, bl, br) = (
                px(top, left),
                px(top, right),
                px(bottom, left),
                px(bottom, right),
            );
            for ch in 0..3 {
                let v = (1.0 - tb_frac) * ((1.0 - lr) * f64::from(tl[ch]) + lr * f64::from(tr[ch]))
                    + tb_frac * ((1.0 - lr) * f64::from(bl[ch]) + lr * f64::from(br[ch]));
                row[c * 3 + ch] = v as u8;
            }
            c += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_box_mapping_follow_dlib() {
        assert_eq!(upsampled_size(640, 480), (1282, 961));
        assert_eq!(upsampled_size(1, 1), (4, 3));
        // A box on the upsampled image maps back through point_down and lround.
        assert_eq!(
            rect_down(&Rect::new(100, 50, 179, 129), 1),
            Rect::new(49, 24, 88, 64)
        );
        assert_eq!(
            rect_down(&Rect::new(100, 50, 179, 129), 2),
            Rect::new(23, 11, 43, 31)
        );
    }

    #[test]
    fn upsampling_keeps_flat_images_flat_and_ramps_rising() {
        // Truncating the single-precision sums can lose one level, as in dlib.
        let flat = RgbImage::from_pixel(37, 23, image::Rgb([200, 100, 7]));
        let up = pyramid_up(&flat);
        assert_eq!(up.dimensions(), (76, 47));
        for p in up.pixels() {
            for (v, want) in p.0.iter().zip([200u8, 100, 7]) {
                assert!(want - v <= 1, "{:?}", p.0);
            }
        }
        let ramp = RgbImage::from_fn(9, 5, |x, y| image::Rgb([(x * 20) as u8, (y * 40) as u8, 0]));
        let up = pyramid_up(&ramp);
        for y in 0..up.height() {
            for x in 1..up.width() {
                assert!(up.get_pixel(x, y).0[0] + 1 >= up.get_pixel(x - 1, y).0[0]);
            }
        }
        assert!(up.get_pixel(up.width() - 1, 0).0[0] >= 159);
    }
}

//! The detector's input: dlib's tiled image pyramid (`input_rgb_image_pyramid` with
//! `pyramid_down<6>`). Every 5/6 downscale of the image is packed into one canvas, so one
//! pass of the fully convolutional detector scans all scales at once.
//!
//! The layout (padding 10 between levels, 11 around the canvas) decides where the
//! detector's stride-8 grid falls on each level, so it is reproduced exactly; boxes are
//! mapped back to the image through the same rectangles.

use image::RgbImage;

use crate::geometry::{round_half_up, DRect, Point, Rect};

/// Gap between pyramid levels in the canvas (dlib's `pyramid_padding`).
pub const LEVEL_PADDING: i64 = 10;
/// Border around the canvas (dlib's `pyramid_outer_padding`).
pub const OUTER_PADDING: i64 = 11;
/// Each level is 5/6 of the one before (`pyramid_down<6>`).
const RATE: f64 = 5.0 / 6.0;

/// Where each pyramid level sits in the canvas; level 0 is the image itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TiledPyramid {
    /// One rectangle per level, in canvas pixels.
    pub levels: Vec<Rect>,
    /// Canvas width.
    pub width: i64,
    /// Canvas height.
    pub height: i64,
}

impl TiledPyramid {
    /// dlib's `compute_tiled_image_pyramid_details` for an image of `nc` × `nr` pixels.
    pub fn layout(nc: i64, nr: i64) -> TiledPyramid {
        if nr * nc == 0 {
            return TiledPyramid {
                levels: Vec::new(),
                width: 0,
                height: 0,
            };
        }
        let (pad, outer) = (LEVEL_PADDING, OUTER_PADDING);
        let mut rects = vec![Rect::sized(nc, nr)];
        let (mut r, mut c) = (nr, nc);
        loop {
            r = (RATE * r as f64).floor() as i64;
            c = (RATE * c as f64).floor() as i64;
            if r * c == 0 || r < 5 {
                break;
            }
            rects.push(Rect::sized(c, r));
        }
        let total_height: i64 = rects.iter().map(|r| r.height() + pad).sum::<i64>() - 2 * pad;
        let (first_w, first_h) = (rects[0].width(), rects[0].height());
        let mut height = 0;
        let mut prev_width = 0;
        for r in &rects {
            // The first column ends once the next level fits beside the previous one.
            if r.width() <= first_w - prev_width - pad
                && (height - first_h) * 2 >= total_height - first_h
            {
                break;
            }
            height += r.height() + pad;
            prev_width = r.width();
        }
        height -= pad;
        let width = first_w;

        let mut y = outer;
        let mut i = 0;
        while y < height + outer && i < rects.len() {
            rects[i] = rects[i].translate(outer, y);
            y += rects[i].height() + pad;
            i += 1;
        }
        y -= pad;
        while i < rects.len() {
            let (w, h) = (rects[i].width(), rects[i].height());
            let rect = Rect::new(outer + width - w, y - h, outer + width - 1, y - 1);
            if !rects[0].intersect(&rect).is_empty() {
                break;
            }
            rects[i] = rect;
            y -= h + pad;
            i += 1;
        }
        rects.truncate(i);
        TiledPyramid {
            levels: rects,
            width: width + 2 * outer,
            height: height + 2 * outer,
        }
    }

    /// Builds the canvas as planar f32 RGB (CHW), `background` where no level lies.
    /// Levels are made by bilinear resizing of the level before, as dlib does.
    pub fn canvas(&self, img: &RgbImage, background: [f32; 3]) -> Vec<f32> {
        let mut data = vec![0f32; 3 * self.width as usize * self.height as usize];
        self.fill_canvas(img, background, &mut data);
        data
    }

    /// [`TiledPyramid::canvas`] written into `data` (3 × height × width values).
    pub fn fill_canvas(&self, img: &RgbImage, background: [f32; 3], data: &mut [f32]) {
        let (w, h) = (self.width as usize, self.height as usize);
        for (k, plane) in data.chunks_exact_mut(w * h).enumerate() {
            plane.fill(background[k]);
        }
        let Some(first) = self.levels.first() else {
            return;
        };
        let (iw, ih) = (img.width() as usize, img.height() as usize);
        let raw = img.as_raw();
        for (k, plane) in data.chunks_exact_mut(w * h).enumerate() {
            for (y, src) in raw.chunks_exact(iw * 3).take(ih).enumerate() {
                let row = (first.top as usize + y) * w + first.left as usize;
                for (out, px) in plane[row..row + iw].iter_mut().zip(src.chunks_exact(3)) {
                    *out = f32::from(px[k]);
                }
            }
            for pair in self.levels.windows(2) {
                resize_bilinear(plane, w, &pair[0], &pair[1]);
            }
        }
    }

    /// Maps a rectangle in canvas coordinates back to the image (dlib's
    /// `tiled_pyramid_to_image`): the level nearest the rectangle's centre decides the scale.
    pub fn to_image(&self, r: &DRect) -> DRect {
        let c = r.center();
        let (cx, cy) = (round_half_up(c.x), round_half_up(c.y));
        let level = self.nearest_level(cx, cy);
        let origin = &self.levels[level];
        let up = |p: Point| {
            let mut p = Point::new(p.x - origin.left as f64, p.y - origin.top as f64);
            for _ in 0..level {
                p = Point::new(p.x * 6.0 / 5.0 + 0.3, p.y * 6.0 / 5.0 + 0.3);
            }
            p
        };
        let (tl, br) = (up(r.tl()), up(r.br()));
        DRect::new(tl.x, tl.y, br.x, br.y)
    }

    fn nearest_level(&self, x: i64, y: i64) -> usize {
        let mut best = (f64::INFINITY, 0);
        for (i, r) in self.levels.iter().enumerate() {
            if r.contains(x, y) {
                return i;
            }
            let (nx, ny) = (x.clamp(r.left, r.right), y.clamp(r.top, r.bottom));
            let d = (((nx - x) * (nx - x) + (ny - y) * (ny - y)) as f64).sqrt();
            if d < best.0 {
                best = (d, i);
            }
        }
        best.1
    }
}

/// Bilinear resize of one canvas region into another (dlib's float `resize_image`).
fn resize_bilinear(plane: &mut [f32], stride: usize, src: &Rect, dst: &Rect) {
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let (dw, dh) = (dst.width() as usize, dst.height() as usize);
    if sw == 0 || sh == 0 || dw == 0 || dh == 0 {
        return;
    }
    let x_scale = (sw - 1) as f64 / (dw.max(2) - 1) as f64;
    let y_scale = (sh - 1) as f64 / (dh.max(2) - 1) as f64;
    let (sx0, sy0) = (src.left as usize, src.top as usize);
    let (dx0, dy0) = (dst.left as usize, dst.top as usize);
    let cols: Vec<(usize, usize, f32)> = (0..dw)
        .map(|c| {
            let x = c as f64 * x_scale;
            let left = x.floor() as usize;
            (left, (left + 1).min(sw - 1), (x - left as f64) as f32)
        })
        .collect();
    // The horizontal pass once per source row (each feeds up to two output rows), then
    // the vertical one; the same operations in the same order as interpolating each
    // pixel from its four neighbours, so the canvas is bit for bit what it was.
    let mut horizontal = vec![0f32; sh * dw];
    for (y, out) in horizontal.chunks_exact_mut(dw).enumerate() {
        let row = &plane[(sy0 + y) * stride + sx0..][..sw];
        for (o, &(left, right, lr)) in out.iter_mut().zip(&cols) {
            *o = (1.0 - lr) * row[left] + lr * row[right];
        }
    }
    for r in 0..dh {
        let y = r as f64 * y_scale;
        let top = y.floor() as usize;
        let bottom = (top + 1).min(sh - 1);
        let tb = (y - top as f64) as f32;
        let upper = &horizontal[top * dw..][..dw];
        let lower = &horizontal[bottom * dw..][..dw];
        let out = &mut plane[(dy0 + r) * stride + dx0..][..dw];
        for ((o, &u), &l) in out.iter_mut().zip(upper).zip(lower) {
            *o = (1.0 - tb) * u + tb * l;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_level_sits_at_the_outer_padding() {
        let p = TiledPyramid::layout(640, 480);
        assert_eq!(p.levels[0], Rect::new(11, 11, 650, 490));
        assert_eq!(p.width, 640 + 22);
        // Every level lies inside the canvas and no two overlap.
        for (i, a) in p.levels.iter().enumerate() {
            assert!(a.left >= 0 && a.top >= 0 && a.right < p.width && a.bottom < p.height);
            for b in &p.levels[i + 1..] {
                assert!(a.intersect(b).is_empty());
            }
        }
        // Levels shrink by 5/6.
        assert_eq!(p.levels[1].width(), 533);
        assert_eq!(p.levels[1].height(), 400);
    }

    #[test]
    fn boxes_map_back_through_their_level() {
        let p = TiledPyramid::layout(640, 480);
        let l1 = p.levels[1];
        let r = DRect::new(
            l1.left as f64 + 10.0,
            l1.top as f64 + 10.0,
            l1.left as f64 + 89.0,
            l1.top as f64 + 89.0,
        );
        let back = p.to_image(&r);
        assert!((back.left - (10.0 * 1.2 + 0.3)).abs() < 1e-9);
        assert!((back.right - (89.0 * 1.2 + 0.3)).abs() < 1e-9);
    }

    /// The canvas bit for bit as interpolating every pixel from its four neighbours.
    #[test]
    fn resizing_by_rows_equals_the_per_pixel_formula() {
        let (w, h) = (80usize, 47usize);
        let src = Rect::new(2, 3, 40, 33);
        let dst = Rect::new(43, 4, 43 + 31, 4 + 24);
        let mut plane: Vec<f32> = (0..w * h)
            .map(|i| ((i * 7919) % 256) as f32 + (i % 3) as f32 * 0.25)
            .collect();
        let before = plane.clone();
        resize_bilinear(&mut plane, w, &src, &dst);
        let (sw, sh) = (src.width() as usize, src.height() as usize);
        let (dw, dh) = (dst.width() as usize, dst.height() as usize);
        let x_scale = (sw - 1) as f64 / (dw - 1) as f64;
        let y_scale = (sh - 1) as f64 / (dh - 1) as f64;
        let at = |x: usize, y: usize| before[(src.top as usize + y) * w + src.left as usize + x];
        for r in 0..dh {
            for c in 0..dw {
                let (x, y) = (c as f64 * x_scale, r as f64 * y_scale);
                let (left, top) = (x.floor() as usize, y.floor() as usize);
                let (right, bottom) = ((left + 1).min(sw - 1), (top + 1).min(sh - 1));
                let (lr, tb) = ((x - left as f64) as f32, (y - top as f64) as f32);
                let want = (1.0 - tb) * ((1.0 - lr) * at(left, top) + lr * at(right, top))
                    + tb * ((1.0 - lr) * at(left, bottom) + lr * at(right, bottom));
                let got = plane[(dst.top as usize + r) * w + dst.left as usize + c];
                assert_eq!(got.to_bits(), want.to_bits(), "pixel ({c}, {r})");
            }
        }
        // Nothing outside the destination changed.
        for (i, (a, b)) in plane.iter().zip(&before).enumerate() {
            let (x, y) = ((i % w) as i64, (i / w) as i64);
            if !dst.contains(x, y) {
                assert_eq!(a.to_bits(), b.to_bits());
            }
        }
    }
}

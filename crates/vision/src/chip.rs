//! Face alignment: dlib's face chip (`get_face_chip_details` + `extract_image_chip`).
//!
//! The landmarks are mapped by a similarity transform onto a canonical face layout; the
//! chip is sampled bilinearly, from a 2:1 Gaussian image pyramid when the face is much
//! larger than the chip (as dlib does, so that large faces are not aliased). Every
//! rounding and edge convention follows dlib so that the descriptor sees the same pixels.

use image::{Rgb, RgbImage};

use crate::geometry::{rotate_point, similarity_transform, Affine, DRect, Point, Rect};

/// Side of the chip the face descriptor expects.
pub const CHIP_SIZE: u32 = 150;
/// Border around the face in the descriptor's chip, as a fraction of the face.
pub const CHIP_PADDING: f64 = 0.25;

/// dlib's mean positions of its 5 landmarks in the unpadded unit square.
const MEAN_FACE_5: [[f64; 2]; 5] = [
    [0.8595674595992, 0.2134981538014],
    [0.6460604764104, 0.2289674387677],
    [0.1205750620789, 0.2137274526848],
    [0.3340850613712, 0.2290642403242],
    [0.4901123135679, 0.6277975316475],
];

/// dlib's mean positions of landmarks 17..=67 of the 68-point layout.
const MEAN_FACE_68_X: [f64; 51] = [
    0.000213256,
    0.0752622,
    0.18113,
    0.29077,
    0.393397,
    0.586856,
    0.689483,
    0.799124,
    0.904991,
    0.98004,
    0.490127,
    0.490127,
    0.490127,
    0.490127,
    0.36688,
    0.426036,
    0.490127,
    0.554217,
    0.613373,
    0.121737,
    0.187122,
    0.265825,
    0.334606,
    0.260918,
    0.182743,
    0.645647,
    0.714428,
    0.793132,
    0.858516,
    0.79751,
    0.719335,
    0.254149,
    0.340985,
    0.428858,
    0.490127,
    0.551395,
    0.639268,
    0.726104,
    0.642159,
    0.556721,
    0.490127,
    0.423532,
    0.338094,
    0.290379,
    0.428096,
    0.490127,
    0.552157,
    0.689874,
    0.553364,
    0.490127,
    0.42689,
];
const MEAN_FACE_68_Y: [f64; 51] = [
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915,
    0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326, 0.609345, 0.628106, 0.609345,
    0.587326, 0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077, 0.231733, 0.179852,
    0.178758, 0.216423, 0.244077, 0.245099, 0.780233, 0.745405, 0.727388, 0.742578, 0.727388,
    0.745405, 0.780233, 0.864805, 0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746,
    0.785343, 0.778746, 0.784792, 0.824182, 0.831803, 0.824182,
];

/// Where a chip lies in the image: a rotated rectangle sampled onto `size` × `size` pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChipDetails {
    /// The unrotated rectangle, in image pixels.
    pub rect: DRect,
    /// Rotation about the rectangle's centre, in radians.
    pub angle: f64,
    /// Side of the square chip in pixels.
    pub size: u32,
}

/// dlib's `get_face_chip_details` for 5- or 68-point landmarks; `None` for other counts.
pub fn face_chip_details(landmarks: &[(i64, i64)], size: u32, padding: f64) -> Option<ChipDetails> {
    let scale_in = |x: f64, y: f64| {
        Point::new(
            (padding + x) / (2.0 * padding + 1.0) * f64::from(size),
            (padding + y) / (2.0 * padding + 1.0) * f64::from(size),
        )
    };
    let (mut from, mut to) = (Vec::new(), Vec::new());
    let img_point = |i: usize| Point::new(landmarks[i].0 as f64, landmarks[i].1 as f64);
    match landmarks.len() {
        5 => {
            for (i, p) in MEAN_FACE_5.iter().enumerate() {
                from.push(scale_in(p[0], p[1]));
                to.push(img_point(i));
            }
        }
        68 => {
            for i in 17..68 {
                // dlib leaves out the lower lip and the eyebrows.
                if (55..=59).contains(&i) || (65..=67).contains(&i) || (17..=26).contains(&i) {
                    continue;
                }
                from.push(scale_in(MEAN_FACE_68_X[i - 17], MEAN_FACE_68_Y[i - 17]));
                to.push(img_point(i));
            }
        }
        _ => return None,
    }
    let t = similarity_transform(&from, &to);
    let (px, py) = (t.m[0][0], t.m[1][0]);
    let angle = py.atan2(px);
    let scale = px.hypot(py);
    let half = f64::from(size) / 2.0;
    let centre = t.apply(Point::new(half, half));
    let side = f64::from(size) * scale;
    Some(ChipDetails {
        rect: DRect::centered(centre, side, side),
        angle,
        size,
    })
}

/// pyramid_down<2>'s mapping of a rectangle one level down.
fn rect_down(r: &DRect) -> DRect {
    let down = |p: Point| Point::new(p.x / 2.0 - 1.25, p.y / 2.0 - 0.75);
    let (tl, br) = (down(r.tl()), down(r.br()));
    DRect::new(tl.x, tl.y, br.x, br.y)
}

/// Extracts the chip as dlib's `extract_image_chip` does with bilinear interpolation.
pub fn extract_chip(img: &RgbImage, chip: &ChipDetails) -> RgbImage {
    let size = chip.size;
    let area = f64::from(size) * f64::from(size);
    let mut out = RgbImage::new(size, size);

    // How deep an image pyramid the downscale needs, and the region it must cover.
    let mut depth = 0usize;
    let mut grow = 2.0;
    let mut r = rect_down(&chip.rect);
    while r.area() > area {
        r = rect_down(&r);
        depth += 1;
        grow = grow * 2.0 + 2.0;
    }
    let c = chip.rect.center();
    let rot = [
        chip.rect.tl(),
        chip.rect.tr(),
        chip.rect.bl(),
        chip.rect.br(),
    ]
    .into_iter()
    .fold(DRect::empty(), |acc, p| {
        acc.include(rotate_point(c, p, chip.angle))
    });
    let img_rect = DRect::new(
        0.0,
        0.0,
        f64::from(img.width()) - 1.0,
        f64::from(img.height()) - 1.0,
    );
    let grown = rot.grow(grow);
    let bounds = DRect::new(
        grown.left.max(img_rect.left),
        grown.top.max(img_rect.top),
        grown.right.min(img_rect.right),
        grown.bottom.min(img_rect.bottom),
    )
    .to_rect();
    if bounds.is_empty() {
        return out;
    }

    let mut source = crop(img, &bounds);
    let mut level: isize = -1;
    let mut r = chip
        .rect
        .translate(Point::new(-bounds.left as f64, -bounds.top as f64));
    while rect_down(&r).area() > area {
        level += 1;
        r = rect_down(&r);
    }
    for _ in 0..=level.min(depth as isize - 1).max(-1) {
        source = pyramid_down_2(&source);
    }

    let centre = r.center();
    let corner = |p: Point| rotate_point(centre, p, chip.angle);
    let last = f64::from(size - 1);
    let Some(map) = Affine::from_three(
        [
            Point::new(0.0, 0.0),
            Point::new(last, 0.0),
            Point::new(0.0, last),
        ],
        [corner(r.tl()), corner(r.tr()), corner(r.bl())],
    ) else {
        return out;
    };
    let (sw, sh) = (i64::from(source.width()), i64::from(source.height()));
    for y in 0..size {
        for x in 0..size {
            let p = map.apply(Point::new(f64::from(x), f64::from(y)));
            let (left, top) = (p.x.floor() as i64, p.y.floor() as i64);
            if !(left >= 0 && top >= 0 && left + 1 < sw && top + 1 < sh) {
                continue; // dlib leaves samples from outside the image black
            }
            let (lr, tb) = (p.x - left as f64, p.y - top as f64);
            let at = |xx: i64, yy: i64| source.get_pixel(xx as u32, yy as u32).0;
            let (tl, tr, bl, br) = (
                at(left, top),
                at(left + 1, top),
                at(left, top + 1),
                at(left + 1, top + 1),
            );
            let mut px = [0u8; 3];
            for k in 0..3 {
                let v = (1.0 - tb) * ((1.0 - lr) * f64::from(tl[k]) + lr * f64::from(tr[k]))
                    + tb * ((1.0 - lr) * f64::from(bl[k]) + lr * f64::from(br[k]));
                px[k] = v as u8; // dlib truncates
            }
            out.put_pixel(x, y, Rgb(px));
        }
    }
    out
}

fn crop(img: &RgbImage, r: &Rect) -> RgbImage {
    image::imageops::crop_imm(
        img,
        r.left as u32,
        r.top as u32,
        r.width() as u32,
        r.height() as u32,
    )
    .to_image()
}

/// dlib's `pyramid_down<2>` on RGB: a separable [1 4 6 4 1] filter, every other pixel,
/// integer arithmetic, output `(n - 3) / 2` a side (empty below 9 pixels).
pub fn pyramid_down_2(img: &RgbImage) -> RgbImage {
    let (nc, nr) = (img.width() as usize, img.height() as usize);
    if nr <= 8 || nc <= 8 {
        return RgbImage::new(0, 0);
    }
    let tw = (nc - 3) / 2;
    let (ow, oh) = (tw, (nr - 3) / 2);
    let src = img.as_raw();
    let mut temp = vec![0u32; nr * tw * 3];
    for r in 0..nr {
        let row = &src[r * nc * 3..(r + 1) * nc * 3];
        for c in 0..tw {
            let oc = 2 * c;
            for k in 0..3 {
                let p = |i: usize| u32::from(row[(oc + i) * 3 + k]);
                temp[(r * tw + c) * 3 + k] = p(0) + 4 * p(1) + 6 * p(2) + 4 * p(3) + p(4);
            }
        }
    }
    let mut out = RgbImage::new(ow as u32, oh as u32);
    let dst: &mut [u8] = &mut out;
    let mut dr = 0;
    let mut r = 2;
    while r + 2 < nr && dr < oh {
        for c in 0..tw {
            for k in 0..3 {
                let t = |rr: usize| temp[(rr * tw + c) * 3 + k];
                let v = t(r - 2) + 4 * t(r - 1) + 6 * t(r) + 4 * t(r + 1) + t(r + 2);
                dst[(dr * ow + c) * 3 + k] = (v / 256) as u8;
            }
        }
        dr += 1;
        r += 2;
    }
    out
}

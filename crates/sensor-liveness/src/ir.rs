//! Infrared liveness: is there a face in the near-infrared frame where the RGB frame has
//! one, and does it reflect the camera's infrared light as skin does?
//!
//! The method, for an IR frame registered pixel-for-pixel to the RGB frame and the face
//! the engine found in the RGB frame:
//!
//! 1. **A face where the RGB face is.** A square around the RGB face box (twice its side)
//!    is cut from the IR frame, scaled so the face would be 1.5 times the detector's
//!    smallest face, and given to the same MMOD detector as grey RGB. The best detection
//!    must overlap the RGB box by at least [`MIN_FACE_IOU`]. A phone or screen replay
//!    shows no face here: screens emit no near-infrared, so the region is dark and
//!    structureless; a face elsewhere in the frame (a frame not registered, a second
//!    person) does not count.
//! 2. **Skin-like reflectance.** In the central part of the face box (the cheeks, eyes,
//!    nose and mouth; [`INNER_FRACTION`] of the box's width and height) the mean must be
//!    bright enough in absolute terms ([`MIN_FACE_MEAN`]) and relative to the whole
//!    frame ([`MIN_FACE_TO_FRAME`]): the camera's illuminator lights the nearest object,
//!    the face, best. At most [`MAX_SATURATED`] of its pixels may be saturated, and its
//!    spread (standard deviation over mean, at a scale where pixel noise is averaged out)
//!    must lie in [`MIN_CONTRAST`]..[`MAX_CONTRAST`]: a face has shading, a uniform patch
//!    none.
//! 3. **Texture.** The mean gradient (Sobel) of the same region, scaled to
//!    [`TEXTURE_SIDE`] pixels wide and divided by its mean, must reach [`MIN_TEXTURE`]:
//!    eyes, brows, nostrils and lips give edges; a flat patch gives only noise.
//!
//! Each check has a sub-score (0.5 at its threshold); the verdict's score is the weakest
//! one on a 0-100 scale where 50 and above means live.
//!
//! The thresholds were set on synthetic frames, not on real infrared captures (none
//! were available): IR-like frames made from the fixture photos and frames with no face
//! (see `docs/sensor-liveness.md` for what that does and does not show).

use image::imageops::{self, FilterType};
use image::{DynamicImage, GrayImage};
use vision::{Engine, Face, Rect};

use crate::error::{LivenessError, Result};
use crate::stats::{mean_std, ramp, score};

/// Least overlap (IoU) of the IR face with the RGB face box. 0.5 is the overlap at which
/// the face-detection benchmarks (and dlib's own evaluation) count two boxes as the same
/// face; registration errors of a few pixels stay far above it.
pub const MIN_FACE_IOU: f64 = 0.5;
/// Side of the searched square over the RGB face box's side: the face may be displaced
/// by half its size and still be found, so the IoU check (not the search) decides.
pub const SEARCH_SCALE: f64 = 2.0;
/// The face's side in the scaled search square over the detector's smallest face: the
/// detector's sweet spot above its window, and one canvas size for every face (one
/// detector plan).
pub const FACE_OVER_MIN_SIZE: f64 = 1.5;
/// Central part of the face box measured for reflectance and texture (per side): dlib's
/// boxes run from the brows to the chin, so their central 70 % is skin, eyes, nose and
/// mouth with little hair or background.
pub const INNER_FRACTION: f64 = 0.7;
/// Least mean grey level (0-255) of the face region. Under active NIR illumination
/// skin reflects 40-60 % at 850 nm, so an exposed face sits in the upper half of the
/// range; a screen, which emits no NIR, reads near the black level. The IR-like fixture
/// frames measure 137-205 (tests/it/ir.rs prints every case); 40 leaves room for darker
/// exposures while refusing a black face.
pub const MIN_FACE_MEAN: f64 = 40.0;
/// Least ratio of the face region's mean to the whole frame's mean. The illuminator
/// lights the nearest object best, so a live face is not much darker than its scene.
/// The IR-like fixture frames measure 1.4-1.8 (without any illuminator fall-off, which
/// would only raise it); a dark screen-sized patch in them 0.06-0.12.
pub const MIN_FACE_TO_FRAME: f64 = 0.5;
/// Grey level counted as saturated.
pub const SATURATED_LEVEL: u8 = 250;
/// Largest fraction of saturated pixels in the face region: a face washed out by the
/// illuminator (or a glossy print reflecting it) has no measurable texture.
pub const MAX_SATURATED: f64 = 0.2;
/// Side, in pixels, to which the face region's width is scaled before its spread and
/// texture are measured: pixel noise is averaged out and faces of any size compare.
pub const TEXTURE_SIDE: u32 = 64;
/// Least spread (standard deviation over mean) of the scaled face region. Uniform
/// patches with sensor noise measure 0.003-0.010; the IR-like fixture frames 0.14-0.29.
/// Set near the geometric middle.
pub const MIN_CONTRAST: f64 = 0.04;
/// Largest spread of the scaled face region. A face lit by the camera's own
/// illuminator is evenly lit (the IR-like fixture frames measure at most 0.29); a
/// region half black and half lit (a screen's edge, a face half out of the region)
/// measures above 1.
pub const MAX_CONTRAST: f64 = 0.8;
/// Least mean Sobel gradient over mean level of the scaled face region. Uniform patches
/// with sensor noise measure 0.004-0.013; the IR-like fixture frames 0.078-0.14. Set near
/// the geometric middle.
pub const MIN_TEXTURE: f64 = 0.03;

/// One reason an IR frame was refused, for the SDK's error messages.
#[derive(Clone, Debug, PartialEq)]
pub enum IrReason {
    /// The detector found no face near the RGB face box.
    NoFace,
    /// A face was found, but not where the RGB face is.
    FaceMisplaced {
        /// Overlap with the RGB face box.
        iou: f64,
    },
    /// The face region is too dark: nothing reflects the illuminator there.
    TooDark {
        /// Mean grey level, 0-255.
        mean: f64,
    },
    /// The face region is much darker than the rest of the frame.
    DarkerThanScene {
        /// Face mean over frame mean.
        ratio: f64,
    },
    /// Too much of the face region is saturated.
    Saturated {
        /// Fraction of saturated pixels.
        fraction: f64,
    },
    /// The face region is nearly uniform.
    Flat {
        /// Standard deviation over mean.
        contrast: f64,
    },
    /// The face region's levels spread far more than a lit face's.
    Erratic {
        /// Standard deviation over mean.
        contrast: f64,
    },
    /// The face region has no edges (eyes, brows, nostrils, lips).
    NoTexture {
        /// Mean gradient over mean level.
        texture: f64,
    },
}

impl std::fmt::Display for IrReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IrReason::NoFace => write!(f, "no face in the infrared frame where the face is"),
            IrReason::FaceMisplaced { iou } => write!(
                f,
                "the infrared face is not where the colour face is (overlap {iou:.2}, at least {MIN_FACE_IOU} needed)"
            ),
            IrReason::TooDark { mean } => write!(
                f,
                "the face reflects too little infrared light (mean {mean:.0}, at least {MIN_FACE_MEAN} needed)"
            ),
            IrReason::DarkerThanScene { ratio } => write!(
                f,
                "the face is darker than its surroundings in infrared (ratio {ratio:.2}, at least {MIN_FACE_TO_FRAME} needed)"
            ),
            IrReason::Saturated { fraction } => write!(
                f,
                "the face is saturated in infrared ({:.0} % of it, at most {:.0} %)",
                fraction * 100.0,
                MAX_SATURATED * 100.0
            ),
            IrReason::Flat { contrast } => write!(
                f,
                "the face region is uniform in infrared (spread {contrast:.3}, at least {MIN_CONTRAST} needed)"
            ),
            IrReason::Erratic { contrast } => write!(
                f,
                "the face region is not skin-like in infrared (spread {contrast:.3}, at most {MAX_CONTRAST})"
            ),
            IrReason::NoTexture { texture } => write!(
                f,
                "the face region has no texture in infrared (gradient {texture:.3}, at least {MIN_TEXTURE} needed)"
            ),
        }
    }
}

/// What was measured, whatever the verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct IrMeasures {
    /// The best IR face's box in frame coordinates, when one was found.
    pub ir_face: Option<Rect>,
    /// Its detector confidence.
    pub ir_confidence: Option<f32>,
    /// Its overlap (IoU) with the RGB face box; 0 when none was found.
    pub iou: f64,
    /// Mean grey level of the face region, 0-255.
    pub face_mean: f64,
    /// Mean grey level of the whole frame, 0-255.
    pub frame_mean: f64,
    /// Fraction of saturated pixels in the face region.
    pub saturated: f64,
    /// Standard deviation over mean of the scaled face region.
    pub contrast: f64,
    /// Mean Sobel gradient over mean level of the scaled face region.
    pub texture: f64,
}

/// The IR verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct IrVerdict {
    /// 0-100; 50 and above means live (the weakest check decides).
    pub score: u8,
    /// Every check passed.
    pub is_live: bool,
    /// The checks that failed, in the order of the method; empty when live.
    pub reasons: Vec<IrReason>,
    /// The measurements behind the verdict.
    pub measures: IrMeasures,
}

/// Judges the infrared frame `ir`, registered pixel-for-pixel to the RGB frame in which
/// `engine` found `face`. See the module documentation for the method.
pub fn assess(engine: &Engine, ir: &GrayImage, face: &Face) -> Result<IrVerdict> {
    let frame = Rect::sized(i64::from(ir.width()), i64::from(ir.height()));
    if frame.is_empty() {
        return Err(LivenessError::InvalidArgument(
            "the infrared frame has no pixels".into(),
        ));
    }
    let inner = inner_box(&face.rect).intersect(&frame);
    if inner.is_empty() {
        return Err(LivenessError::InvalidArgument(format!(
            "the face box {:?} lies outside the {}×{} infrared frame",
            face.rect,
            ir.width(),
            ir.height()
        )));
    }

    let (ir_face, ir_confidence) = match find_face(engine, ir, &face.rect)? {
        Some((r, c)) => (Some(r), Some(c)),
        None => (None, None),
    };
    let iou = ir_face.map_or(0.0, |r| r.iou(&face.rect));
    let region = crop(ir, &inner);
    let face_mean = mean_std(region.pixels().map(|p| f64::from(p.0[0]))).0;
    let frame_mean = frame_mean(ir);
    let saturated = region
        .pixels()
        .filter(|p| p.0[0] >= SATURATED_LEVEL)
        .count() as f64
        / (region.width() * region.height()).max(1) as f64;
    let (contrast, texture) = structure(&region);
    let ratio = if frame_mean > 0.0 {
        face_mean / frame_mean
    } else {
        0.0
    };

    let mut reasons = Vec::new();
    let mut sub = Vec::new();
    match ir_face {
        None => {
            reasons.push(IrReason::NoFace);
            sub.push(0.0);
        }
        Some(_) => {
            if iou < MIN_FACE_IOU {
                reasons.push(IrReason::FaceMisplaced { iou });
            }
            // Full marks at 0.9: grey and colour detections of one face differ by a few
            // pixels (0.76-0.87 on the fixtures).
            sub.push(ramp(iou, 0.0, MIN_FACE_IOU, 0.9));
        }
    }
    if face_mean < MIN_FACE_MEAN {
        reasons.push(IrReason::TooDark { mean: face_mean });
    }
    sub.push(ramp(face_mean, 0.0, MIN_FACE_MEAN, 2.0 * MIN_FACE_MEAN));
    if ratio < MIN_FACE_TO_FRAME {
        reasons.push(IrReason::DarkerThanScene { ratio });
    }
    sub.push(ramp(ratio, 0.0, MIN_FACE_TO_FRAME, 2.0 * MIN_FACE_TO_FRAME));
    if saturated > MAX_SATURATED {
        reasons.push(IrReason::Saturated {
            fraction: saturated,
        });
    }
    sub.push(ramp(saturated, 2.0 * MAX_SATURATED, MAX_SATURATED, 0.0));
    if contrast < MIN_CONTRAST {
        reasons.push(IrReason::Flat { contrast });
    } else if contrast > MAX_CONTRAST {
        reasons.push(IrReason::Erratic { contrast });
    }
    sub.push(ramp(contrast, 0.0, MIN_CONTRAST, 2.0 * MIN_CONTRAST));
    sub.push(ramp(
        contrast,
        1.5 * MAX_CONTRAST,
        MAX_CONTRAST,
        0.75 * MAX_CONTRAST,
    ));
    if texture < MIN_TEXTURE {
        reasons.push(IrReason::NoTexture { texture });
    }
    sub.push(ramp(texture, 0.0, MIN_TEXTURE, 2.0 * MIN_TEXTURE));

    let is_live = reasons.is_empty();
    Ok(IrVerdict {
        score: score(&sub, is_live),
        is_live,
        reasons,
        measures: IrMeasures {
            ir_face,
            ir_confidence,
            iou,
            face_mean,
            frame_mean,
            saturated,
            contrast,
            texture,
        },
    })
}

/// The central part of a face box.
fn inner_box(r: &Rect) -> Rect {
    let shrink = |lo: i64, hi: i64| {
        let len = (hi - lo + 1) as f64;
        let cut = (len * (1.0 - INNER_FRACTION) / 2.0).round() as i64;
        (lo + cut, hi - cut)
    };
    let (left, right) = shrink(r.left, r.right);
    let (top, bottom) = shrink(r.top, r.bottom);
    Rect::new(left, top, right, bottom)
}

/// A copy of a non-empty rectangle lying inside the image.
fn crop(img: &GrayImage, r: &Rect) -> GrayImage {
    imageops::crop_imm(
        img,
        r.left as u32,
        r.top as u32,
        r.width() as u32,
        r.height() as u32,
    )
    .to_image()
}

/// Mean grey level of the frame, from every other row and column (the mean of a
/// camera frame does not need every pixel).
fn frame_mean(img: &GrayImage) -> f64 {
    let (mut n, mut sum) = (0u64, 0u64);
    for y in (0..img.height()).step_by(2) {
        for x in (0..img.width()).step_by(2) {
            sum += u64::from(img.get_pixel(x, y).0[0]);
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        sum as f64 / n as f64
    }
}

/// Spread (std over mean) and texture (mean Sobel magnitude over mean) of a region
/// scaled to [`TEXTURE_SIDE`] pixels wide.
fn structure(region: &GrayImage) -> (f64, f64) {
    let w = TEXTURE_SIDE;
    let h = ((f64::from(region.height()) * f64::from(w) / f64::from(region.width().max(1))).round()
        as u32)
        .max(3);
    let small = imageops::resize(region, w, h, FilterType::Triangle);
    let (mean, std) = mean_std(small.pixels().map(|p| f64::from(p.0[0])));
    if mean <= 0.0 {
        return (0.0, 0.0);
    }
    let px = |x: u32, y: u32| f64::from(small.get_pixel(x, y).0[0]);
    let (mut sum, mut n) = (0.0, 0usize);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let gx = (px(x + 1, y - 1) + 2.0 * px(x + 1, y) + px(x + 1, y + 1))
                - (px(x - 1, y - 1) + 2.0 * px(x - 1, y) + px(x - 1, y + 1));
            let gy = (px(x - 1, y + 1) + 2.0 * px(x, y + 1) + px(x + 1, y + 1))
                - (px(x - 1, y - 1) + 2.0 * px(x, y - 1) + px(x + 1, y - 1));
            // Sobel's kernels weigh 4 pixel differences: per-pixel gradient.
            sum += gx.hypot(gy) / 4.0;
            n += 1;
        }
    }
    (std / mean, sum / n.max(1) as f64 / mean)
}

/// The MMOD detector's best face in a square around `rgb_box`, in frame coordinates,
/// with its confidence: the detection overlapping the RGB box most.
fn find_face(engine: &Engine, ir: &GrayImage, rgb_box: &Rect) -> Result<Option<(Rect, f32)>> {
    let side = rgb_box.width().max(rgb_box.height()) as f64;
    let search = (side * SEARCH_SCALE).round().max(1.0) as i64;
    let cx = (rgb_box.left + rgb_box.right) as f64 / 2.0;
    let cy = (rgb_box.top + rgb_box.bottom) as f64 / 2.0;
    let left = (cx - search as f64 / 2.0).round() as i64;
    let top = (cy - search as f64 / 2.0).round() as i64;
    // Outside the frame reads black, as a frame's border would to the detector.
    let mut square = GrayImage::new(search as u32, search as u32);
    let frame = Rect::sized(i64::from(ir.width()), i64::from(ir.height()));
    let within = Rect::new(left, top, left + search - 1, top + search - 1).intersect(&frame);
    if !within.is_empty() {
        imageops::replace(
            &mut square,
            &crop(ir, &within),
            within.left - left,
            within.top - top,
        );
    }
    let min_face = f64::from(engine.config().detect.min_face_size.max(1));
    let canvas = (min_face * FACE_OVER_MIN_SIZE * SEARCH_SCALE).round() as u32;
    let scaled = imageops::resize(&square, canvas, canvas, FilterType::Triangle);
    let rgb = DynamicImage::ImageLuma8(scaled).into_rgb8();
    let k = search as f64 / f64::from(canvas);
    let back = |v: i64, origin: i64| origin + (v as f64 * k).round() as i64;
    Ok(engine
        .detect_boxes(&rgb)?
        .into_iter()
        .map(|d| {
            let r = Rect::new(
                back(d.rect.left, left),
                back(d.rect.top, top),
                back(d.rect.right, left),
                back(d.rect.bottom, top),
            );
            (r, d.confidence)
        })
        .max_by(|a, b| a.0.iou(rgb_box).total_cmp(&b.0.iou(rgb_box))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_box_keeps_the_centre() {
        let r = inner_box(&Rect::new(100, 200, 199, 299));
        assert_eq!(r, Rect::new(115, 215, 184, 284));
    }

    #[test]
    fn uniform_region_has_no_structure() {
        let flat = GrayImage::from_pixel(150, 150, image::Luma([120]));
        assert_eq!(structure(&flat), (0.0, 0.0));
        let black = GrayImage::new(150, 150);
        assert_eq!(structure(&black), (0.0, 0.0));
    }

    #[test]
    fn edges_give_texture() {
        // Vertical stripes 8 px wide at 150 px: scaled to 64 px they remain edges.
        let stripes = GrayImage::from_fn(150, 150, |x, _| {
            image::Luma([if (x / 8) % 2 == 0 { 60 } else { 180 }])
        });
        let (contrast, texture) = structure(&stripes);
        assert!(contrast > 0.3, "{contrast}");
        assert!(texture > 0.2, "{texture}");
    }
}

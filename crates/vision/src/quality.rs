//! Face quality as IAI reports it (`FaceQualityInfo`): sharpness, brightness,
//! completeness per facial region and an overall score, all 0-100, and IAI's
//! `QualityControl` levels 1-4 as thresholds on them.
//!
//! Every figure is a stated formula on pixels and landmarks, not a learned model;
//! `docs/quality.md` gives the formulas, the measurements behind their constants and
//! what they cannot see (completeness sees a face cut by the image border, not a hand
//! or a mask over it).

use image::{GrayImage, RgbImage};

use crate::geometry::Rect;
use crate::shape::{FaceShape90, Point};

/// IAI's `FaceQualityInfo` of one face.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Quality {
    /// Overall: sharpness × brightness factor × mean completeness (see [`assess`]).
    pub score: u32,
    /// 0 very blurred … 100 sharp.
    pub sharpness: u32,
    /// 0 dark … 100 bright; IAI calls [30, 70] normal.
    pub brightness: u32,
    /// Per region, the share of its landmarks inside the image.
    pub completeness: Completeness,
}

/// IAI's `FaceQualityCompleteness`: 100 = nothing of the region missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Completeness {
    pub eyebrow: u32,
    pub eye: u32,
    pub nose: u32,
    pub cheek: u32,
    pub mouth: u32,
    pub chin: u32,
}

/// Side of the grey face crop sharpness is measured on.
pub const SHARPNESS_SIZE: u32 = 128;
/// ln of the Laplacian-to-grey variance ratio that maps to sharpness 0 and 100
/// (measured, see `docs/quality.md`).
const LN_RATIO_AT_0: f32 = -7.5;
const LN_RATIO_AT_100: f32 = -3.0;

/// IAI's reference thresholds: a region at or below its value counts as occluded
/// (`FaceQualityCompleteness` field docs).
const OCCLUDED: Completeness = Completeness {
    eyebrow: 80,
    eye: 80,
    nose: 60,
    cheek: 70,
    mouth: 50,
    chin: 70,
};

/// Measures the quality of the face in `face` (its detection box) with its 90 landmarks.
pub fn assess(img: &RgbImage, face: Rect, shape: &FaceShape90) -> Quality {
    let whole = Rect::new(
        0,
        0,
        i64::from(img.width()) - 1,
        i64::from(img.height()) - 1,
    );
    let r = face.intersect(&whole);
    let (sharpness, brightness) = if r.is_empty() {
        (0, 0)
    } else {
        // Inside the image after clipping, so the casts cannot wrap.
        let crop = image::imageops::crop_imm(
            img,
            r.left as u32,
            r.top as u32,
            r.width() as u32,
            r.height() as u32,
        )
        .to_image();
        let grey = luma(&crop);
        (sharpness(&grey), brightness(&grey))
    };
    let completeness = completeness(img.width(), img.height(), shape);
    Quality {
        score: score(sharpness, brightness, &completeness),
        sharpness,
        brightness,
        completeness,
    }
}

/// BT.601 luma of every pixel.
pub fn luma(img: &RgbImage) -> GrayImage {
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        let [r, g, b] = img.get_pixel(x, y).0.map(f32::from);
        image::Luma([(0.299 * r + 0.587 * g + 0.114 * b).round() as u8])
    })
}

/// The ratio var(Laplacian) / var(grey) of the crop resized to [`SHARPNESS_SIZE`]²:
/// blur removes the fine detail the Laplacian sees while the grey levels keep most of
/// their spread, and dividing by that spread makes the ratio independent of contrast
/// and exposure. Returns 0 for a flat crop.
pub fn laplacian_ratio(grey: &GrayImage) -> f32 {
    let n = SHARPNESS_SIZE;
    let small = image::imageops::resize(grey, n, n, image::imageops::FilterType::Triangle);
    let v = |x: u32, y: u32| f32::from(small.get_pixel(x, y).0[0]);
    let mut lap = Vec::with_capacity(((n - 2) * (n - 2)) as usize);
    for y in 1..n - 1 {
        for x in 1..n - 1 {
            lap.push(v(x - 1, y) + v(x + 1, y) + v(x, y - 1) + v(x, y + 1) - 4.0 * v(x, y));
        }
    }
    let values: Vec<f32> = small.pixels().map(|p| f32::from(p.0[0])).collect();
    let grey_var = variance(&values);
    if grey_var < 1.0 {
        return 0.0;
    }
    variance(&lap) / grey_var
}

fn variance(v: &[f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    let n = v.len() as f32;
    let mean = v.iter().sum::<f32>() / n;
    v.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n
}

/// 0-100, linear in ln(ratio) between the two measured anchors.
fn sharpness(grey: &GrayImage) -> u32 {
    let ratio = laplacian_ratio(grey);
    if ratio <= 0.0 {
        return 0;
    }
    let t = (ratio.ln() - LN_RATIO_AT_0) / (LN_RATIO_AT_100 - LN_RATIO_AT_0);
    percent(t)
}

/// Mean luma of the face box, 0-255 mapped linearly to 0-100.
fn brightness(grey: &GrayImage) -> u32 {
    let n = (grey.width() * grey.height()).max(1) as f32;
    let mean = grey.pixels().map(|p| f32::from(p.0[0])).sum::<f32>() / n;
    percent(mean / 255.0)
}

fn percent(t: f32) -> u32 {
    (t.clamp(0.0, 1.0) * 100.0).round() as u32
}

/// The 21 profile points run from one temple down round the chin to the other; the
/// middle seven are the chin, the rest the cheeks' outline.
const CHIN: std::ops::Range<usize> = 7..14;

fn completeness(width: u32, height: u32, s: &FaceShape90) -> Completeness {
    let inside = |p: &Point| p.x >= 0.0 && p.y >= 0.0 && p.x < width as f32 && p.y < height as f32;
    let share = |points: &mut dyn Iterator<Item = &Point>| -> u32 {
        let (mut n, mut k) = (0usize, 0usize);
        for p in points {
            n += 1;
            k += usize::from(inside(p));
        }
        // A region without points has nothing missing that we can see.
        if n == 0 {
            100
        } else {
            percent(k as f32 / n as f32)
        }
    };
    let profile = &s.face_profile;
    let chin = profile.get(CHIN).unwrap_or(&[]);
    let cheeks = profile
        .iter()
        .enumerate()
        .filter(|(i, _)| !CHIN.contains(i))
        .map(|(_, p)| p);
    Completeness {
        eyebrow: share(&mut s.left_eye_brow.iter().chain(&s.right_eye_brow)),
        eye: share(
            &mut s
                .left_eye
                .iter()
                .chain(&s.right_eye)
                .chain([&s.left_pupil, &s.right_pupil]),
        ),
        nose: share(&mut s.nose.iter()),
        cheek: share(&mut cheeks.into_iter()),
        mouth: share(&mut s.mouth.iter()),
        chin: share(&mut chin.iter()),
    }
}

/// How far brightness is from IAI's normal range [30, 70], as a factor 0-1: 1 inside,
/// falling by 0.02 per point outside (0.4 at 0 and at 100).
fn brightness_factor(brightness: u32) -> f32 {
    let b = brightness as f32;
    let off = (30.0 - b).max(b - 70.0).max(0.0);
    (1.0 - 0.02 * off).max(0.0)
}

fn score(sharpness: u32, brightness: u32, c: &Completeness) -> u32 {
    let regions = [c.eyebrow, c.eye, c.nose, c.cheek, c.mouth, c.chin];
    let mean = regions.iter().sum::<u32>() as f32 / regions.len() as f32 / 100.0;
    percent(sharpness as f32 / 100.0 * brightness_factor(brightness) * mean)
}

/// The issues IAI's `QualityControl` text names, counted on one face.
struct Issues {
    /// Sharpness below 40: "very blurred" (非常模糊, IAI's [0, 40]).
    very_blurred: bool,
    /// Sharpness 40-59: "blurred" (模糊).
    blurred: bool,
    /// Eye, nose or mouth occluded: what only level 1 tolerates.
    core_occluded: bool,
    /// Eye, nose and mouth all occluded: no face left to recognise.
    all_core_occluded: bool,
    /// The mild issues: dark, bright, "ordinary blur" (sharpness 60-79), eyebrow,
    /// cheek or chin occluded.
    mild: usize,
}

fn issues(q: &Quality) -> Issues {
    let c = &q.completeness;
    let core = [
        c.eye <= OCCLUDED.eye,
        c.nose <= OCCLUDED.nose,
        c.mouth <= OCCLUDED.mouth,
    ];
    let mild = [
        q.brightness < 30,
        q.brightness > 70,
        (60..80).contains(&q.sharpness),
        c.eyebrow <= OCCLUDED.eyebrow,
        c.cheek <= OCCLUDED.cheek,
        c.chin <= OCCLUDED.chin,
    ];
    Issues {
        very_blurred: q.sharpness < 40,
        blurred: (40..60).contains(&q.sharpness),
        core_occluded: core.iter().any(|&b| b),
        all_core_occluded: core.iter().all(|&b| b),
        mild: mild.iter().filter(|&&b| b).count(),
    }
}

/// Whether a face passes IAI's `QualityControl` level (0 none, 1 low, 2 normal, 3 high,
/// 4 very high; above 4 is treated as 4). Each level accepts a subset of the one below:
/// - 1: anything but an extremely blurred face (sharpness below 20) or one whose eyes,
///   nose and mouth are all occluded;
/// - 2: not very blurred (sharpness ≥ 40), eyes, nose and mouth unoccluded, at most three
///   issues among blurred, dark, bright, ordinary blur, eyebrow/cheek/chin occluded;
/// - 3: sharpness ≥ 60, eyes, nose and mouth unoccluded, at most two mild issues;
/// - 4: as 3 with at most one mild issue.
pub fn meets(control: u8, q: &Quality) -> bool {
    let i = issues(q);
    match control {
        0 => true,
        1 => q.sharpness >= 20 && !i.all_core_occluded,
        2 => !i.very_blurred && !i.core_occluded && i.mild + usize::from(i.blurred) <= 3,
        3 => !i.very_blurred && !i.blurred && !i.core_occluded && i.mild <= 2,
        _ => !i.very_blurred && !i.blurred && !i.core_occluded && i.mild <= 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plausible 90-point shape inside a face box at (x, y) of side `s`: regions
    /// at the places a frontal face has them.
    fn synthetic_shape(x: f32, y: f32, s: f32) -> FaceShape90 {
        let p = |u: f32, v: f32| Point::new(x + u * s, y + v * s);
        let line = |n: usize, u0: f32, v0: f32, u1: f32, v1: f32| -> Vec<Point> {
            (0..n)
                .map(|i| {
                    let t = i as f32 / (n - 1) as f32;
                    p(u0 + (u1 - u0) * t, v0 + (v1 - v0) * t)
                })
                .collect()
        };
        let profile = (0..21)
            .map(|i| {
                let a = std::f32::consts::PI * i as f32 / 20.0;
                p(0.5 - 0.45 * a.cos(), 0.3 + 0.65 * a.sin())
            })
            .collect();
        FaceShape90 {
            face_profile: profile,
            left_eye: line(8, 0.2, 0.35, 0.4, 0.35),
            right_eye: line(8, 0.6, 0.35, 0.8, 0.35),
            left_eye_brow: line(8, 0.15, 0.25, 0.42, 0.25),
            right_eye_brow: line(8, 0.58, 0.25, 0.85, 0.25),
            mouth: line(22, 0.35, 0.78, 0.65, 0.78),
            nose: line(13, 0.5, 0.4, 0.5, 0.62),
            left_pupil: p(0.3, 0.35),
            right_pupil: p(0.7, 0.35),
        }
    }

    fn textured(w: u32, h: u32, level: f32) -> RgbImage {
        // A checkerboard of 4-pixel cells: fine detail for the Laplacian to see.
        RgbImage::from_fn(w, h, |x, y| {
            let v = if (x / 4 + y / 4) % 2 == 0 { 0.3 } else { 0.7 };
            let g = (v * level * 255.0).round() as u8;
            image::Rgb([g, g, g])
        })
    }

    #[test]
    fn completeness_counts_the_points_inside_the_image() {
        let img = textured(200, 200, 1.0);
        let face = Rect::new(50, 50, 149, 149);
        let whole = assess(&img, face, &synthetic_shape(50.0, 50.0, 100.0));
        assert_eq!(
            whole.completeness,
            Completeness {
                eyebrow: 100,
                eye: 100,
                nose: 100,
                cheek: 100,
                mouth: 100,
                chin: 100
            }
        );
        // The same face with its left half beyond the left edge.
        let shifted = Rect::new(-50, 50, 49, 149);
        let half = assess(&img, shifted, &synthetic_shape(-50.0, 50.0, 100.0));
        let c = half.completeness;
        // One eyebrow and one eye (and its pupil) of two are outside.
        assert_eq!(c.eyebrow, 50);
        assert_eq!(c.eye, 50);
        assert!(c.mouth < 100 && c.cheek < 100 && c.chin < 100, "{c:?}");
        assert!(half.score < whole.score, "{half:?} vs {whole:?}");
    }

    #[test]
    fn brightness_follows_the_mean_luma() {
        let shape = synthetic_shape(0.0, 0.0, 100.0);
        let face = Rect::new(0, 0, 99, 99);
        let grey = |v: u8| RgbImage::from_pixel(100, 100, image::Rgb([v, v, v]));
        assert_eq!(assess(&grey(0), face, &shape).brightness, 0);
        assert_eq!(assess(&grey(128), face, &shape).brightness, 50);
        assert_eq!(assess(&grey(255), face, &shape).brightness, 100);
        // A flat image has no detail at all.
        assert_eq!(assess(&grey(128), face, &shape).sharpness, 0);
    }

    #[test]
    fn sharpness_ignores_exposure_and_drops_with_blur() {
        let ratio = |img: &RgbImage| laplacian_ratio(&luma(img));
        let sharp = ratio(&textured(128, 128, 1.0));
        let dim = ratio(&textured(128, 128, 0.5));
        // Halving every value halves both spreads; only rounding to whole grey levels differs.
        assert!((dim / sharp - 1.0).abs() < 0.02, "{dim} vs {sharp}");
        let soft = ratio(&image::imageops::blur(&textured(128, 128, 1.0), 2.0));
        let softer = ratio(&image::imageops::blur(&textured(128, 128, 1.0), 4.0));
        assert!(softer < soft && soft < sharp, "{softer} < {soft} < {sharp}");
        // Mapped: ln ratio −7.5 → 0 and −3 → 100, linearly.
        let shape = synthetic_shape(0.0, 0.0, 128.0);
        let face = Rect::new(0, 0, 127, 127);
        let q = assess(
            &image::imageops::blur(&textured(128, 128, 1.0), 4.0),
            face,
            &shape,
        );
        let want = (softer.ln() + 7.5) / 4.5 * 100.0;
        assert!(
            (q.sharpness as f32 - want.clamp(0.0, 100.0)).abs() <= 0.5,
            "{q:?}, {want}"
        );
    }

    fn quality(sharpness: u32, brightness: u32, c: Completeness) -> Quality {
        Quality {
            score: score(sharpness, brightness, &c),
            sharpness,
            brightness,
            completeness: c,
        }
    }

    #[test]
    fn each_control_level_accepts_a_subset_of_the_one_below() {
        let full = Completeness {
            eyebrow: 100,
            eye: 100,
            nose: 100,
            cheek: 100,
            mouth: 100,
            chin: 100,
        };
        let mut cases = Vec::new();
        for sharpness in (0..=100).step_by(5) {
            for brightness in (0..=100).step_by(10) {
                for occluded in 0..64u32 {
                    let o = |bit: u32, v: u32| if occluded & (1 << bit) != 0 { v } else { 100 };
                    let c = Completeness {
                        eyebrow: o(0, 50),
                        eye: o(1, 50),
                        nose: o(2, 40),
                        cheek: o(3, 50),
                        mouth: o(4, 30),
                        chin: o(5, 50),
                    };
                    cases.push(quality(sharpness, brightness, c));
                }
            }
        }
        for q in &cases {
            assert!(meets(0, q));
            for level in 1..=4u8 {
                if meets(level + 1, q) {
                    assert!(
                        meets(level, q),
                        "level {} but not {level}: {q:?}",
                        level + 1
                    );
                }
            }
        }
        // A sharp, well-lit, whole face passes everything; a very blurred one only 0 and 1.
        let good = quality(90, 50, full);
        assert!((0..=4).all(|l| meets(l, &good)));
        let soft = quality(30, 50, full);
        assert!(meets(1, &soft) && !meets(2, &soft));
        // A covered mouth fails 2-4 but passes 1.
        let masked = quality(90, 50, Completeness { mouth: 0, ..full });
        assert!(meets(1, &masked) && !meets(2, &masked));
        // Two mild issues (dark, chin cut off) pass 3, not 4.
        let two = quality(90, 20, Completeness { chin: 0, ..full });
        assert!(meets(3, &two) && !meets(4, &two));
    }
}

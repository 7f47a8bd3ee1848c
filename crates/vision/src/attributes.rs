//! Face attributes: age, gender and expression, from the TensorFlow.js models of the
//! `human-models` pack (converted to ONNX by the `tfjs` crate, run in tract).
//!
//! The models and how they are fed follow the Human library (`@vladmandic/human` 3.3,
//! `src/face/faceres.ts`, `src/gear/emotion.ts`, `src/gear/gear.ts`):
//! - the face is first cut out as a square, [`FACE_SIZE`] pixels a side, values 0-1,
//!   with TensorFlow's `cropAndResize` (bilinear, 0 outside the image). Human cuts its
//!   BlazeFace box enlarged 1.4 times; we cut dlib's MMOD box enlarged
//!   [`DEFAULT_CROP_SCALE`] times (the two detectors frame a face differently; the
//!   factor was chosen by measurement, see `docs/attributes.md`). Like Human with its
//!   default `rotation: false`, the crop is not rotated upright;
//! - `faceres` (HSE FaceRes): that square resized to 224×224 (`resizeBilinear`, no
//!   corner alignment), values 0-255. Outputs: a 100-way age distribution (index =
//!   years), a sigmoid that is the probability of "male" (Human: `<= 0.5` is female),
//!   and a 1024-d descriptor we do not use;
//! - `emotion` (oarriaga's face_classification): the square resized to 64×64, grey
//!   `0.2989 R + 0.587 G + 0.114 B`, then `(g − 0.5)·2`. Output: 7 softmax values in
//!   the order angry, disgust, fear, happy, sad, surprise, neutral;
//! - `gear` (GEAR predictor, optional): `cropAndResize` of the square's box
//!   `[top 0, left 0.1, bottom 0.9, right 0.9]` to 198×198, values 0-1. Outputs: 7 age
//!   buckets, 2 gender values (male, female), 5 race values.
//!
//! These are the models' raw judgements, not calibrated probabilities; how well they
//! do on our calibration photos is in `docs/attributes.md`.

use image::RgbImage;

use crate::engine::Face;
use crate::error::{Result, VisionError};
use crate::geometry::Rect;
use crate::runtime::Network;
use crate::shape::FaceShape90;

/// Side of the face square every model reads from (Human's face-mesh input size).
pub const FACE_SIZE: usize = 192;
/// How much dlib's face box is enlarged (around its centre) before it is cut out.
pub const DEFAULT_CROP_SCALE: f32 = 1.4;

const FACERES_SIZE: usize = 224;
const EMOTION_SIZE: usize = 64;
const GEAR_SIZE: usize = 198;

/// The emotion model's index of each IAI emotion, in IAI's order (0 neutral, 1 happy,
/// 2 surprise, 3 angry, 4 sad, 5 disgust, 6 fear); the model's own order is angry,
/// disgust, fear, happy, sad, surprise, neutral.
const IAI_FROM_MODEL: [usize; 7] = [6, 3, 5, 0, 4, 1, 2];

/// The age (years) each of gear's 7 buckets stands for, as Human weights them
/// (below 20, 21-25, 26-30, 31-40, 41-50, 51-60, above 60).
const GEAR_AGE_WEIGHTS: [f32; 7] = [15.0, 23.0, 28.0, 35.5, 45.5, 55.5, 65.0];

/// The attribute networks, loaded once. `Send + Sync`.
#[derive(Clone, Debug)]
pub struct AttributeNets {
    faceres: Network,
    emotion: Network,
    gear: Option<Network>,
    crop_scale: f32,
}

/// The attributes of one face.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Attributes {
    /// Age in years (faceres: the mean of its 100-way age distribution).
    pub age: f32,
    /// Probability 0-1 that the face is male (faceres' sigmoid).
    pub gender_male: f32,
    /// Probabilities in IAI's order: 0 neutral, 1 happy, 2 surprise, 3 angry, 4 sad,
    /// 5 disgust, 6 fear. They sum to 1.
    pub emotion: [f32; 7],
    /// 0-100: 100 times the "happy" probability of the emotion model.
    pub smile: f32,
}

/// What the models return for one face, before it becomes [`Attributes`].
#[derive(Clone, Debug, PartialEq)]
pub struct RawAttributes {
    /// faceres' age distribution over 0-99 years (softmax, 100 values).
    pub age_distribution: Vec<f32>,
    /// faceres' gender sigmoid (probability of male).
    pub gender_male: f32,
    /// The emotion model's softmax in its own order (angry, disgust, fear, happy, sad,
    /// surprise, neutral).
    pub emotion: [f32; 7],
    /// gear's outputs, when the nets were loaded with gear.
    pub gear: Option<GearEstimate>,
}

/// The GEAR model's estimate of one face.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct GearEstimate {
    /// Age in years, from the 7 buckets as Human decodes them.
    pub age: f32,
    /// The model's "male" softmax value.
    pub gender_male: f32,
    /// Race softmax: white, black, asian, indian, other.
    pub race: [f32; 5],
}

impl AttributeNets {
    /// Loads faceres and emotion from the store (fetching the pack on first use).
    pub fn load(store: &models::ModelStore) -> Result<AttributeNets> {
        Ok(AttributeNets {
            faceres: Network::load_tfjs(
                store,
                "faceres",
                "faceres.json",
                [1, FACERES_SIZE, FACERES_SIZE, 3],
            )?,
            emotion: Network::load_tfjs(
                store,
                "emotion",
                "emotion.json",
                [1, EMOTION_SIZE, EMOTION_SIZE, 1],
            )?,
            gear: None,
            crop_scale: DEFAULT_CROP_SCALE,
        })
    }

    /// Like [`AttributeNets::load`], and also gear (for comparing the two gender models;
    /// gear is about three times slower than faceres).
    pub fn load_with_gear(store: &models::ModelStore) -> Result<AttributeNets> {
        let mut nets = AttributeNets::load(store)?;
        nets.gear = Some(Network::load_tfjs(
            store,
            "gear",
            "gear.json",
            [1, GEAR_SIZE, GEAR_SIZE, 3],
        )?);
        Ok(nets)
    }

    /// Uses another enlargement of dlib's box (1.0 = the box itself).
    pub fn with_crop_scale(mut self, scale: f32) -> Result<AttributeNets> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(VisionError::InvalidArgument(format!(
                "crop scale {scale} is not a positive number"
            )));
        }
        self.crop_scale = scale;
        Ok(self)
    }

    /// The attributes of one detected face.
    pub fn estimate(&self, img: &RgbImage, face: &Face) -> Result<Attributes> {
        Ok(self.raw(img, face)?.attributes())
    }

    /// The models' outputs for one detected face.
    pub fn raw(&self, img: &RgbImage, face: &Face) -> Result<RawAttributes> {
        let square = face_square(img, face, self.crop_scale)?;
        self.raw_square(&square)
    }

    /// The models' outputs for a face square ([`face_square`]).
    pub fn raw_square(&self, square: &Planar) -> Result<RawAttributes> {
        let inputs = ModelInputs::new(square)?;
        let outs = self
            .faceres
            .run_all(&[1, FACERES_SIZE, FACERES_SIZE, 3], |dst| {
                dst.copy_from_slice(&inputs.faceres.data)
            })?;
        let age_distribution = output_of_len(&outs, 100, "faceres")?.to_vec();
        let gender_male = output_of_len(&outs, 1, "faceres")?[0];
        let (_, probs) = self
            .emotion
            .run(&[1, EMOTION_SIZE, EMOTION_SIZE, 1], |dst| {
                dst.copy_from_slice(&inputs.emotion.data)
            })?;
        let emotion: [f32; 7] = probs
            .as_slice()
            .try_into()
            .map_err(|_| VisionError::inference("emotion", "expected 7 outputs"))?;
        let gear = match &self.gear {
            Some(net) => Some(run_gear(net, &ModelInputs::gear(square)?)?),
            None => None,
        };
        Ok(RawAttributes {
            age_distribution,
            gender_male,
            emotion,
            gear,
        })
    }
}

fn run_gear(net: &Network, input: &Planar) -> Result<GearEstimate> {
    let outs = net.run_all(&[1, GEAR_SIZE, GEAR_SIZE, 3], |dst| {
        dst.copy_from_slice(&input.data)
    })?;
    let ages = output_of_len(&outs, 7, "gear")?;
    let gender = output_of_len(&outs, 2, "gear")?;
    let race: [f32; 5] = output_of_len(&outs, 5, "gear")?
        .try_into()
        .map_err(|_| VisionError::inference("gear", "expected 5 race values"))?;
    Ok(GearEstimate {
        age: gear_age(ages),
        gender_male: gender[0],
        race,
    })
}

/// Human's decoding of gear's age buckets: start at the likeliest bucket's age, then
/// move towards each other bucket's age by that bucket's probability, likeliest first.
fn gear_age(buckets: &[f32]) -> f32 {
    let mut order: Vec<(f32, f32)> = GEAR_AGE_WEIGHTS
        .iter()
        .zip(buckets)
        .map(|(&a, &p)| (a, p))
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut age = order.first().map_or(0.0, |o| o.0);
    for &(a, p) in order.iter().skip(1) {
        age += p * (a - age);
    }
    age
}

/// The models' input tensors made from one face square, as Human makes them.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInputs {
    /// 224×224×3, 0-255.
    pub faceres: Planar,
    /// 64×64×1, grey scaled to −1…1.
    pub emotion: Planar,
}

impl ModelInputs {
    /// faceres' and emotion's inputs from a face square ([`face_square`]).
    pub fn new(square: &Planar) -> Result<ModelInputs> {
        if square.channels != 3 {
            return Err(VisionError::InvalidArgument(
                "the face square must be RGB".into(),
            ));
        }
        let mut faceres = resize_bilinear(square, FACERES_SIZE, FACERES_SIZE)?;
        for v in &mut faceres.data {
            *v *= 255.0;
        }
        let small = resize_bilinear(square, EMOTION_SIZE, EMOTION_SIZE)?;
        let emotion = Planar {
            width: EMOTION_SIZE,
            height: EMOTION_SIZE,
            channels: 1,
            data: small
                .data
                .chunks_exact(3)
                .map(|p| (0.2989 * p[0] + 0.587 * p[1] + 0.114 * p[2] - 0.5) * 2.0)
                .collect(),
        };
        Ok(ModelInputs { faceres, emotion })
    }

    /// gear's input: Human's empirical box of the face square (top 0, left 0.1,
    /// bottom 0.9, right 0.9) at 198×198, values 0-1.
    pub fn gear(square: &Planar) -> Result<Planar> {
        crop_and_resize(square, [0.0, 0.1, 0.9, 0.9], GEAR_SIZE, GEAR_SIZE)
    }
}

/// The output whose last dimension has `len` values (the outputs differ in size).
fn output_of_len<'a>(
    outs: &'a [(Vec<usize>, Vec<f32>)],
    len: usize,
    model: &'static str,
) -> Result<&'a [f32]> {
    outs.iter()
        .find(|(shape, _)| shape.last() == Some(&len))
        .map(|(_, v)| v.as_slice())
        .ok_or_else(|| VisionError::inference(model, format!("no output of {len} values")))
}

impl RawAttributes {
    /// The API's attributes: age as the mean of faceres' distribution, gender as its
    /// sigmoid, emotions in IAI's order, smile = 100 · P(happy).
    pub fn attributes(&self) -> Attributes {
        let emotion = IAI_FROM_MODEL.map(|i| self.emotion[i]);
        Attributes {
            age: age_mean(&self.age_distribution),
            gender_male: self.gender_male,
            emotion,
            smile: 100.0 * emotion[1],
        }
    }
}

/// The expected age of a distribution over 0, 1, 2, … years (normalised, in case the
/// values do not sum to exactly 1).
pub fn age_mean(dist: &[f32]) -> f32 {
    let total: f32 = dist.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    dist.iter()
        .enumerate()
        .map(|(i, p)| i as f32 * p)
        .sum::<f32>()
        / total
}

/// Human's decoding of faceres' age: the likeliest year, moved by ten times the
/// larger neighbour's probability towards that neighbour.
pub fn age_human(dist: &[f32]) -> f32 {
    let Some((idx, _)) = dist.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) else {
        return 0.0;
    };
    let prev = idx.checked_sub(1).and_then(|i| dist.get(i)).copied();
    let next = dist.get(idx + 1).copied();
    let years = idx as f32;
    // Human reads `all[idx - 1]` and `all[idx + 1]`, undefined (so never larger) at the ends.
    match (prev, next) {
        (Some(p), Some(n)) if p > n => years - 10.0 * p,
        (Some(p), None) => years - 10.0 * p,
        (_, Some(n)) => years + 10.0 * n,
        _ => years,
    }
}

/// How open the mouth is: the inner-lip gap over the mouth width, from the 90-point
/// mouth in its documented order (outer lips 0-11: image-left corner 0, lower lip 1-5,
/// right corner 6, upper lip 7-11; inner lips 12-21: left corner 12, lower 13-16,
/// right corner 17, upper 18-21). The gap is the mean distance of the two inner-lip
/// pairs nearest the middle (14-20, 15-19), the width that of the outer corners (0-6).
/// 0 for closed lips; independent of face size and in-plane rotation. 0 as well when
/// the shape has fewer than 22 mouth points or no mouth width.
pub fn mouth_open(shape: &FaceShape90) -> f32 {
    let m = &shape.mouth;
    if m.len() < 22 {
        return 0.0;
    }
    let dist = |a: usize, b: usize| (m[a].x - m[b].x).hypot(m[a].y - m[b].y);
    let width = dist(0, 6);
    if !width.is_finite() || width <= 0.0 {
        return 0.0;
    }
    (dist(14, 20) + dist(15, 19)) / 2.0 / width
}

/// An image as f32 values, row-major, channels interleaved.
#[derive(Clone, Debug, PartialEq)]
pub struct Planar {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<f32>,
}

impl Planar {
    /// An error unless `data` holds exactly `width · height · channels` values.
    fn check(&self) -> Result<()> {
        let want = self
            .width
            .checked_mul(self.height)
            .and_then(|n| n.checked_mul(self.channels));
        if want != Some(self.data.len()) {
            return Err(VisionError::InvalidArgument(format!(
                "{}×{}×{} image with {} values",
                self.width,
                self.height,
                self.channels,
                self.data.len()
            )));
        }
        Ok(())
    }

    fn at(&self, x: usize, y: usize, c: usize) -> f32 {
        self.data[(y * self.width + x) * self.channels + c]
    }
}

/// The square cut from dlib's box `r` as `[x1, y1, x2, y2]` in pixels: centred on the
/// box, its larger side times `scale`, corners rounded as Human's `squarifyBox` does.
pub fn square_box(r: Rect, scale: f32) -> [f32; 4] {
    // dlib's box is inclusive: pixels left..=right cover left..right + 1.
    let cx = (r.left + r.right + 1) as f32 / 2.0;
    let cy = (r.top + r.bottom + 1) as f32 / 2.0;
    let half = r.width().max(r.height()) as f32 * scale / 2.0;
    // JavaScript's Math.round: halves go up, also below zero.
    let round = |v: f32| (v + 0.5).floor();
    [
        round(cx - half),
        round(cy - half),
        round(cx + half),
        round(cy + half),
    ]
}

/// The face square the attribute models read: dlib's box made square (its larger
/// side), enlarged `scale` times around its centre, cut out with `cropAndResize` to
/// [`FACE_SIZE`]² RGB values in 0-1 (0 where the square leaves the image).
pub fn face_square(img: &RgbImage, face: &Face, scale: f32) -> Result<Planar> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return Err(VisionError::InvalidArgument("the image is empty".into()));
    }
    let r = face.rect;
    if r.is_empty() {
        return Err(VisionError::InvalidArgument(format!(
            "the face box {r:?} is empty"
        )));
    }
    let [x1, y1, x2, y2] = square_box(r, scale);
    // Human normalises the corners by the image size (not size − 1).
    let norm_box = [y1 / h as f32, x1 / w as f32, y2 / h as f32, x2 / w as f32];
    let raw = img.as_raw();
    crop_and_resize_with((w, h, 3), norm_box, (FACE_SIZE, FACE_SIZE), |x, y, c| {
        f32::from(raw[(y * w + x) * 3 + c]) / 255.0
    })
}

/// TensorFlow's `tf.image.cropAndResize` of one box `[y1, x1, y2, x2]` (normalised so
/// that 0 is the first pixel and 1 the last), bilinear, 0 outside the image.
pub fn crop_and_resize(
    src: &Planar,
    norm_box: [f32; 4],
    out_h: usize,
    out_w: usize,
) -> Result<Planar> {
    src.check()?;
    let dims = (src.width, src.height, src.channels);
    crop_and_resize_with(dims, norm_box, (out_h, out_w), |x, y, c| src.at(x, y, c))
}

/// [`crop_and_resize`] of a source of `(width, height, channels)` read through `px`.
fn crop_and_resize_with(
    (w, h, ch): (usize, usize, usize),
    [y1, x1, y2, x2]: [f32; 4],
    (out_h, out_w): (usize, usize),
    px: impl Fn(usize, usize, usize) -> f32,
) -> Result<Planar> {
    if w == 0 || h == 0 || out_h == 0 || out_w == 0 {
        return Err(VisionError::InvalidArgument(
            "cannot crop an empty image or to an empty size".into(),
        ));
    }
    // Source coordinate of output index `i` along one axis, as TensorFlow computes it.
    let coord = |i: usize, a: f32, b: f32, size: usize, out: usize| -> f32 {
        let span = (size - 1) as f32;
        if out > 1 {
            a * span + i as f32 * (b - a) * span / (out - 1) as f32
        } else {
            0.5 * (a + b) * span
        }
    };
    let mut data = vec![0f32; out_h * out_w * ch];
    for oy in 0..out_h {
        let fy = coord(oy, y1, y2, h, out_h);
        if !(0.0..=(h - 1) as f32).contains(&fy) {
            continue;
        }
        let (top, bottom) = (fy.floor() as usize, fy.ceil() as usize);
        let dy = fy - top as f32;
        for ox in 0..out_w {
            let fx = coord(ox, x1, x2, w, out_w);
            if !(0.0..=(w - 1) as f32).contains(&fx) {
                continue;
            }
            let (left, right) = (fx.floor() as usize, fx.ceil() as usize);
            let dx = fx - left as f32;
            for c in 0..ch {
                let t = px(left, top, c) + (px(right, top, c) - px(left, top, c)) * dx;
                let b = px(left, bottom, c) + (px(right, bottom, c) - px(left, bottom, c)) * dx;
                data[(oy * out_w + ox) * ch + c] = t + (b - t) * dy;
            }
        }
    }
    Ok(Planar {
        width: out_w,
        height: out_h,
        channels: ch,
        data,
    })
}

/// TensorFlow's `tf.image.resizeBilinear` with its default (legacy) sampling: output
/// index `d` reads source position `d · in / out`, clamped at the last row and column.
pub fn resize_bilinear(src: &Planar, out_h: usize, out_w: usize) -> Result<Planar> {
    src.check()?;
    let (w, h, ch) = (src.width, src.height, src.channels);
    if w == 0 || h == 0 || out_h == 0 || out_w == 0 {
        return Err(VisionError::InvalidArgument(
            "cannot resize an empty image or to an empty size".into(),
        ));
    }
    let (sy, sx) = (h as f32 / out_h as f32, w as f32 / out_w as f32);
    let mut data = Vec::with_capacity(out_h * out_w * ch);
    for oy in 0..out_h {
        let fy = oy as f32 * sy;
        let y0 = (fy.floor() as usize).min(h - 1);
        let y1 = (y0 + 1).min(h - 1);
        let dy = fy - y0 as f32;
        for ox in 0..out_w {
            let fx = ox as f32 * sx;
            let x0 = (fx.floor() as usize).min(w - 1);
            let x1 = (x0 + 1).min(w - 1);
            let dx = fx - x0 as f32;
            for c in 0..ch {
                let t = src.at(x0, y0, c) + (src.at(x1, y0, c) - src.at(x0, y0, c)) * dx;
                let b = src.at(x0, y1, c) + (src.at(x1, y1, c) - src.at(x0, y1, c)) * dx;
                data.push(t + (b - t) * dy);
            }
        }
    }
    Ok(Planar {
        width: out_w,
        height: out_h,
        channels: ch,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(w: usize, h: usize, values: &[f32]) -> Planar {
        Planar {
            width: w,
            height: h,
            channels: 1,
            data: values.to_vec(),
        }
    }

    #[test]
    fn crop_and_resize_samples_like_tensorflow() {
        // 3×3 ramp; the whole image to 5×5 reads positions 0, 0.5, 1, 1.5, 2.
        let src = grey(3, 3, &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let out = crop_and_resize(&src, [0.0, 0.0, 1.0, 1.0], 5, 5).unwrap();
        assert_eq!(&out.data[..5], &[0.0, 0.5, 1.0, 1.5, 2.0]);
        assert_eq!(out.data[24], 8.0);
        assert_eq!(out.data[12], 4.0);
        // A box reaching past the image is 0 there (TensorFlow's extrapolation value).
        let out = crop_and_resize(&src, [0.0, 0.0, 2.0, 1.0], 3, 3).unwrap();
        assert_eq!(&out.data[..3], &[0.0, 1.0, 2.0]);
        assert_eq!(&out.data[3..6], &[6.0, 7.0, 8.0]);
        assert_eq!(&out.data[6..9], &[0.0, 0.0, 0.0]);
    }

    #[test]
    fn resize_matches_the_liveness_resize() {
        let mut img = RgbImage::new(5, 3);
        for (i, p) in img.pixels_mut().enumerate() {
            *p = image::Rgb([i as u8 * 10, 255 - i as u8 * 7, (i * i) as u8]);
        }
        let planar = Planar {
            width: 5,
            height: 3,
            channels: 3,
            data: img.as_raw().iter().map(|&v| f32::from(v) / 255.0).collect(),
        };
        let ours = resize_bilinear(&planar, 7, 7).unwrap();
        let theirs = crate::liveness::resize_bilinear_unit(&img, 7).unwrap();
        for (a, b) in ours.data.iter().zip(&theirs) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn emotions_are_remapped_to_iai_order() {
        // Model order: angry, disgust, fear, happy, sad, surprise, neutral.
        let raw = RawAttributes {
            age_distribution: vec![0.0, 0.5, 0.5],
            gender_male: 0.75,
            emotion: [0.01, 0.02, 0.03, 0.5, 0.04, 0.1, 0.3],
            gear: None,
        };
        let a = raw.attributes();
        assert_eq!(a.emotion, [0.3, 0.5, 0.1, 0.01, 0.04, 0.02, 0.03]);
        assert_eq!(a.smile, 50.0);
        assert_eq!(a.age, 1.5);
        assert_eq!(a.gender_male, 0.75);
    }

    #[test]
    fn mouth_open_is_the_inner_gap_over_the_width() {
        use crate::shape::Point;
        // A mouth 40 wide; inner lips at y = 50 ± gap / 2.
        let mouth = |gap: f32| -> Vec<Point> {
            let mut m = vec![Point::new(0.0, 50.0); 22];
            m[0] = Point::new(0.0, 50.0);
            m[6] = Point::new(40.0, 50.0);
            for (lower, upper, x) in [(14, 20, 15.0), (15, 19, 25.0)] {
                m[lower] = Point::new(x, 50.0 + gap / 2.0);
                m[upper] = Point::new(x, 50.0 - gap / 2.0);
            }
            m
        };
        let shape = |m: Vec<Point>| FaceShape90 {
            face_profile: vec![],
            left_eye: vec![],
            right_eye: vec![],
            left_eye_brow: vec![],
            right_eye_brow: vec![],
            mouth: m,
            nose: vec![],
            left_pupil: Point::new(0.0, 0.0),
            right_pupil: Point::new(0.0, 0.0),
        };
        assert_eq!(mouth_open(&shape(mouth(0.0))), 0.0);
        assert!((mouth_open(&shape(mouth(10.0))) - 0.25).abs() < 1e-6);
        assert_eq!(mouth_open(&shape(vec![])), 0.0);
    }

    #[test]
    fn ages_decode_like_human_and_as_a_mean() {
        let mut dist = vec![0.0; 100];
        dist[30] = 0.5;
        dist[31] = 0.3;
        dist[29] = 0.2;
        // Likeliest 30, larger neighbour 31 (0.3): 30 + 3.
        assert!((age_human(&dist) - 33.0).abs() < 1e-5);
        assert!((age_mean(&dist) - 30.1).abs() < 1e-4);
        // gear: bucket 3 (35.5) likeliest, then 4 (45.5) pulls up by its probability.
        let g = gear_age(&[0.0, 0.0, 0.0, 0.6, 0.4, 0.0, 0.0]);
        assert!((g - 39.5).abs() < 1e-4);
    }
}

//! Static liveness scores of a face crop, from the two TensorFlow.js models of the
//! `human-models` pack, converted to ONNX by the `tfjs` crate and run in tract.
//!
//! Both models take the crop resized to their input (antispoof 128×128, liveness
//! 32×32) with RGB values scaled to 0-1, exactly as the Human library feeds them
//! (`tf.image.resizeBilinear` without corner alignment or half-pixel centres), and both
//! scores are the first value of the model's output, as Human reads them:
//! - `antispoof`: a sigmoid, Human's "real" score (higher = more likely a real face);
//! - `liveness`: the first of two softmax values, Human's "live" score.
//!
//! What the models were trained on, as far as their `generatedBy` fields say, and
//! where they are known to be weak, is in `docs/tfjs.md`. [`LivenessNets::score`] gives
//! the raw model outputs, not calibrated probabilities; [`LivenessNets::assess`] gives the
//! API's 0-100 score through the table of `liveness_score` (docs/liveness.md).

use image::RgbImage;

use crate::error::{Result, VisionError};
use crate::geometry::Rect;
use crate::runtime::Network;

pub use crate::liveness_score::{
    CropSpec, Liveness, LivenessCalibration, RECOMMENDED_THRESHOLD, THRESHOLDS,
};

/// The two liveness networks, loaded once.
#[derive(Clone, Debug)]
pub struct LivenessNets {
    antispoof: Network,
    liveness: Network,
    calibration: LivenessCalibration,
}

/// Raw scores of one face crop, each in 0-1.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LivenessScores {
    /// The antispoof model's sigmoid output (Human's `real`).
    pub antispoof: f32,
    /// The liveness model's first softmax output (Human's `live`).
    pub liveness: f32,
}

/// The antispoof model's input side.
pub const ANTISPOOF_SIZE: usize = 128;
/// The liveness model's input side.
pub const LIVENESS_SIZE: usize = 32;

impl LivenessNets {
    /// Loads both models from the store (fetching the pack on first use).
    pub fn load(store: &models::ModelStore) -> Result<LivenessNets> {
        Ok(LivenessNets {
            antispoof: Network::load_tfjs(
                store,
                "antispoof",
                "antispoof.json",
                [1, ANTISPOOF_SIZE, ANTISPOOF_SIZE, 3],
            )?,
            liveness: Network::load_tfjs(
                store,
                "liveness",
                "liveness.json",
                [1, LIVENESS_SIZE, LIVENESS_SIZE, 3],
            )?,
            calibration: LivenessCalibration::v1()?,
        })
    }

    /// Scores the face in `rect` (e.g. a detection's box), clipped to the image. The
    /// crop is the box as given: the Human library crops differently (from its own
    /// detector and mesh), so scores on the same photo are close to, not equal to, its.
    pub fn score_face(&self, img: &RgbImage, rect: Rect) -> Result<LivenessScores> {
        self.score(&face_crop(img, rect, 1.0, false)?)
    }

    /// The face's liveness as the API reports it: the raw scores averaged over the
    /// calibration's crops of `rect`, combined and mapped to 0-100 by its table.
    pub fn assess(&self, img: &RgbImage, rect: Rect) -> Result<Liveness> {
        let c = &self.calibration;
        let (mut antispoof, mut liveness) = (0.0f64, 0.0f64);
        for crop in &c.crops {
            let s = self.score(&face_crop(img, rect, crop.scale, crop.mirror)?)?;
            antispoof += f64::from(s.antispoof);
            liveness += f64::from(s.liveness);
        }
        let n = c.crops.len() as f64;
        let raw = LivenessScores {
            antispoof: (antispoof / n) as f32,
            liveness: (liveness / n) as f32,
        };
        let combined = c.combine(raw);
        Ok(Liveness {
            raw,
            combined,
            score: c.score(combined),
        })
    }

    /// The table that maps raw scores to the API's 0-100 score.
    pub fn calibration(&self) -> &LivenessCalibration {
        &self.calibration
    }

    /// Scores one face crop (any size of at least one pixel).
    pub fn score(&self, crop: &RgbImage) -> Result<LivenessScores> {
        let first = |net: &Network, size: usize| -> Result<f32> {
            let input = resize_bilinear_unit(crop, size)?;
            let (_, out) = net.run(&[1, size, size, 3], |dst| dst.copy_from_slice(&input))?;
            out.first()
                .copied()
                .ok_or_else(|| VisionError::inference("liveness", "empty output"))
        };
        Ok(LivenessScores {
            antispoof: first(&self.antispoof, ANTISPOOF_SIZE)?,
            liveness: first(&self.liveness, LIVENESS_SIZE)?,
        })
    }
}

/// The crop of `rect` grown by `scale` about its centre (1.0: the box itself), clipped
/// to the image, mirrored left-right when `mirror`.
pub fn face_crop(img: &RgbImage, rect: Rect, scale: f64, mirror: bool) -> Result<RgbImage> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(VisionError::InvalidArgument(format!(
            "crop scale must be positive, got {scale}"
        )));
    }
    let grow = |lo: i64, hi: i64| -> (i64, i64) {
        let extra = ((hi - lo + 1) as f64 * (scale - 1.0) / 2.0).round() as i64;
        (lo - extra, hi + extra)
    };
    let (left, right) = grow(rect.left, rect.right);
    let (top, bottom) = grow(rect.top, rect.bottom);
    let grown = Rect::new(left, top, right, bottom);
    let whole = Rect::sized(i64::from(img.width()), i64::from(img.height()));
    let r = grown.intersect(&whole);
    if r.is_empty() {
        return Err(VisionError::InvalidArgument(format!(
            "the face box {rect:?} lies outside the image"
        )));
    }
    // Inside the image after clipping, so the casts cannot wrap.
    let crop = image::imageops::crop_imm(
        img,
        r.left as u32,
        r.top as u32,
        r.width() as u32,
        r.height() as u32,
    )
    .to_image();
    Ok(if mirror {
        image::imageops::flip_horizontal(&crop)
    } else {
        crop
    })
}

/// `tf.image.resizeBilinear(img / 255, [size, size])` with TensorFlow's default
/// (legacy) sampling: output pixel `d` reads source position `d · in / out`, clamped at
/// the last row and column. Returns NHWC values for one image.
pub fn resize_bilinear_unit(img: &RgbImage, size: usize) -> Result<Vec<f32>> {
    // Interpolated on the 0-255 values, then scaled, in that order (as Human does).
    let raw = crate::attributes::Planar {
        width: img.width() as usize,
        height: img.height() as usize,
        channels: 3,
        data: img.as_raw().iter().map(|&v| f32::from(v)).collect(),
    };
    let resized = crate::attributes::resize_bilinear(&raw, size, size)?;
    Ok(resized.data.into_iter().map(|v| v / 255.0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_resize_samples_like_tensorflow() {
        // 2×2 grey image 0, 50 / 100, 150 upscaled to 4×4: sources at 0, 0.5, 1, 1.5
        // (clamped to the last pixel beyond 1).
        let mut img = RgbImage::new(2, 2);
        for (i, v) in [0u8, 50, 100, 150].into_iter().enumerate() {
            img.put_pixel(i as u32 % 2, i as u32 / 2, image::Rgb([v, v, v]));
        }
        let out = resize_bilinear_unit(&img, 4).unwrap();
        let grey: Vec<f32> = out.chunks(3).map(|p| (p[0] * 255.0).round()).collect();
        assert_eq!(
            grey,
            [
                0.0, 25.0, 50.0, 50.0, //
                50.0, 75.0, 100.0, 100.0, //
                100.0, 125.0, 150.0, 150.0, //
                100.0, 125.0, 150.0, 150.0
            ]
        );
        // Downscaling 2×2 → 1×1 reads the top-left pixel (no averaging).
        assert_eq!(resize_bilinear_unit(&img, 1).unwrap(), [0.0, 0.0, 0.0]);
        assert!(resize_bilinear_unit(&RgbImage::new(0, 3), 4).is_err());
    }

    #[test]
    fn face_crops_grow_about_the_centre_clip_and_mirror() {
        // Pixel value = x + 10·y, on a 10×10 image.
        let img = RgbImage::from_fn(10, 10, |x, y| {
            let v = (x + 10 * y) as u8;
            image::Rgb([v, v, v])
        });
        let r = Rect::new(2, 2, 5, 5);
        let c = face_crop(&img, r, 1.0, false).unwrap();
        assert_eq!((c.width(), c.height(), c.get_pixel(0, 0)[0]), (4, 4, 22));
        // 1.5 × 4 px: one more pixel each side.
        let c = face_crop(&img, r, 1.5, false).unwrap();
        assert_eq!((c.width(), c.height(), c.get_pixel(0, 0)[0]), (6, 6, 11));
        let m = face_crop(&img, r, 1.0, true).unwrap();
        assert_eq!((m.get_pixel(0, 0)[0], m.get_pixel(3, 0)[0]), (25, 22));
        // Grown past the border: clipped to the image.
        let c = face_crop(&img, Rect::new(0, 0, 3, 3), 2.0, false).unwrap();
        assert_eq!((c.width(), c.height(), c.get_pixel(0, 0)[0]), (6, 6, 0));
        assert!(face_crop(&img, Rect::new(20, 20, 30, 30), 1.0, false).is_err());
        assert!(face_crop(&img, r, 0.0, false).is_err());
        assert!(face_crop(&img, r, f64::NAN, false).is_err());
    }
}

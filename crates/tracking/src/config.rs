//! The tracker's parameters and their checks.

/// How the tracker associates detections with tracks (the rule is in the crate doc).
///
/// The defaults are chosen for a door or kiosk camera whose frames are detected at
/// 3-25 frames per second: on our CPUs detecting one 640×480 frame takes 150-300 ms
/// (docs/vision.md), so a device may well see only 3-5 frames a second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackerConfig {
    /// A detection and a track's predicted box are a candidate pair when their IoU is
    /// above this, in [0, 1). Default 0.3: after prediction a face's next box overlaps
    /// it far more than that even with detector jitter or a turning head, while two
    /// faces side by side overlap little or not at all.
    pub iou_threshold: f32,
    /// Hits (matched detections, the first included) that confirm a tentative track,
    /// at least 1. Default 3: a false detection seldom repeats three times in the same
    /// place, and three frames take under a second even at 3-5 frames a second.
    pub confirm_hits: u32,
    /// The hits that confirm a track must all fall within this many milliseconds of
    /// its first one; after that a tentative track is discarded. Default 1000: three
    /// hits at 3 frames a second.
    pub confirm_window_ms: u64,
    /// A track not matched for more than this many milliseconds ends, at least 1.
    /// Default 1000: the id survives a few missed detections (a turned head, someone
    /// passing in front) at a low frame rate; much longer and a different person
    /// stepping into the same spot would inherit it.
    pub max_age_ms: u64,
    /// Prediction extrapolates the velocity at most this many milliseconds past the
    /// last match (0: no prediction, a track is looked for where it was last seen).
    /// Default 500: constant velocity holds for a walking face over a few frames, not
    /// over a long gap, where the face has more likely stopped or turned.
    pub max_predict_ms: u64,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            iou_threshold: 0.3,
            confirm_hits: 3,
            confirm_window_ms: 1000,
            max_age_ms: 1000,
            max_predict_ms: 500,
        }
    }
}

/// A [`TrackerConfig`] that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("iou_threshold must be in [0, 1), got {0}")]
    IouThreshold(f32),
    #[error("confirm_hits must be at least 1")]
    ConfirmHits,
    #[error("confirm_window_ms must be positive when confirm_hits is above 1")]
    ConfirmWindow,
    #[error("max_age_ms must be at least 1")]
    MaxAge,
}

impl TrackerConfig {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // The negated range also refuses NaN.
        if !(0.0..1.0).contains(&self.iou_threshold) {
            return Err(ConfigError::IouThreshold(self.iou_threshold));
        }
        if self.confirm_hits == 0 {
            return Err(ConfigError::ConfirmHits);
        }
        // Several hits within 0 ms would need several frames with one timestamp.
        if self.confirm_hits > 1 && self.confirm_window_ms == 0 {
            return Err(ConfigError::ConfirmWindow);
        }
        if self.max_age_ms == 0 {
            return Err(ConfigError::MaxAge);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(TrackerConfig::default().validate(), Ok(()));
    }

    #[test]
    fn each_bad_parameter_is_named() {
        let d = TrackerConfig::default();
        let cases = [
            (
                TrackerConfig {
                    iou_threshold: 1.0,
                    ..d
                },
                ConfigError::IouThreshold(1.0),
            ),
            (
                TrackerConfig {
                    iou_threshold: -0.1,
                    ..d
                },
                ConfigError::IouThreshold(-0.1),
            ),
            (
                TrackerConfig {
                    confirm_hits: 0,
                    ..d
                },
                ConfigError::ConfirmHits,
            ),
            (
                TrackerConfig {
                    confirm_window_ms: 0,
                    ..d
                },
                ConfigError::ConfirmWindow,
            ),
            (TrackerConfig { max_age_ms: 0, ..d }, ConfigError::MaxAge),
        ];
        for (config, want) in cases {
            assert_eq!(config.validate(), Err(want));
        }
        assert!(matches!(
            TrackerConfig {
                iou_threshold: f32::NAN,
                ..d
            }
            .validate(),
            Err(ConfigError::IouThreshold(_))
        ));
        // One hit needs no window.
        let single = TrackerConfig {
            confirm_hits: 1,
            confirm_window_ms: 0,
            ..d
        };
        assert_eq!(single.validate(), Ok(()));
    }
}

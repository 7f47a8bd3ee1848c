//! Boxes, their overlap and the constant-velocity prediction.

/// A face box in pixels: top-left corner, width and height (both positive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl FaceBox {
    /// A box from its top-left corner and size.
    pub const fn new(x: f32, y: f32, w: f32, h: f32) -> Self {
        FaceBox { x, y, w, h }
    }

    /// The centre point.
    pub fn centre(&self) -> (f32, f32) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    /// Finite coordinates and a positive size.
    pub fn is_valid(&self) -> bool {
        [self.x, self.y, self.w, self.h]
            .iter()
            .all(|v| v.is_finite())
            && self.w > 0.0
            && self.h > 0.0
    }

    /// Intersection over union, 0 for disjoint boxes.
    pub fn iou(&self, o: &FaceBox) -> f32 {
        let iw = (self.x + self.w).min(o.x + o.w) - self.x.max(o.x);
        let ih = (self.y + self.h).min(o.y + o.h) - self.y.max(o.y);
        if iw <= 0.0 || ih <= 0.0 {
            return 0.0;
        }
        let inter = iw * ih;
        let union = self.w * self.h + o.w * o.h - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
}

/// A matched box and the frame time it was seen at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Seen {
    pub at_ms: u64,
    pub bbox: FaceBox,
}

/// Bounds of the predicted size relative to the last matched one: a face at a door
/// does not halve or double in size between two matches, and a wild size from two
/// jittery boxes close in time would make the IoU meaningless.
const MAX_SCALE: f32 = 2.0;
/// Bound of the predicted centre shift, in sides of the last matched box per axis, for
/// the same reason: two boxes a few milliseconds apart give a noisy velocity.
const MAX_SHIFT: f32 = 1.0;

/// The box at `at_ms` by constant velocity from `prev` to `last` (`prev` strictly
/// earlier), extrapolated at most `max_predict_ms` past `last`; `last` as it was
/// without `prev`. The rule is spelled out in the crate doc.
pub(crate) fn predict(
    prev: Option<&Seen>,
    last: &Seen,
    at_ms: u64,
    max_predict_ms: u64,
) -> FaceBox {
    let Some(prev) = prev else {
        return last.bbox;
    };
    let span = last.at_ms.saturating_sub(prev.at_ms);
    let horizon = at_ms.saturating_sub(last.at_ms).min(max_predict_ms);
    if span == 0 || horizon == 0 {
        return last.bbox;
    }
    // Milliseconds of a video stream are far below f32's exact integer range here:
    // the ratio is what matters, and both are at most hours.
    let f = horizon as f32 / span as f32;
    let (a, b) = (&prev.bbox, &last.bbox);
    let (ax, ay) = a.centre();
    let (bx, by) = b.centre();
    let dx = ((bx - ax) * f).clamp(-MAX_SHIFT * b.w, MAX_SHIFT * b.w);
    let dy = ((by - ay) * f).clamp(-MAX_SHIFT * b.h, MAX_SHIFT * b.h);
    let w = (b.w + (b.w - a.w) * f).clamp(b.w / MAX_SCALE, b.w * MAX_SCALE);
    let h = (b.h + (b.h - a.h) * f).clamp(b.h / MAX_SCALE, b.h * MAX_SCALE);
    FaceBox::new(bx + dx - w / 2.0, by + dy - h / 2.0, w, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: FaceBox, b: FaceBox) -> bool {
        [a.x - b.x, a.y - b.y, a.w - b.w, a.h - b.h]
            .iter()
            .all(|d| d.abs() < 1e-3)
    }

    #[test]
    fn iou_of_known_boxes() {
        let a = FaceBox::new(0.0, 0.0, 10.0, 10.0);
        assert_eq!(a.iou(&a), 1.0);
        // Half overlapping: 50 / 150.
        let b = FaceBox::new(5.0, 0.0, 10.0, 10.0);
        assert!((a.iou(&b) - 1.0 / 3.0).abs() < 1e-6);
        // Touching edges share no area.
        assert_eq!(a.iou(&FaceBox::new(10.0, 0.0, 10.0, 10.0)), 0.0);
        assert_eq!(a.iou(&FaceBox::new(50.0, 50.0, 10.0, 10.0)), 0.0);
    }

    #[test]
    fn validity() {
        assert!(FaceBox::new(-5.0, 3.0, 1.0, 1.0).is_valid());
        assert!(!FaceBox::new(0.0, 0.0, 0.0, 1.0).is_valid());
        assert!(!FaceBox::new(0.0, 0.0, 1.0, -1.0).is_valid());
        assert!(!FaceBox::new(f32::NAN, 0.0, 1.0, 1.0).is_valid());
        assert!(!FaceBox::new(0.0, f32::INFINITY, 1.0, 1.0).is_valid());
    }

    #[test]
    fn prediction_is_linear_then_clamped() {
        let prev = Seen {
            at_ms: 0,
            bbox: FaceBox::new(0.0, 0.0, 100.0, 100.0),
        };
        let last = Seen {
            at_ms: 100,
            bbox: FaceBox::new(20.0, -10.0, 110.0, 100.0),
        };
        // One more step of 100 ms: centre +25, -10 (size grows 10 px wide, so the
        // centre moved 25 in x); width 120.
        let p = predict(Some(&prev), &last, 200, 500);
        assert!(close(p, FaceBox::new(40.0, -20.0, 120.0, 100.0)), "{p:?}");
        // The horizon stops at max_predict_ms: 1000 ms predicts as 300 ms would.
        assert_eq!(
            predict(Some(&prev), &last, 1100, 300),
            predict(Some(&prev), &last, 400, 300)
        );
        // No prediction without a second box or with max_predict_ms = 0.
        assert_eq!(predict(None, &last, 400, 500), last.bbox);
        assert_eq!(predict(Some(&prev), &last, 400, 0), last.bbox);
    }

    #[test]
    fn clamps_shift_and_size() {
        // 50 px in 1 ms: extrapolating 500 ms would move the box 25,000 px.
        let prev = Seen {
            at_ms: 99,
            bbox: FaceBox::new(0.0, 0.0, 100.0, 80.0),
        };
        let last = Seen {
            at_ms: 100,
            bbox: FaceBox::new(50.0, 50.0, 10.0, 100.0),
        };
        let p = predict(Some(&prev), &last, 600, 500);
        let (cx, cy) = p.centre();
        // Centre at most one side of the last box away, size within ×½..×2.
        assert!((cx - (55.0 + 10.0)).abs() < 1e-3, "{p:?}");
        assert!((cy - (100.0 + 100.0)).abs() < 1e-3, "{p:?}");
        assert!(
            (p.w - 5.0).abs() < 1e-3 && (p.h - 200.0).abs() < 1e-3,
            "{p:?}"
        );
    }
}

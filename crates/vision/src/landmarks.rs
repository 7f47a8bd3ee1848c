//! Facial landmarks: evaluation of dlib's shape predictor (an ensemble of regression
//! trees, Kazemi & Sullivan 2014) on a face box.
//!
//! The weights are read by the `models` crate; this module checks them once (so that
//! evaluation can index without bounds failures) and runs them exactly as dlib does:
//! grey pixel features `(r + g + b) / 3` sampled relative to the current shape, 15
//! cascades of 500 depth-4 trees, output rounded to whole pixels.

use image::RgbImage;

use crate::error::{Result, VisionError};
use crate::geometry::{similarity_transform, Point, Rect};

/// One split node: go left when `feature[a] - feature[b] > thresh`.
#[derive(Clone, Copy, Debug)]
struct Split {
    a: u32,
    b: u32,
    thresh: f32,
}

/// One regression tree, complete binary, `leaves = splits + 1`.
#[derive(Clone, Debug)]
struct Tree {
    splits: Vec<Split>,
    /// `leaves × 2P` shape deltas, row-major.
    leaves: Vec<f32>,
}

/// One cascade level: where its feature pixels sit and the trees that read them.
#[derive(Clone, Debug)]
struct Level {
    anchors: Vec<u32>,
    deltas: Vec<[f32; 2]>,
    trees: Vec<Tree>,
}

/// A checked, ready-to-run shape predictor (5 or 68 points).
#[derive(Clone, Debug)]
pub struct ShapePredictor {
    /// Mean shape, normalised to the face box, `[x0, y0, x1, y1, …]`.
    initial: Vec<f32>,
    levels: Vec<Level>,
}

impl ShapePredictor {
    /// Checks and converts a predictor read by the `models` crate.
    pub fn from_model(model: &models::dlib::ShapePredictor) -> Result<Self> {
        let initial: Vec<f32> = model
            .initial_shape
            .iter()
            .flat_map(|p| [p[0], p[1]])
            .collect();
        let parts = model.initial_shape.len();
        let dim = 2 * parts;
        let bad = |why: String| VisionError::model("shape predictor", why);
        if parts < 2 {
            return Err(bad(format!("{parts} landmarks")));
        }
        let mut levels = Vec::with_capacity(model.cascades.len());
        for (li, cascade) in model.cascades.iter().enumerate() {
            let features = cascade.deltas.len();
            if cascade.anchor_idx.len() != features {
                return Err(bad(format!(
                    "cascade {li}: anchors and deltas differ in length"
                )));
            }
            if let Some(a) = cascade.anchor_idx.iter().find(|&&a| a as usize >= parts) {
                return Err(bad(format!(
                    "cascade {li}: anchor {a} beyond {parts} landmarks"
                )));
            }
            let mut trees = Vec::with_capacity(cascade.trees.len());
            for tree in &cascade.trees {
                let n = tree.splits.len();
                if tree.leaf_values.len() != n + 1 || !(n + 1).is_power_of_two() {
                    return Err(bad(format!(
                        "cascade {li}: tree with {n} splits and {} leaves",
                        tree.leaf_values.len()
                    )));
                }
                let mut splits = Vec::with_capacity(n);
                for s in &tree.splits {
                    if s.idx1 as usize >= features || s.idx2 as usize >= features {
                        return Err(bad(format!(
                            "cascade {li}: split reads a feature beyond {features}"
                        )));
                    }
                    splits.push(Split {
                        a: s.idx1,
                        b: s.idx2,
                        thresh: s.thresh,
                    });
                }
                let mut leaves = Vec::with_capacity((n + 1) * dim);
                for leaf in &tree.leaf_values {
                    if leaf.len() != dim {
                        return Err(bad(format!(
                            "cascade {li}: leaf of {} values for {parts} landmarks",
                            leaf.len()
                        )));
                    }
                    leaves.extend_from_slice(leaf);
                }
                trees.push(Tree { splits, leaves });
            }
            levels.push(Level {
                anchors: cascade.anchor_idx.clone(),
                deltas: cascade.deltas.clone(),
                trees,
            });
        }
        Ok(ShapePredictor { initial, levels })
    }

    /// Number of landmarks this predictor places.
    pub fn parts(&self) -> usize {
        self.initial.len() / 2
    }

    /// Places the landmarks inside `face` (dlib's box, inclusive edges), in image pixels.
    pub fn predict(&self, img: &RgbImage, face: &Rect) -> Vec<(i64, i64)> {
        let (w, h) = (i64::from(img.width()), i64::from(img.height()));
        let to_img = |x: f64, y: f64| {
            Point::new(
                face.left as f64 + (face.right - face.left) as f64 * x,
                face.top as f64 + (face.bottom - face.top) as f64 * y,
            )
        };
        let pixel = |p: Point| -> f32 {
            let (x, y) = p.round();
            if x < 0 || y < 0 || x >= w || y >= h {
                return 0.0;
            }
            let px = img.get_pixel(x as u32, y as u32).0;
            ((u32::from(px[0]) + u32::from(px[1]) + u32::from(px[2])) / 3) as f32
        };
        let initial_pts = points(&self.initial);
        let mut shape = self.initial.clone();
        let mut features = Vec::new();
        for level in &self.levels {
            // dlib casts this transform to float before use.
            let t = similarity_transform(&initial_pts, &points(&shape));
            let m = t.m.map(|row| row.map(|v| v as f32));
            features.clear();
            features.extend(level.anchors.iter().zip(&level.deltas).map(|(&a, d)| {
                let a = a as usize;
                let x = (m[0][0] * d[0] + m[0][1] * d[1]) + shape[2 * a];
                let y = (m[1][0] * d[0] + m[1][1] * d[1]) + shape[2 * a + 1];
                pixel(to_img(f64::from(x), f64::from(y)))
            }));
            for tree in &level.trees {
                let mut i = 0usize;
                while i < tree.splits.len() {
                    let s = tree.splits[i];
                    i = if features[s.a as usize] - features[s.b as usize] > s.thresh {
                        2 * i + 1
                    } else {
                        2 * i + 2
                    };
                }
                let leaf = i - tree.splits.len();
                let dim = shape.len();
                for (v, d) in shape
                    .iter_mut()
                    .zip(&tree.leaves[leaf * dim..(leaf + 1) * dim])
                {
                    *v += d;
                }
            }
        }
        shape
            .chunks_exact(2)
            .map(|p| to_img(f64::from(p[0]), f64::from(p[1])).round())
            .collect()
    }
}

fn points(shape: &[f32]) -> Vec<Point> {
    shape
        .chunks_exact(2)
        .map(|p| Point::new(f64::from(p[0]), f64::from(p[1])))
        .collect()
}

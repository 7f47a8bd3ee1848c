//! dlib's `shape_predictor`: a cascade of regression-tree forests (Kazemi & Sullivan,
//! "One Millisecond Face Alignment with an Ensemble of Regression Trees", 2014).

use super::reader::{DatError, Reader};

/// A shape predictor read from a `.dat` file, validated so that every index in it is in
/// range (callers may index without checks).
///
/// How dlib applies it (`shape_predictor::operator()`): start from `initial_shape`
/// (P points normalised to the unit face box, mapped into the detection box). For each
/// cascade, compute a similarity transform from the unit box to the current shape,
/// sample one grey value per feature pixel at `current[anchor_idx[i]] +
/// transform(deltas[i])` (grey = (r+g+b)/3, 0 outside the image), then for every tree
/// walk from node 0: go to `2i+1` if `feat[idx1] - feat[idx2] > thresh` else `2i+2`,
/// until `i >= splits.len()`; add `leaf_values[i - splits.len()]` (2P values, scaled
/// by the same transform's rotation/scale) to the shape.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapePredictor {
    /// Mean shape, P points, each `[x, y]` normalised to the face box.
    pub initial_shape: Vec<[f32; 2]>,
    pub cascades: Vec<Cascade>,
}

/// One stage of the cascade.
#[derive(Clone, Debug, PartialEq)]
pub struct Cascade {
    pub trees: Vec<RegressionTree>,
    /// For each feature pixel, the landmark it is anchored to.
    pub anchor_idx: Vec<u32>,
    /// For each feature pixel, its offset from the anchor in unit-box coordinates.
    pub deltas: Vec<[f32; 2]>,
}

/// A complete binary tree stored breadth-first.
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionTree {
    pub splits: Vec<Split>,
    /// `splits.len() + 1` leaves, each 2P values `x0, y0, x1, y1, …`.
    pub leaf_values: Vec<Vec<f32>>,
}

/// A split node: compares two feature pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Split {
    pub idx1: u32,
    pub idx2: u32,
    pub thresh: f32,
}

/// Minimum encoded sizes, for bounding counts before allocation.
const MIN_SPLIT: usize = 2 + 2 + 4;
const MIN_TREE: usize = 2;

impl ShapePredictor {
    /// Parses a whole `.dat` file; trailing bytes are an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, DatError> {
        let mut r = Reader::new(bytes);
        r.expect_int(1, "shape_predictor version")?;
        let at = r.offset();
        let init = r.matrix("initial_shape")?;
        if init.cols != 1 || init.rows % 2 != 0 || init.rows == 0 {
            return Err(bad(
                at,
                "initial_shape",
                format!("{}x{}", init.rows, init.cols),
                "2P x 1",
            ));
        }
        let points = init.rows / 2;
        let initial_shape: Vec<[f32; 2]> =
            init.data.chunks_exact(2).map(|c| [c[0], c[1]]).collect();

        let n_forests = r.count(1, "forests")?;
        let mut forests = Vec::with_capacity(n_forests);
        for _ in 0..n_forests {
            let n_trees = r.count(MIN_TREE, "trees")?;
            let mut trees = Vec::with_capacity(n_trees);
            for _ in 0..n_trees {
                trees.push(read_tree(&mut r, points)?);
            }
            forests.push(trees);
        }

        let at = r.offset();
        let n_anchor = r.count(1, "anchor_idx")?;
        let mut anchors = Vec::with_capacity(n_anchor);
        for _ in 0..n_anchor {
            let n = r.count(2, "anchor_idx")?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let a_at = r.offset();
                let a = r.uint("anchor index")?;
                if a >= points as u64 {
                    return Err(bad(
                        a_at,
                        "anchor index",
                        a.to_string(),
                        &format!("< {points}"),
                    ));
                }
                v.push(a as u32);
            }
            anchors.push(v);
        }
        if n_anchor != n_forests {
            return Err(bad(
                at,
                "anchor_idx count",
                n_anchor.to_string(),
                &n_forests.to_string(),
            ));
        }

        let at = r.offset();
        let n_deltas = r.count(1, "deltas")?;
        if n_deltas != n_forests {
            return Err(bad(
                at,
                "deltas count",
                n_deltas.to_string(),
                &n_forests.to_string(),
            ));
        }
        let mut cascades = Vec::with_capacity(n_forests);
        for (trees, anchor_idx) in forests.into_iter().zip(anchors) {
            let at = r.offset();
            let n = r.count(8, "deltas")?;
            if n != anchor_idx.len() {
                return Err(bad(
                    at,
                    "deltas length",
                    n.to_string(),
                    &anchor_idx.len().to_string(),
                ));
            }
            let mut deltas = Vec::with_capacity(n);
            for _ in 0..n {
                deltas.push([r.f32("delta x")?, r.f32("delta y")?]);
            }
            let features = anchor_idx.len() as u64;
            for t in &trees {
                if let Some(s) = t
                    .splits
                    .iter()
                    .find(|s| u64::from(s.idx1.max(s.idx2)) >= features)
                {
                    return Err(bad(
                        at,
                        "split feature index",
                        s.idx1.max(s.idx2).to_string(),
                        &format!("< {features}"),
                    ));
                }
            }
            cascades.push(Cascade {
                trees,
                anchor_idx,
                deltas,
            });
        }
        r.finish()?;
        Ok(ShapePredictor {
            initial_shape,
            cascades,
        })
    }

    /// Number of landmarks (5 or 68 for dlib's models).
    pub fn num_points(&self) -> usize {
        self.initial_shape.len()
    }
}

fn read_tree(r: &mut Reader<'_>, points: usize) -> Result<RegressionTree, DatError> {
    let n_splits = r.count(MIN_SPLIT, "splits")?;
    let mut splits = Vec::with_capacity(n_splits);
    for _ in 0..n_splits {
        let at = r.offset();
        let idx1 = r.uint("split idx1")?;
        let idx2 = r.uint("split idx2")?;
        let (Ok(idx1), Ok(idx2)) = (u32::try_from(idx1), u32::try_from(idx2)) else {
            return Err(DatError::OutOfRange {
                offset: at,
                what: "split index",
            });
        };
        splits.push(Split {
            idx1,
            idx2,
            thresh: r.f32("split threshold")?,
        });
    }
    let at = r.offset();
    let n_leaves = r.count(2, "leaf_values")?;
    if n_leaves != n_splits + 1 {
        return Err(bad(
            at,
            "leaf count",
            n_leaves.to_string(),
            &(n_splits + 1).to_string(),
        ));
    }
    let mut leaf_values = Vec::with_capacity(n_leaves);
    for _ in 0..n_leaves {
        let at = r.offset();
        let m = r.matrix("leaf value")?;
        if m.cols != 1 || m.rows != 2 * points {
            return Err(bad(
                at,
                "leaf shape",
                format!("{}x{}", m.rows, m.cols),
                &format!("{}x1", 2 * points),
            ));
        }
        leaf_values.push(m.data);
    }
    Ok(RegressionTree {
        splits,
        leaf_values,
    })
}

fn bad(offset: usize, what: &'static str, found: String, expected: &str) -> DatError {
    DatError::Unexpected {
        offset,
        what,
        found,
        expected: expected.to_string(),
    }
}

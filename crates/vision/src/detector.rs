//! Face detection with dlib's MMOD CNN, run the way dlib runs it: the image and its 5/6
//! downscales tiled into one canvas, one pass of the network, every positive cell of the
//! score map a candidate window, greedy non-maximum suppression.

use image::RgbImage;

use crate::error::{Result, VisionError};
use crate::geometry::{DRect, Point, Rect};
use crate::pyramid::TiledPyramid;
use crate::runtime::{Dim, Network, Threads};

/// A detected face box with the detector's confidence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// The box, dlib's convention (inclusive edges; may reach outside the image).
    pub rect: Rect,
    /// The network's score; detections have a score above the threshold (0 by default).
    pub confidence: f32,
}

/// How detection runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectOptions {
    /// Smallest face side, in pixels, that must be found. The network's window is 80 px:
    /// a smaller value upsamples the image first (slower), a larger one downsamples it
    /// (faster). Boxes smaller than this are dropped.
    pub min_face_size: u32,
    /// At most this many faces, the most confident first.
    pub max_faces: usize,
    /// Score threshold (dlib's `adjust_threshold`); 0 is dlib's default.
    pub threshold: f32,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            min_face_size: 80,
            max_faces: 120,
            threshold: 0.0,
        }
    }
}

/// Geometry and thresholds of the detector, from its model file.
#[derive(Clone, Debug, PartialEq)]
pub struct MmodGeometry {
    /// Detector window width and height in canvas pixels.
    pub window: (f64, f64),
    /// NMS: IoU threshold and covered-fraction threshold.
    pub nms: (f64, f64),
    /// Raw RGB value that normalises to 0 (the canvas background).
    pub means: [f32; 3],
    /// Score-map cell spacing in canvas pixels.
    pub stride: f64,
    /// Canvas coordinate of cell 0's centre.
    pub offset: f64,
}

impl MmodGeometry {
    /// Reads the geometry from the options the `models` crate parsed.
    pub fn from_options(o: &models::dlib::MmodOptions) -> Result<Self> {
        let [w] = o.detector_windows.as_slice() else {
            return Err(VisionError::model(
                "mmod detector",
                format!("{} detector windows, expected 1", o.detector_windows.len()),
            ));
        };
        if o.pyramid_downsample != (5, 6)
            || o.pyramid_padding as i64 != crate::pyramid::LEVEL_PADDING
            || o.pyramid_outer_padding as i64 != crate::pyramid::OUTER_PADDING
            || o.use_bounding_box_regression
        {
            return Err(VisionError::model(
                "mmod detector",
                "unsupported pyramid or box regression",
            ));
        }
        Ok(MmodGeometry {
            window: (f64::from(w.width), f64::from(w.height)),
            nms: o.overlaps_nms,
            means: o.means,
            stride: o.output_stride,
            offset: o.output_offset,
        })
    }

    fn overlaps(&self, a: &Rect, b: &Rect) -> bool {
        let inner = a.intersect(b).area() as f64;
        if inner == 0.0 {
            return false;
        }
        let outer = a.union_box(b).area() as f64;
        inner / outer > self.nms.0
            || inner / a.area() as f64 > self.nms.1
            || inner / b.area() as f64 > self.nms.1
    }
}

/// The MMOD face detector.
#[derive(Clone, Debug)]
pub struct Detector {
    net: Network,
    geometry: MmodGeometry,
}

impl Detector {
    /// Loads the imported ONNX graph (input `[1,3,H,W]` raw RGB, output `[1,1,H',W']`).
    /// The network is optimised for each canvas size it meets (the canvas size follows
    /// from the image size), keeping the plans of the `max_plans` most recent sizes.
    pub fn load(onnx: &[u8], geometry: MmodGeometry, max_plans: usize) -> Result<Detector> {
        let net = Network::load(
            "mmod detector",
            onnx,
            &[
                Dim::Fixed(1),
                Dim::Fixed(3),
                Dim::Symbol("H"),
                Dim::Symbol("W"),
            ],
            max_plans,
        )?;
        Ok(Detector { net, geometry })
    }

    /// The same detector (sharing its plans), its network passes run on `threads`.
    pub fn with_threads(self, threads: &Threads) -> Detector {
        Detector {
            net: self.net.with_threads(threads),
            geometry: self.geometry,
        }
    }

    /// The detector's window side in pixels: the face size found without resizing.
    pub fn window(&self) -> f64 {
        self.geometry.window.0.max(self.geometry.window.1)
    }

    /// Finds faces, the most confident first.
    pub fn detect(&self, img: &RgbImage, options: &DetectOptions) -> Result<Vec<Detection>> {
        if options.min_face_size == 0 {
            return Err(VisionError::InvalidArgument(
                "min_face_size must be positive".into(),
            ));
        }
        let scale = self.window() / f64::from(options.min_face_size);
        let mut dets = if (scale - 1.0).abs() < 1e-9 {
            self.detect_at_scale(img, options.threshold)?
        } else {
            let (w, h) = (
                ((f64::from(img.width()) * scale).round() as u32).max(1),
                ((f64::from(img.height()) * scale).round() as u32).max(1),
            );
            let resized = image::imageops::resize(img, w, h, image::imageops::FilterType::Triangle);
            let (sx, sy) = (
                f64::from(img.width()) / f64::from(w),
                f64::from(img.height()) / f64::from(h),
            );
            self.detect_at_scale(&resized, options.threshold)?
                .into_iter()
                .map(|d| {
                    let r = DRect::new(
                        d.rect.left as f64 * sx,
                        d.rect.top as f64 * sy,
                        (d.rect.right + 1) as f64 * sx - 1.0,
                        (d.rect.bottom + 1) as f64 * sy - 1.0,
                    );
                    Detection {
                        rect: r.to_rect(),
                        confidence: d.confidence,
                    }
                })
                .collect()
        };
        let min = i64::from(options.min_face_size);
        if scale < 1.0 {
            dets.retain(|d| d.rect.width().max(d.rect.height()) >= min);
        }
        dets.truncate(options.max_faces);
        Ok(dets)
    }

    /// dlib's `net(image)` for the CNN face detector at the image's own scale.
    fn detect_at_scale(&self, img: &RgbImage, threshold: f32) -> Result<Vec<Detection>> {
        let pyramid = TiledPyramid::layout(i64::from(img.width()), i64::from(img.height()));
        if pyramid.levels.is_empty() {
            return Ok(Vec::new());
        }
        let (h, w) = (pyramid.height as usize, pyramid.width as usize);
        let (shape, scores) = self.net.run(&[1, 3, h, w], |data| {
            pyramid.fill_canvas(img, self.geometry.means, data)
        })?;
        let [_, _, rows, cols] = shape[..] else {
            return Err(VisionError::inference(
                "mmod detector",
                format!("output shape {shape:?}"),
            ));
        };
        let g = &self.geometry;
        let mut candidates = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                let score = scores[r * cols + c];
                if score > threshold {
                    let centre = Point::new(
                        g.stride * c as f64 + g.offset,
                        g.stride * r as f64 + g.offset,
                    );
                    let window = DRect::centered(centre, g.window.0, g.window.1);
                    candidates.push(Detection {
                        rect: pyramid.to_image(&window).to_rect(),
                        confidence: score,
                    });
                }
            }
        }
        candidates.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        let mut kept: Vec<Detection> = Vec::new();
        for d in candidates {
            if !kept.iter().any(|k| g.overlaps(&k.rect, &d.rect)) {
                kept.push(d);
            }
        }
        Ok(kept)
    }
}

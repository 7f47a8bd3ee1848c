//! Detection on photos turned on their side or upside down without an EXIF orientation
//! (IAI's NeedRotateDetection): the detector only finds roughly upright faces, so the
//! image is tried as is and then turned by quarter circles until faces appear.
//!
//! Everything downstream (landmarks, descriptors, mesh, attributes, quality, liveness)
//! runs on the turned image, where the faces are upright; [`Oriented`] maps what it finds
//! back into the frame of the image as sent.

use image::imageops;
use image::RgbImage;

use crate::detector::Detection;
use crate::engine::{Engine, Face};
use crate::error::Result;
use crate::geometry::Rect;
use crate::shape::Point;

/// A clockwise turn of the image by a multiple of 90°.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Turn {
    /// As sent.
    None,
    /// 90° clockwise.
    Cw90,
    /// 180°.
    Cw180,
    /// 270° clockwise (90° counter-clockwise).
    Cw270,
}

impl Turn {
    /// The turns tried besides the image as is. All are tried (see
    /// [`Engine::detect_turned`]); the order only breaks ties, the quarter turns first as
    /// a photo on its side is more common than one upside down.
    pub const SEARCH_ORDER: [Turn; 3] = [Turn::Cw90, Turn::Cw270, Turn::Cw180];

    /// Clockwise degrees: 0, 90, 180 or 270.
    pub fn degrees(self) -> u32 {
        match self {
            Turn::None => 0,
            Turn::Cw90 => 90,
            Turn::Cw180 => 180,
            Turn::Cw270 => 270,
        }
    }

    /// The image turned.
    pub fn apply(self, img: &RgbImage) -> RgbImage {
        match self {
            Turn::None => img.clone(),
            Turn::Cw90 => imageops::rotate90(img),
            Turn::Cw180 => imageops::rotate180(img),
            Turn::Cw270 => imageops::rotate270(img),
        }
    }

    /// The size of an image of `width`×`height` once turned.
    pub fn turned_size(self, width: u32, height: u32) -> (u32, u32) {
        match self {
            Turn::None | Turn::Cw180 => (width, height),
            Turn::Cw90 | Turn::Cw270 => (height, width),
        }
    }

    /// A pixel position of the turned image in the frame of the original, which is
    /// `width`×`height`. Pixel centres sit on whole numbers, as in [`Turn::apply`]:
    /// pixel (x, y) of the original lands on pixel (h-1-y, x) after 90° clockwise.
    pub fn point_to_original(self, x: f64, y: f64, width: u32, height: u32) -> (f64, f64) {
        let (w, h) = (f64::from(width) - 1.0, f64::from(height) - 1.0);
        match self {
            Turn::None => (x, y),
            Turn::Cw90 => (y, h - x),
            Turn::Cw180 => (w - x, h - y),
            Turn::Cw270 => (w - y, x),
        }
    }

    /// [`Turn::point_to_original`] on whole pixels.
    pub fn pixel_to_original(self, x: i64, y: i64, width: u32, height: u32) -> (i64, i64) {
        let (w, h) = (i64::from(width) - 1, i64::from(height) - 1);
        match self {
            Turn::None => (x, y),
            Turn::Cw90 => (y, h - x),
            Turn::Cw180 => (w - x, h - y),
            Turn::Cw270 => (w - y, x),
        }
    }

    /// A box of the turned image in the frame of the original (`width`×`height`).
    pub fn rect_to_original(self, r: Rect, width: u32, height: u32) -> Rect {
        let (x0, y0) = self.pixel_to_original(r.left, r.top, width, height);
        let (x1, y1) = self.pixel_to_original(r.right, r.bottom, width, height);
        Rect {
            left: x0.min(x1),
            top: y0.min(y1),
            right: x0.max(x1),
            bottom: y0.max(y1),
        }
    }

    /// An in-plane head rotation (degrees, clockwise positive, as [`crate::HeadPose`])
    /// measured on the turned image, as seen in the original: the face there is turned
    /// back by this turn, i.e. counter-clockwise by [`Turn::degrees`]. In [-180, 180).
    pub fn roll_to_original(self, roll: f32) -> f32 {
        let r = (roll - self.degrees() as f32).rem_euclid(360.0);
        if r >= 180.0 {
            r - 360.0
        } else {
            r
        }
    }
}

/// Faces found by [`Engine::detect_turned`]: the image they were found on (turned by
/// `turn`) and the faces in that image's frame, with what is needed to map them back.
#[derive(Clone, Debug)]
pub struct Oriented {
    /// The turn whose faces were kept ([`Turn::None`] when the image as is scored best
    /// or no orientation has a face).
    pub turn: Turn,
    /// The image turned by `turn`: run everything downstream on this one.
    pub image: RgbImage,
    /// The faces in `image`'s frame, the most confident first.
    pub faces: Vec<Face>,
    /// The size of the image as sent.
    pub original_width: u32,
    pub original_height: u32,
}

impl Oriented {
    /// Faces found on the image as is.
    pub fn upright(image: RgbImage, faces: Vec<Face>) -> Oriented {
        Oriented {
            turn: Turn::None,
            original_width: image.width(),
            original_height: image.height(),
            image,
            faces,
        }
    }

    /// A box of the turned image in the original's frame.
    pub fn rect_to_original(&self, r: Rect) -> Rect {
        self.turn
            .rect_to_original(r, self.original_width, self.original_height)
    }

    /// A point of the turned image in the original's frame.
    pub fn point_to_original(&self, p: Point) -> Point {
        let (x, y) = self.turn.point_to_original(
            f64::from(p.x),
            f64::from(p.y),
            self.original_width,
            self.original_height,
        );
        Point::new(x as f32, y as f32)
    }

    /// A face of the turned image (box and landmarks) in the original's frame.
    pub fn face_to_original(&self, face: &Face) -> Face {
        let (w, h) = (self.original_width, self.original_height);
        let points = |ps: &[(i64, i64)]| -> Vec<(i64, i64)> {
            ps.iter()
                .map(|&(x, y)| self.turn.pixel_to_original(x, y, w, h))
                .collect()
        };
        Face {
            rect: self.rect_to_original(face.rect),
            confidence: face.confidence,
            landmarks: points(&face.landmarks),
            landmarks_68: face.landmarks_68.as_deref().map(points),
        }
    }
}

impl Engine {
    /// Detects faces on the image as is and turned by each of [`Turn::SEARCH_ORDER`],
    /// and keeps the orientation whose most confident face scores highest (the image as
    /// is on a tie). Every turn is tried, not only when the image as is has no face: the
    /// detector also finds faces lying on their side, with a lower score (on the fixture
    /// photos, upright faces score 1.04-1.10 and the same faces turned a quarter 0.02-0.74,
    /// docs/api.md), so the first turn with a face is not always the upright one.
    /// Costs three more detections than [`Engine::detect`]; landmarks are placed only on
    /// the orientation kept.
    pub fn detect_turned(&self, img: RgbImage) -> Result<Oriented> {
        self.detect_turned_sized(img, self.config().detect.min_face_size)
    }

    /// [`Engine::detect_turned`] for faces of at least `min_face_size` pixels.
    pub fn detect_turned_sized(&self, img: RgbImage, min_face_size: u32) -> Result<Oriented> {
        let top = |d: &[Detection]| d.first().map(|d| d.confidence);
        let mut best_turn = Turn::None;
        let mut best_image = None;
        let mut best = self.detect_boxes_sized(&img, min_face_size)?;
        for turn in Turn::SEARCH_ORDER {
            let turned = turn.apply(&img);
            let found = self.detect_boxes_sized(&turned, min_face_size)?;
            if top(&found) > top(&best) {
                best_turn = turn;
                best_image = Some(turned);
                best = found;
            }
        }
        let (original_width, original_height) = (img.width(), img.height());
        let image = best_image.unwrap_or(img);
        let faces = best
            .into_iter()
            .map(|d| self.face_at(&image, d.rect, d.confidence))
            .collect();
        Ok(Oriented {
            turn: best_turn,
            image,
            faces,
            original_width,
            original_height,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    /// A 5×3 image whose pixels carry their own coordinates.
    fn labelled() -> RgbImage {
        RgbImage::from_fn(5, 3, |x, y| Rgb([x as u8, y as u8, 0]))
    }

    #[test]
    fn pixels_map_back_to_where_they_came_from() {
        let img = labelled();
        for turn in [Turn::None, Turn::Cw90, Turn::Cw180, Turn::Cw270] {
            let turned = turn.apply(&img);
            assert_eq!(
                (turned.width(), turned.height()),
                turn.turned_size(img.width(), img.height())
            );
            for (u, v, p) in turned.enumerate_pixels() {
                let (x, y) = turn.pixel_to_original(i64::from(u), i64::from(v), 5, 3);
                assert_eq!((x, y), (i64::from(p[0]), i64::from(p[1])), "{turn:?}");
                let (fx, fy) = turn.point_to_original(f64::from(u), f64::from(v), 5, 3);
                assert_eq!((fx, fy), (x as f64, y as f64));
            }
        }
    }

    #[test]
    fn boxes_map_back_with_their_corners() {
        // Columns 1-2, rows 0-1 of the turned (3×5) image after 90° clockwise.
        let r = Turn::Cw90.rect_to_original(Rect::new(1, 0, 2, 1), 5, 3);
        // Turned (1,0) came from (0,1); (2,1) from (1,0).
        assert_eq!(r, Rect::new(0, 0, 1, 1));
        let r = Turn::Cw270.rect_to_original(Rect::new(0, 0, 2, 0), 5, 3);
        // Turned row 0 is the original's last column.
        assert_eq!(r, Rect::new(4, 0, 4, 2));
    }

    #[test]
    fn roll_turns_back_with_the_image() {
        // Upright on the image turned 90° clockwise: lying 90° counter-clockwise as sent.
        assert_eq!(Turn::Cw90.roll_to_original(0.0), -90.0);
        assert_eq!(Turn::Cw270.roll_to_original(0.0), 90.0);
        assert_eq!(Turn::Cw180.roll_to_original(10.0), -170.0);
        assert_eq!(Turn::None.roll_to_original(-12.5), -12.5);
    }
}

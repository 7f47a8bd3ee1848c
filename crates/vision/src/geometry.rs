//! The little plane geometry dlib's face pipeline uses, with dlib's conventions:
//! integer rectangles are inclusive of their right and bottom edges, continuous
//! rectangles measure width as `right - left + 1`, and rounding is `floor(x + 0.5)`.
//!
//! Written by hand because these conventions (not any general geometry crate's) decide
//! which pixel a landmark or a detection lands on.

/// A point in image coordinates (x right, y down).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Point {
    /// Horizontal coordinate.
    pub x: f64,
    /// Vertical coordinate.
    pub y: f64,
}

impl Point {
    /// A point.
    pub const fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }

    /// Rounded to the nearest pixel as dlib rounds (`floor(v + 0.5)`).
    pub fn round(self) -> (i64, i64) {
        (round_half_up(self.x), round_half_up(self.y))
    }
}

impl std::ops::Add for Point {
    type Output = Point;
    fn add(self, o: Point) -> Point {
        Point::new(self.x + o.x, self.y + o.y)
    }
}

impl std::ops::Sub for Point {
    type Output = Point;
    fn sub(self, o: Point) -> Point {
        Point::new(self.x - o.x, self.y - o.y)
    }
}

/// dlib's conversion of a real coordinate to a pixel index.
pub fn round_half_up(v: f64) -> i64 {
    (v + 0.5).floor() as i64
}

/// An integer rectangle, inclusive of `right` and `bottom` (dlib's `rectangle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rect {
    /// Leftmost column.
    pub left: i64,
    /// Top row.
    pub top: i64,
    /// Rightmost column (inclusive).
    pub right: i64,
    /// Bottom row (inclusive).
    pub bottom: i64,
}

impl Rect {
    /// A rectangle from its inclusive edges.
    pub const fn new(left: i64, top: i64, right: i64, bottom: i64) -> Self {
        Rect {
            left,
            top,
            right,
            bottom,
        }
    }

    /// The rectangle at the origin with this size.
    pub const fn sized(width: i64, height: i64) -> Self {
        Rect::new(0, 0, width - 1, height - 1)
    }

    /// True when the rectangle holds no pixel.
    pub fn is_empty(&self) -> bool {
        self.top > self.bottom || self.left > self.right
    }

    /// Width in pixels (0 when empty).
    pub fn width(&self) -> i64 {
        if self.is_empty() {
            0
        } else {
            self.right - self.left + 1
        }
    }

    /// Height in pixels (0 when empty).
    pub fn height(&self) -> i64 {
        if self.is_empty() {
            0
        } else {
            self.bottom - self.top + 1
        }
    }

    /// Area in pixels.
    pub fn area(&self) -> i64 {
        self.width() * self.height()
    }

    /// The common part of two rectangles.
    pub fn intersect(&self, o: &Rect) -> Rect {
        Rect::new(
            self.left.max(o.left),
            self.top.max(o.top),
            self.right.min(o.right),
            self.bottom.min(o.bottom),
        )
    }

    /// The smallest rectangle holding both (dlib's `a + b`).
    pub fn union_box(&self, o: &Rect) -> Rect {
        if self.is_empty() {
            return *o;
        }
        if o.is_empty() {
            return *self;
        }
        Rect::new(
            self.left.min(o.left),
            self.top.min(o.top),
            self.right.max(o.right),
            self.bottom.max(o.bottom),
        )
    }

    /// Moved by an offset.
    pub fn translate(&self, dx: i64, dy: i64) -> Rect {
        Rect::new(
            self.left + dx,
            self.top + dy,
            self.right + dx,
            self.bottom + dy,
        )
    }

    /// True when the pixel lies inside.
    pub fn contains(&self, x: i64, y: i64) -> bool {
        self.left <= x && x <= self.right && self.top <= y && y <= self.bottom
    }

    /// Intersection over union, with inclusive pixel areas.
    pub fn iou(&self, o: &Rect) -> f64 {
        let inner = self.intersect(o).area() as f64;
        let outer = (self.area() + o.area()) as f64 - inner;
        if outer <= 0.0 {
            0.0
        } else {
            inner / outer
        }
    }
}

/// A continuous rectangle (dlib's `drectangle`): width is `right - left + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct DRect {
    /// Left edge.
    pub left: f64,
    /// Top edge.
    pub top: f64,
    /// Right edge.
    pub right: f64,
    /// Bottom edge.
    pub bottom: f64,
}

impl DRect {
    /// A rectangle from its edges.
    pub const fn new(left: f64, top: f64, right: f64, bottom: f64) -> Self {
        DRect {
            left,
            top,
            right,
            bottom,
        }
    }

    /// dlib's `centered_drect`: a `width` × `height` rectangle centred on `p`.
    pub fn centered(p: Point, width: f64, height: f64) -> Self {
        let (w, h) = ((width - 1.0) / 2.0, (height - 1.0) / 2.0);
        DRect::new(p.x - w, p.y - h, p.x + w, p.y + h)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.top > self.bottom || self.left > self.right
    }

    /// Width (`right - left + 1`, 0 when empty).
    pub fn width(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.right - self.left + 1.0
        }
    }

    /// Height (`bottom - top + 1`, 0 when empty).
    pub fn height(&self) -> f64 {
        if self.is_empty() {
            0.0
        } else {
            self.bottom - self.top + 1.0
        }
    }

    /// Area.
    pub fn area(&self) -> f64 {
        self.width() * self.height()
    }

    /// Centre point.
    pub fn center(&self) -> Point {
        Point::new(
            (self.left + self.right) / 2.0,
            (self.top + self.bottom) / 2.0,
        )
    }

    /// Top-left corner.
    pub fn tl(&self) -> Point {
        Point::new(self.left, self.top)
    }

    /// Top-right corner.
    pub fn tr(&self) -> Point {
        Point::new(self.right, self.top)
    }

    /// Bottom-left corner.
    pub fn bl(&self) -> Point {
        Point::new(self.left, self.bottom)
    }

    /// Bottom-right corner.
    pub fn br(&self) -> Point {
        Point::new(self.right, self.bottom)
    }

    /// Moved by an offset.
    pub fn translate(&self, d: Point) -> DRect {
        DRect::new(
            self.left + d.x,
            self.top + d.y,
            self.right + d.x,
            self.bottom + d.y,
        )
    }

    /// Grown by `n` on every side.
    pub fn grow(&self, n: f64) -> DRect {
        DRect::new(self.left - n, self.top - n, self.right + n, self.bottom + n)
    }

    /// dlib's conversion to an integer rectangle (each edge rounded with `lround`).
    pub fn to_rect(&self) -> Rect {
        let r = |v: f64| v.round() as i64;
        Rect::new(r(self.left), r(self.top), r(self.right), r(self.bottom))
    }

    /// The same rectangle as a continuous one.
    pub fn from_rect(r: &Rect) -> DRect {
        DRect::new(r.left as f64, r.top as f64, r.right as f64, r.bottom as f64)
    }

    /// Smallest rectangle containing this one and a point.
    pub fn include(&self, p: Point) -> DRect {
        if self.is_empty() {
            return DRect::new(p.x, p.y, p.x, p.y);
        }
        DRect::new(
            self.left.min(p.x),
            self.top.min(p.y),
            self.right.max(p.x),
            self.bottom.max(p.y),
        )
    }

    /// An empty rectangle to start [`DRect::include`] from.
    pub const fn empty() -> DRect {
        DRect::new(0.0, 0.0, -1.0, -1.0)
    }
}

/// An affine map `p ↦ M·p + b`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    /// Row-major 2×2 matrix.
    pub m: [[f64; 2]; 2],
    /// Translation.
    pub b: [f64; 2],
}

impl Affine {
    /// Applies the map.
    pub fn apply(&self, p: Point) -> Point {
        Point::new(
            self.m[0][0] * p.x + self.m[0][1] * p.y + self.b[0],
            self.m[1][0] * p.x + self.m[1][1] * p.y + self.b[1],
        )
    }

    /// The affine map taking three points onto three others (exact for non-collinear points).
    pub fn from_three(from: [Point; 3], to: [Point; 3]) -> Option<Affine> {
        // Solve [x y 1]·coeffs = target for each output coordinate.
        let [p0, p1, p2] = from;
        let det = p0.x * (p1.y - p2.y) - p0.y * (p1.x - p2.x) + (p1.x * p2.y - p2.x * p1.y);
        if det.abs() < 1e-12 {
            return None;
        }
        let inv = [
            [
                (p1.y - p2.y) / det,
                (p2.y - p0.y) / det,
                (p0.y - p1.y) / det,
            ],
            [
                (p2.x - p1.x) / det,
                (p0.x - p2.x) / det,
                (p1.x - p0.x) / det,
            ],
            [
                (p1.x * p2.y - p2.x * p1.y) / det,
                (p2.x * p0.y - p0.x * p2.y) / det,
                (p0.x * p1.y - p1.x * p0.y) / det,
            ],
        ];
        let solve = |t: [f64; 3]| -> [f64; 3] {
            [
                inv[0][0] * t[0] + inv[0][1] * t[1] + inv[0][2] * t[2],
                inv[1][0] * t[0] + inv[1][1] * t[1] + inv[1][2] * t[2],
                inv[2][0] * t[0] + inv[2][1] * t[1] + inv[2][2] * t[2],
            ]
        };
        let cx = solve([to[0].x, to[1].x, to[2].x]);
        let cy = solve([to[0].y, to[1].y, to[2].y]);
        Some(Affine {
            m: [[cx[0], cx[1]], [cy[0], cy[1]]],
            b: [cx[2], cy[2]],
        })
    }
}

/// The least-squares similarity transform (rotation, uniform scale, translation) taking
/// `from` onto `to` (Umeyama's method, as dlib's `find_similarity_transform`; in two
/// dimensions its SVD has this closed form).
pub fn similarity_transform(from: &[Point], to: &[Point]) -> Affine {
    let n = from.len().min(to.len()).max(1) as f64;
    let mean = |ps: &[Point]| {
        let s = ps.iter().fold(Point::default(), |a, &p| a + p);
        Point::new(s.x / n, s.y / n)
    };
    let (mf, mt) = (mean(from), mean(to));
    let mut sigma_from = 0.0;
    // cov = Σ (to - mt)(from - mf)ᵀ / n
    let mut cov = [[0.0f64; 2]; 2];
    for (f, t) in from.iter().zip(to) {
        let (df, dt) = (*f - mf, *t - mt);
        sigma_from += df.x * df.x + df.y * df.y;
        cov[0][0] += dt.x * df.x;
        cov[0][1] += dt.x * df.y;
        cov[1][0] += dt.y * df.x;
        cov[1][1] += dt.y * df.y;
    }
    sigma_from /= n;
    for row in &mut cov {
        for v in row {
            *v /= n;
        }
    }
    // The rotation maximising trace(Rᵀ·cov) and the scale trace(D·S)/σ².
    let a = cov[0][0] + cov[1][1];
    let b = cov[1][0] - cov[0][1];
    let norm = (a * a + b * b).sqrt();
    let (cos, sin) = if norm > 0.0 {
        (a / norm, b / norm)
    } else {
        (1.0, 0.0)
    };
    let c = if sigma_from != 0.0 {
        norm / sigma_from
    } else {
        1.0
    };
    let m = [[c * cos, -c * sin], [c * sin, c * cos]];
    let b = [
        mt.x - (m[0][0] * mf.x + m[0][1] * mf.y),
        mt.y - (m[1][0] * mf.x + m[1][1] * mf.y),
    ];
    Affine { m, b }
}

/// Rotates `p` about `center` by `angle` radians (dlib's `rotate_point`).
pub fn rotate_point(center: Point, p: Point, angle: f64) -> Point {
    let (s, c) = angle.sin_cos();
    let d = p - center;
    Point::new(c * d.x - s * d.y + center.x, s * d.x + c * d.y + center.y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_recovers_a_known_transform() {
        let (angle, scale, t) = (0.3f64, 1.7, Point::new(5.0, -2.0));
        let from = [
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(3.0, 7.0),
            Point::new(-4.0, 2.0),
        ];
        let to: Vec<Point> = from
            .iter()
            .map(|&p| {
                let r = rotate_point(Point::default(), p, angle);
                Point::new(r.x * scale + t.x, r.y * scale + t.y)
            })
            .collect();
        let a = similarity_transform(&from, &to);
        for (f, t) in from.iter().zip(&to) {
            let q = a.apply(*f);
            assert!((q.x - t.x).abs() < 1e-9 && (q.y - t.y).abs() < 1e-9);
        }
    }

    #[test]
    fn affine_from_three_points_is_exact() {
        let from = [
            Point::new(0.0, 0.0),
            Point::new(149.0, 0.0),
            Point::new(0.0, 149.0),
        ];
        let to = [
            Point::new(10.0, 20.0),
            Point::new(60.0, 25.0),
            Point::new(5.0, 70.0),
        ];
        let a = Affine::from_three(from, to).unwrap();
        for (f, t) in from.iter().zip(&to) {
            let q = a.apply(*f);
            assert!((q.x - t.x).abs() < 1e-9 && (q.y - t.y).abs() < 1e-9);
        }
    }

    #[test]
    fn rectangles_use_inclusive_edges() {
        let a = Rect::new(0, 0, 9, 9);
        assert_eq!(a.area(), 100);
        let b = Rect::new(5, 5, 14, 14);
        assert_eq!(a.intersect(&b).area(), 25);
        assert!((a.iou(&b) - 25.0 / 175.0).abs() < 1e-12);
        assert_eq!(
            DRect::centered(Point::new(50.0, 50.0), 80.0, 80.0).width(),
            80.0
        );
    }
}

//! The "try it" figure: the uploaded photo(s) in an SVG, as `data:` images (the
//! console's CSP allows `img-src data:`), with the face boxes and points of the API's
//! answer drawn over them in the photo's own pixel frame. Every value written into the
//! SVG is a number or escaped text; the image data is base64.

use std::fmt::Write as _;

use serde_json::Value;

/// A photo placed in the figure.
pub struct Placed<'a> {
    pub mime: &'static str,
    pub bytes: &'a [u8],
    pub width: u32,
    pub height: u32,
}

/// What is drawn over one photo.
#[derive(Debug, Default, PartialEq)]
pub struct Marks {
    /// (x, y, width, height) in the photo's pixels.
    pub boxes: Vec<(f64, f64, f64, f64)>,
    pub points: Vec<(f64, f64)>,
}

/// The photo's pixel size, from its header only (nothing is decoded).
pub fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn rect(v: &Value) -> Option<(f64, f64, f64, f64)> {
    Some((
        num(&v["X"])?,
        num(&v["Y"])?,
        num(&v["Width"])?,
        num(&v["Height"])?,
    ))
}

/// The marks an action's answer gives for its (first) photo: DetectFace's `FaceInfos`,
/// the searches' `Results[].FaceRect`, AnalyzeFace's `FaceShapeSet` points.
pub fn marks_of(answer: &serde_json::Map<String, Value>) -> Marks {
    let mut m = Marks::default();
    if let Some(faces) = answer.get("FaceInfos").and_then(Value::as_array) {
        m.boxes.extend(faces.iter().filter_map(rect));
    }
    if let Some(results) = answer.get("Results").and_then(Value::as_array) {
        m.boxes
            .extend(results.iter().filter_map(|r| rect(&r["FaceRect"])));
    }
    if let Some(shapes) = answer.get("FaceShapeSet").and_then(Value::as_array) {
        for shape in shapes.iter().filter_map(Value::as_object) {
            for points in shape.values().filter_map(Value::as_array) {
                m.points.extend(
                    points
                        .iter()
                        .filter_map(|p| Some((num(&p["X"])?, num(&p["Y"])?))),
                );
            }
        }
    }
    m
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The SVG `#try-figure`: the photos side by side (a gap between), each with its marks.
/// `label` is its accessible name.
pub fn svg(photos: &[(Placed<'_>, Marks)], label: &str) -> String {
    const GAP: u32 = 16;
    let width: u32 = photos.iter().map(|(p, _)| p.width).sum::<u32>()
        + GAP * photos.len().saturating_sub(1) as u32;
    let height = photos.iter().map(|(p, _)| p.height).max().unwrap_or(0);
    let label = escape(label);
    let mut s = format!(
        "<svg id=\"try-figure\" class=\"figure\" xmlns=\"http://www.w3.org/2000/svg\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{label}\"><title>{label}</title>"
    );
    let mut x0 = 0u32;
    for (photo, marks) in photos {
        let _ = write!(
            s,
            "<image x=\"{x0}\" y=\"0\" width=\"{w}\" height=\"{h}\" href=\"data:{mime};base64,{data}\"/>",
            w = photo.width,
            h = photo.height,
            mime = photo.mime,
            data = super::base64(photo.bytes),
        );
        // Strokes keep their width on screen however the photo is scaled; a dark line
        // under a light one shows on any photo.
        for &(x, y, w, h) in &marks.boxes {
            for (class, colour, stroke) in
                [("face-box-under", "#1b1f24", 5), ("face-box", "#f0a500", 3)]
            {
                let _ = write!(
                    s,
                    "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" \
                     fill=\"none\" stroke=\"{colour}\" stroke-width=\"{stroke}\" vector-effect=\"non-scaling-stroke\"/>",
                    x = x + f64::from(x0),
                );
            }
        }
        let r = (f64::from(photo.width.max(photo.height)) / 250.0).max(1.0);
        for &(x, y) in &marks.points {
            let _ = write!(
                s,
                "<circle class=\"face-point\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{r:.1}\" fill=\"#00e0ff\" \
                 stroke=\"#1b1f24\" stroke-width=\"1\" vector-effect=\"non-scaling-stroke\"/>",
                x = x + f64::from(x0),
            );
        }
        x0 += photo.width + GAP;
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn marks_come_from_each_answer_shape() {
        let detect = json!({"FaceInfos": [{"X": 10, "Y": 20, "Width": 30, "Height": 40}]});
        let m = marks_of(detect.as_object().unwrap());
        assert_eq!(m.boxes, [(10.0, 20.0, 30.0, 40.0)]);
        let search = json!({"Results": [{"FaceRect": {"X": -1, "Y": 2, "Width": 3, "Height": 4}, "Candidates": []}]});
        assert_eq!(
            marks_of(search.as_object().unwrap()).boxes,
            [(-1.0, 2.0, 3.0, 4.0)]
        );
        let shapes = json!({"FaceShapeSet": [{"LeftEye": [{"X": 1, "Y": 2}, {"X": 3, "Y": 4}], "LeftPupil": [{"X": 5, "Y": 6}]}]});
        assert_eq!(marks_of(shapes.as_object().unwrap()).points.len(), 3);
        assert_eq!(
            marks_of(json!({"Score": 99}).as_object().unwrap()),
            Marks::default()
        );
    }

    #[test]
    fn the_figure_embeds_the_photo_and_draws_over_it() {
        let bytes = [0xFF, 0xD8, 0xFF, 1, 2, 3];
        let photo = Placed {
            mime: "image/jpeg",
            bytes: &bytes,
            width: 200,
            height: 100,
        };
        let marks = Marks {
            boxes: vec![(10.0, 20.0, 30.0, 40.0)],
            points: vec![(1.0, 2.0)],
        };
        let s = svg(&[(photo, marks)], "a \"photo\" <1>");
        assert!(s.starts_with("<svg id=\"try-figure\""), "{s}");
        assert!(s.contains("viewBox=\"0 0 200 100\""), "{s}");
        assert!(
            s.contains("href=\"data:image/jpeg;base64,/9j/AQID\""),
            "{s}"
        );
        assert!(
            s.contains("class=\"face-box\" x=\"10.0\" y=\"20.0\" width=\"30.0\" height=\"40.0\""),
            "{s}"
        );
        assert!(
            s.contains("<circle class=\"face-point\" cx=\"1.0\" cy=\"2.0\""),
            "{s}"
        );
        assert!(
            s.contains("aria-label=\"a &quot;photo&quot; &lt;1&gt;\""),
            "{s}"
        );
        assert!(s.ends_with("</svg>"));
    }

    #[test]
    fn two_photos_sit_side_by_side() {
        let b = [0u8; 3];
        let p = |w, h| Placed {
            mime: "image/png",
            bytes: &b,
            width: w,
            height: h,
        };
        let s = svg(
            &[
                (p(100, 50), Marks::default()),
                (p(80, 120), Marks::default()),
            ],
            "x",
        );
        assert!(s.contains("viewBox=\"0 0 196 120\""), "{s}");
        assert!(s.contains("<image x=\"116\""), "{s}");
    }
}

//! The ROC plot (TAR against FAR, FAR on a log scale) of every population as SVG,
//! with the score map's FAR lines, drawn with plotters' SVG backend.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{CalibrationError, Result};

/// One population's curve.
pub struct Curve<'a> {
    /// Legend label.
    pub label: String,
    /// (FAR, TAR) points, FAR increasing.
    pub points: &'a [(f64, f64)],
}

const COLOURS: [RGBColor; 4] = [
    RGBColor(200, 30, 30),
    RGBColor(30, 80, 200),
    RGBColor(20, 140, 60),
    RGBColor(140, 60, 160),
];

/// Writes the ROC plot to `path`.
pub fn roc_svg(path: &Path, title: &str, curves: &[Curve<'_>]) -> Result<()> {
    let e = |err: &dyn std::fmt::Display| CalibrationError::Plot(err.to_string());
    let root = SVGBackend::new(path, (800, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d((1e-5f64..1f64).log_scale(), 0f64..1f64)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc("false-accept rate (impostor pairs accepted)")
        .y_desc("true-accept rate (genuine pairs accepted)")
        .x_label_formatter(&|x| format!("{x:.0e}"))
        .draw()
        .map_err(|x| e(&x))?;
    // Score lines: 40, 50, 60 carry FAR 1e-3, 1e-4, 1e-5.
    for (far, label) in [(1e-3, "40"), (1e-4, "50"), (1e-5, "60")] {
        chart
            .draw_series(LineSeries::new(
                [(far, 0.0), (far, 1.0)],
                ShapeStyle::from(&BLACK.mix(0.3)).stroke_width(1),
            ))
            .map_err(|x| e(&x))?;
        chart
            .draw_series(std::iter::once(Text::new(
                format!("score {label}"),
                (far * 1.1, 0.03),
                ("sans-serif", 12),
            )))
            .map_err(|x| e(&x))?;
    }
    for (i, c) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let pts = corners(c.points.iter().copied().filter(|p| p.0 >= 1e-5));
        chart
            .draw_series(LineSeries::new(pts, colour.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label(c.label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(&x))?;
    root.present().map_err(|x| e(&x))?;
    Ok(())
}

/// The ROC is a staircase with one point per impostor pair; only the points where the
/// TAR changes (and the last) shape the line, and they keep the SVG small.
fn corners(points: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut last = None;
    for p in points {
        if out.last().is_none_or(|q: &(f64, f64)| q.1 != p.1) {
            if let Some(l) = last.take() {
                out.push(l);
            }
            out.push(p);
        } else {
            last = Some(p);
        }
    }
    out.extend(last);
    out
}

#[cfg(test)]
mod tests {
    use super::corners;

    #[test]
    fn only_the_corners_of_the_staircase_are_kept() {
        let pts = [(0.1, 0.5), (0.2, 0.5), (0.3, 0.5), (0.4, 0.7), (0.5, 0.7)];
        assert_eq!(
            corners(pts.into_iter()),
            vec![(0.1, 0.5), (0.3, 0.5), (0.4, 0.7), (0.5, 0.7)]
        );
    }
}

//! Bar charts drawn on the server as SVG. Every chart is shown beside a table of the
//! same figures, so the chart is a picture of the table, not the only place a number is.

use std::fmt::Write;

/// One bar: its label on the axis, its value, and the text a pointer or a screen reader
/// gets for it.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" axis maximum at or above `max`: 1, 2 or 5 times a power of ten.
fn axis_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * magnitude)
}

fn tick(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The SVG markup of a bar chart titled `title` (escaped here; the result is safe to
/// insert into a page as is).
pub fn bars(title: &str, bars: &[Bar]) -> String {
    let max = axis_max(bars.iter().map(|b| b.value).fold(0.0, f64::max));
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let slot = plot_w / bars.len().max(1) as f64;
    let bar_w = (slot * 0.7).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{t}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{t}</title>",
        t = escape(title)
    );
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{x2}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\">{label}</text>",
            x2 = WIDTH - 8.0,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            label = tick(v)
        );
    }
    // Label at most ~16 bars so the axis stays readable.
    let every = bars.len().div_ceil(16).max(1);
    for (i, b) in bars.iter().enumerate() {
        let h = if max > 0.0 {
            plot_h * b.value.max(0.0) / max
        } else {
            0.0
        };
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let y = TOP + plot_h - h;
        let _ = write!(
            svg,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"{h:.1}\"><title>{text}</title></rect>",
            text = escape(&b.text)
        );
        if i % every == 0 {
            let _ = write!(
                svg,
                "<text class=\"tick\" x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\">{label}</text>",
                cx = x + bar_w / 2.0,
                ly = HEIGHT - 10.0,
                label = escape(&b.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_rounds_up_to_a_nice_number() {
        assert_eq!(axis_max(0.0), 1.0);
        assert_eq!(axis_max(7.0), 10.0);
        assert_eq!(axis_max(130.0), 200.0);
        assert_eq!(axis_max(4000.0), 5000.0);
        assert_eq!(axis_max(1000.0), 1000.0);
    }

    #[test]
    fn bars_scale_to_the_axis_and_escape_text() {
        let svg = bars(
            "calls <per> day",
            &[
                Bar {
                    label: "1".into(),
                    value: 50.0,
                    text: "day 1: 50".into(),
                },
                Bar {
                    label: "2".into(),
                    value: 100.0,
                    text: "day 2: 100 & more".into(),
                },
            ],
        );
        assert!(svg.contains("calls &lt;per&gt; day"));
        assert!(svg.contains("100 &amp; more"));
        // The 100-call bar fills the plot (axis max 100), the 50-call one half of it.
        let plot_h = HEIGHT - BOTTOM - TOP;
        assert!(svg.contains(&format!("height=\"{plot_h:.1}\"")));
        assert!(svg.contains(&format!("height=\"{:.1}\"", plot_h / 2.0)));
    }
}

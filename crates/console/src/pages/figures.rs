//! What the billing pages share: CSV downloads (fields quoted when they need it, sent
//! as an attachment), times in the account's billing time zone, the `?month=` value.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::error::ConsoleError;
use crate::session::Viewer;

/// A catalogue text for Rust-side use (a chart's title), empty if the key is missing
/// (the catalogue test checks every key the templates use exists in both languages).
pub fn text(viewer: &Viewer, page: &str, key: &str) -> String {
    crate::i18n::catalogue(viewer.lang)
        .get_attr(page)
        .and_then(|p| p.get_attr(key))
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// An instant as the account sees it: `2026-12-07 12:15 CST` in its billing time zone.
pub fn local_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// The account's billing time zone.
pub fn zone(time_zone: &str) -> Result<Tz, ConsoleError> {
    Ok(billing::time::parse_tz(time_zone)?)
}

/// A `YYYY-MM` from a query or a path; `None` when it is not one.
pub fn parse_month(s: &str) -> Option<billing::Month> {
    s.trim().parse().ok()
}

/// One CSV field: quoted, with its quotes doubled, when it holds a comma, a quote, a line
/// break or leading/trailing spaces; otherwise as is. A field a spreadsheet would run
/// as a formula (`=`, `+`, `-`, `@` first) gets a leading apostrophe, unless it is a
/// number (a negative amount stays a number).
pub fn field(value: &str) -> String {
    let formula =
        value.starts_with(['=', '+', '-', '@', '\t', '\r']) && value.parse::<f64>().is_err();
    let value = if formula {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) || value.starts_with(' ') || value.ends_with(' ') {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// A CSV line from its fields. Lines end with `\n`, as `renlian bill --csv` prints them,
/// so the console's download and the command's output are the same bytes.
pub fn row<I, S>(fields: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut line = fields
        .into_iter()
        .map(|f| field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// The download: `text/csv` in UTF-8, saved as `filename` (ASCII, chosen by us).
pub fn attachment(filename: &str, body: String) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fields_stay_as_they_are() {
        assert_eq!(field("detect"), "detect");
        assert_eq!(field("12.34"), "12.34");
        assert_eq!(field("-12.34"), "-12.34");
        assert_eq!(field(""), "");
    }

    #[test]
    fn fields_that_need_it_are_quoted() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(" padded"), "\" padded\"");
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(field("=1+2"), "'=1+2");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("-x"), "'-x");
        assert_eq!(field("=a,b"), "\"'=a,b\"");
    }

    #[test]
    fn rows_end_with_a_line_feed() {
        assert_eq!(row(["a", "b,c", "1"]), "a,\"b,c\",1\n");
        assert_eq!(row(Vec::<String>::new()), "\n");
    }
}

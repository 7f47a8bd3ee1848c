//! The quote calculator: everything `renlian quote` does, as GET forms (a quote changes
//! nothing, so the result's URL can be bookmarked or shared). The figures are billing's
//! own `billing::quote` functions.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use billing::quote::{self, Quote};
use billing::{Item, PackSize, Sdk};
use minijinja::context;
use serde::Serialize;

use crate::error::ConsoleError;
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new().route("/a/{account}/quote", get(quote_page))
}

/// The quotes of `renlian quote`, by the name its subcommands (and the forms) use.
const CALL_KINDS: [&str; 3] = ["postpaid", "prepaid", "prepaid-year"];
const SDK_KINDS: [&str; 2] = ["sdk-device", "sdk-platform"];

/// What the forms sent (as typed, to show them again), from the query string.
#[derive(Serialize, Default)]
struct Asked {
    kind: String,
    item: String,
    calls: String,
    /// Counts per pack size, in `PackSize::ALL` order.
    packs: Vec<String>,
    sdk: String,
    devices: String,
    years: String,
}

impl Asked {
    fn parse(query: Option<&str>) -> Asked {
        let mut a = Asked {
            packs: vec![String::new(); PackSize::ALL.len()],
            ..Asked::default()
        };
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let v = v.trim().to_owned();
            match k.as_ref() {
                "kind" => a.kind = v,
                "item" => a.item = v,
                "calls" => a.calls = v,
                "sdk" => a.sdk = v,
                "devices" => a.devices = v,
                "years" => a.years = v,
                other => {
                    if let Some(i) = PackSize::ALL
                        .iter()
                        .position(|s| other == format!("pack_{}", s.as_str()))
                    {
                        a.packs[i] = v;
                    }
                }
            }
        }
        a
    }
}

/// Why no quote: which field (`calls`, `devices`…) is not a count, a prepaid month with
/// no pack, or billing's own refusal (under the SDK minimum, years out of range).
#[derive(Serialize)]
struct Problem {
    kind: &'static str,
    field: &'static str,
    detail: String,
}

fn problem(kind: &'static str, field: &'static str, detail: String) -> Problem {
    Problem {
        kind,
        field,
        detail,
    }
}

/// A count as typed: digits, with `,`, `_` or spaces between groups allowed; empty is
/// `default`.
fn count(s: &str, field: &'static str, default: Option<u64>) -> Result<u64, Problem> {
    let digits: String = s
        .chars()
        .filter(|c| !matches!(c, ',' | '_' | ' '))
        .collect();
    match (digits.is_empty(), default) {
        (true, Some(d)) => Ok(d),
        _ => digits
            .parse()
            .map_err(|_| problem("number", field, s.to_owned())),
    }
}

fn named<T: std::str::FromStr>(s: &str, field: &'static str) -> Result<T, Problem> {
    s.parse()
        .map_err(|_| problem("choice", field, s.to_owned()))
}

/// The quote asked for, by the same functions `renlian quote` calls.
fn compute(a: &Asked) -> Result<Quote, Problem> {
    match a.kind.as_str() {
        "postpaid" | "prepaid" | "prepaid-year" => {
            let item: Item = named(&a.item, "item")?;
            let calls = count(&a.calls, "calls", None)?;
            match a.kind.as_str() {
                "postpaid" => Ok(quote::postpaid_month(item, calls)),
                "prepaid-year" => Ok(quote::prepaid_year(item, calls)),
                _ => {
                    let mut packs = Vec::new();
                    for (size, n) in PackSize::ALL.into_iter().zip(&a.packs) {
                        let n = count(n, "packs", Some(0))?;
                        // A month cannot use more packs than a few thousand; beyond that
                        // the form was not filled in by hand.
                        if n > 10_000 {
                            return Err(problem("number", "packs", n.to_string()));
                        }
                        packs.extend(std::iter::repeat_n(size, n as usize));
                    }
                    if packs.is_empty() {
                        return Err(problem("no_packs", "packs", String::new()));
                    }
                    Ok(quote::prepaid_month(item, calls, &packs))
                }
            }
        }
        "sdk-device" => {
            let sdk: Sdk = named(&a.sdk, "sdk")?;
            let devices = count(&a.devices, "devices", None)?;
            quote::sdk_device(sdk, devices)
                .map_err(|e| problem("billing", "devices", e.to_string()))
        }
        "sdk-platform" => {
            let sdk: Sdk = named(&a.sdk, "sdk")?;
            let years = count(&a.years, "years", Some(1))?;
            quote::sdk_platform(sdk, years).map_err(|e| problem("billing", "years", e.to_string()))
        }
        other => Err(problem("choice", "kind", other.to_owned())),
    }
}

async fn quote_page(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    RawQuery(query): RawQuery,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let asked = Asked::parse(query.as_deref());
    let (result, problem) = if asked.kind.is_empty() {
        (None, None)
    } else {
        match compute(&asked) {
            Ok(q) => (Some(q), None),
            Err(p) => (None, Some(p)),
        }
    };
    let sdk_form = SDK_KINDS.contains(&asked.kind.as_str());
    let mut response = page(
        &console,
        &viewer,
        "quote.html",
        "quote",
        Some(account),
        context! {
            asked => asked,
            sdk_form => sdk_form,
            result => result,
            problem => problem,
            call_kinds => CALL_KINDS,
            sdk_kinds => SDK_KINDS,
            items => Item::ALL,
            sizes => PackSize::ALL,
            sdks => Sdk::ALL,
        },
    )?;
    if problem.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(q: &str) -> Asked {
        Asked::parse(Some(q))
    }

    #[test]
    fn the_documents_examples_come_out_as_the_cli_prints_them() {
        let total = |q: &str| compute(&asked(q)).map(|q| q.total.to_string()).ok();
        assert_eq!(
            total("kind=postpaid&item=compare&calls=3%2C500%2C000").as_deref(),
            Some("10470.00")
        );
        assert_eq!(
            total("kind=prepaid&item=search&calls=52000000&pack_50m=1").as_deref(),
            Some("148868.00")
        );
        assert_eq!(
            total("kind=prepaid-year&item=compare&calls=30000000").as_deref(),
            Some("91200.00")
        );
        assert_eq!(
            total("kind=sdk-device&sdk=search&devices=4000").as_deref(),
            Some("1232000.00")
        );
        assert_eq!(
            total("kind=sdk-platform&sdk=detect&years=").as_deref(),
            Some("300000.00")
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let field = |q: &str| compute(&asked(q)).err().map(|p| (p.kind, p.field));
        assert_eq!(
            field("kind=postpaid&item=compare&calls=many"),
            Some(("number", "calls"))
        );
        assert_eq!(
            field("kind=prepaid&item=compare&calls=5"),
            Some(("no_packs", "packs"))
        );
        assert_eq!(
            field("kind=sdk-device&sdk=search&devices=49"),
            Some(("billing", "devices"))
        );
        assert_eq!(
            field("kind=sdk-platform&sdk=search&years=0"),
            Some(("billing", "years"))
        );
        assert_eq!(
            field("kind=postpaid&item=faces&calls=5"),
            Some(("choice", "item"))
        );
        assert_eq!(field("kind=nothing"), Some(("choice", "kind")));
    }
}

//! The account's offline-SDK licences: prices, device orders and their activations,
//! trials, platform licences and renewals, licence files to download.
//!
//! Every purchase and trial runs the `licensing` service's own action through
//! `api::call_as` (billing charges first, with the form's ClientToken, then the licence
//! registry acts keyed on the order): the page adds no rule of its own, and a form
//! submitted twice orders once. Reads go to `Billing` and the licence `Registry`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use billing::Sdk;
use minijinja::context;
use serde_json::{json, Map, Value};

use crate::error::ConsoleError;
use crate::pages::see_other;
use crate::render::page;
use crate::session::Viewer;
use crate::users::random_token;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/a/{account}/sdk", get(sdk_page))
        .route("/a/{account}/sdk/orders", post(order_devices))
        .route("/a/{account}/sdk/activate", post(activate))
        .route("/a/{account}/sdk/trial", post(trial))
        .route("/a/{account}/sdk/platform", post(platform))
        .route("/a/{account}/sdk/licences/{id}/renew", post(renew))
        .route("/a/{account}/sdk/licences/{file}", get(download))
}

/// The version of the `licensing` service the page's calls name.
const LICENSING_VERSION: &str = "2026-12-01";

/// The first quantity of each device tier, for the price table's columns; the prices
/// themselves come from the catalogue (`Sdk::device_price` of the tier each reaches).
const TIER_STARTS: [u64; 3] = [50, 1001, 5001];

#[derive(serde::Serialize)]
struct PriceRow {
    sdk: &'static str,
    contents: &'static str,
    devices: Vec<billing::Money>,
    platform_per_year: billing::Money,
}

fn price_table() -> Vec<PriceRow> {
    Sdk::ALL
        .iter()
        .map(|sdk| PriceRow {
            sdk: sdk.as_str(),
            contents: sdk.contents(),
            devices: TIER_STARTS
                .iter()
                .filter_map(|q| billing::Tier::sdk_devices(*q).ok())
                .map(|tier| sdk.device_price(tier))
                .collect(),
            platform_per_year: sdk.platform_price_per_year(),
        })
        .collect()
}

#[derive(serde::Deserialize, Default)]
struct PageQuery {
    done: Option<String>,
    /// A quote asked for with the order form's values (GET, nothing bought).
    sdk: Option<String>,
    devices: Option<String>,
}

/// A licence as the page lists it: the registry's record, times in microseconds for
/// the templates' date filters.
fn licence_view(r: &licence_record::Record) -> Value {
    json!({
        "id": r.id,
        "kind": r.kind,
        "sdk": r.sdk,
        "order": r.order,
        "seat": r.seat,
        "generation": r.generation,
        "label": r.label,
        "package": r.package,
        "cert_sha256": r.cert_sha256,
        "issued_us": r.issued.saturating_mul(1_000_000),
        "expires_us": r.expires.map(|e| e.saturating_mul(1_000_000)),
        "revoked_us": r.revoked.map(|e| e.saturating_mul(1_000_000)),
    })
}

/// The licence registry's record, read through its serialised form so that this crate
/// needs no dependency on the registry's types.
mod licence_record {
    #[derive(serde::Deserialize)]
    pub struct Record {
        pub id: String,
        pub kind: String,
        pub sdk: String,
        pub order: Option<i64>,
        pub seat: Option<i64>,
        pub generation: u32,
        pub label: Option<String>,
        pub package: Option<String>,
        pub cert_sha256: Option<String>,
        pub issued: i64,
        pub expires: Option<i64>,
        pub revoked: Option<i64>,
    }
}

fn registry_error(e: impl std::fmt::Display) -> ConsoleError {
    ConsoleError::Internal(format!("licence registry: {e}"))
}

/// The account's licences, oldest first.
async fn licences(
    console: &Console,
    account: i64,
) -> Result<Vec<licence_record::Record>, ConsoleError> {
    let reg = console.app.licences().await.map_err(registry_error)?;
    let list = reg.licences(account).await.map_err(registry_error)?;
    list.iter()
        .map(|r| {
            serde_json::to_value(r)
                .and_then(serde_json::from_value)
                .map_err(registry_error)
        })
        .collect()
}

struct Notes<'a> {
    error: Option<String>,
    done: Option<&'a str>,
    quote: Option<Value>,
}

async fn render(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    notes: Notes<'_>,
) -> Result<Response, ConsoleError> {
    let orders = console.app.billing.sdk_orders(account).await?;
    let records = licences(console, account).await?;
    let order_rows: Vec<Value> = orders
        .iter()
        .map(|o| {
            let used = records
                .iter()
                .filter(|r| r.order == Some(o.id) && r.kind == "device")
                .count();
            json!({
                "order": o,
                "at_us": o.at.timestamp_micros(),
                "seats_used": used,
            })
        })
        .collect();
    let device_orders: Vec<i64> = orders
        .iter()
        .filter(|o| o.kind == billing::SdkOrderKind::Devices)
        .map(|o| o.id)
        .collect();
    let devices: Vec<Value> = records
        .iter()
        .filter(|r| r.kind == "device" || r.kind == "trial-device")
        .map(licence_view)
        .collect();
    let platforms: Vec<Value> = records
        .iter()
        .filter(|r| r.kind == "platform" || r.kind == "trial-platform")
        .map(licence_view)
        .collect();
    let status = if notes.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut response = page(
        console,
        viewer,
        "sdk.html",
        "sdk",
        Some(account),
        context! {
            prices => price_table(),
            tier_starts => TIER_STARTS,
            sdks => Sdk::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            orders => order_rows,
            device_orders => device_orders,
            devices => devices,
            platforms => platforms,
            error => notes.error,
            done => notes.done,
            quote => notes.quote,
            // A ClientToken (at most 64 characters) per page: its forms add a suffix each.
            client_token => random_token()[..40].to_string(),
        },
    )?;
    *response.status_mut() = status;
    Ok(response)
}

async fn sdk_page(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let done = q.done.as_deref().and_then(|d| {
        ["ordered", "activated", "trial", "platform", "renewed"]
            .into_iter()
            .find(|k| *k == d)
    });
    let (mut error, mut quote) = (None, None);
    if let (Some(sdk), Some(devices)) = (&q.sdk, &q.devices) {
        let asked = sdk
            .parse::<Sdk>()
            .map_err(|e| e.to_string())
            .and_then(|sdk| {
                let n: u64 = devices
                    .trim()
                    .parse()
                    .map_err(|_| format!("{devices:?} is not a number of devices"))?;
                billing::quote::sdk_device(sdk, n).map_err(|e| e.to_string())
            });
        match asked {
            Ok(q) => quote = Some(serde_json::to_value(&q).map_err(registry_error)?),
            Err(e) => error = Some(e),
        }
    }
    render(&console, &viewer, account, Notes { error, done, quote }).await
}

/// Runs one `licensing` action for the account, as its own API call would.
async fn licensing_call(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    action: &str,
    params: Value,
) -> Result<Result<Map<String, Value>, String>, ConsoleError> {
    let params = match params {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let caller = format!("console:{}", viewer.user().id);
    let (_request_id, result) = api::call_as(
        &console.app,
        account,
        &caller,
        action,
        LICENSING_VERSION,
        &params,
    )
    .await;
    match result {
        Ok(fields) => Ok(Ok(fields)),
        // Internal errors stay internal; every other refusal is about what was asked.
        Err(e) if e.code.starts_with("InternalError") => {
            Err(ConsoleError::Internal(format!("{action}: {}", e.message)))
        }
        Err(e) => Ok(Err(e.message)),
    }
}

/// After an action: back to the page, or the page again with the refusal.
async fn finish(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    outcome: Result<Map<String, Value>, String>,
    done: &str,
) -> Result<Response, ConsoleError> {
    match outcome {
        Ok(fields) => {
            // An operator buying or licensing on a customer's behalf is audited.
            if viewer.user().operator {
                let detail = ["OrderId", "Total", "Replayed"]
                    .iter()
                    .filter_map(|k| fields.get(*k).map(|v| format!("{k} {v}")))
                    .collect::<Vec<_>>()
                    .join(", ");
                console
                    .users
                    .audit(
                        viewer.user(),
                        &format!("sdk.{done}"),
                        &format!("account {account}"),
                        &detail,
                    )
                    .await?;
            }
            Ok(see_other(&format!(
                "{}/a/{account}/sdk?done={done}",
                crate::BASE
            )))
        }
        Err(message) => {
            render(
                console,
                viewer,
                account,
                Notes {
                    error: Some(message),
                    done: None,
                    quote: None,
                },
            )
            .await
        }
    }
}

fn text(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A whole number from a form field, or the message saying it is not one.
fn number(name: &str, s: &Option<String>) -> Result<u64, String> {
    let s = text(s).unwrap_or_default();
    s.parse()
        .map_err(|_| format!("{name} must be a whole number, got {s:?}"))
}

#[derive(serde::Deserialize)]
struct OrderForm {
    sdk: String,
    devices: Option<String>,
    client_token: Option<String>,
}

async fn order_devices(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    Form(f): Form<OrderForm>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let outcome = match number("Devices", &f.devices) {
        Ok(devices) => {
            let mut params = json!({ "Sdk": f.sdk, "Devices": devices });
            if let Some(t) = text(&f.client_token) {
                params["ClientToken"] = json!(t);
            }
            licensing_call(&console, &viewer, account, "CreateSdkOrder", params).await?
        }
        Err(e) => Err(e),
    };
    finish(&console, &viewer, account, outcome, "ordered").await
}

#[derive(serde::Deserialize)]
struct ActivateForm {
    order: String,
    request: Option<String>,
}

async fn activate(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    Form(f): Form<ActivateForm>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let outcome = match (f.order.trim().parse::<i64>(), text(&f.request)) {
        (Ok(order), Some(request)) => {
            let params = json!({ "OrderId": order, "ActivationRequest": request });
            licensing_call(&console, &viewer, account, "ActivateSdkLicense", params).await?
        }
        (Err(_), _) => Err(format!("{:?} is not an order number", f.order)),
        (_, None) => Err("paste the device's activation request".to_string()),
    };
    finish(&console, &viewer, account, outcome, "activated").await
}

/// The armoured activation requests pasted into one field, one per BEGIN block.
fn split_requests(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("-----BEGIN ") || out.is_empty() {
            out.push(String::new());
        }
        if let Some(last) = out.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    out.retain(|r| !r.trim().is_empty());
    out
}

#[derive(serde::Deserialize)]
struct TrialForm {
    sdk: String,
    package: Option<String>,
    cert_sha256: Option<String>,
    requests: Option<String>,
}

async fn trial(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    Form(f): Form<TrialForm>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let mut params = json!({ "Sdk": f.sdk });
    let outcome = match (text(&f.requests), text(&f.package)) {
        (Some(requests), None) => {
            params["ActivationRequests"] = json!(split_requests(requests));
            licensing_call(&console, &viewer, account, "CreateSdkTrial", params).await?
        }
        (None, Some(package)) => {
            params["Package"] = json!(package);
            if let Some(c) = text(&f.cert_sha256) {
                params["CertSha256"] = json!(c);
            }
            licensing_call(&console, &viewer, account, "CreateSdkTrial", params).await?
        }
        _ => Err(
            "a trial is for devices (activation requests) or for one application package, not both"
                .to_string(),
        ),
    };
    finish(&console, &viewer, account, outcome, "trial").await
}

#[derive(serde::Deserialize)]
struct PlatformForm {
    sdk: String,
    package: Option<String>,
    cert_sha256: Option<String>,
    years: Option<String>,
    client_token: Option<String>,
}

async fn platform(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    Form(f): Form<PlatformForm>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let outcome = match number("Years", &f.years) {
        Ok(years) => {
            let mut params = json!({
                "Sdk": f.sdk,
                "Package": text(&f.package).unwrap_or_default(),
                "Years": years,
            });
            if let Some(c) = text(&f.cert_sha256) {
                params["CertSha256"] = json!(c);
            }
            if let Some(t) = text(&f.client_token) {
                params["ClientToken"] = json!(t);
            }
            licensing_call(
                &console,
                &viewer,
                account,
                "CreateSdkPlatformLicense",
                params,
            )
            .await?
        }
        Err(e) => Err(e),
    };
    finish(&console, &viewer, account, outcome, "platform").await
}

#[derive(serde::Deserialize)]
struct RenewForm {
    client_token: Option<String>,
}

async fn renew(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path((account, id)): Path<(i64, String)>,
    Form(f): Form<RenewForm>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    // Another account's licence id is not found here, whatever the action would say.
    if !licences(&console, account)
        .await?
        .iter()
        .any(|r| r.id == id)
    {
        return Err(ConsoleError::NotFound);
    }
    let mut params = json!({ "LicenseId": id });
    if let Some(t) = text(&f.client_token) {
        params["ClientToken"] = json!(t);
    }
    let outcome = licensing_call(
        &console,
        &viewer,
        account,
        "RenewSdkPlatformLicense",
        params,
    )
    .await?;
    finish(&console, &viewer, account, outcome, "renewed").await
}

/// `{id}.lic`: the licence file, signed now with the issuer's current key.
async fn download(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path((account, file)): Path<(i64, String)>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let id = file.strip_suffix(".lic").ok_or(ConsoleError::NotFound)?;
    if !licences(&console, account)
        .await?
        .iter()
        .any(|r| r.id == id)
    {
        return Err(ConsoleError::NotFound);
    }
    let reg = console.app.licences().await.map_err(registry_error)?;
    let issued = reg
        .licence(id, chrono::Utc::now().timestamp())
        .await
        .map_err(registry_error)?;
    // Ids are the registry's own (letters, digits, `-`), safe in a header.
    let disposition = format!("attachment; filename=\"{id}.lic\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        issued.licence,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_requests_split_at_each_begin_line() {
        let one = "-----BEGIN RENLIAN ACTIVATION REQUEST-----\nv1.abc\n-----END RENLIAN ACTIVATION REQUEST-----\n";
        let two = format!("{one}\n{one}");
        assert_eq!(split_requests(one).len(), 1);
        let split = split_requests(&two);
        assert_eq!(split.len(), 2);
        assert!(split
            .iter()
            .all(|r| r.contains("v1.abc") && r.contains("-----END")));
        assert!(split_requests("  \n").is_empty());
    }

    #[test]
    fn the_price_table_has_every_tier() {
        let table = price_table();
        assert_eq!(table.len(), Sdk::ALL.len());
        assert!(table.iter().all(|r| r.devices.len() == TIER_STARTS.len()));
        // Each column is a cheaper tier than the one before.
        assert!(table
            .iter()
            .all(|r| r.devices.windows(2).all(|w| w[1] < w[0])));
    }
}

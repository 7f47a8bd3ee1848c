//! Resource packs: the price table, buying a pack (once per ClientToken, so a double
//! click or a resubmitted page buys one), and the account's packs with what is left.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use billing::catalogue::LOW_PERCENT;
use billing::{BillingError, Item, Money, Pack, PackSize};
use chrono::Utc;
use chrono_tz::Tz;
use minijinja::context;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::figures::{local_time, zone};
use super::see_other;
use crate::error::ConsoleError;
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new().route("/a/{account}/packs", get(packs).post(buy))
}

/// One row of the price table: an item and its price per pack size (in `PackSize::ALL`
/// order).
#[derive(Serialize)]
struct PriceRow {
    item: Item,
    prices: Vec<Money>,
}

/// An own pack as the table shows it.
#[derive(Serialize)]
struct PackRow {
    id: i64,
    item: Item,
    size: PackSize,
    units: u64,
    remaining: u64,
    /// Remaining as a whole percentage of the size, rounded down.
    percent: u64,
    /// Under the 15 % line (the `pack_low` notice's threshold).
    low: bool,
    /// `active`, `used_up`, `expired`.
    state: &'static str,
    price: Money,
    purchased: String,
    expires: String,
}

fn pack_row(p: &Pack, tz: Tz, now: chrono::DateTime<Utc>) -> PackRow {
    let state = if p.voided.is_some() || p.expires_at <= now {
        "expired"
    } else if p.remaining == 0 {
        "used_up"
    } else {
        "active"
    };
    PackRow {
        id: p.id,
        item: p.item,
        size: p.size,
        units: p.units,
        remaining: p.remaining,
        percent: p.remaining.saturating_mul(100) / p.units.max(1),
        // The same strict comparison billing's notice uses: 150,000 of 1M is not low yet.
        low: u128::from(p.remaining) * 100 < u128::from(p.units) * u128::from(LOW_PERCENT),
        state,
        price: p.price,
        purchased: local_time(p.purchased_at, tz),
        expires: local_time(p.expires_at, tz),
    }
}

/// A fresh ClientToken for one rendering of a form that charges or adds money (a pack
/// bought here, a top-up on the account page): 128 random bits in hex, well inside
/// billing's 64 printable characters.
pub(super) fn client_token() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("console-{}", hex::encode(bytes))
}

/// Why a purchase was refused, for the page's message.
#[derive(Serialize, Default)]
struct Refusal {
    /// `balance` (too low), `form` (a value not offered), `other` (billing's own words).
    kind: &'static str,
    needed: Option<Money>,
    available: Option<Money>,
    detail: String,
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn render(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    done: Option<&str>,
    refusal: Option<Refusal>,
    chosen: (Option<Item>, Option<PackSize>),
) -> Result<Response, ConsoleError> {
    let billing = &console.app.billing;
    let view = billing.account(account).await?;
    let tz = zone(&view.time_zone)?;
    let now = Utc::now();
    let prices: Vec<PriceRow> = Item::ALL
        .into_iter()
        .map(|item| PriceRow {
            item,
            prices: PackSize::ALL
                .into_iter()
                .map(|s| item.pack_price(s))
                .collect(),
        })
        .collect();
    let own: Vec<PackRow> = billing
        .packs(account)
        .await?
        .iter()
        .map(|p| pack_row(p, tz, now))
        .collect();
    let status = if refusal.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut response = page(
        console,
        viewer,
        "packs.html",
        "packs",
        Some(account),
        context! {
            view => view,
            sizes => PackSize::ALL,
            prices => prices,
            own => own,
            low_percent => LOW_PERCENT.to_string(),
            client_token => client_token(),
            done => done,
            refusal => refusal,
            chosen_item => chosen.0,
            chosen_size => chosen.1,
        },
    )?;
    *response.status_mut() = status;
    Ok(response)
}

async fn packs(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    // Only the messages this page knows; anything else in the URL is ignored.
    let done = q.done.as_deref().filter(|d| *d == "bought");
    render(&console, &viewer, account, done, None, (None, None)).await
}

#[derive(Deserialize)]
struct BuyForm {
    item: String,
    size: String,
    client_token: String,
}

async fn buy(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    Form(form): Form<BuyForm>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let item = form.item.parse::<Item>().ok();
    let size = form.size.parse::<PackSize>().ok();
    let (Some(item), Some(size)) = (item, size) else {
        let refusal = Refusal {
            kind: "form",
            ..Refusal::default()
        };
        return render(
            &console,
            &viewer,
            account,
            None,
            Some(refusal),
            (item, size),
        )
        .await;
    };
    let order = console
        .app
        .billing
        .buy_pack_with_token(
            account,
            item,
            size,
            Utc::now(),
            Some(form.client_token.trim()),
        )
        .await;
    match order {
        Ok(order) => {
            let user = viewer.user();
            if user.operator && !order.replayed {
                console
                    .users
                    .audit(
                        user,
                        "pack.buy",
                        &format!("account:{account}"),
                        &format!(
                            "pack {} ({item} {size}, {})",
                            order.pack.id, order.pack.price
                        ),
                    )
                    .await?;
            }
            Ok(see_other(&format!(
                "{}/a/{account}/packs?done=bought",
                crate::BASE
            )))
        }
        Err(BillingError::InsufficientBalance { needed, available }) => {
            let refusal = Refusal {
                kind: "balance",
                needed: Some(needed),
                available: Some(available),
                detail: String::new(),
            };
            render(
                &console,
                &viewer,
                account,
                None,
                Some(refusal),
                (Some(item), Some(size)),
            )
            .await
        }
        Err(
            e @ (BillingError::ClientTokenConflict { .. } | BillingError::InvalidClientToken(_)),
        ) => {
            let refusal = Refusal {
                kind: "other",
                detail: e.to_string(),
                ..Refusal::default()
            };
            render(
                &console,
                &viewer,
                account,
                None,
                Some(refusal),
                (Some(item), Some(size)),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

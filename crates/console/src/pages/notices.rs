//! Notices: the account's in-app notices (pack below 15 %, pack used up) and how far the
//! e-mail and SMS (webhook) copies of each got.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use billing::{Delivery, NoticeKind};
use minijinja::context;
use serde::Serialize;

use super::figures::{local_time, zone};
use crate::error::ConsoleError;
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new().route("/a/{account}/notices", get(notices))
}

/// The channels shown per notice, in this order: in-app (delivered by being stored),
/// e-mail (SMTP), SMS (through the webhook).
const CHANNELS: [&str; 3] = ["in_app", "email", "sms"];

#[derive(Serialize)]
struct ChannelState {
    channel: &'static str,
    /// `delivered`, `pending`, or `none` (no address for this channel).
    state: String,
    target: String,
    attempts: i64,
    last_error: Option<String>,
    next_attempt: Option<String>,
    delivered: Option<String>,
}

#[derive(Serialize)]
struct NoticeRow {
    id: i64,
    pack: i64,
    kind: NoticeKind,
    at: String,
    message: String,
    channels: Vec<ChannelState>,
}

fn channel_state(channel: &'static str, d: Option<&Delivery>, tz: chrono_tz::Tz) -> ChannelState {
    match d {
        Some(d) => ChannelState {
            channel,
            state: d.state.clone(),
            target: d.target.clone(),
            attempts: d.attempts,
            last_error: d.last_error.clone(),
            next_attempt: d.next_attempt_at.map(|t| local_time(t, tz)),
            delivered: d.delivered_at.map(|t| local_time(t, tz)),
        },
        None => ChannelState {
            channel,
            state: "none".into(),
            target: String::new(),
            attempts: 0,
            last_error: None,
            next_attempt: None,
            delivered: None,
        },
    }
}

async fn notices(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let billing = &console.app.billing;
    let view = billing.account(account).await?;
    let tz = zone(&view.time_zone)?;
    // Newest first: the one that matters is usually the last.
    let rows: Vec<NoticeRow> = billing
        .notices(account)
        .await?
        .into_iter()
        .rev()
        .map(|n| NoticeRow {
            id: n.id,
            pack: n.pack,
            kind: n.kind,
            at: local_time(n.at, tz),
            channels: CHANNELS
                .iter()
                .map(|c| channel_state(c, n.deliveries.iter().find(|d| d.channel == *c), tz))
                .collect(),
            message: n.message,
        })
        .collect();
    page(
        &console,
        &viewer,
        "notices.html",
        "notices",
        Some(account),
        context! { view => view, rows => rows, channels => CHANNELS },
    )
}

//! Notices (rule 4): "pack below 15%" and "pack exhausted", each exactly once per pack,
//! stored (the in-app channel is the stored notice itself) and delivered by senders:
//! e-mail over SMTP, SMS and anything else through an HTTP webhook. A failed delivery stays
//! pending and is retried with exponential backoff; its state is visible with the notice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::engine::Billing;
use crate::error::BillingError;
use crate::time::{from_micros, to_micros};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    PackLow,
    PackExhausted,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::PackLow => "pack_low",
            NoticeKind::PackExhausted => "pack_exhausted",
        }
    }

    fn parse(s: &str) -> Result<NoticeKind, BillingError> {
        match s {
            "pack_low" => Ok(NoticeKind::PackLow),
            "pack_exhausted" => Ok(NoticeKind::PackExhausted),
            other => Err(BillingError::Corrupt(format!("notice kind {other:?}"))),
        }
    }
}

pub(crate) struct NoticeDraft {
    pub(crate) account: i64,
    pub(crate) pack_id: i64,
    pub(crate) kind: NoticeKind,
    pub(crate) at_us: i64,
    pub(crate) message: String,
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
}

impl NoticeDraft {
    pub(crate) fn new(
        account: i64,
        pack_id: i64,
        kind: NoticeKind,
        at_us: i64,
        message: String,
        email: Option<String>,
        phone: Option<String>,
    ) -> NoticeDraft {
        NoticeDraft {
            account,
            pack_id,
            kind,
            at_us,
            message,
            email,
            phone,
        }
    }
}

/// Stores notices with one delivery per channel: in-app (delivered by being stored),
/// e-mail when the account has an address, SMS when it has a phone number.
pub(crate) async fn insert_notices(
    conn: &mut AnyConnection,
    drafts: &[NoticeDraft],
) -> Result<(), BillingError> {
    for d in drafts {
        let row = sqlx::query(
            "INSERT INTO billing_notices (account_id, pack_id, kind, at_us, message) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(d.account)
        .bind(d.pack_id)
        .bind(d.kind.as_str())
        .bind(d.at_us)
        .bind(d.message.clone())
        .fetch_one(&mut *conn)
        .await?;
        let id: i64 = row.try_get(0)?;
        let mut channels = vec![("in_app", String::new(), "delivered", Some(d.at_us))];
        if let Some(email) = &d.email {
            channels.push(("email", email.clone(), "pending", None));
        }
        if let Some(phone) = &d.phone {
            channels.push(("sms", phone.clone(), "pending", None));
        }
        for (channel, target, state, delivered) in channels {
            sqlx::query(
                "INSERT INTO billing_deliveries (notice_id, channel, target, state, attempts, \
                 next_attempt_us, last_error, delivered_us) VALUES ($1, $2, $3, $4, 0, $5, NULL, $6)",
            )
            .bind(id)
            .bind(channel)
            .bind(target)
            .bind(state)
            .bind(d.at_us)
            .bind(delivered)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

#[derive(Clone, Debug, Serialize)]
pub struct Notice {
    pub id: i64,
    pub account: i64,
    pub pack: i64,
    pub kind: NoticeKind,
    pub at: DateTime<Utc>,
    pub message: String,
    pub deliveries: Vec<Delivery>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    /// `in_app`, `email` or `sms`.
    pub channel: String,
    pub target: String,
    /// `pending` or `delivered`.
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// E-mail over SMTP (lettre).
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSender {
    /// `url` as lettre reads it: `smtp://host:port` (plain, for a local relay),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtps://host` (TLS).
    pub fn new(url: &str, from: &str) -> Result<SmtpSender, BillingError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| BillingError::Delivery(format!("SMTP URL {url:?}: {e}")))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = from
            .parse()
            .map_err(|e| BillingError::Delivery(format!("sender address {from:?}: {e}")))?;
        Ok(SmtpSender { transport, from })
    }

    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("address {to:?}: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body.to_string())
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// SMS and other channels: a JSON POST to a webhook that forwards them.
pub struct WebhookSender {
    client: reqwest::Client,
    url: String,
}

impl WebhookSender {
    pub fn new(url: &str) -> Result<WebhookSender, BillingError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| BillingError::Delivery(e.to_string()))?;
        Ok(WebhookSender {
            client,
            url: url.to_string(),
        })
    }

    async fn send(&self, payload: &serde_json::Value) -> Result<(), String> {
        let resp = self
            .client
            .post(&self.url)
            .json(payload)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("webhook answered {}", resp.status()))
        }
    }
}

/// The configured senders and retry schedule.
pub struct Senders {
    pub smtp: Option<SmtpSender>,
    pub webhook: Option<WebhookSender>,
    /// Delay after the first failure; doubled after each further failure, up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Senders {
    fn default() -> Self {
        Senders {
            smtp: None,
            webhook: None,
            first_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
        }
    }
}

impl Senders {
    fn backoff(&self, attempts: i64) -> Duration {
        let shift = attempts.clamp(1, 20) as u32 - 1;
        self.first_backoff
            .saturating_mul(1u32 << shift)
            .min(self.max_backoff)
    }
}

/// What one delivery round did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryRound {
    pub attempted: u64,
    pub delivered: u64,
    pub failed: u64,
}

impl Billing {
    /// Starts a task that attempts the due deliveries every `every` (the server's delivery
    /// loop). A failed round (database unreachable) is logged and the next one tries again;
    /// the task runs until the handle is aborted or the runtime stops. Needs a Tokio runtime.
    pub fn spawn_notice_delivery(
        &self,
        senders: Senders,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let billing = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            // A slow round (SMTP timeouts) is not followed by a burst of catch-up rounds.
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match billing.deliver_notices(&senders, Utc::now()).await {
                    Ok(round) if round.attempted > 0 => tracing::info!(
                        attempted = round.attempted,
                        delivered = round.delivered,
                        failed = round.failed,
                        "notice delivery round"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "notice delivery round failed"),
                }
            }
        })
    }

    /// An account's notices, oldest first, each with its deliveries.
    pub async fn notices(&self, account: i64) -> Result<Vec<Notice>, BillingError> {
        self.account(account).await?;
        let rows = sqlx::query(
            "SELECT id, pack_id, kind, at_us, message FROM billing_notices WHERE account_id = $1 \
             ORDER BY id",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let kind: String = row.try_get("kind")?;
            let drows = sqlx::query(
                "SELECT channel, target, state, attempts, next_attempt_us, last_error, delivered_us \
                 FROM billing_deliveries WHERE notice_id = $1 ORDER BY channel",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            let mut deliveries = Vec::with_capacity(drows.len());
            for d in drows {
                let state: String = d.try_get("state")?;
                let delivered: Option<i64> = d.try_get("delivered_us")?;
                deliveries.push(Delivery {
                    channel: d.try_get("channel")?,
                    target: d.try_get("target")?,
                    next_attempt_at: if state == "pending" {
                        Some(from_micros(d.try_get("next_attempt_us")?)?)
                    } else {
                        None
                    },
                    state,
                    attempts: d.try_get("attempts")?,
                    last_error: d.try_get("last_error")?,
                    delivered_at: delivered.map(from_micros).transpose()?,
                });
            }
            out.push(Notice {
                id,
                account,
                pack: row.try_get("pack_id")?,
                kind: NoticeKind::parse(&kind)?,
                at: from_micros(row.try_get("at_us")?)?,
                message: row.try_get("message")?,
                deliveries,
            });
        }
        Ok(out)
    }

    /// Attempts every pending delivery that is due at `now`. Failures are recorded and
    /// rescheduled, never dropped. Delivery is at least once: a crash between sending and
    /// recording sends again.
    pub async fn deliver_notices(
        &self,
        senders: &Senders,
        now: DateTime<Utc>,
    ) -> Result<DeliveryRound, BillingError> {
        let rows = sqlx::query(
            "SELECT d.notice_id, d.channel, d.target, d.attempts, n.account_id, n.kind, n.message \
             FROM billing_deliveries d JOIN billing_notices n ON n.id = d.notice_id \
             WHERE d.state = 'pending' AND d.next_attempt_us <= $1 \
             ORDER BY d.next_attempt_us, d.notice_id LIMIT 1000",
        )
        .bind(to_micros(now))
        .fetch_all(&self.pool)
        .await?;
        let mut round = DeliveryRound::default();
        for row in rows {
            let notice: i64 = row.try_get("notice_id")?;
            let channel: String = row.try_get("channel")?;
            let target: String = row.try_get("target")?;
            let attempts: i64 = row.try_get::<i64, _>("attempts")? + 1;
            let kind: String = row.try_get("kind")?;
            let message: String = row.try_get("message")?;
            let account: i64 = row.try_get("account_id")?;
            round.attempted += 1;
            let outcome = match (channel.as_str(), &senders.smtp, &senders.webhook) {
                ("email", Some(smtp), _) => {
                    let subject = match kind.as_str() {
                        "pack_low" => "Renlian: resource pack below 15%",
                        _ => "Renlian: resource pack used up",
                    };
                    smtp.send(&target, subject, &message).await
                }
                ("email", None, _) => Err("no SMTP sender configured".to_string()),
                (_, _, Some(hook)) => {
                    let payload = serde_json::json!({
                        "channel": channel,
                        "target": target,
                        "account": account,
                        "notice": notice,
                        "kind": kind,
                        "message": message,
                    });
                    hook.send(&payload).await
                }
                (_, _, None) => Err(format!("no webhook sender configured for {channel}")),
            };
            match outcome {
                Ok(()) => {
                    round.delivered += 1;
                    sqlx::query(
                        "UPDATE billing_deliveries SET state = 'delivered', attempts = $1, \
                         delivered_us = $2, last_error = NULL WHERE notice_id = $3 AND channel = $4",
                    )
                    .bind(attempts)
                    .bind(to_micros(now))
                    .bind(notice)
                    .bind(channel)
                    .execute(&self.pool)
                    .await?;
                }
                Err(error) => {
                    round.failed += 1;
                    let next = now
                        + chrono::Duration::from_std(senders.backoff(attempts))
                            .unwrap_or(chrono::Duration::hours(1));
                    sqlx::query(
                        "UPDATE billing_deliveries SET attempts = $1, next_attempt_us = $2, \
                         last_error = $3 WHERE notice_id = $4 AND channel = $5",
                    )
                    .bind(attempts)
                    .bind(to_micros(next))
                    .bind(error)
                    .bind(notice)
                    .bind(channel)
                    .execute(&self.pool)
                    .await?;
                }
            }
        }
        Ok(round)
    }
}

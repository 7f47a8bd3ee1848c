//! Accounts and money movements: balance, frozen, available = balance − frozen, state.
//!
//! Every movement is an append-only ledger entry; `billing_balances` holds the ledger's
//! sums, updated in the same transaction, and [`Billing::audit_ledger`] checks they agree.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use db::{sql, Dialect};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::engine::Billing;
use crate::error::BillingError;
use crate::money::Money;
use crate::time::{parse_tz, to_micros};

/// What `account create` takes.
#[derive(Clone, Debug, Default)]
pub struct NewAccount {
    pub name: String,
    /// IANA name; the deployment default when `None`.
    pub time_zone: Option<String>,
    /// Where e-mail notices go.
    pub email: Option<String>,
    /// Where SMS notices go (through the webhook sender).
    pub phone: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountState {
    Active,
    /// Available balance negative: postpaid calls are refused (rule 8).
    Arrears,
}

#[derive(Clone, Debug, Serialize)]
pub struct AccountView {
    pub id: i64,
    pub name: String,
    pub time_zone: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub balance: Money,
    pub frozen: Money,
    pub available: Money,
    pub state: AccountState,
}

/// What a top-up returned: the account after it, and whether an earlier request with the
/// same ClientToken made it (`replayed`: nothing was added this time).
#[derive(Clone, Debug, Serialize)]
pub struct TopUp {
    /// Serialised inline: the JSON is the account's, plus `replayed`.
    #[serde(flatten)]
    pub account: AccountView,
    pub replayed: bool,
}

/// An account's money as cached in `billing_balances`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Balance {
    pub balance: Money,
    pub frozen: Money,
}

impl Balance {
    pub fn available(self) -> Money {
        self.balance - self.frozen
    }

    pub fn state(self) -> AccountState {
        if self.available().is_negative() {
            AccountState::Arrears
        } else {
            AccountState::Active
        }
    }
}

pub(crate) struct LedgerEntry {
    pub account: i64,
    pub at_us: i64,
    pub kind: &'static str,
    pub balance_delta: Money,
    pub frozen_delta: Money,
    pub reference: String,
}

fn money(row: &sqlx::any::AnyRow, col: &str) -> Result<Money, BillingError> {
    let s: String = row.try_get(col)?;
    s.parse()
        .map_err(|_| BillingError::Corrupt(format!("{col} {s:?} is not a decimal")))
}

/// Locks the balance rows of `ids` for this transaction (a write first, so SQLite takes its
/// write lock at once and PostgreSQL locks the rows) and returns them. Missing ids are absent.
pub(crate) async fn lock_balances(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<HashMap<i64, Balance>, BillingError> {
    let d = Dialect::of(conn)?;
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(512) {
        let n = sql::padded(chunk.len());
        let q = format!(
            "UPDATE billing_balances SET seq = seq + 1 WHERE account_id IN ({}) \
             RETURNING account_id, balance, frozen",
            sql::list(d, 1, n)
        );
        let mut query = sqlx::query(&q);
        for i in 0..n {
            query = query.bind(chunk[i.min(chunk.len() - 1)]);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let id: i64 = row.try_get("account_id")?;
            out.insert(
                id,
                Balance {
                    balance: money(&row, "balance")?,
                    frozen: money(&row, "frozen")?,
                },
            );
        }
    }
    Ok(out)
}

/// Writes new cached sums for the given accounts.
pub(crate) async fn store_balances(
    conn: &mut AnyConnection,
    rows: &[(i64, Balance)],
) -> Result<(), BillingError> {
    let d = Dialect::of(conn)?;
    let mut rest = rows;
    for n in sql::pow2_chunks(rows.len(), 256) {
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let q = format!(
            "INSERT INTO billing_balances (account_id, balance, frozen, seq) VALUES {} \
             ON CONFLICT (account_id) DO UPDATE SET balance = excluded.balance, frozen = excluded.frozen",
            sql::value_rows(d, n, 4)
        );
        let mut query = sqlx::query(&q);
        for (id, b) in chunk {
            query = query
                .bind(*id)
                .bind(b.balance.to_string())
                .bind(b.frozen.to_string())
                .bind(0i64);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

pub(crate) async fn append_ledger(
    conn: &mut AnyConnection,
    entries: &[LedgerEntry],
) -> Result<(), BillingError> {
    let d = Dialect::of(conn)?;
    let mut rest = entries;
    for n in sql::pow2_chunks(entries.len(), 256) {
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let q = format!(
            "INSERT INTO billing_ledger (account_id, at_us, kind, balance_delta, frozen_delta, reference) VALUES {}",
            sql::value_rows(d, n, 6)
        );
        let mut query = sqlx::query(&q);
        for e in chunk {
            query = query
                .bind(e.account)
                .bind(e.at_us)
                .bind(e.kind)
                .bind(e.balance_delta.to_string())
                .bind(e.frozen_delta.to_string())
                .bind(e.reference.clone());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Locks one account's balance; an unknown id is an error.
pub(crate) async fn lock_one(conn: &mut AnyConnection, id: i64) -> Result<Balance, BillingError> {
    lock_balances(conn, &[id])
        .await?
        .remove(&id)
        .ok_or(BillingError::UnknownAccount(id))
}

/// A top-up amount: positive, whole fen.
fn check_amount(amount: Money) -> Result<(), BillingError> {
    if amount.is_negative() || amount.is_zero() || amount.amount().normalize().scale() > 2 {
        return Err(BillingError::OutOfRange(format!(
            "a top-up must be a positive amount in whole fen (0.01), got {}",
            amount.amount()
        )));
    }
    Ok(())
}

impl Billing {
    pub async fn create_account(
        &self,
        new: NewAccount,
        at: DateTime<Utc>,
    ) -> Result<i64, BillingError> {
        if new.name.trim().is_empty() {
            return Err(BillingError::OutOfRange(
                "account name must not be empty".into(),
            ));
        }
        let tz = match &new.time_zone {
            Some(name) => parse_tz(name)?,
            None => self.config.default_time_zone,
        };
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO billing_accounts (name, tz, email, phone, created_us) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(new.name)
        .bind(tz.name())
        .bind(new.email)
        .bind(new.phone)
        .bind(to_micros(at))
        .fetch_one(&mut *tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        sqlx::query(
            "INSERT INTO billing_balances (account_id, balance, frozen, seq) VALUES ($1, $2, $3, 0)",
        )
        .bind(id)
        .bind(Money::ZERO.to_string())
        .bind(Money::ZERO.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds money; an account in arrears whose available balance becomes non-negative is
    /// active again at once. Every call adds: a caller that may retry uses
    /// [`Billing::top_up_with_token`].
    pub async fn top_up(
        &self,
        account: i64,
        amount: Money,
        at: DateTime<Utc>,
    ) -> Result<AccountView, BillingError> {
        Ok(self
            .top_up_with_token(account, amount, at, None)
            .await?
            .account)
    }

    /// [`Billing::top_up`] once per `client_token` (1-64 printable ASCII characters, the
    /// idempotency key, as for packs): a repeat of the account's token adds nothing and
    /// answers `replayed`; the same token with another amount is
    /// [`BillingError::TopUpTokenConflict`]. The token is the ledger entry's reference,
    /// unique per account (a unique index), so two nodes racing with one token add once.
    pub async fn top_up_with_token(
        &self,
        account: i64,
        amount: Money,
        at: DateTime<Utc>,
        client_token: Option<&str>,
    ) -> Result<TopUp, BillingError> {
        check_amount(amount)?;
        if let Some(token) = client_token {
            crate::pack::check_client_token(token)?;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_top_up(account, amount, at, client_token).await {
                // Another transaction stored the same token between our lookup and insert
                // (PostgreSQL, several nodes): the next attempt finds it.
                Err(BillingError::Database(e)) if attempt < 3 && db::is_unique_violation(&e) => {}
                Ok(replayed) => {
                    return Ok(TopUp {
                        account: self.account(account).await?,
                        replayed,
                    })
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One attempt: true if the token's top-up was stored already.
    async fn try_top_up(
        &self,
        account: i64,
        amount: Money,
        at: DateTime<Utc>,
        client_token: Option<&str>,
    ) -> Result<bool, BillingError> {
        let mut tx = self.pool.begin().await?;
        let mut bal = lock_one(&mut tx, account).await?;
        if let Some(token) = client_token {
            let stored = sqlx::query(
                "SELECT balance_delta FROM billing_ledger \
                 WHERE account_id = $1 AND kind = 'topup' AND reference = $2",
            )
            .bind(account)
            .bind(token)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = stored {
                let stored = money(&row, "balance_delta")?;
                if stored != amount {
                    return Err(BillingError::TopUpTokenConflict {
                        token: token.to_string(),
                        stored: stored.to_string(),
                        asked: amount.to_string(),
                    });
                }
                return Ok(true);
            }
        }
        bal.balance += amount;
        append_ledger(
            &mut tx,
            &[LedgerEntry {
                account,
                at_us: to_micros(at),
                kind: "topup",
                balance_delta: amount,
                frozen_delta: Money::ZERO,
                reference: client_token.unwrap_or_default().to_string(),
            }],
        )
        .await?;
        store_balances(&mut tx, &[(account, bal)]).await?;
        tx.commit().await?;
        Ok(false)
    }

    pub async fn account(&self, id: i64) -> Result<AccountView, BillingError> {
        let row = sqlx::query(&format!("{VIEW_SELECT} WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(BillingError::UnknownAccount(id))?;
        view(&row)
    }

    /// All account ids, ascending.
    pub async fn account_ids(&self) -> Result<Vec<i64>, BillingError> {
        let rows = sqlx::query("SELECT id FROM billing_accounts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<i64, _>(0).map_err(BillingError::from))
            .collect()
    }

    /// Recomputes an account's balance and frozen amount from its ledger and checks them
    /// against the cached sums. Returns the ledger's (balance, frozen).
    pub async fn audit_ledger(&self, account: i64) -> Result<(Money, Money), BillingError> {
        let rows = sqlx::query(
            "SELECT balance_delta, frozen_delta FROM billing_ledger WHERE account_id = $1",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        let mut balance = Money::ZERO;
        let mut frozen = Money::ZERO;
        for row in &rows {
            balance += money(row, "balance_delta")?;
            frozen += money(row, "frozen_delta")?;
        }
        let view = self.account(account).await?;
        if view.balance != balance || view.frozen != frozen {
            return Err(BillingError::Corrupt(format!(
                "account {account}: cached balance {}/{} but ledger says {balance}/{frozen}",
                view.balance, view.frozen
            )));
        }
        Ok((balance, frozen))
    }

    /// The ledger of one account, oldest first.
    pub async fn ledger(&self, account: i64) -> Result<Vec<LedgerLine>, BillingError> {
        let rows = sqlx::query(
            "SELECT at_us, kind, balance_delta, frozen_delta, reference FROM billing_ledger \
             WHERE account_id = $1 ORDER BY id",
        )
        .bind(account)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LedgerLine {
                    at: crate::time::from_micros(row.try_get("at_us")?)?,
                    kind: row.try_get("kind")?,
                    balance_delta: money(row, "balance_delta")?,
                    frozen_delta: money(row, "frozen_delta")?,
                    reference: row.try_get("reference")?,
                })
            })
            .collect()
    }
}

/// One money movement as stored.
#[derive(Clone, Debug, Serialize)]
pub struct LedgerLine {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub balance_delta: Money,
    pub frozen_delta: Money,
    pub reference: String,
}

pub(crate) fn parse_money(row: &sqlx::any::AnyRow, col: &str) -> Result<Money, BillingError> {
    money(row, col)
}

/// An e-mail address or phone number for notices: trimmed, not empty, at most 254
/// characters, no control characters; an e-mail address has an `@`.
fn check_contact(kind: &str, value: Option<String>) -> Result<Option<String>, BillingError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let v = value.trim();
    let ok = !v.is_empty()
        && v.len() <= 254
        && !v.chars().any(char::is_control)
        && (kind != "e-mail address" || v.contains('@'));
    if !ok {
        return Err(BillingError::OutOfRange(format!(
            "{kind} {value:?} is not valid for notices"
        )));
    }
    Ok(Some(v.to_string()))
}

fn view(row: &sqlx::any::AnyRow) -> Result<AccountView, BillingError> {
    let bal = Balance {
        balance: money(row, "balance")?,
        frozen: money(row, "frozen")?,
    };
    Ok(AccountView {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        time_zone: row.try_get("tz")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        balance: bal.balance,
        frozen: bal.frozen,
        available: bal.available(),
        state: bal.state(),
    })
}

const VIEW_SELECT: &str = "SELECT a.id, a.name, a.tz, a.email, a.phone, b.balance, b.frozen \
     FROM billing_accounts a JOIN billing_balances b ON b.account_id = a.id";

/// The balance rows of `ids`, read without locking them (for previews). Missing ids are
/// absent.
pub(crate) async fn read_balances(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<HashMap<i64, Balance>, BillingError> {
    let d = Dialect::of(conn)?;
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(512) {
        let n = sql::padded(chunk.len());
        let q = format!(
            "SELECT account_id, balance, frozen FROM billing_balances WHERE account_id IN ({})",
            sql::list(d, 1, n)
        );
        let mut query = sqlx::query(&q);
        for i in 0..n {
            query = query.bind(chunk[i.min(chunk.len() - 1)]);
        }
        for row in query.fetch_all(&mut *conn).await? {
            out.insert(
                row.try_get("account_id")?,
                Balance {
                    balance: money(&row, "balance")?,
                    frozen: money(&row, "frozen")?,
                },
            );
        }
    }
    Ok(out)
}

impl Billing {
    /// A page of accounts in id order (oldest first): at most `limit` from the
    /// `offset`-th, each with its contacts and money.
    pub async fn accounts(
        &self,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<AccountView>, BillingError> {
        let offset = i64::try_from(offset)
            .map_err(|_| BillingError::OutOfRange(format!("offset {offset} is too large")))?;
        let rows = sqlx::query(&format!("{VIEW_SELECT} ORDER BY a.id LIMIT $1 OFFSET $2"))
            .bind(i64::from(limit))
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(view).collect()
    }

    /// How many accounts there are (for paging through [`Billing::accounts`]).
    pub async fn account_count(&self) -> Result<u64, BillingError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM billing_accounts")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    /// Sets where the account's notices go: `email` for e-mail, `phone` for SMS (through
    /// the webhook sender); `None` stops that channel. Notices raised from then on use
    /// the new contacts, on every node (the metering writer reads them when it raises a
    /// notice); deliveries already queued keep the address they were queued with.
    ///
    /// Takes the account's lock, so a metering batch of the account sees either the old
    /// contacts or the new ones.
    pub async fn set_contact(
        &self,
        account: i64,
        email: Option<String>,
        phone: Option<String>,
    ) -> Result<AccountView, BillingError> {
        let email = check_contact("e-mail address", email)?;
        let phone = check_contact("phone number", phone)?;
        let mut tx = self.pool.begin().await?;
        lock_one(&mut tx, account).await?;
        sqlx::query("UPDATE billing_accounts SET email = $1, phone = $2 WHERE id = $3")
            .bind(email)
            .bind(phone)
            .bind(account)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.account(account).await
    }
}

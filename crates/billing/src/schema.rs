//! The crate's tables (prefix `billing_`), created and migrated on the pool it is given,
//! through the numbered migrations of the `db` crate (versions in `billing_schema`).
//!
//! Portable SQL for SQLite and PostgreSQL through `sqlx::Any`; the only dialect difference
//! is how an auto-generated id column is declared (`{ID}`). Money is exact decimal TEXT,
//! times are BIGINT microseconds since the epoch (UTC), flags are BIGINT 0/1.
//!
//! Version 1 is exactly the schema the releases before versioned migrations created on
//! every start, statement for statement, with the same `IF NOT EXISTS`: a database they
//! created adopts it untouched (the statements find everything in place) and records
//! version 1; one from a release before `billing_pack_orders` or `billing_enrolments`
//! existed gets those tables. Later changes are new versions, never edits of version 1.

use db::Migration;
use sqlx::AnyPool;

use crate::error::BillingError;

const V1: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS billing_accounts (
        id {ID},
        name TEXT NOT NULL,
        tz TEXT NOT NULL,
        email TEXT,
        phone TEXT,
        created_us BIGINT NOT NULL)",
    // A cache of the ledger's sums, kept in the same transactions; also the row each
    // account's writers lock.
    "CREATE TABLE IF NOT EXISTS billing_balances (
        account_id BIGINT PRIMARY KEY,
        balance TEXT NOT NULL,
        frozen TEXT NOT NULL,
        seq BIGINT NOT NULL)",
    // Money movements, append-only.
    "CREATE TABLE IF NOT EXISTS billing_ledger (
        id {ID},
        account_id BIGINT NOT NULL,
        at_us BIGINT NOT NULL,
        kind TEXT NOT NULL,
        balance_delta TEXT NOT NULL,
        frozen_delta TEXT NOT NULL,
        reference TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS billing_ledger_account ON billing_ledger (account_id)",
    "CREATE TABLE IF NOT EXISTS billing_packs (
        id {ID},
        account_id BIGINT NOT NULL,
        item TEXT NOT NULL,
        size BIGINT NOT NULL,
        price TEXT NOT NULL,
        purchased_us BIGINT NOT NULL,
        expires_us BIGINT NOT NULL,
        remaining BIGINT NOT NULL,
        low_notified BIGINT NOT NULL,
        exhausted_notified BIGINT NOT NULL,
        voided_units BIGINT,
        voided_us BIGINT)",
    "CREATE INDEX IF NOT EXISTS billing_packs_account ON billing_packs (account_id)",
    // BuyResourcePack's ClientToken: one purchase per account and token, whatever the
    // retries, nodes or restarts (the primary key is the guarantee, the account lock the
    // usual path). Added after the first release.
    "CREATE TABLE IF NOT EXISTS billing_pack_orders (
        account_id BIGINT NOT NULL,
        client_token TEXT NOT NULL,
        item TEXT NOT NULL,
        size BIGINT NOT NULL,
        pack_id BIGINT NOT NULL,
        at_us BIGINT NOT NULL,
        PRIMARY KEY (account_id, client_token))",
    // Consumption, append-only: one row per call (part 0), or per source of an import.
    "CREATE TABLE IF NOT EXISTS billing_usage (
        usage_key TEXT NOT NULL,
        part BIGINT NOT NULL,
        account_id BIGINT NOT NULL,
        item TEXT NOT NULL,
        action TEXT NOT NULL,
        month TEXT NOT NULL,
        at_us BIGINT NOT NULL,
        units BIGINT NOT NULL,
        source TEXT NOT NULL,
        pack_id BIGINT,
        PRIMARY KEY (usage_key, part))",
    // Per account, month and item: the sums of billing_usage, kept in the same transactions.
    "CREATE TABLE IF NOT EXISTS billing_monthly (
        account_id BIGINT NOT NULL,
        month TEXT NOT NULL,
        item TEXT NOT NULL,
        calls BIGINT NOT NULL,
        free_units BIGINT NOT NULL,
        pack_units BIGINT NOT NULL,
        postpaid_units BIGINT NOT NULL,
        PRIMARY KEY (account_id, month, item))",
    "CREATE TABLE IF NOT EXISTS billing_settlements (
        account_id BIGINT NOT NULL,
        month TEXT NOT NULL,
        at_us BIGINT NOT NULL,
        total TEXT NOT NULL,
        released TEXT NOT NULL,
        frozen TEXT NOT NULL,
        PRIMARY KEY (account_id, month))",
    "CREATE TABLE IF NOT EXISTS billing_notices (
        id {ID},
        account_id BIGINT NOT NULL,
        pack_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        at_us BIGINT NOT NULL,
        message TEXT NOT NULL)",
    // Exactly once per pack and kind, whatever the callers do.
    "CREATE UNIQUE INDEX IF NOT EXISTS billing_notices_once ON billing_notices (pack_id, kind)",
    "CREATE INDEX IF NOT EXISTS billing_notices_account ON billing_notices (account_id)",
    "CREATE TABLE IF NOT EXISTS billing_deliveries (
        notice_id BIGINT NOT NULL,
        channel TEXT NOT NULL,
        target TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        next_attempt_us BIGINT NOT NULL,
        last_error TEXT,
        delivered_us BIGINT,
        PRIMARY KEY (notice_id, channel))",
    // Enrolments (CreatePerson, CreateFace) metered before their gallery write: one row
    // per RequestId, written in the metering transaction with outcome NULL (pending), then
    // settled: 'confirmed' (the write happened), 'voided' (it did not; the usage was given
    // back) or 'charged' (it did not, but the month was settled meanwhile: the charge
    // stands). Added after the first release.
    "CREATE TABLE IF NOT EXISTS billing_enrolments (
        usage_key TEXT PRIMARY KEY,
        account_id BIGINT NOT NULL,
        action TEXT NOT NULL,
        at_us BIGINT NOT NULL,
        outcome TEXT,
        settled_us BIGINT)",
    // What the reconciliation scans: only the pending rows, by age.
    "CREATE INDEX IF NOT EXISTS billing_enrolments_pending ON billing_enrolments (at_us) \
        WHERE outcome IS NULL",
];

// Offline-SDK purchases (device orders, platform years): one row each, paid at once.
// `client_token` is unique per account where given (NULLs are distinct on both
// databases), the backstop of the account lock as for `billing_pack_orders`.
const V2: &[&str] = &[
    "CREATE TABLE billing_sdk_orders (
        id {ID},
        account_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        sdk TEXT NOT NULL,
        quantity BIGINT NOT NULL,
        tier BIGINT,
        unit_price TEXT NOT NULL,
        total TEXT NOT NULL,
        package TEXT,
        client_token TEXT,
        at_us BIGINT NOT NULL)",
    "CREATE UNIQUE INDEX billing_sdk_orders_token ON billing_sdk_orders (account_id, client_token)",
    "CREATE INDEX billing_sdk_orders_account ON billing_sdk_orders (account_id, at_us)",
];

// The daily roll-up (`crate::daily`), and the indexes the console's health figures read
// (`crate::health`). `billing_backfills` holds the jobs a version leaves for Rust code to
// do after it (`schema::migrate`): filling `billing_daily` from the usage so far needs
// each account's time zone, which SQLite cannot apply.
const V3: &[&str] = &[
    "CREATE TABLE billing_daily (
        account_id BIGINT NOT NULL,
        day TEXT NOT NULL,
        item TEXT NOT NULL,
        calls BIGINT NOT NULL,
        free_units BIGINT NOT NULL,
        pack_units BIGINT NOT NULL,
        postpaid_units BIGINT NOT NULL,
        PRIMARY KEY (account_id, day, item))",
    "CREATE TABLE billing_backfills (job TEXT PRIMARY KEY)",
    "INSERT INTO billing_backfills (job) VALUES ('daily')",
    // Calls metered in the last minute: a range of call times, counted in the index alone.
    // Times mostly increase, so each insert lands at the index's right edge.
    "CREATE INDEX billing_usage_at ON billing_usage (at_us, part)",
    // Deliveries waiting: counted by the health figures, and what the delivery round scans.
    "CREATE INDEX billing_deliveries_pending ON billing_deliveries (next_attempt_us, attempts) \
        WHERE state = 'pending'",
];

// Top-ups once per ClientToken: a top-up given a token keeps it as its ledger entry's
// reference (top-ups had an empty reference before), unique per account.
const V4: &[&str] = &[
    "CREATE UNIQUE INDEX billing_ledger_topup_token ON billing_ledger (account_id, reference) \
        WHERE kind = 'topup' AND reference <> ''",
];

const MIGRATIONS: &[Migration] = &[
    Migration::new(1, V1),
    Migration::new(2, V2),
    Migration::new(3, V3),
    Migration::new(4, V4),
];

/// Brings the tables up to date. Safe to run on every start, from several processes at
/// once (the `db` crate's runner serialises them).
pub async fn migrate(pool: &AnyPool) -> Result<(), BillingError> {
    db::migrate(pool, "billing", MIGRATIONS).await?;
    crate::daily::backfill(pool).await?;
    Ok(())
}

/// Brings the tables up to `version` and no further: how tests build a database as an
/// earlier release left it. Not for production use.
#[doc(hidden)]
pub async fn migrate_to(pool: &AnyPool, version: i64) -> Result<(), BillingError> {
    let upto: Vec<Migration> = MIGRATIONS
        .iter()
        .copied()
        .filter(|m| m.version <= version)
        .collect();
    db::migrate(pool, "billing", &upto).await?;
    if version >= 3 {
        crate::daily::backfill(pool).await?;
    }
    Ok(())
}

//! The crate's tables (prefix `licence_`), migrated through the `db` crate's runner
//! (versions in `licence_schema`). Times are Unix seconds (`_s`), as in `licensing`.

use db::Migration;
use sqlx::AnyPool;

const V1: &[&str] = &[
    // The issuer: one row (id 1). `ring` is the key ring's JSON sealed by the caller's
    // Sealer, in hex; `revocation_seq` is the number of the newest revocation list, and
    // this row is what revocations lock to number them.
    "CREATE TABLE licence_issuer (
        id BIGINT PRIMARY KEY,
        ring TEXT NOT NULL,
        revocation_seq BIGINT NOT NULL,
        created_s BIGINT NOT NULL,
        updated_s BIGINT NOT NULL)",
    // A device order's seats: the billing order's id, its account, SDK and quantity.
    // Activations of the order lock this row.
    "CREATE TABLE licence_orders (
        order_id BIGINT PRIMARY KEY,
        account_id BIGINT NOT NULL,
        sdk TEXT NOT NULL,
        seats BIGINT NOT NULL,
        created_s BIGINT NOT NULL)",
    // Every licence, one row per id (its current generation). Device kinds: the seat
    // (order, seat number; trials: order NULL) and the fingerprint's hashes (JSON) with
    // k; platform kinds: package and certificate. `claims` is the current generation's
    // claims JSON: the file is re-signed from it, byte for byte the same with the same key.
    "CREATE TABLE licence_licences (
        id TEXT PRIMARY KEY,
        account_id BIGINT NOT NULL,
        sdk TEXT NOT NULL,
        kind TEXT NOT NULL,
        order_id BIGINT,
        seat BIGINT,
        generation BIGINT NOT NULL,
        fingerprint TEXT,
        required BIGINT,
        label TEXT,
        package TEXT,
        cert TEXT,
        issued_s BIGINT NOT NULL,
        expires_s BIGINT,
        claims TEXT NOT NULL,
        revoked_s BIGINT,
        created_s BIGINT NOT NULL)",
    // The backstop of the order lock: one licence per seat.
    "CREATE UNIQUE INDEX licence_licences_seat ON licence_licences (order_id, seat)",
    "CREATE INDEX licence_licences_account ON licence_licences (account_id)",
    // Seat moves: generation is the new one.
    "CREATE TABLE licence_moves (
        licence_id TEXT NOT NULL,
        generation BIGINT NOT NULL,
        at_s BIGINT NOT NULL,
        PRIMARY KEY (licence_id, generation))",
    // One trial per account and SDK: its kind and term.
    "CREATE TABLE licence_trials (
        account_id BIGINT NOT NULL,
        sdk TEXT NOT NULL,
        kind TEXT NOT NULL,
        started_s BIGINT NOT NULL,
        expires_s BIGINT NOT NULL,
        PRIMARY KEY (account_id, sdk))",
    // Revocations, one per list number: generations 1..=up_to_gen of the licence, or all
    // of them (NULL). The list numbered N holds every entry with seq <= N.
    "CREATE TABLE licence_revocations (
        seq BIGINT PRIMARY KEY,
        licence_id TEXT NOT NULL,
        up_to_gen BIGINT,
        at_s BIGINT NOT NULL)",
    // Platform purchases and renewals applied, by billing order: a retried renewal
    // (same order) is applied once.
    "CREATE TABLE licence_platform_orders (
        order_id BIGINT PRIMARY KEY,
        licence_id TEXT NOT NULL,
        generation BIGINT NOT NULL,
        at_s BIGINT NOT NULL)",
];

const MIGRATIONS: &[Migration] = &[Migration::new(1, V1)];

pub(crate) async fn migrate(pool: &AnyPool) -> Result<(), sqlx::Error> {
    db::migrate(pool, "licence", MIGRATIONS).await?;
    Ok(())
}

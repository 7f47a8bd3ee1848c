//! The console's tables (`console_*`), migrated through `db::migrate` (versions in
//! `console_schema`).

pub(crate) const MIGRATIONS: &[db::Migration] = &[db::Migration::new(
    1,
    &[
        // A person who signs in to the console. `password_hash` is an argon2id PHC
        // string, NULL until the invite is accepted.
        "CREATE TABLE console_users (
            id {ID},
            account_id BIGINT NOT NULL,
            email TEXT NOT NULL UNIQUE,
            password_hash TEXT,
            operator BIGINT NOT NULL,
            created_us BIGINT NOT NULL
        )",
        // One-time links that set a password. Only the SHA-256 of the token is kept.
        "CREATE TABLE console_invites (
            token_hash TEXT PRIMARY KEY,
            user_id BIGINT NOT NULL,
            created_us BIGINT NOT NULL,
            expires_us BIGINT NOT NULL,
            used_us BIGINT
        )",
        "CREATE INDEX console_invites_user ON console_invites (user_id)",
        // Signed-in browsers. Only the SHA-256 of the cookie's token is kept, so a copy of
        // the database does not let anyone in; every node reads the same rows.
        "CREATE TABLE console_sessions (
            token_hash TEXT PRIMARY KEY,
            user_id BIGINT NOT NULL,
            csrf TEXT NOT NULL,
            created_us BIGINT NOT NULL,
            last_seen_us BIGINT NOT NULL
        )",
        "CREATE INDEX console_sessions_user ON console_sessions (user_id)",
        // Failed sign-ins, by e-mail and by address, for the rate limit.
        "CREATE TABLE console_login_failures (
            id {ID},
            subject TEXT NOT NULL,
            at_us BIGINT NOT NULL
        )",
        "CREATE INDEX console_login_failures_subject ON console_login_failures (subject, at_us)",
        // What operators changed, and who.
        "CREATE TABLE console_audit (
            id {ID},
            at_us BIGINT NOT NULL,
            user_id BIGINT NOT NULL,
            email TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT NOT NULL
        )",
        "CREATE INDEX console_audit_at ON console_audit (at_us)",
    ],
)];

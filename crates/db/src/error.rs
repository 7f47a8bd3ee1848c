//! What a database error means, the same on SQLite and PostgreSQL.

/// A unique-key (or primary-key) violation.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| matches!(d.kind(), sqlx::error::ErrorKind::UniqueViolation))
}

/// PostgreSQL's deadlock_detected (40P01) or serialization_failure (40001): the database
/// rolled the transaction back, and running it again may succeed.
pub fn is_serialization_failure(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| matches!(d.code().as_deref(), Some("40P01") | Some("40001")))
}

/// Worth running the transaction again: a serialization failure or deadlock (PostgreSQL),
/// BUSY or LOCKED (SQLite result codes 5 and 6 and their extended forms), or no
/// connection free in time.
pub fn is_transient(e: &sqlx::Error) -> bool {
    let Some(db) = e.as_database_error() else {
        return matches!(e, sqlx::Error::PoolTimedOut);
    };
    match db.code().as_deref() {
        Some("40P01") | Some("40001") => true,
        Some(code) => code
            .parse::<i64>()
            .map(|c| matches!(c & 0xff, 5 | 6))
            .unwrap_or(false),
        None => false,
    }
}

//! Console users, invites, sessions, the sign-in rate limit and the operators' audit log:
//! everything the console keeps in its own tables.
//!
//! Tokens (invites, sessions) are 32 random bytes shown once; the database keeps their
//! SHA-256 only, so reading the database gives no way in.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

use crate::error::ConsoleError;
use crate::password;

/// How long an invite link stays valid.
pub const INVITE_VALIDITY_US: i64 = 7 * 24 * 3600 * 1_000_000;
/// A session unused this long is over.
pub const IDLE_TIMEOUT_US: i64 = 30 * 60 * 1_000_000;
/// A session is over this long after sign-in, however busy.
pub const ABSOLUTE_TIMEOUT_US: i64 = 12 * 3600 * 1_000_000;
/// Failed sign-ins allowed per e-mail address, and per client address, in the window.
pub const FAILURES_PER_EMAIL: i64 = 5;
pub const FAILURES_PER_ADDRESS: i64 = 20;
pub const FAILURE_WINDOW_US: i64 = 15 * 60 * 1_000_000;
/// `last_seen` is written at most this often, not on every page view.
const TOUCH_EVERY_US: i64 = 60 * 1_000_000;

/// A console user as the pages see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub account: i64,
    pub email: String,
    pub operator: bool,
    /// False until the invite is accepted.
    pub active: bool,
    pub created_us: i64,
}

/// A signed-in browser: its user and the token its forms must carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf: String,
    token_hash: String,
}

/// One line of the audit log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AuditEntry {
    pub at_us: i64,
    pub email: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// The console's store, on the server's pool.
#[derive(Clone)]
pub struct Users {
    pool: AnyPool,
}

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn user_from_row(r: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: r.try_get("id")?,
        account: r.try_get("account_id")?,
        email: r.try_get("email")?,
        operator: r.try_get::<i64, _>("operator")? != 0,
        active: r.try_get::<Option<String>, _>("password_hash")?.is_some(),
        created_us: r.try_get("created_us")?,
    })
}

const USER_COLUMNS: &str = "id, account_id, email, password_hash, operator, created_us";

/// E-mail addresses are compared without case and surrounding space.
pub fn normalise_email(email: &str) -> Result<String, ConsoleError> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(ConsoleError::Invalid(format!(
            "not an e-mail address: {email:?}"
        )));
    }
    Ok(e)
}

impl Users {
    pub async fn open(pool: AnyPool) -> Result<Users, ConsoleError> {
        db::migrate(&pool, "console", crate::schema::MIGRATIONS).await?;
        Ok(Users { pool })
    }

    /// Creates a user without a password and returns it with its one-time invite token.
    pub async fn create(
        &self,
        account: i64,
        email: &str,
        operator: bool,
    ) -> Result<(User, String), ConsoleError> {
        let email = normalise_email(email)?;
        let now = now_us();
        let row = sqlx::query(
            "INSERT INTO console_users (account_id, email, password_hash, operator, created_us)
             VALUES ($1, $2, NULL, $3, $4) RETURNING id",
        )
        .bind(account)
        .bind(&email)
        .bind(i64::from(operator))
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                ConsoleError::Invalid(format!("a console user {email} exists already"))
            } else {
                e.into()
            }
        })?;
        let id: i64 = row.try_get("id")?;
        let token = self.invite(id).await?;
        let user = User {
            id,
            account,
            email,
            operator,
            active: false,
            created_us: now,
        };
        Ok((user, token))
    }

    /// A fresh invite for an existing user (a lost link, or a password reset by an
    /// operator): earlier unused invites stop working.
    pub async fn invite(&self, user_id: i64) -> Result<String, ConsoleError> {
        let token = random_token();
        let now = now_us();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE console_invites SET used_us = $1 WHERE user_id = $2 AND used_us IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO console_invites (token_hash, user_id, created_us, expires_us, used_us)
             VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(hash_token(&token))
        .bind(user_id)
        .bind(now)
        .bind(now + INVITE_VALIDITY_US)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The user an unused, unexpired invite is for.
    pub async fn invite_user(&self, token: &str) -> Result<Option<User>, ConsoleError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM console_users WHERE id =
               (SELECT user_id FROM console_invites
                WHERE token_hash = $1 AND used_us IS NULL AND expires_us > $2)"
        ))
        .bind(hash_token(token))
        .bind(now_us())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    /// Sets the password from an invite, uses the invite up and ends the user's sessions.
    pub async fn accept_invite(&self, token: &str, password: &str) -> Result<User, ConsoleError> {
        password::check_strength(password)?;
        let hash = password::hash(password.to_owned()).await?;
        let now = now_us();
        let mut tx = self.pool.begin().await?;
        // The UPDATE is the claim: of two submissions of one link, one changes the row.
        let row = sqlx::query(
            "UPDATE console_invites SET used_us = $1
             WHERE token_hash = $2 AND used_us IS NULL AND expires_us > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(hash_token(token))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(ConsoleError::NotFound)?;
        let user_id: i64 = row.try_get("user_id")?;
        sqlx::query("UPDATE console_users SET password_hash = $1 WHERE id = $2")
            .bind(&hash)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.user(user_id).await?.ok_or(ConsoleError::NotFound)
    }

    pub async fn user(&self, id: i64) -> Result<Option<User>, ConsoleError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM console_users WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(user_from_row).transpose()?)
    }

    /// Every user, or one account's, oldest first.
    pub async fn list(&self, account: Option<i64>) -> Result<Vec<User>, ConsoleError> {
        let rows = match account {
            Some(a) => {
                sqlx::query(&format!(
                    "SELECT {USER_COLUMNS} FROM console_users WHERE account_id = $1 ORDER BY id"
                ))
                .bind(a)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {USER_COLUMNS} FROM console_users ORDER BY id"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }

    /// Checks a sign-in. Refuses with [`ConsoleError::TooManyAttempts`] once the e-mail or
    /// the address has failed too often in the window, before looking at the password,
    /// so guessing costs the same whether the password is right or not.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        address: &str,
    ) -> Result<User, ConsoleError> {
        let email = normalise_email(email).map_err(|_| ConsoleError::BadCredentials)?;
        let now = now_us();
        let since = now - FAILURE_WINDOW_US;
        let by_email = format!("email:{email}");
        let by_address = format!("addr:{address}");
        if self.failures(&by_email, since).await? >= FAILURES_PER_EMAIL
            || self.failures(&by_address, since).await? >= FAILURES_PER_ADDRESS
        {
            return Err(ConsoleError::TooManyAttempts);
        }
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM console_users WHERE email = $1"
        ))
        .bind(&email)
        .fetch_optional(&self.pool)
        .await?;
        let stored: Option<(User, String)> = match row {
            Some(r) => {
                let hash: Option<String> = r.try_get("password_hash")?;
                hash.map(|h| user_from_row(&r).map(|u| (u, h)))
                    .transpose()?
            }
            None => None,
        };
        // An unknown user still costs one argon2 verification, so timing does not say
        // which addresses have accounts.
        let (user, hash) = match stored {
            Some((u, h)) => (Some(u), h),
            None => (None, password::decoy_hash().to_owned()),
        };
        let ok = password::verify(password.to_owned(), hash).await?;
        match user {
            Some(u) if ok => {
                sqlx::query("DELETE FROM console_login_failures WHERE subject = $1")
                    .bind(&by_email)
                    .execute(&self.pool)
                    .await?;
                Ok(u)
            }
            _ => {
                for subject in [&by_email, &by_address] {
                    sqlx::query(
                        "INSERT INTO console_login_failures (subject, at_us) VALUES ($1, $2)",
                    )
                    .bind(subject)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                }
                sqlx::query("DELETE FROM console_login_failures WHERE at_us < $1")
                    .bind(since)
                    .execute(&self.pool)
                    .await?;
                Err(ConsoleError::BadCredentials)
            }
        }
    }

    async fn failures(&self, subject: &str, since: i64) -> Result<i64, ConsoleError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM console_login_failures WHERE subject = $1 AND at_us >= $2",
        )
        .bind(subject)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Starts a session; returns the cookie's token (shown to the browser only).
    pub async fn start_session(&self, user: &User) -> Result<String, ConsoleError> {
        let token = random_token();
        let now = now_us();
        sqlx::query(
            "INSERT INTO console_sessions (token_hash, user_id, csrf, created_us, last_seen_us)
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(hash_token(&token))
        .bind(user.id)
        .bind(random_token())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(token)
    }

    /// The session of a cookie's token, if it is still valid; refreshes its idle clock.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, ConsoleError> {
        let now = now_us();
        let token_hash = hash_token(token);
        let row = sqlx::query(
            "SELECT s.csrf, s.created_us AS s_created, s.last_seen_us,
                    u.id, u.account_id, u.email, u.password_hash, u.operator, u.created_us
             FROM console_sessions s JOIN console_users u ON u.id = s.user_id
             WHERE s.token_hash = $1",
        )
        .bind(&token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let created: i64 = row.try_get("s_created")?;
        let last_seen: i64 = row.try_get("last_seen_us")?;
        if now - last_seen > IDLE_TIMEOUT_US || now - created > ABSOLUTE_TIMEOUT_US {
            self.end_session_hash(&token_hash).await?;
            return Ok(None);
        }
        if now - last_seen > TOUCH_EVERY_US {
            sqlx::query("UPDATE console_sessions SET last_seen_us = $1 WHERE token_hash = $2")
                .bind(now)
                .bind(&token_hash)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(Session {
            user: user_from_row(&row)?,
            csrf: row.try_get("csrf")?,
            token_hash,
        }))
    }

    async fn end_session_hash(&self, token_hash: &str) -> Result<(), ConsoleError> {
        sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Signs this browser out.
    pub async fn end_session(&self, session: &Session) -> Result<(), ConsoleError> {
        self.end_session_hash(&session.token_hash).await
    }

    /// Signs the user out on every browser.
    pub async fn end_all_sessions(&self, user_id: i64) -> Result<u64, ConsoleError> {
        let done = sqlx::query("DELETE FROM console_sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Records an operator's write.
    pub async fn audit(
        &self,
        by: &User,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), ConsoleError> {
        sqlx::query(
            "INSERT INTO console_audit (at_us, user_id, email, action, target, detail)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(now_us())
        .bind(by.id)
        .bind(&by.email)
        .bind(action)
        .bind(target)
        .bind(detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, ConsoleError> {
        let rows = sqlx::query(
            "SELECT at_us, email, action, target, detail FROM console_audit
             ORDER BY at_us DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at_us: r.try_get("at_us")?,
                    email: r.try_get("email")?,
                    action: r.try_get("action")?,
                    target: r.try_get("target")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}

//! Password hashing: argon2id with the crate's default parameters (19 MiB, 2 passes), run
//! off the async threads because each hash takes tens of milliseconds on purpose.

use std::sync::OnceLock;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::error::ConsoleError;

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 10;

pub fn check_strength(password: &str) -> Result<(), ConsoleError> {
    if password.chars().count() < MIN_LENGTH {
        return Err(ConsoleError::WeakPassword);
    }
    if password.chars().any(char::is_control) {
        return Err(ConsoleError::WeakPassword);
    }
    Ok(())
}

fn hash_now(password: &str) -> Result<String, ConsoleError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ConsoleError::Internal(format!("hashing a password: {e}")))
}

pub async fn hash(password: String) -> Result<String, ConsoleError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| ConsoleError::Internal(format!("hashing task: {e}")))?
}

/// True when `password` matches the PHC string `hash`; a malformed stored hash is an
/// internal error, not a mismatch.
pub async fn verify(password: String, hash: String) -> Result<bool, ConsoleError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| ConsoleError::Internal(format!("stored password hash: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| ConsoleError::Internal(format!("verifying task: {e}")))?
}

/// A hash of a random password, verified against when the e-mail is unknown so that a
/// failed sign-in takes as long either way.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        hash_now(&crate::users::random_token()).unwrap_or_else(|_| {
            // A fixed, valid PHC string: the salt and hash of no one's password.
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$2GmEl4/4Tt3N8Sbi9xb0Nk6sKZw5o6JE4Jw3CmGm4xE".into()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), h.clone())
            .await
            .unwrap());
        assert!(!verify("correct horse batterz".into(), h).await.unwrap());
        assert!(!verify("x".into(), decoy_hash().to_owned()).await.unwrap());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_strength("short").is_err());
        assert!(check_strength("long enough now").is_ok());
    }
}

//! Person and face identifiers.
//!
//! A PersonId follows the server's IAI rule (English letters, digits and `-%@#&_`, 1 to
//! 64 bytes), so a person enrolled on a device can be enrolled under the same id on the
//! server. A FaceId is a random 19-digit number, like the server's FaceIds, so galleries
//! merged from several devices do not collide.

use std::fmt;
use std::str::FromStr;

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::OsRng;

use crate::error::{Field, LocalGalleryError, Result};

/// Longest PersonId, in bytes (the server's limit).
pub const MAX_PERSON_ID_BYTES: usize = 64;

/// A person's id, unique within a gallery.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersonId(String);

impl PersonId {
    /// Validates `s`: English letters, digits and `-%@#&_`, 1 to 64 bytes.
    pub fn new(s: impl Into<String>) -> Result<Self> {
        let s = s.into();
        if s.is_empty() || s.len() > MAX_PERSON_ID_BYTES {
            return Err(LocalGalleryError::FieldLength {
                field: Field::PersonId,
                len: s.len(),
                min: 1,
                max: MAX_PERSON_ID_BYTES,
            });
        }
        if let Some(ch) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-%@#&_".contains(*c)))
        {
            return Err(LocalGalleryError::FieldCharacter {
                field: Field::PersonId,
                ch,
            });
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PersonId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Smallest FaceId issued: every id has 19 decimal digits.
const FIRST_FACE_ID: u64 = 1_000_000_000_000_000_000;

/// A face's id, issued by the gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaceId(u64);

impl FaceId {
    /// A fresh random id in 10^18..2^63 (19 digits, fits a signed 64-bit integer).
    pub(crate) fn random() -> Result<Self> {
        let mut bytes = [0u8; 8];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| LocalGalleryError::Random(e.to_string()))?;
        let span = i64::MAX as u64 - FIRST_FACE_ID;
        Ok(Self(FIRST_FACE_ID + u64::from_le_bytes(bytes) % span))
    }

    /// Wraps a number read back from a gallery or given by the app.
    pub fn from_u64(n: u64) -> Self {
        Self(n)
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for FaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for FaceId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn person_ids_follow_the_server_rule() {
        assert!(PersonId::new("Ab9-%@#&_").is_ok());
        assert!(PersonId::new("x".repeat(64)).is_ok());
        assert!(matches!(
            PersonId::new("x".repeat(65)),
            Err(LocalGalleryError::FieldLength { len: 65, .. })
        ));
        assert!(matches!(
            PersonId::new(""),
            Err(LocalGalleryError::FieldLength { len: 0, .. })
        ));
        assert!(matches!(
            PersonId::new("a b"),
            Err(LocalGalleryError::FieldCharacter { ch: ' ', .. })
        ));
        assert!(matches!(
            PersonId::new("张三"),
            Err(LocalGalleryError::FieldCharacter { ch: '张', .. })
        ));
    }

    #[test]
    fn face_ids_are_19_digits_and_parse_back() {
        let id = FaceId::random().unwrap();
        assert_eq!(id.to_string().len(), 19);
        assert_eq!(id.to_string().parse::<FaceId>().unwrap(), id);
        assert_ne!(id, FaceId::random().unwrap());
    }
}

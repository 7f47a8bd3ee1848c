//! Identifiers and the syntax checks of the API's text fields.
//!
//! GroupId and PersonId: English letters, digits and `-%@#&_`, at most 64 bytes.
//! Names, tags and description field names: Chinese or English letters, digits, `-`
//! and `_` ("只支持中英文、-、_、数字"); we read "letters" as any Unicode letter.

use std::fmt;

use crate::error::{GalleryError, Result};
use crate::limits::{Field, MAX_ID_BYTES};

fn check_id(field: Field, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > MAX_ID_BYTES {
        return Err(GalleryError::FieldLength {
            field,
            len: s.len(),
            min: 1,
            max: MAX_ID_BYTES,
        });
    }
    match s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-%@#&_".contains(*c)))
    {
        Some(ch) => Err(GalleryError::FieldCharacter { field, ch }),
        None => Ok(()),
    }
}

/// Checks a name-like field: `min..=max` characters (not bytes) of printable text. The
/// API limits names only by length ("bars team", "O'Brien", "张三 (前台)" are names);
/// control characters are refused, since no name holds one and a terminal or log line
/// showing the name would obey it.
pub(crate) fn check_name(field: Field, s: &str, min: usize, max: usize) -> Result<()> {
    let len = s.chars().count();
    if len < min || len > max {
        return Err(GalleryError::FieldLength {
            field,
            len,
            min,
            max,
        });
    }
    match s.chars().find(|c| c.is_control()) {
        Some(ch) => Err(GalleryError::FieldCharacter { field, ch }),
        None => Ok(()),
    }
}

/// Checks a free-text field: only its length in characters.
pub(crate) fn check_length(field: Field, s: &str, min: usize, max: usize) -> Result<()> {
    let len = s.chars().count();
    if len < min || len > max {
        return Err(GalleryError::FieldLength {
            field,
            len,
            min,
            max,
        });
    }
    Ok(())
}

macro_rules! checked_id {
    ($(#[$doc:meta])* $name:ident, $field:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates `s` against the API's syntax for this identifier.
            pub fn new(s: impl Into<String>) -> Result<Self> {
                let s = s.into();
                check_id($field, &s)?;
                Ok(Self(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// For values read back from our own tables, which were checked on the way in.
            pub(crate) fn trusted(s: String) -> Self {
                Self(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

checked_id!(
    /// A person group's id, unique within an account.
    GroupId,
    Field::GroupId
);
checked_id!(
    /// A person's id, unique within an account (a person may be in several groups).
    PersonId,
    Field::PersonId
);

/// The tenant every row belongs to. Two accounts never see each other's data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(String);

impl AccountId {
    /// Any non-empty string of at most 128 bytes without control characters; the API
    /// derives it from the caller's key, never from request fields.
    pub fn new(s: impl Into<String>) -> Result<Self> {
        let s = s.into();
        check_length(Field::AccountId, &s, 1, 128)?;
        if s.len() > 128 {
            return Err(GalleryError::FieldLength {
                field: Field::AccountId,
                len: s.len(),
                min: 1,
                max: 128,
            });
        }
        if let Some(ch) = s.chars().find(|c| c.is_control()) {
            return Err(GalleryError::FieldCharacter {
                field: Field::AccountId,
                ch,
            });
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A face's id: assigned by the gallery (19 decimal digits, like the service's own),
/// unique within an account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaceId(String);

impl FaceId {
    pub(crate) fn generate() -> Self {
        // 10^18..(2^63-1): always 19 digits, never reused in practice (and the primary
        // key catches the rest).
        let n: u64 = rand::random_range(1_000_000_000_000_000_000..i64::MAX as u64);
        Self(n.to_string())
    }

    /// Wraps a FaceId that came from a request. Any string is accepted: an id that was
    /// never issued simply is not found.
    pub fn from_request(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub(crate) fn trusted(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_the_documented_characters() {
        assert!(GroupId::new("Ab9-%@#&_").is_ok());
        assert!(PersonId::new("x".repeat(64)).is_ok());
    }

    #[test]
    fn ids_refuse_other_characters_and_lengths() {
        match GroupId::new("a b") {
            Err(GalleryError::FieldCharacter { field, ch }) => {
                assert_eq!(field, Field::GroupId);
                assert_eq!(ch, ' ');
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            PersonId::new("x".repeat(65)),
            Err(GalleryError::FieldLength { len: 65, .. })
        ));
        assert!(matches!(
            PersonId::new(""),
            Err(GalleryError::FieldLength { len: 0, .. })
        ));
        assert!(matches!(
            GroupId::new("组"),
            Err(GalleryError::FieldCharacter { ch: '组', .. })
        ));
        assert!(matches!(
            PersonId::new("a/b"),
            Err(GalleryError::FieldCharacter { ch: '/', .. })
        ));
    }

    #[test]
    fn names_allow_chinese_and_count_characters() {
        assert!(check_name(Field::GroupName, "员工-库_1", 1, 60).is_ok());
        assert!(check_name(Field::GroupName, &"组".repeat(60), 1, 60).is_ok());
        assert!(matches!(
            check_name(Field::GroupName, &"组".repeat(61), 1, 60),
            Err(GalleryError::FieldLength { len: 61, .. })
        ));
        assert!(check_name(Field::GroupName, "bars team", 1, 60).is_ok());
        assert!(check_name(Field::PersonName, "O'Brien, J. (front desk)", 1, 60).is_ok());
        assert!(matches!(
            check_name(Field::GroupName, "a\u{1b}[2Jb", 1, 60),
            Err(GalleryError::FieldCharacter { ch: '\u{1b}', .. })
        ));
        assert!(matches!(
            check_name(Field::PersonName, "a\nb", 1, 60),
            Err(GalleryError::FieldCharacter { ch: '\n', .. })
        ));
        assert!(check_name(Field::Tag, "", 0, 40).is_ok());
    }

    #[test]
    fn face_ids_are_19_digits() {
        let id = FaceId::generate();
        assert_eq!(id.as_str().len(), 19);
        assert!(id.as_str().bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(id, FaceId::generate());
    }

    #[test]
    fn account_ids_refuse_control_characters() {
        assert!(AccountId::new("acct-1").is_ok());
        assert!(AccountId::new("").is_err());
        assert!(AccountId::new("a\nb").is_err());
    }
}

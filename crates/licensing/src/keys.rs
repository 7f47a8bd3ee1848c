//! Issuer keys: Ed25519 key pairs, their ids, and the ring the server rotates.
//!
//! A key id is the first 8 bytes of SHA-256(`"renlian issuer key id v1\0"` ‖ the 32-byte
//! public key), written as 16 lowercase hex digits. The server keeps the ring (secrets
//! encrypted at rest: this crate only hands out bytes); the SDK is built or initialised
//! with the public keys it trusts ([`crate::Verifier::new`]).

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::{hex, unhex};

/// 8 bytes naming a public key; see the module text for the derivation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub [u8; 8]);

/// Bad key material or a ring operation that would break the ring.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a key: {0}")]
    Malformed(String),
    #[error("no key {0} in the ring")]
    UnknownKey(KeyId),
    #[error("key {0} is the current signing key: rotate to a new key before retiring it")]
    RetireCurrent(KeyId),
    #[error("a key ring needs at least one key that is not retired")]
    NoCurrentKey,
    #[error("key {0} is in the ring twice")]
    Duplicate(KeyId),
}

impl KeyId {
    pub fn of(public: &[u8; 32]) -> KeyId {
        let mut h = Sha256::new();
        h.update(b"renlian issuer key id v1\0");
        h.update(public);
        let digest = h.finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        KeyId(id)
    }

    pub fn to_hex(self) -> String {
        hex(&self.0)
    }
}

impl FromStr for KeyId {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 16 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(KeyError::Malformed(
                "a key id is 16 lowercase hex digits".into(),
            ));
        }
        unhex::<8>(s)
            .map(KeyId)
            .ok_or_else(|| KeyError::Malformed("a key id is 16 lowercase hex digits".into()))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

/// A public key the SDK trusts.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    id: KeyId,
}

impl PublicKey {
    /// From the 32 bytes of an Ed25519 public key; weak (small-order) keys are refused.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| KeyError::Malformed("not an Ed25519 public key".into()))?;
        if key.is_weak() {
            return Err(KeyError::Malformed(
                "a weak (small-order) public key".into(),
            ));
        }
        Ok(PublicKey {
            key,
            id: KeyId::of(bytes),
        })
    }

    /// From 64 hex digits.
    pub fn from_hex(text: &str) -> Result<PublicKey, KeyError> {
        let bytes = unhex::<32>(text.trim())
            .ok_or_else(|| KeyError::Malformed("a public key is 64 hex digits".into()))?;
        PublicKey::from_bytes(&bytes)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// 64 lowercase hex digits: what an SDK build embeds.
    pub fn to_hex(&self) -> String {
        hex(&self.key.to_bytes())
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    pub(crate) fn verifying(&self) -> &VerifyingKey {
        &self.key
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} {})", self.id, self.to_hex())
    }
}

/// An issuer's key pair: signs licences and revocation lists. Its `Debug` shows the id
/// only; the secret leaves only through [`IssuerKey::secret_bytes`] / `secret_hex`.
#[derive(Clone)]
pub struct IssuerKey {
    key: SigningKey,
    id: KeyId,
}

impl IssuerKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> IssuerKey {
        IssuerKey::from_secret_bytes(&SigningKey::generate(&mut OsRng).to_bytes())
    }

    /// From the 32-byte Ed25519 secret (seed).
    pub fn from_secret_bytes(secret: &[u8; 32]) -> IssuerKey {
        let key = SigningKey::from_bytes(secret);
        let id = KeyId::of(&key.verifying_key().to_bytes());
        IssuerKey { key, id }
    }

    /// From 64 hex digits.
    pub fn from_secret_hex(text: &str) -> Result<IssuerKey, KeyError> {
        unhex::<32>(text.trim())
            .map(|b| IssuerKey::from_secret_bytes(&b))
            .ok_or_else(|| KeyError::Malformed("a secret key is 64 hex digits".into()))
    }

    /// The 32-byte secret: store it encrypted.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn secret_hex(&self) -> String {
        hex(&self.key.to_bytes())
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            key: self.key.verifying_key(),
            id: self.id,
        }
    }

    pub fn id(&self) -> KeyId {
        self.id
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IssuerKey({})", self.id)
    }
}

/// One key of a ring with its history.
#[derive(Debug, Clone)]
pub struct RingKey {
    pub key: IssuerKey,
    /// When it was created (Unix seconds).
    pub created: i64,
    /// When it was retired: from then on SDKs should no longer trust it.
    pub retired: Option<i64>,
}

/// The issuer's keys in order of creation. The current signing key is the newest key
/// not retired; older keys that are not retired still verify (SDKs keep trusting them);
/// retired keys are kept for the record only and are not in [`KeyRing::trusted`].
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: Vec<RingKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RingFile {
    keys: Vec<RingFileKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RingFileKey {
    secret: String,
    created: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retired: Option<i64>,
}

impl KeyRing {
    /// A ring with one freshly generated key (the issuer's first use).
    pub fn generate(now: i64) -> KeyRing {
        KeyRing {
            keys: vec![RingKey {
                key: IssuerKey::generate(),
                created: now,
                retired: None,
            }],
        }
    }

    /// From stored keys, in order of creation.
    pub fn from_keys(keys: Vec<RingKey>) -> Result<KeyRing, KeyError> {
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.key.id == k.key.id) {
                return Err(KeyError::Duplicate(k.key.id));
            }
        }
        let ring = KeyRing { keys };
        if ring.keys.iter().all(|k| k.retired.is_some()) {
            return Err(KeyError::NoCurrentKey);
        }
        Ok(ring)
    }

    pub fn keys(&self) -> &[RingKey] {
        &self.keys
    }

    /// The key that signs now.
    pub fn current(&self) -> &IssuerKey {
        // `from_keys`, `generate`, `rotate` and `retire` keep one key unretired.
        let last = self.keys.iter().rev().find(|k| k.retired.is_none());
        match last {
            Some(k) => &k.key,
            None => &self.keys[self.keys.len() - 1].key,
        }
    }

    /// A new key becomes the current one; the previous keys keep verifying. Returns the
    /// new key's id.
    pub fn rotate(&mut self, now: i64) -> KeyId {
        let key = IssuerKey::generate();
        let id = key.id;
        self.keys.push(RingKey {
            key,
            created: now,
            retired: None,
        });
        id
    }

    /// Stop trusting `id`. The current key cannot be retired (rotate first).
    pub fn retire(&mut self, id: KeyId, now: i64) -> Result<(), KeyError> {
        if self.current().id == id {
            return Err(KeyError::RetireCurrent(id));
        }
        let k = self
            .keys
            .iter_mut()
            .find(|k| k.key.id == id)
            .ok_or(KeyError::UnknownKey(id))?;
        k.retired.get_or_insert(now);
        Ok(())
    }

    /// The public keys an SDK should trust: every key not retired.
    pub fn trusted(&self) -> Vec<PublicKey> {
        self.keys
            .iter()
            .filter(|k| k.retired.is_none())
            .map(|k| k.key.public())
            .collect()
    }

    /// A verifier trusting [`KeyRing::trusted`].
    pub fn verifier(&self) -> crate::Verifier {
        crate::Verifier::new(self.trusted())
    }

    /// The ring as JSON bytes, secrets in hex: `{"keys":[{"secret":…,"created":…,
    /// "retired":…}]}`. Encrypt before storing.
    pub fn to_bytes(&self) -> Vec<u8> {
        let file = RingFile {
            keys: self
                .keys
                .iter()
                .map(|k| RingFileKey {
                    secret: k.key.secret_hex(),
                    created: k.created,
                    retired: k.retired,
                })
                .collect(),
        };
        serde_json::to_vec(&file).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<KeyRing, KeyError> {
        let file: RingFile = serde_json::from_slice(bytes)
            .map_err(|e| KeyError::Malformed(format!("key ring: {e}")))?;
        let keys = file
            .keys
            .into_iter()
            .map(|k| {
                Ok(RingKey {
                    key: IssuerKey::from_secret_hex(&k.secret)?,
                    created: k.created,
                    retired: k.retired,
                })
            })
            .collect::<Result<Vec<_>, KeyError>>()?;
        KeyRing::from_keys(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_derive_from_the_public_key() {
        let k = IssuerKey::from_secret_bytes(&[7; 32]);
        assert_eq!(k.id(), KeyId::of(&k.public().to_bytes()));
        assert_eq!(k.id().to_hex().parse::<KeyId>(), Ok(k.id()));
        assert!(k.id().to_hex().to_uppercase().parse::<KeyId>().is_err());
        assert_eq!(format!("{k:?}"), format!("IssuerKey({})", k.id()));
        let again = IssuerKey::from_secret_hex(&k.secret_hex()).map(|k| k.id());
        assert_eq!(again, Ok(k.id()));
        let public = PublicKey::from_hex(&k.public().to_hex());
        assert_eq!(public, Ok(k.public()));
        assert_ne!(IssuerKey::generate().id(), IssuerKey::generate().id());
    }

    #[test]
    fn weak_and_bad_public_keys_are_refused() {
        // The identity point is of small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(PublicKey::from_bytes(&identity).is_err());
        assert!(PublicKey::from_hex("zz").is_err());
    }

    #[test]
    fn ring_rotates_retires_and_round_trips() {
        let mut ring = KeyRing::generate(100);
        let first = ring.current().id();
        assert_eq!(ring.retire(first, 150), Err(KeyError::RetireCurrent(first)));
        let second = ring.rotate(200);
        assert_eq!(ring.current().id(), second);
        assert_eq!(ring.trusted().len(), 2);
        ring.retire(first, 300)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ring.trusted().iter().map(PublicKey::id).collect::<Vec<_>>(),
            [second]
        );
        let bytes = ring.to_bytes();
        let back = KeyRing::from_bytes(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.current().id(), second);
        assert_eq!(back.keys()[0].retired, Some(300));
        assert_eq!(back.keys()[1].created, 200);
        assert!(matches!(
            ring.retire(KeyId([0; 8]), 1),
            Err(KeyError::UnknownKey(_))
        ));
        let all_retired = vec![RingKey {
            key: IssuerKey::generate(),
            created: 1,
            retired: Some(2),
        }];
        assert!(matches!(
            KeyRing::from_keys(all_retired),
            Err(KeyError::NoCurrentKey)
        ));
        let k = IssuerKey::generate();
        let twice = vec![
            RingKey {
                key: k.clone(),
                created: 1,
                retired: None,
            },
            RingKey {
                key: k,
                created: 2,
                retired: None,
            },
        ];
        assert!(matches!(
            KeyRing::from_keys(twice),
            Err(KeyError::Duplicate(_))
        ));
    }
}

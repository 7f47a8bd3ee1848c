//! Revocation lists: signed by the issuer, numbered, cumulative.
//!
//! ```text
//! -----BEGIN RENLIAN REVOCATION LIST-----
//! v1.<key id>.<base64url(payload JSON)>.<base64url(signature)>
//! -----END RENLIAN REVOCATION LIST-----
//! ```
//!
//! Signed over `"renlian revocation list v1\n" ‖ key id ‖ "\n" ‖ payload` (another
//! prefix than a licence's, so neither can pass for the other). Payload:
//! `{"seq":N,"iat":T,"rev":[{"id":"L1"},{"id":"L2","gen":1}]}`. Each list holds every
//! revocation still in force: a device keeps only the newest list it has seen.

use serde::{Deserialize, Serialize};

use crate::keys::IssuerKey;
use crate::licence::{seal, IssueError, LicenceId};

pub(crate) const REVOCATION_LABEL: &str = "RENLIAN REVOCATION LIST";
pub(crate) const REVOCATION_DOMAIN: &[u8] = b"renlian revocation list v1\n";

/// One revoked licence: every generation, or those up to `up_to_generation` (a moved
/// seat keeps its licence id: the old device's generations are revoked, the new
/// device's higher generation is not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revoked {
    pub id: LicenceId,
    #[serde(rename = "gen", default, skip_serializing_if = "Option::is_none")]
    pub up_to_generation: Option<u32>,
}

impl Revoked {
    /// Every generation of `id`.
    pub fn all(id: LicenceId) -> Revoked {
        Revoked {
            id,
            up_to_generation: None,
        }
    }

    /// Generations 1 to `generation` of `id`.
    pub fn up_to(id: LicenceId, generation: u32) -> Revoked {
        Revoked {
            id,
            up_to_generation: Some(generation),
        }
    }

    pub fn covers(&self, id: &LicenceId, generation: u32) -> bool {
        self.id == *id && self.up_to_generation.is_none_or(|g| generation <= g)
    }
}

/// A revocation list's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationList {
    /// Sequence number: each list the issuer publishes has a higher one.
    pub seq: u64,
    /// When it was issued (server time, Unix seconds).
    #[serde(rename = "iat")]
    pub issued: i64,
    #[serde(rename = "rev")]
    pub revoked: Vec<Revoked>,
}

impl RevocationList {
    /// The entry that revokes generation `generation` of `id`, if any.
    pub fn find(&self, id: &LicenceId, generation: u32) -> Option<&Revoked> {
        self.revoked.iter().find(|r| r.covers(id, generation))
    }
}

/// A revocation list whose signature has been checked ([`crate::Verifier::open_revocation_list`]);
/// only such a list reaches a device's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRevocationList {
    pub(crate) list: RevocationList,
    pub(crate) key_id: crate::KeyId,
}

impl VerifiedRevocationList {
    pub fn list(&self) -> &RevocationList {
        &self.list
    }

    pub fn key_id(&self) -> crate::KeyId {
        self.key_id
    }
}

impl IssuerKey {
    /// The armoured, signed revocation list.
    pub fn sign_revocation_list(&self, list: &RevocationList) -> Result<String, IssueError> {
        let payload = serde_json::to_vec(list).map_err(|e| IssueError::Encode(e.to_string()))?;
        Ok(seal(self, REVOCATION_LABEL, REVOCATION_DOMAIN, &payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_cover_generations() {
        let id = LicenceId::new("L").unwrap_or_else(|e| panic!("{e}"));
        let other = LicenceId::new("M").unwrap_or_else(|e| panic!("{e}"));
        assert!(Revoked::all(id.clone()).covers(&id, 9));
        assert!(!Revoked::all(id.clone()).covers(&other, 1));
        let moved = Revoked::up_to(id.clone(), 2);
        assert!(moved.covers(&id, 1) && moved.covers(&id, 2) && !moved.covers(&id, 3));
        let list = RevocationList {
            seq: 3,
            issued: 10,
            revoked: vec![moved],
        };
        assert_eq!(
            serde_json::to_string(&list).unwrap_or_default(),
            r#"{"seq":3,"iat":10,"rev":[{"id":"L","gen":2}]}"#
        );
        assert!(list.find(&id, 2).is_some() && list.find(&id, 3).is_none());
    }
}

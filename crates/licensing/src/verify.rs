//! Offline verification: the signature over the exact bytes first, then the claims
//! against this device, its clock and what it has seen.

use std::collections::BTreeMap;

use ed25519_dalek::Signature;

use crate::catalogue::Feature;
use crate::fingerprint::Fingerprint;
use crate::keys::{KeyId, PublicKey};
use crate::licence::{
    signed_message, split_envelope, Binding, CertDigest, Claims, Envelope, EnvelopeError, Licence,
    LicenceId, PackageName, LICENCE_DOMAIN, LICENCE_LABEL,
};
use crate::revocation::{
    RevocationList, VerifiedRevocationList, REVOCATION_DOMAIN, REVOCATION_LABEL,
};
use crate::state::DeviceState;
use crate::time::{format_utc, CLOCK_TOLERANCE, DAY, EXPIRING_WINDOW};

/// Why a licence (or a revocation list) is refused: one variant per reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("{what} is malformed: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("{what} format {found} is not supported by this SDK (it reads v1): update the SDK")]
    UnsupportedVersion { what: &'static str, found: String },
    #[error("{what} is signed with key {key_id}, which this SDK does not trust (an unknown or retired key)")]
    UnknownKey { what: &'static str, key_id: KeyId },
    #[error("{what} signature does not match its contents: the file was altered or damaged")]
    BadSignature { what: &'static str },
    #[error("licence is not valid before {}", format_utc(*not_before))]
    NotYetValid { not_before: i64 },
    #[error("device clock reads {}, before the licence was issued ({}): set the clock", format_utc(*now), format_utc(*issued))]
    ClockBeforeIssue { now: i64, issued: i64 },
    #[error("device clock reads {}, more than 48 hours before the latest time this device has seen ({}): the clock was set back; set it right", format_utc(*now), format_utc(*highest_seen))]
    ClockRolledBack { now: i64, highest_seen: i64 },
    #[error("licence expired at {}", format_utc(*expired))]
    Expired { expired: i64 },
    #[error("licence is bound to another device: {matched} of its {components} fingerprint components match this device, {required} needed")]
    WrongDevice {
        matched: usize,
        components: usize,
        required: usize,
    },
    #[error("licence is for app package {licensed}, not {found}")]
    WrongPackage {
        licensed: PackageName,
        found: PackageName,
    },
    #[error("licence is for {package} signed with certificate SHA-256 {licensed}; this app's certificate is {}", found.map_or_else(|| "unknown".to_owned(), |d| d.to_string()))]
    WrongCertificate {
        package: PackageName,
        licensed: CertDigest,
        found: Option<CertDigest>,
    },
    #[error("licence is bound to {needs}, and none was given to check it against")]
    NothingToBindTo { needs: &'static str },
    #[error("licence does not include feature {feature} ({})", feature.describe())]
    MissingFeature { feature: Feature },
    #[error("licence {id} (generation {generation}) is revoked by revocation list {seq}")]
    Revoked {
        id: LicenceId,
        generation: u32,
        seq: u64,
    },
    #[error("licence {id} generation {generation} is superseded: this device has seen generation {newest}")]
    Superseded {
        id: LicenceId,
        generation: u32,
        newest: u32,
    },
    #[error("revocation list {seq} is older than list {seen}, which this device has seen")]
    RevocationListOutdated { seq: u64, seen: u64 },
    #[error("revocation list {seq} differs from the list {seq} this device has seen")]
    RevocationListConflict { seq: u64 },
}

/// The running app, as the SDK's Android layer reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub package: PackageName,
    /// SHA-256 of the APK's signing certificate, when the SDK could read it.
    pub certificate: Option<CertDigest>,
}

/// What a licence is checked against: this device's fingerprint, the running app, or
/// both (an Android SDK gives both; which one counts depends on the licence's kind).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    pub device: Option<Fingerprint>,
    pub app: Option<App>,
}

impl Subject {
    pub fn device(fingerprint: Fingerprint) -> Subject {
        Subject {
            device: Some(fingerprint),
            app: None,
        }
    }

    pub fn app(app: App) -> Subject {
        Subject {
            device: None,
            app: Some(app),
        }
    }
}

/// Everything one verification looks at besides the licence text.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The device clock, Unix seconds.
    pub now: i64,
    pub subject: &'a Subject,
    /// Features the caller is about to use; each must be licensed.
    pub features: &'a [Feature],
    /// What this device has seen (clock, revocations, generations).
    pub state: &'a DeviceState,
}

/// How a valid licence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Valid; `days_left` is `None` for a permanent licence.
    Valid { days_left: Option<u32> },
    /// Valid, and expiring within 30 days.
    Expiring { days_left: u32 },
}

/// A licence that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    licence: Licence,
    status: Status,
    checked_at: i64,
}

impl Verified {
    pub fn licence(&self) -> &Licence {
        &self.licence
    }

    pub fn claims(&self) -> &Claims {
        &self.licence.claims
    }

    pub fn status(&self) -> Status {
        self.status
    }

    /// What the licence grants.
    pub fn features(&self) -> &[Feature] {
        &self.licence.claims.features
    }

    /// The time the checks used: the later of the clock and the highest time seen.
    pub fn checked_at(&self) -> i64 {
        self.checked_at
    }
}

/// Verifies licences and revocation lists against the public keys it trusts.
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    keys: BTreeMap<KeyId, PublicKey>,
}

const LICENCE: &str = "licence";
const LIST: &str = "revocation list";

impl Verifier {
    pub fn new(keys: impl IntoIterator<Item = PublicKey>) -> Verifier {
        Verifier {
            keys: keys.into_iter().map(|k| (k.id(), k)).collect(),
        }
    }

    /// From public keys in hex (as an SDK build embeds them).
    pub fn from_hex<S: AsRef<str>>(keys: &[S]) -> Result<Verifier, crate::KeyError> {
        let keys = keys
            .iter()
            .map(|k| PublicKey::from_hex(k.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Verifier::new(keys))
    }

    pub fn trusts(&self, id: KeyId) -> bool {
        self.keys.contains_key(&id)
    }

    pub fn key_ids(&self) -> impl Iterator<Item = KeyId> + '_ {
        self.keys.keys().copied()
    }

    /// Checks the envelope and signature of a `label` block and returns the signed
    /// payload bytes.
    fn open_envelope(
        &self,
        what: &'static str,
        label: &str,
        domain: &[u8],
        text: &str,
    ) -> Result<(KeyId, Vec<u8>), VerifyError> {
        let Envelope {
            key_id,
            payload,
            signature,
        } = split_envelope(label, text).map_err(|e| match e {
            EnvelopeError::Malformed(reason) => VerifyError::Malformed { what, reason },
            EnvelopeError::Version(found) => VerifyError::UnsupportedVersion { what, found },
        })?;
        let key = self
            .keys
            .get(&key_id)
            .ok_or(VerifyError::UnknownKey { what, key_id })?;
        key.verifying()
            .verify_strict(
                &signed_message(domain, key_id, &payload),
                &Signature::from_bytes(&signature),
            )
            .map_err(|_| VerifyError::BadSignature { what })?;
        Ok((key_id, payload))
    }

    /// The licence's claims once its signature checks, without any device check (for
    /// showing a licence, or on the server).
    pub fn open(&self, text: &str) -> Result<Licence, VerifyError> {
        let (key_id, payload) = self.open_envelope(LICENCE, LICENCE_LABEL, LICENCE_DOMAIN, text)?;
        let claims: Claims =
            serde_json::from_slice(&payload).map_err(|e| VerifyError::Malformed {
                what: LICENCE,
                reason: format!("claims: {e}"),
            })?;
        claims.check().map_err(|e| VerifyError::Malformed {
            what: LICENCE,
            reason: e.to_string(),
        })?;
        Ok(Licence { claims, key_id })
    }

    /// A revocation list once its signature checks; hand it to
    /// [`DeviceState::accept_revocation_list`].
    pub fn open_revocation_list(&self, text: &str) -> Result<VerifiedRevocationList, VerifyError> {
        let (key_id, payload) =
            self.open_envelope(LIST, REVOCATION_LABEL, REVOCATION_DOMAIN, text)?;
        let list: RevocationList =
            serde_json::from_slice(&payload).map_err(|e| VerifyError::Malformed {
                what: LIST,
                reason: format!("content: {e}"),
            })?;
        Ok(VerifiedRevocationList { list, key_id })
    }

    /// Verifies a licence file for this device now. Checks, in order: format, version,
    /// key, signature, claims; revoked; superseded; clock set back; clock before issue;
    /// binding (device or app); not yet valid; expired; features. Pure: record the
    /// result with [`DeviceState::record`] (or use [`crate::DeviceStore::check`]).
    pub fn verify(&self, text: &str, cx: &Context<'_>) -> Result<Verified, VerifyError> {
        let licence = self.open(text)?;
        let c = &licence.claims;
        if let Some(seq) = cx.state.revoked(&c.id, c.generation) {
            return Err(VerifyError::Revoked {
                id: c.id.clone(),
                generation: c.generation,
                seq,
            });
        }
        if let Some(newest) = cx.state.generation(&c.id) {
            if c.generation < newest {
                return Err(VerifyError::Superseded {
                    id: c.id.clone(),
                    generation: c.generation,
                    newest,
                });
            }
        }
        let highest = cx.state.highest_seen();
        if cx.now < highest.saturating_sub(CLOCK_TOLERANCE) {
            return Err(VerifyError::ClockRolledBack {
                now: cx.now,
                highest_seen: highest,
            });
        }
        if cx.now < c.issued.saturating_sub(CLOCK_TOLERANCE) {
            return Err(VerifyError::ClockBeforeIssue {
                now: cx.now,
                issued: c.issued,
            });
        }
        check_binding(c, cx.subject)?;
        let at = cx.now.max(highest);
        // The same tolerance as for the issue time: a clock a little slow is no refusal.
        if at < c.not_before.saturating_sub(CLOCK_TOLERANCE) {
            return Err(VerifyError::NotYetValid {
                not_before: c.not_before,
            });
        }
        let status = match c.expires {
            None => Status::Valid { days_left: None },
            Some(exp) if at >= exp => return Err(VerifyError::Expired { expired: exp }),
            Some(exp) => {
                let left = exp.saturating_sub(at);
                let days = u32::try_from(left.div_euclid(DAY) + i64::from(left % DAY != 0))
                    .unwrap_or(u32::MAX);
                if left <= EXPIRING_WINDOW {
                    Status::Expiring { days_left: days }
                } else {
                    Status::Valid {
                        days_left: Some(days),
                    }
                }
            }
        };
        if let Some(&feature) = cx.features.iter().find(|f| !c.has(**f)) {
            return Err(VerifyError::MissingFeature { feature });
        }
        Ok(Verified {
            licence,
            status,
            checked_at: at,
        })
    }
}

fn check_binding(c: &Claims, subject: &Subject) -> Result<(), VerifyError> {
    match &c.binding {
        Binding::Device(bound) => {
            let device = subject
                .device
                .as_ref()
                .ok_or(VerifyError::NothingToBindTo {
                    needs: "a device fingerprint",
                })?;
            let matched = bound.fingerprint.agreement(device);
            if matched < bound.required {
                return Err(VerifyError::WrongDevice {
                    matched,
                    components: bound.fingerprint.len(),
                    required: bound.required,
                });
            }
        }
        Binding::Platform(bound) => {
            let app = subject.app.as_ref().ok_or(VerifyError::NothingToBindTo {
                needs: "an app package",
            })?;
            if app.package != bound.package {
                return Err(VerifyError::WrongPackage {
                    licensed: bound.package.clone(),
                    found: app.package.clone(),
                });
            }
            if let Some(licensed) = bound.certificate {
                if app.certificate != Some(licensed) {
                    return Err(VerifyError::WrongCertificate {
                        package: bound.package.clone(),
                        licensed,
                        found: app.certificate,
                    });
                }
            }
        }
    }
    Ok(())
}

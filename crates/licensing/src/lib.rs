//! Offline-SDK licensing: what a device runs to verify a licence with no network, and
//! the issuing primitives the server calls. Depends on nothing else of Renlian's; no
//! I/O but the device's state store ([`DeviceStore`]) and fingerprint collection
//! ([`Fingerprint::collect_linux`]). Times are `i64` Unix seconds, UTC.
//!
//! - [`catalogue`]: the six SDKs and their features, as data.
//! - [`keys`]: issuer key pairs, key ids, the rotating [`KeyRing`].
//! - [`licence`]: the claims and [`IssuerKey::issue`] (the signed, armoured file).
//! - [`fingerprint`]: device fingerprints (hashed components, k of n) and the device key.
//! - [`request`]: the activation request a device carries to the server.
//! - [`revocation`]: signed, numbered revocation lists.
//! - [`verify`]: the [`Verifier`], one [`VerifyError`] variant per reason for refusal.
//! - [`state`]: the device's tamper-evident memory (clock guard, newest revocation list,
//!   generations) in its data directory.
//! - [`time`]: the terms (trial, platform year, renewal) and the clock constants.
//!
//! `docs/licensing.md` defines the formats byte by byte.

pub mod catalogue;
mod codec;
pub mod fingerprint;
#[doc(hidden)]
pub mod fuzzing;
pub mod keys;
pub mod licence;
pub mod request;
pub mod revocation;
pub mod state;
pub mod time;
pub mod verify;

pub use catalogue::{Feature, Sdk, UnknownName};
pub use codec::MAX_TEXT;
pub use fingerprint::{default_required, Component, ComponentHash, DeviceKey, Fingerprint};
pub use keys::{IssuerKey, KeyError, KeyId, KeyRing, PublicKey, RingKey};
pub use licence::{
    Binding, CertDigest, Claims, DeviceBinding, IssueError, Licence, LicenceId, LicenceKind,
    PackageName, PlatformBinding,
};
pub use request::{ActivationRequest, RequestError};
pub use revocation::{RevocationList, Revoked, VerifiedRevocationList};
pub use state::{CheckError, DeviceState, DeviceStore, RevocationUpdate, StoreError};
pub use verify::{App, Context, Status, Subject, Verified, Verifier, VerifyError};

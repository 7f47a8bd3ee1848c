//! The licence gate: verified offline when the SDK opens, and again on use.
//!
//! Opening runs the device's whole check (`DeviceStore::check`: signature, binding,
//! validity, revocation, clock guard) and records what it saw. Each call then asks the
//! gate for its feature. A full check reads and may write the state file, so the gate
//! repeats it only when it could change the answer: every [`RECHECK_SECONDS`], when the
//! clock reaches the licence's expiry, and when the clock reads earlier than the last
//! check (set back). In between, a call costs a clock read and a feature lookup.

use std::path::Path;
use std::sync::Arc;

use licensing::{
    ActivationRequest, App, CertDigest, DeviceStore, Feature, Fingerprint, PackageName,
    RevocationUpdate, Status, Subject, Verified, Verifier,
};
use parking_lot::Mutex;

use crate::error::{Result, SdkError};

/// Seconds between full checks while the SDK is in use.
pub const RECHECK_SECONDS: i64 = 600;

/// Where the licence state (device key, highest time seen, revocations) lives inside the
/// SDK's data directory.
pub const STATE_DIR: &str = "licensing";

/// What this installation is, for the licence's binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// This Linux machine: machine-id, board serial or product UUID, and the device key
    /// kept in the data directory (2 of 3 must match the licence).
    LinuxDevice,
    /// An integrator's own device id string, bound 1 of 1 (the same hash
    /// `renlian license issue --device ID` puts in the licence).
    DeviceId(String),
    /// An Android device, as the JVM layer reads it (`None` where unreadable), and the
    /// running app for platform licences.
    Android {
        android_id: Option<String>,
        serial: Option<String>,
        app: Option<AppIdentity>,
    },
    /// An app, for a platform licence (package name and signing certificate).
    App(AppIdentity),
}

/// The running app: package name and the SHA-256 of its signing certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppIdentity {
    pub package: String,
    /// 64 hex digits (colons allowed), when the certificate could be read.
    pub certificate_sha256: Option<String>,
}

/// The clock the licence is checked against, Unix seconds. The system clock in use;
/// tests set their own to walk a licence to its expiry.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}

/// A summary of the licence in force, for the app to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceInfo {
    pub id: String,
    pub sdk: licensing::Sdk,
    pub kind: licensing::LicenceKind,
    pub features: Vec<Feature>,
    /// Unix seconds; `None` for a permanent licence.
    pub expires: Option<i64>,
    pub status: Status,
}

/// The licence, its verifier and the device's state store.
#[derive(Debug)]
pub(crate) struct LicenceGate {
    verifier: Verifier,
    store: DeviceStore,
    text: String,
    subject: Subject,
    clock: Arc<dyn Clock>,
    last: Mutex<Checked>,
}

#[derive(Debug, Clone)]
struct Checked {
    verified: Verified,
    /// When the last full check passed.
    at: i64,
    /// The latest clock reading any call has seen: a reading before it means the clock
    /// went back, and only a full check (against the state's highest time) may answer.
    latest: i64,
    /// The last full check failed, or a new revocation list came: every call checks
    /// in full until one passes.
    recheck: bool,
}

impl LicenceGate {
    /// Opens the state store in `data_dir`, accepts `revocations` if given, and runs the
    /// full check.
    pub(crate) fn open(
        verifier: Verifier,
        data_dir: &Path,
        licence: String,
        identity: &Identity,
        revocations: Option<&str>,
        clock: Arc<dyn Clock>,
    ) -> Result<LicenceGate> {
        let store = DeviceStore::open(data_dir.join(STATE_DIR))?;
        if let Some(list) = revocations {
            store.accept_revocation_list(&verifier, list)?;
        }
        let subject = subject(identity, &store)?;
        let verified = store.check(&verifier, &licence, clock.now(), &subject, &[])?;
        let at = verified.checked_at();
        Ok(LicenceGate {
            verifier,
            store,
            text: licence,
            subject,
            clock,
            last: Mutex::new(Checked {
                verified,
                at,
                latest: at,
                recheck: false,
            }),
        })
    }

    /// Refuses unless the licence is in force now and grants `feature`.
    pub(crate) fn require(&self, feature: Feature) -> Result<()> {
        if self.with_current(|v| v.features().contains(&feature))? {
            Ok(())
        } else {
            Err(SdkError::FeatureNotLicensed { feature })
        }
    }

    /// Refuses unless the licence is in force now and grants one of `features`.
    pub(crate) fn require_any(&self, features: &[Feature]) -> Result<Feature> {
        self.with_current(|v| features.iter().copied().find(|f| v.features().contains(f)))?
            .ok_or_else(|| SdkError::NoneOfFeatures {
                needs: features
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Whether the licence grants `feature` (no check of validity: for deciding what to
    /// load).
    pub(crate) fn grants(&self, feature: Feature) -> bool {
        self.last.lock().verified.features().contains(&feature)
    }

    /// Runs `f` on the licence in force, re-checked in full when due. Every inference
    /// call comes through here: `f` borrows the cached check, so nothing is copied.
    fn with_current<R>(&self, f: impl FnOnce(&Verified) -> R) -> Result<R> {
        let now = self.clock.now();
        let mut last = self.last.lock();
        let expires = last.verified.claims().expires;
        let due = last.recheck
            || now < last.latest
            || now - last.at >= RECHECK_SECONDS
            || expires.is_some_and(|exp| now >= exp);
        last.latest = last.latest.max(now);
        if due {
            match self
                .store
                .check(&self.verifier, &self.text, now, &self.subject, &[])
            {
                Ok(verified) => {
                    last.verified = verified;
                    last.at = now;
                    last.recheck = false;
                }
                Err(e) => {
                    last.recheck = true;
                    return Err(e.into());
                }
            }
        }
        Ok(f(&last.verified))
    }

    pub(crate) fn info(&self) -> Result<LicenceInfo> {
        self.with_current(|verified| {
            let claims = verified.claims();
            LicenceInfo {
                id: claims.id.as_str().to_owned(),
                sdk: claims.sdk,
                kind: claims.kind,
                features: claims.features.clone(),
                expires: claims.expires,
                status: verified.status(),
            }
        })
    }

    /// Verifies and keeps a newer revocation list; the licence is checked against it at
    /// once.
    pub(crate) fn accept_revocation_list(&self, list: &str) -> Result<RevocationUpdate> {
        let update = self.store.accept_revocation_list(&self.verifier, list)?;
        // The next use checks against the new list.
        self.last.lock().recheck = true;
        Ok(update)
    }
}

/// The licensing subject of `identity`, with this data directory's device key.
fn subject(identity: &Identity, store: &DeviceStore) -> Result<Subject> {
    let key = store.device_key();
    Ok(match identity {
        Identity::LinuxDevice => Subject::device(Fingerprint::collect_linux(key)),
        Identity::DeviceId(id) => Subject::device(device_id_fingerprint(id)?),
        Identity::Android {
            android_id,
            serial,
            app,
        } => Subject {
            device: Some(Fingerprint::android(
                android_id.as_deref(),
                serial.as_deref(),
                key,
            )),
            app: app.as_ref().map(app_of).transpose()?,
        },
        Identity::App(app) => Subject::app(app_of(app)?),
    })
}

fn device_id_fingerprint(id: &str) -> Result<Fingerprint> {
    if id.trim().is_empty() {
        return Err(SdkError::InvalidArgument("the device id is empty".into()));
    }
    Ok(Fingerprint::from_device_id(id))
}

fn app_of(app: &AppIdentity) -> Result<App> {
    let package = PackageName::new(app.package.clone())
        .map_err(|e| SdkError::InvalidArgument(format!("app package: {e}")))?;
    let certificate = app
        .certificate_sha256
        .as_deref()
        .map(|hex| {
            hex.parse::<CertDigest>()
                .map_err(|e| SdkError::InvalidArgument(format!("certificate SHA-256: {e}")))
        })
        .transpose()?;
    Ok(App {
        package,
        certificate,
    })
}

/// The activation request this installation sends to get a device licence: the first
/// step of the licence lifecycle, before any licence exists. Creates the device key in
/// `data_dir` on first use (the same key [`crate::FaceSdk::open`] later binds to).
pub fn activation_request(
    data_dir: &Path,
    identity: &Identity,
    sdk: licensing::Sdk,
    label: Option<String>,
) -> Result<String> {
    let store = DeviceStore::open(data_dir.join(STATE_DIR))?;
    let device = subject(identity, &store)?.device.ok_or_else(|| {
        SdkError::InvalidArgument(
            "an app identity has no device to activate: platform licences are issued per app"
                .into(),
        )
    })?;
    let request = ActivationRequest::new(sdk, device, label)
        .map_err(|e| SdkError::InvalidArgument(format!("activation request: {e}")))?;
    Ok(request.to_text())
}

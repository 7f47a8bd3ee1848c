//! What a device remembers between runs, kept tamper-evident in the SDK's data
//! directory: the highest time it has seen (the clock guard), the newest revocation
//! list, and the highest generation of each licence id.
//!
//! Files in the data directory:
//! - `device.key`: the device key, 64 hex digits and a newline (created at activation);
//! - `licensing.state`: `renlian device state v1\n` ‖ JSON ‖ `\n` ‖ MAC (64 hex) ‖ `\n`,
//!   the MAC being HMAC-SHA256 over the first two parts (header line included) with the
//!   key HMAC-SHA256(device key, `"renlian device state v1"`).
//!
//! Both are written atomically (temporary file, fsync, rename, fsync of the directory).
//! A state file that fails its MAC is an error, never a reset; so is a state file
//! without its key, or a key without its state file.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::catalogue::Feature;
use crate::codec::{hex, unhex, MAX_TEXT};
use crate::fingerprint::DeviceKey;
use crate::licence::LicenceId;
use crate::revocation::{Revoked, VerifiedRevocationList};
use crate::verify::{Context, Subject, Verified, Verifier, VerifyError};

const HEADER: &str = "renlian device state v1\n";
const KEY_FILE: &str = "device.key";
const STATE_FILE: &str = "licensing.state";

/// The device state store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: the licensing state was altered or damaged ({reason}); restore it, or delete it together with device.key and activate again", path.display())]
    Tampered { path: PathBuf, reason: &'static str },
    #[error("{}: the licensing state is missing while the device key exists; restore it, or delete device.key too and activate again", path.display())]
    StateMissing { path: PathBuf },
    #[error("{}: the device key is missing while the licensing state exists; restore it, or delete licensing.state too and activate again", path.display())]
    KeyMissing { path: PathBuf },
    #[error("{}: not a device key (64 hex digits expected)", path.display())]
    BadKey { path: PathBuf },
}

/// [`DeviceStore::check`] failed: the store, or the licence.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Licence(#[from] VerifyError),
}

/// The newest revocation list a device has accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeenList {
    seq: u64,
    #[serde(rename = "iat")]
    issued: i64,
    #[serde(rename = "rev")]
    revoked: Vec<Revoked>,
}

/// What a device has seen. Every value only grows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceState {
    /// Highest time seen (device clock readings, and the issue times of licences and
    /// lists it accepted).
    #[serde(rename = "seen")]
    highest_seen: i64,
    #[serde(rename = "rl", default, skip_serializing_if = "Option::is_none")]
    revocations: Option<SeenList>,
    /// Highest generation seen per licence id.
    #[serde(rename = "gen", default)]
    generations: BTreeMap<LicenceId, u32>,
}

/// What accepting a revocation list did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationUpdate {
    /// The list is newer than any seen: it is now the one that counts.
    Updated { seq: u64 },
    /// This very list was seen already.
    Unchanged { seq: u64 },
}

impl DeviceState {
    pub fn highest_seen(&self) -> i64 {
        self.highest_seen
    }

    /// Sequence number of the newest revocation list seen.
    pub fn revocation_seq(&self) -> Option<u64> {
        self.revocations.as_ref().map(|l| l.seq)
    }

    /// Highest generation seen of licence `id`.
    pub fn generation(&self, id: &LicenceId) -> Option<u32> {
        self.generations.get(id).copied()
    }

    /// The sequence number of the list that revokes generation `generation` of `id`.
    pub fn revoked(&self, id: &LicenceId, generation: u32) -> Option<u64> {
        let list = self.revocations.as_ref()?;
        list.revoked
            .iter()
            .any(|r| r.covers(id, generation))
            .then_some(list.seq)
    }

    /// Notes a clock reading (a later one raises the highest time seen; an earlier one
    /// is ignored). Returns whether anything changed.
    pub fn observe(&mut self, now: i64) -> bool {
        if now > self.highest_seen {
            self.highest_seen = now;
            true
        } else {
            false
        }
    }

    /// Notes a licence that verified: its generation supersedes lower ones of its id,
    /// and its issue time counts as a time seen. Returns whether anything changed.
    pub fn record(&mut self, verified: &Verified) -> bool {
        let c = verified.claims();
        let mut changed = self.observe(c.issued.max(verified.checked_at()));
        let newest = self.generations.entry(c.id.clone()).or_insert(0);
        if c.generation > *newest {
            *newest = c.generation;
            changed = true;
        }
        changed
    }

    /// Takes a verified revocation list: a newer one replaces the one kept (and its issue
    /// time counts as a time seen), the same one again changes nothing, an older one or
    /// a different list with the same number is refused.
    pub fn accept_revocation_list(
        &mut self,
        verified: &VerifiedRevocationList,
    ) -> Result<RevocationUpdate, VerifyError> {
        let list = verified.list();
        if let Some(seen) = &self.revocations {
            if list.seq < seen.seq {
                return Err(VerifyError::RevocationListOutdated {
                    seq: list.seq,
                    seen: seen.seq,
                });
            }
            if list.seq == seen.seq {
                return if list.issued == seen.issued && list.revoked == seen.revoked {
                    Ok(RevocationUpdate::Unchanged { seq: list.seq })
                } else {
                    Err(VerifyError::RevocationListConflict { seq: list.seq })
                };
            }
        }
        self.revocations = Some(SeenList {
            seq: list.seq,
            issued: list.issued,
            revoked: list.revoked.clone(),
        });
        self.observe(list.issued);
        Ok(RevocationUpdate::Updated { seq: list.seq })
    }

    /// The state file's bytes, MAC'd with `key`.
    pub fn encode(&self, key: &DeviceKey) -> Vec<u8> {
        let json = serde_json::to_string(self).unwrap_or_default();
        let mut text = String::with_capacity(HEADER.len() + json.len() + 66);
        text.push_str(HEADER);
        text.push_str(&json);
        let mac = mac(key, text.as_bytes());
        text.push('\n');
        text.push_str(&hex(&mac));
        text.push('\n');
        text.into_bytes()
    }

    /// Reads state file bytes; any change to them is [`Tampered`](StoreError::Tampered)
    /// (`path` only names the file in the error).
    pub fn decode(bytes: &[u8], key: &DeviceKey, path: &Path) -> Result<DeviceState, StoreError> {
        let tampered = |reason| StoreError::Tampered {
            path: path.to_owned(),
            reason,
        };
        if bytes.len() > 4 * MAX_TEXT * 64 {
            return Err(tampered("too large"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| tampered("not text"))?;
        let rest = text
            .strip_prefix(HEADER)
            .ok_or(tampered("unknown header"))?;
        let rest = rest.strip_suffix('\n').ok_or(tampered("truncated"))?;
        let (json, mac_hex) = rest.rsplit_once('\n').ok_or(tampered("no MAC"))?;
        let given = unhex::<32>(mac_hex).ok_or(tampered("no MAC"))?;
        let mut m = mac_for(key);
        m.update(HEADER.as_bytes());
        m.update(json.as_bytes());
        m.verify_slice(&given)
            .map_err(|_| tampered("MAC mismatch"))?;
        serde_json::from_str(json).map_err(|_| tampered("content"))
    }
}

fn mac_for(key: &DeviceKey) -> Hmac<Sha256> {
    let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    derive.update(b"renlian device state v1");
    let state_key = derive.finalize().into_bytes();
    <Hmac<Sha256> as Mac>::new_from_slice(&state_key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

fn mac(key: &DeviceKey, message: &[u8]) -> [u8; 32] {
    let mut m = mac_for(key);
    m.update(message);
    m.finalize().into_bytes().into()
}

/// Whether the state file at `path` holds the blank state, its MAC unchecked.
fn blank(path: &Path) -> bool {
    let Ok(text) = fs::read_to_string(path) else {
        return false;
    };
    let json = text
        .strip_prefix(HEADER)
        .and_then(|r| r.strip_suffix('\n'))
        .and_then(|r| r.rsplit_once('\n'))
        .map(|(json, _)| json);
    json.and_then(|j| serde_json::from_str::<DeviceState>(j).ok()) == Some(DeviceState::default())
}

/// The SDK's data directory: the device key and the state file.
#[derive(Debug)]
pub struct DeviceStore {
    dir: PathBuf,
    key: DeviceKey,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to a new temporary file beside `path` and fsyncs it; returns its path.
fn write_temp(path: &Path, bytes: &[u8]) -> Result<PathBuf, StoreError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per process and call: two threads saving at once never share a file.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io_err(&tmp))?;
    file.write_all(bytes).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    Ok(tmp)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Temp file, fsync, rename over `path`, fsync of the directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = write_temp(path, bytes)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path)(e));
    }
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

impl DeviceStore {
    /// Opens the data directory `dir` (created if missing). The first open generates
    /// the device key and writes an empty state; later opens read the key.
    pub fn open(dir: impl Into<PathBuf>) -> Result<DeviceStore, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let key_path = dir.join(KEY_FILE);
        let state_path = dir.join(STATE_FILE);
        let key = match fs::read_to_string(&key_path) {
            Ok(text) => DeviceKey::from_hex(&text).ok_or(StoreError::BadKey {
                path: key_path.clone(),
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // A blank state without a key is what a first open leaves when it stops
                // between its two writes: nothing is lost by starting again.
                if state_path.exists() && !blank(&state_path) {
                    return Err(StoreError::KeyMissing { path: key_path });
                }
                return DeviceStore::create(dir, &key_path, &state_path);
            }
            Err(e) => return Err(io_err(&key_path)(e)),
        };
        if !state_path.exists() {
            return Err(StoreError::StateMissing { path: state_path });
        }
        Ok(DeviceStore { dir, key })
    }

    fn create(dir: PathBuf, key_path: &Path, state_path: &Path) -> Result<DeviceStore, StoreError> {
        let key = DeviceKey::generate();
        // The blank state first, then the key (the commit point): a stop in between
        // leaves a blank state without a key, which the next open starts again from.
        write_atomic(state_path, &DeviceState::default().encode(&key))?;
        // No-clobber: when a concurrent first open linked its key first, that key wins
        // and the blank state is rewritten for it (unless it already holds more).
        let tmp = write_temp(key_path, format!("{}\n", key.to_hex()).as_bytes())?;
        let linked = fs::hard_link(&tmp, key_path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                sync_dir(&dir)?;
                Ok(DeviceStore { dir, key })
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(key_path).map_err(io_err(key_path))?;
                let key = DeviceKey::from_hex(&text).ok_or(StoreError::BadKey {
                    path: key_path.to_owned(),
                })?;
                let store = DeviceStore { dir, key };
                if store.load().is_err() && blank(state_path) {
                    store.save(&DeviceState::default())?;
                }
                Ok(store)
            }
            Err(e) => Err(io_err(key_path)(e)),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn device_key(&self) -> &DeviceKey {
        &self.key
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    pub fn load(&self) -> Result<DeviceState, StoreError> {
        let path = self.state_path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::StateMissing { path })
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        DeviceState::decode(&bytes, &self.key, &path)
    }

    pub fn save(&self, state: &DeviceState) -> Result<(), StoreError> {
        write_atomic(&self.state_path(), &state.encode(&self.key))
    }

    /// Load, verify, record, save: the device's whole check of a licence. The clock
    /// reading is recorded even when the licence is refused (so an expired trial stays
    /// expired when the clock is set back), unless it was refused for a clock set back.
    pub fn check(
        &self,
        verifier: &Verifier,
        licence: &str,
        now: i64,
        subject: &Subject,
        features: &[Feature],
    ) -> Result<Verified, CheckError> {
        let mut state = self.load()?;
        let result = verifier.verify(
            licence,
            &Context {
                now,
                subject,
                features,
                state: &state,
            },
        );
        let mut changed = match &result {
            Err(VerifyError::ClockRolledBack { .. }) => false,
            _ => state.observe(now),
        };
        if let Ok(verified) = &result {
            changed |= state.record(verified);
        }
        if changed {
            self.save(&state)?;
        }
        Ok(result?)
    }

    /// Verifies and keeps a revocation list.
    pub fn accept_revocation_list(
        &self,
        verifier: &Verifier,
        list: &str,
    ) -> Result<RevocationUpdate, CheckError> {
        let verified = verifier.open_revocation_list(list)?;
        let mut state = self.load()?;
        let update = state.accept_revocation_list(&verified)?;
        if matches!(update, RevocationUpdate::Updated { .. }) {
            self.save(&state)?;
        }
        Ok(update)
    }
}

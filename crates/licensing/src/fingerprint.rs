//! Device fingerprints: three slots, each a SHA-256 of one component's value, matched k
//! of n.
//!
//! | slot | Linux | Android |
//! |------|-------|---------|
//! | `os` | `/etc/machine-id` (else `/var/lib/dbus/machine-id`) | `ANDROID_ID` |
//! | `hw` | `/sys/class/dmi/id/board_serial`, else `product_uuid` | the serial (`Build.getSerial()`) |
//! | `dk` | the device key in the SDK's data directory | the same |
//!
//! A component's hash is SHA-256(`"renlian fingerprint v1\0"` ‖ component name ‖ `"\0"`
//! ‖ value), the component names being `machine-id`, `board-serial`, `product-uuid`,
//! `android-id`, `android-serial`, `device-key`. Values are trimmed (ids and UUIDs also
//! lowercased); an unreadable or placeholder value (`To be filled by O.E.M.`, all zeros,
//! `unknown`…) leaves its slot empty. MAC addresses are never used.

use std::fmt;
use std::fs;
use std::path::Path;

use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::{b64_32, hex, unhex};

/// Where one component value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    MachineId,
    BoardSerial,
    ProductUuid,
    AndroidId,
    AndroidSerial,
    DeviceKey,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Component::MachineId => "machine-id",
            Component::BoardSerial => "board-serial",
            Component::ProductUuid => "product-uuid",
            Component::AndroidId => "android-id",
            Component::AndroidSerial => "android-serial",
            Component::DeviceKey => "device-key",
        }
    }

    /// SHA-256 of the value with this component's domain prefix.
    pub fn hash(self, value: &[u8]) -> ComponentHash {
        let mut h = Sha256::new();
        h.update(b"renlian fingerprint v1\0");
        h.update(self.as_str().as_bytes());
        h.update(b"\0");
        h.update(value);
        ComponentHash(h.finalize().into())
    }
}

/// The hash of one component.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ComponentHash(#[serde(with = "b64_32")] pub [u8; 32]);

impl fmt::Debug for ComponentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}…", hex(&self.0[..6]))
    }
}

/// A device's fingerprint: up to three component hashes, one per slot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fingerprint {
    /// Operating-system install id: machine-id / ANDROID_ID.
    #[serde(rename = "os", default, skip_serializing_if = "Option::is_none")]
    pub system: Option<ComponentHash>,
    /// Hardware serial: board serial or product UUID / Android serial.
    #[serde(rename = "hw", default, skip_serializing_if = "Option::is_none")]
    pub hardware: Option<ComponentHash>,
    /// The device key generated at activation.
    #[serde(rename = "dk", default, skip_serializing_if = "Option::is_none")]
    pub device_key: Option<ComponentHash>,
}

/// The random key an SDK generates at activation and keeps in its data directory: one
/// fingerprint component, and the root of the state file's MAC key.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceKey([u8; 32]);

impl DeviceKey {
    pub fn generate() -> DeviceKey {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        DeviceKey(key)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> DeviceKey {
        DeviceKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hex digits (the key file's content, less its newline).
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    pub fn from_hex(text: &str) -> Option<DeviceKey> {
        unhex::<32>(text.trim()).map(DeviceKey)
    }

    /// This key's fingerprint component.
    pub fn component(&self) -> ComponentHash {
        Component::DeviceKey.hash(&self.0)
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceKey(…)")
    }
}

/// Values that identify nothing: firmware placeholders and bogus constants.
fn placeholder(value: &str) -> bool {
    const JUNK: [&str; 14] = [
        "",
        "none",
        "null",
        "unknown",
        "n/a",
        "na",
        "default string",
        "to be filled by o.e.m.",
        "not specified",
        "not applicable",
        "system serial number",
        "base board serial number",
        "0123456789",
        // The ANDROID_ID that many Android 2.2 devices share.
        "9774d56d682e549c",
    ];
    let v = value.to_ascii_lowercase();
    JUNK.contains(&v.as_str())
        || v.chars().all(|c| matches!(c, '0' | '-' | ' ' | '.'))
        || v.chars().all(|c| matches!(c, 'f' | '-'))
}

fn component(kind: Component, value: Option<&str>, lowercase: bool) -> Option<ComponentHash> {
    let v = value?.trim();
    if placeholder(v) {
        return None;
    }
    if lowercase {
        Some(kind.hash(v.to_ascii_lowercase().as_bytes()))
    } else {
        Some(kind.hash(v.as_bytes()))
    }
}

fn read(path: &Path) -> Option<String> {
    // A few hundred bytes at most; more is not an id.
    let bytes = fs::read(path).ok()?;
    if bytes.len() > 512 {
        return None;
    }
    String::from_utf8(bytes).ok()
}

impl Fingerprint {
    /// From raw Linux values (`None` where unreadable). The hardware slot takes the board
    /// serial, or the product UUID when the serial is missing or a placeholder.
    pub fn linux(
        machine_id: Option<&str>,
        board_serial: Option<&str>,
        product_uuid: Option<&str>,
        key: &DeviceKey,
    ) -> Fingerprint {
        Fingerprint {
            system: component(Component::MachineId, machine_id, true),
            hardware: component(Component::BoardSerial, board_serial, false)
                .or_else(|| component(Component::ProductUuid, product_uuid, true)),
            device_key: Some(key.component()),
        }
    }

    /// From raw Android values, collected by the SDK's JVM layer (`None` where
    /// unreadable: the serial needs a privileged permission on recent Android).
    pub fn android(android_id: Option<&str>, serial: Option<&str>, key: &DeviceKey) -> Fingerprint {
        Fingerprint {
            system: component(Component::AndroidId, android_id, true),
            hardware: component(Component::AndroidSerial, serial, false),
            device_key: Some(key.component()),
        }
    }

    /// An integrator's own device id string: its hash is the only component (the
    /// device-key slot), so a licence is bound 1 of 1 to exactly that string (trimmed).
    pub fn from_device_id(id: &str) -> Fingerprint {
        Fingerprint {
            device_key: Some(Component::DeviceKey.hash(id.trim().as_bytes())),
            ..Fingerprint::default()
        }
    }

    /// Reads this Linux machine's components.
    pub fn collect_linux(key: &DeviceKey) -> Fingerprint {
        Fingerprint::collect_linux_under(Path::new("/"), key)
    }

    /// [`Fingerprint::collect_linux`] with the files looked up under `root` (tests).
    pub fn collect_linux_under(root: &Path, key: &DeviceKey) -> Fingerprint {
        let machine_id = read(&root.join("etc/machine-id"))
            .filter(|v| !placeholder(v.trim()))
            .or_else(|| read(&root.join("var/lib/dbus/machine-id")));
        let dmi = root.join("sys/class/dmi/id");
        Fingerprint::linux(
            machine_id.as_deref(),
            read(&dmi.join("board_serial")).as_deref(),
            read(&dmi.join("product_uuid")).as_deref(),
            key,
        )
    }

    /// How many slots hold a component.
    pub fn len(&self) -> usize {
        self.slots().iter().filter(|s| s.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many slots hold the same component in both.
    pub fn agreement(&self, other: &Fingerprint) -> usize {
        self.slots()
            .iter()
            .zip(other.slots())
            .filter(|(a, b)| a.is_some() && *a == b)
            .count()
    }

    fn slots(&self) -> [Option<ComponentHash>; 3] {
        [self.system, self.hardware, self.device_key]
    }
}

/// How many components must agree by default for a fingerprint of `n`: 2 of 3 (one
/// changed component is accepted, two are refused), both of 2, the only one of 1.
pub fn default_required(n: usize) -> usize {
    match n {
        0 | 1 => n,
        2 => 2,
        n => n - 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_leave_the_slot_empty() {
        let key = DeviceKey::from_bytes([1; 32]);
        let fp = Fingerprint::linux(
            Some("0000000000000000"),
            Some("To be filled by O.E.M."),
            Some("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"),
            &key,
        );
        assert_eq!((fp.system, fp.hardware, fp.len()), (None, None, 1));
        let fp = Fingerprint::android(Some("9774d56d682e549c"), Some("unknown"), &key);
        assert_eq!(fp.len(), 1);
    }

    #[test]
    fn hashes_are_domain_separated_and_normalised() {
        assert_ne!(
            Component::BoardSerial.hash(b"x"),
            Component::ProductUuid.hash(b"x")
        );
        let key = DeviceKey::from_bytes([2; 32]);
        let a = Fingerprint::linux(Some("ABCDEF0123\n"), None, Some(" 4C4C4544-0042 "), &key);
        let b = Fingerprint::linux(Some("abcdef0123"), Some(""), Some("4c4c4544-0042"), &key);
        assert_eq!(a, b);
        assert_eq!(a.agreement(&b), 3);
        // The product UUID stands in only when the serial is unusable.
        let c = Fingerprint::linux(Some("abcdef0123"), Some("S1"), Some("4c4c4544-0042"), &key);
        assert_eq!(c.agreement(&a), 2);
        assert_eq!(key.component(), Component::DeviceKey.hash(&[2; 32]));
        assert_eq!(DeviceKey::from_hex(&key.to_hex()), Some(key));
    }

    #[test]
    fn empty_slots_never_agree() {
        let empty = Fingerprint::default();
        assert_eq!(empty.agreement(&empty), 0);
        assert!(empty.is_empty());
    }

    #[test]
    fn default_k() {
        assert_eq!([0, 1, 2, 3].map(default_required), [0, 1, 2, 2]);
    }

    #[test]
    fn collects_from_a_fake_root() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path();
        let dmi = root.join("sys/class/dmi/id");
        fs::create_dir_all(root.join("etc")).unwrap_or_else(|e| panic!("{e}"));
        fs::create_dir_all(&dmi).unwrap_or_else(|e| panic!("{e}"));
        fs::write(root.join("etc/machine-id"), "0123abcd\n").unwrap_or_else(|e| panic!("{e}"));
        fs::write(dmi.join("product_uuid"), "UUID-1\n").unwrap_or_else(|e| panic!("{e}"));
        let key = DeviceKey::from_bytes([3; 32]);
        let fp = Fingerprint::collect_linux_under(root, &key);
        assert_eq!(
            fp,
            Fingerprint::linux(Some("0123abcd"), None, Some("uuid-1"), &key)
        );
        assert_eq!(fp.len(), 3);
    }
}

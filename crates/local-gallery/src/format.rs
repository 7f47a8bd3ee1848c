//! The bytes on disk, shared by the gallery log and exports (docs/local-gallery.md
//! describes them byte by byte): a 92-byte header with a sealed key check, then
//! frames of one sealed record each.
//!
//! Every record is sealed with AES-256-GCM under the app's key, with a fresh random
//! 96-bit nonce and the file's random id and the record's position as associated
//! data, so a record cannot be altered, moved within a file or carried to another file
//! unnoticed. Each frame also carries an unkeyed CRC-32: a frame whose checksum fails
//! was never completely written (a torn append), one whose checksum holds but which does
//! not authenticate was altered.

use std::io::{self, Read};

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::error::{LocalGalleryError, Result, Source};

pub(crate) const MAGIC: [u8; 8] = *b"RLGALLRY";
pub(crate) const VERSION: u16 = 1;
pub(crate) const HEADER_LEN: usize = 92;
/// The newest descriptor version a file may record (the `vision` crate's).
pub(crate) const MAX_DESCRIPTOR_VERSION: u8 = 2;
/// What the key check seals: exactly 32 bytes.
const KEY_CHECK: &[u8; 32] = b"renlian-local-gallery-key-check!";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
pub(crate) const FRAME_HEAD: usize = 8;
/// Shortest body: nonce, a two-byte record (flags and op), tag.
const MIN_BODY: usize = NONCE_LEN + 2 + TAG_LEN;
/// Longest body. The largest record (a face with a 64-byte person id, a 60-character
/// name and a 1024-byte tag) seals to under 2 KiB; the bound lets a torn tail be told
/// from a damaged length field.
pub(crate) const MAX_BODY: usize = 4096;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Gallery = 1,
    Export = 2,
}

impl Kind {
    fn source(self) -> Source {
        match self {
            Self::Gallery => Source::Gallery,
            Self::Export => Source::Export,
        }
    }
}

/// A file's random id: part of every record's associated data.
pub(crate) type FileId = [u8; 16];

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| LocalGalleryError::Random(e.to_string()))?;
    Ok(bytes)
}

/// The app's key, ready to seal and open.
pub(crate) struct Sealer(Aes256Gcm);

impl Sealer {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        Self(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)))
    }

    /// A new file's header: fresh file id, sealed key check, and the version of the
    /// descriptors the file holds (byte 11: 0 for version 1, as every file written before
    /// the byte was used reads, else the version).
    pub(crate) fn header(&self, kind: Kind, descriptor_version: u8) -> Result<(Vec<u8>, FileId)> {
        let file_id: FileId = random()?;
        let nonce: [u8; NONCE_LEN] = random()?;
        let mut h = Vec::with_capacity(HEADER_LEN);
        h.extend_from_slice(&MAGIC);
        h.extend_from_slice(&VERSION.to_le_bytes());
        h.push(kind as u8);
        h.push(if descriptor_version <= 1 {
            0
        } else {
            descriptor_version
        });
        h.extend_from_slice(&file_id);
        let sealed = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: KEY_CHECK,
                    aad: &h,
                },
            )
            .map_err(|_| LocalGalleryError::Seal)?;
        h.extend_from_slice(&nonce);
        h.extend_from_slice(&sealed);
        let crc = crc32fast::hash(&h);
        h.extend_from_slice(&crc.to_le_bytes());
        debug_assert_eq!(h.len(), HEADER_LEN);
        Ok((h, file_id))
    }

    /// Checks a header read from a file of `kind` and returns its file id and the version
    /// of the descriptors it holds.
    pub(crate) fn check_header(&self, h: &[u8], kind: Kind) -> Result<(FileId, u8)> {
        let what = kind.source();
        let not_ours = |reason: String| LocalGalleryError::NotRecognised { what, reason };
        if h.len() < HEADER_LEN {
            return Err(not_ours(format!(
                "{} bytes, shorter than a header",
                h.len()
            )));
        }
        if h[..8] != MAGIC {
            return Err(not_ours("no gallery magic".into()));
        }
        let version = u16::from_le_bytes([h[8], h[9]]);
        if version != VERSION {
            return Err(not_ours(format!("format version {version}")));
        }
        let crc = u32::from_le_bytes([h[88], h[89], h[90], h[91]]);
        if crc != crc32fast::hash(&h[..88]) {
            return Err(LocalGalleryError::Corrupt {
                what,
                offset: 0,
                reason: "header checksum mismatch".into(),
            });
        }
        if h[10] != kind as u8 {
            return Err(not_ours(format!("file kind {}", h[10])));
        }
        let descriptor_version = match h[11] {
            0 => 1,
            v if v <= MAX_DESCRIPTOR_VERSION => v,
            v => return Err(not_ours(format!("descriptor version {v}"))),
        };
        let opened = self
            .0
            .decrypt(
                Nonce::from_slice(&h[28..40]),
                Payload {
                    msg: &h[40..88],
                    aad: &h[..28],
                },
            )
            .map_err(|_| LocalGalleryError::WrongKey(what))?;
        if opened != KEY_CHECK {
            return Err(LocalGalleryError::WrongKey(what));
        }
        let mut file_id = [0u8; 16];
        file_id.copy_from_slice(&h[12..28]);
        Ok((file_id, descriptor_version))
    }

    /// Seals record number `seq` of a file into a frame.
    pub(crate) fn frame(&self, file_id: &FileId, seq: u64, plaintext: &[u8]) -> Result<Vec<u8>> {
        let nonce: [u8; NONCE_LEN] = random()?;
        let sealed = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad(file_id, seq),
                },
            )
            .map_err(|_| LocalGalleryError::Seal)?;
        let len = NONCE_LEN + sealed.len();
        if len > MAX_BODY {
            return Err(LocalGalleryError::Seal);
        }
        let mut f = Vec::with_capacity(FRAME_HEAD + len);
        f.extend_from_slice(&(len as u32).to_le_bytes());
        f.extend_from_slice(&[0; 4]);
        f.extend_from_slice(&nonce);
        f.extend_from_slice(&sealed);
        let crc = frame_crc(&f[..4], &f[FRAME_HEAD..]);
        f[4..8].copy_from_slice(&crc.to_le_bytes());
        Ok(f)
    }

    /// Opens the body of record number `seq`; None when it does not authenticate.
    pub(crate) fn open(&self, file_id: &FileId, seq: u64, body: &[u8]) -> Option<Vec<u8>> {
        let (nonce, sealed) = body.split_at(NONCE_LEN);
        self.0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad(file_id, seq),
                },
            )
            .ok()
    }
}

fn aad(file_id: &FileId, seq: u64) -> [u8; 24] {
    let mut a = [0u8; 24];
    a[..16].copy_from_slice(file_id);
    a[16..].copy_from_slice(&seq.to_le_bytes());
    a
}

fn frame_crc(len: &[u8], body: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len);
    h.update(body);
    h.finalize()
}

/// The next frame of a stream.
pub(crate) enum FrameRead {
    /// A complete frame with a correct checksum: its body.
    Body(Vec<u8>),
    /// The stream ended exactly at a frame boundary.
    End,
    /// The stream ends inside a frame: what a torn append leaves.
    Short(String),
    /// A length out of range or a checksum mismatch: damage.
    Bad(String),
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads the whole header of a stream (fewer bytes when the stream is shorter).
pub(crate) fn read_header<R: Read>(r: &mut R) -> io::Result<Vec<u8>> {
    let mut h = vec![0u8; HEADER_LEN];
    let n = read_up_to(r, &mut h)?;
    h.truncate(n);
    Ok(h)
}

pub(crate) fn read_frame<R: Read>(r: &mut R) -> io::Result<FrameRead> {
    let mut head = [0u8; FRAME_HEAD];
    let n = read_up_to(r, &mut head)?;
    if n == 0 {
        return Ok(FrameRead::End);
    }
    if n < FRAME_HEAD {
        return Ok(FrameRead::Short(format!("frame header of {n} bytes")));
    }
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if !(MIN_BODY..=MAX_BODY).contains(&len) {
        return Ok(FrameRead::Bad(format!("frame length {len} out of range")));
    }
    let mut body = vec![0u8; len];
    let n = read_up_to(r, &mut body)?;
    if n < len {
        return Ok(FrameRead::Short(format!(
            "frame ends after {n} of {len} bytes"
        )));
    }
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if crc != frame_crc(&head[..4], &body) {
        return Ok(FrameRead::Bad("frame checksum mismatch".into()));
    }
    Ok(FrameRead::Body(body))
}

/// Whether `bytes` holds, at any offset after the first, a complete frame with a
/// correct checksum. A torn append leaves a prefix of one frame, which holds none; a
/// damaged length field in front of intact frames does.
pub(crate) fn holds_a_later_frame(bytes: &[u8]) -> bool {
    (1..bytes.len()).any(|at| {
        let mut r = &bytes[at..];
        matches!(read_frame(&mut r), Ok(FrameRead::Body(_)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_opens_with_its_key_only() {
        let s = Sealer::new(&[7; 32]);
        let (h, id) = s.header(Kind::Gallery, 1).unwrap();
        assert_eq!(h.len(), HEADER_LEN);
        assert_eq!(
            h[11], 0,
            "version 1 is written as files before versions were"
        );
        assert_eq!(s.check_header(&h, Kind::Gallery).unwrap(), (id, 1));
        let (h2, id2) = s.header(Kind::Gallery, 2).unwrap();
        assert_eq!(s.check_header(&h2, Kind::Gallery).unwrap(), (id2, 2));
        assert!(matches!(
            Sealer::new(&[8; 32]).check_header(&h, Kind::Gallery),
            Err(LocalGalleryError::WrongKey(Source::Gallery))
        ));
        assert!(matches!(
            s.check_header(&h, Kind::Export),
            Err(LocalGalleryError::NotRecognised { .. })
        ));
        let mut bad = h.clone();
        bad[20] ^= 1;
        assert!(matches!(
            s.check_header(&bad, Kind::Gallery),
            Err(LocalGalleryError::Corrupt { offset: 0, .. })
        ));
    }

    #[test]
    fn frames_authenticate_their_position_and_file() {
        let s = Sealer::new(&[7; 32]);
        let id = [1u8; 16];
        let f = s.frame(&id, 3, b"\x01\x02hello").unwrap();
        let body = match read_frame(&mut &f[..]).unwrap() {
            FrameRead::Body(b) => b,
            _ => panic!("frame not read back"),
        };
        assert_eq!(s.open(&id, 3, &body).unwrap(), b"\x01\x02hello");
        assert!(s.open(&id, 4, &body).is_none());
        assert!(s.open(&[2u8; 16], 3, &body).is_none());
        // Cut short, or flipped: the checksum says so.
        assert!(matches!(
            read_frame(&mut &f[..f.len() - 1]).unwrap(),
            FrameRead::Short(_)
        ));
        let mut flipped = f.clone();
        flipped[20] ^= 4;
        assert!(matches!(
            read_frame(&mut &flipped[..]).unwrap(),
            FrameRead::Bad(_)
        ));
        // A prefix holds no later frame; garbage in front of a frame does.
        assert!(!holds_a_later_frame(&f[..f.len() - 3]));
        let mut shifted = vec![0xff, 0xff, 0xff];
        shifted.extend_from_slice(&f);
        assert!(holds_a_later_frame(&shifted));
    }
}

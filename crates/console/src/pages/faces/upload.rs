//! What an upload holds: a photo, or a zip of `person/photo.jpg` for enrolment. A zip is
//! read whole, with limits, before anything is enrolled: a hostile archive (a zip bomb,
//! a path leaving the archive, too many entries, something that is not a photo) is
//! refused cleanly and enrols nothing.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use axum::extract::multipart::Field;

/// Largest zip accepted (the upload routes' body limit is a little above it).
pub const MAX_ZIP_BYTES: usize = 20 * 1024 * 1024;
/// Most entries one zip may have, folders included.
pub const MAX_ZIP_ENTRIES: usize = 1000;
/// Largest photo once decompressed: the API's own image limit is 5 MB of base64.
pub const MAX_ENTRY_BYTES: u64 = 5 * 1024 * 1024;
/// Every entry together, decompressed: bounds the memory one upload holds. Photos do not
/// compress, so a real archive decompresses to about its own size.
pub const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;
/// A person holds at most five faces (the API's limit).
pub const MAX_PHOTOS_PER_PERSON: usize = 5;
/// Largest single photo read from a form: anything above is over the API's limit of
/// 5 MB of base64 anyway (the API itself refuses what is between).
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

/// Why an upload is refused. The messages are shown on the page as they are.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("the file is over {max} bytes")]
    TooLarge { max: usize },
    #[error("no file was chosen")]
    NoFile,
    #[error("the file is not a JPEG or PNG photo")]
    NotPhoto,
    #[error("not a readable zip file: {0}")]
    NotZip(String),
    #[error("the zip file has {0} entries; at most {MAX_ZIP_ENTRIES} are accepted")]
    TooManyEntries(usize),
    #[error("entry {0:?} leaves the archive's folder (\"..\" or an absolute path)")]
    Traversal(String),
    #[error("entry {0:?} is not a photo: only .jpg, .jpeg and .png files are accepted")]
    NotImage(String),
    #[error("entry {0:?}: photos go in one folder per person, as person/photo.jpg")]
    Layout(String),
    #[error("entry {0:?} is over {MAX_ENTRY_BYTES} bytes decompressed")]
    EntryTooLarge(String),
    #[error("the zip file decompresses to over {MAX_TOTAL_BYTES} bytes")]
    TotalTooLarge,
    #[error("entry {0:?} is encrypted")]
    Encrypted(String),
    #[error("entry {name:?} cannot be read: {reason}")]
    Entry { name: String, reason: String },
    #[error("folder {0:?} is not a valid PersonId (letters, digits and -%@#&_, at most 64 bytes)")]
    PersonId(String),
    #[error("person {person:?} has {count} photos; a person holds at most {MAX_PHOTOS_PER_PERSON} faces")]
    TooManyPhotos { person: String, count: usize },
    #[error("the zip file holds no photos")]
    Empty,
    #[error("the upload could not be read: {0}")]
    Form(String),
}

/// One photo of an upload.
#[derive(Debug, Clone)]
pub struct Photo {
    /// The file's name in the upload (for messages).
    pub name: String,
    pub bytes: Vec<u8>,
}

/// One person of an upload: PersonId, name, photos. In a zip, the folder name is both
/// the id and the name.
#[derive(Debug)]
pub struct PersonPhotos {
    pub person_id: String,
    pub name: String,
    pub photos: Vec<Photo>,
}

/// JPEG or PNG by their signatures: the only formats the page offers (the engine also
/// reads BMP, which a browser does not show inline reliably).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// Whether the bytes are a zip archive (a local file header first).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Reads a multipart field whole, refusing it past `max` bytes without reading on.
pub async fn read_field(field: &mut Field<'_>, max: usize) -> Result<Vec<u8>, UploadError> {
    let mut out = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| UploadError::Form(e.body_text()))?
    {
        if out.len() + chunk.len() > max {
            return Err(UploadError::TooLarge { max });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// What an entry's name means: a folder or junk to skip, or (person, file name).
fn entry_path(name: &str) -> Result<Option<(String, String)>, UploadError> {
    let traversal = || UploadError::Traversal(name.to_owned());
    if name.starts_with('/') || name.starts_with('\\') || name.contains('\0') {
        return Err(traversal());
    }
    // A drive letter ("C:…") is absolute on Windows.
    if name.as_bytes().get(1) == Some(&b':') {
        return Err(traversal());
    }
    let parts: Vec<&str> = name.split(['/', '\\']).collect();
    if parts.contains(&"..") {
        return Err(traversal());
    }
    // Folders, and what archivers add beside the photos (macOS resource forks, hidden
    // files such as .DS_Store), are not entries to enrol.
    if name.ends_with('/') || name.ends_with('\\') {
        return Ok(None);
    }
    if parts[0] == "__MACOSX" || parts.last().is_some_and(|f| f.starts_with('.')) {
        return Ok(None);
    }
    let parts: Vec<&str> = parts
        .into_iter()
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let [person, file] = parts[..] else {
        return Err(UploadError::Layout(name.to_owned()));
    };
    let lower = file.to_ascii_lowercase();
    if ![".jpg", ".jpeg", ".png"]
        .iter()
        .any(|ext| lower.ends_with(ext))
    {
        return Err(UploadError::NotImage(name.to_owned()));
    }
    Ok(Some((person.to_owned(), file.to_owned())))
}

/// The number of entries the archive's end-of-central-directory record declares (the
/// last one in the file; `u16::MAX` when the count is in a ZIP64 record instead).
fn declared_entries(bytes: &[u8]) -> Option<usize> {
    const EOCD: &[u8] = b"PK\x05\x06";
    const EOCD_LEN: usize = 22;
    let at = bytes
        .windows(EOCD.len())
        .rposition(|w| w == EOCD)
        .filter(|at| at + EOCD_LEN <= bytes.len())?;
    Some(usize::from(u16::from_le_bytes([
        bytes[at + 10],
        bytes[at + 11],
    ])))
}

/// Reads an enrolment zip: every photo, grouped by its top-level folder (the person),
/// folders in name order and photos in archive order. Any entry over a limit, outside
/// the layout or not a photo refuses the whole archive.
pub fn read_zip(bytes: &[u8]) -> Result<Vec<PersonPhotos>, UploadError> {
    if bytes.len() > MAX_ZIP_BYTES {
        return Err(UploadError::TooLarge { max: MAX_ZIP_BYTES });
    }
    // The count is read from the end record before the archive is opened: opening it
    // reads every entry's header into memory, which a 20 MiB file of empty entries
    // would make hundreds of thousands of.
    if let Some(n) = declared_entries(bytes).filter(|n| *n > MAX_ZIP_ENTRIES) {
        return Err(UploadError::TooManyEntries(n));
    }
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| UploadError::NotZip(e.to_string()))?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(UploadError::TooManyEntries(archive.len()));
    }
    let mut persons: BTreeMap<String, Vec<Photo>> = BTreeMap::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        // The name is checked before the entry is opened: an encrypted entry cannot be
        // opened without a password, but its name is still read.
        let Some(raw_name) = archive.name_for_index(i).map(str::to_owned) else {
            continue;
        };
        let Some((person, file)) = entry_path(&raw_name)? else {
            continue;
        };
        let entry = match archive.by_index(i) {
            Ok(e) => e,
            Err(zip::result::ZipError::UnsupportedArchive(m))
                if m == zip::result::ZipError::PASSWORD_REQUIRED =>
            {
                return Err(UploadError::Encrypted(raw_name))
            }
            Err(e) => {
                return Err(UploadError::Entry {
                    name: raw_name,
                    reason: e.to_string(),
                })
            }
        };
        if entry.encrypted() {
            return Err(UploadError::Encrypted(raw_name));
        }
        // The declared size first (cheap), then the real one: a header may lie.
        if entry.size() > MAX_ENTRY_BYTES {
            return Err(UploadError::EntryTooLarge(raw_name));
        }
        let mut data = Vec::new();
        entry
            .take(MAX_ENTRY_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| UploadError::Entry {
                name: raw_name.clone(),
                reason: e.to_string(),
            })?;
        if data.len() as u64 > MAX_ENTRY_BYTES {
            return Err(UploadError::EntryTooLarge(raw_name));
        }
        total += data.len() as u64;
        if total > MAX_TOTAL_BYTES {
            return Err(UploadError::TotalTooLarge);
        }
        if sniff(&data).is_none() {
            return Err(UploadError::NotImage(raw_name));
        }
        if gallery::PersonId::new(person.as_str()).is_err() {
            return Err(UploadError::PersonId(person));
        }
        persons.entry(person).or_default().push(Photo {
            name: format!(
                "{}/{file}",
                raw_name.split(['/', '\\']).next().unwrap_or("")
            ),
            bytes: data,
        });
    }
    if persons.is_empty() {
        return Err(UploadError::Empty);
    }
    if let Some((person, photos)) = persons
        .iter()
        .find(|(_, p)| p.len() > MAX_PHOTOS_PER_PERSON)
    {
        return Err(UploadError::TooManyPhotos {
            person: person.clone(),
            count: photos.len(),
        });
    }
    Ok(persons
        .into_iter()
        .map(|(person_id, photos)| PersonPhotos {
            name: person_id.clone(),
            person_id,
            photos,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];

    fn zip_of(entries: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, data) in entries {
            if name.ends_with('/') {
                w.add_directory(*name, options).unwrap();
            } else {
                w.start_file(*name, options).unwrap();
                w.write_all(data).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    fn stored(entries: &[(&str, &[u8])]) -> Vec<u8> {
        zip_of(entries, zip::CompressionMethod::Stored)
    }

    #[test]
    fn persons_come_from_the_top_folders() {
        let z = stored(&[
            ("ann/", b""),
            ("ann/1.jpg", JPEG),
            ("bob/a.JPEG", JPEG),
            ("ann/2.jpg", JPEG),
            ("__MACOSX/ann/._1.jpg", b"junk"),
            ("ann/.DS_Store", b"junk"),
        ]);
        let persons = read_zip(&z).unwrap();
        let names: Vec<(&str, usize)> = persons
            .iter()
            .map(|p| (p.person_id.as_str(), p.photos.len()))
            .collect();
        assert_eq!(names, [("ann", 2), ("bob", 1)]);
        assert_eq!(persons[0].photos[1].name, "ann/2.jpg");
    }

    #[test]
    fn hostile_names_are_refused() {
        for name in [
            "../evil.jpg",
            "ann/../../evil.jpg",
            "/etc/x.jpg",
            "C:/x/y.jpg",
            "a\\..\\b.jpg",
        ] {
            let err = read_zip(&stored(&[("ann/ok.jpg", JPEG), (name, JPEG)])).unwrap_err();
            assert!(matches!(err, UploadError::Traversal(_)), "{name}: {err}");
        }
        let err = read_zip(&stored(&[("top.jpg", JPEG)])).unwrap_err();
        assert!(matches!(err, UploadError::Layout(_)), "{err}");
        let err = read_zip(&stored(&[("a/b/c.jpg", JPEG)])).unwrap_err();
        assert!(matches!(err, UploadError::Layout(_)), "{err}");
        let err = read_zip(&stored(&[("ann/notes.txt", b"hello")])).unwrap_err();
        assert!(matches!(err, UploadError::NotImage(_)), "{err}");
        // The right extension on something else.
        let err = read_zip(&stored(&[("ann/fake.jpg", b"hello")])).unwrap_err();
        assert!(matches!(err, UploadError::NotImage(_)), "{err}");
        let err = read_zip(&stored(&[("ann b/1.jpg", JPEG)])).unwrap_err();
        assert!(matches!(err, UploadError::PersonId(_)), "{err}");
    }

    #[test]
    fn a_zip_bomb_is_refused_without_inflating_it() {
        // 6 MiB of zeros deflate to a few kilobytes.
        let mut big = JPEG.to_vec();
        big.resize(6 * 1024 * 1024, 0);
        let z = zip_of(&[("ann/big.jpg", &big)], zip::CompressionMethod::Deflated);
        assert!(z.len() < 100 * 1024, "{}", z.len());
        let err = read_zip(&z).unwrap_err();
        assert_eq!(err, UploadError::EntryTooLarge("ann/big.jpg".into()));
    }

    #[test]
    fn counts_and_sizes_are_limited() {
        let six: Vec<(String, &[u8])> = (0..6).map(|i| (format!("ann/{i}.jpg"), JPEG)).collect();
        let six: Vec<(&str, &[u8])> = six.iter().map(|(n, d)| (n.as_str(), *d)).collect();
        let err = read_zip(&stored(&six)).unwrap_err();
        assert!(
            matches!(err, UploadError::TooManyPhotos { count: 6, .. }),
            "{err}"
        );
        let many: Vec<String> = (0..=MAX_ZIP_ENTRIES).map(|i| format!("d{i}/")).collect();
        let many: Vec<(&str, &[u8])> = many.iter().map(|n| (n.as_str(), &b""[..])).collect();
        let z = stored(&many);
        assert_eq!(declared_entries(&z), Some(MAX_ZIP_ENTRIES + 1));
        let err = read_zip(&z).unwrap_err();
        assert_eq!(err, UploadError::TooManyEntries(MAX_ZIP_ENTRIES + 1));
        assert_eq!(
            read_zip(&stored(&[("ann/", b"")])).unwrap_err(),
            UploadError::Empty
        );
        assert!(matches!(
            read_zip(b"PK\x03\x04 not really"),
            Err(UploadError::NotZip(_))
        ));
    }
}

//! `rl_gallery`: the SDK's local gallery, encrypted at rest with the app's 32-byte key.

use std::ffi::c_char;

use sdk::Gallery;

use crate::error::{boundary, boundary_void, Error, Result};
use crate::ffi;
use crate::handle::{instance, rl_sdk};
use crate::results::rl_descriptor;

/// Bytes in a gallery key and an export key.
pub const RL_GALLERY_KEY_LEN: usize = 32;

/// A face found by `rl_gallery_search`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rl_search_hit {
    /// The person's id (1-64 bytes), NUL-terminated.
    pub person_id: [c_char; 65],
    pub face_id: u64,
    /// Euclidean distance between the descriptors.
    pub distance: f32,
    /// The API's score for that distance (0-100; `RL_SAME_PERSON_SCORE` and above: the
    /// same person).
    pub score: f64,
}

/// The local gallery of an SDK's data directory (opaque). One open gallery per data
/// directory at a time (the file is locked). Keeps its SDK alive on its own.
#[derive(Debug)]
pub struct rl_gallery {
    gallery: Gallery,
}

/// # Safety
/// `key` is null or points to 32 readable bytes.
unsafe fn key_of(key: *const u8, what: &str) -> Result<[u8; RL_GALLERY_KEY_LEN]> {
    // SAFETY: the caller's promise.
    let bytes = unsafe { ffi::bytes(key, RL_GALLERY_KEY_LEN, what) }?;
    bytes
        .try_into()
        .map_err(|_| Error::invalid(format!("{what} is not {RL_GALLERY_KEY_LEN} bytes")))
}

/// # Safety
/// `gallery` is null or a live gallery.
unsafe fn gallery_of<'a>(gallery: *const rl_gallery) -> Result<&'a Gallery> {
    // SAFETY: the caller's promise.
    Ok(&unsafe { ffi::input(gallery, "the gallery") }?.gallery)
}

/// Opens (or creates) the local gallery in the SDK's data directory with the app's
/// 32-byte key (`RL_E_GALLERY_KEY` for a wrong key).
///
/// # Safety
/// `sdk` is a live instance; `key` points to 32 readable bytes; `out` to writable memory
/// for one pointer.
#[no_mangle]
pub unsafe extern "C" fn rl_gallery_open(
    sdk: *const rl_sdk,
    key: *const u8,
    out: *mut *mut rl_gallery,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (sdk, key, out) = unsafe {
            (
                instance(sdk)?,
                key_of(key, "the gallery key")?,
                ffi::output(out, "out")?,
            )
        };
        let gallery = sdk.sdk.gallery(&key)?;
        out.write(Box::into_raw(Box::new(rl_gallery { gallery })));
        Ok(())
    })
}

/// Closes a gallery. Null is ignored.
///
/// # Safety
/// `gallery` is null or came from `rl_gallery_open` and is not used after this call.
#[no_mangle]
pub unsafe extern "C" fn rl_gallery_free(gallery: *mut rl_gallery) {
    boundary_void(|| {
        if !gallery.is_null() {
            // SAFETY: made by Box::into_raw in rl_gallery_open; given back once.
            drop(unsafe { Box::from_raw(gallery) });
        }
    })
}

/// Adds a face (its descriptor) to a person, creating the person on its first face;
/// `name` is null or a label for the face. `*face_id` receives the new face's id. Needs
/// `search`.
///
/// # Safety
/// `gallery` is a live gallery; `person_id` a NUL-terminated string; `descriptor` a valid
/// `rl_descriptor`; `name` null or a NUL-terminated string; `face_id` a writable
/// `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn rl_gallery_add(
    gallery: *const rl_gallery,
    person_id: *const c_char,
    descriptor: *const rl_descriptor,
    name: *const c_char,
    face_id: *mut u64,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (g, person, d, name, out) = unsafe {
            (
                gallery_of(gallery)?,
                ffi::text(person_id, "the person id")?,
                ffi::input(descriptor, "the descriptor")?,
                ffi::optional_text(name, "the name")?,
                ffi::output(face_id, "face_id")?,
            )
        };
        out.write(g.add(person, &d.values, name.map(str::to_owned), None)?);
        Ok(())
    })
}

/// The `top_k` faces nearest to `descriptor`, nearest first, with the API's scores. A list
/// output (`hits`, `capacity`, `count`). Needs `search`.
///
/// # Safety
/// `gallery` is a live gallery; `descriptor` a valid `rl_descriptor`; `hits` null (with
/// `capacity` 0) or `capacity` writable `rl_search_hit`s; `count` a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn rl_gallery_search(
    gallery: *const rl_gallery,
    descriptor: *const rl_descriptor,
    top_k: usize,
    hits: *mut rl_search_hit,
    capacity: usize,
    count: *mut usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (g, d, out) = unsafe {
            (
                gallery_of(gallery)?,
                ffi::input(descriptor, "the descriptor")?,
                ffi::list_output(hits, capacity, count, "hits")?,
            )
        };
        let found = g.search(&d.values, top_k)?;
        out.fill(found.iter().map(|h| rl_search_hit {
            person_id: ffi::fixed_text(&h.person_id),
            face_id: h.face_id,
            distance: h.distance,
            score: h.score,
        }));
        Ok(())
    })
}

/// Removes one face (its person goes with its last face).
///
/// # Safety
/// `gallery` is a live gallery.
#[no_mangle]
pub unsafe extern "C" fn rl_gallery_remove_face(gallery: *const rl_gallery, face_id: u64) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promise.
        unsafe { gallery_of(gallery) }?.remove_face(face_id)?;
        Ok(())
    })
}

/// Removes a person and its faces; `*removed` (may be null) receives how many faces went.
///
/// # Safety
/// `gallery` is a live gallery; `person_id` a NUL-terminated string; `removed` null or a
/// writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn rl_gallery_remove_person(
    gallery: *const rl_gallery,
    person_id: *const c_char,
    removed: *mut usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (g, person) = unsafe { (gallery_of(gallery)?, ffi::text(person_id, "the person id")?) };
        let n = g.remove_person(person)?;
        if !removed.is_null() {
            // SAFETY: the caller's promise.
            unsafe { ffi::output(removed, "removed") }?.write(n);
        }
        Ok(())
    })
}

/// Every person id, in order, one per line ("\n"-separated), by the string rule
/// (`buf`, `capacity`, `length`).
///
/// # Safety
/// `gallery` is a live gallery; `buf` null or `capacity` writable bytes; `length` null or
/// a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn rl_gallery_list(
    gallery: *const rl_gallery,
    buf: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let g = unsafe { gallery_of(gallery) }?;
        let text = g.list().join("\n");
        // SAFETY: the caller's promises.
        unsafe { ffi::text_output(&text, buf, capacity, length) }
    })
}

/// Writes every face to the file `path`, sealed under the 32-byte `export_key`
/// (docs/local-gallery.md, the export format); `*count` (may be null) receives how many.
///
/// # Safety
/// `gallery` is a live gallery; `path` a NUL-terminated UTF-8 path; `export_key` 32
/// readable bytes; `count` null or a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn rl_gallery_export_file(
    gallery: *const rl_gallery,
    path: *const c_char,
    export_key: *const u8,
    count: *mut usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (g, path, key) = unsafe {
            (
                gallery_of(gallery)?,
                ffi::text(path, "the export path")?,
                key_of(export_key, "the export key")?,
            )
        };
        let file = std::fs::File::create(path)
            .map_err(|e| Error::new(sdk::ErrorCode::Storage, format!("creating {path}: {e}")))?;
        let mut writer = std::io::BufWriter::new(file);
        let n = g.export(&mut writer, &key)?;
        std::io::Write::flush(&mut writer)
            .and_then(|()| writer.get_ref().sync_all())
            .map_err(|e| Error::new(sdk::ErrorCode::Storage, format!("writing {path}: {e}")))?;
        if !count.is_null() {
            // SAFETY: the caller's promise.
            unsafe { ffi::output(count, "count") }?.write(n);
        }
        Ok(())
    })
}

/// Reads an export file sealed under `export_key`, merging it in (`replace` 0) or
/// replacing the gallery (`replace` 1); all or nothing. `*total` (may be null) receives
/// the faces held afterwards. Needs `search`.
///
/// # Safety
/// `gallery` is a live gallery; `path` a NUL-terminated UTF-8 path; `export_key` 32
/// readable bytes; `total` null or a writable `size_t`.
#[no_mangle]
pub unsafe extern "C" fn rl_gallery_import_file(
    gallery: *const rl_gallery,
    path: *const c_char,
    export_key: *const u8,
    replace: i32,
    total: *mut usize,
) -> i32 {
    boundary(|| {
        // SAFETY: the caller's promises.
        let (g, path, key) = unsafe {
            (
                gallery_of(gallery)?,
                ffi::text(path, "the import path")?,
                key_of(export_key, "the export key")?,
            )
        };
        let file = std::fs::File::open(path)
            .map_err(|e| Error::new(sdk::ErrorCode::Storage, format!("opening {path}: {e}")))?;
        let imported = g.import(std::io::BufReader::new(file), &key, replace != 0)?;
        if !total.is_null() {
            // SAFETY: the caller's promise.
            unsafe { ffi::output(total, "total") }?.write(imported.total);
        }
        Ok(())
    })
}

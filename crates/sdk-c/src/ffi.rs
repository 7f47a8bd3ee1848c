//! Reading the caller's pointers and writing into the caller's buffers, each checked
//! (null, alignment, UTF-8) before use.

use std::ffi::{c_char, CStr};
use std::mem::MaybeUninit;

use crate::error::{Error, Result};

/// A NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is null or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::invalid(format!("{what} is null")));
    }
    // SAFETY: not null; the caller's promise for the rest.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map_err(|_| Error::invalid(format!("{what} is not UTF-8")))
}

/// Like [`text`], with null meaning "none".
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn optional_text<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: as the caller promised.
        unsafe { text(p, what) }.map(Some)
    }
}

/// `len` bytes at `p`; null is accepted only with `len` 0.
///
/// # Safety
/// `p` is null or points to `len` readable bytes that outlive `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8]> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Error::invalid(format!("{what} is null")))
        };
    }
    // SAFETY: not null, u8 needs no alignment; the caller's promise for the length.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A handle or input struct the caller passes in.
///
/// # Safety
/// `p` is null or points to a valid `T` that outlives `'a`.
pub(crate) unsafe fn input<'a, T>(p: *const T, what: &str) -> Result<&'a T> {
    if !p.is_aligned() {
        return Err(Error::invalid(format!("{what} is misaligned")));
    }
    // SAFETY: aligned; the caller's promise that a non-null pointer is valid.
    unsafe { p.as_ref() }.ok_or_else(|| Error::invalid(format!("{what} is null")))
}

/// A handle the caller passes in to change it.
///
/// # Safety
/// `p` is null or points to a valid `T` that outlives `'a` and no other thread uses.
pub(crate) unsafe fn input_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T> {
    if !p.is_aligned() {
        return Err(Error::invalid(format!("{what} is misaligned")));
    }
    // SAFETY: aligned; the caller's promise that a non-null pointer is valid and unshared.
    unsafe { p.as_mut() }.ok_or_else(|| Error::invalid(format!("{what} is null")))
}

/// Where one result goes: the caller's (maybe uninitialised) struct.
///
/// # Safety
/// `p` is null or points to writable memory for a `T` that outlives `'a`.
pub(crate) unsafe fn output<'a, T>(p: *mut T, what: &str) -> Result<&'a mut MaybeUninit<T>> {
    if !p.is_aligned() {
        return Err(Error::invalid(format!("{what} is misaligned")));
    }
    // SAFETY: aligned; MaybeUninit makes no claim about the contents.
    unsafe { p.cast::<MaybeUninit<T>>().as_mut() }
        .ok_or_else(|| Error::invalid(format!("{what} is null")))
}

/// Where a list goes: `capacity` elements at `buf` and the count. Every list follows one
/// rule: the first `min(capacity, n)` items are written and the count is always `n`.
pub(crate) struct ListOut<'a, T> {
    items: &'a mut [MaybeUninit<T>],
    count: &'a mut MaybeUninit<usize>,
}

impl<T> ListOut<'_, T> {
    /// Writes what fits and the full count.
    pub(crate) fn fill(self, all: impl IntoIterator<Item = T>) {
        let mut n = 0;
        for item in all {
            if let Some(slot) = self.items.get_mut(n) {
                slot.write(item);
            }
            n += 1;
        }
        self.count.write(n);
    }
}

/// # Safety
/// `buf` is null (then `capacity` must be 0) or points to `capacity` writable `T`s;
/// `count` is null or points to a writable `size_t`; both outlive `'a`.
pub(crate) unsafe fn list_output<'a, T>(
    buf: *mut T,
    capacity: usize,
    count: *mut usize,
    what: &str,
) -> Result<ListOut<'a, T>> {
    // SAFETY: the caller's promise about `count`.
    let count = unsafe { output(count, &format!("the count of {what}")) }?;
    let items = if capacity == 0 {
        &mut [][..]
    } else {
        if buf.is_null() {
            return Err(Error::invalid(format!(
                "{what} is null with a capacity of {capacity}"
            )));
        }
        if !buf.is_aligned() {
            return Err(Error::invalid(format!("{what} is misaligned")));
        }
        // SAFETY: not null, aligned; the caller's promise about the capacity.
        unsafe { std::slice::from_raw_parts_mut(buf.cast::<MaybeUninit<T>>(), capacity) }
    };
    Ok(ListOut { items, count })
}

/// Copies `s` into `buf` NUL-terminated, cut at a character boundary to fit `capacity`
/// bytes, and returns the full length of `s` in bytes. A null `buf` or a capacity of 0
/// writes nothing.
///
/// # Safety
/// `buf` is null or points to `capacity` writable bytes.
pub(crate) unsafe fn copy_text(s: &str, buf: *mut c_char, capacity: usize) -> usize {
    if buf.is_null() || capacity == 0 {
        return s.len();
    }
    let mut n = s.len().min(capacity - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: n + 1 <= capacity bytes, the caller's promise; the regions cannot overlap
    // (`s` is ours).
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    s.len()
}

/// [`copy_text`] for a string output with an optional length out-pointer, the shape of
/// every string-returning function: `(buf, capacity, length)`.
///
/// # Safety
/// As [`copy_text`]; `length` is null or points to a writable `size_t`.
pub(crate) unsafe fn text_output(
    s: &str,
    buf: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> Result<()> {
    if buf.is_null() && capacity > 0 {
        return Err(Error::invalid(format!(
            "the text buffer is null with a capacity of {capacity}"
        )));
    }
    if !length.is_null() {
        // SAFETY: the caller's promise about `length`.
        unsafe { output(length, "the length") }?.write(s.len());
    }
    // SAFETY: the caller's promise about `buf`.
    unsafe { copy_text(s, buf, capacity) };
    Ok(())
}

/// Copies ASCII `s` into a fixed `char` array, NUL-terminated (cut to fit).
pub(crate) fn fixed_text<const N: usize>(s: &str) -> [c_char; N] {
    let mut out = [0 as c_char; N];
    // SAFETY: the array holds N bytes.
    unsafe { copy_text(s, out.as_mut_ptr(), N) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_write_what_fits_and_count_everything() {
        let mut buf = [0u32; 2];
        let mut count = 99usize;
        // SAFETY: a buffer of its own length.
        let out = unsafe { list_output(buf.as_mut_ptr(), 2, &mut count, "numbers") }.unwrap();
        out.fill([7, 8, 9]);
        assert_eq!((buf, count), ([7, 8], 3));

        // SAFETY: capacity 0 with a null buffer asks for the count only.
        let out = unsafe { list_output::<u32>(std::ptr::null_mut(), 0, &mut count, "x") }.unwrap();
        out.fill([1]);
        assert_eq!(count, 1);

        // SAFETY: checked and refused before any write.
        let err = unsafe { list_output::<u32>(std::ptr::null_mut(), 3, &mut count, "faces") };
        assert_eq!(
            err.err().map(|e| e.message),
            Some("faces is null with a capacity of 3".into())
        );
    }

    #[test]
    fn null_and_non_utf8_strings_are_refused() {
        // SAFETY: null is checked first.
        let e = unsafe { text(std::ptr::null(), "the licence") }.unwrap_err();
        assert_eq!(e.message, "the licence is null");
        let bad = c"\xff\xfe";
        // SAFETY: a NUL-terminated literal.
        let e = unsafe { text(bad.as_ptr(), "the path") }.unwrap_err();
        assert_eq!(e.message, "the path is not UTF-8");
    }

    #[test]
    fn fixed_text_is_cut_and_terminated() {
        let a: [c_char; 4] = fixed_text("abcdef");
        assert_eq!(a.map(|c| c as u8), *b"abc\0");
    }
}

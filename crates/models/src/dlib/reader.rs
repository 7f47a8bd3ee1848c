//! dlib's serialization primitives (`dlib/serialize.h`), read from a byte slice.
//!
//! Hand-written: no crate reads dlib's encodings. Every read is bounds-checked and
//! every length is checked against the bytes left before anything is allocated, so
//! hostile input yields a [`DatError`], never a panic or a huge allocation.

/// Why a `.dat` file could not be read. `offset` is the byte position in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatError {
    #[error("file ends early at byte {offset} (while reading {what})")]
    Truncated { offset: usize, what: &'static str },
    #[error("bad integer control byte {byte:#04x} at byte {offset}")]
    BadInteger { offset: usize, byte: u8 },
    #[error("integer at byte {offset} does not fit its type ({what})")]
    OutOfRange { offset: usize, what: &'static str },
    #[error("bad boolean byte {byte:#04x} at byte {offset}")]
    BadBool { offset: usize, byte: u8 },
    #[error("old ASCII float encoding at byte {offset} is not supported")]
    AsciiFloat { offset: usize },
    #[error("unexpected {what} at byte {offset}: found {found:?}, expected {expected}")]
    Unexpected {
        offset: usize,
        what: &'static str,
        found: String,
        expected: String,
    },
    #[error("{what} at byte {offset} claims {count} elements but only {left} bytes remain")]
    TooLong {
        offset: usize,
        what: &'static str,
        count: u64,
        left: usize,
    },
    #[error("{count} unread bytes after the end of the model at byte {offset}")]
    TrailingBytes { offset: usize, count: usize },
}

/// A cursor over the bytes of a `.dat` file.
#[derive(Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A dense matrix (`dlib::matrix<float>`), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

/// A 4-d tensor (`dlib::resizable_tensor`), NCHW.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: [usize; 4],
    pub data: Vec<f32>,
}

/// An alias tensor: a shape without data (a view into a layer's params).
pub type AliasShape = [usize; 4];

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn offset(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails unless every byte has been consumed.
    pub fn finish(&self) -> Result<(), DatError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DatError::TrailingBytes {
                offset: self.pos,
                count,
            }),
        }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DatError> {
        if self.remaining() < n {
            return Err(DatError::Truncated {
                offset: self.pos,
                what,
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, DatError> {
        Ok(self.take(1, what)?[0])
    }

    /// An integer in dlib's variable-length form: control byte (low nibble = payload
    /// length, bit 7 = negative), then the magnitude little-endian.
    fn int_parts(&mut self, what: &'static str) -> Result<(bool, u64), DatError> {
        let at = self.pos;
        let control = self.byte(what)?;
        let len = usize::from(control & 0x0F);
        if control & 0x70 != 0 || len == 0 || len > 8 {
            return Err(DatError::BadInteger {
                offset: at,
                byte: control,
            });
        }
        let bytes = self.take(len, what)?;
        let magnitude = bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        Ok((control & 0x80 != 0, magnitude))
    }

    /// An unsigned integer (`unsigned long`, `size_t`, `uint32`…).
    pub fn uint(&mut self, what: &'static str) -> Result<u64, DatError> {
        let at = self.pos;
        match self.int_parts(what)? {
            (false, m) => Ok(m),
            (true, _) => Err(DatError::OutOfRange { offset: at, what }),
        }
    }

    /// A signed integer (`int`, `long`, `long long`).
    pub fn int(&mut self, what: &'static str) -> Result<i64, DatError> {
        let at = self.pos;
        let (neg, m) = self.int_parts(what)?;
        let out_of_range = DatError::OutOfRange { offset: at, what };
        if neg {
            // -2^63 is representable; anything larger in magnitude is not.
            if m > 1 << 63 {
                return Err(out_of_range);
            }
            Ok((m as i64).wrapping_neg())
        } else {
            i64::try_from(m).map_err(|_| out_of_range)
        }
    }

    /// A signed integer that must equal `expected` (format versions).
    pub fn expect_int(&mut self, expected: i64, what: &'static str) -> Result<(), DatError> {
        let at = self.pos;
        let v = self.int(what)?;
        if v != expected {
            return Err(DatError::Unexpected {
                offset: at,
                what,
                found: v.to_string(),
                expected: expected.to_string(),
            });
        }
        Ok(())
    }

    /// A size or dimension, checked to fit `usize` and a sane bound.
    pub fn dim(&mut self, what: &'static str) -> Result<usize, DatError> {
        let at = self.pos;
        let v = self.int(what)?;
        usize::try_from(v.unsigned_abs())
            .ok()
            .filter(|&d| d <= 1 << 30)
            .ok_or(DatError::OutOfRange { offset: at, what })
    }

    /// A `double`: mantissa (i64) · 2^exponent (i16).
    pub fn f64(&mut self, what: &'static str) -> Result<f64, DatError> {
        let at = self.pos;
        let first = *self.buf.get(self.pos).ok_or(DatError::Truncated {
            offset: self.pos,
            what,
        })?;
        if first & 0x70 != 0 {
            return Err(DatError::AsciiFloat { offset: at });
        }
        let mantissa = self.int(what)?;
        let exp_at = self.pos;
        let exponent = self.int(what)?;
        let exponent = i16::try_from(exponent).map_err(|_| DatError::OutOfRange {
            offset: exp_at,
            what,
        })?;
        Ok(match exponent {
            32000 => f64::INFINITY,
            32001 => f64::NEG_INFINITY,
            32002 => f64::NAN,
            e => (mantissa as f64) * pow2(e),
        })
    }

    /// A `float` (same encoding as double).
    pub fn f32(&mut self, what: &'static str) -> Result<f32, DatError> {
        Ok(self.f64(what)? as f32)
    }

    /// A `bool`: one ASCII byte `'0'` or `'1'`.
    pub fn bool(&mut self, what: &'static str) -> Result<bool, DatError> {
        let at = self.pos;
        match self.byte(what)? {
            b'0' => Ok(false),
            b'1' => Ok(true),
            byte => Err(DatError::BadBool { offset: at, byte }),
        }
    }

    /// A raw byte (`uint8_t`, `unsigned char`).
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DatError> {
        self.byte(what)
    }

    /// An element count, rejected if `count * min_elem_bytes` exceeds what is left:
    /// the allocation bound that keeps hostile lengths harmless.
    pub fn count(&mut self, min_elem_bytes: usize, what: &'static str) -> Result<usize, DatError> {
        let at = self.pos;
        let n = self.uint(what)?;
        let left = self.remaining();
        let fits = usize::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(min_elem_bytes.max(1)))
            .is_some_and(|need| need <= left);
        if !fits {
            return Err(DatError::TooLong {
                offset: at,
                what,
                count: n,
                left,
            });
        }
        Ok(n as usize)
    }

    /// A `std::string`.
    pub fn string(&mut self, what: &'static str) -> Result<String, DatError> {
        let n = self.count(1, what)?;
        let bytes = self.take(n, what)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    /// A string that must equal one of `allowed`; returns which.
    pub fn tag(
        &mut self,
        allowed: &[&'static str],
        what: &'static str,
    ) -> Result<&'static str, DatError> {
        let at = self.pos;
        let s = self.string(what)?;
        allowed
            .iter()
            .find(|a| **a == s)
            .copied()
            .ok_or_else(|| DatError::Unexpected {
                offset: at,
                what,
                found: s,
                expected: allowed.join(" or "),
            })
    }

    /// A `matrix<float>`: dimensions stored negated, then row-major elements.
    pub fn matrix(&mut self, what: &'static str) -> Result<Matrix, DatError> {
        let rows = self.dim(what)?;
        let cols = self.dim(what)?;
        let at = self.pos;
        let n = rows
            .checked_mul(cols)
            .ok_or(DatError::OutOfRange { offset: at, what })?;
        // Each float takes at least 4 bytes (two 2-byte integers).
        if n.saturating_mul(4) > self.remaining() {
            return Err(DatError::TooLong {
                offset: at,
                what,
                count: n as u64,
                left: self.remaining(),
            });
        }
        let data = (0..n).map(|_| self.f32(what)).collect::<Result<_, _>>()?;
        Ok(Matrix { rows, cols, data })
    }

    fn shape4(&mut self, what: &'static str) -> Result<[usize; 4], DatError> {
        Ok([
            self.dim(what)?,
            self.dim(what)?,
            self.dim(what)?,
            self.dim(what)?,
        ])
    }

    /// A `resizable_tensor` (version 2): shape then raw little-endian f32.
    pub fn tensor(&mut self, what: &'static str) -> Result<Tensor, DatError> {
        self.expect_int(2, what)?;
        let shape = self.shape4(what)?;
        let at = self.pos;
        let n = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or(DatError::OutOfRange { offset: at, what })?;
        let bytes =
            n.checked_mul(4)
                .filter(|&b| b <= self.remaining())
                .ok_or(DatError::TooLong {
                    offset: at,
                    what,
                    count: n as u64,
                    left: self.remaining(),
                })?;
        let raw = self.take(bytes, what)?;
        let data = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Tensor { shape, data })
    }

    /// An `alias_tensor` (version 1): shape only.
    pub fn alias(&mut self, what: &'static str) -> Result<AliasShape, DatError> {
        self.expect_int(1, what)?;
        self.shape4(what)
    }
}

/// 2^e, exactly: built from the exponent bits in the normal range (the hot path of
/// reading 100 MB of floats), `powi` outside it.
fn pow2(e: i16) -> f64 {
    if (-1022..=1023).contains(&e) {
        f64::from_bits(((i64::from(e) + 1023) as u64) << 52)
    } else {
        2f64.powi(i32::from(e))
    }
}

impl Tensor {
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(Reader::new(&[0x01, 0x00]).int("x").unwrap(), 0);
        assert_eq!(Reader::new(&[0x81, 0x88]).int("x").unwrap(), -136);
        assert_eq!(Reader::new(&[0x02, 0x34, 0x12]).uint("x").unwrap(), 0x1234);
        assert!(matches!(
            Reader::new(&[0x81, 0x01]).uint("x"),
            Err(DatError::OutOfRange { .. })
        ));
        assert!(matches!(
            Reader::new(&[0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0]).int("x"),
            Err(DatError::BadInteger { .. })
        ));
        assert!(matches!(
            Reader::new(&[0x04, 1, 2]).int("x"),
            Err(DatError::Truncated { .. })
        ));
        let mut max = vec![0x88];
        max.extend([0, 0, 0, 0, 0, 0, 0, 0x80]);
        assert_eq!(Reader::new(&max).int("x").unwrap(), i64::MIN);
        let mut over = vec![0x08];
        over.extend([0, 0, 0, 0, 0, 0, 0, 0x80]);
        assert!(Reader::new(&over).int("x").is_err());
    }

    #[test]
    fn powers_of_two_are_exact() {
        for e in -1100..1100 {
            assert_eq!(pow2(e as i16), 2f64.powi(e), "2^{e}");
        }
    }

    #[test]
    fn floats() {
        // 0xA3D70A · 2^-28 = 0.04 as stored by dlib.
        let v = Reader::new(&[0x03, 0x0A, 0xD7, 0xA3, 0x81, 0x1C])
            .f32("x")
            .unwrap();
        assert_eq!(v, 0.04f32);
        assert!(Reader::new(&[0x01, 0x00, 0x02, 0x02, 0x7D])
            .f64("x")
            .unwrap()
            .is_nan());
        assert!(matches!(
            Reader::new(b"1.5").f64("x"),
            Err(DatError::AsciiFloat { .. })
        ));
    }

    #[test]
    fn hostile_lengths_do_not_allocate() {
        // A string claiming 2^56 bytes.
        let bytes = [0x08, 0, 0, 0, 0, 0, 0, 0, 1];
        assert!(matches!(
            Reader::new(&bytes).string("s"),
            Err(DatError::TooLong { .. })
        ));
        // A tensor of 2^30 × 2^30 × … elements.
        let mut t = vec![0x01, 0x02];
        for _ in 0..4 {
            t.extend([0x04, 0, 0, 0, 0x40]);
        }
        assert!(Reader::new(&t).tensor("t").is_err());
    }

    #[test]
    fn bools_and_trailing() {
        let mut r = Reader::new(b"10x");
        assert!(r.bool("b").unwrap());
        assert!(!r.bool("b").unwrap());
        assert!(matches!(
            r.finish(),
            Err(DatError::TrailingBytes { count: 1, .. })
        ));
        assert!(matches!(r.bool("b"), Err(DatError::BadBool { .. })));
    }
}

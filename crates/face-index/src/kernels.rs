//! Batch distance kernels: one query against many contiguous rows.
//!
//! Each kernel has a portable body and, on x86-64, a copy compiled for AVX2 (and FMA)
//! chosen at run time, so one binary runs on any x86-64 and uses the wider registers
//! where the CPU has them. The f32 kernel's copies compute exactly the same sums in the
//! same order (Rust never fuses a multiply and an add on its own, so enabling FMA does
//! not change a result), which keeps exact search exact and bit-identical across
//! machines; the u8 kernel is integer arithmetic, exact everywhere.

#[cfg(test)]
use crate::exact::squared_l2;
use crate::exact::squared_l2_inline;

/// Squared Euclidean distances from `query` to each `dim`-component row of `rows`,
/// into `out` (one per row).
pub(crate) fn squared_l2_rows(rows: &[f32], dim: usize, query: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has the features the function is compiled for (checked just
            // above); the function itself is safe code.
            unsafe { squared_l2_rows_avx2(rows, dim, query, out) };
            return;
        }
    }
    squared_l2_rows_portable(rows, dim, query, out);
}

#[inline(always)]
fn squared_l2_rows_portable(rows: &[f32], dim: usize, query: &[f32], out: &mut [f32]) {
    for (row, o) in rows.chunks_exact(dim).zip(out.iter_mut()) {
        *o = squared_l2_inline(row, query);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn squared_l2_rows_avx2(rows: &[f32], dim: usize, query: &[f32], out: &mut [f32]) {
    squared_l2_rows_portable(rows, dim, query, out);
}

/// Squared Euclidean distances between the u8 code `query` and each `dim`-byte code of
/// `codes`, into `out` (one per code). Exact integers: at most 255² per component.
pub(crate) fn squared_l2_codes(codes: &[u8], dim: usize, query: &[u8], out: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { squared_l2_codes_avx2(codes, dim, query, out) };
            return;
        }
    }
    squared_l2_codes_portable(codes, dim, query, out);
}

fn squared_l2_codes_portable(codes: &[u8], dim: usize, query: &[u8], out: &mut [u32]) {
    for (code, o) in codes.chunks_exact(dim).zip(out.iter_mut()) {
        *o = squared_l2_code(code, query);
    }
}

/// One pair of codes; sixteen independent sums so the compiler can use vector lanes.
#[inline]
pub(crate) fn squared_l2_code(a: &[u8], b: &[u8]) -> u32 {
    let mut acc = [0u32; 16];
    let (ca, ra) = a.split_at(a.len() - a.len() % 16);
    let (cb, rb) = b.split_at(ca.len());
    for (x, y) in ca.chunks_exact(16).zip(cb.chunks_exact(16)) {
        for i in 0..16 {
            let d = u32::from(x[i].abs_diff(y[i]));
            acc[i] += d * d;
        }
    }
    let mut tail = 0;
    for (x, y) in ra.iter().zip(rb) {
        let d = u32::from(x.abs_diff(*y));
        tail += d * d;
    }
    acc.iter().sum::<u32>() + tail
}

/// AVX2: per 32 components, |a − b| as bytes (two saturating subtractions), widened to
/// 16 bits and squared and summed in pairs by `vpmaddwd`. A sum stays below 2³¹ for
/// codes of up to 33,000 components.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn squared_l2_codes_avx2(codes: &[u8], dim: usize, query: &[u8], out: &mut [u32]) {
    use std::arch::x86_64::*;
    let body = dim - dim % 32;
    let zero = _mm256_setzero_si256();
    for (code, o) in codes.chunks_exact(dim).zip(out.iter_mut()) {
        let mut acc = _mm256_setzero_si256();
        for (a, b) in code[..body]
            .chunks_exact(32)
            .zip(query[..body].chunks_exact(32))
        {
            // SAFETY: both chunks are exactly 32 bytes; unaligned loads.
            let (a, b) = unsafe {
                (
                    _mm256_loadu_si256(a.as_ptr().cast::<__m256i>()),
                    _mm256_loadu_si256(b.as_ptr().cast::<__m256i>()),
                )
            };
            let d = _mm256_or_si256(_mm256_subs_epu8(a, b), _mm256_subs_epu8(b, a));
            let lo = _mm256_unpacklo_epi8(d, zero);
            let hi = _mm256_unpackhi_epi8(d, zero);
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(lo, lo));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(hi, hi));
        }
        let s = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256::<1>(acc),
        );
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
        // Non-negative: the lanes hold sums of squares.
        let mut total = _mm_cvtsi128_si32(s) as u32;
        for (x, y) in code[body..].iter().zip(&query[body..]) {
            let d = u32::from(x.abs_diff(*y));
            total += d * d;
        }
        *o = total;
    }
}

/// For each of four vectors, the row of `rows` nearest to it: the smallest
/// `norms[r] − 2 x·row_r`, where `norms[r]` is row r's squared norm (|x − row|² less
/// |x|², which does not change the order). Four vectors at a time share each row's
/// loads; this is the k-means assignment's kernel. Ties go to the lower row.
pub(crate) fn nearest_rows4(
    rows: &[f32],
    norms: &[f32],
    dim: usize,
    xs: [&[f32]; 4],
) -> [usize; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        if dim.is_multiple_of(8)
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { nearest_rows4_avx2(rows, norms, dim, xs) };
        }
    }
    nearest_rows4_portable(rows, norms, dim, xs)
}

fn nearest_rows4_portable(rows: &[f32], norms: &[f32], dim: usize, xs: [&[f32]; 4]) -> [usize; 4] {
    let mut best = [(0usize, f32::INFINITY); 4];
    for (r, (row, norm)) in rows.chunks_exact(dim).zip(norms).enumerate() {
        let mut acc = [[0.0f32; 8]; 4];
        let body = dim - dim % 8;
        for j in (0..body).step_by(8) {
            for (a, x) in acc.iter_mut().zip(&xs) {
                for i in 0..8 {
                    a[i] += row[j + i] * x[j + i];
                }
            }
        }
        for (v, (a, x)) in acc.iter().zip(&xs).enumerate() {
            let mut dot: f32 = a.iter().sum();
            for j in body..dim {
                dot += row[j] * x[j];
            }
            let d = norm - 2.0 * dot;
            if d < best[v].1 {
                best[v] = (r, d);
            }
        }
    }
    best.map(|b| b.0)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn nearest_rows4_avx2(
    rows: &[f32],
    norms: &[f32],
    dim: usize,
    xs: [&[f32]; 4],
) -> [usize; 4] {
    use std::arch::x86_64::*;
    let mut best = [(0usize, f32::INFINITY); 4];
    let mut lanes = [0.0f32; 8];
    for (r, (row, norm)) in rows.chunks_exact(dim).zip(norms).enumerate() {
        let mut acc = [_mm256_setzero_ps(); 4];
        for j in (0..dim).step_by(8) {
            // SAFETY: dim is a multiple of 8 (checked by the caller), so row[j..j + 8]
            // and x[j..j + 8] are in bounds; unaligned loads.
            unsafe {
                let c = _mm256_loadu_ps(row.as_ptr().add(j));
                for (a, x) in acc.iter_mut().zip(&xs) {
                    *a = _mm256_fmadd_ps(c, _mm256_loadu_ps(x.as_ptr().add(j)), *a);
                }
            }
        }
        for (v, a) in acc.iter().enumerate() {
            // SAFETY: `lanes` holds eight floats.
            unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), *a) };
            let d = norm - 2.0 * lanes.iter().sum::<f32>();
            if d < best[v].1 {
                best[v] = (r, d);
            }
        }
    }
    best.map(|b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn code_kernels_agree_with_the_definition_for_every_length() {
        let mut rng = StdRng::seed_from_u64(5);
        for dim in [1, 7, 16, 31, 32, 33, 128, 130] {
            let rows = 9;
            let codes: Vec<u8> = (0..rows * dim).map(|_| rng.random()).collect();
            // Extremes too: 0 against 255 is the largest difference.
            let mut query: Vec<u8> = (0..dim).map(|_| rng.random()).collect();
            query[0] = 255;
            let mut codes = codes;
            codes[0] = 0;
            let want: Vec<u32> = codes
                .chunks_exact(dim)
                .map(|c| {
                    c.iter()
                        .zip(&query)
                        .map(|(a, b)| (i64::from(*a) - i64::from(*b)).pow(2) as u32)
                        .sum()
                })
                .collect();
            let mut got = vec![0; rows];
            squared_l2_codes(&codes, dim, &query, &mut got);
            assert_eq!(got, want, "dim {dim}");
            let mut portable = vec![0; rows];
            squared_l2_codes_portable(&codes, dim, &query, &mut portable);
            assert_eq!(portable, want, "dim {dim}");
        }
    }

    #[test]
    fn the_dispatched_f32_kernel_is_bit_identical_to_the_pairwise_one() {
        let mut rng = StdRng::seed_from_u64(6);
        for dim in [3, 8, 128, 131] {
            let rows: Vec<f32> = (0..20 * dim).map(|_| rng.random_range(-1.0..1.0)).collect();
            let query: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect();
            let mut got = vec![0.0; 20];
            squared_l2_rows(&rows, dim, &query, &mut got);
            for (row, g) in rows.chunks_exact(dim).zip(&got) {
                assert_eq!(g.to_bits(), squared_l2(row, &query).to_bits());
            }
        }
    }

    #[test]
    fn nearest_rows4_finds_the_nearest_row_of_each_vector() {
        let mut rng = StdRng::seed_from_u64(7);
        for dim in [5, 16, 128] {
            let rows: Vec<f32> = (0..50 * dim).map(|_| rng.random_range(-1.0..1.0)).collect();
            let norms: Vec<f32> = rows
                .chunks_exact(dim)
                .map(|r| r.iter().map(|x| x * x).sum())
                .collect();
            let xs: Vec<Vec<f32>> = (0..4)
                .map(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect())
                .collect();
            let got = nearest_rows4(&rows, &norms, dim, [&xs[0], &xs[1], &xs[2], &xs[3]]);
            for (x, g) in xs.iter().zip(got) {
                let mut d: Vec<(f32, usize)> = rows
                    .chunks_exact(dim)
                    .map(|r| squared_l2(r, x))
                    .zip(0..)
                    .collect();
                d.sort_by(|a, b| a.0.total_cmp(&b.0));
                // Rounding may swap two rows at (nearly) equal distance.
                assert!(g == d[0].1 || (d[1].0 - d[0].0) < 1e-4, "dim {dim}");
            }
        }
    }
}

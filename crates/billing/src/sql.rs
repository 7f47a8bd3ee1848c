//! Small builders for portable SQL with `$N` placeholders.
//!
//! Variable-length statements are cut into power-of-two sizes so the prepared-statement
//! cache sees a handful of shapes instead of one per batch size.

/// `($1,$2,$3),($4,$5,$6)…` for `rows` rows of `cols` columns.
pub fn value_rows(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            s.push('$');
            s.push_str(&(r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

/// `$first,$first+1,…` (n placeholders).
pub fn list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Splits `n` into chunks of at most `max` whose sizes are powers of two.
pub fn pow2_chunks(mut n: usize, max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    while n > 0 {
        let m = max.min(n);
        let c = 1usize << (usize::BITS - 1 - m.leading_zeros());
        out.push(c);
        n -= c;
    }
    out
}

/// The IN-list length for `n` values: the next power of two (callers pad by repeating a value).
pub fn padded(n: usize) -> usize {
    n.max(1).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(value_rows(2, 2), "($1,$2),($3,$4)");
        assert_eq!(list(3, 2), "$3,$4");
        assert_eq!(pow2_chunks(13, 8), vec![8, 4, 1]);
        assert_eq!(pow2_chunks(20, 8), vec![8, 8, 4]);
        assert_eq!(padded(5), 8);
        assert_eq!(
            pow2_chunks(2500, 1000),
            vec![512, 512, 512, 512, 256, 128, 64, 4]
        );
    }
}

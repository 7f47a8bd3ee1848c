//! Placeholder builders for the statements of variable length (multi-row VALUES, IN lists).
//!
//! Placeholders are `$N` on PostgreSQL and anonymous `?` on SQLite. Why not `$N` on both:
//! SQLite treats `$N` as a *named* parameter, and both its parser and the parameter-name
//! lookup sqlx does for every binding scan the list of names linearly, so a statement with
//! 10,000 `$N` parameters costs on the order of 10^8 steps; anonymous `?` costs nothing.
//!
//! A statement built with these must take *every* placeholder from them, never mix them
//! with a literal `$1`: sqlx binds a named `$N` to argument N but numbers the anonymous
//! `?` from 1 on their own, so on SQLite `… WHERE a = $1 AND b IN (?, ?)` would bind the
//! first `?` to argument 1 again. Built entirely here, positional binding means the same
//! on both databases. (Fixed statements with a few literal `$N` are fine as they are.)
//!
//! Variable-length statements are cut into power-of-two sizes ([`pow2_chunks`],
//! [`padded`]) so the prepared-statement cache sees a handful of shapes instead of one per
//! batch size.

use crate::Dialect;

/// Placeholder number `i` (1-based).
pub fn param(d: Dialect, i: usize) -> String {
    match d {
        Dialect::Sqlite => "?".to_string(),
        Dialect::Postgres => format!("${i}"),
    }
}

/// `($1,$2,$3),($4,$5,$6)…` for `rows` rows of `cols` columns.
pub fn value_rows(d: Dialect, rows: usize, cols: usize) -> String {
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
            s.push_str(&param(d, r * cols + c + 1));
        }
        s.push(')');
    }
    s
}

/// `$first,$first+1,…` (n placeholders).
pub fn list(d: Dialect, first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| param(d, i))
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
    fn placeholders() {
        assert_eq!(param(Dialect::Postgres, 7), "$7");
        assert_eq!(param(Dialect::Sqlite, 7), "?");
        assert_eq!(value_rows(Dialect::Postgres, 2, 2), "($1,$2),($3,$4)");
        assert_eq!(value_rows(Dialect::Sqlite, 2, 2), "(?,?),(?,?)");
        assert_eq!(value_rows(Dialect::Sqlite, 0, 3), "");
        assert_eq!(list(Dialect::Postgres, 3, 2), "$3,$4");
        assert_eq!(list(Dialect::Sqlite, 3, 2), "?,?");
        assert_eq!(list(Dialect::Postgres, 1, 0), "");
    }

    #[test]
    fn shapes() {
        assert_eq!(pow2_chunks(13, 8), vec![8, 4, 1]);
        assert_eq!(pow2_chunks(20, 8), vec![8, 8, 4]);
        assert_eq!(pow2_chunks(0, 8), Vec::<usize>::new());
        assert_eq!(
            pow2_chunks(2500, 1000),
            vec![512, 512, 512, 512, 256, 128, 64, 4]
        );
        assert_eq!(padded(0), 1);
        assert_eq!(padded(5), 8);
        assert_eq!(padded(8), 8);
    }

    #[test]
    fn chunks_sum_to_n_and_respect_max() {
        for n in 0..600 {
            for max in [1, 3, 8, 256] {
                let c = pow2_chunks(n, max);
                assert_eq!(c.iter().sum::<usize>(), n);
                assert!(c.iter().all(|&k| k.is_power_of_two() && k <= max));
            }
        }
    }
}

//! Money: exact yuan amounts over `Decimal`, rounded to the fen (0.01) half-up.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of CNY. Arithmetic is exact; [`Money::round_fen`] applies the one rounding
/// rule billing.md allows (0.01 yuan, half-up, after multiplying).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    pub fn new(amount: Decimal) -> Money {
        Money(amount)
    }

    /// Whole yuan.
    pub fn yuan(amount: i64) -> Money {
        Money(Decimal::from(amount))
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    /// Units × unit price, rounded to the fen half-up (billing.md rule 6).
    pub fn rate(units: u64, unit_price: Decimal) -> Money {
        Money(Decimal::from(units) * unit_price).round_fen()
    }

    /// Rounded to 0.01 yuan, half away from zero (half-up for the positive amounts billed).
    pub fn round_fen(self) -> Money {
        Money(
            self.0
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
        )
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn times(self, factor: Decimal) -> Money {
        Money(self.0 * factor)
    }
}

impl fmt::Display for Money {
    /// Always two places: "91200.00".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = self.0;
        if d.scale() < 2 {
            d.rescale(2);
        }
        write!(f, "{d}")
    }
}

impl FromStr for Money {
    type Err = rust_decimal::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::from_str_exact(s.trim()).map(Money)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 -= rhs.0;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Money::from_str(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn displays_two_places() {
        assert_eq!(Money::yuan(91200).to_string(), "91200.00");
        assert_eq!(Money::new(dec!(0.5)).to_string(), "0.50");
        assert_eq!(Money::new(dec!(-3)).to_string(), "-3.00");
    }

    #[test]
    fn rounds_half_up_after_multiplying() {
        // 1 × 0.0005 = 0.0005 → 0.00; 10 × 0.0005 = 0.005 → 0.01 (half-up, not banker's)
        assert_eq!(Money::rate(1, dec!(0.0005)).to_string(), "0.00");
        assert_eq!(Money::rate(10, dec!(0.0005)).to_string(), "0.01");
        assert_eq!(Money::rate(30, dec!(0.0005)).to_string(), "0.02");
        assert_eq!(Money::rate(50, dec!(0.0005)).to_string(), "0.03");
        assert_eq!(Money::rate(7, dec!(0.0015)).to_string(), "0.01");
    }
}

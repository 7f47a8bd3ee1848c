//! The price catalogue: every price of billing.md, as data, in this one place.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde::{Deserialize, Serialize};

use crate::error::BillingError;
use crate::money::Money;

/// Calls each account gets free per item per month (rule 2).
pub const FREE_CALLS_PER_MONTH: u64 = 10_000;
/// A pack's "running low" notice fires when its remainder first falls below this share of its size.
pub const LOW_PERCENT: u64 = 15;
/// Offline SDK device orders below this quantity are refused (rule 9).
pub const SDK_MIN_DEVICES: u64 = 50;
/// Settlement freezes this multiple of the month's postpaid amount at list price (rule 7).
pub const FREEZE_FACTOR: Decimal = dec!(1.2);

/// A billing item (计费项): the unit a call is metered and priced in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Item {
    Detect,
    Landmarks,
    Compare,
    Verify,
    Search,
    Person,
    Liveness,
}

impl Item {
    pub const ALL: [Item; 7] = [
        Item::Detect,
        Item::Landmarks,
        Item::Compare,
        Item::Verify,
        Item::Search,
        Item::Person,
        Item::Liveness,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Item::Detect => "detect",
            Item::Landmarks => "landmarks",
            Item::Compare => "compare",
            Item::Verify => "verify",
            Item::Search => "search",
            Item::Person => "person",
            Item::Liveness => "liveness",
        }
    }

    /// Price of one pack of this item (the prepaid table).
    pub fn pack_price(self, size: PackSize) -> Money {
        let row: [i64; 4] = match self {
            Item::Detect => [450, 4100, 17500, 25000],
            Item::Landmarks => [1900, 18200, 82500, 135000],
            Item::Compare | Item::Verify | Item::Search | Item::Person => {
                [3100, 30400, 142500, 255000]
            }
            Item::Liveness => [1800, 17400, 75000, 110000],
        };
        Money::yuan(row[size.index()])
    }

    /// Postpaid unit price of this item in a tier (the postpaid table).
    pub fn unit_price(self, tier: Tier) -> Decimal {
        let row: [Decimal; 3] = match self {
            Item::Detect => [dec!(0.0005), dec!(0.0004), dec!(0.0003)],
            Item::Landmarks => [dec!(0.002), dec!(0.0018), dec!(0.0015)],
            Item::Compare | Item::Verify | Item::Search | Item::Person => {
                [dec!(0.0032), dec!(0.003), dec!(0.0027)]
            }
            Item::Liveness => [dec!(0.0019), dec!(0.0017), dec!(0.0013)],
        };
        row[tier.index()]
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Item {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Item::ALL
            .into_iter()
            .find(|i| i.as_str() == s)
            .ok_or_else(|| BillingError::UnknownName {
                kind: "item",
                name: s.to_string(),
                expected: Item::ALL
                    .iter()
                    .map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// A prepaid pack size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PackSize {
    #[serde(rename = "1m")]
    M1,
    #[serde(rename = "10m")]
    M10,
    #[serde(rename = "50m")]
    M50,
    #[serde(rename = "100m")]
    M100,
}

impl PackSize {
    pub const ALL: [PackSize; 4] = [PackSize::M1, PackSize::M10, PackSize::M50, PackSize::M100];

    fn index(self) -> usize {
        match self {
            PackSize::M1 => 0,
            PackSize::M10 => 1,
            PackSize::M50 => 2,
            PackSize::M100 => 3,
        }
    }

    pub fn units(self) -> u64 {
        [1_000_000, 10_000_000, 50_000_000, 100_000_000][self.index()]
    }

    pub fn as_str(self) -> &'static str {
        ["1m", "10m", "50m", "100m"][self.index()]
    }

    pub fn from_units(units: u64) -> Option<PackSize> {
        PackSize::ALL.into_iter().find(|s| s.units() == units)
    }
}

impl fmt::Display for PackSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PackSize {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PackSize::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| BillingError::UnknownName {
                kind: "pack size",
                name: s.to_string(),
                expected: "1m, 10m, 50m, 100m".into(),
            })
    }
}

/// A volume tier (阶梯), 1-based as in the tables. The tier a volume *reaches* prices all of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8")]
pub struct Tier(u8);

impl Tier {
    pub fn number(self) -> u8 {
        self.0
    }

    fn index(self) -> usize {
        usize::from(self.0 - 1)
    }

    /// Postpaid tier reached by a month's postpaid volume V (rule 5).
    pub fn postpaid(volume: u64) -> Tier {
        match volume {
            0..=3_000_000 => Tier(1),
            3_000_001..=15_000_000 => Tier(2),
            _ => Tier(3),
        }
    }

    /// Device tier reached by an order of Q devices (rule 9); Q < 50 is refused.
    pub fn sdk_devices(quantity: u64) -> Result<Tier, BillingError> {
        match quantity {
            0..SDK_MIN_DEVICES => Err(BillingError::BelowMinimumOrder {
                quantity,
                minimum: SDK_MIN_DEVICES,
            }),
            50..=1000 => Ok(Tier(1)),
            1001..=5000 => Ok(Tier(2)),
            _ => Ok(Tier(3)),
        }
    }
}

impl From<Tier> for u8 {
    fn from(t: Tier) -> u8 {
        t.0
    }
}

/// An offline SDK (the device and platform tables).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sdk {
    #[serde(rename = "detect")]
    Detect,
    #[serde(rename = "ir-liveness")]
    IrLiveness,
    #[serde(rename = "3d-liveness")]
    Liveness3d,
    #[serde(rename = "search")]
    Search,
    #[serde(rename = "ir-liveness-search")]
    IrLivenessSearch,
    #[serde(rename = "3d-liveness-search")]
    Liveness3dSearch,
}

impl Sdk {
    pub const ALL: [Sdk; 6] = [
        Sdk::Detect,
        Sdk::IrLiveness,
        Sdk::Liveness3d,
        Sdk::Search,
        Sdk::IrLivenessSearch,
        Sdk::Liveness3dSearch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sdk::Detect => "detect",
            Sdk::IrLiveness => "ir-liveness",
            Sdk::Liveness3d => "3d-liveness",
            Sdk::Search => "search",
            Sdk::IrLivenessSearch => "ir-liveness-search",
            Sdk::Liveness3dSearch => "3d-liveness-search",
        }
    }

    pub fn contents(self) -> &'static str {
        match self {
            Sdk::Detect => "detection, alignment, tracking & best-shot, quality score",
            Sdk::IrLiveness => "detection, infrared liveness",
            Sdk::Liveness3d => "detection, 3D structured-light liveness",
            Sdk::Search => "detection, feature extraction, 1:N search",
            Sdk::IrLivenessSearch => "detection, IR liveness, features, 1:N",
            Sdk::Liveness3dSearch => "detection, 3D liveness, features, 1:N",
        }
    }

    /// Per-device price in a device tier.
    pub fn device_price(self, tier: Tier) -> Money {
        let row: [i64; 3] = match self {
            Sdk::Detect | Sdk::IrLiveness | Sdk::Liveness3d => [288, 238, 188],
            Sdk::Search => [358, 308, 258],
            Sdk::IrLivenessSearch | Sdk::Liveness3dSearch => [398, 348, 298],
        };
        Money::yuan(row[tier.index()])
    }

    /// Platform licence price for one year, one application package.
    pub fn platform_price_per_year(self) -> Money {
        Money::yuan(match self {
            Sdk::Detect | Sdk::IrLiveness | Sdk::Liveness3d => 300_000,
            Sdk::Search => 450_000,
            Sdk::IrLivenessSearch | Sdk::Liveness3dSearch => 600_000,
        })
    }
}

impl fmt::Display for Sdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Sdk {
    type Err = BillingError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sdk::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| BillingError::UnknownName {
                kind: "sdk",
                name: s.to_string(),
                expected: Sdk::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postpaid_tier_boundaries() {
        assert_eq!(Tier::postpaid(3_000_000).number(), 1);
        assert_eq!(Tier::postpaid(3_000_001).number(), 2);
        assert_eq!(Tier::postpaid(15_000_000).number(), 2);
        assert_eq!(Tier::postpaid(15_000_001).number(), 3);
    }

    #[test]
    fn device_tier_boundaries() {
        assert!(Tier::sdk_devices(49).is_err());
        assert_eq!(Tier::sdk_devices(50).unwrap().number(), 1);
        assert_eq!(Tier::sdk_devices(1000).unwrap().number(), 1);
        assert_eq!(Tier::sdk_devices(1001).unwrap().number(), 2);
        assert_eq!(Tier::sdk_devices(5000).unwrap().number(), 2);
        assert_eq!(Tier::sdk_devices(5001).unwrap().number(), 3);
    }

    #[test]
    fn prices_match_the_tables() {
        assert_eq!(Item::Detect.pack_price(PackSize::M100), Money::yuan(25000));
        assert_eq!(
            Item::Landmarks.pack_price(PackSize::M50),
            Money::yuan(82500)
        );
        assert_eq!(Item::Person.pack_price(PackSize::M10), Money::yuan(30400));
        assert_eq!(Item::Liveness.pack_price(PackSize::M1), Money::yuan(1800));
        assert_eq!(
            Item::Liveness.unit_price(Tier::postpaid(20_000_000)),
            dec!(0.0013)
        );
        assert_eq!(
            Item::Landmarks.unit_price(Tier::postpaid(4_000_000)),
            dec!(0.0018)
        );
        assert_eq!(
            Sdk::Search.device_price(Tier::sdk_devices(6000).unwrap()),
            Money::yuan(258)
        );
        assert_eq!(
            Sdk::Liveness3d.platform_price_per_year(),
            Money::yuan(300_000)
        );
        assert_eq!(Sdk::Search.platform_price_per_year(), Money::yuan(450_000));
        assert_eq!(
            Sdk::Liveness3dSearch.platform_price_per_year(),
            Money::yuan(600_000)
        );
    }

    #[test]
    fn names_round_trip() {
        for i in Item::ALL {
            assert_eq!(i.as_str().parse::<Item>().unwrap(), i);
        }
        for s in Sdk::ALL {
            assert_eq!(s.as_str().parse::<Sdk>().unwrap(), s);
        }
        assert!("faces".parse::<Item>().is_err());
        assert!("5m".parse::<PackSize>().is_err());
    }
}

//! Price quotes: what a month or a year of calls, or an SDK order, costs at list price.
//! Pure functions of the catalogue; nothing here touches storage.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::catalogue::{Item, PackSize, Sdk, Tier, FREE_CALLS_PER_MONTH};
use crate::error::BillingError;
use crate::money::Money;

/// A priced quote: `total` is the sum of the `lines`' amounts.
#[derive(Clone, Debug, Serialize)]
pub struct Quote {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk: Option<Sdk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls: Option<u64>,
    pub total: Money,
    pub lines: Vec<QuoteLine>,
    /// For a year's packs: what the same calls would cost postpaid, spread evenly over 12 months.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postpaid_alternative: Option<Box<Quote>>,
}

/// One line of a quote. `kind` is `free`, `pack`, `postpaid`, `devices` or `platform`.
#[derive(Clone, Debug, Serialize)]
pub struct QuoteLine {
    pub kind: &'static str,
    pub description: String,
    pub quantity: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
    pub unit_price: Decimal,
    pub amount: Money,
}

impl Quote {
    fn new(kind: &'static str, lines: Vec<QuoteLine>) -> Quote {
        let total = lines.iter().map(|l| l.amount).sum();
        Quote {
            kind,
            item: None,
            sdk: None,
            calls: None,
            total,
            lines,
            postpaid_alternative: None,
        }
    }
}

fn free_line(calls: u64) -> (u64, QuoteLine) {
    let free = calls.min(FREE_CALLS_PER_MONTH);
    let line = QuoteLine {
        kind: "free",
        description: "monthly free pack".into(),
        quantity: free,
        tier: None,
        unit_price: Decimal::ZERO,
        amount: Money::ZERO,
    };
    (free, line)
}

/// The postpaid line for a month's postpaid volume V: the tier V reaches prices all of V.
pub fn postpaid_line(item: Item, volume: u64) -> QuoteLine {
    let tier = Tier::postpaid(volume);
    let unit_price = item.unit_price(tier);
    QuoteLine {
        kind: "postpaid",
        description: format!("{item} postpaid, tier {}", tier.number()),
        quantity: volume,
        tier: Some(tier.number()),
        unit_price,
        amount: Money::rate(volume, unit_price),
    }
}

/// One month of `calls`, postpaid, the free pack applied first.
pub fn postpaid_month(item: Item, calls: u64) -> Quote {
    let (free, free_line) = free_line(calls);
    let mut q = Quote::new(
        "postpaid",
        vec![free_line, postpaid_line(item, calls - free)],
    );
    q.item = Some(item);
    q.calls = Some(calls);
    q
}

/// One month of `calls` with `packs` bought: their prices, then the overflow postpaid.
pub fn prepaid_month(item: Item, calls: u64, packs: &[PackSize]) -> Quote {
    let (free, free_line) = free_line(calls);
    let mut lines = vec![free_line];
    let mut pack_units: u64 = 0;
    for size in PackSize::ALL {
        let n = packs.iter().filter(|p| **p == size).count() as u64;
        if n == 0 {
            continue;
        }
        pack_units += n * size.units();
        let price = item.pack_price(size);
        lines.push(QuoteLine {
            kind: "pack",
            description: format!("{item} {size} pack"),
            quantity: n,
            tier: None,
            unit_price: price.amount(),
            amount: price.times(Decimal::from(n)),
        });
    }
    let rest = calls - free;
    let postpaid = rest - rest.min(pack_units);
    lines.push(postpaid_line(item, postpaid));
    let mut q = Quote::new("prepaid", lines);
    q.item = Some(item);
    q.calls = Some(calls);
    q
}

/// The cheapest set of packs whose units cover `calls` (example 1: 30M compare → 3 × 10M),
/// with the postpaid alternative (the calls spread evenly over 12 months, each with its free
/// pack). Free packs are not counted against the packs: they are the margin.
pub fn prepaid_year(item: Item, calls: u64) -> Quote {
    let counts = cheapest_cover(item, calls);
    let mut lines = Vec::new();
    for (size, n) in PackSize::ALL.into_iter().zip(counts) {
        if n == 0 {
            continue;
        }
        let price = item.pack_price(size);
        lines.push(QuoteLine {
            kind: "pack",
            description: format!("{item} {size} pack"),
            quantity: n,
            tier: None,
            unit_price: price.amount(),
            amount: price.times(Decimal::from(n)),
        });
    }
    let mut q = Quote::new("prepaid-year", lines);
    q.item = Some(item);
    q.calls = Some(calls);
    q.postpaid_alternative = Some(Box::new(postpaid_year(item, calls)));
    q
}

fn postpaid_year(item: Item, calls: u64) -> Quote {
    let lines = (0..12u64)
        .map(|m| {
            let month_calls = calls / 12 + u64::from(m < calls % 12);
            let free = month_calls.min(FREE_CALLS_PER_MONTH);
            let mut line = postpaid_line(item, month_calls - free);
            line.description = format!("month {}: {month_calls} calls, {free} free", m + 1);
            line
        })
        .collect();
    let mut q = Quote::new("postpaid-year", lines);
    q.item = Some(item);
    q.calls = Some(calls);
    q
}

/// Pack counts per [`PackSize::ALL`] minimising the price of covering `calls`.
///
/// Unbounded covering knapsack over millions of calls. The 100M pack has the lowest price
/// per call for every item, and among any 100 smaller packs some subset sums to a multiple
/// of 100M (pigeonhole on prefix sums mod 100), which 100M packs cover for no more money;
/// so an optimum uses fewer than 100 smaller packs (under 10,000M calls), and everything
/// beyond that window is 100M packs. The exact search runs only over the window.
fn cheapest_cover(item: Item, calls: u64) -> [u64; 4] {
    const WINDOW: u64 = 10_100; // in millions of calls
    let need = calls.div_ceil(1_000_000);
    let fixed_100m = need.saturating_sub(WINDOW).div_ceil(100);
    let rest = (need - (fixed_100m * 100).min(need)) as usize;
    let sizes: Vec<(usize, Money)> = PackSize::ALL
        .iter()
        .map(|s| ((s.units() / 1_000_000) as usize, item.pack_price(*s)))
        .collect();
    // best[k] = (cost, last pack index) to cover k million calls
    let mut best: Vec<(Money, usize)> = vec![(Money::ZERO, usize::MAX); rest + 1];
    for k in 1..=rest {
        let mut choice = (Money::yuan(i64::MAX / 4), 0);
        for (i, (m, price)) in sizes.iter().enumerate() {
            let cost = best[k.saturating_sub(*m)].0 + *price;
            if cost < choice.0 {
                choice = (cost, i);
            }
        }
        best[k] = choice;
    }
    let mut counts = [0u64; 4];
    counts[3] = fixed_100m;
    let mut k = rest;
    while k > 0 {
        let i = best[k].1;
        counts[i] += 1;
        k = k.saturating_sub(sizes[i].0);
    }
    counts
}

/// An order of `devices` licences of one offline SDK (volume tiering; Q < 50 refused).
pub fn sdk_device(sdk: Sdk, devices: u64) -> Result<Quote, BillingError> {
    let tier = Tier::sdk_devices(devices)?;
    let price = sdk.device_price(tier);
    let mut q = Quote::new(
        "sdk-device",
        vec![QuoteLine {
            kind: "devices",
            description: format!(
                "{sdk} SDK, permanent device licences, tier {}",
                tier.number()
            ),
            quantity: devices,
            tier: Some(tier.number()),
            unit_price: price.amount(),
            amount: price.times(Decimal::from(devices)),
        }],
    );
    q.sdk = Some(sdk);
    Ok(q)
}

/// A platform licence of one offline SDK for one application package, `years` years.
pub fn sdk_platform(sdk: Sdk, years: u64) -> Result<Quote, BillingError> {
    if !(1..=100).contains(&years) {
        return Err(BillingError::OutOfRange(format!(
            "years must be between 1 and 100, got {years}"
        )));
    }
    let price = sdk.platform_price_per_year();
    let mut q = Quote::new(
        "sdk-platform",
        vec![QuoteLine {
            kind: "platform",
            description: format!("{sdk} SDK platform licence, one application, per year"),
            quantity: years,
            tier: None,
            unit_price: price.amount(),
            amount: price.times(Decimal::from(years)),
        }],
    );
    q.sdk = Some(sdk);
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_examples() {
        assert_eq!(
            prepaid_year(Item::Compare, 30_000_000).total.to_string(),
            "91200.00"
        );
        assert_eq!(
            prepaid_month(Item::Search, 52_000_000, &[PackSize::M50])
                .total
                .to_string(),
            "148868.00"
        );
        assert_eq!(
            postpaid_month(Item::Landmarks, 1_000_000).total.to_string(),
            "1980.00"
        );
        assert_eq!(
            postpaid_month(Item::Compare, 3_500_000).total.to_string(),
            "10470.00"
        );
        assert_eq!(
            postpaid_month(Item::Liveness, 5_000_000).total.to_string(),
            "8483.00"
        );
        assert_eq!(
            sdk_device(Sdk::Detect, 500).unwrap().total.to_string(),
            "144000.00"
        );
        assert_eq!(
            sdk_device(Sdk::Search, 4000).unwrap().total.to_string(),
            "1232000.00"
        );
        assert_eq!(
            sdk_platform(Sdk::Detect, 1).unwrap().total.to_string(),
            "300000.00"
        );
    }

    #[test]
    fn cheapest_cover_matches_brute_force() {
        for item in Item::ALL {
            for need in [
                0u64, 1, 2, 9, 10, 11, 34, 49, 50, 51, 99, 100, 101, 160, 250,
            ] {
                let got = prepaid_year(item, need * 1_000_000).total;
                let mut best = Money::yuan(i64::MAX / 4);
                for a in 0..=need {
                    for b in 0..=need.div_ceil(10) {
                        for c in 0..=need.div_ceil(50) {
                            let covered = a + 10 * b + 50 * c;
                            let d = need.saturating_sub(covered).div_ceil(100);
                            let cost = item.pack_price(PackSize::M1).times(a.into())
                                + item.pack_price(PackSize::M10).times(b.into())
                                + item.pack_price(PackSize::M50).times(c.into())
                                + item.pack_price(PackSize::M100).times(d.into());
                            best = best.min(cost);
                        }
                    }
                }
                assert_eq!(got, best, "{item} {need}M");
            }
        }
    }

    #[test]
    fn huge_year_uses_the_window() {
        let q = prepaid_year(Item::Detect, 123_456_000_000);
        assert!(q.total > Money::ZERO);
        let covered: u64 = q
            .lines
            .iter()
            .map(|l| {
                let size: PackSize = l.description.rsplit(' ').nth(1).unwrap().parse().unwrap();
                l.quantity * size.units()
            })
            .sum();
        assert!(covered >= 123_456_000_000);
    }
}

//! The SQLite writer's state between batches: the balances, monthly counters, settled
//! months and packs of the accounts it has metered, as its last commit left them.
//!
//! Reading that state back in every batch was a quarter of a batch's time over 1,000
//! accounts (locking the balance rows, then three reads). It may be kept only while the
//! writer is the sole writer of the database: a top-up, a pack bought or voided, a call
//! voided, a month settled, another process metering — any of them changes what the next
//! batch must see. SQLite says whether that happened: `PRAGMA data_version` on a
//! connection changes exactly when another connection has committed to the database. The
//! writer reads it in every batch after `BEGIN IMMEDIATE` (holding the database's one
//! write lock, so nothing else can commit until it does); unchanged since the batch
//! before on the same connection means that nothing but the writer has written since, and
//! the kept state is the stored state. Changed, the whole cache is dropped and the batch
//! reads everything as before. PostgreSQL has no such signal (several nodes may share
//! the database), so there every batch reads its state under row locks.
//!
//! The cache is changed only by a batch that committed; a batch that fails drops it.

use std::collections::{HashMap, HashSet};

use super::rule::{Counter, PackState};
use crate::account::Balance;
use crate::catalogue::Item;

/// Past this many accounts the cache is dropped and starts again (memory stays bounded
/// by the accounts that meter in a while, not by every account ever seen).
const MAX_ACCOUNTS: usize = 100_000;

pub(super) struct StateCache {
    /// `PRAGMA data_version` of the writer's connection when the state below was true.
    pub version: i64,
    /// Accounts whose balance and packs are loaded.
    pub accounts: HashSet<i64>,
    pub balances: HashMap<i64, Balance>,
    /// Packs with units left when loaded, in consumption order; those used up since stay
    /// with `remaining == 0`. An account without packs for an item has no entry.
    pub packs: HashMap<(i64, Item), Vec<PackState>>,
    /// Per billing month (`YYYY-MM`).
    pub months: HashMap<String, MonthState>,
}

/// The accounts' counters and settlement of one billing month.
#[derive(Default)]
pub(super) struct MonthState {
    /// Accounts whose counters and settlement of the month are loaded.
    pub loaded: HashSet<i64>,
    /// Of those, the accounts whose month is settled (closed to metering).
    pub settled: HashSet<i64>,
    /// Their counters; an item without a row has no entry (it counts from zero).
    pub counters: HashMap<(i64, Item), Counter>,
}

impl StateCache {
    pub fn new(version: i64) -> StateCache {
        StateCache {
            version,
            accounts: HashSet::new(),
            balances: HashMap::new(),
            packs: HashMap::new(),
            months: HashMap::new(),
        }
    }

    /// Whether it still holds the stored state: nothing else committed since (the same
    /// connection's `data_version` unchanged) and it has not outgrown its bound.
    pub fn is_current(&self, version: i64) -> bool {
        self.version == version && self.accounts.len() <= MAX_ACCOUNTS
    }

    /// Takes in what a committed batch left: its counters (keyed by the batch's month
    /// index into `months`) and packs, as stored (not dirty).
    pub fn absorb(
        &mut self,
        counters: HashMap<(i64, Item, usize), Counter>,
        months: &[String],
        packs: HashMap<(i64, Item), Vec<PackState>>,
    ) {
        for ((account, item, month), mut c) in counters {
            c.dirty = false;
            let label = months[month].as_str();
            if !self.months.contains_key(label) {
                self.months.insert(label.to_string(), MonthState::default());
            }
            if let Some(m) = self.months.get_mut(label) {
                m.counters.insert((account, item), c);
            }
        }
        for (key, mut stack) in packs {
            for p in &mut stack {
                p.dirty = false;
            }
            self.packs.insert(key, stack);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(id: i64, remaining: i64) -> PackState {
        PackState {
            id,
            size: 100,
            purchased_us: 0,
            expires_us: 1,
            remaining,
            low_notified: false,
            exhausted_notified: false,
            dirty: true,
        }
    }

    #[test]
    fn current_only_on_the_same_data_version_and_within_bound() {
        let mut c = StateCache::new(7);
        assert!(c.is_current(7));
        assert!(!c.is_current(8), "another connection committed");
        c.accounts.extend(0..=MAX_ACCOUNTS as i64);
        assert!(!c.is_current(7), "outgrown");
    }

    #[test]
    fn absorb_keeps_a_batch_as_stored() {
        let mut c = StateCache::new(1);
        let months = ["2026-02".to_string(), "2026-03".to_string()];
        let counter = Counter {
            calls: 5,
            free: 3,
            pack: 2,
            postpaid: 0,
            dirty: true,
        };
        let counters = HashMap::from([((9, Item::Detect, 1), counter)]);
        let packs = HashMap::from([((9, Item::Detect), vec![pack(4, 98)])]);
        c.absorb(counters, &months, packs);
        let kept = c.months["2026-03"].counters[&(9, Item::Detect)];
        assert_eq!(
            kept,
            Counter {
                dirty: false,
                ..counter
            }
        );
        assert!(!c.months.contains_key("2026-02"));
        assert_eq!(
            c.packs[&(9, Item::Detect)],
            vec![PackState {
                dirty: false,
                ..pack(4, 98)
            }]
        );
    }
}

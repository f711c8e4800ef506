//! A schedule: what falls due when, earliest first. Transactions,
//! requests and offers, and auctions each keep one, and `Tick` takes from
//! them everything due by its time.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::units::Timestamp;

/// Items due at times; an item is removed by the same `(time, item)` it
/// was added with.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Schedule<T: Ord>(BTreeSet<(Timestamp, T)>);

impl<T: Ord> Default for Schedule<T> {
    fn default() -> Self {
        Schedule(BTreeSet::new())
    }
}

impl<T: Ord + Copy> Schedule<T> {
    /// Adds `item`, due at `at`.
    pub fn insert(&mut self, at: Timestamp, item: T) {
        self.0.insert((at, item));
    }

    /// Removes `item`, added as due at `at`.
    pub fn remove(&mut self, at: Timestamp, item: T) {
        self.0.remove(&(at, item));
    }

    /// Whether `item` is due at `at`.
    pub fn contains(&self, at: Timestamp, item: T) -> bool {
        self.0.contains(&(at, item))
    }

    /// How many items are scheduled.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The earliest item due at or before `time`, left in place.
    pub fn next(&self, time: Timestamp) -> Option<T> {
        self.0
            .first()
            .filter(|(at, _)| *at <= time)
            .map(|(_, item)| *item)
    }

    /// The earliest item due at or before `time`, taken off.
    pub fn pop(&mut self, time: Timestamp) -> Option<T> {
        let item = self.next(time)?;
        self.0.pop_first();
        Some(item)
    }
}

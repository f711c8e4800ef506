//! One side of an order book: its price levels, best last.
//!
//! A side is usually *dense*: one slot per tick from its worst price to
//! its best, in a `Vec` with spare room at the front, so the level at a
//! price is found by subtracting (no search, one cache line read) and a
//! level that appears or empties between others moves nothing. A slot
//! with no orders is an empty level, which iteration skips; the worst and
//! best slots in use always hold orders.
//!
//! A side whose prices lie far apart for its number of levels (an order
//! far from all others, say) would spend its memory on empty slots: it is
//! *sparse* then, keeping only the levels that hold orders, sorted and
//! found by binary search. It turns dense again once its prices are close
//! enough, but only after as many operations as it has levels, so that an
//! order placed far away and cancelled, over and over, costs each
//! operation a constant amount of copying, not a rebuild.

use serde::{Deserialize, Serialize, Serializer};

use crate::cmd::place_order::Side;
use crate::orders::NIL;
use crate::prefetch::prefetch;
use crate::units::{Lots, Ticks};

/// All resting orders at one price on one side.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Level {
    pub price: Ticks,
    /// Sum of the remaining lots of the level's orders.
    pub total: Lots,
    pub count: u32,
    /// Oldest order (first to fill).
    pub head: u32,
    /// Newest order.
    pub tail: u32,
}

impl Level {
    /// A level at `price` with no orders: a dense side's gap.
    fn empty(price: Ticks) -> Level {
        Level {
            price,
            total: Lots(0),
            count: 0,
            head: NIL,
            tail: NIL,
        }
    }
}

/// Slots a dense side may span whatever its number of levels.
const DENSE_SPAN_MIN: u64 = 256;

/// Slots per level a dense side may grow to span beyond the minimum; it
/// turns sparse when a new level would stretch it further, or when
/// removals leave it spanning twice that.
const DENSE_SLOTS_PER_LEVEL: u64 = 4;

/// Spare slots a dense side may keep at the front beyond twice the
/// slots in use.
const SPARE_SLOTS_MIN: usize = 64;

/// Operations a sparse side makes at least before it may turn dense.
const SPARSE_OPS_MIN: u32 = 64;

/// The most slots a dense side of `levels` levels may span.
fn dense_span_max(levels: u32) -> u64 {
    DENSE_SPAN_MIN.max(DENSE_SLOTS_PER_LEVEL * u64::from(levels))
}

/// Sort key that puts the best price last on either side.
fn key(side: Side, price: Ticks) -> i64 {
    match side {
        Side::Buy => price.0,
        Side::Sell => -price.0,
    }
}

/// The price whose key is `key` on `side`.
fn price_of(side: Side, key: i64) -> Ticks {
    match side {
        Side::Buy => Ticks(key),
        Side::Sell => Ticks(-key),
    }
}

/// Empty slots for the keys `keys` on `side`.
fn gaps(side: Side, keys: std::ops::Range<i64>) -> impl Iterator<Item = Level> {
    keys.map(move |k| Level::empty(price_of(side, k)))
}

/// One side's levels (see the module's doc).
#[derive(Clone, Debug)]
pub(crate) struct Ladder {
    side: Side,
    /// Dense: slot `i` holds the level whose key is `origin + i`, empty
    /// or not; the slots before `start` are spare room, all empty.
    /// Sparse: the levels that hold orders, ascending by key.
    levels: Vec<Level>,
    /// Dense: the key of slot 0.
    origin: i64,
    /// Dense: the worst level's slot. Sparse: 0.
    start: usize,
    /// Levels that hold orders.
    live: u32,
    dense: bool,
    /// Operations since the side turned sparse.
    sparse_ops: u32,
}

impl Ladder {
    /// A side with no levels.
    pub fn new(side: Side) -> Ladder {
        Ladder {
            side,
            levels: Vec::new(),
            origin: 0,
            start: 0,
            live: 0,
            dense: true,
            sparse_ops: 0,
        }
    }

    /// The side holding `levels` (each with orders, ascending by key).
    pub fn from_levels(side: Side, levels: Vec<Level>) -> Ladder {
        let mut ladder = Ladder {
            side,
            live: u32::try_from(levels.len()).unwrap_or(u32::MAX),
            levels,
            origin: 0,
            start: 0,
            dense: false,
            sparse_ops: 0,
        };
        if ladder.span() <= dense_span_max(ladder.live) {
            ladder.make_dense();
        }
        ladder
    }

    /// Number of levels (with orders).
    pub fn len(&self) -> u32 {
        self.live
    }

    /// The best level.
    pub fn best(&self) -> Option<&Level> {
        self.levels.last()
    }

    /// The levels with orders, worst first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Level> + '_ {
        self.levels.iter().filter(|l| l.count > 0)
    }

    /// Where the level at `price` is, if it holds orders.
    #[inline]
    pub fn find(&self, price: Ticks) -> Option<usize> {
        if !self.dense {
            return self.find_sparse(price);
        }
        let i = self.slot(price)?;
        match self.levels.get(i) {
            Some(level) if level.count > 0 => Some(i),
            _ => None,
        }
    }

    /// Asks the CPU to start loading the slot of `price`, on a dense side.
    #[inline]
    pub fn prefetch(&self, price: Ticks) {
        if let Some(i) = self.slot(price).filter(|_| self.dense) {
            prefetch(self.levels.as_ptr().wrapping_add(i));
        }
    }

    /// Where the level at `price` is, and the level, if it holds orders.
    #[inline]
    pub fn find_mut(&mut self, price: Ticks) -> Option<(usize, &mut Level)> {
        let i = self.find(price)?;
        Some((i, &mut self.levels[i]))
    }

    #[inline(never)]
    fn find_sparse(&self, price: Ticks) -> Option<usize> {
        let k = key(self.side, price);
        self.levels
            .binary_search_by(|l| key(self.side, l.price).cmp(&k))
            .ok()
    }

    /// Adds `level`, whose price has no level yet.
    #[inline]
    pub fn insert(&mut self, level: Level) {
        debug_assert!(level.count > 0 && self.find(level.price).is_none());
        if self.dense && self.live > 0 {
            if let Some(i) = self.slot(level.price).filter(|&i| i < self.levels.len()) {
                self.levels[i] = level;
                self.start = self.start.min(i);
                self.live += 1;
                return;
            }
        }
        self.insert_outside(level);
    }

    /// Adds `level` to a sparse or empty side, or beyond either end of a
    /// dense one's slots.
    #[inline(never)]
    fn insert_outside(&mut self, level: Level) {
        let k = key(self.side, level.price);
        if !self.dense {
            let at = self.levels.partition_point(|l| key(self.side, l.price) < k);
            self.levels.insert(at, level);
            self.live += 1;
            self.after_sparse_op();
            return;
        }
        let Some((first, last)) = self.ends() else {
            self.levels.clear();
            self.levels.push(level);
            (self.origin, self.start, self.live) = (k, 0, 1);
            return;
        };
        if k.max(last).abs_diff(k.min(first)) >= dense_span_max(self.live + 1) {
            // Too far from the rest to stay dense.
            self.make_sparse();
            self.insert_outside(level);
            return;
        }
        if k > last {
            self.levels.extend(gaps(self.side, last + 1..k));
            self.levels.push(level);
            self.live += 1;
        } else {
            // Before slot 0: make room at the front, as much again as the
            // slots in use, so that the next orders there find it.
            let needed = (self.origin - k) as usize;
            let room = needed.max(self.levels.len() - self.start);
            let origin = self.origin - room as i64;
            self.levels
                .splice(0..0, gaps(self.side, origin..self.origin));
            (self.origin, self.start) = (origin, self.start + room);
            self.insert(level);
        }
    }

    /// Drops the level at `i`, which its last order has just left (its
    /// count is 0).
    #[inline]
    pub fn remove_at(&mut self, i: usize) {
        debug_assert_eq!(self.levels[i].count, 0);
        self.live -= 1;
        if !self.dense {
            self.levels.remove(i);
            self.after_sparse_op();
        } else if i == self.start || i + 1 == self.levels.len() {
            self.trim();
        } else {
            self.make_sparse_if_spread();
        }
    }

    /// Drops a dense side's empty slots at either end, and the spare room
    /// at the front once it outgrows the slots in use; turns the side
    /// sparse if its levels are then spread too far apart.
    #[inline(never)]
    fn trim(&mut self) {
        if self.live == 0 {
            self.levels.clear();
            self.start = 0;
            return;
        }
        while self.levels.last().is_some_and(|l| l.count == 0) {
            self.levels.pop();
        }
        while self.levels[self.start].count == 0 {
            self.start += 1;
        }
        if self.start > 2 * (self.levels.len() - self.start) + SPARE_SLOTS_MIN {
            self.levels.drain(..self.start);
            self.origin += self.start as i64;
            self.start = 0;
        }
        self.make_sparse_if_spread();
    }

    /// Checks the side's own structure: levels in order, the right count,
    /// the worst and best slots in use holding orders, and each dense
    /// level in the slot of its price.
    pub fn check(&self) -> Result<(), String> {
        let levels = self.iter().collect::<Vec<_>>();
        if levels.len() != self.live as usize {
            return Err(format!("{:?} side counts {} levels", self.side, self.live));
        }
        if levels
            .windows(2)
            .any(|pair| key(self.side, pair[0].price) >= key(self.side, pair[1].price))
        {
            return Err(format!("{:?} levels out of order", self.side));
        }
        let ends_hold_orders = self.live == 0
            || (self.levels[self.start].count > 0
                && self.levels.last().is_some_and(|l| l.count > 0));
        let in_their_slots =
            !self.dense
                || self.levels.iter().enumerate().all(|(i, l)| {
                    l.count == 0 || key(self.side, l.price) == self.origin + i as i64
                });
        if !ends_hold_orders || !in_their_slots {
            return Err(format!("{:?} side's slots are misplaced", self.side));
        }
        Ok(())
    }

    /// Whether the side keeps one slot per tick.
    #[cfg(test)]
    pub fn is_dense(&self) -> bool {
        self.dense
    }

    /// The slot of `price` on a dense side: `None` below slot 0, past the
    /// end above the last.
    #[inline]
    fn slot(&self, price: Ticks) -> Option<usize> {
        usize::try_from(key(self.side, price).wrapping_sub(self.origin)).ok()
    }

    /// The keys of the worst and best levels, if any.
    #[inline]
    fn ends(&self) -> Option<(i64, i64)> {
        match (self.levels.get(self.start), self.levels.last()) {
            (Some(worst), Some(best)) if self.live > 0 => {
                Some((key(self.side, worst.price), key(self.side, best.price)))
            }
            _ => None,
        }
    }

    /// Ticks from the worst level to the best, both included.
    #[inline]
    fn span(&self) -> u64 {
        self.ends()
            .map_or(0, |(worst, best)| best.abs_diff(worst) + 1)
    }

    /// Turns a dense side sparse once removals have left its levels
    /// spread over more than twice the span it may grow to.
    #[inline]
    fn make_sparse_if_spread(&mut self) {
        if self.span() > 2 * dense_span_max(self.live) {
            self.make_sparse();
        }
    }

    fn after_sparse_op(&mut self) {
        self.sparse_ops = self.sparse_ops.saturating_add(1);
        if self.live == 0
            || (self.sparse_ops >= self.live.max(SPARSE_OPS_MIN)
                && self.span() <= dense_span_max(self.live) / 2)
        {
            self.make_dense();
        }
    }

    fn make_sparse(&mut self) {
        self.levels.drain(..self.start);
        self.levels.retain(|l| l.count > 0);
        self.start = 0;
        self.dense = false;
        self.sparse_ops = 0;
    }

    /// Fills the gaps between the (sparse) levels with empty slots.
    fn make_dense(&mut self) {
        let side = self.side;
        let mut slots: Vec<Level> = Vec::with_capacity(self.span() as usize);
        for level in self.levels.drain(..) {
            let k = key(side, level.price);
            let next = slots.last().map_or(k, |l| key(side, l.price) + 1);
            slots.extend(gaps(side, next..k));
            slots.push(level);
        }
        self.origin = slots.first().map_or(0, |l| key(side, l.price));
        self.levels = slots;
        self.start = 0;
        self.dense = true;
        self.sparse_ops = 0;
    }
}

/// Stored as its levels with orders, worst first: the same as a sorted
/// list of levels, whichever way the side keeps them.
impl Serialize for Ladder {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.live as usize))?;
        for level in self.iter() {
            seq.serialize_element(level)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// A level at `price` holding one order, told apart by `tag`.
    fn level(price: i64, tag: u32) -> Level {
        Level {
            price: Ticks(price),
            total: Lots(i64::from(tag) + 1),
            count: 1,
            head: tag,
            tail: tag,
        }
    }

    /// Empties and drops the level at `price`.
    fn drop_level(ladder: &mut Ladder, price: i64) {
        let (i, l) = ladder.find_mut(Ticks(price)).expect("a level there");
        (l.count, l.total) = (0, Lots(0));
        ladder.remove_at(i);
    }

    fn prices(ladder: &Ladder) -> Vec<i64> {
        ladder.iter().map(|l| l.price.0).collect()
    }

    #[test]
    fn levels_near_each_other_stay_dense_and_come_out_best_last() {
        for side in [Side::Buy, Side::Sell] {
            let mut ladder = Ladder::new(side);
            for (tag, price) in [100, 97, 103, 99, 90].into_iter().enumerate() {
                ladder.insert(level(price, tag as u32));
            }
            assert!(ladder.is_dense());
            let mut want = vec![90, 97, 99, 100, 103];
            if side == Side::Sell {
                want.reverse();
            }
            assert_eq!(prices(&ladder), want);
            assert_eq!(ladder.best().map(|l| l.price.0), want.last().copied());
            assert_eq!(ladder.find(Ticks(98)), None, "a gap holds no level");
            drop_level(&mut ladder, *want.last().unwrap());
            drop_level(&mut ladder, 99);
            assert_eq!(ladder.len(), 3);
            ladder.check().unwrap();
        }
    }

    #[test]
    fn a_far_level_turns_the_side_sparse_until_it_is_gone_long_enough() {
        let mut ladder = Ladder::new(Side::Buy);
        for p in 1_000..1_010 {
            ladder.insert(level(p, p as u32));
        }
        ladder.insert(level(1_000_000_000, 7));
        assert!(!ladder.is_dense(), "a billion empty slots are not kept");
        assert_eq!(ladder.best().map(|l| l.price.0), Some(1_000_000_000));
        drop_level(&mut ladder, 1_000_000_000);
        assert!(!ladder.is_dense(), "not at once after the far level goes");
        // The far level's insert and removal, then two operations a round.
        let mut ops = 2;
        while !ladder.is_dense() && ops < 10 * SPARSE_OPS_MIN {
            ladder.insert(level(1_020, 1));
            drop_level(&mut ladder, 1_020);
            ops += 2;
        }
        assert_eq!(
            ops, SPARSE_OPS_MIN,
            "sparse for exactly that many operations"
        );
        assert!(ladder.is_dense(), "dense again once close for a while");
        assert_eq!(prices(&ladder), (1_000..1_010).collect::<Vec<_>>());
        ladder.check().unwrap();
    }

    #[test]
    fn levels_below_the_worst_use_room_made_at_the_front() {
        let mut ladder = Ladder::new(Side::Sell);
        ladder.insert(level(500, 0));
        for p in (400..500).rev() {
            ladder.insert(level(p, p as u32));
        }
        for p in 501..600 {
            ladder.insert(level(p, p as u32));
        }
        assert!(ladder.is_dense());
        assert_eq!(ladder.best().map(|l| l.price.0), Some(400));
        assert_eq!(prices(&ladder), (400..600).rev().collect::<Vec<_>>());
        ladder.check().unwrap();
    }

    #[test]
    fn stored_levels_come_back_as_they_were() {
        let mut ladder = Ladder::new(Side::Sell);
        for (tag, price) in [10, 12, 7, 5_000_000].into_iter().enumerate() {
            ladder.insert(level(price, tag as u32));
        }
        let stored = bincode::serialize(&ladder).unwrap();
        let levels: Vec<Level> = bincode::deserialize(&stored).unwrap();
        assert_eq!(levels, ladder.iter().copied().collect::<Vec<_>>());
        let back = Ladder::from_levels(Side::Sell, levels);
        assert_eq!(prices(&back), prices(&ladder));
        back.check().unwrap();
    }

    proptest! {
        /// Against a map of price to level: inserts and removals near a
        /// price that wanders, and now and then at a few prices far away,
        /// so the side goes sparse and, once those are gone, dense again.
        #[test]
        fn matches_a_map(
            buy in any::<bool>(),
            ops in proptest::collection::vec((any::<bool>(), -40i64..40, 0u8..100), 1..1_500),
        ) {
            let side = if buy { Side::Buy } else { Side::Sell };
            let mut ladder = Ladder::new(side);
            let mut model: BTreeMap<i64, Level> = BTreeMap::new();
            let mut centre = 1_000_000i64;
            for (tag, (add, offset, far)) in ops.into_iter().enumerate() {
                centre += offset / 8;
                let price = match far {
                    0 => 900_000_000 + offset.rem_euclid(3),
                    1..=2 => 10_000 + offset.rem_euclid(3),
                    _ => centre + offset,
                };
                let present = model.contains_key(&price);
                prop_assert_eq!(ladder.find(Ticks(price)).is_some(), present);
                if add && !present {
                    let l = level(price, tag as u32);
                    ladder.insert(l);
                    model.insert(price, l);
                } else if !add && present {
                    drop_level(&mut ladder, price);
                    model.remove(&price);
                }
                let mut want: Vec<Level> = model.values().copied().collect();
                if side == Side::Sell {
                    want.reverse();
                }
                prop_assert_eq!(ladder.iter().copied().collect::<Vec<_>>(), want.clone());
                prop_assert_eq!(ladder.best().copied(), want.last().copied());
                prop_assert_eq!(ladder.len() as usize, want.len());
                prop_assert!(ladder.check().is_ok(), "{:?}", ladder.check());
            }
        }
    }
}

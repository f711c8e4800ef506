//! A schedule: what falls due when, earliest first. Transactions,
//! requests and offers, and auctions each keep one, and `Tick` takes from
//! them everything due by its time.
//!
//! Most deadlines are "now + a fixed window", so they arrive in time
//! order: every order-book fill, for one, adds a delivery deadline later
//! than all before it. Those are appended to one of a few sorted runs in
//! constant time; only the rest pay for an ordered set. A removal from a
//! run marks its entry dead (found by binary search) and dead entries
//! leave when they reach the front.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::chunked::ChunkedDeque;
use crate::units::Timestamp;

/// How many sorted runs a schedule keeps before sending out-of-order
/// items to its ordered set: one per kind of window (funding, delivery,
/// release cooldown) with room to spare.
const RUNS_MAX: usize = 4;

/// One scheduled item in a run.
#[derive(Copy, Clone, Debug)]
struct Entry<T> {
    at: Timestamp,
    item: T,
    /// False once removed; the entry stays until it reaches the front.
    live: bool,
}

impl<T: Ord + Copy> Entry<T> {
    fn key(&self) -> (Timestamp, T) {
        (self.at, self.item)
    }
}

/// Items due at times; an item is removed by the same `(time, item)` it
/// was added with, and a `(time, item)` pair is scheduled at most once.
#[derive(Clone, Debug)]
pub(crate) struct Schedule<T> {
    /// Each ascending by `(at, item)`, its front live; in chunks, so that
    /// appending never copies a run (as one `VecDeque`, a run of
    /// order-book delivery deadlines doubled with the fills, and at half a
    /// million the copy held a command for 3-12 ms).
    runs: Vec<ChunkedDeque<Entry<T>>>,
    /// Items that fit no run.
    others: BTreeSet<(Timestamp, T)>,
    /// Dead entries still in the runs.
    dead: usize,
}

impl<T> Default for Schedule<T> {
    fn default() -> Self {
        Schedule {
            runs: Vec::new(),
            others: BTreeSet::new(),
            dead: 0,
        }
    }
}

impl<T: Ord + Copy> Schedule<T> {
    /// Adds `item`, due at `at`.
    pub fn insert(&mut self, at: Timestamp, item: T) {
        debug_assert!(!self.contains(at, item), "scheduled twice");
        let key = (at, item);
        let entry = Entry {
            at,
            item,
            live: true,
        };
        // Most often there is one run (the fills' delivery deadlines) and
        // the item goes at its end, as the search below would choose.
        if let [run] = self.runs.as_mut_slice() {
            if run.back().is_some_and(|last| last.key() < key) {
                run.push_back(entry);
                return;
            }
        }
        // The run whose last entry is the latest one before `key`: runs
        // stay few when items of several windows interleave.
        let fit = self
            .runs
            .iter()
            .enumerate()
            .filter_map(|(i, run)| match run.back() {
                None => Some((i, None)),
                Some(last) if last.key() < key => Some((i, Some(last.key()))),
                Some(_) => None,
            })
            .max_by(|a, b| a.1.cmp(&b.1))
            .map(|(i, _)| i);
        match fit {
            Some(i) => self.runs[i].push_back(entry),
            None if self.runs.len() < RUNS_MAX => {
                let mut run = ChunkedDeque::default();
                run.push_back(entry);
                self.runs.push(run);
            }
            None => {
                self.others.insert(key);
            }
        }
    }

    /// Removes `item`, added as due at `at`.
    pub fn remove(&mut self, at: Timestamp, item: T) {
        if self.others.remove(&(at, item)) {
            return;
        }
        if let Some((run, i)) = self.find_live(at, item) {
            if let Some(entry) = self.runs[run].get_mut(i) {
                entry.live = false;
            }
            self.dead += 1;
            self.trim(run);
        }
    }

    /// Whether `item` is due at `at`.
    pub fn contains(&self, at: Timestamp, item: T) -> bool {
        self.others.contains(&(at, item)) || self.find_live(at, item).is_some()
    }

    /// How many items are scheduled.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.runs.iter().map(ChunkedDeque::len).sum::<usize>() - self.dead + self.others.len()
    }

    /// The earliest item due at or before `time`, left in place.
    pub fn next(&self, time: Timestamp) -> Option<T> {
        self.earliest()
            .map(|(_, key)| key)
            .filter(|(at, _)| *at <= time)
            .map(|(_, item)| item)
    }

    /// The earliest item due at or before `time`, taken off.
    pub fn pop(&mut self, time: Timestamp) -> Option<T> {
        let (from, (at, item)) = self.earliest()?;
        if at > time {
            return None;
        }
        match from {
            Some(run) => {
                self.runs[run].pop_front();
                self.trim(run);
            }
            None => {
                self.others.pop_first();
            }
        }
        Some(item)
    }

    /// Every scheduled `(time, item)`, earliest first.
    pub fn entries(&self) -> Vec<(Timestamp, T)> {
        let mut all: Vec<(Timestamp, T)> = self
            .runs
            .iter()
            .flat_map(ChunkedDeque::iter)
            .filter(|e| e.live)
            .map(Entry::key)
            .chain(self.others.iter().copied())
            .collect();
        all.sort_unstable();
        all
    }

    /// The earliest entry, and the run it heads (`None`: the set).
    fn earliest(&self) -> Option<(Option<usize>, (Timestamp, T))> {
        let runs = self
            .runs
            .iter()
            .enumerate()
            .filter_map(|(i, run)| Some((Some(i), run.front()?.key())));
        let others = self.others.first().map(|key| (None, *key));
        runs.chain(others).min_by(|a, b| a.1.cmp(&b.1))
    }

    /// Where the live entry `(at, item)` sits: its run, and its index there.
    fn find_live(&self, at: Timestamp, item: T) -> Option<(usize, usize)> {
        let key = (at, item);
        self.runs.iter().enumerate().find_map(|(r, run)| {
            let i = run.partition_point(|e| e.key() < key);
            let e = run.get(i)?;
            (e.key() == key && e.live).then_some((r, i))
        })
    }

    /// Drops the dead entries at the front of run `run`.
    fn trim(&mut self, run: usize) {
        let run = &mut self.runs[run];
        while run.front().is_some_and(|e| !e.live) {
            run.pop_front();
            self.dead -= 1;
        }
    }
}

/// Stored as its entries in time order, however they are laid out.
impl<T: Ord + Copy + Serialize> Serialize for Schedule<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.entries().serialize(serializer)
    }
}

impl<'de, T: Ord + Copy + Deserialize<'de>> Deserialize<'de> for Schedule<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<(Timestamp, T)>::deserialize(deserializer)?;
        // Stored in strictly increasing order, which also rules out an
        // item scheduled twice; in order, every insert is an append.
        if entries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(serde::de::Error::custom(
                "scheduled items out of order, or one scheduled twice",
            ));
        }
        let mut schedule = Schedule::default();
        for (at, item) in entries {
            schedule.insert(at, item);
        }
        Ok(schedule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(i64, u8),
        Remove(usize),
        Pop(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..200i64, any::<u8>()).prop_map(|(t, i)| Op::Insert(t, i)),
            2 => any::<usize>().prop_map(Op::Remove),
            1 => (0..200i64).prop_map(Op::Pop),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_an_ordered_set(ops in prop::collection::vec(op(), 1..400)) {
            // Whatever the mix of in-order and out-of-order inserts,
            // removals and pops, the schedule answers as a BTreeSet of
            // (time, item) does, and survives a serde round trip.
            let mut schedule = Schedule::default();
            let mut model = BTreeSet::new();
            let mut clock = 0i64;
            for op in ops {
                match op {
                    Op::Insert(dt, item) => {
                        // Mostly later than everything so far, as deadlines are.
                        clock += 1;
                        let at = Timestamp(if dt < 150 { clock + dt % 3 } else { dt });
                        if model.insert((at, item)) {
                            schedule.insert(at, item);
                        }
                    }
                    Op::Remove(i) => {
                        if !model.is_empty() {
                            let key = *model.iter().nth(i % model.len()).unwrap();
                            model.remove(&key);
                            schedule.remove(key.0, key.1);
                        }
                    }
                    Op::Pop(t) => {
                        let expected = model.first().filter(|(at, _)| at.0 <= t).copied();
                        if let Some(key) = expected {
                            model.remove(&key);
                        }
                        prop_assert_eq!(schedule.pop(Timestamp(t)), expected.map(|k| k.1));
                    }
                }
                prop_assert_eq!(schedule.len(), model.len());
                prop_assert_eq!(schedule.next(Timestamp(i64::MAX)), model.first().map(|k| k.1));
                for &(at, item) in model.iter().take(20) {
                    prop_assert!(schedule.contains(at, item));
                }
            }
            let entries: Vec<_> = model.iter().copied().collect();
            prop_assert_eq!(schedule.entries(), entries);
            let bytes = bincode::serialize(&schedule).unwrap();
            let restored: Schedule<u8> = bincode::deserialize(&bytes).unwrap();
            prop_assert_eq!(restored.entries(), schedule.entries());
        }
    }

    #[test]
    fn a_run_spans_chunks_without_losing_order_or_entries() {
        // One run of in-order deadlines over several chunks; removals on
        // and around the chunk boundaries, then everything pops in order.
        use crate::chunked::CHUNK;
        let n = 3 * CHUNK + 10;
        let mut s = Schedule::default();
        for i in 0..n {
            s.insert(Timestamp(i as i64), i);
        }
        assert_eq!((s.runs.len(), s.runs[0].len()), (1, n));
        let removed =
            |i: usize| i.is_multiple_of(5) || (CHUNK - 1..=CHUNK + 1).contains(&(i % (2 * CHUNK)));
        for i in (0..n).filter(|&i| removed(i)) {
            s.remove(Timestamp(i as i64), i);
        }
        for i in 0..n {
            assert_eq!(s.contains(Timestamp(i as i64), i), !removed(i), "item {i}");
        }
        let kept: Vec<usize> = (0..n).filter(|&i| !removed(i)).collect();
        assert_eq!(s.len(), kept.len());
        let popped: Vec<usize> = std::iter::from_fn(|| s.pop(Timestamp(i64::MAX))).collect();
        assert_eq!(popped, kept);
        assert!(s.runs[0].len() == 0 && s.dead == 0);
    }

    #[test]
    fn deadlines_in_time_order_never_touch_the_set() {
        // Three interleaved windows, each in time order: all in runs.
        let mut s = Schedule::default();
        for t in 0..1_000i64 {
            s.insert(Timestamp(t + 300), t as u32 * 3);
            s.insert(Timestamp(t + 700), t as u32 * 3 + 1);
            s.insert(Timestamp(t + 300), t as u32 * 3 + 2);
        }
        assert!(s.others.is_empty() && s.runs.len() <= RUNS_MAX);
        assert_eq!(s.len(), 3_000);
        assert_eq!(s.pop(Timestamp(300)), Some(0));
        assert_eq!(s.pop(Timestamp(300)), Some(2));
        assert_eq!(s.pop(Timestamp(300)), None);
    }
}

//! The ids of each agent's records of one kind (requests, listings,
//! auctions), so that "mine" lists walk the caller's own records instead
//! of every record in the market.
//!
//! Derived from the records, so not in snapshots: the store rebuilds it
//! with [`ByOwner::of`] after a restore.

use std::hash::Hash;

use rustc_hash::FxHashMap;

/// Record ids by owner (an agent, as the store names it), each list
/// ascending (ids are handed out in order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ByOwner<K: Eq + Hash> {
    ids: FxHashMap<K, Vec<u64>>,
}

impl<K: Eq + Hash> Default for ByOwner<K> {
    fn default() -> Self {
        ByOwner {
            ids: FxHashMap::default(),
        }
    }
}

impl<K: Copy + Eq + Hash> ByOwner<K> {
    /// The index of records numbered from 1 in the order `owners` yields
    /// their owners.
    pub fn of(owners: impl Iterator<Item = K>) -> ByOwner<K> {
        let mut index = ByOwner::default();
        for (i, owner) in owners.enumerate() {
            index.add(owner, i as u64 + 1);
        }
        index
    }

    /// Notes that `owner` created record `id`, newer than all it has.
    pub fn add(&mut self, owner: K, id: u64) {
        let ids = self.ids.entry(owner).or_default();
        debug_assert!(ids.last().is_none_or(|&last| last < id));
        ids.push(id);
    }

    /// `owner`'s record ids below `before` (all if `None`), newest first.
    pub fn below(&self, owner: K, before: Option<u64>) -> impl Iterator<Item = u64> + '_ {
        let ids = self.ids.get(&owner).map_or(&[][..], Vec::as_slice);
        let end = before.map_or(ids.len(), |b| ids.partition_point(|&id| id < b));
        ids[..end].iter().rev().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::AgentId;

    #[test]
    fn walks_one_owners_ids_newest_first_below_the_cursor() {
        let index = ByOwner::of([1, 2, 1, 1, 3].into_iter().map(AgentId));
        let below = |owner, before| index.below(AgentId(owner), before).collect::<Vec<_>>();
        assert_eq!(below(1, None), [4, 3, 1]);
        assert_eq!(below(1, Some(4)), [3, 1]);
        assert_eq!(below(1, Some(3)), [1]);
        // A cursor that is not one of the owner's ids still cuts in place.
        assert_eq!(below(1, Some(2)), [1]);
        assert_eq!(below(1, Some(1)), Vec::<u64>::new());
        assert_eq!(below(2, None), [2]);
        assert_eq!(below(9, None), Vec::<u64>::new());
    }
}

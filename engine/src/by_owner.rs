//! Records of one kind (requests, offers, listings, auctions) with the ids
//! of each agent's own, so that "mine" lists walk the caller's records
//! instead of every record in the market.
//!
//! [`OwnedRecords`] keeps the index in step with the records itself: a
//! push notes the owner, and a restore from a snapshot (which holds the
//! records alone) rebuilds it, so no store can forget either.

use std::hash::Hash;
use std::ops::{Deref, Index, IndexMut};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::segmented::Segmented;

/// A record that names the agent it belongs to (which never changes).
pub(crate) trait Owned {
    /// How the store names an agent.
    type Owner: Copy + Eq + Hash + std::fmt::Debug;
    /// The record's owner.
    fn owner(&self) -> Self::Owner;
}

/// Record ids by owner, each list ascending (ids are handed out in order).
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

/// Records numbered from 1 (at index id − 1) and each owner's ids. Reads go
/// to the records (`Deref`); records are added only by [`OwnedRecords::push`].
/// Stored as the records alone.
#[derive(Clone, Debug)]
pub(crate) struct OwnedRecords<R: Owned> {
    records: Segmented<R>,
    by_owner: ByOwner<R::Owner>,
}

impl<R: Owned> Default for OwnedRecords<R> {
    fn default() -> Self {
        OwnedRecords {
            records: Segmented::default(),
            by_owner: ByOwner::default(),
        }
    }
}

impl<R: Owned> OwnedRecords<R> {
    /// Adds `record` (its id is the new length).
    pub fn push(&mut self, record: R) {
        let id = self.records.len() as u64 + 1;
        self.by_owner.add(record.owner(), id);
        self.records.push(record);
    }

    /// The ids of `owner`'s records below `before`, newest first.
    pub fn owned_by(&self, owner: R::Owner, before: Option<u64>) -> impl Iterator<Item = u64> + '_ {
        self.by_owner.below(owner, before)
    }

    /// Whether the index lists exactly each owner's records (for the
    /// invariant checks).
    pub fn index_is_whole(&self) -> bool {
        self.by_owner == ByOwner::of(self.records.iter().map(R::owner))
    }
}

impl<R: Owned> Deref for OwnedRecords<R> {
    type Target = Segmented<R>;

    fn deref(&self) -> &Segmented<R> {
        &self.records
    }
}

impl<R: Owned> Index<usize> for OwnedRecords<R> {
    type Output = R;

    fn index(&self, index: usize) -> &R {
        &self.records[index]
    }
}

/// A record may change, but not its owner.
impl<R: Owned> IndexMut<usize> for OwnedRecords<R> {
    fn index_mut(&mut self, index: usize) -> &mut R {
        &mut self.records[index]
    }
}

impl<R: Owned + Serialize> Serialize for OwnedRecords<R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.records.serialize(serializer)
    }
}

impl<'de, R: Owned + Deserialize<'de>> Deserialize<'de> for OwnedRecords<R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let records = Segmented::<R>::deserialize(deserializer)?;
        let by_owner = ByOwner::of(records.iter().map(R::owner));
        Ok(OwnedRecords { records, by_owner })
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

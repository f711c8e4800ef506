//! Order slots by order id. The gateway numbers orders upwards, so the
//! ids in the market at any time are mostly runs of neighbours: the index
//! keeps them in pages of consecutive ids, each a plain array of slots,
//! where a lookup is one read of the entry (a hash table reads a control
//! group and an entry, two cache misses under a million orders). Ids far
//! from the rest, and the survivors of a page that emptied out, go to a
//! small hash table instead, so memory stays bounded by the orders kept,
//! whatever ids come.

use hashbrown::HashTable;
use rustc_hash::FxHashMap;

use crate::prefetch::prefetch;
use crate::units::OrderId;

/// Ids per page: 2^9, a 2 KB page of slots.
const PAGE_BITS: u32 = 9;
const PAGE_IDS: usize = 1 << PAGE_BITS;

/// A page that is no longer the newest keeps at least this many ids;
/// below it, its ids move to the overflow table and the page is freed.
/// So a page other than the newest costs about 2 KB / 16 = 128 bytes per
/// id it holds, at most.
const PAGE_IDS_MIN: u32 = 16;

/// "No slot".
const NONE: u32 = u32::MAX;

/// The slots of one page's ids, and how many it holds.
#[derive(Clone, Debug)]
struct Page {
    held: u32,
    slots: [u32; PAGE_IDS],
}

/// Slots by order id (see the module's doc).
#[derive(Clone, Debug, Default)]
pub(crate) struct IdIndex {
    /// Every page but the newest.
    pages: FxHashMap<u64, Box<Page>>,
    /// The newest page, if open: every new id lands there, and most
    /// lookups of recent orders, without hashing.
    newest_page: Option<Box<Page>>,
    /// Ids outside the pages, with their slots.
    overflow: HashTable<(u64, u32)>,
    /// The newest page's number: the highest page number an id was added
    /// to.
    newest: u64,
    len: usize,
}

fn page_of(id: OrderId) -> (u64, usize) {
    (id.0 >> PAGE_BITS, (id.0 as usize) & (PAGE_IDS - 1))
}

/// The overflow table's hash of an id.
fn overflow_hash(id: u64) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl IdIndex {
    /// Page `page`, if open.
    #[inline]
    fn page(&self, page: u64) -> Option<&Page> {
        match page == self.newest {
            true => self.newest_page.as_deref(),
            false => self.pages.get(&page).map(|p| &**p),
        }
    }

    /// Page `page`, if open, to change.
    #[inline]
    fn page_mut(&mut self, page: u64) -> Option<&mut Page> {
        match page == self.newest {
            true => self.newest_page.as_deref_mut(),
            false => self.pages.get_mut(&page).map(|p| &mut **p),
        }
    }

    /// The slot of order `id`, if indexed.
    #[inline]
    pub fn get(&self, id: OrderId) -> Option<u32> {
        let (page, at) = page_of(id);
        if let Some(p) = self.page(page) {
            let slot = p.slots[at];
            if slot != NONE {
                return Some(slot);
            }
        }
        // Not on a page: in the overflow table, if anywhere (an id that
        // went there before its page opened stays there).
        if self.overflow.is_empty() {
            return None;
        }
        self.overflow
            .find(overflow_hash(id.0), |e| e.0 == id.0)
            .map(|e| e.1)
    }

    /// Asks the CPU to start loading the entry of `id`, if on a page,
    /// without waiting for it: [`IdIndex::get`] then reads it from cache.
    #[inline]
    pub fn prefetch(&self, id: OrderId) {
        let (page, at) = page_of(id);
        if let Some(p) = self.page(page) {
            prefetch(&p.slots[at]);
        }
    }

    /// Indexes `id` (not indexed yet) at `slot`.
    pub fn insert(&mut self, id: OrderId, slot: u32) {
        debug_assert!(self.get(id).is_none(), "order {id:?} indexed twice");
        self.len += 1;
        let (page, at) = page_of(id);
        if let Some(p) = self.page_mut(page) {
            p.slots[at] = slot;
            p.held += 1;
            return;
        }
        // A page opens where the ids are going: the newest page or the
        // one after it. An id that jumps further only moves the newest
        // page there; a second id on that page opens it.
        let opens = page == self.newest || page == self.newest + 1;
        if page > self.newest {
            let left = self.newest;
            self.newest = page;
            if let Some(p) = self.newest_page.take() {
                if p.held < PAGE_IDS_MIN {
                    self.shed(left, &p);
                } else {
                    self.pages.insert(left, p);
                }
            }
        }
        if opens {
            let mut p = Box::new(Page {
                held: 1,
                slots: [NONE; PAGE_IDS],
            });
            p.slots[at] = slot;
            self.newest_page = Some(p);
        } else {
            self.overflow
                .insert_unique(overflow_hash(id.0), (id.0, slot), |e| overflow_hash(e.0));
        }
    }

    /// Removes `id`, indexed at `slot`.
    pub fn remove(&mut self, id: OrderId, slot: u32) {
        let (page, at) = page_of(id);
        let newest = self.newest;
        if let Some(p) = self.page_mut(page).filter(|p| p.slots[at] == slot) {
            p.slots[at] = NONE;
            p.held -= 1;
            let sparse = p.held < PAGE_IDS_MIN;
            self.len -= 1;
            if sparse && page != newest {
                let p = self.pages.remove(&page).expect("an open page");
                self.shed(page, &p);
            }
            return;
        }
        match self
            .overflow
            .find_entry(overflow_hash(id.0), |e| e.0 == id.0)
        {
            Ok(entry) => {
                debug_assert_eq!(entry.get().1, slot, "order {id:?} is indexed elsewhere");
                entry.remove();
                self.len -= 1;
            }
            Err(_) => unreachable!("a stored order is indexed"),
        }
    }

    /// Moves the ids of `p`, page number `page` (out of the map already:
    /// not the newest, and holding too few ids for its size), to the
    /// overflow table.
    fn shed(&mut self, page: u64, p: &Page) {
        debug_assert_ne!(page, self.newest, "the newest page stays");
        let first = page << PAGE_BITS;
        for (at, &slot) in p.slots.iter().enumerate() {
            if slot != NONE {
                let id = first + at as u64;
                self.overflow
                    .insert_unique(overflow_hash(id), (id, slot), |e| overflow_hash(e.0));
            }
        }
    }

    /// How many ids are indexed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes held by pages and the overflow table (for tests of the bound).
    #[cfg(test)]
    fn bytes(&self) -> usize {
        let pages = self.pages.len() + usize::from(self.newest_page.is_some());
        pages * std::mem::size_of::<Page>() + self.overflow.allocation_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn consecutive_ids_fill_pages_and_read_back() {
        let mut index = IdIndex::default();
        for id in 1..=5_000u64 {
            index.insert(OrderId(id), id as u32 * 2);
        }
        assert_eq!(index.len(), 5_000);
        assert!(index.overflow.is_empty(), "consecutive ids all go to pages");
        assert!((1..=5_000u64).all(|id| index.get(OrderId(id)) == Some(id as u32 * 2)));
        assert_eq!(index.get(OrderId(0)), None);
        assert_eq!(index.get(OrderId(5_001)), None);
    }

    #[test]
    fn a_page_that_empties_out_is_freed_and_its_survivors_stay_found() {
        let mut index = IdIndex::default();
        for id in 0..4 * PAGE_IDS as u64 {
            index.insert(OrderId(id), id as u32);
        }
        // All but three of the first page go.
        for id in 3..PAGE_IDS as u64 {
            index.remove(OrderId(id), id as u32);
        }
        assert!(!index.pages.contains_key(&0), "the sparse page is freed");
        assert_eq!(index.overflow.len(), 3);
        assert!((0..3u64).all(|id| index.get(OrderId(id)) == Some(id as u32)));
        for id in 0..3u64 {
            index.remove(OrderId(id), id as u32);
        }
        assert_eq!(index.len(), 3 * PAGE_IDS);
        assert!(index.overflow.is_empty());
    }

    #[test]
    fn scattered_ids_cost_no_page_each() {
        let mut index = IdIndex::default();
        // One order per thousand pages, as ids that jump would place them.
        for i in 1..=1_000u64 {
            index.insert(OrderId(i << 20), i as u32);
        }
        assert!(index.pages.len() <= 1, "{} pages", index.pages.len());
        assert!(index.bytes() < 1_000 * 64, "{} bytes", index.bytes());
        assert!((1..=1_000u64).all(|i| index.get(OrderId(i << 20)) == Some(i as u32)));
    }

    #[test]
    fn ids_left_behind_by_rejected_orders_cost_no_page() {
        let mut index = IdIndex::default();
        // One id in eight thousand stays, the rest were never added: each
        // page the newest id leaves holds one id, and moves it out.
        for i in 0..1_000u64 {
            index.insert(OrderId(i * 8_192), i as u32);
        }
        assert!(index.pages.len() <= 1, "{} pages", index.pages.len());
        assert!((0..1_000u64).all(|i| index.get(OrderId(i * 8_192)) == Some(i as u32)));
    }

    proptest! {
        /// Against a map, under any mix of ids, nearby and far: every id
        /// reads back its slot, and every page but the newest (kept apart)
        /// holds enough ids to be worth its size.
        #[test]
        fn matches_a_map(ops in proptest::collection::vec((0u8..4, 0u64..4_000, any::<bool>()), 1..2_000)) {
            let mut index = IdIndex::default();
            let mut model = BTreeMap::new();
            let mut next = 1u64;
            for (i, (kind, offset, far)) in ops.into_iter().enumerate() {
                match kind {
                    0 | 1 => {
                        let id = if far { next + offset * 97 } else { next };
                        next = id + 1;
                        if let std::collections::btree_map::Entry::Vacant(v) = model.entry(id) {
                            v.insert(i as u32);
                            index.insert(OrderId(id), i as u32);
                        }
                    }
                    _ => {
                        let Some((&id, &slot)) = model.range(offset * 3..).next() else { continue };
                        model.remove(&id);
                        index.remove(OrderId(id), slot);
                    }
                }
                prop_assert_eq!(index.len(), model.len());
                for (&page, p) in &index.pages {
                    prop_assert!(page != index.newest && p.held >= PAGE_IDS_MIN);
                }
            }
            for (&id, &slot) in &model {
                prop_assert_eq!(index.get(OrderId(id)), Some(slot));
            }
            prop_assert_eq!(index.get(OrderId(next + 1_000_000)), None);
        }
    }
}

//! What the snapshotter's replay derives for reading, stored beside the
//! journal: each agent's wallet ledger (see [`crate::ledger`]) and the
//! archive of finished orders. The market keeps only the most recently
//! finished orders (`orders_finished_retained_max`); the archive keeps
//! every one, as it was when it finished, so an agent can look up or list
//! its orders long after. Both are written together, with the record they
//! cover through, off the acknowledgement path: between a command's
//! acknowledgement and the snapshotter reaching it, what it derived may
//! not be stored yet. [`ArchiveProgress`] tells how far the archive is.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use agora_engine::query::OrderView;
use agora_engine::units::{Quantity, Timestamp};

use crate::journal::JournalError;
use crate::ledger::LedgerEntry;

/// Archived orders a listing examines at most, like the engine's searches:
/// narrowed to an asset or a status few of an agent's orders match, a page
/// ends short, where the walk stopped.
pub const ARCHIVE_SCAN_BUDGET: usize = 10_000;

/// What a run of replayed records derived.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Wallet ledger entries, in the order they happened.
    pub ledger: Vec<LedgerEntry>,
    /// Orders that finished, as they finished, in that order.
    pub orders: Vec<OrderView>,
    /// The time of the last record the run covers: every order in
    /// `orders` had finished by then. The archive dates the orders that
    /// finished unfilled with it, to forget them once they are older than
    /// the retention (see [`crate::Journal::forget_unfilled_orders`]); as
    /// it is never earlier than an order's true finish, no order is
    /// forgotten early.
    pub time: Timestamp,
}

impl History {
    /// Forgets everything, keeping the room.
    pub fn clear(&mut self) {
        self.ledger.clear();
        self.orders.clear();
        self.time = Timestamp::default();
    }
}

/// Whether the archive may forget `order` once the retention has passed:
/// it finished without a single fill (cancelled, expired or rejected), so
/// no trade, transaction or ledger entry names it. Orders with fills are
/// kept for good.
pub(crate) fn forgettable(order: &OrderView) -> bool {
    order.filled == Quantity::ZERO
}

/// A page of archived orders, and where the walk stopped if it ran out
/// of budget before filling the page.
pub type ArchivePage = (Vec<OrderView>, Option<agora_engine::units::OrderId>);

/// The page [`crate::Journal::finished_orders`] answers from `orders`, an
/// agent's archived orders in id order.
pub(crate) fn archive_page(
    orders: impl Iterator<Item = Result<OrderView, JournalError>>,
    limit: usize,
    keep: &dyn Fn(&OrderView) -> bool,
) -> Result<ArchivePage, JournalError> {
    let mut page = Vec::with_capacity(limit.min(1_024));
    let mut last_examined = None;
    for (examined, o) in orders.enumerate() {
        if page.len() == limit {
            break;
        }
        if examined == ARCHIVE_SCAN_BUDGET {
            return Ok((page, last_examined));
        }
        let o = o?;
        last_examined = Some(o.order_id);
        if keep(&o) {
            page.push(o);
        }
    }
    Ok((page, None))
}

/// How far the history has come. The archive of finished orders: how
/// many orders had finished, ever, by the last record whose history is
/// stored; orders the market no longer keeps (all but the newest
/// `orders_finished_retained_max` of those finished) are in the archive
/// once this reaches their count. And the records: the last one whose
/// history is stored, against the last one whose replies went out, so
/// that a reader can wait for everything already acknowledged. Shared
/// between the journal writer and the snapshotter, which advance it, and
/// readers.
#[derive(Clone, Debug, Default)]
pub struct ArchiveProgress(Arc<Progress>);

#[derive(Debug, Default)]
struct Progress {
    finished: AtomicU64,
    stored_through: AtomicU64,
    released_through: AtomicU64,
    /// Readers waiting for the history to catch up.
    readers_waiting: AtomicU32,
}

/// A reader waiting for the history, from [`ArchiveProgress::reader_waits`]
/// until dropped.
#[must_use]
pub struct ReaderWaiting(ArchiveProgress);

impl Drop for ReaderWaiting {
    fn drop(&mut self) {
        self.0 .0.readers_waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ArchiveProgress {
    /// Orders finished by the last record whose history is stored.
    pub fn finished(&self) -> u64 {
        self.0.finished.load(Ordering::Acquire)
    }

    /// Whether the history of every record acknowledged so far is stored.
    pub fn covers_acknowledged(&self) -> bool {
        let released = self.0.released_through.load(Ordering::Acquire);
        self.0.stored_through.load(Ordering::Acquire) >= released
    }

    /// Says a reader waits for the history until the answer is dropped:
    /// the snapshotter then runs at normal priority (see
    /// `crate::idle_priority`), so the reader waits for its replay only.
    pub fn reader_waits(&self) -> ReaderWaiting {
        self.0.readers_waiting.fetch_add(1, Ordering::AcqRel);
        ReaderWaiting(self.clone())
    }

    /// Whether any reader waits for the history.
    pub(crate) fn readers_waiting(&self) -> bool {
        self.0.readers_waiting.load(Ordering::Acquire) > 0
    }

    /// Records that the history up to record `through`, by which
    /// `finished` orders had finished, is stored.
    pub(crate) fn advance(&self, finished: u64, through: u64) {
        self.0.finished.store(finished, Ordering::Release);
        self.0.stored_through.store(through, Ordering::Release);
    }

    /// Records that the replies of records up to `through` may go out:
    /// from then on readers wait for their history.
    pub(crate) fn releasing(&self, through: u64) {
        self.0.released_through.fetch_max(through, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_count_as_waiting_until_their_guards_drop() {
        let progress = ArchiveProgress::default();
        assert!(!progress.readers_waiting());
        let one = progress.reader_waits();
        let two = progress.clone().reader_waits();
        drop(one);
        assert!(progress.readers_waiting());
        drop(two);
        assert!(!progress.readers_waiting());
    }

    #[test]
    fn the_history_covers_what_was_acknowledged_once_stored_that_far() {
        let progress = ArchiveProgress::default();
        assert!(progress.covers_acknowledged());
        progress.releasing(10);
        progress.releasing(7);
        assert!(!progress.covers_acknowledged());
        progress.advance(3, 9);
        assert!(!progress.covers_acknowledged());
        progress.advance(4, 10);
        assert!(progress.covers_acknowledged());
        assert_eq!(progress.finished(), 4);
    }
}

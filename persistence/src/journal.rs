//! The journal abstraction: an append-only log of accepted inputs under
//! consecutive sequence numbers starting at 1.

use std::fmt;
use std::io::{self, Write};

use agora_engine::query::OrderView;
use agora_engine::units::{AgentId, OrderId, Timestamp};
use agora_engine::{Input, OrderRef};

use crate::history::{ArchivePage, History};
use crate::ledger::LedgerEntry;

/// Why the journal failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalError {
    /// The store itself failed (I/O, RocksDB).
    Store(String),
    /// A record cannot be trusted: bad checksum, unknown format, or a
    /// payload that does not decode.
    Corrupt {
        /// Sequence number of the record.
        seq: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// Sequence numbers are not consecutive.
    Gap {
        /// The sequence number that should come next.
        expected: u64,
        /// The one that came.
        found: u64,
    },
    /// A journaled command was rejected on replay: the journal does not
    /// belong to this engine version or configuration.
    Diverged {
        /// Sequence number of the command.
        seq: u64,
        /// The rejection.
        reason: String,
    },
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalError::Store(e) => write!(f, "journal store failed: {e}"),
            JournalError::Corrupt { seq, reason } => {
                write!(f, "journal record {seq} is corrupt: {reason}")
            }
            JournalError::Gap { expected, found } => {
                write!(f, "journal jumps from record {} to {found}", expected - 1)
            }
            JournalError::Diverged { seq, reason } => write!(
                f,
                "journal record {seq} was rejected on replay ({reason}): \
                 it was written by another engine version or configuration"
            ),
        }
    }
}

impl std::error::Error for JournalError {}

/// A sync that runs off the writer's thread: see
/// [`Journal::background_sync`].
pub type BackgroundSync = Box<dyn FnMut() -> Result<(), JournalError> + Send>;

/// An append-only log of accepted inputs.
pub trait Journal: Send + 'static {
    /// Appends `inputs` as records `first_seq`, `first_seq + 1`, …;
    /// `first_seq` is one past the last record. Durable when it returns,
    /// as far as the journal's durability promises.
    fn append(&mut self, first_seq: u64, inputs: &[Input]) -> Result<(), JournalError>;

    /// Appends several batches back to back, as [`Journal::append`] would
    /// one after another; a store that can writes them in one write (one
    /// sync for all: group commit across engine batches).
    fn append_batches(&mut self, first_seq: u64, batches: &[&[Input]]) -> Result<(), JournalError> {
        let mut seq = first_seq;
        for inputs in batches {
            self.append(seq, inputs)?;
            seq += inputs.len() as u64;
        }
        Ok(())
    }

    /// Stores what records up to `through` derived (those after the last
    /// `through` stored), atomically with `through` itself. It is durable
    /// once the next snapshot is saved (or the journal is closed): until
    /// then a crash may lose it, and the replay after the newest snapshot
    /// derives it again.
    fn add_history(&mut self, history: &History, through: u64) -> Result<(), JournalError>;

    /// The record up to which history is stored (0 if none).
    fn history_through(&self) -> Result<u64, JournalError>;

    /// Up to `limit` of `agent`'s ledger entries after position `after`,
    /// oldest first.
    fn ledger(
        &self,
        agent: AgentId,
        after: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, JournalError>;

    /// `agent`'s archived order `order` (by id, or the newest with that
    /// client id), if it finished.
    fn finished_order(
        &self,
        agent: AgentId,
        order: &OrderRef,
    ) -> Result<Option<OrderView>, JournalError>;

    /// `agent`'s archived orders after id `after` that `keep` accepts, in
    /// id order: up to `limit`, examining at most [`crate::ARCHIVE_SCAN_BUDGET`];
    /// when the budget runs out first, the id the walk stopped at.
    fn finished_orders(
        &self,
        agent: AgentId,
        after: Option<OrderId>,
        limit: usize,
        keep: &dyn Fn(&OrderView) -> bool,
    ) -> Result<ArchivePage, JournalError>;

    /// Forgets archived orders that finished unfilled before
    /// `finished_before` (dated by [`History::time`] of the write that
    /// stored them), oldest first, a write's orders at a time: it stops at
    /// the first write after forgetting `max` or more; returns how many it
    /// forgot. Their client ids go too, unless a newer archived order took
    /// them over. Like the rest of the history, durable once the next
    /// snapshot is saved.
    fn forget_unfilled_orders(
        &mut self,
        finished_before: Timestamp,
        max: usize,
    ) -> Result<usize, JournalError>;

    /// Makes every appended record durable.
    fn sync(&mut self) -> Result<(), JournalError>;

    /// For a journal whose appends are not synced one by one: a function
    /// that makes every appended record durable and may run on another
    /// thread while appends go on, so that the writer never waits for an
    /// interval sync (which a busy disk can stretch to tens of
    /// milliseconds). `None` (the default): [`Journal::sync`] on the
    /// writer's thread.
    fn background_sync(&self) -> Option<BackgroundSync> {
        None
    }

    /// Calls `visit` with every record from `from` on, in order; stops at
    /// the first error (its own or `visit`'s).
    fn read_from(
        &self,
        from: u64,
        visit: &mut dyn FnMut(u64, Input) -> Result<(), JournalError>,
    ) -> Result<(), JournalError>;

    /// The last record's sequence number, 0 if there is none.
    fn last_seq(&self) -> Result<u64, JournalError>;

    /// Stores, durably, a snapshot of the state after record `seq`, as
    /// `write` writes it: piece by piece, so a store can take a snapshot
    /// of hundreds of megabytes without ever holding it whole. A failure
    /// of `write` stores nothing and is returned as a store error.
    fn write_snapshot(
        &mut self,
        seq: u64,
        write: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), JournalError>;

    /// Stores, durably, the snapshot `bytes` of the state after record
    /// `seq`.
    fn save_snapshot(&mut self, seq: u64, bytes: &[u8]) -> Result<(), JournalError> {
        self.write_snapshot(seq, &mut |out| out.write_all(bytes))
    }

    /// The records after which snapshots are stored, newest first.
    fn snapshots(&self) -> Result<Vec<u64>, JournalError>;

    /// Hands the snapshot stored after record `seq` to `read`, in place
    /// where the store can (a snapshot can be hundreds of megabytes).
    fn read_snapshot(&self, seq: u64, read: &mut dyn FnMut(&[u8])) -> Result<(), JournalError>;

    /// A copy of the snapshot stored after record `seq`.
    fn load_snapshot(&self, seq: u64) -> Result<Vec<u8>, JournalError> {
        let mut bytes = Vec::new();
        self.read_snapshot(seq, &mut |stored| bytes = stored.to_vec())?;
        Ok(bytes)
    }

    /// Deletes the snapshot stored after record `seq`.
    fn delete_snapshot(&mut self, seq: u64) -> Result<(), JournalError>;

    /// Deletes the records up to and including `seq`: at least all but the
    /// newest few megabytes of them (a store may delete whole files only,
    /// keeping the rest until a later call). Reading from after `seq`
    /// never sees the difference.
    fn delete_records_through(&mut self, seq: u64) -> Result<(), JournalError>;
}

/// Deletes what recovery no longer needs: keeps the `keep` newest
/// snapshots (so a damaged newest one can fall back to an older one) and
/// the records after the oldest of them; drops older snapshots and
/// records. Does nothing while fewer than `keep` snapshots exist.
pub fn prune(journal: &mut dyn Journal, keep: usize) -> Result<(), JournalError> {
    let snapshots = journal.snapshots()?;
    let Some(&oldest_kept) = snapshots.get(keep.max(1) - 1) else {
        return Ok(());
    };
    journal.delete_records_through(oldest_kept)?;
    for &seq in &snapshots[keep.max(1)..] {
        journal.delete_snapshot(seq)?;
    }
    Ok(())
}

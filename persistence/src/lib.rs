//! Agora's durable command journal.
//!
//! The engine is deterministic, so its state is the replay of the commands
//! it accepted. This crate records those commands durably, in batches
//! (group commit), before any reply or event of a batch leaves the
//! process, and rebuilds the engine's state from them on start.
//!
//! - [`Journal`]: append batches of accepted inputs under consecutive
//!   sequence numbers, read them back. [`RocksJournal`]
//!   stores them in an embedded RocksDB; [`MemoryJournal`] serves tests.
//! - [`JournalWriter`]: the engine's [`agora_engine::BatchSink`]; a thread
//!   of its own appends each batch (and syncs the journal on an interval)
//!   and only then hands it to a [`Release`], so the engine applies the
//!   next batch while this one is made durable.
//! - [`recover`]: restores the newest good snapshot and replays the
//!   records after it (reading and decoding on a second thread);
//!   [`recover_through`] rebuilds the same state again later;
//!   [`prune`] drops what recovery no longer needs.
//! - [`spawn_snapshotter`]: keeps a copy of the market by replaying each
//!   durable batch, and snapshots that copy now and then, so the engine
//!   never pauses for a snapshot; the same replay stores each agent's
//!   wallet ledger and the archive of finished orders ([`History`]).

mod history;
mod idle_priority;
mod journal;
mod ledger;
mod memory;
mod record;
mod recovery;
mod rocks;
mod snapshotter;
mod writer;

pub use history::{ArchivePage, ArchiveProgress, History, ReaderWaiting, ARCHIVE_SCAN_BUDGET};
pub use journal::{prune, BackgroundSync, Journal, JournalError};
pub use ledger::LedgerEntry;
pub use memory::MemoryJournal;
pub use recovery::{recover, recover_through, Recovered};
pub use rocks::{Durability, RocksJournal};
pub use snapshotter::{
    spawn_snapshotter, SnapshotFeed, SnapshotPolicy, SnapshotThread, StartingCopy,
};
pub use writer::{JournalFailed, JournalWriter, Release, WriterOptions, WriterThread};

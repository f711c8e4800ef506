//! The journal in an embedded RocksDB. Column family `journal` holds
//! frames: each write (one or more engine batches, group-committed) is one
//! key, the sequence number of its first record, whose value is a frame
//! of records (see [`crate::record`]). One key per write instead of one per
//! command keeps RocksDB's per-key work (memtable inserts) off the
//! durable path.

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use agora_engine::query::OrderView;
use agora_engine::units::{AgentId, OrderId, Timestamp};
use agora_engine::{Input, OrderRef};
use rocksdb::{
    ColumnFamilyDescriptor, DBCompressionType, DBRecoveryMode, Direction,
    IngestExternalFileOptions, IteratorMode, Options, ReadOptions, SstFileWriter, WriteBatch,
    WriteOptions, DB,
};

use crate::history::{archive_page, forgettable, ArchivePage, History};
use crate::journal::{BackgroundSync, Journal, JournalError};
use crate::ledger::LedgerEntry;
use crate::record;

const JOURNAL_CF: &str = "journal";
const SNAPSHOTS_CF: &str = "snapshots";
/// One empty key per stored snapshot: listing the snapshots from here
/// reads a few bytes, where iterating their own column family would read
/// every snapshot whole (a table block holds a key with its value).
const SNAPSHOT_INDEX_CF: &str = "snapshot_index";
/// The history column family: wallet ledger entries, archived orders and
/// their client ids (each kind keyed apart, below), and the progress key.
/// One family, so that a memtable flush, which RocksDB may start on its own,
/// never stores the progress key without everything it covers (they are
/// written outside the log).
const HISTORY_CF: &str = "ledger";
/// The history's progress key (shorter than any entry key; it starts
/// with `t`, as no key of the first 2^56 agents does).
const HISTORY_THROUGH: &[u8] = b"through";
/// First byte of an archived order's key. A ledger key starts with its
/// agent's id, big-endian, and agents are counted from 1: none of the
/// first 2^56 agents' keys starts with this, [`CLIENT_ID_TAG`] or
/// [`UNFILLED_TAG`].
const ORDER_TAG: u8 = 0xFF;
/// First byte of the key mapping a client id to an archived order.
const CLIENT_ID_TAG: u8 = 0xFE;
/// First byte of the key listing the archived orders of one history write
/// that finished unfilled (see [`unfilled_key`]).
const UNFILLED_TAG: u8 = 0xFD;
/// Memtable size of a synced journal's column family (RocksDB's default
/// is 64 MB).
const SYNCED_JOURNAL_MEMTABLE_BYTES: usize = 2 << 20;
/// Memtables a synced journal may hold before writes wait for flushes.
const SYNCED_JOURNAL_MEMTABLES_MAX: i32 = 32;
/// How much a flush writes to the disk at once (RocksDB's default is 1 MB).
const FLUSH_WRITE_BYTES: u64 = 64 << 10;

/// The key of a group of ledger entries: agent, then the record and index
/// of the group's first entry, all big-endian, so an agent's groups are
/// adjacent and in order. Each `add_history` stores one group per agent (one
/// key per agent per batch, not one per posting) with the record it covers
/// through, so groups never overlap.
fn ledger_key(agent: AgentId, seq: u64, index: u32) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..8].copy_from_slice(&agent.0.to_be_bytes());
    k[8..16].copy_from_slice(&seq.to_be_bytes());
    k[16..].copy_from_slice(&index.to_be_bytes());
    k
}

/// The key of `agent`'s archived order `id`: tag, agent, id, big-endian,
/// so an agent's orders are adjacent and in id order.
fn order_key(agent: AgentId, id: OrderId) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = ORDER_TAG;
    k[1..9].copy_from_slice(&agent.0.to_be_bytes());
    k[9..].copy_from_slice(&id.0.to_be_bytes());
    k
}

/// The key under which `agent`'s newest archived order with client id
/// `client_id` (its bytes) is named.
fn client_id_key(agent: AgentId, client_id: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + client_id.len());
    k.push(CLIENT_ID_TAG);
    k.extend_from_slice(&agent.0.to_be_bytes());
    k.extend_from_slice(client_id);
    k
}

/// The key of the orders that finished unfilled in the history write
/// through record `through`, dated `at` (see [`History::time`]): tag, time
/// (sign bit flipped, so times sort as numbers), record, all big-endian,
/// so the oldest come first. One key per write, not per order: the
/// snapshotter's writes are mostly such orders under quoting that cancels.
/// Its value lists them (see [`unfilled_value`]).
fn unfilled_key(at: Timestamp, through: u64) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[0] = UNFILLED_TAG;
    k[1..9].copy_from_slice(&((at.0 as u64) ^ (1 << 63)).to_be_bytes());
    k[9..].copy_from_slice(&through.to_be_bytes());
    k
}

/// The date of an [`unfilled_key`], or `None` for a key of another kind.
fn unfilled_key_time(key: &[u8]) -> Option<Timestamp> {
    let (&UNFILLED_TAG, rest) = key.split_first()? else {
        return None;
    };
    let time: [u8; 8] = rest.get(..8)?.try_into().ok()?;
    Some(Timestamp((u64::from_be_bytes(time) ^ (1 << 63)) as i64))
}

/// The value of an [`unfilled_key`]: for each order, agent and id
/// (big-endian) and its client id (a length byte, then the bytes), so
/// forgetting needs no read of the orders.
fn unfilled_value<'a>(orders: impl Iterator<Item = &'a OrderView>) -> Vec<u8> {
    let mut v = Vec::new();
    for o in orders {
        v.extend_from_slice(&o.agent.0.to_be_bytes());
        v.extend_from_slice(&o.order_id.0.to_be_bytes());
        let client_id = o
            .client_order_id
            .as_ref()
            .map_or(&[][..], |c| c.as_str().as_bytes());
        v.push(u8::try_from(client_id.len()).expect("client ids are short"));
        v.extend_from_slice(client_id);
    }
    v
}

/// An order an [`unfilled_value`] lists: agent, id, client id bytes
/// (empty for none).
type UnfilledOrder<'a> = (AgentId, OrderId, &'a [u8]);

/// Each order an [`unfilled_value`] lists.
fn unfilled_orders(value: &[u8]) -> Result<Vec<UnfilledOrder<'_>>, JournalError> {
    let damaged = || JournalError::Corrupt {
        seq: 0,
        reason: "a list of archived unfilled orders is damaged".into(),
    };
    let mut orders = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let (ids, tail) = rest.split_at_checked(17).ok_or_else(damaged)?;
        let word = |at: usize| u64::from_be_bytes(ids[at..at + 8].try_into().expect("8 bytes"));
        let (client_id, tail) = tail
            .split_at_checked(ids[16] as usize)
            .ok_or_else(damaged)?;
        orders.push((AgentId(word(0)), OrderId(word(8)), client_id));
        rest = tail;
    }
    Ok(orders)
}

/// An archived order's stored bytes, decoded.
fn archived(key: &[u8], value: &[u8]) -> Result<OrderView, JournalError> {
    bincode::deserialize(value).map_err(|e| JournalError::Corrupt {
        seq: 0,
        reason: format!("archived order {key:x?} does not decode: {e}"),
    })
}

/// Options of the snapshots' column family, and of the table file each
/// snapshot is written to. A snapshot of up to hundreds of megabytes is
/// read back whole: uncompressed, it is read without a pass that
/// decompresses it (a third faster at 300 MB).
fn snapshot_options() -> Options {
    let mut options = Options::default();
    options.set_compression_type(DBCompressionType::None);
    options
}

/// Options of the history's column family. Its keys span every agent, so
/// each table flushed from a memtable overlaps all of the first level, and
/// every compaction of level 0 rewrites that level whole: it waits for
/// eight tables instead of RocksDB's four, which halves those rewrites.
/// Under the batch load (one server, 30 and 60 s) compaction took 4.5-4.6
/// instead of 8.7-9.1 s of CPU, and 18.9 instead of 24.6 s (a sixth of
/// both cores), writing 225 instead of 390-407 MB, and 816 instead of
/// 1,014. Eight tables of level 0 are still far from the twenty at which
/// RocksDB slows writes down; a lookup in the history (a finished order, a
/// ledger page) searches at most four more tables.
fn history_options() -> Options {
    let mut options = Options::default();
    options.set_level_zero_file_num_compaction_trigger(8);
    options
}

/// The table file a snapshot is written to before RocksDB takes it in,
/// in the store's directory (a name RocksDB does not use).
const SNAPSHOT_TABLE: &str = "snapshot-ingest.sst";

/// A snapshot is stored in pieces of this many bytes, under its record's
/// key followed by the piece's number. The table writer copies each value
/// into a block buffer it reuses: one value of the whole snapshot grew
/// that buffer by doubling to the snapshot's size, every time, on fresh
/// pages (a twentieth of the server's CPU under the batch load went to
/// the kernel zeroing them) and at twice the snapshot's size in memory.
const SNAPSHOT_PIECE: usize = 1 << 20;

/// The key of piece `piece` of the snapshot after record `seq`. (Stores
/// written before snapshots were stored in pieces hold each whole under
/// `key(seq)`, which reads back the same way: as its only piece.)
fn snapshot_piece_key(seq: u64, piece: u32) -> [u8; 12] {
    let mut k = [0; 12];
    k[..8].copy_from_slice(&key(seq));
    k[8..].copy_from_slice(&piece.to_be_bytes());
    k
}

/// Writes a snapshot into its table file piece by piece, as it is
/// encoded, through one piece-sized buffer.
struct Pieces<'a> {
    table: SstFileWriter<'a>,
    /// The record the snapshot follows.
    seq: u64,
    /// The number of the piece being gathered.
    next: u32,
    /// The piece being gathered.
    piece: Vec<u8>,
}

impl Pieces<'_> {
    /// Stores the piece gathered so far.
    fn put(&mut self) -> io::Result<()> {
        self.table
            .put(snapshot_piece_key(self.seq, self.next), &self.piece)
            .map_err(io::Error::other)?;
        self.next += 1;
        self.piece.clear();
        Ok(())
    }

    /// Stores the last piece (nothing at all is stored as one empty
    /// piece).
    fn finish(&mut self) -> io::Result<()> {
        if !self.piece.is_empty() || self.next == 0 {
            self.put()?;
        }
        Ok(())
    }
}

impl Write for Pieces<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = bytes.len().min(SNAPSHOT_PIECE - self.piece.len());
        self.piece.extend_from_slice(&bytes[..n]);
        if self.piece.len() == SNAPSHOT_PIECE {
            self.put()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The key of record `seq`: big-endian, so keys sort in sequence order.
fn key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The sequence number a key names.
fn seq_of(key: &[u8]) -> Result<u64, JournalError> {
    let bytes: [u8; 8] = key.try_into().map_err(|_| JournalError::Corrupt {
        seq: 0,
        reason: format!("a key of {} bytes", key.len()),
    })?;
    Ok(u64::from_be_bytes(bytes))
}

/// When an appended batch is durable.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Each batch is fsync'd before `append` returns: nothing acknowledged
    /// is ever lost.
    Sync,
    /// Batches are written (surviving a crash of the process) and fsync'd
    /// by [`Journal::sync`], which the writer calls on an interval: a power
    /// loss can lose what was acknowledged since the last sync.
    Buffered,
}

/// A journal stored in RocksDB.
pub struct RocksJournal {
    db: Arc<DB>,
    durability: Durability,
    buffer: Vec<u8>,
    /// Where [`Journal::forget_unfilled_orders`] goes on from: the keys
    /// before it are deleted, and a walk from the first one would step
    /// over their tombstones, millions of them until compaction.
    forget_from: Vec<u8>,
    /// No list of unfilled orders is dated before this, as far as this
    /// handle (the one that writes the history) knows; `None` until it
    /// looks. Until the retention's cut-off passes it, forgetting has
    /// nothing to do and skips its walk, a seek through the family's
    /// memtables and tables after every history write.
    unfilled_not_before: Option<Timestamp>,
    /// The snapshots a crash cut short that opening the store dropped.
    unfinished_dropped: Vec<u64>,
}

impl Drop for RocksJournal {
    /// The last handle flushes every column family's memtable into its
    /// table files, so the next start reads them instead of replaying
    /// RocksDB's log (best effort: a crash skips this, and the log still
    /// holds everything).
    fn drop(&mut self) {
        if Arc::strong_count(&self.db) == 1 {
            for name in [JOURNAL_CF, SNAPSHOTS_CF, SNAPSHOT_INDEX_CF, HISTORY_CF] {
                if let Some(cf) = self.db.cf_handle(name) {
                    let _ = self.db.flush_cf(cf);
                }
            }
        }
    }
}

fn store(e: rocksdb::Error) -> JournalError {
    JournalError::Store(e.to_string())
}

impl RocksJournal {
    /// Opens (or creates) the journal in directory `path`.
    ///
    /// A write torn by a crash can only be one that was never acknowledged
    /// (acknowledgement follows the write's sync), so an incomplete record
    /// at the very end of RocksDB's log is dropped. Damage anywhere else
    /// refuses to open, naming it; [`RocksJournal::open_repairing`] is the
    /// explicit way past it.
    pub fn open(path: &Path, durability: Durability) -> Result<RocksJournal, JournalError> {
        Self::open_with(
            path,
            durability,
            DBRecoveryMode::TolerateCorruptedTailRecords,
        )
    }

    /// Opens the journal keeping everything up to the first damaged
    /// record of RocksDB's log and dropping the rest: for an operator who
    /// accepts losing what follows the damage.
    pub fn open_repairing(
        path: &Path,
        durability: Durability,
    ) -> Result<RocksJournal, JournalError> {
        Self::open_with(path, durability, DBRecoveryMode::PointInTime)
    }

    fn open_with(
        path: &Path,
        durability: Durability,
        recovery: DBRecoveryMode,
    ) -> Result<RocksJournal, JournalError> {
        let mut options = Options::default();
        options.set_wal_recovery_mode(recovery);
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        // Write flushed files out a megabyte at a time, so a memtable flush
        // does not queue tens of megabytes in front of the log's next sync.
        options.set_bytes_per_sync(1 << 20);
        // Log files are not recycled, though a sync into a file that does
        // not grow would skip a metadata write: RocksDB turns recycling
        // off under every recovery mode that refuses damage before the
        // tail, and under the one it allows (skip any damaged record),
        // 7.8's flush thread crashes marking recycled logs synced.
        // Memtable flushes write tens of megabytes at once. Through the
        // page cache, the log's next fsync waits for that writeback too (a
        // journaling file system commits them together), which stalls every
        // acknowledgement for up to a hundred milliseconds; written
        // directly, they leave the log's syncs a few milliseconds long.
        options.set_use_direct_io_for_flush_and_compaction(direct_io_works(path));
        // Written directly, a flush goes to the disk one buffer at a time,
        // and a log sync queued behind a buffer waits for all of it:
        // 64 KiB instead of RocksDB's 1 MiB roughly halved the p99 of a
        // synced command at 500k/s (median of five runs 21 -> 12 ms).
        options.set_writable_file_max_buffer_size(FLUSH_WRITE_BYTES);
        // Three compaction threads, not RocksDB's one. The history's
        // compactions rewrite all of its first level each time (its keys
        // span every agent), for seconds once it holds a few hundred
        // megabytes; the journal's flushed tables only move down a level,
        // untouched, but on one thread they waited behind those, its
        // level 0 reached the 20 tables at which RocksDB slows down every
        // write, the journal's appends with them (batch load, three
        // 10 s runs on one server: 12-13 such slowdowns per server,
        // requests held up to 2.7 s; with three threads none, at most
        // 0.33 s, alternated 2 of 2).
        options.set_max_background_jobs(4);
        // Journal frames are written once and read only on recovery; not
        // compressing them keeps the flush thread off the CPU the engine
        // needs.
        let mut journal_options = Options::default();
        journal_options.set_compression_type(DBCompressionType::None);
        // A synced journal keeps small memtables: a flush writes two
        // megabytes, not 64, so the log syncs behind it in the disk's queue
        // wait milliseconds, not hundreds of them (at 500k synced commands/s,
        // p99 from send to release was 100-500 ms with 64 MB, 20-45 ms with
        // 4, 18-25 with 2). A buffered one, whose acknowledgements never
        // wait for a sync, keeps RocksDB's 64 MB: small memtables flush and
        // compact so often that they cost it a third of its throughput.
        if durability == Durability::Sync {
            journal_options.set_write_buffer_size(SYNCED_JOURNAL_MEMTABLE_BYTES);
            // As many full memtables may wait for the flush thread as fit
            // in RocksDB's usual 64 MB: with its default of two, one slow
            // flush stopped every write for 300 ms.
            journal_options.set_max_write_buffer_number(SYNCED_JOURNAL_MEMTABLES_MAX);
        }
        let families = [
            ColumnFamilyDescriptor::new(JOURNAL_CF, journal_options),
            ColumnFamilyDescriptor::new(SNAPSHOTS_CF, snapshot_options()),
            ColumnFamilyDescriptor::new(SNAPSHOT_INDEX_CF, Options::default()),
            ColumnFamilyDescriptor::new(HISTORY_CF, history_options()),
        ];
        let db = DB::open_cf_descriptors(&options, path, families).map_err(store)?;
        let mut journal = RocksJournal {
            db: Arc::new(db),
            durability,
            buffer: Vec::with_capacity(256),
            forget_from: vec![UNFILLED_TAG],
            unfilled_not_before: None,
            unfinished_dropped: Vec::new(),
        };
        journal.index_snapshots()?;
        journal.unfinished_dropped = journal.drop_unfinished_snapshots()?;
        Ok(journal)
    }

    /// The snapshots (by the record they were taken after) that a crash
    /// cut short, which opening the store dropped: for the operator's log.
    pub fn unfinished_snapshots_dropped(&self) -> &[u64] {
        &self.unfinished_dropped
    }

    /// Drops the index entries of snapshots that never went in: a crash
    /// between listing a snapshot and RocksDB taking in its table leaves
    /// an entry with no pieces (taking the table in is all or nothing),
    /// and the table file itself. Kept, such an entry counted as one of
    /// the snapshots pruning keeps: the next prune deleted the older,
    /// good snapshot and the records after it in its place, leaving the
    /// newest snapshot nothing to fall back to. Nothing writes snapshots
    /// while the store opens, so an entry without pieces now is one of
    /// those. Returns the snapshots dropped.
    fn drop_unfinished_snapshots(&mut self) -> Result<Vec<u64>, JournalError> {
        let _ = std::fs::remove_file(self.db.path().join(SNAPSHOT_TABLE));
        let mut dropped = Vec::new();
        for seq in self.snapshots()? {
            let start = key(seq);
            let has_pieces = self
                .db
                .iterator_cf(
                    self.snapshots_cf(),
                    IteratorMode::From(&start, Direction::Forward),
                )
                .next()
                .transpose()
                .map_err(store)?
                .is_some_and(|(k, _)| k.starts_with(&start));
            if !has_pieces {
                self.delete_snapshot(seq)?;
                dropped.push(seq);
            }
        }
        Ok(dropped)
    }

    /// Writes the snapshot after record `seq` into a table file and has
    /// RocksDB take it in.
    fn store_snapshot_table(
        &self,
        seq: u64,
        write: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), JournalError> {
        // The snapshot goes into a table file of its own (synced when
        // finished) that RocksDB then takes in whole: written through the
        // log instead, hundreds of megabytes would sit in front of every
        // journal sync until written and synced, stalling each
        // acknowledgement for as long (p99.9 790 ms with a snapshot every
        // million commands under the batch load).
        let path = self.db.path().join(SNAPSHOT_TABLE);
        let options = snapshot_options();
        let table = SstFileWriter::create(&options);
        table.open(&path).map_err(store)?;
        let mut pieces = Pieces {
            table,
            seq,
            next: 0,
            piece: Vec::with_capacity(SNAPSHOT_PIECE),
        };
        let written = write(&mut pieces).and_then(|()| pieces.finish());
        let mut table = pieces.table;
        if let Err(e) = written {
            drop(table);
            let _ = std::fs::remove_file(&path);
            return Err(JournalError::Store(format!(
                "snapshot after record {seq}: {e}"
            )));
        }
        table.finish().map_err(store)?;
        let mut ingest = IngestExternalFileOptions::default();
        ingest.set_move_files(true);
        let taken = self
            .db
            .ingest_external_file_cf_opts(self.snapshots_cf(), &ingest, vec![&path]);
        if taken.is_err() {
            let _ = std::fs::remove_file(&path);
        }
        taken.map_err(store)
    }

    /// Lists in the index the snapshots of a store written before it had
    /// one (once: afterwards the index is not empty).
    fn index_snapshots(&self) -> Result<(), JournalError> {
        let indexed = self
            .db
            .iterator_cf(self.snapshot_index_cf(), IteratorMode::Start)
            .next()
            .is_some();
        if indexed {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        for item in self
            .db
            .iterator_cf(self.snapshots_cf(), IteratorMode::Start)
        {
            // (A snapshot in pieces has the record's key in front.)
            let k = item.map_err(store)?.0;
            batch.put_cf(self.snapshot_index_cf(), &k[..k.len().min(8)], []);
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.db.write_opt(batch, &Self::synced()).map_err(store)
    }

    /// Another handle on the same store, for a second thread (the
    /// snapshotter saves snapshots and prunes while the writer appends).
    pub fn share(&self) -> RocksJournal {
        RocksJournal {
            db: self.db.clone(),
            durability: self.durability,
            buffer: Vec::with_capacity(256),
            forget_from: vec![UNFILLED_TAG],
            unfilled_not_before: None,
            unfinished_dropped: Vec::new(),
        }
    }

    fn cf(&self) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(JOURNAL_CF)
            .expect("journal column family exists")
    }

    fn history_cf(&self) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(HISTORY_CF)
            .expect("history column family exists")
    }

    /// A new write of the history, in pieces.
    fn history_write(&self) -> HistoryWrite<'_> {
        HistoryWrite {
            db: &self.db,
            family: self.history_cf(),
            batch: WriteBatch::default(),
        }
    }

    fn snapshots_cf(&self) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(SNAPSHOTS_CF)
            .expect("snapshots column family exists")
    }

    fn snapshot_index_cf(&self) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(SNAPSHOT_INDEX_CF)
            .expect("snapshot index column family exists")
    }

    fn synced() -> WriteOptions {
        let mut options = WriteOptions::default();
        options.set_sync(true);
        options
    }
}

impl Journal for RocksJournal {
    fn append(&mut self, first_seq: u64, inputs: &[Input]) -> Result<(), JournalError> {
        self.append_batches(first_seq, &[inputs])
    }

    fn append_batches(&mut self, first_seq: u64, batches: &[&[Input]]) -> Result<(), JournalError> {
        record::encode_frame(batches.iter().flat_map(|b| b.iter()), &mut self.buffer);
        if record::frame_len(first_seq, &self.buffer)? == 0 {
            return Ok(());
        }
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(), key(first_seq), &self.buffer);
        let mut options = WriteOptions::default();
        options.set_sync(self.durability == Durability::Sync);
        self.db.write_opt(batch, &options).map_err(store)
    }

    fn add_history(&mut self, history: &History, through: u64) -> Result<(), JournalError> {
        let unfilled = unfilled_value(history.orders.iter().filter(|o| forgettable(o)));
        // Lowered before anything is stored: a lower bound stays true.
        if !unfilled.is_empty() {
            let time = history.time;
            self.unfilled_not_before = self.unfilled_not_before.map(|t| t.min(time));
        }
        let mut write = self.history_write();
        // Each kind of key in ascending order: RocksDB's memtable then
        // inserts each key from where the last one went, instead of
        // searching its skip list from the top for every key.
        let mut ledger: Vec<&LedgerEntry> = history.ledger.iter().collect();
        // Stable: each agent's entries stay in the order they happened.
        ledger.sort_by_key(|e| e.agent);
        // One buffer for every value (the write copies each in).
        let mut value = Vec::with_capacity(256);
        for group in ledger.chunk_by(|a, b| a.agent == b.agent) {
            let first = group[0];
            value.clear();
            bincode::serialize_into(&mut value, group).expect("ledger entries serialize");
            write.put(ledger_key(first.agent, first.seq, first.index), &value)?;
        }
        let mut orders: Vec<&OrderView> = history.orders.iter().collect();
        orders.sort_unstable_by_key(|o| (o.agent, o.order_id));
        for o in &orders {
            value.clear();
            bincode::serialize_into(&mut value, o).expect("orders serialize");
            write.put(order_key(o.agent, o.order_id), &value)?;
        }
        let mut named: Vec<_> = (history.orders.iter())
            .filter_map(|o| {
                Some((
                    client_id_key(o.agent, o.client_order_id?.as_str().as_bytes()),
                    o.order_id,
                ))
            })
            .collect();
        // Stable: of the orders that took one client id, the newest stays
        // last, and names it.
        named.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, id) in named {
            write.put(key, id.0.to_be_bytes())?;
        }
        if !unfilled.is_empty() {
            write.put(unfilled_key(history.time, through), unfilled)?;
        }
        // Last, so it is never stored without what it covers.
        write.put(HISTORY_THROUGH, through.to_be_bytes())?;
        write.finish()
    }

    fn forget_unfilled_orders(
        &mut self,
        finished_before: Timestamp,
        max: usize,
    ) -> Result<usize, JournalError> {
        if self
            .unfilled_not_before
            .is_some_and(|t| finished_before <= t)
        {
            return Ok(0);
        }
        let end = unfilled_key(finished_before, 0);
        let mut write = self.history_write();
        let mut forgotten = 0;
        let mut last = None;
        // The date of the first list left, if any.
        let mut kept = Timestamp(i64::MAX);
        let dated = self.db.iterator_cf(
            self.history_cf(),
            IteratorMode::From(&self.forget_from, Direction::Forward),
        );
        for item in dated {
            let (key, orders) = item.map_err(store)?;
            if forgotten >= max || *key >= end[..] {
                kept = unfilled_key_time(&key).unwrap_or(kept);
                break;
            }
            for (agent, id, client_id) in unfilled_orders(&orders)? {
                write.delete(order_key(agent, id))?;
                if !client_id.is_empty() {
                    // Unless a newer order took the client id over.
                    let named = client_id_key(agent, client_id);
                    let current = self.db.get_cf(self.history_cf(), &named).map_err(store)?;
                    if current.as_deref() == Some(&id.0.to_be_bytes()[..]) {
                        write.delete(named)?;
                    }
                }
                forgotten += 1;
            }
            write.delete(&key)?;
            last = Some(key);
        }
        write.finish()?;
        if let Some(last) = last {
            self.forget_from = last.to_vec();
            self.forget_from.push(0);
        }
        self.unfilled_not_before = Some(kept);
        Ok(forgotten)
    }

    fn history_through(&self) -> Result<u64, JournalError> {
        match self
            .db
            .get_cf(self.history_cf(), HISTORY_THROUGH)
            .map_err(store)?
        {
            None => Ok(0),
            Some(v) => v
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| JournalError::Corrupt {
                    seq: 0,
                    reason: "the history's progress key is damaged".into(),
                }),
        }
    }

    fn finished_order(
        &self,
        agent: AgentId,
        order: &OrderRef,
    ) -> Result<Option<OrderView>, JournalError> {
        let id = match order {
            OrderRef::Id(id) => *id,
            OrderRef::ClientId(client_id) => {
                let key = client_id_key(agent, client_id.as_str().as_bytes());
                let Some(id) = self.db.get_cf(self.history_cf(), &key).map_err(store)? else {
                    return Ok(None);
                };
                let id = id
                    .as_slice()
                    .try_into()
                    .map_err(|_| JournalError::Corrupt {
                        seq: 0,
                        reason: format!("archived client id {key:x?} is damaged"),
                    })?;
                OrderId(u64::from_be_bytes(id))
            }
        };
        let key = order_key(agent, id);
        self.db
            .get_pinned_cf(self.history_cf(), key)
            .map_err(store)?
            .map(|value| archived(&key, &value))
            .transpose()
    }

    fn finished_orders(
        &self,
        agent: AgentId,
        after: Option<OrderId>,
        limit: usize,
        keep: &dyn Fn(&OrderView) -> bool,
    ) -> Result<ArchivePage, JournalError> {
        let start = order_key(agent, OrderId(after.map_or(0, |id| id.0.saturating_add(1))));
        let end = order_key(agent, OrderId(u64::MAX));
        let orders = self
            .db
            .iterator_cf(
                self.history_cf(),
                IteratorMode::From(&start, Direction::Forward),
            )
            .map_while(|item| match item {
                Ok((key, value)) => (*key <= end[..]).then(|| archived(&key, &value)),
                Err(e) => Some(Err(store(e))),
            });
        archive_page(orders, limit, keep)
    }

    fn ledger(
        &self,
        agent: AgentId,
        after: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, JournalError> {
        let prefix = agent.0.to_be_bytes();
        // Start at the group holding `after` (the last one starting at or
        // before it), or at the agent's first group.
        let mut start = ledger_key(agent, 0, 0);
        if let Some((seq, index)) = after {
            let at = ledger_key(agent, seq, index);
            let mut back = self.db.iterator_cf(
                self.history_cf(),
                IteratorMode::From(&at, Direction::Reverse),
            );
            if let Some(item) = back.next() {
                let (key, _) = item.map_err(store)?;
                if key.len() == 20 && key[..8] == prefix {
                    start.copy_from_slice(&key);
                }
            }
        }
        let mut out = Vec::with_capacity(limit.min(1024));
        let groups = self.db.iterator_cf(
            self.history_cf(),
            IteratorMode::From(&start, Direction::Forward),
        );
        for item in groups {
            let (key, value) = item.map_err(store)?;
            if key.len() != 20 || key[..8] != prefix || out.len() == limit {
                break;
            }
            let group: Vec<LedgerEntry> =
                bincode::deserialize(&value).map_err(|e| JournalError::Corrupt {
                    seq: u64::from_be_bytes(key[8..16].try_into().expect("8 bytes")),
                    reason: format!("ledger entries do not decode: {e}"),
                })?;
            let fresh = group
                .into_iter()
                .filter(|e| after.is_none_or(|a| e.position() > a));
            out.extend(fresh.take(limit - out.len()));
        }
        Ok(out)
    }

    fn sync(&mut self) -> Result<(), JournalError> {
        // A synced journal's every write was synced before it returned: a
        // sync of the log on the writer's interval would only hold the
        // next batch behind another fdatasync.
        match self.durability {
            Durability::Sync => Ok(()),
            Durability::Buffered => self.db.flush_wal(true).map_err(store),
        }
    }

    fn background_sync(&self) -> Option<BackgroundSync> {
        // RocksDB syncs its log safely while other threads write to it.
        let db = self.db.clone();
        (self.durability == Durability::Buffered)
            .then(|| Box::new(move || db.flush_wal(true).map_err(store)) as BackgroundSync)
    }

    fn read_from(
        &self,
        from: u64,
        visit: &mut dyn FnMut(u64, Input) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let from = from.max(1);
        // Start at the frame that holds `from`: the last one starting at or
        // before it (or the first one, if all start after it).
        let start = match self
            .db
            .iterator_cf(
                self.cf(),
                IteratorMode::From(&key(from), Direction::Reverse),
            )
            .next()
        {
            Some(item) => seq_of(&item.map_err(store)?.0)?,
            None => from,
        };
        let mut expected = None;
        for item in self.db.iterator_cf(
            self.cf(),
            IteratorMode::From(&key(start), Direction::Forward),
        ) {
            let (key, value) = item.map_err(store)?;
            let first = seq_of(&key)?;
            let next = expected.unwrap_or(first.min(from));
            if first != next {
                return Err(JournalError::Gap {
                    expected: next,
                    found: first,
                });
            }
            let mut seq = first;
            record::decode_frame(first, &value, &mut |input| {
                if seq >= from {
                    visit(seq, input)?;
                }
                seq += 1;
                Ok(())
            })?;
            expected = Some(seq);
        }
        Ok(())
    }

    fn last_seq(&self) -> Result<u64, JournalError> {
        match self.db.iterator_cf(self.cf(), IteratorMode::End).next() {
            None => Ok(0),
            Some(item) => {
                let (key, value) = item.map_err(store)?;
                let first = seq_of(&key)?;
                Ok(first + record::frame_len(first, &value)? - 1)
            }
        }
    }

    fn write_snapshot(
        &mut self,
        seq: u64,
        write: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), JournalError> {
        // History bypasses the log: before a snapshot lets recovery skip
        // the records that made it, it goes to disk.
        self.db.flush_cf(self.history_cf()).map_err(store)?;
        // Listed first: a crash before the snapshot is in leaves an entry
        // without pieces, which opening the store drops (the records after
        // the snapshot before it are still there). A failure drops it here.
        let mut index = WriteBatch::default();
        index.put_cf(self.snapshot_index_cf(), key(seq), []);
        self.db.write_opt(index, &Self::synced()).map_err(store)?;
        let stored = self.store_snapshot_table(seq, write);
        if stored.is_err() {
            let _ = self.delete_snapshot(seq);
        }
        stored
    }

    fn snapshots(&self) -> Result<Vec<u64>, JournalError> {
        self.db
            .iterator_cf(self.snapshot_index_cf(), IteratorMode::End)
            .map(|item| seq_of(&item.map_err(store)?.0))
            .collect()
    }

    fn read_snapshot(&self, seq: u64, read: &mut dyn FnMut(&[u8])) -> Result<(), JournalError> {
        let start = key(seq);
        // Room for every piece up to the last one, so the bytes are copied
        // once, into memory allocated once.
        let last_piece = self
            .db
            .iterator_cf(
                self.snapshots_cf(),
                IteratorMode::From(&snapshot_piece_key(seq, u32::MAX), Direction::Reverse),
            )
            .next()
            .transpose()
            .map_err(store)?
            .and_then(|(k, _)| Some(u32::from_be_bytes(k.strip_prefix(&start)?.try_into().ok()?)));
        let room = last_piece.map_or(0, |last| (last as usize + 1) * SNAPSHOT_PIECE);
        // Read straight through, without filling the block cache with
        // what is read once.
        let mut options = ReadOptions::default();
        options.fill_cache(false);
        options.set_readahead_size(8 * SNAPSHOT_PIECE);
        let pieces = self.db.iterator_cf_opt(
            self.snapshots_cf(),
            options,
            IteratorMode::From(&start, Direction::Forward),
        );
        let mut bytes = Vec::with_capacity(room);
        let mut found = false;
        for (expected, item) in (0u32..).zip(pieces) {
            let (k, piece) = item.map_err(store)?;
            if !k.starts_with(&start) {
                break;
            }
            // The pieces in order, or one whole value in the old layout.
            if k[..] != start[..] && k[..] != snapshot_piece_key(seq, expected)[..] {
                return Err(JournalError::Corrupt {
                    seq,
                    reason: format!("the snapshot's piece {expected} is missing"),
                });
            }
            bytes.extend_from_slice(&piece);
            found = true;
        }
        if !found {
            return Err(JournalError::Store(format!(
                "no snapshot after record {seq}"
            )));
        }
        read(&bytes);
        Ok(())
    }

    fn delete_snapshot(&mut self, seq: u64) -> Result<(), JournalError> {
        let mut batch = WriteBatch::default();
        // Every piece (and a whole value in the old layout).
        let end = seq
            .checked_add(1)
            .map_or(vec![0xFF; 9], |next| key(next).to_vec());
        batch.delete_range_cf(self.snapshots_cf(), key(seq).to_vec(), end);
        batch.delete_cf(self.snapshot_index_cf(), key(seq));
        self.db.write_opt(batch, &Self::synced()).map_err(store)
    }

    fn delete_records_through(&mut self, seq: u64) -> Result<(), JournalError> {
        // Whole frames only: the frame that holds `seq` (the last one
        // starting at or before it) goes too only if it ends there. One
        // seek reads that frame alone: a scan from the start read every
        // record it deleted back from disk, a hundred megabytes per
        // snapshot under the batch load.
        let Some(item) = self
            .db
            .iterator_cf(self.cf(), IteratorMode::From(&key(seq), Direction::Reverse))
            .next()
        else {
            return Ok(());
        };
        let (holding, value) = item.map_err(store)?;
        let first = seq_of(&holding)?;
        let kept_from = if first + record::frame_len(first, &value)? - 1 > seq {
            first
        } else {
            first + 1
        };
        // The table files wholly before it go, unread; the records before
        // it in the table holding it, and in tables not yet compacted out
        // of the newest level, stay until a later prune finds their file
        // wholly before its frame. A range delete instead (or after) left
        // a marker in the newest table, whose keys then spanned from the
        // oldest record to the newest: compaction rewrote every table in
        // between at each prune (60 MB per snapshot under the batch
        // load). (The range's end is inclusive: the last key before
        // `kept_from`.)
        self.db
            .delete_file_in_range_cf(self.cf(), key(0), key(kept_from.saturating_sub(1)))
            .map_err(store)
    }
}

/// Most keys one RocksDB write of the history holds. The store has a
/// single queue of writes: under batches of places and cancels, a journal
/// append that arrived behind one history write of a whole backlog (tens
/// of thousands of keys) waited 30-120 ms for all of them. In pieces, it
/// waits for one piece at most: journal writes over 6.4 ms in a 10 s run
/// were 461-668 with pieces of 4,096 keys, 222-280 with 1,024 (and about
/// as many with 256), and the rate no lower.
const HISTORY_KEYS_PER_WRITE: usize = 1_024;

/// A write of the history in pieces of at most [`HISTORY_KEYS_PER_WRITE`]
/// keys, stored in order, outside RocksDB's log: history is rebuilt from
/// the journal after a crash, and in the log (an order's ledger entries
/// alone are several times its record's bytes) every journal sync would
/// wait for it too.
struct HistoryWrite<'a> {
    db: &'a DB,
    family: &'a rocksdb::ColumnFamily,
    batch: WriteBatch,
}

impl<'a> HistoryWrite<'a> {
    fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), JournalError> {
        self.batch.put_cf(self.family, key, value);
        self.write_if_full()
    }

    fn delete(&mut self, key: impl AsRef<[u8]>) -> Result<(), JournalError> {
        self.batch.delete_cf(self.family, key);
        self.write_if_full()
    }

    fn write_if_full(&mut self) -> Result<(), JournalError> {
        match self.batch.len() >= HISTORY_KEYS_PER_WRITE {
            true => self.finish(),
            false => Ok(()),
        }
    }

    /// Stores what is not stored yet.
    fn finish(&mut self) -> Result<(), JournalError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let mut options = WriteOptions::default();
        options.disable_wal(true);
        let piece = std::mem::take(&mut self.batch);
        self.db.write_opt(piece, &options).map_err(store)
    }
}

/// Whether files in `dir` (created if missing) can be opened for direct
/// I/O; some file systems refuse it.
fn direct_io_works(dir: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    if std::fs::create_dir_all(dir).is_err() {
        return false;
    }
    let probe = dir.join(".direct-io-probe");
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(&probe);
    let _ = std::fs::remove_file(&probe);
    opened.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::prune;
    use agora_engine::units::{ClientOrderId, Quantity, Symbol, SCALE};
    use agora_engine::{OrderStatus, OrderType, SelfTradePrevention, Side, TimeInForce};

    fn unfilled(agent: u64, id: u64, client_id: Option<&str>) -> OrderView {
        OrderView {
            order_id: OrderId(id),
            client_order_id: client_id.map(|c| ClientOrderId::new(c).unwrap()),
            agent: AgentId(agent),
            asset: Symbol::new("GPU").unwrap(),
            side: Side::Sell,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            stp: SelfTradePrevention::CancelResting,
            price: None,
            quantity: Quantity(SCALE),
            filled: Quantity::ZERO,
            remaining: Quantity(SCALE),
            status: OrderStatus::Cancelled,
            placed_at: Timestamp(1),
        }
    }

    #[test]
    fn a_snapshot_is_stored_in_pieces_that_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
        // Two and a half pieces, each byte telling its place.
        let big: Vec<u8> = (0..SNAPSHOT_PIECE * 5 / 2)
            .map(|i| (i % 251) as u8)
            .collect();
        journal.save_snapshot(7, &big).unwrap();
        journal.save_snapshot(9, b"small").unwrap();
        journal.save_snapshot(10, b"").unwrap();
        let stored = |journal: &RocksJournal, seq: u64| {
            journal
                .db
                .prefix_iterator_cf(journal.snapshots_cf(), key(seq))
                .map(|item| item.unwrap().0)
                .take_while(|k| k.starts_with(&key(seq)))
                .count()
        };
        assert_eq!((stored(&journal, 7), stored(&journal, 9)), (3, 1));
        assert_eq!(journal.load_snapshot(7).unwrap(), big);
        assert_eq!(journal.load_snapshot(9).unwrap(), b"small");
        assert_eq!(journal.load_snapshot(10).unwrap(), b"");
        // A store written before the pieces holds a snapshot whole.
        let old = journal.snapshots_cf();
        journal.db.put_cf(old, key(5), b"whole").unwrap();
        assert_eq!(journal.load_snapshot(5).unwrap(), b"whole");
        // Deleting takes every piece of that snapshot, and only those.
        journal.delete_snapshot(7).unwrap();
        journal.delete_snapshot(5).unwrap();
        assert_eq!((stored(&journal, 7), stored(&journal, 5)), (0, 0));
        assert!(matches!(
            journal.load_snapshot(7),
            Err(JournalError::Store(_))
        ));
        assert_eq!(journal.load_snapshot(9).unwrap(), b"small");
        // A missing piece is named, not read around.
        journal.save_snapshot(11, &big).unwrap();
        let cf = journal.snapshots_cf();
        journal.db.delete_cf(cf, snapshot_piece_key(11, 1)).unwrap();
        let read = journal.load_snapshot(11);
        assert!(
            matches!(&read, Err(JournalError::Corrupt { seq: 11, reason }) if reason.contains("piece 1")),
            "{read:?}"
        );
    }

    /// Record `i`: a deposit to agent `i`.
    fn deposit(i: u64) -> Input {
        Input {
            time: Timestamp(i as i64),
            command: agora_engine::Command::Deposit(agora_engine::cmd::Deposit {
                agent: AgentId(i),
                currency: agora_engine::units::Currency::new("CREDITS").unwrap(),
                amount: agora_engine::units::Amount(1),
            }),
        }
    }

    #[test]
    fn a_snapshot_a_crash_or_failure_cut_short_is_dropped_not_kept_in_place_of_a_good_one() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
            let records: Vec<Input> = (1..=30).map(deposit).collect();
            journal.append(1, &records).unwrap();
            journal.save_snapshot(10, b"ten").unwrap();
            // A crash after listing the snapshot after record 20, before
            // RocksDB took in its table.
            let index = journal.snapshot_index_cf();
            journal.db.put_cf(index, key(20), []).unwrap();
            std::fs::write(dir.path().join(SNAPSHOT_TABLE), b"half a table").unwrap();
        }
        let mut journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
        assert_eq!(journal.snapshots().unwrap(), [10]);
        assert_eq!(journal.unfinished_snapshots_dropped(), [20]);
        assert!(!dir.path().join(SNAPSHOT_TABLE).exists());
        // A snapshot whose writing fails is not listed either.
        let failed = journal.write_snapshot(22, &mut |_| Err(io::Error::other("disk full")));
        assert!(matches!(failed, Err(JournalError::Store(_))), "{failed:?}");
        assert_eq!(journal.snapshots().unwrap(), [10]);
        // Pruning to two keeps the good snapshot before the new one, and
        // every record after it, for the new one to fall back on.
        journal.save_snapshot(25, b"twenty-five").unwrap();
        prune(&mut journal, 2).unwrap();
        assert_eq!(journal.snapshots().unwrap(), [25, 10]);
        assert_eq!(journal.load_snapshot(10).unwrap(), b"ten");
        let mut seen = Vec::new();
        journal
            .read_from(11, &mut |seq, _| {
                seen.push(seq);
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, (11..=30).collect::<Vec<_>>());
    }

    #[test]
    fn deleting_records_takes_whole_frames_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
        let append = |journal: &mut RocksJournal, first: u64| {
            let frame: Vec<Input> = (first..first + 3).map(deposit).collect();
            journal.append(first, &frame).unwrap();
        };
        // Moves every record into table files at the last level, where
        // whole files can be dropped.
        let compact = |journal: &RocksJournal| {
            journal.db.flush_cf(journal.cf()).unwrap();
            journal
                .db
                .compact_range_cf(journal.cf(), None::<&[u8]>, None::<&[u8]>);
        };
        let first_kept = |journal: &RocksJournal| {
            let mut frames = journal.db.iterator_cf(journal.cf(), IteratorMode::Start);
            frames.next().map(|item| seq_of(&item.unwrap().0).unwrap())
        };
        let read_from = |journal: &RocksJournal, from: u64| {
            let mut seen = Vec::new();
            journal
                .read_from(from, &mut |seq, _| {
                    seen.push(seq);
                    Ok(())
                })
                .map(|()| seen)
        };
        // Frames 1-3 and 4-6 in a table file at the last level, 7-9 and
        // 10-12 in one the memtable flushed.
        append(&mut journal, 1);
        append(&mut journal, 4);
        compact(&journal);
        append(&mut journal, 7);
        append(&mut journal, 10);
        journal.db.flush_cf(journal.cf()).unwrap();
        // Before the first frame ends: nothing goes.
        journal.delete_records_through(2).unwrap();
        assert_eq!(first_kept(&journal), Some(1));
        // Through the middle of a frame: a file wholly before it goes.
        journal.delete_records_through(8).unwrap();
        assert_eq!(first_kept(&journal), Some(7));
        assert_eq!(
            read_from(&journal, 9).unwrap(),
            (9..=12).collect::<Vec<_>>()
        );
        // A table file whose last frame is the first one kept stays.
        compact(&journal);
        journal.delete_records_through(11).unwrap();
        assert_eq!(first_kept(&journal), Some(7));
        assert_eq!(read_from(&journal, 10).unwrap(), [10, 11, 12]);
        // Through a file's last frame: the file goes, and appending goes
        // on.
        journal.delete_records_through(40).unwrap();
        assert_eq!(first_kept(&journal), None);
        append(&mut journal, 13);
        assert_eq!(first_kept(&journal), Some(13));
        assert_eq!(journal.last_seq().unwrap(), 15);
    }

    #[test]
    fn one_history_write_stores_orders_finished_in_any_order_and_the_newest_names_a_client_id() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
        // Out of key order, as orders finish; agent 2 used client id "q"
        // for order 9, then (once 9 had finished) for order 4.
        let orders = vec![
            unfilled(2, 9, Some("q")),
            unfilled(1, 8, None),
            unfilled(3, 2, Some("q")),
            unfilled(1, 3, None),
            unfilled(2, 4, Some("q")),
        ];
        let history = History {
            ledger: Vec::new(),
            orders: orders.clone(),
            time: Timestamp(5),
        };
        journal.add_history(&history, 11).unwrap();
        for o in &orders {
            let by_id = OrderRef::Id(o.order_id);
            let found = journal.finished_order(o.agent, &by_id).unwrap();
            assert_eq!(found.map(|f| f.order_id), Some(o.order_id));
        }
        let q = OrderRef::ClientId(ClientOrderId::new("q").unwrap());
        let named = |agent| journal.finished_order(AgentId(agent), &q).unwrap();
        assert_eq!(named(2).map(|f| f.order_id), Some(OrderId(4)));
        assert_eq!(named(3).map(|f| f.order_id), Some(OrderId(2)));
        assert_eq!(named(1), None);
    }

    #[test]
    fn a_list_of_unfilled_orders_reads_back_and_damage_is_named() {
        let longest = "x".repeat(40);
        let orders = [
            unfilled(1, 7, None),
            unfilled(u64::MAX, u64::MAX, Some(&longest)),
            unfilled(2, 9, Some("q")),
        ];
        let value = unfilled_value(orders.iter());
        let read = unfilled_orders(&value).unwrap();
        let expected: Vec<UnfilledOrder> = vec![
            (AgentId(1), OrderId(7), b""),
            (AgentId(u64::MAX), OrderId(u64::MAX), longest.as_bytes()),
            (AgentId(2), OrderId(9), b"q"),
        ];
        assert_eq!(read, expected);
        assert_eq!(unfilled_orders(&[]), Ok(vec![]));
        for cut in [1, 16, 17 + 1, value.len() - 1] {
            assert!(
                matches!(
                    unfilled_orders(&value[..cut]),
                    Err(JournalError::Corrupt { .. })
                ),
                "cut at {cut}"
            );
        }
        // Times sort as numbers, negative ones first.
        assert!(unfilled_key(Timestamp(-1), 9) < unfilled_key(Timestamp(0), 1));
        assert!(unfilled_key(Timestamp(5), 9) < unfilled_key(Timestamp(6), 1));
    }
}

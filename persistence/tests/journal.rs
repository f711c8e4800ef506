//! The journal end to end: records survive reopening, batches are released
//! only after they are journaled, and recovery rebuilds the exact state.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agora_engine::cmd::{CancelOrder, Deposit, PlaceOrder};
use agora_engine::query::OrderView;
use agora_engine::reply::OrderStatus;
use agora_engine::units::ClientOrderId;
use agora_engine::units::{
    AgentId, Amount, Currency, OrderId, Price, Quantity, Symbol, Timestamp, SCALE,
};
use agora_engine::{
    Answer, Batch, Command, EngineConfig, EngineHandle, Input, Market, OrderRef, OrderType, Reject,
    Responder, SelfTradePrevention, Side, ThreadOptions, TimeInForce,
};
use agora_persistence::{
    prune, recover, recover_through, spawn_snapshotter, ArchivePage, ArchiveProgress,
    BackgroundSync, History, Journal, JournalError, JournalWriter, LedgerEntry, MemoryJournal,
    Release, SnapshotPolicy, WriterOptions, WriterThread, ARCHIVE_SCAN_BUDGET,
};
use agora_persistence::{Durability, RocksJournal};
use proptest::prelude::*;

fn deposit(agent: u64, units: i64) -> Command {
    Command::Deposit(Deposit {
        agent: AgentId(agent),
        currency: Currency::new("CREDITS").unwrap(),
        amount: Amount(units * SCALE),
    })
}

fn order(id: u64, agent: u64, side: Side, price: i64, quantity: i64, tif: TimeInForce) -> Command {
    Command::PlaceOrder(PlaceOrder {
        order_id: OrderId(id),
        agent: AgentId(agent),
        asset: Symbol::new("GPU").unwrap(),
        side,
        order_type: OrderType::Limit,
        price: Some(Price(price * SCALE)),
        quantity: Quantity(quantity * SCALE),
        time_in_force: tif,
        client_order_id: None,
        stp: SelfTradePrevention::CancelResting,
    })
}

fn cancel(agent: u64, id: u64) -> Command {
    Command::CancelOrder(CancelOrder {
        agent: AgentId(agent),
        order: OrderRef::Id(OrderId(id)),
    })
}

/// A stream of deposits, crossing orders and cancels (some rejected).
fn stream(len: u64) -> Vec<Input> {
    (1..=len)
        .map(|i| {
            let agent = 1 + i % 5;
            let command = match i % 7 {
                0 => deposit(agent, 1_000),
                1 | 2 => order(
                    i,
                    agent,
                    Side::Buy,
                    90 + (i % 13) as i64,
                    1 + (i % 4) as i64,
                    TimeInForce::Gtc,
                ),
                3 | 4 => order(
                    i,
                    agent,
                    Side::Sell,
                    95 + (i % 11) as i64,
                    1 + (i % 3) as i64,
                    TimeInForce::Gtc,
                ),
                5 => order(i, agent, Side::Buy, 100, 2, TimeInForce::Ioc),
                _ => cancel(agent, i - 3),
            };
            Input {
                time: Timestamp(i as i64),
                command,
            }
        })
        .collect()
}

/// Applies `inputs` to a fresh market; returns it and the accepted inputs.
fn apply_all(inputs: &[Input]) -> (Market, Vec<Input>) {
    let mut market = Market::new(EngineConfig::default());
    let mut events = Vec::new();
    let accepted = inputs
        .iter()
        .filter(|input| market.apply(input, &mut events).is_ok())
        .cloned()
        .collect();
    (market, accepted)
}

#[test]
fn records_survive_reopening_in_order() {
    // What was appended is read back in order after the store is reopened.
    let dir = tempfile::tempdir().unwrap();
    let (_, accepted) = apply_all(&stream(200));
    {
        let mut journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
        assert_eq!(journal.last_seq(), Ok(0));
        journal.append(1, &accepted[..50]).unwrap();
        journal.append(51, &accepted[50..]).unwrap();
    }
    let journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
    assert_eq!(journal.last_seq(), Ok(accepted.len() as u64));
    let mut read = Vec::new();
    journal
        .read_from(1, &mut |seq, input| {
            assert_eq!(seq, read.len() as u64 + 1);
            read.push(input);
            Ok(())
        })
        .unwrap();
    assert_eq!(read, accepted);
    let mut tail = 0;
    journal
        .read_from(accepted.len() as u64 - 2, &mut |_, _| {
            tail += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(tail, 3);
}

#[test]
fn snapshots_and_pruning_work_on_rocksdb() {
    let dir = tempfile::tempdir().unwrap();
    let (market, accepted) = apply_all(&stream(400));
    let memory = journal_with_snapshots(&accepted, &[100, 200, 300]);
    {
        let mut journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
        // Written as the writer does, a group of batches per write.
        for (i, chunk) in accepted.chunks(60).enumerate() {
            journal.append(i as u64 * 60 + 1, chunk).unwrap();
        }
        for seq in [100, 200, 300] {
            journal
                .save_snapshot(seq, &memory.load_snapshot(seq).unwrap())
                .unwrap();
        }
        prune(&mut journal, 2).unwrap();
    }
    let journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
    assert_eq!(journal.snapshots(), Ok(vec![300, 200]));
    for seq in [300, 200] {
        assert_eq!(journal.load_snapshot(seq), memory.load_snapshot(seq));
    }
    // Each snapshot went in as a table file of its own, taken in whole.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("snapshot"))
        .collect();
    assert!(left.is_empty(), "no table file is left behind: {left:?}");
    // Records through 200 may be gone (whole table files of them: here
    // all are still in the memtable), never one after: the write holding
    // 181..240 stays, as records after 200 are still needed.
    let mut first = None;
    journal
        .read_from(190, &mut |seq, _| {
            first.get_or_insert(seq);
            Ok(())
        })
        .unwrap();
    assert_eq!(first, Some(190), "a read may start inside a write");
    let mut all = Vec::new();
    let from_the_start = journal.read_from(1, &mut |seq, _| {
        all.push(seq);
        Ok(())
    });
    match from_the_start {
        Ok(()) => assert_eq!(all, (1..=accepted.len() as u64).collect::<Vec<_>>()),
        Err(e) => assert!(matches!(e, JournalError::Gap { .. }), "{e:?}"),
    }
    let recovered = recover(&journal, EngineConfig::default()).unwrap();
    assert_eq!(recovered.snapshot, Some(300));
    assert_eq!(recovered.market.state_digest(), market.state_digest());
}

#[test]
fn snapshots_of_a_store_without_the_index_are_listed_after_reopening() {
    // A store written before snapshots had an index: its snapshots sit
    // only in their own column family.
    let dir = tempfile::tempdir().unwrap();
    let (market, _) = apply_all(&stream(100));
    {
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let db =
            rocksdb::DB::open_cf(&options, dir.path(), ["journal", "snapshots", "ledger"]).unwrap();
        let snapshots = db.cf_handle("snapshots").unwrap();
        db.put_cf(snapshots, 100u64.to_be_bytes(), market.snapshot())
            .unwrap();
    }
    let mut journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
    assert_eq!(journal.snapshots(), Ok(vec![100]));
    let recovered = recover(&journal, EngineConfig::default()).unwrap();
    assert_eq!(recovered.snapshot, Some(100));
    assert_eq!(recovered.market.state_digest(), market.state_digest());
    journal.delete_snapshot(100).unwrap();
    drop(journal);
    let journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
    assert_eq!(
        journal.snapshots(),
        Ok(vec![]),
        "deleted from the index too"
    );
}

#[test]
fn recovery_rebuilds_the_exact_state() {
    // Replaying the journal gives the digest the engine had.
    let dir = tempfile::tempdir().unwrap();
    let (market, accepted) = apply_all(&stream(500));
    let mut journal = RocksJournal::open(dir.path(), Durability::Buffered).unwrap();
    journal.append(1, &accepted).unwrap();
    journal.sync().unwrap();
    drop(journal);
    let journal = RocksJournal::open(dir.path(), Durability::Buffered).unwrap();
    let recovered = recover(&journal, EngineConfig::default()).unwrap();
    assert_eq!(recovered.last_seq, accepted.len() as u64);
    assert_eq!(recovered.market.state_digest(), market.state_digest());
}

#[test]
fn a_journal_from_another_configuration_is_refused() {
    // A record the engine now rejects stops recovery with its sequence.
    let (_, accepted) = apply_all(&stream(100));
    let mut journal = MemoryJournal::default();
    journal.append(1, &accepted).unwrap();
    let strict = EngineConfig {
        assets_implicit: false,
        ..EngineConfig::default()
    };
    match recover(&journal, strict) {
        Err(JournalError::Diverged { seq, reason }) => {
            assert!(
                seq >= 1 && reason.contains("UnknownAsset"),
                "{seq} {reason}"
            )
        }
        other => panic!("expected divergence, got {:?}", other.map(|r| r.last_seq)),
    }
    assert_eq!(
        journal.append(5, &accepted[..1]),
        Err(JournalError::Gap {
            expected: accepted.len() as u64 + 1,
            found: 5
        })
    );
}

/// A journal holding `accepted`, with snapshots after the records in
/// `snapshot_at`.
fn journal_with_snapshots(accepted: &[Input], snapshot_at: &[usize]) -> MemoryJournal {
    let mut journal = MemoryJournal::default();
    let mut market = Market::new(EngineConfig::default());
    let mut events = Vec::new();
    for (i, input) in accepted.iter().enumerate() {
        market.apply(input, &mut events).unwrap();
        let seq = i as u64 + 1;
        journal.append(seq, std::slice::from_ref(input)).unwrap();
        if snapshot_at.contains(&(i + 1)) {
            journal.save_snapshot(seq, &market.snapshot()).unwrap();
        }
    }
    journal
}

#[test]
fn recovery_starts_from_the_newest_snapshot() {
    // The newest snapshot plus the records after it give the same state as
    // a full replay.
    let (market, accepted) = apply_all(&stream(600));
    let journal = journal_with_snapshots(&accepted, &[100, 250]);
    let recovered = recover(&journal, EngineConfig::default()).unwrap();
    assert_eq!(recovered.snapshot, Some(250));
    assert_eq!(recovered.replayed, accepted.len() as u64 - 250);
    assert_eq!(recovered.last_seq, accepted.len() as u64);
    assert_eq!(recovered.market.state_digest(), market.state_digest());
}

#[test]
fn recovery_through_a_record_rebuilds_the_state_right_after_it() {
    // However far the journal has grown since, from the newest snapshot
    // taken before that record.
    let (_, accepted) = apply_all(&stream(600));
    let journal = journal_with_snapshots(&accepted, &[100, 250]);
    for (through, snapshot) in [(200, Some(100)), (250, Some(250)), (500, Some(250))] {
        let (market, _) = apply_all(&accepted[..through]);
        let copy = recover_through(&journal, EngineConfig::default(), through as u64).unwrap();
        assert_eq!(copy.snapshot, snapshot);
        assert_eq!(copy.last_seq, through as u64);
        assert_eq!(copy.market.state_digest(), market.state_digest());
        // It collects the history of the replayed records the store lacks
        // (here: all of it); start-up's `recover` leaves that to it.
        let history = &copy.history;
        assert_eq!(history.ledger.is_empty(), copy.replayed == 0);
        assert!(history.ledger.iter().all(|e| e.seq <= through as u64));
        let (at_snapshot, _) = apply_all(&accepted[..snapshot.unwrap() as usize]);
        let finished = market.orders_finished_total() - at_snapshot.orders_finished_total();
        assert_eq!(history.orders.len() as u64, finished);
    }
    let recovered = recover(&journal, EngineConfig::default()).unwrap();
    assert_eq!(recovered.history, History::default());
    assert!(matches!(
        recover_through(&journal, EngineConfig::default(), accepted.len() as u64 + 1),
        Err(JournalError::Gap { .. })
    ));
}

#[test]
fn a_damaged_record_stops_recovery_naming_it() {
    // Replay reads ahead of the records it applies; the damage is still
    // the error, with its sequence, wherever it falls among the chunks
    // read ahead.
    let (_, accepted) = apply_all(&stream(5_000));
    for damaged in [1, 1_024, 1_025, 3_000, accepted.len() as u64] {
        let mut journal = journal_with_snapshots(&accepted, &[]);
        journal.damage_record(damaged);
        match recover(&journal, EngineConfig::default()) {
            Err(JournalError::Corrupt { seq, .. }) => assert_eq!(seq, damaged),
            other => panic!(
                "record {damaged} damaged, yet {:?}",
                other.map(|r| r.last_seq)
            ),
        }
    }
}

#[test]
fn a_damaged_snapshot_falls_back_to_an_older_one() {
    let (market, accepted) = apply_all(&stream(600));
    let mut journal = journal_with_snapshots(&accepted, &[100, 250]);
    journal.damage_snapshot(250);
    let recovered = recover(&journal, EngineConfig::default()).unwrap();
    assert_eq!(recovered.snapshot, Some(100));
    assert_eq!(recovered.snapshots_skipped.len(), 1);
    assert!(
        recovered.snapshots_skipped[0].1.contains("checksum"),
        "{:?}",
        recovered.snapshots_skipped
    );
    assert_eq!(recovered.market.state_digest(), market.state_digest());
}

#[test]
fn with_every_snapshot_damaged_and_the_records_before_them_pruned_start_up_names_the_damage() {
    let (_, accepted) = apply_all(&stream(600));
    let mut journal = journal_with_snapshots(&accepted, &[100, 250]);
    journal.delete_records_through(100).unwrap();
    // One damaged, one in a format this version does not read (as an
    // older version's would be).
    let mut older = journal.load_snapshot(100).unwrap();
    older[4..6].copy_from_slice(&4u16.to_le_bytes());
    journal.save_snapshot(100, &older).unwrap();
    journal.damage_snapshot(250);
    let Err(JournalError::Store(why)) = recover(&journal, EngineConfig::default()) else {
        panic!("recovery cannot succeed without a snapshot or the early records");
    };
    assert!(
        why.contains("no snapshot could be restored")
            && why.contains("after record 250: snapshot checksum mismatch")
            && why.contains("after record 100: snapshot format 4 is not supported")
            && !why.contains("corrupt"),
        "{why}"
    );
}

#[test]
fn pruning_keeps_what_recovery_needs() {
    // With two snapshots kept, records up to the older one go; recovery
    // still works, even from the older snapshot.
    let (market, accepted) = apply_all(&stream(600));
    let mut journal = journal_with_snapshots(&accepted, &[50, 100, 250]);
    prune(&mut journal, 2).unwrap();
    assert_eq!(journal.snapshots(), Ok(vec![250, 100]));
    assert!(matches!(
        journal.read_from(1, &mut |_, _| Ok(())),
        Err(JournalError::Gap { .. })
    ));
    let recovered = recover(&journal, EngineConfig::default()).unwrap();
    assert_eq!(recovered.market.state_digest(), market.state_digest());
    journal.damage_snapshot(250);
    let recovered = recover(&journal, EngineConfig::default()).unwrap();
    assert_eq!(recovered.snapshot, Some(100));
    assert_eq!(recovered.market.state_digest(), market.state_digest());
    // New records keep their numbers after pruning.
    let next = journal.last_seq().unwrap() + 1;
    journal.append(next, &accepted[..1]).unwrap();
    assert_eq!(journal.last_seq(), Ok(next));
}

/// Records, for each released batch, how many records the journal held.
#[derive(Clone)]
struct CountingJournal {
    inner: MemoryJournal,
    appended: Arc<AtomicU64>,
    /// Syncs made on the writer's thread.
    syncs: Arc<AtomicU64>,
    /// With a background sync: its calls so far, and whether it fails.
    background: Option<(Arc<AtomicU64>, bool)>,
    /// Records it takes before every write fails, if limited.
    capacity: Option<u64>,
}

impl CountingJournal {
    fn new(appended: Arc<AtomicU64>, background: Option<(Arc<AtomicU64>, bool)>) -> Self {
        CountingJournal {
            inner: MemoryJournal::default(),
            appended,
            syncs: Arc::default(),
            background,
            capacity: None,
        }
    }
}

impl Journal for CountingJournal {
    fn append(&mut self, first_seq: u64, inputs: &[Input]) -> Result<(), JournalError> {
        let after = self.appended.load(Ordering::SeqCst) + inputs.len() as u64;
        if self.capacity.is_some_and(|records| after > records) {
            return Err(JournalError::Store("the disk is full".into()));
        }
        self.inner.append(first_seq, inputs)?;
        self.appended
            .fetch_add(inputs.len() as u64, Ordering::SeqCst);
        Ok(())
    }
    fn sync(&mut self) -> Result<(), JournalError> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        self.inner.sync()
    }
    fn background_sync(&self) -> Option<BackgroundSync> {
        let (calls, fails) = self.background.clone()?;
        Some(Box::new(move || {
            calls.fetch_add(1, Ordering::SeqCst);
            if fails {
                Err(JournalError::Store("the disk is gone".into()))
            } else {
                Ok(())
            }
        }))
    }
    fn add_history(&mut self, history: &History, through: u64) -> Result<(), JournalError> {
        self.inner.add_history(history, through)
    }
    fn history_through(&self) -> Result<u64, JournalError> {
        self.inner.history_through()
    }
    fn forget_unfilled_orders(
        &mut self,
        finished_before: Timestamp,
        max: usize,
    ) -> Result<usize, JournalError> {
        self.inner.forget_unfilled_orders(finished_before, max)
    }
    fn finished_order(
        &self,
        agent: AgentId,
        order: &OrderRef,
    ) -> Result<Option<OrderView>, JournalError> {
        self.inner.finished_order(agent, order)
    }
    fn finished_orders(
        &self,
        agent: AgentId,
        after: Option<OrderId>,
        limit: usize,
        keep: &dyn Fn(&OrderView) -> bool,
    ) -> Result<ArchivePage, JournalError> {
        self.inner.finished_orders(agent, after, limit, keep)
    }
    fn ledger(
        &self,
        agent: AgentId,
        after: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, JournalError> {
        self.inner.ledger(agent, after, limit)
    }
    fn read_from(
        &self,
        from: u64,
        visit: &mut dyn FnMut(u64, Input) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        self.inner.read_from(from, visit)
    }
    fn last_seq(&self) -> Result<u64, JournalError> {
        self.inner.last_seq()
    }
    fn write_snapshot(
        &mut self,
        seq: u64,
        write: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), JournalError> {
        self.inner.write_snapshot(seq, write)
    }
    fn snapshots(&self) -> Result<Vec<u64>, JournalError> {
        self.inner.snapshots()
    }
    fn read_snapshot(&self, seq: u64, read: &mut dyn FnMut(&[u8])) -> Result<(), JournalError> {
        self.inner.read_snapshot(seq, read)
    }
    fn delete_snapshot(&mut self, seq: u64) -> Result<(), JournalError> {
        self.inner.delete_snapshot(seq)
    }
    fn delete_records_through(&mut self, seq: u64) -> Result<(), JournalError> {
        self.inner.delete_records_through(seq)
    }
}

/// Checks that every released batch was journaled first, and counts the
/// journaled commands and the replies it released.
struct Check {
    appended: Arc<AtomicU64>,
    released_inputs: Arc<AtomicU64>,
    replies: Arc<AtomicU64>,
}

struct Ignore;

impl Responder for Ignore {
    fn answer(self, _: Result<Answer, Reject>) {}
}

impl Release<Ignore> for Check {
    fn release(&mut self, batch: &mut Batch<Ignore>, _: std::time::Duration) {
        let inputs = batch.inputs.len() as u64;
        let released = self.released_inputs.fetch_add(inputs, Ordering::SeqCst) + inputs;
        assert!(
            self.appended.load(Ordering::SeqCst) >= released,
            "a batch was released before it was journaled"
        );
        self.replies
            .fetch_add(batch.completions.drain(..).count() as u64, Ordering::SeqCst);
    }
}

/// Sends `inputs` to `engine` one command per message, then stops it and
/// returns its final state.
fn run_to_end(engine: EngineHandle<Ignore>, inputs: Vec<Input>) -> Market {
    let sender = engine.sender();
    for input in inputs {
        sender
            .send(agora_engine::Request::Command {
                input,
                responder: Ignore,
            })
            .unwrap();
    }
    drop(sender);
    engine.shutdown()
}

#[test]
fn the_engine_releases_batches_only_after_journaling_them() {
    // Through the engine thread: every reply comes back after its batch was
    // journaled, and the journal replays to the engine's final state.
    let appended = Arc::new(AtomicU64::new(0));
    let replies = Arc::new(AtomicU64::new(0));
    let journal = CountingJournal::new(appended.clone(), None);
    let check = Check {
        appended,
        released_inputs: Arc::default(),
        replies: replies.clone(),
    };
    let (writer, journal_thread) = JournalWriter::spawn(
        journal,
        1,
        check,
        WriterOptions {
            sync_interval: Duration::from_millis(5),
            ..WriterOptions::default()
        },
        None,
    )
    .unwrap();
    let options = ThreadOptions {
        channel_capacity: 64,
        batch_commands_max: 16,
    };
    let engine =
        EngineHandle::spawn(Market::new(EngineConfig::default()), writer, options).unwrap();
    let inputs = stream(2_000);
    let market = run_to_end(engine, inputs.clone());
    let journal = journal_thread.join().unwrap().unwrap();
    assert_eq!(replies.load(Ordering::SeqCst), 2_000);
    let (expected, accepted) = apply_all(&inputs);
    assert_eq!(journal.last_seq(), Ok(accepted.len() as u64));
    assert_eq!(market.state_digest(), expected.state_digest());
    let recovered = recover(&journal, EngineConfig::default()).unwrap();
    assert_eq!(recovered.market.state_digest(), market.state_digest());
}

#[test]
fn the_snapshotter_snapshots_a_replayed_copy_and_recovery_uses_it() {
    // Durable batches feed a background copy of the market; its snapshots
    // cover whole batches, old records are pruned, and recovery from the
    // newest snapshot reaches the engine's final state.
    let dir = tempfile::tempdir().unwrap();
    let journal = RocksJournal::open(dir.path(), Durability::Buffered).unwrap();
    let policy = SnapshotPolicy {
        every_commands: 300,
        every: Duration::from_secs(3600),
        keep: 2,
        ..SnapshotPolicy::default()
    };
    let empty = Market::new(EngineConfig::default());
    let copy = empty.clone();
    let progress = ArchiveProgress::default();
    let (feed, snapshotter) = spawn_snapshotter(
        Box::new(|_| Ok(copy)),
        0,
        journal.share(),
        policy,
        progress.clone(),
    )
    .unwrap();
    let check = Check {
        appended: Arc::new(AtomicU64::new(u64::MAX)),
        released_inputs: Arc::default(),
        replies: Arc::new(AtomicU64::new(0)),
    };
    let watch = journal.share();
    let (writer, journal_thread) =
        JournalWriter::spawn(journal, 1, check, WriterOptions::default(), Some(feed)).unwrap();
    let engine = EngineHandle::spawn(empty, writer, ThreadOptions::default()).unwrap();
    // In two parts, the second once the first is snapshotted: a
    // snapshotter that receives everything at once snapshots once.
    let mut inputs = stream(3_000);
    let second = inputs.split_off(1_500);
    let sender = engine.sender();
    for input in inputs {
        let responder = Ignore;
        sender
            .send(agora_engine::Request::Command { input, responder })
            .unwrap();
    }
    drop(sender);
    assert!(eventually(|| watch
        .snapshots()
        .is_ok_and(|s| !s.is_empty())));
    let market = run_to_end(engine, second);
    let journal = journal_thread.join().unwrap().unwrap();
    let last = snapshotter.join().unwrap().unwrap();
    // The clean stop took a final snapshot of everything.
    assert_eq!(last, Some(journal.last_seq().unwrap()));
    let snapshots = journal.snapshots().unwrap();
    assert_eq!(snapshots.len(), 2, "{snapshots:?}");
    let recovered = recover(&journal, EngineConfig::default()).unwrap();
    assert_eq!(recovered.snapshot, last);
    assert_eq!(recovered.replayed, 0);
    assert_eq!(recovered.market.state_digest(), market.state_digest());
    assert_ledgers_explain_balances(&journal, &market);
    assert_eq!(progress.finished(), market.orders_finished_total());
    assert_archive_holds_every_finished_order(&journal, &market);
}

/// Every order that finished is archived once, as the market (while it
/// still keeps the order) shows it.
fn assert_archive_holds_every_finished_order(journal: &impl Journal, market: &Market) {
    let mut archived = 0;
    for agent in (1..=5).map(AgentId) {
        let mut after = None;
        loop {
            let (page, stopped) = journal
                .finished_orders(agent, after, 100, &|_| true)
                .unwrap();
            assert_eq!(stopped, None, "nothing is skipped when all are kept");
            let Some(last) = page.last() else { break };
            after = Some(last.order_id);
            archived += page.len() as u64;
            for o in &page {
                assert_eq!(o.agent, agent);
                assert!(!o.status.is_open());
                let by_id = journal.finished_order(agent, &OrderRef::Id(o.order_id));
                assert_eq!(by_id.unwrap().as_ref(), Some(o));
                let query = agora_engine::Query::Order {
                    agent,
                    order: OrderRef::Id(o.order_id),
                };
                if let Ok(Answer::Order(kept)) = market.query(&query) {
                    assert_eq!(&kept, o);
                }
            }
        }
    }
    assert!(archived > 0);
    assert_eq!(archived, market.orders_finished_total());
}

/// Every agent's ledger, read back page by page, adds up to its wallet:
/// the ledger holds every posting that touched it, each once.
fn assert_ledgers_explain_balances(journal: &impl Journal, market: &Market) {
    use agora_engine::event::Account;
    for agent in (1..=5).map(AgentId) {
        let (mut available, mut held) = (0i64, 0i64);
        let mut after = None;
        let mut pages = 0;
        loop {
            let page = journal.ledger(agent, after, 100).unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.position());
            pages += 1;
            for e in &page {
                assert_eq!(e.agent, agent);
                let amount = e.posting.amount.0;
                match e.posting.from {
                    Account::Available(a) if a == agent => available -= amount,
                    Account::Held(a) if a == agent => held -= amount,
                    _ => {}
                }
                match e.posting.to {
                    Account::Available(a) if a == agent => available += amount,
                    Account::Held(a) if a == agent => held += amount,
                    _ => {}
                }
            }
        }
        assert!(pages > 1, "agent {agent} has a ledger of several pages");
        let Ok(Answer::Balances(balances)) = market.query(&agora_engine::Query::Balances { agent })
        else {
            panic!("balances")
        };
        let b = balances[0].1;
        assert_eq!(
            (available, held),
            (b.available.0, b.held.0),
            "agent {agent}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn any_split_into_batches_replays_to_the_same_state(len in 1u64..600, cuts in prop::collection::vec(1usize..50, 1..40)) {
        // However the accepted commands were grouped into batches, the
        // journal replays to the state the engine reached.
        let (market, accepted) = apply_all(&stream(len));
        let mut journal = MemoryJournal::default();
        let mut next = 0;
        for cut in cuts.iter().cycle() {
            if next >= accepted.len() {
                break;
            }
            let end = (next + cut).min(accepted.len());
            journal.append(next as u64 + 1, &accepted[next..end]).unwrap();
            next = end;
        }
        let recovered = recover(&journal, EngineConfig::default()).unwrap();
        prop_assert_eq!(recovered.market.state_digest(), market.state_digest());
        prop_assert_eq!(recovered.replayed, accepted.len() as u64);
    }
}

/// Waits (at most ten seconds) until `done` holds.
fn eventually(done: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !done() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    done()
}

fn writer_with(journal: CountingJournal) -> (JournalWriter<Ignore>, WriterThread<CountingJournal>) {
    let check = Check {
        appended: journal.appended.clone(),
        released_inputs: Arc::default(),
        replies: Arc::default(),
    };
    let options = WriterOptions {
        sync_interval: Duration::from_millis(1),
        ..WriterOptions::default()
    };
    JournalWriter::spawn(journal, 1, check, options, None).unwrap()
}

#[test]
fn a_background_sync_keeps_interval_syncs_off_the_writer() {
    // A journal with a background sync is synced by its own thread every
    // interval; the writer syncs inline only once, when it stops.
    let calls = Arc::new(AtomicU64::new(0));
    let journal = CountingJournal::new(Arc::default(), Some((calls.clone(), false)));
    let syncs = journal.syncs.clone();
    let (writer, journal_thread) = writer_with(journal);
    let engine = EngineHandle::spawn(
        Market::new(EngineConfig::default()),
        writer,
        ThreadOptions::default(),
    )
    .unwrap();
    let sender = engine.sender();
    for input in stream(200) {
        sender
            .send(agora_engine::Request::Command {
                input,
                responder: Ignore,
            })
            .unwrap();
    }
    assert!(eventually(|| calls.load(Ordering::SeqCst) >= 3));
    drop(sender);
    engine.shutdown();
    let journal = journal_thread.join().unwrap().unwrap();
    assert_eq!(syncs.load(Ordering::SeqCst), 1);
    assert!(journal.last_seq().unwrap() > 0);
}

#[test]
fn a_failed_background_sync_stops_the_writer() {
    // Nothing may be acknowledged as durable once syncing fails: the
    // writer stops, as an inline failure would, and says what failed.
    let calls = Arc::new(AtomicU64::new(0));
    let journal = CountingJournal::new(Arc::default(), Some((calls.clone(), true)));
    let (writer, journal_thread) = writer_with(journal);
    assert!(eventually(|| journal_thread.is_finished()));
    let failed = journal_thread
        .join()
        .unwrap()
        .err()
        .expect("the writer failed");
    assert_eq!(failed.error, JournalError::Store("the disk is gone".into()));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    drop(writer);
}

#[test]
fn a_failed_write_releases_nothing_of_it_and_stops_the_engine() {
    // The journal takes 100 records, then fails (a full disk): the writer
    // stops naming the first record it could not write, nothing from there
    // on is released, and the engine thread stops at its next batch
    // without panicking. (`Check` asserts at every release that the
    // journal took the batch first.)
    let mut journal = CountingJournal::new(Arc::default(), None);
    journal.capacity = Some(100);
    let released_inputs = Arc::new(AtomicU64::new(0));
    let check = Check {
        appended: journal.appended.clone(),
        released_inputs: released_inputs.clone(),
        replies: Arc::default(),
    };
    let (writer, journal_thread) =
        JournalWriter::spawn(journal, 1, check, WriterOptions::default(), None).unwrap();
    let options = ThreadOptions {
        channel_capacity: 64,
        batch_commands_max: 16,
    };
    let engine =
        EngineHandle::spawn(Market::new(EngineConfig::default()), writer, options).unwrap();
    let sender = engine.sender();
    let mut refused = false;
    for input in stream(5_000) {
        let request = agora_engine::Request::Command {
            input,
            responder: Ignore,
        };
        if sender.send(request).is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "the engine stopped taking commands");
    drop(sender);
    engine.shutdown();
    let failed = journal_thread
        .join()
        .unwrap()
        .err()
        .expect("the writer failed");
    assert!(failed.seq <= 101, "{failed}");
    assert!(failed.to_string().contains("the disk is full"), "{failed}");
    // Counted in journaled commands: a batch's replies also answer the
    // commands the engine refused, which have no record.
    let released = released_inputs.load(Ordering::SeqCst);
    assert!(released <= 100, "{released} journaled commands released");
}

/// A finished order of `agent`'s as the archive stores it.
fn finished(agent: u64, id: u64, asset: &str, client_id: Option<&str>) -> OrderView {
    OrderView {
        order_id: OrderId(id),
        client_order_id: client_id.map(|c| ClientOrderId::new(c).unwrap()),
        agent: AgentId(agent),
        asset: Symbol::new(asset).unwrap(),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        stp: SelfTradePrevention::CancelResting,
        price: Some(Price(SCALE)),
        quantity: Quantity(2 * SCALE),
        filled: Quantity(SCALE * (id % 2) as i64),
        remaining: Quantity(SCALE * (2 - id % 2) as i64),
        status: OrderStatus::Cancelled,
        placed_at: Timestamp(id as i64),
    }
}

/// Archives of two agents' orders, interleaved: agent 1 has 25,000 (ids
/// 1, 3, 5, …), three at each end in asset `RARE`; agent 2 has the even
/// ids. Client id `dup` names two of agent 1's, `solo` one.
fn archive_of_two_agents(journal: &mut dyn Journal) {
    let mut history = History::default();
    for n in 0..50_000u64 {
        let id = n + 1;
        let agent = 1 + n % 2;
        let rare = agent == 1 && !(6..=49_993).contains(&n);
        let client_id = match id {
            7 => Some("dup"),
            9 => Some("solo"),
            49_001 => Some("dup"),
            _ => None,
        };
        history.orders.push(finished(
            agent,
            id,
            if rare { "RARE" } else { "GPU" },
            client_id,
        ));
    }
    journal.add_history(&history, 7).unwrap();
}

/// Pages through `agent`'s archived orders that `keep` accepts, `limit`
/// at a time, following stopped walks: the ids, and how many pages.
fn archived_ids(
    journal: &dyn Journal,
    agent: u64,
    limit: usize,
    keep: &dyn Fn(&OrderView) -> bool,
) -> (Vec<u64>, usize) {
    let (mut ids, mut pages, mut after) = (Vec::new(), 0, None);
    loop {
        let (page, stopped): ArchivePage = journal
            .finished_orders(AgentId(agent), after, limit, keep)
            .unwrap();
        pages += 1;
        ids.extend(page.iter().map(|o| o.order_id.0));
        assert!(page.iter().all(|o| o.agent == AgentId(agent) && keep(o)));
        after = match (stopped, page.len() == limit) {
            (Some(at), _) => Some(at),
            (None, true) => page.last().map(|o| o.order_id),
            (None, false) => return (ids, pages),
        };
    }
}

/// What every journal's archive of finished orders must do.
fn check_archive(journal: &mut dyn Journal) {
    archive_of_two_agents(journal);
    assert_eq!(journal.history_through(), Ok(7));
    let odd: Vec<u64> = (1..50_000).step_by(2).collect();
    // Everything, in id order, a page at a time, none of agent 2's.
    let (all, pages) = archived_ids(journal, 1, 1_000, &|_| true);
    assert_eq!((all, pages), (odd.clone(), 26));
    // Narrowed to what few match, a page examines at most the budget and
    // says where it stopped: pages are short, none is lost.
    let rare = |o: &OrderView| o.asset.as_str() == "RARE";
    let (found, pages) = archived_ids(journal, 1, 10, &rare);
    assert_eq!(found, [1, 3, 5, 49_995, 49_997, 49_999]);
    assert_eq!(pages, 25_000 / ARCHIVE_SCAN_BUDGET + 1);
    let first = journal
        .finished_orders(AgentId(1), None, 10, &rare)
        .unwrap();
    let stopped_at = OrderId(2 * ARCHIVE_SCAN_BUDGET as u64 - 1);
    assert_eq!(first.1, Some(stopped_at));
    // By id, by client id (the newest order that had it), never another's.
    let get = |agent: u64, order: OrderRef| {
        journal
            .finished_order(AgentId(agent), &order)
            .unwrap()
            .map(|o| o.order_id.0)
    };
    let client = |c: &str| OrderRef::ClientId(ClientOrderId::new(c).unwrap());
    assert_eq!(get(1, OrderRef::Id(OrderId(4_001))), Some(4_001));
    assert_eq!(get(2, OrderRef::Id(OrderId(4_001))), None);
    assert_eq!(get(2, OrderRef::Id(OrderId(4_002))), Some(4_002));
    assert_eq!(get(1, OrderRef::Id(OrderId(60_001))), None);
    assert_eq!(get(1, client("dup")), Some(49_001));
    assert_eq!(get(1, client("solo")), Some(9));
    assert_eq!(get(2, client("solo")), None);
    assert_eq!(get(1, client("none")), None);
    // Ledger entries beside the orders are read as before.
    let entry = LedgerEntry {
        agent: AgentId(1),
        seq: 8,
        index: 0,
        time: Timestamp(8),
        posting: agora_engine::event::Posting {
            kind: agora_engine::event::PostingKind::Deposit,
            currency: Currency::new("CREDITS").unwrap(),
            from: agora_engine::event::Account::External,
            to: agora_engine::event::Account::Available(AgentId(1)),
            amount: Amount(SCALE),
            order_id: None,
        },
    };
    let more = History {
        ledger: vec![entry],
        ..History::default()
    };
    journal.add_history(&more, 8).unwrap();
    assert_eq!(journal.ledger(AgentId(1), None, 10), Ok(vec![entry]));
    assert_eq!(journal.ledger(AgentId(2), None, 10), Ok(vec![]));
    assert_eq!(archived_ids(journal, 1, 1_000, &|_| true).0, odd);
}

/// Runs `check` on a journal in memory and on one in RocksDB, then
/// reopens the latter: what the check left, read back from the disk (the
/// directory lives as long as the journal is used).
fn check_both_then_reopen(check: fn(&mut dyn Journal)) -> (tempfile::TempDir, RocksJournal) {
    check(&mut MemoryJournal::default());
    let dir = tempfile::tempdir().unwrap();
    let mut journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
    check(&mut journal);
    drop(journal);
    let journal = RocksJournal::open(dir.path(), Durability::Sync).unwrap();
    (dir, journal)
}

#[test]
fn the_archive_of_finished_orders_answers_by_id_client_id_and_pages() {
    // Stored, it is there after reopening.
    let (_dir, journal) = check_both_then_reopen(check_archive);
    assert_eq!(journal.history_through(), Ok(8));
    let (all, _) = archived_ids(&journal, 1, 5_000, &|_| true);
    assert_eq!(all.len(), 25_000);
}

/// What every journal's archive must do when told to forget the orders
/// that finished unfilled before a time.
fn check_forgetting(journal: &mut dyn Journal) {
    // Even ids finish unfilled, odd ones with a fill (see `finished`).
    let dated = |time: i64, orders: &[(u64, Option<&str>)]| History {
        orders: orders
            .iter()
            .map(|&(id, client_id)| finished(3, id, "GPU", client_id))
            .collect(),
        time: Timestamp(time),
        ..History::default()
    };
    journal
        .add_history(
            &dated(100, &[(100, Some("q")), (101, None), (102, None)]),
            1,
        )
        .unwrap();
    // A newer order takes client id `q` over.
    journal
        .add_history(&dated(200, &[(104, Some("q")), (106, Some("r"))]), 2)
        .unwrap();
    let get = |journal: &dyn Journal, order: OrderRef| {
        journal
            .finished_order(AgentId(3), &order)
            .unwrap()
            .map(|o| o.order_id.0)
    };
    let client = |c: &str| OrderRef::ClientId(ClientOrderId::new(c).unwrap());
    let listed = |journal: &dyn Journal| {
        let (page, _) = journal
            .finished_orders(AgentId(3), None, 100, &|_| true)
            .unwrap();
        page.iter().map(|o| o.order_id.0).collect::<Vec<_>>()
    };
    journal.add_history(&dated(300, &[(108, None)]), 3).unwrap();
    // Only what finished strictly before the time, oldest first, a
    // write's orders at a time, stopping once `max` are forgotten.
    assert_eq!(journal.forget_unfilled_orders(Timestamp(100), 10), Ok(0));
    assert_eq!(journal.forget_unfilled_orders(Timestamp(250), 1), Ok(2));
    assert_eq!(listed(journal), [101, 104, 106, 108]);
    assert_eq!(get(journal, OrderRef::Id(OrderId(100))), None);
    // The client id went with its order only where it still named it.
    assert_eq!(get(journal, client("q")), Some(104));
    assert_eq!(journal.forget_unfilled_orders(Timestamp(250), 10), Ok(2));
    assert_eq!(listed(journal), [101, 108]);
    assert_eq!(get(journal, client("q")), None);
    assert_eq!(get(journal, client("r")), None);
    assert_eq!(
        journal.forget_unfilled_orders(Timestamp(i64::MAX), 10),
        Ok(1)
    );
    assert_eq!(
        journal.forget_unfilled_orders(Timestamp(i64::MAX), 10),
        Ok(0)
    );
    // Orders with a fill stay for good.
    assert_eq!(listed(journal), [101]);
    assert_eq!(get(journal, OrderRef::Id(OrderId(101))), Some(101));
    // With nothing left to forget, a later write still gets forgotten in
    // its turn.
    journal.add_history(&dated(400, &[(110, None)]), 4).unwrap();
    assert_eq!(journal.forget_unfilled_orders(Timestamp(400), 10), Ok(0));
    assert_eq!(journal.forget_unfilled_orders(Timestamp(401), 10), Ok(1));
    assert_eq!(listed(journal), [101]);
}

#[test]
fn the_archive_forgets_orders_that_finished_unfilled_before_a_time() {
    // Forgotten for good: not back after reopening.
    let (_dir, journal) = check_both_then_reopen(check_forgetting);
    let (page, _) = journal
        .finished_orders(AgentId(3), None, 100, &|_| true)
        .unwrap();
    assert_eq!(page.iter().map(|o| o.order_id.0).collect::<Vec<_>>(), [101]);
}

//! Snapshots without stalling the engine: a thread keeps a second copy of
//! the market by replaying every durable batch (exactly what recovery
//! would replay), and every so often serializes that copy, stores it with
//! the sequence it covers, and prunes what recovery no longer needs. The
//! engine thread never pauses for a snapshot. The same replay stores the
//! history (see [`crate::history`]): wallet ledgers and finished orders.
//! It runs at idle CPU priority while it keeps up
//! ([`crate::idle_priority`]), so it takes no CPU the request path needs.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use agora_engine::units::Timestamp;
use agora_engine::{Input, Market};
use crossbeam_channel::{Receiver, Sender};

use crate::history::{ArchiveProgress, History};
use crate::idle_priority::IdlePriority;
use crate::journal::{prune, Journal, JournalError};
use crate::ledger;

/// Batches whose history goes into one RocksDB write, at most.
const BATCHES_PER_HISTORY_WRITE: usize = 1_024;

/// How long the snapshotter lets batches gather after one arrives, so
/// that under load it wakes, replays and writes the ledger once per many
/// group commits rather than once per commit (each wake-up costs system
/// calls on both ends of the channel), and writes one ledger key per agent
/// for all of them: inserting keys into RocksDB's memtable was most of
/// this thread's time. 10 ms rather than 2 cut its CPU per flow request
/// from 4.4-5.1 to 3.1-3.9 µs (three alternating runs). The ledger trails
/// acknowledgements by about this much more.
const GATHER: Duration = Duration::from_millis(10);

/// Unfilled orders the snapshotter forgets per history write (a stored
/// write's orders at a time, so a few more), so its replay never stalls
/// behind a backlog (after the retention is first shortened, say): the
/// rest go with the next writes, milliseconds apart.
const FORGET_PER_WRITE: usize = 10_000;

/// When to take a snapshot, how many to keep, and how long the archive
/// keeps orders that finished unfilled.
#[derive(Copy, Clone, Debug)]
pub struct SnapshotPolicy {
    /// After this many commands since the last snapshot.
    pub every_commands: u64,
    /// Or after this long, if any command came since.
    pub every: Duration,
    /// Snapshots kept (older ones, and the records before the oldest kept
    /// one, are deleted); at least 1.
    pub keep: usize,
    /// How long after it finished an order with no fill (cancelled,
    /// expired, rejected) stays in the archive of finished orders, in the
    /// market's time (the commands' clock); `None` keeps every order for
    /// good. Orders with fills are always kept.
    pub unfilled_orders_kept: Option<Duration>,
}

impl Default for SnapshotPolicy {
    fn default() -> Self {
        SnapshotPolicy {
            every_commands: 1_000_000,
            every: Duration::from_secs(300),
            keep: 2,
            unfilled_orders_kept: None,
        }
    }
}

/// Durable batches on their way to the snapshotter: the sequence number of
/// the first input, and the inputs. The inputs are moved, not copied: the
/// snapshotter hands each emptied vector back, and the sender puts one in
/// the place of the inputs it sends, so vectors circulate instead of
/// being allocated and filled once more per batch.
#[derive(Clone)]
pub struct SnapshotFeed {
    batches: Sender<(u64, Vec<Input>)>,
    spent: Receiver<Vec<Input>>,
    priority: Arc<IdlePriority>,
    progress: ArchiveProgress,
}

impl SnapshotFeed {
    /// Before the replies of records up to `through` go out: readers of
    /// the history wait for theirs from then on.
    pub fn releasing(&self, through: u64) {
        self.progress.releasing(through);
    }

    /// Hands on a durable batch's `inputs`, leaving an empty vector in
    /// their place. Blocks while the snapshotter is behind by the
    /// channel's capacity: its copy must see every command.
    pub fn send(&self, first_seq: u64, inputs: &mut Vec<Input>) {
        if !inputs.is_empty() {
            let empty = self
                .spent
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(inputs.capacity()));
            let inputs = std::mem::replace(inputs, empty);
            // If the snapshotter stopped (an error it logged), snapshots
            // simply stop; the journal goes on.
            let _ = self.batches.send((first_seq, inputs));
            self.priority.boost_if_behind(self.batches.len());
        }
    }
}

/// The snapshotter's thread: it ends with the last snapshot's sequence
/// number, or the error that stopped it.
pub type SnapshotThread = JoinHandle<Result<Option<u64>, JournalError>>;

/// Batches the snapshotter may lag behind before the writer waits.
const FEED_CAPACITY: usize = 4_096;

/// Batches waiting in the feed that put the snapshotter back to normal
/// CPU priority (see [`crate::idle_priority`]): a sixteenth of the
/// feed, so the writer never waits for a thread at idle priority.
const BOOST_BACKLOG: usize = FEED_CAPACITY / 16;

/// How long the snapshotter may go without catching up before it is put
/// back to normal priority: the most the history trails the market by
/// while other work fills the CPUs (beyond a replay's own time). Under
/// load it catches up in the CPU's idle moments within a second; a bound
/// of 100 ms boosted it so often that it ran as at normal priority
/// (orders at 64 connections slower in 4 of 4 alternated rounds), 1 s
/// kept the gain (3 of 3 faster, +8-14%).
const LAG_MAX: Duration = Duration::from_secs(1);

/// Batches waiting, at most, when the snapshotter counts as caught up
/// (and returns to idle priority).
const RELAX_BACKLOG: usize = 8;

/// Emptied input vectors kept for the sender's reuse (more are dropped).
const SPENT_KEPT_MAX: usize = 64;

/// The snapshotter's ends of its channels: batches in, emptied vectors
/// back out.
struct Feeds {
    batches: Receiver<(u64, Vec<Input>)>,
    spent: Sender<Vec<Input>>,
    priority: Arc<IdlePriority>,
}

/// Makes the snapshotter's copy of the market, on the snapshotter's
/// thread, with its journal handle: start-up need not wait for it (nor
/// copy the engine's market), and batches queue in the feed meanwhile.
pub type StartingCopy<J> = Box<dyn FnOnce(&mut J) -> Result<Market, JournalError> + Send>;

/// Starts the snapshotter on the copy `start` makes (the state after
/// record `last_seq`, whose history `start` stored), saving into `journal`
/// (a handle of its own) and telling `progress` how far the archive of
/// finished orders is. The thread ends when every feed is dropped.
pub fn spawn_snapshotter<J: Journal>(
    start: StartingCopy<J>,
    last_seq: u64,
    mut journal: J,
    policy: SnapshotPolicy,
    progress: ArchiveProgress,
) -> std::io::Result<(SnapshotFeed, SnapshotThread)> {
    let (batches_in, batches_out) = crossbeam_channel::bounded(FEED_CAPACITY);
    let (spent_in, spent_out) = crossbeam_channel::bounded(SPENT_KEPT_MAX);
    let priority = Arc::new(IdlePriority::new(LAG_MAX, BOOST_BACKLOG));
    // What recovery replayed was acknowledged before the stop: readers
    // wait until the starting copy has stored its history.
    progress.releasing(last_seq);
    let fed = progress.clone();
    let feeds = Feeds {
        batches: batches_out,
        spent: spent_in,
        priority: Arc::clone(&priority),
    };
    let thread = std::thread::Builder::new()
        .name("agora-snapshot".into())
        .spawn(move || {
            // At normal priority: readers wait for the history this
            // stores.
            let mut market = start(&mut journal)?;
            market.keep_finished_orders();
            progress.advance(market.orders_finished_total(), last_seq);
            // A waiting reader counts as a full backlog.
            let (waiting, readers) = (feeds.batches.clone(), progress.clone());
            let _idle = feeds
                .priority
                .take(move || match readers.readers_waiting() {
                    true => BOOST_BACKLOG,
                    false => waiting.len(),
                });
            run(market, last_seq, journal, policy, feeds, progress)
        })?;
    let feed = SnapshotFeed {
        batches: batches_in,
        spent: spent_out,
        priority,
        progress: fed,
    };
    Ok((feed, thread))
}

fn run<J: Journal>(
    mut market: Market,
    mut last_seq: u64,
    mut journal: J,
    policy: SnapshotPolicy,
    Feeds {
        batches,
        spent,
        priority,
    }: Feeds,
    progress: ArchiveProgress,
) -> Result<Option<u64>, JournalError> {
    let mut events = Vec::new();
    let mut history = History::default();
    let mut since = 0u64;
    let mut last_snapshot = Instant::now();
    let mut taken = None;
    loop {
        // Waking at least twice per `LAG_MAX` keeps a quiet snapshotter
        // counted as caught up.
        let next = batches.recv_timeout(policy.every.min(LAG_MAX / 2));
        let closed = matches!(next, Err(crossbeam_channel::RecvTimeoutError::Disconnected));
        if matches!(next, Err(crossbeam_channel::RecvTimeoutError::Timeout)) {
            priority.caught_up();
        }
        if let Ok(first) = next {
            // Replay this batch and every one queued behind it (up to a
            // bound), then store their history in one write: under load,
            // one RocksDB write covers many batches.
            std::thread::sleep(GATHER);
            history.clear();
            let mut batch = Some(first);
            let mut drained = 0;
            while let Some((first_seq, mut inputs)) = batch.take() {
                if first_seq != last_seq + 1 {
                    return Err(JournalError::Gap {
                        expected: last_seq + 1,
                        found: first_seq,
                    });
                }
                for input in &inputs {
                    events.clear();
                    last_seq += 1;
                    market
                        .apply(input, &mut events)
                        .map_err(|reject| JournalError::Diverged {
                            seq: last_seq,
                            reason: format!("{reject:?}"),
                        })?;
                    ledger::collect(last_seq, input.time, &events, &mut history.ledger);
                    history.time = input.time;
                }
                since += inputs.len() as u64;
                inputs.clear();
                let _ = spent.try_send(inputs);
                drained += 1;
                if drained < BATCHES_PER_HISTORY_WRITE {
                    batch = batches.try_recv().ok();
                }
            }
            market.take_finished_orders(&mut history.orders);
            journal.add_history(&history, last_seq)?;
            progress.advance(market.orders_finished_total(), last_seq);
            if batches.len() <= RELAX_BACKLOG {
                priority.caught_up();
            }
            if let Some(kept) = policy.unfilled_orders_kept {
                let kept = i64::try_from(kept.as_nanos()).unwrap_or(i64::MAX);
                let before = Timestamp(history.time.0.saturating_sub(kept));
                journal.forget_unfilled_orders(before, FORGET_PER_WRITE)?;
            }
        }
        // A clean stop snapshots too, so the next start replays nothing.
        let due = since >= policy.every_commands
            || (since > 0 && (closed || last_snapshot.elapsed() >= policy.every));
        if due {
            journal.write_snapshot(last_seq, &mut |out| market.write_snapshot(out))?;
            prune(&mut journal, policy.keep)?;
            taken = Some(last_seq);
            since = 0;
            last_snapshot = Instant::now();
        }
        if closed {
            return Ok(taken);
        }
    }
}

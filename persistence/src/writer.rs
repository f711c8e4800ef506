//! Group commit: the engine's batches are journaled on a thread of their
//! own, and released only once durable.

use std::fmt;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use agora_engine::{Batch, BatchSink, Input, Recycler, SinkStopped};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use crate::journal::{BackgroundSync, Journal, JournalError};
use crate::snapshotter::SnapshotFeed;

/// Delivers a durable batch: its replies to their callers and its events
/// to subscribers.
pub trait Release<R>: Send + 'static {
    /// Called once per batch, in order, after the batch is durable;
    /// `journal_time` is how long the write that made it durable took.
    fn release(&mut self, batch: &mut Batch<R>, journal_time: Duration);
}

/// Batches waiting for the writer before the engine blocks: enough to keep
/// the engine busy while one write syncs. They all go into the next write.
const BATCHES_QUEUED_MAX: usize = 16;

/// While the engine says its next batch follows at once, the writer looks
/// for it this often instead of sleeping on the channel (see
/// [`next_batch`]).
const POLL_EVERY: Duration = Duration::from_micros(50);

/// For at most this long; then it sleeps on the channel again.
const POLL_MAX: Duration = Duration::from_millis(1);

/// How the writer groups and syncs.
#[derive(Copy, Clone, Debug)]
pub struct WriterOptions {
    /// How often a buffered journal is synced.
    pub sync_interval: Duration,
    /// Group commit: when batches are arriving back to back, how long a
    /// write waits for more before it starts, so that one sync covers
    /// many commands. Zero (the default) writes at once: what arrives
    /// while a write syncs forms the next group anyway, and on a disk
    /// whose sync takes about a millisecond, waiting only lengthened every
    /// acknowledgement (HTTP orders over 64 connections, alternating fresh
    /// servers: median 22.3k req/s with 500 µs, 24.3k with none; synced
    /// commands at 500k/s: p50 1.25 -> 0.8 ms, throughput unchanged).
    pub group_window: Duration,
    /// A write starts without waiting once it holds this many commands.
    pub group_commands: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            sync_interval: Duration::from_millis(100),
            group_window: Duration::ZERO,
            group_commands: 512,
        }
    }
}

/// Why the writer stopped early: the journal failed to write or sync.
/// Nothing from the failed write on was released, so no caller heard of
/// it; the engine thread stops at its next batch.
#[derive(Debug)]
pub struct JournalFailed {
    /// The record the failed write would have started at (after a failed
    /// sync: the next record to write).
    pub seq: u64,
    /// What the journal said.
    pub error: JournalError,
}

impl fmt::Display for JournalFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the journal failed at record {}: {}",
            self.seq, self.error
        )
    }
}

impl std::error::Error for JournalFailed {}

impl JournalFailed {
    /// What turns the journal's error into the writer's, at record `seq`.
    fn at(seq: u64) -> impl FnOnce(JournalError) -> JournalFailed {
        move |error| JournalFailed { seq, error }
    }
}

/// The writer thread: it returns the journal, synced, once the engine
/// stops, or what failed.
pub type WriterThread<J> = JoinHandle<Result<J, JournalFailed>>;

/// The engine's [`BatchSink`]: hands each batch to the writer thread.
pub struct JournalWriter<R> {
    batches: Sender<(Batch<R>, Recycler<R>)>,
}

impl<R: Send + 'static> JournalWriter<R> {
    /// Starts the writer thread. `next_seq` is one past the journal's last
    /// record.
    ///
    /// The returned handle ends when the engine (and so this sink) stops,
    /// with the journal synced; or early, when the journal fails, with
    /// what failed (the engine thread then stops at its next batch).
    /// Durable batches also go to `snapshots`, if given.
    pub fn spawn<J: Journal, L: Release<R>>(
        journal: J,
        next_seq: u64,
        release: L,
        options: WriterOptions,
        snapshots: Option<SnapshotFeed>,
    ) -> std::io::Result<(JournalWriter<R>, WriterThread<J>)> {
        let (batches, queue) = crossbeam_channel::bounded(BATCHES_QUEUED_MAX);
        let sinks = Sinks { release, snapshots };
        let thread = std::thread::Builder::new()
            .name("agora-journal".into())
            .spawn(move || write(journal, next_seq, sinks, queue, options))?;
        Ok((JournalWriter { batches }, thread))
    }
}

impl<R: Send + 'static> BatchSink<R> for JournalWriter<R> {
    fn complete(&mut self, batch: Batch<R>, recycler: &Recycler<R>) -> Result<(), SinkStopped> {
        // The writer ends early only when the journal failed.
        self.batches
            .send((batch, recycler.clone()))
            .map_err(|_| SinkStopped)
    }
}

fn commands<R>(group: &[(Batch<R>, Recycler<R>)]) -> usize {
    group.iter().map(|(b, _)| b.completions.len()).sum()
}

/// Where durable batches go.
struct Sinks<L> {
    release: L,
    snapshots: Option<SnapshotFeed>,
}

fn write<R, J: Journal, L: Release<R>>(
    mut journal: J,
    mut next_seq: u64,
    mut sinks: Sinks<L>,
    queue: Receiver<(Batch<R>, Recycler<R>)>,
    options: WriterOptions,
) -> Result<J, JournalFailed> {
    let sync_interval = options.sync_interval;
    let mut last_sync = Instant::now();
    let mut syncer = journal
        .background_sync()
        .map(|sync| IntervalSyncer::spawn(sync, sync_interval));
    let mut group = Vec::with_capacity(BATCHES_QUEUED_MAX);
    // Whether batches were arriving back to back at the last write.
    let mut busy = false;
    // Whether the engine said the next batch follows at once.
    let mut due = false;
    loop {
        match next_batch(&queue, due, sync_interval) {
            Ok(first) => {
                // Every batch that queued up while the last write synced
                // goes into this write: one sync for all of them. Under
                // load, with a group window, wait a little for more.
                group.push(first);
                group.extend(queue.try_iter().take(BATCHES_QUEUED_MAX));
                let wait = !options.group_window.is_zero();
                if wait && busy && commands(&group) < options.group_commands {
                    // Sleep rather than spin: on a small machine the
                    // threads that produce the next batches need the CPU.
                    std::thread::sleep(options.group_window);
                    group.extend(queue.try_iter().take(BATCHES_QUEUED_MAX));
                }
                busy = group.len() > 1;
                let started = Instant::now();
                let inputs: Vec<&[Input]> = group.iter().map(|(b, _)| &b.inputs[..]).collect();
                let appended = journal.append_batches(next_seq, &inputs);
                drop(inputs);
                if let Err(error) = appended {
                    // A batch that cannot be made durable must not be
                    // acknowledged: drop the group unreleased (its callers
                    // hear the market is unavailable) and stop, so that
                    // recovery starts from the journal as it is.
                    group.clear();
                    if let Some(syncer) = syncer {
                        let _ = syncer.stop();
                    }
                    return Err(JournalFailed::at(next_seq)(error));
                }
                let journal_time = started.elapsed();
                due = group.last().is_some_and(|(b, _)| b.more_waiting);
                for (mut batch, recycler) in group.drain(..) {
                    let first_seq = next_seq;
                    next_seq += batch.inputs.len() as u64;
                    if let Some(feed) = &sinks.snapshots {
                        feed.releasing(next_seq - 1);
                    }
                    sinks.release.release(&mut batch, journal_time);
                    if let Some(feed) = &sinks.snapshots {
                        feed.send(first_seq, &mut batch.inputs);
                    }
                    recycler.give_back(batch);
                }
            }
            Err(RecvTimeoutError::Timeout) => due = false,
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if let Some(syncer) = syncer.take_if(|s| s.failed()) {
            syncer.stop().map_err(JournalFailed::at(next_seq))?;
        }
        if syncer.is_none() && last_sync.elapsed() >= sync_interval {
            journal.sync().map_err(JournalFailed::at(next_seq))?;
            last_sync = Instant::now();
        }
    }
    if let Some(syncer) = syncer {
        syncer.stop().map_err(JournalFailed::at(next_seq))?;
    }
    journal.sync().map_err(JournalFailed::at(next_seq))?;
    Ok(journal)
}

/// The next batch from `queue`, waiting at most `timeout` for it.
///
/// When it is `due` (the engine cut the last one at its size limit with
/// more requests waiting), the writer looks for it every [`POLL_EVERY`]
/// for up to [`POLL_MAX`] before it sleeps on the channel. A writer asleep
/// on the channel has to be woken by the engine's hand-off, and on this
/// project's virtual machines that wake-up (a futex and an interrupt to
/// the other core) held the engine thread about 15 µs per batch: flooded
/// through a buffered RocksDB journal, 24-64 ms of each run of 0.5-0.8 s,
/// against about 1 ms polled. Polled, the engine never waits on the
/// writer's wake-up, and the writer's own timer wakes it on its own core.
/// Batches cut short because the engine's channel ran dry (every batch of
/// an unhurried server) are not due, so an idle or lightly loaded writer
/// sleeps as before.
fn next_batch<T>(queue: &Receiver<T>, due: bool, timeout: Duration) -> Result<T, RecvTimeoutError> {
    if due {
        let until = Instant::now() + POLL_MAX;
        loop {
            match queue.try_recv() {
                Ok(batch) => return Ok(batch),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) if Instant::now() < until => {
                    std::thread::sleep(POLL_EVERY);
                }
                Err(TryRecvError::Empty) => break,
            }
        }
    }
    queue.recv_timeout(timeout)
}

/// The thread that syncs a buffered journal every interval, so that the
/// writer's appends never wait behind a sync.
struct IntervalSyncer {
    /// Dropped to stop the thread.
    stop: Sender<()>,
    /// Ends early only when a sync fails.
    thread: JoinHandle<Result<(), JournalError>>,
}

impl IntervalSyncer {
    fn spawn(mut sync: BackgroundSync, interval: Duration) -> IntervalSyncer {
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let thread = std::thread::Builder::new()
            .name("agora-journal-sync".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    sync()?;
                }
                Ok(())
            })
            .expect("spawn the journal sync thread");
        IntervalSyncer { stop, thread }
    }

    /// Whether a sync failed (the thread ended on its own).
    fn failed(&self) -> bool {
        self.thread.is_finished()
    }

    /// Stops the thread; returns the error that ended it early, if one
    /// did.
    fn stop(self) -> Result<(), JournalError> {
        drop(self.stop);
        self.thread.join().unwrap_or_else(|_| {
            Err(JournalError::Store(
                "the journal sync thread panicked".into(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_due_batch_is_polled_for_and_the_wait_falls_back_to_the_channel() {
        // A batch sent while the writer polls is received.
        let (send, queue) = crossbeam_channel::bounded(1);
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_micros(300));
            send.send(7u32).unwrap();
            send
        });
        assert_eq!(next_batch(&queue, true, Duration::from_secs(5)), Ok(7));
        let send = sender.join().unwrap();
        // One that comes after the polling gave up is still received, from
        // the channel.
        let sender = std::thread::spawn(move || {
            std::thread::sleep(POLL_MAX * 3);
            send.send(8).unwrap();
        });
        assert_eq!(next_batch(&queue, true, Duration::from_secs(5)), Ok(8));
        sender.join().unwrap();
        // With nothing coming, the wait ends at the timeout, polled or not;
        // with the engine gone, at once.
        let (send, queue) = crossbeam_channel::bounded::<u32>(1);
        for due in [true, false] {
            let started = Instant::now();
            let timeout = POLL_MAX * 2;
            assert_eq!(
                next_batch(&queue, due, timeout),
                Err(RecvTimeoutError::Timeout)
            );
            assert!(started.elapsed() >= timeout);
        }
        drop(send);
        for due in [true, false] {
            let waited = next_batch(&queue, due, Duration::from_secs(60));
            assert_eq!(waited, Err(RecvTimeoutError::Disconnected));
        }
    }
}

//! Group commit: the engine's batches are journaled on a thread of their
//! own, and released only once durable.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use agora_engine::{Batch, BatchSink, Input, Recycler};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::journal::Journal;

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

/// The engine's [`BatchSink`]: hands each batch to the writer thread.
pub struct JournalWriter<R> {
    batches: Sender<(Batch<R>, Recycler<R>)>,
}

impl<R: Send + 'static> JournalWriter<R> {
    /// Starts the writer thread. `next_seq` is one past the journal's last
    /// record. `sync_interval` is how often a buffered journal is synced.
    ///
    /// The returned handle ends when the engine (and so this sink) stops.
    pub fn spawn<J: Journal, L: Release<R>>(
        journal: J,
        next_seq: u64,
        release: L,
        sync_interval: Duration,
    ) -> std::io::Result<(JournalWriter<R>, JoinHandle<J>)> {
        let (batches, queue) = crossbeam_channel::bounded(BATCHES_QUEUED_MAX);
        let thread = std::thread::Builder::new()
            .name("agora-journal".into())
            .spawn(move || write(journal, next_seq, release, queue, sync_interval))?;
        Ok((JournalWriter { batches }, thread))
    }
}

impl<R: Send + 'static> BatchSink<R> for JournalWriter<R> {
    fn complete(&mut self, batch: Batch<R>, recycler: &Recycler<R>) {
        self.batches
            .send((batch, recycler.clone()))
            .expect("the journal writer stopped");
    }
}

fn write<R, J: Journal, L: Release<R>>(
    mut journal: J,
    mut next_seq: u64,
    mut release: L,
    queue: Receiver<(Batch<R>, Recycler<R>)>,
    sync_interval: Duration,
) -> J {
    let mut last_sync = Instant::now();
    let mut group = Vec::with_capacity(BATCHES_QUEUED_MAX);
    loop {
        match queue.recv_timeout(sync_interval) {
            Ok(first) => {
                // Every batch that queued up while the last write synced
                // goes into this write: one sync for all of them.
                group.push(first);
                group.extend(queue.try_iter().take(BATCHES_QUEUED_MAX));
                let started = Instant::now();
                let inputs: Vec<&[Input]> = group.iter().map(|(b, _)| &b.inputs[..]).collect();
                // A batch that cannot be made durable must not be
                // acknowledged: stop, and let recovery start from the
                // journal as it is.
                journal
                    .append_batches(next_seq, &inputs)
                    .unwrap_or_else(|e| panic!("cannot journal batch at {next_seq}: {e}"));
                next_seq += inputs.iter().map(|i| i.len() as u64).sum::<u64>();
                let journal_time = started.elapsed();
                for (mut batch, recycler) in group.drain(..) {
                    release.release(&mut batch, journal_time);
                    recycler.give_back(batch);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_sync.elapsed() >= sync_interval {
            journal
                .sync()
                .unwrap_or_else(|e| panic!("cannot sync the journal: {e}"));
            last_sync = Instant::now();
        }
    }
    journal
        .sync()
        .unwrap_or_else(|e| panic!("cannot sync the journal: {e}"));
    journal
}

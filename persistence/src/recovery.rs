//! Rebuilding the engine's state: the newest snapshot that restores, then
//! the journal's records after it.

use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use agora_engine::{EngineConfig, Input, Market};

use crate::history::History;
use crate::journal::{Journal, JournalError};
use crate::ledger;

/// A market rebuilt from a journal.
pub struct Recovered {
    /// The state after the last record.
    pub market: Market,
    /// The last record's sequence number (0 for an empty journal).
    pub last_seq: u64,
    /// The record the restored snapshot was taken after, if one was used.
    pub snapshot: Option<u64>,
    /// Snapshots that could not be used, newest first, with the reason.
    pub snapshots_skipped: Vec<(u64, String)>,
    /// How many records were replayed.
    pub replayed: u64,
    /// How long recovery took.
    pub elapsed: Duration,
    /// How much of it went to reading and restoring snapshots (each tried
    /// one included).
    pub restoring: Duration,
    /// How much of it went to checking the replayed state's invariants
    /// once at the end: a walk over the whole state, however few records
    /// were replayed. The rest replayed the journal after the snapshot.
    pub checking: Duration,
    /// What the replayed records derived that the stored history does
    /// not have yet: store it with [`Journal::add_history`] through
    /// `last_seq`. Only [`recover_through`] collects it; [`recover`], on
    /// the start-up path, leaves this empty, as start-up hands storing it
    /// to the copy rebuilt with [`recover_through`].
    pub history: History,
}

/// Restores the newest snapshot of `journal` that decodes, passes every
/// invariant and was taken under `config` (older ones are tried in turn,
/// then an empty market), and replays every record after it.
///
/// Every record was an accepted command, so a rejection on replay means
/// the journal belongs to another engine version or configuration:
/// recovery stops with [`JournalError::Diverged`]. Records missing after
/// the chosen starting point stop it with [`JournalError::Gap`], or, when
/// every snapshot was skipped, with why each one was.
pub fn recover(
    journal: &(dyn Journal + Sync),
    config: EngineConfig,
) -> Result<Recovered, JournalError> {
    rebuild(journal, config, None, false)
}

/// Like [`recover`], stopping after record `through`: the state the
/// engine had right after it, even while the journal has since grown.
/// Recovery is deterministic, so this rebuilds exactly what an earlier
/// [`recover`] that ended at `through` did (a second copy of the market,
/// made on another thread without stopping the first), and collects what
/// the replayed records derived that the stored history lacks (the copy
/// keeps finished orders from the first such record on: see
/// [`Market::keep_finished_orders`]).
pub fn recover_through(
    journal: &(dyn Journal + Sync),
    config: EngineConfig,
    through: u64,
) -> Result<Recovered, JournalError> {
    rebuild(journal, config, Some(through), true)
}

/// The newest usable snapshot plus the records after it, up to `through`
/// (all of them if `None`); with `collect`, the history the replayed
/// records derived that the stored history lacks.
fn rebuild(
    journal: &(dyn Journal + Sync),
    config: EngineConfig,
    through: Option<u64>,
    collect: bool,
) -> Result<Recovered, JournalError> {
    let started = Instant::now();
    let mut skipped = Vec::new();
    let mut start = None;
    for seq in journal
        .snapshots()?
        .into_iter()
        .filter(|&seq| through.is_none_or(|t| seq <= t))
    {
        let mut decoded = None;
        let restored = journal
            .read_snapshot(seq, &mut |bytes| {
                decoded = Some(Market::from_snapshot(bytes));
            })
            .map_err(|e| e.to_string())
            .and_then(|()| {
                decoded
                    .take()
                    .expect("a snapshot read is handed over")
                    .map_err(|e| e.to_string())
            });
        match restored {
            Ok(market) if *market.config() == config => {
                start = Some((market, seq));
                break;
            }
            Ok(_) => skipped.push((seq, "taken under another configuration".to_string())),
            Err(why) => skipped.push((seq, why)),
        }
    }
    let snapshot = start.as_ref().map(|(_, seq)| *seq);
    let restoring = started.elapsed();
    let (mut market, mut last_seq) = start.unwrap_or_else(|| (Market::new(config), 0));
    let mut events = Vec::new();
    let mut history = History::default();
    // Records whose history is already stored are not collected again:
    // stored ledger groups never overlap.
    let stored_through = if collect {
        Some(journal.history_through()?)
    } else {
        None
    };
    let mut replayed = 0;
    let from = last_seq + 1;
    let mut apply = |seq: u64, input: &Input, upcoming: &[(u64, Input)]| {
        // Records come in order: finished orders are kept from the first
        // record whose history the store lacks, none before it.
        let lacking = stored_through.is_some_and(|stored| seq > stored);
        if lacking {
            market.keep_finished_orders();
        }
        events.clear();
        market
            .apply_before(input, upcoming.iter().map(|(_, next)| next), &mut events)
            .map_err(|reject| JournalError::Diverged {
                seq,
                reason: format!("{reject:?}"),
            })?;
        if lacking {
            ledger::collect(seq, input.time, &events, &mut history.ledger);
            market.take_finished_orders(&mut history.orders);
            history.time = input.time;
        }
        last_seq = seq;
        replayed += 1;
        Ok(())
    };
    replay_pipelined(journal, from..=through.unwrap_or(u64::MAX), &mut apply).map_err(|e| {
        match snapshot {
            None => unusable_snapshots(e, &skipped),
            Some(_) => e,
        }
    })?;
    if let Some(through) = through.filter(|&t| t != last_seq) {
        return Err(JournalError::Gap {
            expected: last_seq + 1,
            found: through + 1,
        });
    }
    // Replay applies commands one by one; what they built must still be a
    // valid market (a snapshot restore checks this on its own).
    let checking = Instant::now();
    if replayed > 0 {
        market
            .check_invariants()
            .map_err(|reason| JournalError::Diverged {
                seq: last_seq,
                reason: format!("the replayed state breaks an invariant: {reason}"),
            })?;
    }
    let checking = checking.elapsed();
    Ok(Recovered {
        market,
        last_seq,
        snapshot,
        snapshots_skipped: skipped,
        replayed,
        elapsed: started.elapsed(),
        restoring,
        checking,
        history,
    })
}

/// What replay does with each record: its sequence number, its input and
/// the records known to follow it (a hint for [`Market::apply_before`]).
type ApplyRecord<'a> = dyn FnMut(u64, &Input, &[(u64, Input)]) -> Result<(), JournalError> + 'a;

/// Records decoded together and handed from the reading thread to the
/// applying one.
const REPLAY_CHUNK: usize = 1024;

/// Chunks decoded ahead of the one being applied.
const REPLAY_CHUNKS_AHEAD: usize = 8;

/// Feeds the records of `journal` in `seqs` to `apply`, in order, each
/// with the records after it in the same chunk (for
/// [`Market::apply_before`]'s prefetch): one thread reads and decodes the
/// records while this one applies them, so replay runs at the speed of
/// the slower of the two rather than of both in turn. The first error in
/// record order wins: a record that does not decode stops the replay
/// after the records before it were applied, and an `apply` error stops
/// the reading.
fn replay_pipelined(
    journal: &(dyn Journal + Sync),
    seqs: RangeInclusive<u64>,
    apply: &mut ApplyRecord<'_>,
) -> Result<(), JournalError> {
    let (chunks, decoded) = crossbeam_channel::bounded::<Vec<(u64, Input)>>(REPLAY_CHUNKS_AHEAD);
    std::thread::scope(|scope| {
        let reader = std::thread::Builder::new()
            .name("agora-replay-read".into())
            .spawn_scoped(scope, move || {
                let mut chunk = Vec::with_capacity(REPLAY_CHUNK);
                let mut past_end = false;
                let read = journal.read_from(*seqs.start(), &mut |seq, input| {
                    if seq > *seqs.end() {
                        past_end = true;
                        return Err(JournalError::Store("past the end".into()));
                    }
                    chunk.push((seq, input));
                    if chunk.len() == REPLAY_CHUNK {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(REPLAY_CHUNK));
                        // The applier stopped on an error of its own,
                        // which is the one reported.
                        chunks
                            .send(full)
                            .map_err(|_| JournalError::Store("replay stopped".into()))?;
                    }
                    Ok(())
                });
                if !past_end {
                    read?;
                }
                // After an error the applier may have stopped: it reports
                // its own.
                let _ = chunks.send(chunk);
                Ok(())
            })
            .map_err(|e| JournalError::Store(format!("cannot start the replay reader: {e}")))?;
        let applied = decoded.iter().try_for_each(|chunk| {
            for (i, (seq, input)) in chunk.iter().enumerate() {
                apply(*seq, input, &chunk[i + 1..])?;
            }
            Ok(())
        });
        // Stop the reader if it is still going, then take its outcome.
        drop(decoded);
        let read = reader.join().expect("the replay reader does not panic");
        applied.and(read)
    })
}

/// Error `e` of a replay that no snapshot could start: a gap there means
/// the records before the `skipped` snapshots are pruned, so it says why
/// none could be used, which is the damage to repair.
fn unusable_snapshots(e: JournalError, skipped: &[(u64, String)]) -> JournalError {
    if !matches!(e, JournalError::Gap { .. }) || skipped.is_empty() {
        return e;
    }
    let why: Vec<String> = skipped
        .iter()
        .map(|(seq, reason)| format!("the one after record {seq}: {reason}"))
        .collect();
    JournalError::Store(format!(
        "no snapshot could be restored ({}), and the records before them are pruned ({e})",
        why.join("; ")
    ))
}

//! Rebuilding the engine's state: the newest snapshot that restores, then
//! the journal's records after it.

use std::time::{Duration, Instant};

use agora_engine::{EngineConfig, Market};

use crate::journal::{Journal, JournalError};
use crate::ledger::{self, LedgerEntry};

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
    /// The wallet ledger entries of the replayed records the ledger does
    /// not have yet: store them with [`Journal::add_ledger`] through
    /// `last_seq`.
    pub ledger: Vec<LedgerEntry>,
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
pub fn recover(journal: &dyn Journal, config: EngineConfig) -> Result<Recovered, JournalError> {
    let started = Instant::now();
    let mut skipped = Vec::new();
    let mut start = None;
    for seq in journal.snapshots()? {
        let mut decoded = None;
        let restored = journal
            .read_snapshot(seq, &mut |bytes| {
                decoded = Some(Market::from_snapshot(bytes));
            })
            .and_then(|()| {
                decoded
                    .take()
                    .expect("a snapshot read is handed over")
                    .map_err(|e| JournalError::Corrupt {
                        seq,
                        reason: e.to_string(),
                    })
            });
        match restored {
            Ok(market) if *market.config() == config => {
                start = Some((market, seq));
                break;
            }
            Ok(_) => skipped.push((seq, "taken under another configuration".to_string())),
            Err(e) => skipped.push((seq, e.to_string())),
        }
    }
    let snapshot = start.as_ref().map(|(_, seq)| *seq);
    let (mut market, mut last_seq) = start.unwrap_or_else(|| (Market::new(config), 0));
    let mut events = Vec::new();
    let mut entries = Vec::new();
    // Records whose ledger entries are already stored are not collected
    // again: stored groups never overlap.
    let ledger_through = journal.ledger_through()?;
    let mut replayed = 0;
    journal
        .read_from(last_seq + 1, &mut |seq, input| {
            events.clear();
            market
                .apply(&input, &mut events)
                .map_err(|reject| JournalError::Diverged {
                    seq,
                    reason: format!("{reject:?}"),
                })?;
            if seq > ledger_through {
                ledger::collect(seq, input.time, &events, &mut entries);
            }
            last_seq = seq;
            replayed += 1;
            Ok(())
        })
        .map_err(|e| match snapshot {
            None => unusable_snapshots(e, &skipped),
            Some(_) => e,
        })?;
    // Replay applies commands one by one; what they built must still be a
    // valid market (a snapshot restore checks this on its own).
    if replayed > 0 {
        market
            .check_invariants()
            .map_err(|reason| JournalError::Diverged {
                seq: last_seq,
                reason: format!("the replayed state breaks an invariant: {reason}"),
            })?;
    }
    Ok(Recovered {
        market,
        last_seq,
        snapshot,
        snapshots_skipped: skipped,
        replayed,
        elapsed: started.elapsed(),
        ledger: entries,
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

//! Rebuilding the engine's state from a journal.

use std::time::{Duration, Instant};

use agora_engine::{EngineConfig, Market};

use crate::journal::{Journal, JournalError};

/// A market rebuilt from a journal.
pub struct Recovered {
    /// The state after the last record.
    pub market: Market,
    /// The last record's sequence number (0 for an empty journal).
    pub last_seq: u64,
    /// How many records were replayed.
    pub replayed: u64,
    /// How long the replay took.
    pub elapsed: Duration,
}

/// Replays every record of `journal` into a new market with `config`.
/// Every record was an accepted command, so a rejection on replay means
/// the journal belongs to another engine version or configuration, and
/// recovery stops with [`JournalError::Diverged`].
pub fn recover(journal: &dyn Journal, config: EngineConfig) -> Result<Recovered, JournalError> {
    let started = Instant::now();
    let mut market = Market::new(config);
    let mut events = Vec::new();
    let mut last_seq = 0;
    journal.read_from(1, &mut |seq, input| {
        events.clear();
        market
            .apply(&input, &mut events)
            .map_err(|reject| JournalError::Diverged {
                seq,
                reason: format!("{reject:?}"),
            })?;
        last_seq = seq;
        Ok(())
    })?;
    Ok(Recovered {
        market,
        last_seq,
        replayed: last_seq,
        elapsed: started.elapsed(),
    })
}

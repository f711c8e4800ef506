//! The wallet ledger: every posting that touched an agent's wallet, kept
//! per agent as a read model beside the journal. The entries of a write
//! are stored in the same atomic write as its records, so the history is
//! exactly as durable as the commands that made it.

use agora_engine::event::{Account, Posting};
use agora_engine::units::{AgentId, Timestamp};
use agora_engine::{Batch, Event};
use serde::{Deserialize, Serialize};

/// One posting as it appears in one agent's ledger.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Whose ledger.
    pub agent: AgentId,
    /// The journal record (command) that made it.
    pub seq: u64,
    /// Its place among that command's events.
    pub index: u32,
    /// When.
    pub time: Timestamp,
    /// The movement.
    pub posting: Posting,
}

impl LedgerEntry {
    /// Where the entry sorts within its agent's ledger.
    pub fn position(&self) -> (u64, u32) {
        (self.seq, self.index)
    }
}

/// The agent whose wallet `account` is.
fn owner(account: Account) -> Option<AgentId> {
    match account {
        Account::Available(a) | Account::Held(a) => Some(a),
        Account::External | Account::Escrow(_) => None,
    }
}

/// Appends the ledger entries of `batch`, whose first journaled input is
/// record `first_seq`, to `out`.
pub(crate) fn collect<R>(first_seq: u64, batch: &Batch<R>, out: &mut Vec<LedgerEntry>) {
    // Accepted commands are journaled in order: the k-th accepted one is
    // record `first_seq + k` and `batch.inputs[k]`.
    let accepted = batch.completions.iter().filter(|c| c.reply.is_ok());
    for (k, c) in accepted.enumerate() {
        let seq = first_seq + k as u64;
        let time = batch.inputs[k].time;
        for (index, event) in batch.events[c.events.clone()].iter().enumerate() {
            let Event::Posting(posting) = event else {
                continue;
            };
            let from = owner(posting.from);
            let to = owner(posting.to).filter(|a| Some(*a) != from);
            for agent in [from, to].into_iter().flatten() {
                out.push(LedgerEntry {
                    agent,
                    seq,
                    index: index as u32,
                    time,
                    posting: *posting,
                });
            }
        }
    }
}

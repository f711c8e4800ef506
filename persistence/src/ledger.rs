//! The wallet ledger: every posting that touched an agent's wallet, kept
//! per agent as a read model beside the journal. The snapshotter, which
//! replays every durable command anyway, writes the entries its replay
//! produces, off the acknowledgement path and outside RocksDB's log (they
//! are several times the bytes of the records that make them); saving a
//! snapshot first flushes every entry before it to disk, and recovery
//! writes the entries of the records it replays after the snapshot, so no
//! entry is ever missing after a restart. Between a command's
//! acknowledgement and the snapshotter reaching it, its entries may not be
//! visible yet.

use agora_engine::event::{Account, Posting};
use agora_engine::units::{AgentId, Timestamp};
use agora_engine::Event;
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
        Account::External | Account::Escrow(_) | Account::Platform => None,
    }
}

/// Appends the ledger entries of one applied command, journal record
/// `seq` applied at `time`, which produced `events`.
pub(crate) fn collect(seq: u64, time: Timestamp, events: &[Event], out: &mut Vec<LedgerEntry>) {
    for (index, event) in events.iter().enumerate() {
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

//! A journal in memory, for tests. It stores encoded records, so what it
//! reads back has crossed the same encoding as a journal on disk.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;

use agora_engine::units::AgentId;
use agora_engine::Input;

use crate::journal::{Journal, JournalError};
use crate::ledger::LedgerEntry;
use crate::record;

/// Records kept in memory; "durable" as long as the value lives.
#[derive(Clone, Debug, Default)]
pub struct MemoryJournal {
    /// Records deleted from the front (they came before `records[0]`).
    pruned: u64,
    records: VecDeque<Vec<u8>>,
    snapshots: BTreeMap<u64, Vec<u8>>,
    ledger: BTreeMap<(AgentId, u64, u32), LedgerEntry>,
    ledger_through: u64,
}

impl MemoryJournal {
    /// Flips one bit of the snapshot stored after record `seq`, as a disk
    /// could; for tests of recovery's fallback.
    pub fn damage_snapshot(&mut self, seq: u64) {
        if let Some(bytes) = self.snapshots.get_mut(&seq) {
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
        }
    }

    /// Flips one bit of record `seq`; for tests of how recovery refuses
    /// a damaged journal.
    pub fn damage_record(&mut self, seq: u64) {
        let index = seq
            .checked_sub(self.pruned + 1)
            .and_then(|i| usize::try_from(i).ok());
        if let Some(bytes) = index.and_then(|i| self.records.get_mut(i)) {
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
        }
    }
}

impl Journal for MemoryJournal {
    fn add_ledger(&mut self, entries: &[LedgerEntry], through: u64) -> Result<(), JournalError> {
        for e in entries {
            self.ledger.insert((e.agent, e.seq, e.index), *e);
        }
        self.ledger_through = through;
        Ok(())
    }

    fn ledger_through(&self) -> Result<u64, JournalError> {
        Ok(self.ledger_through)
    }

    fn ledger(
        &self,
        agent: AgentId,
        after: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<Vec<LedgerEntry>, JournalError> {
        let from = match after {
            Some((seq, index)) => Bound::Excluded((agent, seq, index)),
            None => Bound::Included((agent, 0, 0)),
        };
        Ok(self
            .ledger
            .range((from, Bound::Included((agent, u64::MAX, u32::MAX))))
            .take(limit)
            .map(|(_, e)| *e)
            .collect())
    }

    fn append(&mut self, first_seq: u64, inputs: &[Input]) -> Result<(), JournalError> {
        let expected = self.pruned + self.records.len() as u64 + 1;
        if first_seq != expected {
            return Err(JournalError::Gap {
                expected,
                found: first_seq,
            });
        }
        for input in inputs {
            let mut bytes = Vec::new();
            record::encode(input, &mut bytes);
            self.records.push_back(bytes);
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), JournalError> {
        Ok(())
    }

    fn read_from(
        &self,
        from: u64,
        visit: &mut dyn FnMut(u64, Input) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let from = from.max(1);
        if from <= self.pruned && !self.records.is_empty() {
            return Err(JournalError::Gap {
                expected: from,
                found: self.pruned + 1,
            });
        }
        let skip = (from - 1).saturating_sub(self.pruned) as usize;
        for (i, bytes) in self.records.iter().enumerate().skip(skip) {
            let seq = self.pruned + i as u64 + 1;
            visit(seq, record::decode(seq, bytes)?)?;
        }
        Ok(())
    }

    fn last_seq(&self) -> Result<u64, JournalError> {
        Ok(self.pruned + self.records.len() as u64)
    }

    fn save_snapshot(&mut self, seq: u64, bytes: &[u8]) -> Result<(), JournalError> {
        self.snapshots.insert(seq, bytes.to_vec());
        Ok(())
    }

    fn snapshots(&self) -> Result<Vec<u64>, JournalError> {
        Ok(self.snapshots.keys().rev().copied().collect())
    }

    fn read_snapshot(&self, seq: u64, read: &mut dyn FnMut(&[u8])) -> Result<(), JournalError> {
        let bytes = self
            .snapshots
            .get(&seq)
            .ok_or_else(|| JournalError::Store(format!("no snapshot after record {seq}")))?;
        read(bytes);
        Ok(())
    }

    fn delete_snapshot(&mut self, seq: u64) -> Result<(), JournalError> {
        self.snapshots.remove(&seq);
        Ok(())
    }

    fn delete_records_through(&mut self, seq: u64) -> Result<(), JournalError> {
        while self.pruned < seq && !self.records.is_empty() {
            self.records.pop_front();
            self.pruned += 1;
        }
        Ok(())
    }
}

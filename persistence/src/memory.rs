//! A journal in memory, for tests. It stores encoded records, so what it
//! reads back has crossed the same encoding as a journal on disk.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::ops::Bound;

use agora_engine::query::OrderView;
use agora_engine::units::{AgentId, ClientOrderId, OrderId, Timestamp};
use agora_engine::{Input, OrderRef};

use crate::history::{archive_page, forgettable, ArchivePage, History};
use crate::journal::{Journal, JournalError};
use crate::ledger::LedgerEntry;
use crate::record;

/// Bytes per chunk of stored records.
const CHUNK_BYTES: usize = 1 << 20;

/// Where a record's bytes are: chunk, offset in it, length.
#[derive(Copy, Clone, Debug)]
struct Place {
    chunk: u32,
    offset: u32,
    len: u32,
}

/// Records kept in memory; "durable" as long as the value lives.
///
/// Their bytes sit back to back in chunks of a megabyte: an allocation
/// per record made this test double stall the pipeline behind it for
/// tens of milliseconds at millions of records, which the journal on
/// disk does not do.
#[derive(Clone, Debug, Default)]
pub struct MemoryJournal {
    /// Records deleted from the front (they came before `records[0]`).
    pruned: u64,
    records: VecDeque<Place>,
    chunks: Vec<Vec<u8>>,
    /// Chunks before this one hold only pruned records and were freed.
    chunks_freed: usize,
    snapshots: BTreeMap<u64, Vec<u8>>,
    ledger: BTreeMap<(AgentId, u64, u32), LedgerEntry>,
    finished: BTreeMap<(AgentId, OrderId), OrderView>,
    by_client_id: BTreeMap<(AgentId, ClientOrderId), OrderId>,
    /// Archived orders that finished unfilled, by the time and record of
    /// the history write that stored them.
    unfilled: BTreeMap<(Timestamp, u64), Vec<(AgentId, OrderId)>>,
    history_through: u64,
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
        if let Some(&place) = index.and_then(|i| self.records.get(i)) {
            let last = (place.offset + place.len - 1) as usize;
            self.chunks[place.chunk as usize][last] ^= 1;
        }
    }

    /// The bytes of the record at `place`.
    fn bytes(&self, place: Place) -> &[u8] {
        let start = place.offset as usize;
        &self.chunks[place.chunk as usize][start..start + place.len as usize]
    }

    /// Stores one encoded record.
    fn store(&mut self, bytes: &[u8]) {
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.len() + bytes.len() <= c.capacity());
        if !fits {
            self.chunks
                .push(Vec::with_capacity(CHUNK_BYTES.max(bytes.len())));
        }
        let chunk = self.chunks.len() - 1;
        let data = &mut self.chunks[chunk];
        let offset = data.len();
        data.extend_from_slice(bytes);
        self.records.push_back(Place {
            chunk: u32::try_from(chunk).expect("chunk count fits u32"),
            offset: u32::try_from(offset).expect("chunk offset fits u32"),
            len: u32::try_from(bytes.len()).expect("record length fits u32"),
        });
    }
}

impl Journal for MemoryJournal {
    fn add_history(&mut self, history: &History, through: u64) -> Result<(), JournalError> {
        for e in &history.ledger {
            self.ledger.insert((e.agent, e.seq, e.index), *e);
        }
        for o in &history.orders {
            self.finished.insert((o.agent, o.order_id), *o);
            if let Some(client_id) = o.client_order_id {
                self.by_client_id.insert((o.agent, client_id), o.order_id);
            }
        }
        let unfilled: Vec<_> = (history.orders.iter())
            .filter(|o| forgettable(o))
            .map(|o| (o.agent, o.order_id))
            .collect();
        if !unfilled.is_empty() {
            self.unfilled.insert((history.time, through), unfilled);
        }
        self.history_through = through;
        Ok(())
    }

    fn forget_unfilled_orders(
        &mut self,
        finished_before: Timestamp,
        max: usize,
    ) -> Result<usize, JournalError> {
        let mut forgotten = 0;
        while forgotten < max {
            let Some(entry) = self.unfilled.first_entry() else {
                break;
            };
            if entry.key().0 >= finished_before {
                break;
            }
            for (agent, id) in entry.remove() {
                if let Some(order) = self.finished.remove(&(agent, id)) {
                    if let Some(client_id) = order.client_order_id {
                        let key = (agent, client_id);
                        if self.by_client_id.get(&key) == Some(&id) {
                            self.by_client_id.remove(&key);
                        }
                    }
                }
                forgotten += 1;
            }
        }
        Ok(forgotten)
    }

    fn history_through(&self) -> Result<u64, JournalError> {
        Ok(self.history_through)
    }

    fn finished_order(
        &self,
        agent: AgentId,
        order: &OrderRef,
    ) -> Result<Option<OrderView>, JournalError> {
        let id = match order {
            OrderRef::Id(id) => Some(*id),
            OrderRef::ClientId(c) => self.by_client_id.get(&(agent, *c)).copied(),
        };
        Ok(id.and_then(|id| self.finished.get(&(agent, id)).copied()))
    }

    fn finished_orders(
        &self,
        agent: AgentId,
        after: Option<OrderId>,
        limit: usize,
        keep: &dyn Fn(&OrderView) -> bool,
    ) -> Result<ArchivePage, JournalError> {
        let from = match after {
            Some(id) => Bound::Excluded((agent, id)),
            None => Bound::Included((agent, OrderId(0))),
        };
        let range = self
            .finished
            .range((from, Bound::Included((agent, OrderId(u64::MAX)))));
        archive_page(range.map(|(_, o)| Ok(*o)), limit, keep)
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
        let mut bytes = Vec::new();
        for input in inputs {
            record::encode(input, &mut bytes);
            self.store(&bytes);
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
        for (i, &place) in self.records.iter().enumerate().skip(skip) {
            let seq = self.pruned + i as u64 + 1;
            visit(seq, record::decode(seq, self.bytes(place))?)?;
        }
        Ok(())
    }

    fn last_seq(&self) -> Result<u64, JournalError> {
        Ok(self.pruned + self.records.len() as u64)
    }

    fn write_snapshot(
        &mut self,
        seq: u64,
        write: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), JournalError> {
        let mut bytes = Vec::new();
        write(&mut bytes).map_err(|e| JournalError::Store(e.to_string()))?;
        self.snapshots.insert(seq, bytes);
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
        let first_kept = self
            .records
            .front()
            .map_or(self.chunks.len(), |p| p.chunk as usize);
        for chunk in &mut self.chunks[self.chunks_freed.min(first_kept)..first_kept] {
            *chunk = Vec::new();
        }
        self.chunks_freed = self.chunks_freed.max(first_kept);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agora_engine::cmd::Deposit;
    use agora_engine::units::{Amount, Currency, Timestamp};
    use agora_engine::Command;

    fn deposit(i: u64) -> Input {
        Input {
            time: Timestamp(i as i64),
            command: Command::Deposit(Deposit {
                agent: AgentId(i),
                currency: Currency::new("CREDITS").unwrap(),
                amount: Amount(i as i64 + 1),
            }),
        }
    }

    fn read(journal: &MemoryJournal, from: u64) -> Result<Vec<(u64, Input)>, JournalError> {
        let mut seen = Vec::new();
        journal.read_from(from, &mut |seq, input| {
            seen.push((seq, input));
            Ok(())
        })?;
        Ok(seen)
    }

    #[test]
    fn records_across_many_chunks_read_back_prune_and_damage_by_sequence() {
        let inputs: Vec<Input> = (1..=100_000).map(deposit).collect();
        let mut journal = MemoryJournal::default();
        for (i, batch) in inputs.chunks(1_000).enumerate() {
            journal.append(i as u64 * 1_000 + 1, batch).unwrap();
        }
        assert!(journal.chunks.len() > 2, "{} chunks", journal.chunks.len());
        let all = read(&journal, 1).unwrap();
        assert_eq!(all.len(), inputs.len());
        assert!(all
            .iter()
            .all(|(seq, input)| *input == inputs[*seq as usize - 1]));
        journal.delete_records_through(70_000).unwrap();
        assert!(journal.chunks_freed > 0);
        assert!(journal.chunks[..journal.chunks_freed]
            .iter()
            .all(|c| c.capacity() == 0));
        assert!(matches!(read(&journal, 1), Err(JournalError::Gap { .. })));
        let rest = read(&journal, 70_001).unwrap();
        assert_eq!(rest.len(), 30_000);
        assert_eq!(rest[0], (70_001, inputs[70_000].clone()));
        journal.damage_record(99_999);
        match read(&journal, 70_001) {
            Err(JournalError::Corrupt { seq, .. }) => assert_eq!(seq, 99_999),
            other => panic!("{:?}", other.map(|r| r.len())),
        }
        journal.append(100_001, &[deposit(100_001)]).unwrap();
        assert_eq!(journal.last_seq(), Ok(100_001));
    }
}

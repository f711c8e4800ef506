//! A journal in memory, for tests. It stores encoded records, so what it
//! reads back has crossed the same encoding as a journal on disk.

use agora_engine::Input;

use crate::journal::{Journal, JournalError};
use crate::record;

/// Records kept in a `Vec`; "durable" as long as the value lives.
#[derive(Clone, Debug, Default)]
pub struct MemoryJournal {
    records: Vec<Vec<u8>>,
}

impl Journal for MemoryJournal {
    fn append(&mut self, first_seq: u64, inputs: &[Input]) -> Result<(), JournalError> {
        let expected = self.records.len() as u64 + 1;
        if first_seq != expected {
            return Err(JournalError::Gap {
                expected,
                found: first_seq,
            });
        }
        for input in inputs {
            let mut bytes = Vec::new();
            record::encode(input, &mut bytes);
            self.records.push(bytes);
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
        let skip = from.saturating_sub(1) as usize;
        for (i, bytes) in self.records.iter().enumerate().skip(skip) {
            let seq = i as u64 + 1;
            visit(seq, record::decode(seq, bytes)?)?;
        }
        Ok(())
    }

    fn last_seq(&self) -> Result<u64, JournalError> {
        Ok(self.records.len() as u64)
    }
}

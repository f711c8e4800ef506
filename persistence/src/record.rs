//! The journal's record format: one byte of format version, a CRC32 of the
//! payload, then the payload (a bincode-encoded [`VersionedInput`]).

use agora_engine::{Input, VersionedInput};

use crate::journal::JournalError;

/// Format of records written now.
const FORMAT: u8 = 1;
const HEADER_BYTES: usize = 5;

/// Encodes `input` as a record.
pub(crate) fn encode(input: &Input, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&[FORMAT, 0, 0, 0, 0]);
    bincode::serialize_into(&mut *out, &VersionedInput::V1(input.clone()))
        .expect("inputs always serialize");
    let crc = crc32fast::hash(&out[HEADER_BYTES..]);
    out[1..HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
}

/// Decodes record `seq`, checking its format and checksum.
pub(crate) fn decode(seq: u64, record: &[u8]) -> Result<Input, JournalError> {
    let corrupt = |reason: String| JournalError::Corrupt { seq, reason };
    if record.len() < HEADER_BYTES {
        return Err(corrupt(format!("only {} bytes", record.len())));
    }
    if record[0] != FORMAT {
        return Err(corrupt(format!("unknown format {}", record[0])));
    }
    let stored = u32::from_le_bytes(record[1..HEADER_BYTES].try_into().expect("4 bytes"));
    let payload = &record[HEADER_BYTES..];
    if crc32fast::hash(payload) != stored {
        return Err(corrupt("checksum mismatch".into()));
    }
    bincode::deserialize::<VersionedInput>(payload)
        .map(Input::from)
        .map_err(|e| corrupt(format!("payload does not decode: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use agora_engine::cmd::Deposit;
    use agora_engine::units::{AgentId, Amount, Currency, Timestamp};
    use agora_engine::Command;

    fn input() -> Input {
        Input {
            time: Timestamp(42),
            command: Command::Deposit(Deposit {
                agent: AgentId(7),
                currency: Currency::new("CREDITS").unwrap(),
                amount: Amount(5),
            }),
        }
    }

    #[test]
    fn records_round_trip() {
        let mut bytes = Vec::new();
        encode(&input(), &mut bytes);
        assert_eq!(decode(3, &bytes), Ok(input()));
    }

    #[test]
    fn damaged_records_are_refused_naming_their_sequence() {
        let mut bytes = Vec::new();
        encode(&input(), &mut bytes);
        let last = bytes.len() - 1;
        let mut flipped = bytes.clone();
        flipped[last] ^= 1;
        let check = |record: &[u8], reason: &str| match decode(9, record) {
            Err(JournalError::Corrupt { seq: 9, reason: r }) => assert!(r.contains(reason), "{r}"),
            other => panic!("expected corruption, got {other:?}"),
        };
        check(&flipped, "checksum");
        check(&bytes[..3], "only 3 bytes");
        let mut future = bytes.clone();
        future[0] = 99;
        check(&future, "unknown format 99");
    }
}

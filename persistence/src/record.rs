//! The journal's record format: one byte of format version, a CRC32 of the
//! payload, then the payload (a bincode-encoded [`VersionedInput`]):
//! format 2 writes its integers in bincode's variable-length encoding,
//! format 1 (still read) wrote them at fixed width.
//!
//! A frame holds consecutive records: a `u32` count, then each record
//! behind its `u32` length (little-endian).

use agora_engine::{Input, VersionedInput};
use bincode::Options;
use serde::Serialize;

use crate::journal::JournalError;

/// Format of records written now: variable-length integers, about half
/// the bytes of fixed-width ones, so the log syncs, and the memtables
/// flush, half as much.
const FORMAT: u8 = 2;
/// Records written before format 2: fixed-width integers.
const FORMAT_FIXED: u8 = 1;
const HEADER_BYTES: usize = 5;

/// [`VersionedInput`] by reference: serializes to the same bytes without
/// cloning the input.
#[derive(Serialize)]
enum VersionedInputRef<'a> {
    V1(&'a Input),
}

/// Appends `input` as a record to `out`.
fn append_record(input: &Input, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[FORMAT, 0, 0, 0, 0]);
    compact()
        .serialize_into(&mut *out, &VersionedInputRef::V1(input))
        .expect("inputs always serialize");
    let crc = crc32fast::hash(&out[start + HEADER_BYTES..]);
    out[start + 1..start + HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
}

/// Bincode as format 2 uses it: variable-length integers.
fn compact() -> impl Options {
    bincode::DefaultOptions::new()
}

/// Encodes `input` as a record.
pub(crate) fn encode(input: &Input, out: &mut Vec<u8>) {
    out.clear();
    append_record(input, out);
}

/// Encodes `inputs` as one frame.
pub(crate) fn encode_frame<'a>(inputs: impl Iterator<Item = &'a Input>, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&0u32.to_le_bytes());
    let mut count = 0u32;
    for input in inputs {
        // The record goes straight into the frame; its length is filled in after.
        let at = out.len();
        out.extend_from_slice(&0u32.to_le_bytes());
        append_record(input, out);
        let len = (out.len() - at - 4) as u32;
        out[at..at + 4].copy_from_slice(&len.to_le_bytes());
        count += 1;
    }
    out[..4].copy_from_slice(&count.to_le_bytes());
}

/// How many records the frame starting at record `first` holds.
pub(crate) fn frame_len(first: u64, frame: &[u8]) -> Result<u64, JournalError> {
    let count = frame.get(..4).ok_or_else(|| JournalError::Corrupt {
        seq: first,
        reason: format!("a frame of only {} bytes", frame.len()),
    })?;
    Ok(u64::from(u32::from_le_bytes(
        count.try_into().expect("4 bytes"),
    )))
}

/// Decodes each record of the frame starting at record `first`, in order.
pub(crate) fn decode_frame(
    first: u64,
    frame: &[u8],
    visit: &mut dyn FnMut(Input) -> Result<(), JournalError>,
) -> Result<(), JournalError> {
    let count = frame_len(first, frame)?;
    let mut rest = &frame[4..];
    for seq in first..first + count {
        let corrupt = || JournalError::Corrupt {
            seq,
            reason: "the frame ends inside this record".into(),
        };
        let len = rest.get(..4).ok_or_else(corrupt)?;
        let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
        let record = rest.get(4..4 + len).ok_or_else(corrupt)?;
        visit(decode(seq, record)?)?;
        rest = &rest[4 + len..];
    }
    if !rest.is_empty() {
        return Err(JournalError::Corrupt {
            seq: first + count,
            reason: format!("{} stray bytes after the frame's records", rest.len()),
        });
    }
    Ok(())
}

/// Decodes record `seq`, checking its format and checksum.
pub(crate) fn decode(seq: u64, record: &[u8]) -> Result<Input, JournalError> {
    let corrupt = |reason: String| JournalError::Corrupt { seq, reason };
    if record.len() < HEADER_BYTES {
        return Err(corrupt(format!("only {} bytes", record.len())));
    }
    if record[0] != FORMAT && record[0] != FORMAT_FIXED {
        return Err(corrupt(format!("unknown format {}", record[0])));
    }
    let stored = u32::from_le_bytes(record[1..HEADER_BYTES].try_into().expect("4 bytes"));
    let payload = &record[HEADER_BYTES..];
    if crc32fast::hash(payload) != stored {
        return Err(corrupt("checksum mismatch".into()));
    }
    let decoded = if record[0] == FORMAT {
        compact().deserialize::<VersionedInput>(payload)
    } else {
        bincode::deserialize::<VersionedInput>(payload)
    };
    decoded
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
    fn the_borrowed_form_writes_the_owned_forms_bytes() {
        let owned = compact().serialize(&VersionedInput::V1(input())).unwrap();
        let borrowed = compact()
            .serialize(&VersionedInputRef::V1(&input()))
            .unwrap();
        assert_eq!(owned, borrowed);
    }

    #[test]
    fn fixed_width_records_still_decode_and_new_ones_take_under_half_the_bytes() {
        let payload = bincode::serialize(&VersionedInput::V1(input())).unwrap();
        let mut old = vec![FORMAT_FIXED];
        old.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        old.extend_from_slice(&payload);
        assert_eq!(decode(4, &old), Ok(input()));
        let mut new = Vec::new();
        encode(&input(), &mut new);
        assert_eq!(new[0], FORMAT);
        assert!(
            new.len() * 2 < old.len(),
            "{} vs {} bytes",
            new.len(),
            old.len()
        );
    }

    #[test]
    fn records_round_trip() {
        let mut bytes = Vec::new();
        encode(&input(), &mut bytes);
        assert_eq!(decode(3, &bytes), Ok(input()));
    }

    #[test]
    fn frames_round_trip_and_name_the_record_they_break_in() {
        let inputs = vec![input(), input(), input()];
        let mut frame = Vec::new();
        encode_frame(inputs.iter(), &mut frame);
        assert_eq!(frame_len(10, &frame), Ok(3));
        let mut seen = Vec::new();
        decode_frame(10, &frame, &mut |i| {
            seen.push(i);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, inputs);
        let torn = &frame[..frame.len() - 3];
        match decode_frame(10, torn, &mut |_| Ok(())) {
            Err(JournalError::Corrupt { seq: 12, .. }) => {}
            other => panic!("expected record 12 to be named, got {other:?}"),
        }
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

//! Snapshots: the whole state in a versioned, checksummed binary form, so
//! recovery can start from one instead of replaying the journal from the
//! beginning. Encoding is pure computation; where the bytes go is the
//! journal's business.
//!
//! Layout: `AGSN`, format (u16 LE), the payload (bincode of the
//! [`Market`]), then CRC32 of the payload (u32 LE). The checksum comes
//! last so a snapshot streams out as it is encoded, never whole in
//! memory. (Format 6 had the checksum in front of the payload; it still
//! reads.) Derived indexes are not stored: they are rebuilt on restore,
//! and the restored state must pass every invariant check.

use std::fmt;
use std::io::{self, BufWriter, Write};

use crate::market::Market;

const MAGIC: &[u8; 4] = b"AGSN";
/// Format of snapshots written now (3: transactions with their dispute
/// queue, requests, listings, auctions, terms; 5: each agent's open
/// orders as (id, slot, asset) entries in id order; 6: the count of
/// orders ever finished; 7: the checksum after the payload).
const FORMAT: u16 = 7;
/// The last format with the checksum in front of the payload.
const FORMAT_CHECKSUM_FIRST: u16 = 6;
const MARKER_BYTES: usize = 6;
const CHECKSUM_BYTES: usize = 4;
/// Bytes the encoder gathers before it checksums them and hands them on.
const ENCODE_BUFFER: usize = 64 * 1024;

/// Why bytes are not a usable snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// Too short, or not starting with the snapshot marker.
    NotASnapshot,
    /// Written in a format this engine does not read.
    UnknownFormat(u16),
    /// The payload does not match its checksum.
    Checksum,
    /// The payload does not decode, or decodes to a state that breaks an
    /// invariant.
    Invalid(String),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::NotASnapshot => write!(f, "not a snapshot"),
            SnapshotError::UnknownFormat(v) => write!(
                f,
                "snapshot format {v} is not supported (this version reads formats \
                 {FORMAT_CHECKSUM_FIRST} and {FORMAT})"
            ),
            SnapshotError::Checksum => write!(f, "snapshot checksum mismatch"),
            SnapshotError::Invalid(why) => write!(f, "snapshot is invalid: {why}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// Passes bytes on to `out`, checksumming them on the way.
struct Checksummed<W> {
    out: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for Checksummed<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.out.write(bytes)?;
        self.crc.update(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Market {
    /// The whole state as snapshot bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        self.write_snapshot(&mut bytes)
            .expect("writing to memory does not fail");
        bytes
    }

    /// Writes the snapshot to `out` as it is encoded, in pieces of tens of
    /// kilobytes: the snapshotter streams it into the store this way, so a
    /// snapshot of hundreds of megabytes never sits whole in memory (nor
    /// on fresh pages the kernel must zero first). Fails only when `out`
    /// does.
    pub fn write_snapshot<W: Write>(&self, mut out: W) -> io::Result<()> {
        out.write_all(MAGIC)?;
        out.write_all(&FORMAT.to_le_bytes())?;
        let mut payload = BufWriter::with_capacity(
            ENCODE_BUFFER,
            Checksummed {
                out,
                crc: crc32fast::Hasher::new(),
            },
        );
        bincode::serialize_into(&mut payload, self).map_err(|e| match *e {
            bincode::ErrorKind::Io(e) => e,
            other => io::Error::other(other.to_string()),
        })?;
        let Checksummed { mut out, crc } = payload.into_inner().map_err(|e| e.into_error())?;
        out.write_all(&crc.finalize().to_le_bytes())?;
        out.flush()
    }

    /// The state a snapshot holds, with its indexes rebuilt and every
    /// invariant checked.
    pub fn from_snapshot(bytes: &[u8]) -> Result<Market, SnapshotError> {
        if bytes.len() < MARKER_BYTES + CHECKSUM_BYTES || &bytes[..4] != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let format = u16::from_le_bytes([bytes[4], bytes[5]]);
        let rest = &bytes[MARKER_BYTES..];
        let (crc, payload) = match format {
            FORMAT => {
                let (payload, crc) = rest.split_at(rest.len() - CHECKSUM_BYTES);
                (crc, payload)
            }
            FORMAT_CHECKSUM_FIRST => rest.split_at(CHECKSUM_BYTES),
            other => return Err(SnapshotError::UnknownFormat(other)),
        };
        let crc = u32::from_le_bytes(crc.try_into().expect("4 bytes"));
        if crc32fast::hash(payload) != crc {
            return Err(SnapshotError::Checksum);
        }
        let mut market: Market =
            bincode::deserialize(payload).map_err(|e| SnapshotError::Invalid(e.to_string()))?;
        market.orders.rebuild_index();
        market.check_invariants().map_err(SnapshotError::Invalid)?;
        Ok(market)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Harness;
    use crate::Side;

    fn busy_market() -> Harness {
        let mut h = Harness::default();
        h.deposit(1, 1_000);
        h.deposit(2, 1_000);
        for i in 0..20 {
            h.limit(1, Side::Buy, 10 + i % 5, 1 + i % 3);
            h.limit(2, Side::Sell, 12 + i % 7, 2);
        }
        h.limit(2, Side::Sell, 9, 4); // trades
        h
    }

    /// A writer that takes at most 7 bytes per call.
    struct Trickle(Vec<u8>);

    impl Write for Trickle {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let n = bytes.len().min(7);
            self.0.extend_from_slice(&bytes[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A writer that fails after `room` bytes.
    struct Full {
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if bytes.len() > self.room {
                return Err(io::Error::other("disk full"));
            }
            self.room -= bytes.len();
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_restored_snapshot_is_the_same_state_and_goes_on_the_same_way() {
        let mut a = busy_market();
        let mut b = a.clone();
        b.market = Market::from_snapshot(&a.market.snapshot()).unwrap();
        assert_eq!(b.market.state_digest(), a.market.state_digest());
        // Streamed to a writer that takes a few bytes at a time, the
        // snapshot is the same bytes.
        let bytes = a.market.snapshot();
        let mut trickled = Trickle(Vec::new());
        a.market.write_snapshot(&mut trickled).unwrap();
        assert_eq!(trickled.0, bytes);
        for h in [&mut a, &mut b] {
            let id = h.limit(1, Side::Buy, 5, 5).order_id;
            h.cancel(1, id).unwrap();
            h.limit(2, Side::Sell, 11, 3);
            h.limit(1, Side::Buy, 20, 4);
        }
        assert_eq!(b.market.state_digest(), a.market.state_digest());
    }

    #[test]
    fn damaged_snapshots_are_refused() {
        let bytes = busy_market().market.snapshot();
        let check = |bytes: &[u8], expected: SnapshotError| {
            assert_eq!(Market::from_snapshot(bytes).err(), Some(expected));
        };
        check(&bytes[..5], SnapshotError::NotASnapshot);
        let mut other = bytes.clone();
        other[4] = 9;
        check(&other, SnapshotError::UnknownFormat(9));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40;
        check(&flipped, SnapshotError::Checksum);
        let end = bytes.len() - CHECKSUM_BYTES;
        let mut truncated = bytes[..end - 8].to_vec();
        let crc = crc32fast::hash(&truncated[MARKER_BYTES..]);
        truncated.extend_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            Market::from_snapshot(&truncated),
            Err(SnapshotError::Invalid(_))
        ));
    }

    #[test]
    fn a_snapshot_with_its_checksum_in_front_still_reads() {
        let h = busy_market();
        let bytes = h.market.snapshot();
        let (front, rest) = bytes.split_at(MARKER_BYTES);
        let (payload, crc) = rest.split_at(rest.len() - CHECKSUM_BYTES);
        let mut old = front.to_vec();
        old[4..MARKER_BYTES].copy_from_slice(&FORMAT_CHECKSUM_FIRST.to_le_bytes());
        old.extend_from_slice(crc);
        old.extend_from_slice(payload);
        let restored = Market::from_snapshot(&old).unwrap();
        assert_eq!(restored.state_digest(), h.market.state_digest());
        let last = old.len() - 1;
        old[last] ^= 1;
        assert_eq!(
            Market::from_snapshot(&old).err(),
            Some(SnapshotError::Checksum)
        );
    }

    #[test]
    fn a_failing_writer_fails_the_snapshot() {
        let h = busy_market();
        let len = h.market.snapshot().len();
        for room in [0, 3, MARKER_BYTES + 1, len - 1] {
            let error = h.market.write_snapshot(Full { room }).unwrap_err();
            assert_eq!(error.to_string(), "disk full", "room {room}");
        }
        h.market.write_snapshot(Full { room: len }).unwrap();
    }
}

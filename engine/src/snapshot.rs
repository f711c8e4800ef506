//! Snapshots: the whole state in a versioned, checksummed binary form, so
//! recovery can start from one instead of replaying the journal from the
//! beginning. Encoding is pure computation; where the bytes go is the
//! journal's business.
//!
//! Layout: `AGSN`, format (u16 LE), CRC32 of the payload (u32 LE), then the
//! payload (bincode of the [`Market`]). Derived indexes are not stored:
//! they are rebuilt on restore, and the restored state must pass every
//! invariant check.

use std::fmt;

use crate::market::Market;

const MAGIC: &[u8; 4] = b"AGSN";
/// Format of snapshots written now (3: transactions with their dispute
/// queue, requests, listings, auctions, terms; 5: each agent's open
/// orders as (id, slot, asset) entries in id order; 6: the count of
/// orders ever finished).
const FORMAT: u16 = 6;
const HEADER_BYTES: usize = 10;

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
                "snapshot format {v} is not supported (this version reads format {FORMAT})"
            ),
            SnapshotError::Checksum => write!(f, "snapshot checksum mismatch"),
            SnapshotError::Invalid(why) => write!(f, "snapshot is invalid: {why}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

impl Market {
    /// The whole state as snapshot bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        self.snapshot_sized(1 << 16)
    }

    /// [`Market::snapshot`] into a buffer of `expected` bytes to start
    /// with: a snapshotter that passes a little more than its last
    /// snapshot's size writes the next without growing the buffer, which
    /// copies what it holds and touches fresh pages each time it doubles.
    pub fn snapshot_sized(&self, expected: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(expected.max(HEADER_BYTES));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        bincode::serialize_into(&mut out, self).expect("the state always serializes");
        let crc = crc32fast::hash(&out[HEADER_BYTES..]);
        out[6..HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// The state a snapshot holds, with its indexes rebuilt and every
    /// invariant checked.
    pub fn from_snapshot(bytes: &[u8]) -> Result<Market, SnapshotError> {
        if bytes.len() < HEADER_BYTES || &bytes[..4] != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let format = u16::from_le_bytes([bytes[4], bytes[5]]);
        if format != FORMAT {
            return Err(SnapshotError::UnknownFormat(format));
        }
        let crc = u32::from_le_bytes(bytes[6..HEADER_BYTES].try_into().expect("4 bytes"));
        let payload = &bytes[HEADER_BYTES..];
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

    #[test]
    fn a_restored_snapshot_is_the_same_state_and_goes_on_the_same_way() {
        let mut a = busy_market();
        let mut b = a.clone();
        b.market = Market::from_snapshot(&a.market.snapshot()).unwrap();
        assert_eq!(b.market.state_digest(), a.market.state_digest());
        // The room a snapshot starts with changes nothing in it.
        let bytes = a.market.snapshot();
        for room in [0, 3, bytes.len() - 1, 10 * bytes.len()] {
            assert_eq!(a.market.snapshot_sized(room), bytes);
        }
        // Both answer the same commands the same way afterwards.
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
        let mut truncated = bytes[..bytes.len() - 8].to_vec();
        let crc = crc32fast::hash(&truncated[HEADER_BYTES..]);
        truncated[6..HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            Market::from_snapshot(&truncated),
            Err(SnapshotError::Invalid(_))
        ));
    }
}

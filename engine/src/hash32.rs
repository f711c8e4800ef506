//! 32-bit key hashes for indexes whose entries keep their key's hash, so
//! that growing or cleaning the table never reads the records behind it.

use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;

/// A 32-bit hash of `key`.
pub(crate) fn key_hash(key: &impl Hash) -> u32 {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    (h.finish() >> 32) as u32
}

/// The table's hash of a key hash: spread over 64 bits, so that a
/// `hashbrown` table finds both its buckets and its tags in it.
pub(crate) fn table_hash(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

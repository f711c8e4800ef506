//! An append-only sequence kept in fixed-size chunks, for what the engine
//! only ever adds to (transactions and their escrow accounts, agents,
//! requests, offers, listings, auctions). Growing never
//! moves what is stored: a `Vec` doubles by copying everything it holds,
//! which at millions of records stalls the engine thread for tens of
//! milliseconds and shows up as every queued command's latency.
//!
//! A queue that is also retired from the front uses
//! [`crate::chunked::ChunkedDeque`] instead. This one keeps plain `Vec`
//! chunks because every fill appends to it: built on `ChunkedDeque`, the
//! mixed workload ran 2.4% more instructions in the engine (callgrind).
//! For the same reason each push asks for the memory eight lines past
//! its end ([`crate::prefetch::prefetch_ahead`]): with the hint, a sweep
//! of the mixed workload costs about a quarter less.

use std::ops::{Index, IndexMut};

use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::prefetch::prefetch_ahead;

/// Elements per chunk (a power of two, so indexing is a shift and a mask).
const CHUNK: usize = 4096;

/// A sequence indexed from 0 that grows at the end.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Segmented<T> {
    /// Full chunks, then the one being filled; each allocated at `CHUNK`.
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Segmented<T> {
    fn default() -> Self {
        Segmented {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Segmented<T> {
    /// Appends `value`.
    pub fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => {
                chunk.push(value);
                prefetch_ahead(chunk);
            }
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// How many elements there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Element `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    /// Element `index`, mutably, if there is one.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.chunks.get_mut(index / CHUNK)?.get_mut(index % CHUNK)
    }

    /// Every element, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

impl<T> Index<usize> for Segmented<T> {
    type Output = T;

    fn index(&self, index: usize) -> &T {
        &self.chunks[index / CHUNK][index % CHUNK]
    }
}

impl<T> IndexMut<usize> for Segmented<T> {
    fn index_mut(&mut self, index: usize) -> &mut T {
        &mut self.chunks[index / CHUNK][index % CHUNK]
    }
}

/// Shown as a list, like a `Vec` (state digests hash this form).
impl<T: std::fmt::Debug> std::fmt::Debug for Segmented<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Stored as a plain sequence, like a `Vec`.
impl<T: Serialize> Serialize for Segmented<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        for element in self.iter() {
            seq.serialize_element(element)?;
        }
        seq.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Segmented<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Pushes each element straight into its chunk: no whole-sequence
        /// buffer to copy from (64 MB at a million orders).
        struct Elements<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for Elements<T> {
            type Value = Segmented<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Segmented<T>, A::Error> {
                let mut segmented = Segmented::default();
                while let Some(element) = seq.next_element()? {
                    segmented.push(element);
                }
                Ok(segmented)
            }
        }

        deserializer.deserialize_seq(Elements(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_iterates_and_round_trips_across_chunks() {
        // Elements keep their index across chunk boundaries, and a serde
        // round trip (the format of a `Vec`) gives the same sequence.
        let mut s = Segmented::default();
        let n = 2 * CHUNK + 5;
        for i in 0..n {
            s.push(i as u64);
        }
        assert_eq!(s.len(), n);
        assert_eq!((s[0], s[CHUNK], s[n - 1]), (0, CHUNK as u64, n as u64 - 1));
        assert_eq!(s.get(n), None);
        s[CHUNK + 1] = 7;
        assert_eq!(s.iter().nth(CHUNK + 1), Some(&7));
        let bytes = bincode::serialize(&s).unwrap();
        let as_vec: Vec<u64> = s.iter().copied().collect();
        assert_eq!(bytes, bincode::serialize(&as_vec).unwrap());
        assert_eq!(format!("{s:?}"), format!("{as_vec:?}"));
        let back: Segmented<u64> = bincode::deserialize(&bytes).unwrap();
        assert_eq!(back, s);
        assert!(back.chunks.iter().all(|c| c.capacity() == CHUNK));
    }
}

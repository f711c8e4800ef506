//! A queue kept in fixed-size chunks, for what the engine appends to at
//! one end and retires from the other (a schedule's deadlines, the
//! idempotency records): growing never copies what is stored. As one
//! `VecDeque`, such a queue doubles by copying everything it holds, and at
//! hundreds of thousands of entries that copy, into as much fresh memory
//! again, held the command that caused it for milliseconds. What is only
//! ever appended to uses [`crate::segmented::Segmented`], whose `Vec`
//! chunks are cheaper on the fill path.

use std::collections::VecDeque;

/// Elements per chunk.
pub(crate) const CHUNK: usize = 4096;

/// A FIFO queue with indexed access, front first.
///
/// Chunks are never empty, and every chunk but the first and the last is
/// full, so an index finds its chunk by arithmetic.
#[derive(Clone, Debug)]
pub(crate) struct ChunkedDeque<T> {
    chunks: VecDeque<VecDeque<T>>,
    len: usize,
}

impl<T> Default for ChunkedDeque<T> {
    fn default() -> Self {
        ChunkedDeque {
            chunks: VecDeque::new(),
            len: 0,
        }
    }
}

impl<T> ChunkedDeque<T> {
    /// How many elements there are.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The oldest element.
    pub fn front(&self) -> Option<&T> {
        self.chunks.front()?.front()
    }

    /// The newest element.
    pub fn back(&self) -> Option<&T> {
        self.chunks.back()?.back()
    }

    /// Appends `value`.
    pub fn push_back(&mut self, value: T) {
        match self.chunks.back_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push_back(value),
            _ => {
                let mut chunk = VecDeque::with_capacity(CHUNK);
                chunk.push_back(value);
                self.chunks.push_back(chunk);
            }
        }
        self.len += 1;
    }

    /// Takes off the oldest element.
    pub fn pop_front(&mut self) -> Option<T> {
        let chunk = self.chunks.front_mut()?;
        let value = chunk.pop_front();
        if chunk.is_empty() {
            self.chunks.pop_front();
        }
        self.len -= 1;
        value
    }

    /// Where element `index` (from the front) is: its chunk and its place
    /// there.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        let first = self.chunks.front()?.len();
        if index < first {
            return Some((0, index));
        }
        let rest = index - first;
        Some((1 + rest / CHUNK, rest % CHUNK))
    }

    /// Element `index`, counted from the front.
    pub fn get(&self, index: usize) -> Option<&T> {
        let (chunk, i) = self.locate(index)?;
        self.chunks[chunk].get(i)
    }

    /// Element `index`, counted from the front, mutably.
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        let (chunk, i) = self.locate(index)?;
        self.chunks[chunk].get_mut(i)
    }

    /// The index of the first element for which `before` is false, in a
    /// queue where it holds for a prefix (binary search).
    pub fn partition_point(&self, before: impl Fn(&T) -> bool) -> usize {
        let c = self
            .chunks
            .partition_point(|chunk| chunk.back().is_some_and(&before));
        let Some(chunk) = self.chunks.get(c) else {
            return self.len;
        };
        let skipped = match c {
            0 => 0,
            _ => self.chunks[0].len() + (c - 1) * CHUNK,
        };
        skipped + chunk.partition_point(before)
    }

    /// Every element, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_queue_over_many_chunks_indexes_and_searches_like_a_vecdeque() {
        // Pushes past several chunks, pops part of the first one, and
        // checks every index, the search and iteration against a VecDeque.
        let mut q = ChunkedDeque::default();
        let mut model = VecDeque::new();
        for i in 0..3 * CHUNK + 17 {
            q.push_back(i);
            model.push_back(i);
        }
        for _ in 0..CHUNK + 5 {
            assert_eq!(q.pop_front(), model.pop_front());
        }
        assert_eq!(q.len(), model.len());
        assert_eq!((q.front(), q.back()), (model.front(), model.back()));
        for i in 0..model.len() + 2 {
            assert_eq!(q.get(i), model.get(i), "index {i}");
        }
        for probe in [0, CHUNK + 4, CHUNK + 5, 2 * CHUNK, 2 * CHUNK + 1, 4 * CHUNK] {
            assert_eq!(
                q.partition_point(|&v| v < probe),
                model.partition_point(|&v| v < probe),
                "probe {probe}"
            );
        }
        *q.get_mut(CHUNK).unwrap() = 7;
        model[CHUNK] = 7;
        assert!(q.iter().eq(model.iter()));
        while q.pop_front().is_some() {}
        assert!(q.chunks.is_empty() && q.len() == 0);
    }

    proptest! {
        #[test]
        fn pushes_and_pops_match_a_vecdeque(ops in prop::collection::vec(0..3u8, 1..20_000)) {
            let mut q = ChunkedDeque::default();
            let mut model = VecDeque::new();
            for (n, op) in ops.into_iter().enumerate() {
                if op == 0 {
                    prop_assert_eq!(q.pop_front(), model.pop_front());
                } else {
                    q.push_back(n);
                    model.push_back(n);
                }
                prop_assert_eq!(q.len(), model.len());
                prop_assert_eq!(q.front(), model.front());
            }
            let mid = model.len() / 2;
            prop_assert_eq!(q.get(mid), model.get(mid));
            prop_assert!(q.iter().eq(model.iter()));
        }
    }
}

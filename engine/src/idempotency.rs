//! Idempotency records: the first result of every command sent with an
//! idempotency key, so that a retry gets that result instead of a second
//! effect. They live in the engine's state, so they are journaled and
//! survive restarts; they are forgotten after a retention period, oldest
//! first, and the oldest go early if too many are kept.
//!
//! The records sit in the order they were made, in chunks, behind an index
//! of 8-byte entries sized up front for the configured maximum: no record
//! ever waits for the store to grow. As a hash map of whole results (about
//! 190 bytes each), the store rehashed everything it held at every
//! doubling, tens of milliseconds at a few hundred thousand keys.

use std::collections::VecDeque;

use hashbrown::HashTable;
use rustc_hash::FxHashMap;
use serde::de::Deserializer;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::chunked::ChunkedDeque;
use crate::event::Event;
use crate::hash32::table_hash;
use crate::reply::Reply;
use crate::units::{AgentId, InlineName, Timestamp};

/// A client's idempotency key: up to 64 printable ASCII characters.
pub type IdempotencyKey = InlineName<64>;

/// A hash of the request a key was first used with.
pub type RequestHash = [u8; 16];

/// What the first command sent with a key did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotentResult {
    /// The request it answered.
    pub request_hash: RequestHash,
    /// When.
    pub time: Timestamp,
    /// Its reply.
    pub reply: Reply,
    /// Its events.
    pub events: Vec<Event>,
}

/// A recorded command: who sent which key when, and, while this is the
/// newest record of the key, what the command did.
#[derive(Clone, Debug)]
struct Record {
    time: Timestamp,
    agent: AgentId,
    key: IdempotencyKey,
    /// `None` once the key (expired) was recorded again.
    result: Option<IdempotentResult>,
}

/// An index entry: the sequence number of a key's newest record (modulo
/// 2^32; the store holds fewer) and a 32-bit hash of the key.
#[derive(Copy, Clone, Debug)]
struct IndexEntry {
    seq: u32,
    hash: u32,
}

impl IndexEntry {
    fn table_hash(&self) -> u64 {
        table_hash(self.hash)
    }
}

/// The most index entries made room for up front, whatever the maximum.
const INDEX_RESERVED_MAX: usize = 1 << 20;

/// A 32-bit hash of `(agent, key)`.
fn key_hash(agent: AgentId, key: &IdempotencyKey) -> u32 {
    crate::hash32::key_hash(&(agent, key))
}

/// Where the record numbered `seq` sits, in a queue whose oldest record
/// is numbered `first`.
fn position(first: u64, seq: u32) -> usize {
    seq.wrapping_sub(first as u32) as usize
}

/// Whether index entry `e` names `agent`'s record of `key` (whose hash is
/// `hash`).
fn names(
    records: &ChunkedDeque<Record>,
    first: u64,
    e: &IndexEntry,
    hash: u32,
    agent: AgentId,
    key: &IdempotencyKey,
) -> bool {
    e.hash == hash
        && records
            .get(position(first, e.seq))
            .is_some_and(|r| r.agent == agent && r.key == *key)
}

/// The retained results, by agent and key.
#[derive(Clone, Debug, Default)]
pub struct IdempotencyStore {
    /// Oldest first.
    records: ChunkedDeque<Record>,
    /// Sequence number of the oldest record.
    first: u64,
    /// The newest record of each key that has a result.
    index: HashTable<IndexEntry>,
}

impl IdempotencyStore {
    /// The newest record of `agent`'s `key`, if it has a result.
    fn find(&self, agent: AgentId, key: &IdempotencyKey) -> Option<&Record> {
        let hash = key_hash(agent, key);
        let (records, first) = (&self.records, self.first);
        let entry = self.index.find(table_hash(hash), |e| {
            names(records, first, e, hash, agent, key)
        })?;
        records.get(position(first, entry.seq))
    }

    /// The live result of `key` for `agent` at `now`.
    pub fn get(
        &self,
        agent: AgentId,
        key: &IdempotencyKey,
        now: Timestamp,
        retention: i64,
    ) -> Option<&IdempotentResult> {
        self.find(agent, key)?
            .result
            .as_ref()
            .filter(|r| now.0.saturating_sub(r.time.0) < retention)
    }

    /// Records `result`, first forgetting what expired by its time and, if
    /// still full, the oldest records.
    pub(crate) fn record(
        &mut self,
        agent: AgentId,
        key: IdempotencyKey,
        result: IdempotentResult,
        retention: i64,
        max: usize,
    ) {
        let now = result.time;
        while let Some(oldest) = self.records.front() {
            let expired = now.0.saturating_sub(oldest.time.0) >= retention;
            if !expired && self.records.len() < max.max(1) {
                break;
            }
            let oldest = self.records.pop_front().expect("non-empty");
            let seq = self.first as u32;
            self.first += 1;
            if oldest.result.is_some() {
                let hash = table_hash(key_hash(oldest.agent, &oldest.key));
                if let Ok(entry) = self.index.find_entry(hash, |e| e.seq == seq) {
                    entry.remove();
                }
            }
        }
        let room = max.clamp(1, INDEX_RESERVED_MAX);
        if self.index.capacity() < room {
            let more = room - self.index.len();
            self.index.reserve(more, IndexEntry::table_hash);
        }
        let seq = (self.first + self.records.len() as u64) as u32;
        let hash = key_hash(agent, &key);
        let (records, first) = (&mut self.records, self.first);
        let previous = self.index.find_mut(table_hash(hash), |e| {
            names(records, first, e, hash, agent, &key)
        });
        match previous {
            // A key used again after expiring: the newer record answers.
            Some(entry) => {
                let old = std::mem::replace(&mut entry.seq, seq);
                if let Some(r) = records.get_mut(position(first, old)) {
                    r.result = None;
                }
            }
            None => {
                self.index.insert_unique(
                    table_hash(hash),
                    IndexEntry { seq, hash },
                    IndexEntry::table_hash,
                );
            }
        }
        self.records.push_back(Record {
            time: now,
            agent,
            key,
            result: Some(result),
        });
    }

    /// Every live record in the order it was recorded.
    pub fn iter(&self) -> impl Iterator<Item = (AgentId, &IdempotencyKey, &IdempotentResult)> {
        self.records
            .iter()
            .filter_map(|r| Some((r.agent, &r.key, r.result.as_ref()?)))
    }

    /// How many records are kept.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// The stored form (as when the store was a map of results and a queue of
/// keys): each live result by agent and key, then every record's time,
/// agent and key, oldest first.
#[derive(Serialize, Deserialize)]
struct Stored<Results, Recorded> {
    results: Results,
    recorded: Recorded,
}

/// The live results, serialized as a map.
struct LiveResults<'a>(&'a IdempotencyStore);

impl Serialize for LiveResults<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (agent, key, result) in self.0.iter() {
            map.serialize_entry(&(agent, *key), result)?;
        }
        map.end()
    }
}

/// Every record's time, agent and key, serialized as a sequence.
struct RecordOrder<'a>(&'a IdempotencyStore);

impl Serialize for RecordOrder<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.records.len()))?;
        for r in self.0.records.iter() {
            seq.serialize_element(&(r.time, r.agent, r.key))?;
        }
        seq.end()
    }
}

impl Serialize for IdempotencyStore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Stored {
            results: LiveResults(self),
            recorded: RecordOrder(self),
        }
        .serialize(serializer)
    }
}

type StoredResults = FxHashMap<(AgentId, IdempotencyKey), IdempotentResult>;
type StoredOrder = VecDeque<(Timestamp, AgentId, IdempotencyKey)>;

impl<'de> Deserialize<'de> for IdempotencyStore {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Stored {
            mut results,
            recorded,
        } = Stored::<StoredResults, StoredOrder>::deserialize(deserializer)?;
        let mut records: Vec<Record> = recorded
            .into_iter()
            .map(|(time, agent, key)| Record {
                time,
                agent,
                key,
                result: None,
            })
            .collect();
        // A key's result belongs to its newest record of the same time.
        for r in records.iter_mut().rev() {
            let newest = results
                .get(&(r.agent, r.key))
                .is_some_and(|result| result.time == r.time);
            if newest {
                r.result = results.remove(&(r.agent, r.key));
            }
        }
        if !results.is_empty() {
            return Err(serde::de::Error::custom(
                "an idempotency result without its record",
            ));
        }
        let mut store = IdempotencyStore::default();
        for (seq, r) in records.into_iter().enumerate() {
            if r.result.is_some() {
                let hash = key_hash(r.agent, &r.key);
                let entry = IndexEntry {
                    seq: seq as u32,
                    hash,
                };
                store
                    .index
                    .insert_unique(table_hash(hash), entry, IndexEntry::table_hash);
            }
            store.records.push_back(r);
        }
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Ack;

    fn key(k: &str) -> IdempotencyKey {
        IdempotencyKey::new(k).unwrap()
    }

    fn result(time: i64, tag: u8) -> IdempotentResult {
        IdempotentResult {
            request_hash: [tag; 16],
            time: Timestamp(time),
            reply: Ok(Ack::Replayed),
            events: Vec::new(),
        }
    }

    /// `(agent, key, request hash tag)` of every live record, in order.
    fn live(store: &IdempotencyStore) -> Vec<(u64, String, u8)> {
        store
            .iter()
            .map(|(a, k, r)| (a.0, k.as_str().to_string(), r.request_hash[0]))
            .collect()
    }

    #[test]
    fn records_expire_oldest_first_and_the_newest_record_of_a_key_answers() {
        let mut s = IdempotencyStore::default();
        let (a, b) = (AgentId(1), AgentId(2));
        s.record(a, key("k1"), result(0, 1), 10, 100);
        s.record(b, key("k1"), result(1, 2), 10, 100);
        assert_eq!(
            s.get(a, &key("k1"), Timestamp(9), 10).unwrap().request_hash,
            [1; 16]
        );
        assert!(s.get(a, &key("k1"), Timestamp(10), 10).is_none(), "expired");
        assert!(
            s.get(a, &key("k2"), Timestamp(1), 10).is_none(),
            "never used"
        );
        // Time ran backwards (a record stays behind a younger one): a's k1
        // expires at 11, but b's k1 keeps it in place; recording it again
        // makes the new record the answer and the old one dead.
        s.record(b, key("k3"), result(20, 3), 10, 100);
        assert_eq!(s.records.len(), 1, "both k1 records expired at 20");
        s.record(a, key("k4"), result(25, 4), 10, 100);
        s.record(a, key("k3"), result(12, 5), 10, 100);
        s.record(a, key("k3"), result(23, 6), 10, 100);
        assert_eq!(
            s.get(a, &key("k3"), Timestamp(24), 10)
                .unwrap()
                .request_hash,
            [6; 16]
        );
        assert_eq!(
            live(&s),
            vec![
                (2, "k3".into(), 3),
                (1, "k4".into(), 4),
                (1, "k3".into(), 6)
            ]
        );
        assert_eq!((s.len(), s.records.len()), (3, 4));
        // Over the maximum, the oldest go first, dead ones included.
        s.record(b, key("k5"), result(26, 7), 10, 2);
        assert_eq!(live(&s), vec![(1, "k3".into(), 6), (2, "k5".into(), 7)]);
        assert!(s.get(b, &key("k3"), Timestamp(26), 10).is_none());
    }

    #[test]
    fn the_index_is_sized_once_for_the_maximum() {
        // Room for the maximum from the first record: the table is never
        // reallocated, however many keys come and go.
        let mut s = IdempotencyStore::default();
        s.record(AgentId(1), key("k0"), result(0, 0), 1_000_000, 1_000);
        let size = s.index.allocation_size();
        assert!(s.index.capacity() >= 1_000);
        for i in 1..5_000 {
            let k = key(&format!("k{i}"));
            s.record(AgentId(i % 7), k, result(i as i64, 0), 1_000_000, 1_000);
        }
        assert_eq!((s.len(), s.index.allocation_size()), (1_000, size));
        let agent = |i: u64| AgentId(i % 7);
        let now = Timestamp(5_000);
        assert!(s.get(agent(4_999), &key("k4999"), now, 1_000_000).is_some());
        assert!(s.get(agent(3_999), &key("k3999"), now, 1_000_000).is_none());
    }

    #[test]
    fn the_stored_form_is_a_map_of_results_and_a_queue_of_keys() {
        // The snapshot bytes keep the shape the store always had, and a
        // store decoded from them answers as the original did.
        let mut s = IdempotencyStore::default();
        s.record(AgentId(1), key("a"), result(5, 1), 10, 100);
        s.record(AgentId(2), key("b"), result(3, 2), 10, 100);
        s.record(AgentId(1), key("b"), result(4, 3), 10, 100);
        s.record(AgentId(2), key("b"), result(14, 4), 10, 100);
        let bytes = bincode::serialize(&s).unwrap();
        let stored: Stored<StoredResults, StoredOrder> = bincode::deserialize(&bytes).unwrap();
        assert_eq!(stored.results.len(), 3);
        assert_eq!(
            stored.results[&(AgentId(2), key("b"))].request_hash,
            [4; 16]
        );
        let order: Vec<_> = stored.recorded.iter().map(|(t, a, _)| (t.0, a.0)).collect();
        assert_eq!(order, vec![(5, 1), (3, 2), (4, 1), (14, 2)]);
        let back: IdempotencyStore = bincode::deserialize(&bytes).unwrap();
        assert_eq!(live(&back), live(&s));
        assert_eq!((back.len(), back.records.len()), (s.len(), s.records.len()));
        assert_eq!(
            back.get(AgentId(2), &key("b"), Timestamp(15), 10)
                .unwrap()
                .request_hash,
            [4; 16]
        );
        let orphan = Stored {
            results: stored.results,
            recorded: StoredOrder::new(),
        };
        let bytes = bincode::serialize(&orphan).unwrap();
        assert!(bincode::deserialize::<IdempotencyStore>(&bytes).is_err());
    }
}

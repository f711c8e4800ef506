//! Idempotency records: the first result of every command sent with an
//! idempotency key, so that a retry gets that result instead of a second
//! effect. They live in the engine's state, so they are journaled and
//! survive restarts; they are forgotten after a retention period, oldest
//! first, and the oldest go early if too many are kept.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::event::Event;
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

/// The retained results, by agent and key.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IdempotencyStore {
    results: FxHashMap<(AgentId, IdempotencyKey), IdempotentResult>,
    /// Keys in the order they were recorded, for expiry.
    recorded: VecDeque<(Timestamp, AgentId, IdempotencyKey)>,
}

impl IdempotencyStore {
    /// The live result of `key` for `agent` at `now`.
    pub fn get(
        &self,
        agent: AgentId,
        key: &IdempotencyKey,
        now: Timestamp,
        retention: i64,
    ) -> Option<&IdempotentResult> {
        self.results
            .get(&(agent, *key))
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
        while let Some(&(time, a, k)) = self.recorded.front() {
            let expired = now.0.saturating_sub(time.0) >= retention;
            if !expired && self.recorded.len() < max.max(1) {
                break;
            }
            self.recorded.pop_front();
            // A key used again after expiring has a newer record: keep it.
            if self.results.get(&(a, k)).is_some_and(|r| r.time == time) {
                self.results.remove(&(a, k));
            }
        }
        self.recorded.push_back((now, agent, key));
        self.results.insert((agent, key), result);
    }

    /// Every live record in the order it was recorded.
    pub fn iter(&self) -> impl Iterator<Item = (AgentId, &IdempotencyKey, &IdempotentResult)> {
        self.recorded.iter().filter_map(|(time, a, k)| {
            self.results
                .get(&(*a, *k))
                .filter(|r| r.time == *time)
                .map(|r| (*a, k, r))
        })
    }

    /// How many records are kept.
    pub fn len(&self) -> usize {
        self.results.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }
}

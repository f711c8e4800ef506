//! `Idempotent`: a command sent with an idempotency key. The first time,
//! the command runs and its result is kept; a retry with the same request
//! gets [`Ack::Replayed`] (the kept result is a query away) and changes
//! nothing; a retry with another request is refused.

use serde::{Deserialize, Serialize};

use crate::cmd::Command;
use crate::event::Event;
use crate::idempotency::{IdempotencyKey, IdempotentResult, RequestHash};
use crate::market::Market;
use crate::reject::Reject;
use crate::reply::{Ack, Reply};
use crate::units::{AgentId, Timestamp};

/// A command with the caller's idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Idempotent {
    /// The caller; keys are per agent.
    pub agent: AgentId,
    /// The key.
    pub key: IdempotencyKey,
    /// A hash of the whole request (route and body), so that a key reused
    /// for a different request is caught.
    pub request_hash: RequestHash,
    /// The command to run once.
    pub command: Command,
}

impl Idempotent {
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        let retention = market.config.idempotency_retention_ns;
        if let Some(first) = market
            .idempotency
            .get(self.agent, &self.key, time, retention)
        {
            return if first.request_hash == self.request_hash {
                Ok(Ack::Replayed)
            } else {
                Err(Reject::IdempotencyKeyReused)
            };
        }
        if matches!(self.command, Command::Idempotent(_)) {
            return Err(Reject::NestedIdempotency);
        }
        let start = events.len();
        // A rejected command changed nothing and is not kept: a retry may
        // run it again.
        let reply = self.command.apply(market, time, events)?;
        let result = IdempotentResult {
            request_hash: self.request_hash,
            time,
            reply: Ok(reply),
            // Without postings, which no answer shows: kept, they would
            // make the state depend on whether the market reports them
            // (`Market::leave_out_postings`).
            events: (events[start..].iter())
                .filter(|e| !matches!(e, Event::Posting(_)))
                .cloned()
                .collect(),
        };
        let max = market.config.idempotency_keys_max as usize;
        market
            .idempotency
            .record(self.agent, self.key, result, retention, max);
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::Deposit;
    use crate::config::EngineConfig;
    use crate::query::{Answer, Query};
    use crate::testkit::{amt, credits, Harness};

    fn deposit_with_key(h: &mut Harness, key: &str, units: i64) -> Reply {
        h.run(Command::Idempotent(Box::new(Idempotent {
            agent: AgentId(1),
            key: IdempotencyKey::new(key).unwrap(),
            request_hash: [units as u8; 16],
            command: Command::Deposit(Deposit {
                agent: AgentId(1),
                currency: credits(),
                amount: amt(units),
            }),
        })))
    }

    #[test]
    fn a_retry_replays_and_a_different_request_is_refused() {
        let mut h = Harness::default();
        let first = deposit_with_key(&mut h, "k1", 5).unwrap();
        let first_events = h.events.clone();
        assert_eq!(deposit_with_key(&mut h, "k1", 5), Ok(Ack::Replayed));
        assert!(h.events.is_empty(), "a replay has no effect");
        assert_eq!(h.balance(1).0, amt(5));
        assert_eq!(
            deposit_with_key(&mut h, "k1", 6),
            Err(Reject::IdempotencyKeyReused)
        );
        let kept = h.market.query(&Query::IdempotentResult {
            agent: AgentId(1),
            key: IdempotencyKey::new("k1").unwrap(),
        });
        match kept {
            Ok(Answer::IdempotentResult(r)) => {
                assert_eq!(r.reply, Ok(first));
                // Its events but the postings, which no answer shows.
                assert!(matches!(first_events[..], [Event::Posting(_)]));
                assert!(r.events.is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
        // Another key is another request.
        deposit_with_key(&mut h, "k2", 6).unwrap();
        assert_eq!(h.balance(1).0, amt(11));
    }

    #[test]
    fn a_rejected_command_is_not_kept_and_keys_expire() {
        let mut h = Harness::new(EngineConfig {
            idempotency_retention_ns: 10,
            idempotency_keys_max: 2,
            ..EngineConfig::default()
        });
        assert_eq!(
            deposit_with_key(&mut h, "k", -1),
            Err(Reject::AmountNotPositive)
        );
        deposit_with_key(&mut h, "k", 1).unwrap();
        // The harness clock ticks once per command: after 10 ticks the
        // record has expired and the key runs again.
        for _ in 0..10 {
            h.deposit(2, 1);
        }
        deposit_with_key(&mut h, "k", 1).unwrap();
        assert_eq!(h.balance(1).0, amt(2));
        // At most two records are kept: the oldest goes first.
        deposit_with_key(&mut h, "a", 1).unwrap();
        deposit_with_key(&mut h, "b", 1).unwrap();
        assert_eq!(h.market.idempotency_records(), 2);
        assert!(matches!(
            deposit_with_key(&mut h, "k", 1),
            Ok(Ack::FundsMoved { .. })
        ));
        assert_eq!(h.balance(1).0, amt(5));
    }
}

//! `RegisterAgent`: a new agent with its first API key and, optionally,
//! signup credits.

use serde::{Deserialize, Serialize};

use crate::agents::{AgentProfile, AgentRecord, ApiKeyInfo, KeyHash};
use crate::event::{Event, PostingKind};
use crate::ledger::Acct;
use crate::market::Market;
use crate::reject::Reject;
use crate::reply::{Ack, Reply};
use crate::units::{Amount, Currency, Timestamp};

/// Register an agent. The engine numbers it; the gateway chose its public
/// id and its first key (of which only the hash arrives here).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterAgent {
    /// Public id (a UUID), unique.
    pub uuid: u128,
    /// Profile.
    pub profile: AgentProfile,
    /// Hash of the first API key.
    pub key_hash: KeyHash,
    /// Credits granted on signup, if any.
    pub signup_credits: Option<(Currency, Amount)>,
}

impl RegisterAgent {
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        if market.agents.by_uuid(self.uuid).is_some() {
            return Err(Reject::AgentExists);
        }
        let id = market.agents.next_id();
        if let Some((currency, amount)) = self.signup_credits {
            if amount.0 <= 0 {
                return Err(Reject::AmountNotPositive);
            }
            market.check_deposit_room(&currency, amount)?;
            let currency = market.ledger.currency_id(currency);
            let agent = market.ledger.agent(id);
            market.ledger.transfer(
                PostingKind::SignupCredit,
                currency,
                Acct::External,
                Acct::Available(agent),
                amount,
                None,
                events,
            );
        }
        market.agents.add(AgentRecord {
            id,
            uuid: self.uuid,
            profile: self.profile.clone(),
            keys: vec![ApiKeyInfo {
                key_id: 1,
                hash: self.key_hash,
                created_at: time,
                revoked_at: None,
            }],
            created_at: time,
            updated_at: time,
            ownership: Default::default(),
            verified: false,
        });
        Ok(Ack::AgentRegistered {
            agent: id,
            key_id: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{amt, Harness};
    use crate::units::AgentId;

    #[test]
    fn agents_are_numbered_in_order_and_get_signup_credits() {
        let mut h = Harness::default();
        assert_eq!(
            h.register_agent(7, 100),
            Ok(Ack::AgentRegistered {
                agent: AgentId(1),
                key_id: 1
            })
        );
        assert_eq!(
            h.register_agent(8, 0),
            Ok(Ack::AgentRegistered {
                agent: AgentId(2),
                key_id: 1
            })
        );
        assert_eq!(h.balance(1).0, amt(100));
        assert_eq!(h.balance(2).0, amt(0));
        let a = h.market.agents().by_uuid(8).unwrap();
        assert_eq!(a.id, AgentId(2));
        assert_eq!(a.active_keys().count(), 1);
    }

    #[test]
    fn a_public_id_registers_once_and_credits_must_be_positive() {
        let mut h = Harness::default();
        h.register_agent(7, 1).unwrap();
        assert_eq!(h.register_agent(7, 1), Err(Reject::AgentExists));
        assert_eq!(h.register_agent(9, -1), Err(Reject::AmountNotPositive));
        assert_eq!(h.market.agents().len(), 1);
    }
}

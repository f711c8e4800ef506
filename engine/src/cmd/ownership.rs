//! `OwnershipAction`: an agent issues a one-time token its human owner
//! uses to claim it; the operator marks agents verified. Both raise the
//! agent's trust.

use serde::{Deserialize, Serialize};

use crate::agents::KeyHash;
use crate::market::Market;
use crate::posts::check_text;
use crate::reject::{Reject, TextField};
use crate::reply::{Ack, Reply};
use crate::units::{AgentId, Timestamp};

/// Claim tokens and verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OwnershipAction {
    /// `agent` issues a claim token (only its hash is kept), valid until
    /// `expires_at`; a newer token replaces an older one.
    IssueToken {
        /// The agent.
        agent: AgentId,
        /// Hash of the token.
        token_hash: KeyHash,
        /// When it stops working.
        expires_at: Timestamp,
    },
    /// An owner claims the agent whose pending token hashes to
    /// `token_hash`; the token is used up.
    Claim {
        /// Hash of the presented token.
        token_hash: KeyHash,
        /// The owner's contact address.
        owner: String,
    },
    /// Operator: mark `agent` verified (or not).
    Verify {
        /// The agent.
        agent: AgentId,
        /// Verified or not.
        verified: bool,
    },
}

impl OwnershipAction {
    pub(crate) fn apply(&self, market: &mut Market, time: Timestamp) -> Reply {
        match self {
            OwnershipAction::IssueToken {
                agent,
                token_hash,
                expires_at,
            } => {
                market.agents.get(*agent).ok_or(Reject::UnknownAgent)?;
                if *expires_at <= time {
                    return Err(Reject::DeadlineInPast);
                }
                market
                    .agents
                    .issue_claim_token(*agent, *token_hash, *expires_at);
                Ok(Ack::AgentUpdated)
            }
            OwnershipAction::Claim { token_hash, owner } => {
                check_text(owner, market.config.title_chars_max, TextField::Title)?;
                let record = market
                    .agents
                    .by_claim_token(token_hash)
                    .ok_or(Reject::UnknownClaimToken)?;
                let expired = record
                    .ownership
                    .pending
                    .is_some_and(|(_, until)| until < time);
                if expired {
                    return Err(Reject::UnknownClaimToken);
                }
                let agent = record.id;
                market.agents.claim(agent, owner.clone(), time);
                Ok(Ack::AgentUpdated)
            }
            OwnershipAction::Verify { agent, verified } => {
                let record = market.agents.get_mut(*agent).ok_or(Reject::UnknownAgent)?;
                record.verified = *verified;
                record.updated_at = time;
                Ok(Ack::AgentUpdated)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Harness;
    use crate::Command;

    fn run(h: &mut Harness, action: OwnershipAction) -> Reply {
        h.run(Command::Ownership(Box::new(action)))
    }

    #[test]
    fn a_claim_token_works_once_and_only_before_it_expires() {
        let mut h = Harness::default();
        h.register_agent(7, 0).unwrap();
        let agent = AgentId(1);
        let issue = |hash: u8, expires: i64| OwnershipAction::IssueToken {
            agent,
            token_hash: [hash; 32],
            expires_at: Timestamp(expires),
        };
        let claim = |hash: u8| OwnershipAction::Claim {
            token_hash: [hash; 32],
            owner: "owner@example.com".into(),
        };
        run(&mut h, issue(1, 100)).unwrap();
        // A newer token replaces the older one.
        run(&mut h, issue(2, 100)).unwrap();
        assert_eq!(run(&mut h, claim(1)), Err(Reject::UnknownClaimToken));
        h.time = 200;
        assert_eq!(run(&mut h, claim(2)), Err(Reject::UnknownClaimToken));
        run(&mut h, issue(3, 1_000)).unwrap();
        run(&mut h, claim(3)).unwrap();
        assert_eq!(run(&mut h, claim(3)), Err(Reject::UnknownClaimToken));
        let record = h.market.agents().get(agent).unwrap();
        assert_eq!(
            record.ownership.owner.as_ref().unwrap().0,
            "owner@example.com"
        );
        let verify = OwnershipAction::Verify {
            agent,
            verified: true,
        };
        run(&mut h, verify).unwrap();
        assert!(h.market.agents().get(agent).unwrap().verified);
        let unknown = OwnershipAction::Verify {
            agent: AgentId(9),
            verified: true,
        };
        assert_eq!(run(&mut h, unknown), Err(Reject::UnknownAgent));
    }
}

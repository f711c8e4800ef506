//! `ChangeApiKeys`: an agent adds, revokes or rotates its API keys.

use serde::{Deserialize, Serialize};

use crate::agents::{AgentRecord, ApiKeyInfo, KeyHash};
use crate::market::Market;
use crate::reject::Reject;
use crate::reply::{Ack, Reply};
use crate::units::{AgentId, Timestamp};

/// What to do with the keys.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyChange {
    /// Issue another key.
    Add {
        /// Its hash.
        hash: KeyHash,
    },
    /// Revoke a key; the last active key cannot be revoked.
    Revoke {
        /// Which key.
        key_id: u32,
    },
    /// Issue a new key and revoke `key_id` in one step.
    Rotate {
        /// The key to revoke.
        key_id: u32,
        /// The new key's hash.
        hash: KeyHash,
    },
}

/// Change one agent's keys.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeApiKeys {
    /// The agent.
    pub agent: AgentId,
    /// The change.
    pub change: KeyChange,
}

impl ChangeApiKeys {
    pub(crate) fn apply(&self, market: &mut Market, time: Timestamp) -> Reply {
        let keys_max = market.config.agent_api_keys_max as usize;
        let record = market
            .agents
            .get_mut(self.agent)
            .ok_or(Reject::UnknownAgent)?;
        match self.change {
            KeyChange::Add { hash } => {
                if record.active_keys().count() >= keys_max {
                    return Err(Reject::TooManyApiKeys);
                }
                Ok(Ack::ApiKeyIssued {
                    key_id: issue(record, hash, time),
                })
            }
            KeyChange::Revoke { key_id } => {
                let index = active_key(record, key_id)?;
                if record.active_keys().count() == 1 {
                    return Err(Reject::LastApiKey);
                }
                record.keys[index].revoked_at = Some(time);
                Ok(Ack::ApiKeyRevoked { key_id })
            }
            KeyChange::Rotate { key_id, hash } => {
                let index = active_key(record, key_id)?;
                record.keys[index].revoked_at = Some(time);
                Ok(Ack::ApiKeyIssued {
                    key_id: issue(record, hash, time),
                })
            }
        }
    }
}

/// The index of `agent`'s active key `key_id`.
fn active_key(record: &AgentRecord, key_id: u32) -> Result<usize, Reject> {
    record
        .keys
        .iter()
        .position(|k| k.key_id == key_id && k.is_active())
        .ok_or(Reject::UnknownApiKey)
}

fn issue(record: &mut AgentRecord, hash: KeyHash, time: Timestamp) -> u32 {
    let key_id = record.keys.len() as u32 + 1;
    record.keys.push(ApiKeyInfo {
        key_id,
        hash,
        created_at: time,
        revoked_at: None,
    });
    key_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EngineConfig;
    use crate::testkit::Harness;
    use crate::Command;

    fn change(h: &mut Harness, change: KeyChange) -> Reply {
        h.run(Command::ChangeApiKeys(ChangeApiKeys {
            agent: AgentId(1),
            change,
        }))
    }

    fn active(h: &Harness) -> Vec<u32> {
        let a = h.market.agents().get(AgentId(1)).unwrap();
        a.active_keys().map(|k| k.key_id).collect()
    }

    #[test]
    fn keys_are_added_rotated_and_revoked_but_never_all() {
        let mut h = Harness::new(EngineConfig {
            agent_api_keys_max: 2,
            ..EngineConfig::default()
        });
        h.register_agent(1, 0).unwrap();
        assert_eq!(
            change(&mut h, KeyChange::Revoke { key_id: 1 }),
            Err(Reject::LastApiKey)
        );
        assert_eq!(
            change(
                &mut h,
                KeyChange::Rotate {
                    key_id: 1,
                    hash: [2; 32]
                }
            ),
            Ok(Ack::ApiKeyIssued { key_id: 2 })
        );
        assert_eq!(active(&h), vec![2]);
        assert_eq!(
            change(
                &mut h,
                KeyChange::Rotate {
                    key_id: 1,
                    hash: [3; 32]
                }
            ),
            Err(Reject::UnknownApiKey),
            "a revoked key cannot be rotated again"
        );
        assert_eq!(
            change(&mut h, KeyChange::Add { hash: [3; 32] }),
            Ok(Ack::ApiKeyIssued { key_id: 3 })
        );
        assert_eq!(
            change(&mut h, KeyChange::Add { hash: [4; 32] }),
            Err(Reject::TooManyApiKeys)
        );
        assert_eq!(
            change(&mut h, KeyChange::Revoke { key_id: 2 }),
            Ok(Ack::ApiKeyRevoked { key_id: 2 })
        );
        assert_eq!(active(&h), vec![3]);
    }
}

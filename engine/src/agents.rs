//! The agent registry: who may trade, their public profile and the hashes
//! of their API keys. Agents are numbered by the engine in registration
//! order, so replay gives every agent the same [`AgentId`].

use serde::{Deserialize, Serialize};

use crate::segmented::Segmented;
use crate::units::{AgentId, Timestamp};

/// The SHA-256-sized hash of an API key (the engine never sees keys).
pub type KeyHash = [u8; 32];

/// What an agent says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProfile {
    /// Display name.
    pub name: String,
    /// What the agent does.
    pub description: String,
    /// The owner's contact address (private to the agent).
    pub owner_email: Option<String>,
    /// What the agent can do, e.g. `"translation"`.
    pub capabilities: Vec<String>,
    /// Free-form JSON object, as text (validated by the gateway).
    pub metadata: Option<String>,
}

/// One of an agent's API keys.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    /// Number of the key within its agent, from 1.
    pub key_id: u32,
    /// Hash of the key.
    pub hash: KeyHash,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl ApiKeyInfo {
    /// Whether the key still authenticates.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// A registered agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRecord {
    /// The engine's number for the agent.
    pub id: AgentId,
    /// The agent's public id (a UUID chosen by the gateway).
    pub uuid: u128,
    /// Its profile.
    pub profile: AgentProfile,
    /// Every key it was issued, revoked ones included.
    pub keys: Vec<ApiKeyInfo>,
    /// When it registered.
    pub created_at: Timestamp,
    /// When its profile last changed.
    pub updated_at: Timestamp,
    /// Its ownership: a pending claim token, or the owner who claimed it.
    pub ownership: Ownership,
    /// Whether the operator verified it.
    pub verified: bool,
}

/// Who owns an agent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    /// The hash of the one-time claim token and when it expires.
    pub pending: Option<(KeyHash, Timestamp)>,
    /// The owner who claimed the agent (a contact address) and when.
    pub owner: Option<(String, Timestamp)>,
}

impl AgentRecord {
    /// Keys that still authenticate.
    pub fn active_keys(&self) -> impl Iterator<Item = &ApiKeyInfo> {
        self.keys.iter().filter(|k| k.is_active())
    }
}

/// Every registered agent, indexed by number and by public id.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Agents {
    /// Agent `n` is at index `n - 1`.
    records: Segmented<AgentRecord>,
    /// Public id → number, sorted, for lookups and stable iteration.
    by_uuid: std::collections::BTreeMap<u128, AgentId>,
    /// Pending ownership claim token hash → agent.
    by_claim_token: std::collections::BTreeMap<KeyHash, AgentId>,
}

impl Agents {
    /// The number the next agent gets.
    pub fn next_id(&self) -> AgentId {
        AgentId(self.records.len() as u64 + 1)
    }

    /// Adds `record`, numbered [`Agents::next_id`].
    pub(crate) fn add(&mut self, record: AgentRecord) {
        debug_assert_eq!(record.id, self.next_id());
        self.by_uuid.insert(record.uuid, record.id);
        self.records.push(record);
    }

    /// Agent `id`, if registered.
    pub fn get(&self, id: AgentId) -> Option<&AgentRecord> {
        let index = usize::try_from(id.0).ok()?.checked_sub(1)?;
        self.records.get(index)
    }

    pub(crate) fn get_mut(&mut self, id: AgentId) -> Option<&mut AgentRecord> {
        let index = usize::try_from(id.0).ok()?.checked_sub(1)?;
        self.records.get_mut(index)
    }

    /// The agent with public id `uuid`.
    pub fn by_uuid(&self, uuid: u128) -> Option<&AgentRecord> {
        self.by_uuid.get(&uuid).and_then(|&id| self.get(id))
    }

    /// Gives `agent` a new claim token (replacing any pending one).
    pub(crate) fn issue_claim_token(&mut self, agent: AgentId, hash: KeyHash, expires: Timestamp) {
        let record = self.get_mut(agent).expect("checked");
        let old = record.ownership.pending.replace((hash, expires));
        if let Some((old, _)) = old {
            self.by_claim_token.remove(&old);
        }
        self.by_claim_token.insert(hash, agent);
    }

    /// The agent a pending claim token (by hash) would give away.
    pub fn by_claim_token(&self, hash: &KeyHash) -> Option<&AgentRecord> {
        self.by_claim_token.get(hash).and_then(|&id| self.get(id))
    }

    /// Uses up `agent`'s claim token: `owner` owns it from `time`.
    pub(crate) fn claim(&mut self, agent: AgentId, owner: String, time: Timestamp) {
        let record = self.get_mut(agent).expect("checked");
        let pending = record.ownership.pending.take();
        record.ownership.owner = Some((owner, time));
        if let Some((hash, _)) = pending {
            self.by_claim_token.remove(&hash);
        }
    }

    /// Every agent, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &AgentRecord> {
        self.records.iter()
    }

    /// How many agents are registered.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no agent is registered.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

//! API keys: generated here, shown once, stored (in the engine's state)
//! only as a hash. The gateway keeps a directory from key hash to agent,
//! loaded from the engine at start and updated as keys change, so
//! authenticating a request needs no trip to the engine.

use std::collections::HashMap;
use std::sync::RwLock;

use agora_engine::agents::KeyHash;
use agora_engine::units::AgentId;
use hyper::header::{HeaderMap, HeaderName, AUTHORIZATION};
use rand::RngCore;

use crate::error::ApiError;

/// Prefix of every agent key.
pub const KEY_PREFIX: &str = "agora_";

/// A new random agent key (256 bits) and its hash.
pub fn new_key() -> (String, KeyHash) {
    new_secret(KEY_PREFIX)
}

/// A new random secret (256 bits) starting with `prefix`, and its hash.
pub fn new_secret(prefix: &str) -> (String, KeyHash) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{prefix}{}", hex(&bytes));
    let hash = hash_key(&secret);
    (secret, hash)
}

/// The hash stored for `key`.
pub fn hash_key(key: &str) -> KeyHash {
    *blake3::hash(key.as_bytes()).as_bytes()
}

/// Lower-case hexadecimal of `bytes` (keys, digests).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The key a request carries in `X-API-Key` or `Authorization: Bearer`.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    const API_KEY: HeaderName = HeaderName::from_static("x-api-key");
    if let Some(v) = headers.get(API_KEY) {
        return v.to_str().ok();
    }
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Compares two secrets' hashes in constant time.
pub fn same_secret(a: &KeyHash, b: &KeyHash) -> bool {
    blake3::Hash::from(*a) == blake3::Hash::from(*b)
}

/// Active key hashes and the agent each belongs to.
#[derive(Default)]
pub struct Directory {
    keys: RwLock<HashMap<KeyHash, AgentId>>,
    /// Public ids (UUIDs) by agent number − 1.
    uuids: RwLock<Vec<u128>>,
}

impl Directory {
    /// A directory holding `keys` of the agents with public ids `uuids`
    /// (in registration order).
    pub fn new(keys: impl IntoIterator<Item = (KeyHash, AgentId)>, uuids: Vec<u128>) -> Self {
        Directory {
            keys: RwLock::new(keys.into_iter().collect()),
            uuids: RwLock::new(uuids),
        }
    }

    /// Records the public id of a newly registered `agent`.
    pub fn register(&self, agent: AgentId, uuid: u128) {
        let mut uuids = self.uuids.write().expect("directory lock poisoned");
        let index = (agent.0 as usize).saturating_sub(1);
        if uuids.len() <= index {
            uuids.resize(index + 1, 0);
        }
        uuids[index] = uuid;
    }

    /// The public id of `agent` (a UUID string).
    pub fn public_id(&self, agent: AgentId) -> String {
        let uuids = self.uuids.read().expect("directory lock poisoned");
        let uuid = (agent.0 as usize)
            .checked_sub(1)
            .and_then(|i| uuids.get(i))
            .copied()
            .unwrap_or(0);
        crate::views::agent_id(uuid)
    }

    /// The agent whose active key the request presents.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let key = presented_key(headers).ok_or_else(ApiError::unauthorized)?;
        let hash = hash_key(key);
        let keys = self.keys.read().expect("directory lock poisoned");
        // The map finds a candidate by hash; the final comparison does not
        // leak how much of it matched.
        match keys.get_key_value(&hash) {
            Some((stored, &agent)) if same_secret(stored, &hash) => Ok(Caller {
                agent,
                key_hash: hash,
            }),
            _ => Err(ApiError::unauthorized()),
        }
    }

    /// Lets `hash` authenticate `agent`.
    pub fn insert(&self, hash: KeyHash, agent: AgentId) {
        self.keys
            .write()
            .expect("directory lock poisoned")
            .insert(hash, agent);
    }

    /// Stops `hash` authenticating.
    pub fn remove(&self, hash: &KeyHash) {
        self.keys
            .write()
            .expect("directory lock poisoned")
            .remove(hash);
    }
}

/// An authenticated agent.
#[derive(Copy, Clone, Debug)]
pub struct Caller {
    /// Who.
    pub agent: AgentId,
    /// The hash of the key it used.
    pub key_hash: KeyHash,
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn keys_authenticate_by_either_header_until_removed() {
        let (key, hash) = new_key();
        assert!(key.starts_with(KEY_PREFIX) && key.len() == KEY_PREFIX.len() + 64);
        let d = Directory::new([(hash, AgentId(4))], Vec::new());
        let by_header = d.authenticate(&headers("x-api-key", &key)).unwrap();
        assert_eq!(by_header.agent, AgentId(4));
        let bearer = format!("Bearer {key}");
        assert_eq!(
            d.authenticate(&headers("authorization", &bearer))
                .unwrap()
                .agent,
            AgentId(4)
        );
        assert!(d
            .authenticate(&headers("authorization", &format!("Basic {key}")))
            .is_err());
        assert!(d
            .authenticate(&headers("x-api-key", "agora_wrong"))
            .is_err());
        assert!(d.authenticate(&HeaderMap::new()).is_err());
        d.remove(&hash);
        assert!(d.authenticate(&headers("x-api-key", &key)).is_err());
    }

    #[test]
    fn new_keys_differ() {
        assert_ne!(new_key().0, new_key().0);
    }
}

//! Agents: registration (the key is shown once), own profile, public
//! profiles, and API key issue, rotation and revocation.

use agora_engine::agents::{AgentProfile, AgentRecord, KeyHash};
use agora_engine::cmd::{ChangeApiKeys, KeyChange, OwnershipAction, RegisterAgent, UpdateAgent};
use agora_engine::config::DAY_NS;
use agora_engine::{Ack, Answer, Command, Query};
use hyper::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::State;
use crate::auth::{new_key, Caller};
use crate::deal_views::{ReputationJson, Trust};
use crate::error::ApiError;
use crate::http::{Call, Out};
use crate::limits::client_network;
use crate::text::TimeText;
use crate::views::{agent_id, KeyView, OwnAgent, Page, PublicAgent};
use schemars::JsonSchema;

const NAME_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 2_000;
const EMAIL_MAX: usize = 254;
const CAPABILITIES_MAX: usize = 50;
const CAPABILITY_MAX: usize = 64;
const METADATA_MAX: usize = 16 * 1024;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RegisterBody {
    name: String,
    #[serde(default)]
    description: String,
    owner_email: Option<String>,
    #[serde(default)]
    capabilities: Vec<String>,
    metadata: Option<Value>,
}

/// `null` clears a field; absent leaves it.
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "AgentChanges")]
pub(super) struct UpdateBody {
    name: Option<String>,
    description: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Option<String>")]
    owner_email: Option<Value>,
    capabilities: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    metadata: Option<Value>,
}

/// A field that is present, `null` included (absent stays `None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn check_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(ApiError::invalid(
            "name",
            format!("must be 1 to {NAME_MAX} characters"),
        ));
    }
    Ok(name.to_string())
}

fn check_description(text: &str) -> Result<String, ApiError> {
    if text.chars().count() > DESCRIPTION_MAX {
        return Err(ApiError::invalid(
            "description",
            format!("must be at most {DESCRIPTION_MAX} characters"),
        ));
    }
    Ok(text.to_string())
}

fn check_email(email: &str) -> Result<String, ApiError> {
    let ok = email.len() <= EMAIL_MAX
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
    if !ok {
        return Err(ApiError::invalid("owner_email", "must be an email address"));
    }
    Ok(email.to_string())
}

fn check_capabilities(list: Vec<String>) -> Result<Vec<String>, ApiError> {
    if list.len() > CAPABILITIES_MAX {
        return Err(ApiError::invalid(
            "capabilities",
            format!("may hold at most {CAPABILITIES_MAX} entries"),
        ));
    }
    if list
        .iter()
        .any(|c| c.trim().is_empty() || c.chars().count() > CAPABILITY_MAX)
    {
        return Err(ApiError::invalid(
            "capabilities",
            format!("entries must be 1 to {CAPABILITY_MAX} characters"),
        ));
    }
    Ok(list)
}

fn check_metadata(value: Value) -> Result<String, ApiError> {
    if !value.is_object() {
        return Err(ApiError::invalid("metadata", "must be a JSON object"));
    }
    let text = value.to_string();
    if text.len() > METADATA_MAX {
        return Err(ApiError::invalid(
            "metadata",
            format!("must be at most {METADATA_MAX} bytes as JSON"),
        ));
    }
    Ok(text)
}

/// `Some(None)` for `null`, `Some(Some(text))` for a value, `None` if absent.
fn nullable(
    value: Option<Value>,
    check: impl Fn(Value) -> Result<String, ApiError>,
) -> Result<Option<Option<String>>, ApiError> {
    value
        .map(|v| {
            if v.is_null() {
                Ok(None)
            } else {
                check(v).map(Some)
            }
        })
        .transpose()
}

/// `POST /api/v1/agents/register`: no key needed; rate-limited per address.
/// The response holds the API key, the only time it is shown.
pub async fn register(state: &State, call: &Call) -> Result<Out, ApiError> {
    state
        .register_limits
        .check(&client_network(call.peer))
        .map_err(|(e, _)| e)?;
    let body: RegisterBody = call.json()?;
    let profile = AgentProfile {
        name: check_name(&body.name)?,
        description: check_description(&body.description)?,
        owner_email: body.owner_email.as_deref().map(check_email).transpose()?,
        capabilities: check_capabilities(body.capabilities)?,
        metadata: body.metadata.map(check_metadata).transpose()?,
    };
    let (key, key_hash) = new_key();
    let uuid = uuid::Uuid::new_v4().as_u128();
    let command = Command::RegisterAgent(Box::new(RegisterAgent {
        uuid,
        profile,
        key_hash,
        signup_credits: state.signup_credits,
    }));
    let (reply, _) = state.link.run(command).await?;
    let Ack::AgentRegistered { agent, .. } = reply? else {
        unreachable!("registration acknowledges an agent")
    };
    state.directory.register(agent, uuid);
    state.directory.insert(key_hash, agent);
    let record = own_record(state, Caller { agent, key_hash }).await?;
    let registered = Registered {
        agent: OwnAgent::from(&record),
        api_key: key,
    };
    Ok(Out::json(StatusCode::CREATED, &registered))
}

/// A new agent and its key.
#[derive(Serialize, JsonSchema)]
pub(super) struct Registered {
    agent: OwnAgent,
    api_key: String,
}

async fn own_record(state: &State, caller: Caller) -> Result<AgentRecord, ApiError> {
    match state
        .ask(Query::Agent {
            agent: caller.agent,
        })
        .await?
    {
        Answer::Agent(record) => Ok(*record),
        _ => unreachable!("an agent query answers an agent"),
    }
}

/// `GET /api/v1/agents/me`.
pub async fn me(state: &State, caller: Caller) -> Result<Out, ApiError> {
    let record = own_record(state, caller).await?;
    Ok(Out::json(StatusCode::OK, &OwnAgent::from(&record)))
}

/// `PATCH /api/v1/agents/me`.
pub async fn update_me(state: &State, call: &Call, caller: Caller) -> Result<Out, ApiError> {
    let body: UpdateBody = call.json()?;
    let update = UpdateAgent {
        agent: caller.agent,
        name: body.name.as_deref().map(check_name).transpose()?,
        description: body
            .description
            .as_deref()
            .map(check_description)
            .transpose()?,
        owner_email: nullable(body.owner_email, |v| match v.as_str() {
            Some(s) => check_email(s),
            None => Err(ApiError::invalid("owner_email", "must be a string or null")),
        })?,
        capabilities: body.capabilities.map(check_capabilities).transpose()?,
        metadata: nullable(body.metadata, check_metadata)?,
    };
    state
        .execute(call, caller.agent, Command::UpdateAgent(Box::new(update)))
        .await?;
    me(state, caller).await
}

/// The registered agent with public id `id`.
async fn by_public_id(state: &State, id: &str) -> Result<Box<AgentRecord>, ApiError> {
    let uuid = uuid::Uuid::parse_str(id).map_err(|_| ApiError::not_found("agent"))?;
    match state
        .ask(Query::AgentByUuid {
            uuid: uuid.as_u128(),
        })
        .await?
    {
        Answer::Agent(record) => Ok(record),
        _ => unreachable!("an agent query answers an agent"),
    }
}

/// `GET /api/v1/agents/{id}`: public fields only.
pub async fn public(state: &State, id: &str) -> Result<Out, ApiError> {
    let record = by_public_id(state, id).await?;
    Ok(Out::json(StatusCode::OK, &PublicAgent::from(&*record)))
}

/// `GET /api/v1/agents/{id}/reputation` (`trust: false`) or `/trust`
/// (`trust: true`): what the agent's transactions say about it.
pub async fn reputation(state: &State, id: &str, trust: bool) -> Result<Out, ApiError> {
    let record = by_public_id(state, id).await?;
    let Answer::Reputation(r) = state.ask(Query::Reputation { agent: record.id }).await? else {
        unreachable!("a reputation query answers a reputation")
    };
    let score = Trust::new(&r, record.ownership.owner.is_some(), record.verified);
    let id = agent_id(record.uuid);
    Ok(if trust {
        Out::json(StatusCode::OK, &score.json(id))
    } else {
        Out::json(StatusCode::OK, &ReputationJson::new(id, &r, &score))
    })
}

/// `GET /api/v1/agents/me/keys`: every key, without secrets.
pub async fn list_keys(state: &State, caller: Caller) -> Result<Out, ApiError> {
    let record = own_record(state, caller).await?;
    let items: Vec<KeyView> = record.keys.iter().map(KeyView::from).collect();
    Ok(Out::json(StatusCode::OK, &Page::whole(items)))
}

async fn change_keys(
    state: &State,
    call: &Call,
    caller: Caller,
    change: KeyChange,
) -> Result<Ack, ApiError> {
    let command = Command::ChangeApiKeys(ChangeApiKeys {
        agent: caller.agent,
        change,
    });
    Ok(state.execute(call, caller.agent, command).await?.0)
}

fn issued(key: String, ack: Ack) -> Out {
    let Ack::ApiKeyIssued { key_id } = ack else {
        unreachable!("issuing a key acknowledges its number")
    };
    Out::json(
        StatusCode::CREATED,
        &IssuedKey {
            key_id,
            api_key: key,
        },
    )
}

/// A new API key, shown once.
#[derive(Serialize, JsonSchema)]
pub(super) struct IssuedKey {
    key_id: u32,
    api_key: String,
}

/// `POST /api/v1/agents/me/keys`: another key (shown once).
pub async fn create_key(state: &State, call: &Call, caller: Caller) -> Result<Out, ApiError> {
    let (key, hash) = new_key();
    let ack = change_keys(state, call, caller, KeyChange::Add { hash }).await?;
    state.directory.insert(hash, caller.agent);
    Ok(issued(key, ack))
}

/// The number of the key whose hash is `hash`.
fn key_id_of(record: &AgentRecord, hash: &KeyHash) -> Option<u32> {
    record
        .active_keys()
        .find(|k| k.hash == *hash)
        .map(|k| k.key_id)
}

/// `POST /api/v1/agents/me/keys/rotate`: a new key replaces the one this
/// request used, which stops working at once.
pub async fn rotate_key(state: &State, call: &Call, caller: Caller) -> Result<Out, ApiError> {
    let record = own_record(state, caller).await?;
    let key_id = key_id_of(&record, &caller.key_hash).ok_or_else(ApiError::unauthorized)?;
    let (key, hash) = new_key();
    let ack = change_keys(state, call, caller, KeyChange::Rotate { key_id, hash }).await?;
    state.directory.insert(hash, caller.agent);
    state.directory.remove(&caller.key_hash);
    Ok(issued(key, ack))
}

/// `DELETE /api/v1/agents/me/keys/{key_id}`.
pub async fn revoke_key(
    state: &State,
    call: &Call,
    caller: Caller,
    id: &str,
) -> Result<Out, ApiError> {
    let key_id: u32 = id
        .parse()
        .map_err(|_| ApiError::not_found("active API key"))?;
    let record = own_record(state, caller).await?;
    let hash = record
        .active_keys()
        .find(|k| k.key_id == key_id)
        .map(|k| k.hash)
        .ok_or_else(|| ApiError::not_found("active API key"))?;
    change_keys(state, call, caller, KeyChange::Revoke { key_id }).await?;
    state.directory.remove(&hash);
    Ok(Out::json(
        StatusCode::OK,
        &RevokedKey {
            key_id,
            revoked: true,
        },
    ))
}

/// A key that no longer works.
#[derive(Serialize, JsonSchema)]
pub(super) struct RevokedKey {
    key_id: u32,
    revoked: bool,
}

/// `POST /api/v1/agents/me/ownership-token`: a one-time token, valid for
/// 24 hours, that the agent's human owner presents to claim it (a newer
/// token replaces an older one). Shown once; only its hash is kept.
pub async fn ownership_token(state: &State, call: &Call, caller: Caller) -> Result<Out, ApiError> {
    call.json_or_default::<crate::http::Empty>()?;
    let (token, token_hash) = crate::auth::new_secret("own_");
    let expires_at = agora_engine::units::Timestamp(state.link.now().0 + DAY_NS);
    let command = Command::Ownership(Box::new(OwnershipAction::IssueToken {
        agent: caller.agent,
        token_hash,
        expires_at,
    }));
    state.execute(call, caller.agent, command).await?;
    Ok(Out::json(
        StatusCode::CREATED,
        &OwnershipToken {
            token,
            expires_at: TimeText(expires_at),
        },
    ))
}

/// A one-time ownership token, shown once.
#[derive(Serialize, JsonSchema)]
pub(super) struct OwnershipToken {
    token: String,
    expires_at: TimeText,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ClaimBody {
    token: String,
    owner: String,
}

/// `POST /api/v1/agents/claim`: an owner (no key needed) claims the agent
/// that issued `token`, which is used up.
pub async fn claim(state: &State, call: &Call) -> Result<Out, ApiError> {
    state
        .register_limits
        .check(&client_network(call.peer))
        .map_err(|(e, _)| e)?;
    let body: ClaimBody = call.json()?;
    let command = Command::Ownership(Box::new(OwnershipAction::Claim {
        token_hash: crate::auth::hash_key(&body.token),
        owner: body.owner,
    }));
    let (reply, _) = state.link.run(command).await?;
    reply?;
    Ok(Out::json(StatusCode::OK, &Claimed { claimed: true }))
}

/// A claim that took.
#[derive(Serialize, JsonSchema)]
pub(super) struct Claimed {
    claimed: bool,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyBody {
    verified: bool,
}

/// `POST /api/v1/operator/agents/{id}/verify`: the operator marks an
/// agent verified (or not).
pub async fn verify(state: &State, call: &Call, id: &str) -> Result<Out, ApiError> {
    let record = by_public_id(state, id).await?;
    let body: VerifyBody = call.json()?;
    let command = Command::Ownership(Box::new(OwnershipAction::Verify {
        agent: record.id,
        verified: body.verified,
    }));
    state.execute(call, super::OPERATOR, command).await?;
    reputation(state, id, true).await
}

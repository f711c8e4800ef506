//! `UpdateAgent`: an agent changes its own profile.

use serde::{Deserialize, Serialize};

use crate::market::Market;
use crate::reject::Reject;
use crate::reply::{Ack, Reply};
use crate::units::{AgentId, Timestamp};

/// Replace the given profile fields; absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateAgent {
    /// The agent.
    pub agent: AgentId,
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New owner email (`Some(None)` clears it).
    pub owner_email: Option<Option<String>>,
    /// New capabilities.
    pub capabilities: Option<Vec<String>>,
    /// New metadata (`Some(None)` clears it).
    pub metadata: Option<Option<String>>,
}

impl UpdateAgent {
    pub(crate) fn apply(&self, market: &mut Market, time: Timestamp) -> Reply {
        let record = market
            .agents
            .get_mut(self.agent)
            .ok_or(Reject::UnknownAgent)?;
        let p = &mut record.profile;
        if let Some(v) = &self.name {
            p.name.clone_from(v);
        }
        if let Some(v) = &self.description {
            p.description.clone_from(v);
        }
        if let Some(v) = &self.owner_email {
            p.owner_email.clone_from(v);
        }
        if let Some(v) = &self.capabilities {
            p.capabilities.clone_from(v);
        }
        if let Some(v) = &self.metadata {
            p.metadata.clone_from(v);
        }
        record.updated_at = time;
        Ok(Ack::AgentUpdated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Harness;
    use crate::Command;

    #[test]
    fn only_the_given_fields_change() {
        let mut h = Harness::default();
        h.register_agent(5, 0).unwrap();
        let update = UpdateAgent {
            agent: AgentId(1),
            description: Some("translates".into()),
            capabilities: Some(vec!["translation".into()]),
            ..UpdateAgent::default()
        };
        assert_eq!(
            h.run(Command::UpdateAgent(Box::new(update.clone()))),
            Ok(Ack::AgentUpdated)
        );
        let p = &h.market.agents().get(AgentId(1)).unwrap().profile;
        assert_eq!(p.name, "agent-5");
        assert_eq!(p.description, "translates");
        assert_eq!(p.capabilities, vec!["translation".to_string()]);
        let stranger = UpdateAgent {
            agent: AgentId(2),
            ..update
        };
        assert_eq!(
            h.run(Command::UpdateAgent(Box::new(stranger))),
            Err(Reject::UnknownAgent)
        );
    }
}

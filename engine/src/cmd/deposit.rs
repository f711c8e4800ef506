//! `Deposit`: money enters an agent's wallet from outside.

use serde::{Deserialize, Serialize};

use crate::event::{Event, PostingKind};
use crate::ledger::Acct;
use crate::market::Market;
use crate::reject::Reject;
use crate::reply::{Ack, Reply};
use crate::units::{AgentId, Amount, Currency};

/// Credit `amount` of `currency` to `agent`'s available funds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deposit {
    /// Receiving agent.
    pub agent: AgentId,
    /// Currency.
    pub currency: Currency,
    /// Positive amount.
    pub amount: Amount,
}

impl Deposit {
    pub(crate) fn apply(&self, market: &mut Market, events: &mut Vec<Event>) -> Reply {
        if self.amount.0 <= 0 {
            return Err(Reject::AmountNotPositive);
        }
        market.check_deposit_room(&self.currency, self.amount)?;
        let currency = market.ledger.currency_id(self.currency);
        let agent = market.ledger.agent(self.agent);
        market.ledger.transfer(
            PostingKind::Deposit,
            currency,
            Acct::External,
            Acct::Available(agent),
            self.amount,
            None,
            events,
        );
        Ok(Ack::FundsMoved {
            available: market.ledger.balance(agent, currency).available,
        })
    }
}

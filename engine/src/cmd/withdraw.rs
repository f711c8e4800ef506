//! `Withdraw`: money leaves an agent's available funds.

use serde::{Deserialize, Serialize};

use crate::event::{Account, Event, PostingKind};
use crate::market::Market;
use crate::reject::Reject;
use crate::reply::{Ack, Reply};
use crate::units::{AgentId, Amount, Currency};

/// Debit `amount` of `currency` from `agent`'s available funds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdraw {
    /// Paying agent.
    pub agent: AgentId,
    /// Currency.
    pub currency: Currency,
    /// Positive amount.
    pub amount: Amount,
}

impl Withdraw {
    pub(crate) fn apply(&self, market: &mut Market, events: &mut Vec<Event>) -> Reply {
        if self.amount.0 <= 0 {
            return Err(Reject::AmountNotPositive);
        }
        let available = market
            .ledger
            .find_currency(&self.currency)
            .map(|c| market.ledger.balance(self.agent, c).available)
            .unwrap_or(Amount::ZERO);
        if available < self.amount {
            return Err(Reject::InsufficientFunds {
                currency: self.currency,
                required: self.amount,
                available,
            });
        }
        let currency = market.ledger.currency_id(self.currency);
        market.ledger.transfer(
            PostingKind::Withdrawal,
            currency,
            Account::Available(self.agent),
            Account::External,
            self.amount,
            None,
            events,
        );
        Ok(Ack::FundsMoved {
            available: market.ledger.balance(self.agent, currency).available,
        })
    }
}

//! `Withdraw`: money leaves an agent's available funds.

use serde::{Deserialize, Serialize};

use crate::event::{Event, PostingKind};
use crate::ledger::Acct;
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
            .map(|c| market.ledger.available(self.agent, c))
            .unwrap_or(Amount::ZERO);
        if available < self.amount {
            return Err(Reject::InsufficientFunds {
                currency: self.currency,
                required: self.amount,
                available,
            });
        }
        let currency = market.ledger.currency_id(self.currency);
        let agent = market.ledger.agent(self.agent);
        market.ledger.transfer(
            PostingKind::Withdrawal,
            currency,
            Acct::Available(agent),
            Acct::External,
            self.amount,
            None,
            events,
        );
        Ok(Ack::FundsMoved {
            available: market.ledger.balance(agent, currency).available,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::{Command, Deposit};
    use crate::testkit::{amt, credits, Harness};
    use crate::Side;

    fn withdraw(h: &mut Harness, units: i64) -> Reply {
        h.run(Command::Withdraw(Withdraw {
            agent: AgentId(1),
            currency: credits(),
            amount: amt(units),
        }))
    }

    #[test]
    fn deposits_and_withdrawals_move_available_funds_only() {
        let mut h = Harness::default();
        h.deposit(1, 100);
        h.limit(1, Side::Buy, 10, 6);
        assert_eq!(
            withdraw(&mut h, 50),
            Err(Reject::InsufficientFunds {
                currency: credits(),
                required: amt(50),
                available: amt(40)
            })
        );
        assert_eq!(
            withdraw(&mut h, 40),
            Ok(Ack::FundsMoved { available: amt(0) })
        );
        assert_eq!(withdraw(&mut h, 0), Err(Reject::AmountNotPositive));
        assert_eq!(withdraw(&mut h, -1), Err(Reject::AmountNotPositive));
    }

    #[test]
    fn deposits_reject_bad_amounts() {
        let mut h = Harness::default();
        let deposit = |amount| {
            Command::Deposit(Deposit {
                agent: AgentId(1),
                currency: credits(),
                amount,
            })
        };
        assert_eq!(h.run(deposit(Amount(0))), Err(Reject::AmountNotPositive));
        assert_eq!(h.run(deposit(Amount(-5))), Err(Reject::AmountNotPositive));
        assert!(h.run(deposit(Amount(i64::MAX))).is_ok());
        assert_eq!(h.run(deposit(Amount(1))), Err(Reject::AmountTooLarge));
    }

    #[test]
    fn currencies_are_limited() {
        // CREDITS exists from the start; one more fits, the next is refused.
        let mut h = Harness::new(crate::EngineConfig {
            currencies_max: 2,
            ..crate::EngineConfig::default()
        });
        let deposit = |code: &str| {
            Command::Deposit(Deposit {
                agent: AgentId(1),
                currency: Currency::new(code).unwrap(),
                amount: amt(1),
            })
        };
        assert!(h.run(deposit("USD")).is_ok());
        assert_eq!(h.run(deposit("EUR")), Err(Reject::TooManyCurrencies));
        assert!(h.run(deposit("USD")).is_ok());
    }
}

//! `SetTerms`: the operator changes the platform fee or the transaction
//! deadlines. Journaled like any command, so a replay applies the change
//! exactly where it happened.

use crate::config::Terms;
use crate::market::Market;
use crate::reject::Reject;
use crate::reply::{Ack, Reply};

/// Puts `terms` in force (they must be valid: [`Terms::is_valid`]).
pub(crate) fn apply(market: &mut Market, terms: &Terms) -> Reply {
    if !terms.is_valid() {
        return Err(Reject::TermsInvalid);
    }
    market.terms = terms.clone();
    Ok(Ack::TermsSet)
}

#[cfg(test)]
mod tests {
    use crate::config::{Terms, DAY_NS};
    use crate::testkit::{amt, Harness};
    use crate::transactions::TxAction;
    use crate::{Command, Reject};

    #[test]
    fn new_terms_apply_to_later_payouts_and_deadlines() {
        let mut h = Harness::default();
        h.deposit(1, 100);
        let bad = Terms {
            fee_bps: 10_001,
            ..Terms::default()
        };
        let set = |t: Terms| Command::SetTerms(Box::new(t));
        assert_eq!(h.run(set(bad)), Err(Reject::TermsInvalid));
        let free = Terms {
            fee_bps: 0,
            release_cooldown_ns: DAY_NS,
            ..Terms::default()
        };
        h.run(set(free)).unwrap();
        let tx = h.deal();
        h.transact(Some(1), tx, TxAction::Fund).unwrap();
        let deliver = TxAction::Deliver {
            proof: "p".into(),
            message: String::new(),
        };
        h.transact(Some(2), tx, deliver).unwrap();
        assert_eq!(h.tx(tx).deadline.unwrap().0, h.time + DAY_NS);
        h.transact(Some(1), tx, TxAction::Confirm).unwrap();
        assert_eq!(h.balance(2).0, amt(10));
        assert_eq!(h.platform(), amt(0));
    }
}

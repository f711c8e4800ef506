//! `Transact`: a party (or the operator) moves a transaction along its
//! lifecycle: fund, deliver, confirm, dispute, resolve, rate, cancel.

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::ledger::AgentIdx;
use crate::market::Market;
use crate::posts::{check_said, check_text};
use crate::reject::{Reject, TextField};
use crate::reply::{Ack, Reply};
use crate::transactions::TxAction;
use crate::units::{AgentId, Timestamp, TransactionId};

/// Take `action` on transaction `transaction_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transact {
    /// The acting agent; `None` for the operator.
    pub caller: Option<AgentId>,
    /// Which transaction.
    pub transaction_id: TransactionId,
    /// What to do.
    pub action: TxAction,
}

impl Transact {
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        // What the input says is checked before what state allows, so a
        // bad request is refused as such whatever the transaction's state.
        let max = market.config.text_chars_max;
        match &self.action {
            TxAction::Deliver { proof, message } => {
                check_said(proof, max, TextField::Proof)?;
                check_text(message, max, TextField::Message)?;
            }
            TxAction::Dispute { reason } => check_said(reason, max, TextField::Reason)?,
            TxAction::Rate { score, comment } => {
                if !(1..=5).contains(score) {
                    return Err(Reject::RatingOutOfRange);
                }
                check_text(comment, max, TextField::Comment)?;
            }
            _ => {}
        }
        // An agent the ledger never saw is party to nothing.
        let caller = self.caller.map(|agent| {
            market
                .ledger
                .find_agent(agent)
                .unwrap_or(AgentIdx(u32::MAX))
        });
        let id = self.transaction_id;
        let actor = market
            .transactions
            .check(id, caller, &self.action, time, &market.ledger)?;
        let (transactions, mut settlement) = market.settlement(time, events);
        let status = transactions.act(id, actor, &self.action, &mut settlement);
        market.after_transition(id, status, time, events);
        Ok(Ack::Transaction {
            transaction_id: id,
            status,
        })
    }
}

//! `CancelOrder`: the owner takes one open order out of its book.

use serde::{Deserialize, Serialize};

use crate::cmd::OrderRef;
use crate::event::{CancelReason, Event};
use crate::market::Market;
use crate::reply::{Ack, Reply};
use crate::units::{AgentId, Timestamp};

/// Cancel an open order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelOrder {
    /// The owner.
    pub agent: AgentId,
    /// Which order.
    pub order: OrderRef,
}

impl CancelOrder {
    pub(crate) fn apply(&self, market: &mut Market, time: Timestamp, events: &mut Vec<Event>) -> Reply {
        let slot = market.own_open_order(self.agent, &self.order)?;
        let asset = market.orders.get(slot).asset;
        let mut ctx = market.book_ctx(asset, time, events);
        ctx.cancel_resting(slot, CancelReason::Requested);
        Ok(Ack::Order(ctx.ack(slot)))
    }
}

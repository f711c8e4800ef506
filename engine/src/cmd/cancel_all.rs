//! `CancelAll`: the owner cancels every open order, or those in one asset.

use serde::{Deserialize, Serialize};

use crate::event::{CancelReason, Event};
use crate::market::Market;
use crate::reply::{Ack, Reply};
use crate::units::{AgentId, Symbol, Timestamp};

/// Cancel all of an agent's open orders, optionally only in `asset`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelAll {
    /// The owner.
    pub agent: AgentId,
    /// Only this asset's orders, if given.
    pub asset: Option<Symbol>,
}

impl CancelAll {
    pub(crate) fn apply(&self, market: &mut Market, time: Timestamp, events: &mut Vec<Event>) -> Reply {
        let only = match &self.asset {
            // An unknown asset holds no orders.
            Some(symbol) => match market.assets.find(symbol) {
                Some(id) => Some(id),
                None => return Ok(Ack::OrdersCancelled { count: 0 }),
            },
            None => None,
        };
        let mut count = 0;
        for slot in market.orders.open_slots_of(self.agent) {
            let asset = market.orders.get(slot).asset;
            if only.is_some_and(|only| only != asset) {
                continue;
            }
            market
                .book_ctx(asset, time, events)
                .cancel_resting(slot, CancelReason::CancelAll);
            count += 1;
        }
        Ok(Ack::OrdersCancelled { count })
    }
}

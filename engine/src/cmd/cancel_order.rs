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
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        let slot = market.own_open_order(self.agent, &self.order)?;
        market.orders.prefetch_agent_entry(slot);
        let asset = market.orders.get(slot).asset;
        let mut ctx = market.book_ctx(asset, time, events);
        ctx.cancel_resting(slot, CancelReason::Requested);
        Ok(Ack::Order(ctx.ack(slot)))
    }
}

#[cfg(test)]
mod tests {
    use crate::cmd::{CancelOrder, Command, OrderRef};
    use crate::testkit::{amt, Harness};
    use crate::units::{AgentId, ClientOrderId, OrderId};
    use crate::{Ack, OrderStatus, Reject, Side};

    #[test]
    fn cancel_releases_the_hold_and_leaves_the_book() {
        let mut h = Harness::default();
        h.deposit(1, 100);
        let id = h.limit(1, Side::Buy, 10, 3).order_id;
        let ack = h.cancel(1, id).unwrap();
        assert_eq!(ack.status, OrderStatus::Cancelled);
        assert_eq!(h.balance(1), (amt(100), amt(0)));
        assert_eq!(h.touch(), (None, None));
    }

    #[test]
    fn cancel_by_client_order_id() {
        let mut h = Harness::default();
        let mut order = h.order(1, Side::Sell, 10, 1);
        let cid = ClientOrderId::new("abc").unwrap();
        order.client_order_id = Some(cid);
        h.place(order).unwrap();
        let reply = h.run(Command::CancelOrder(CancelOrder {
            agent: AgentId(1),
            order: OrderRef::ClientId(cid),
        }));
        assert!(matches!(reply, Ok(Ack::Order(o)) if o.status == OrderStatus::Cancelled));
        // Another agent's client ids are its own namespace.
        let reply = h.run(Command::CancelOrder(CancelOrder {
            agent: AgentId(2),
            order: OrderRef::ClientId(cid),
        }));
        assert_eq!(reply, Err(Reject::UnknownOrder));
    }

    #[test]
    fn cancel_rejections() {
        let mut h = Harness::default();
        let id = h.limit(1, Side::Sell, 10, 1).order_id;
        assert_eq!(h.cancel(1, OrderId(999)), Err(Reject::UnknownOrder));
        assert_eq!(h.cancel(2, id), Err(Reject::NotYourOrder));
        h.cancel(1, id).unwrap();
        assert_eq!(h.cancel(1, id), Err(Reject::OrderNotOpen));
    }
}

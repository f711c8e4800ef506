//! `AmendOrder`: the owner changes a resting order's price or quantity.
//! Reducing the quantity keeps the order's place in its queue; a new price
//! or a larger quantity sends it to the back (and a new price that crosses
//! trades at once, unless the order is post-only).

use serde::{Deserialize, Serialize};

use crate::book::crosses;
use crate::cmd::place_order::{Side, TimeInForce};
use crate::cmd::OrderRef;
use crate::event::Event;
use crate::market::Market;
use crate::reject::Reject;
use crate::reply::{Ack, Reply};
use crate::units::{AgentId, Amount, Lots, Price, Quantity, Timestamp};

/// Change an open order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmendOrder {
    /// The owner.
    pub agent: AgentId,
    /// Which order.
    pub order: OrderRef,
    /// New limit price, if it changes.
    pub price: Option<Price>,
    /// New total quantity (filled + remaining), if it changes.
    pub quantity: Option<Quantity>,
}

impl AmendOrder {
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        let slot = market.own_open_order(self.agent, &self.order)?;
        let order = market.orders.get(slot).clone();
        let asset = *market.assets.get(order.asset);
        let price = match self.price {
            Some(p) => asset.ticks(p)?,
            None => order.price,
        };
        let total = match self.quantity {
            Some(q) => asset.lots(q)?,
            None => Lots(order.filled.0 + order.remaining.0),
        };
        if total <= order.filled {
            return Err(Reject::AmendBelowFilled {
                filled: asset.quantity(order.filled),
            });
        }
        let remaining = Lots(total.0 - order.filled.0);
        let new_notional = asset.checked_notional(price, remaining)?;
        if price == order.price && remaining == order.remaining {
            return Ok(Ack::Order(market.order_ack(slot)));
        }
        let old_hold = match order.side() {
            Side::Buy => asset.notional(order.price, order.remaining),
            Side::Sell => Amount::ZERO,
        };
        let new_hold = match order.side() {
            Side::Buy => new_notional,
            Side::Sell => Amount::ZERO,
        };
        let priority_kept = price == order.price && remaining < order.remaining;
        let event = Event::OrderAmended {
            order_id: order.id,
            agent: market.ledger.agent_id(order.agent),
            price: asset.price(price),
            quantity: asset.quantity(total),
            priority_kept,
        };
        if priority_kept {
            events.push(event);
            let mut ctx = market.book_ctx(order.asset, time, events);
            ctx.book
                .reduce(order.side(), price, Lots(order.remaining.0 - remaining.0));
            ctx.orders.get_mut(slot).remaining = remaining;
            ctx.release(order.agent, Amount(old_hold.0 - new_hold.0), Some(order.id));
            return Ok(Ack::Order(ctx.ack(slot)));
        }

        let book = market.book(order.asset);
        let opposite = book.best(order.side().opposite()).map(|l| l.price);
        if order.traits.time_in_force() == TimeInForce::PostOnly
            && opposite.is_some_and(|best| crosses(order.side(), price, best))
        {
            return Err(Reject::PostOnlyWouldCross);
        }
        if !book.has_room(order.side(), price, market.config.book_levels_per_side_max) {
            return Err(Reject::TooManyLevels);
        }
        let extra = Amount((new_hold.0 - old_hold.0).max(0));
        market.check_available(Some(order.agent), asset.currency, extra)?;

        // Validated: the order leaves its queue and comes back as if new.
        events.push(event);
        let mut ctx = market.book_ctx(order.asset, time, events);
        ctx.book.remove(ctx.orders, slot);
        let o = ctx.orders.get_mut(slot);
        o.price = price;
        o.remaining = remaining;
        Ok(Ack::Order(ctx.execute(slot, old_hold, extra)))
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::{amt, credits, qty, Harness};
    use crate::{OrderStatus, Reject, Side, TimeInForce};

    /// Two asks at 10: agent 2's first, agent 3's second.
    fn queue() -> (Harness, crate::units::OrderId, crate::units::OrderId) {
        let mut h = Harness::default();
        h.deposit(1, 1_000);
        let first = h.limit(2, Side::Sell, 10, 2).order_id;
        let second = h.limit(3, Side::Sell, 10, 2).order_id;
        (h, first, second)
    }

    /// Who fills first when a buyer takes one lot at 10.
    fn first_in_queue(h: &mut Harness) -> u64 {
        h.limit(1, Side::Buy, 10, 1);
        h.trades()[0].0
    }

    #[test]
    fn size_down_keeps_priority() {
        let (mut h, first, _) = queue();
        let ack = h.amend(2, first, None, Some(1)).unwrap();
        assert_eq!((ack.status, ack.remaining), (OrderStatus::Open, qty(1)));
        assert_eq!(first_in_queue(&mut h), first.0);
    }

    #[test]
    fn size_up_loses_priority() {
        let (mut h, first, second) = queue();
        h.amend(2, first, None, Some(3)).unwrap();
        assert_eq!(first_in_queue(&mut h), second.0);
    }

    #[test]
    fn price_change_loses_priority() {
        let (mut h, first, second) = queue();
        h.amend(2, first, Some(11), None).unwrap();
        h.amend(2, first, Some(10), None).unwrap();
        assert_eq!(first_in_queue(&mut h), second.0);
    }

    #[test]
    fn amended_buy_holds_and_releases_exactly() {
        let mut h = Harness::default();
        h.deposit(1, 100);
        let id = h.limit(1, Side::Buy, 10, 2).order_id;
        h.amend(1, id, Some(20), Some(3)).unwrap();
        assert_eq!(h.balance(1), (amt(40), amt(60)));
        h.amend(1, id, None, Some(1)).unwrap();
        assert_eq!(h.balance(1), (amt(80), amt(20)));
        assert_eq!(
            h.amend(1, id, Some(30), Some(4)),
            Err(Reject::InsufficientFunds {
                currency: credits(),
                required: amt(100),
                available: amt(80)
            })
        );
    }

    #[test]
    fn amend_to_a_crossing_price_trades() {
        let (mut h, first, _) = queue();
        let bid = h.limit(1, Side::Buy, 9, 3).order_id;
        let ack = h.amend(1, bid, Some(10), None).unwrap();
        assert_eq!(ack.status, OrderStatus::Filled);
        assert_eq!(h.trades()[0].0, first.0);
        assert_eq!(h.balance(1), (amt(1_000 - 30), amt(0)));
    }

    #[test]
    fn amend_rejections() {
        let (mut h, first, _) = queue();
        let mut post = h.order(1, Side::Buy, 9, 3);
        post.time_in_force = TimeInForce::PostOnly;
        let post = h.place(post).unwrap().order_id;
        assert_eq!(
            h.amend(1, post, Some(10), None),
            Err(Reject::PostOnlyWouldCross)
        );
        assert_eq!(h.amend(3, first, Some(11), None), Err(Reject::NotYourOrder));
        h.limit(1, Side::Buy, 10, 1); // fills 1 of `first`
        assert_eq!(
            h.amend(2, first, None, Some(1)),
            Err(Reject::AmendBelowFilled { filled: qty(1) })
        );
        h.limit(1, Side::Buy, 10, 1);
        assert_eq!(h.amend(2, first, None, Some(5)), Err(Reject::OrderNotOpen));
    }
}

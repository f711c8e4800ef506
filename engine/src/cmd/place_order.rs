//! `PlaceOrder`: a limit or market order enters a book, matches what it
//! crosses at the resting orders' prices, and rests or ends by its time in
//! force.

use serde::{Deserialize, Serialize};

use crate::book::crosses;
use crate::event::{Event, OrderAccepted};
use crate::market::{Market, OrderAsset};
use crate::orders::{Order, Traits, NIL};
use crate::reject::Reject;
use crate::reply::{Ack, OrderStatus, Reply};
use crate::units::{
    AgentId, Amount, ClientOrderId, Lots, OrderId, Price, Quantity, Symbol, Ticks, Timestamp,
};

/// Buy or sell.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Side {
    /// Pays money for the asset.
    Buy,
    /// Delivers the asset for money.
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// How the price is set.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum OrderType {
    /// Trades at the limit price or better; may rest.
    Limit,
    /// Trades at the best prices available now (bounded by an optional
    /// protection price); never rests.
    Market,
}

/// How long an order stays.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum TimeInForce {
    /// Good till cancelled: the unfilled part rests.
    #[default]
    Gtc,
    /// Immediate or cancel: fill what can be filled now, cancel the rest.
    Ioc,
    /// Fill or kill: fill all now or reject the order.
    Fok,
    /// Rest without taking liquidity: rejected if it would match on arrival.
    PostOnly,
}

/// What happens when an order would trade with its own agent's order.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum SelfTradePrevention {
    /// Cancel the resting order and keep matching.
    #[default]
    CancelResting,
    /// Cancel the incoming order's remainder.
    CancelNewest,
    /// Cancel both.
    CancelBoth,
}

/// Place an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceOrder {
    /// New order id, unique (assigned by the gateway).
    pub order_id: OrderId,
    /// Owner.
    pub agent: AgentId,
    /// The asset; created with default parameters if unknown (when allowed).
    pub asset: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Limit or market.
    pub order_type: OrderType,
    /// Limit price; for a market order, an optional protection price
    /// beyond which it does not trade.
    pub price: Option<Price>,
    /// Quantity.
    pub quantity: Quantity,
    /// Time in force (market orders are always immediate).
    pub time_in_force: TimeInForce,
    /// The agent's own id for the order.
    pub client_order_id: Option<ClientOrderId>,
    /// Self-trade prevention mode.
    pub stp: SelfTradePrevention,
}

impl PlaceOrder {
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        let order_asset = market.asset_for_order(&self.asset)?;
        let (asset_id, asset) = (order_asset.id(), order_asset.asset());
        let lots = asset.lots(self.quantity)?;
        let is_market = self.order_type == OrderType::Market;
        let limit = match (self.price, is_market) {
            (Some(price), _) => asset.ticks(price)?,
            (None, false) => return Err(Reject::PriceMissing),
            // No protection: willing to trade at any price.
            (None, true) => match self.side {
                Side::Buy => Ticks(i64::MAX),
                Side::Sell => Ticks(0),
            },
        };
        if is_market && self.time_in_force == TimeInForce::PostOnly {
            return Err(Reject::MarketPostOnly);
        }
        let may_rest =
            !is_market && matches!(self.time_in_force, TimeInForce::Gtc | TimeInForce::PostOnly);
        // The limit's notional bounds every amount this order can move.
        let limit_notional = if is_market && self.price.is_none() {
            Amount::ZERO
        } else {
            asset.checked_notional(limit, lots)?
        };
        let agent = market.ledger.find_agent(self.agent);
        market.orders.check_new(
            self.order_id,
            market.order_id_max,
            agent,
            self.client_order_id.as_ref(),
            market.config.agent_orders_open_max,
        )?;
        if let Some(agent) = agent {
            market.orders.prefetch_agent_end(agent);
        }
        let book = asset_id.map(|id| market.book(id));
        if may_rest {
            if let Some(book) = book {
                // Where the order will rest, after validation and matching.
                book.prefetch_level(self.side, limit);
                if book.orders_count() >= market.config.book_orders_max {
                    return Err(Reject::BookFull);
                }
                if !book.has_room(self.side, limit, market.config.book_levels_per_side_max) {
                    return Err(Reject::TooManyLevels);
                }
            }
        }
        let opposite_best = book
            .and_then(|b| b.best(self.side.opposite()))
            .map(|l| l.price);
        let crossing = opposite_best.is_some_and(|best| crosses(self.side, limit, best));
        if self.time_in_force == TimeInForce::PostOnly && crossing {
            return Err(Reject::PostOnlyWouldCross);
        }
        let needs_preview = crossing
            && (self.time_in_force == TimeInForce::Fok || (is_market && self.side == Side::Buy));
        let (fillable, cost) = match (needs_preview, asset_id) {
            (true, Some(id)) => market.preview(id, agent, self.side, limit, self.stp, lots)?,
            _ => (Lots::ZERO, Amount::ZERO),
        };
        if self.time_in_force == TimeInForce::Fok && fillable < lots {
            return Err(Reject::FokCannotFill {
                fillable: asset.quantity(fillable),
            });
        }
        let hold = match (self.side, is_market) {
            (Side::Sell, _) => Amount::ZERO,
            (Side::Buy, false) => limit_notional,
            // A market buy holds what it will fill, not its protection bound.
            (Side::Buy, true) => cost,
        };
        market.check_available(agent, asset.currency, hold)?;

        // Validated: from here on the order is accepted.
        let asset_id = match order_asset {
            OrderAsset::Listed(id, _) => id,
            OrderAsset::New(asset) => market.add_asset(*asset, events),
        };
        let agent = agent.unwrap_or_else(|| market.ledger.agent(self.agent));
        market.order_id_max = market.order_id_max.max(self.order_id.0);
        let client_order_id = self.client_order_id;
        events.push(Event::OrderAccepted(OrderAccepted {
            order_id: self.order_id,
            client_order_id,
            agent: self.agent,
            asset: self.asset,
            side: self.side,
            order_type: self.order_type,
            time_in_force: self.time_in_force,
            stp: self.stp,
            price: self.price,
            quantity: self.quantity,
            time,
        }));
        let slot = market.orders.insert(
            Order {
                id: self.order_id,
                agent,
                price: limit,
                remaining: lots,
                filled: Lots::ZERO,
                placed_at: time,
                prev: NIL,
                next: NIL,
                agent_pos: 0,
                asset: asset_id,
                traits: Traits::new(self.side, self.order_type, self.time_in_force, self.stp),
                status: OrderStatus::Open,
            },
            client_order_id,
        );
        let ack = market
            .book_ctx(asset_id, time, events)
            .execute(slot, Amount::ZERO, hold);
        Ok(Ack::Order(ack))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EngineConfig;
    use crate::event::CancelReason;
    use crate::reply::OrderAck;
    use crate::testkit::{amt, credits, px, qty, Harness, TradeRow};
    use crate::units::SCALE;

    fn funded() -> Harness {
        let mut h = Harness::default();
        for agent in 1..=4 {
            h.deposit(agent, 1_000);
        }
        h
    }

    #[test]
    fn limit_orders_rest_and_form_the_touch() {
        // Non-crossing limit orders rest; the touch is the best of each side.
        let mut h = funded();
        assert_eq!(h.limit(1, Side::Buy, 9, 1).status, OrderStatus::Open);
        h.limit(1, Side::Buy, 8, 1);
        h.limit(2, Side::Sell, 11, 1);
        h.limit(2, Side::Sell, 12, 1);
        assert_eq!(h.touch(), (Some(9), Some(11)));
        // A buy holds price × quantity and nothing else moves.
        assert_eq!(h.balance(1), (amt(1_000 - 17), amt(17)));
        assert_eq!(h.balance(2), (amt(1_000), amt(0)));
    }

    #[test]
    fn crossing_order_fills_in_price_time_priority_at_resting_prices() {
        // Better price first, then earlier time; fills at the maker's price.
        let mut h = funded();
        let a = h.limit(2, Side::Sell, 10, 1).order_id;
        let b = h.limit(3, Side::Sell, 10, 1).order_id;
        let c = h.limit(2, Side::Sell, 9, 1).order_id;
        let taker = h.order(1, Side::Buy, 10, 3);
        let ack = h.place(taker.clone()).unwrap();
        assert_eq!(ack.status, OrderStatus::Filled);
        let t = taker.order_id.0;
        assert_eq!(
            h.trades(),
            vec![(c.0, t, 9, 1), (a.0, t, 10, 1), (b.0, t, 10, 1)]
        );
        // Paid 29 into escrow; the 1 of price improvement came back.
        assert_eq!(h.balance(1), (amt(1_000 - 29), amt(0)));
        assert_eq!(h.touch(), (None, None));
    }

    #[test]
    fn a_partly_filled_gtc_order_rests_its_remainder() {
        // The unfilled part rests at the limit and keeps its hold.
        let mut h = funded();
        h.limit(2, Side::Sell, 10, 2);
        let ack = h.limit(1, Side::Buy, 11, 5);
        assert_eq!(ack.status, OrderStatus::PartiallyFilled);
        assert_eq!((ack.filled, ack.remaining), (qty(2), qty(3)));
        assert_eq!(h.touch(), (Some(11), None));
        assert_eq!(h.balance(1), (amt(1_000 - 20 - 33), amt(33)));
    }

    #[test]
    fn sell_taker_fills_against_held_bids() {
        // A sell moves the resting buyer's hold into escrow.
        let mut h = funded();
        let bid = h.limit(1, Side::Buy, 10, 4).order_id;
        let ack = h.limit(2, Side::Sell, 9, 3);
        assert_eq!(ack.status, OrderStatus::Filled);
        assert_eq!(h.trades(), vec![(bid.0, ack.order_id.0, 10, 3)]);
        assert_eq!(h.balance(1), (amt(1_000 - 40), amt(10)));
        let Event::Trade(trade) = h
            .events
            .iter()
            .find(|e| matches!(e, Event::Trade(_)))
            .unwrap()
        else {
            unreachable!()
        };
        let query = crate::Query::Transaction {
            agent: Some(AgentId(2)),
            transaction_id: trade.transaction_id,
        };
        let Ok(crate::Answer::Transaction(tx)) = h.market.query(&query) else {
            panic!("the seller sees its transaction")
        };
        assert_eq!((tx.amount, tx.escrow_balance), (amt(30), amt(30)));
        assert_eq!((tx.buyer, tx.seller), (AgentId(1), AgentId(2)));
        assert_eq!(tx.status, crate::transactions::TxStatus::EscrowFunded);
        let stranger = crate::Query::Transaction {
            agent: Some(AgentId(3)),
            transaction_id: trade.transaction_id,
        };
        assert_eq!(h.market.query(&stranger), Err(Reject::NotAParty));
    }

    #[test]
    fn ioc_cancels_what_it_cannot_fill() {
        let mut h = funded();
        h.limit(2, Side::Sell, 10, 1);
        let mut order = h.order(1, Side::Buy, 10, 3);
        order.time_in_force = TimeInForce::Ioc;
        let ack = h.place(order).unwrap();
        assert_eq!(ack.status, OrderStatus::Cancelled);
        assert_eq!((ack.filled, ack.remaining), (qty(1), qty(2)));
        assert!(h.events.iter().any(|e| matches!(
            e,
            Event::OrderCancelled {
                reason: CancelReason::Unfilled,
                ..
            }
        )));
        assert_eq!(h.balance(1), (amt(990), amt(0)));
        assert_eq!(h.touch(), (None, None));
    }

    #[test]
    fn fok_fills_completely_or_is_rejected_without_effect() {
        let mut h = funded();
        h.limit(2, Side::Sell, 10, 1);
        h.limit(3, Side::Sell, 11, 1);
        let mut order = h.order(1, Side::Buy, 11, 3);
        order.time_in_force = TimeInForce::Fok;
        assert_eq!(
            h.place(order.clone()),
            Err(Reject::FokCannotFill { fillable: qty(2) })
        );
        order.quantity = qty(2);
        assert_eq!(h.place(order).unwrap().status, OrderStatus::Filled);
        // Own orders do not count towards what a FOK can fill.
        h.limit(1, Side::Sell, 12, 5);
        let mut own = h.order(1, Side::Buy, 12, 1);
        own.time_in_force = TimeInForce::Fok;
        assert_eq!(
            h.place(own),
            Err(Reject::FokCannotFill { fillable: qty(0) })
        );
    }

    #[test]
    fn post_only_rests_or_is_rejected_if_it_would_take() {
        let mut h = funded();
        h.limit(2, Side::Sell, 10, 1);
        let mut order = h.order(1, Side::Buy, 10, 1);
        order.time_in_force = TimeInForce::PostOnly;
        assert_eq!(h.place(order.clone()), Err(Reject::PostOnlyWouldCross));
        order.price = Some(px(9));
        assert_eq!(h.place(order).unwrap().status, OrderStatus::Open);
    }

    #[test]
    fn market_buy_holds_only_what_it_fills_and_never_rests() {
        let mut h = funded();
        h.limit(2, Side::Sell, 10, 1);
        h.limit(3, Side::Sell, 20, 1);
        let mut order = h.order(1, Side::Buy, 0, 5);
        order.order_type = OrderType::Market;
        order.price = None;
        let ack = h.place(order).unwrap();
        assert_eq!(ack.status, OrderStatus::Cancelled);
        assert_eq!((ack.filled, ack.remaining), (qty(2), qty(3)));
        assert_eq!(h.balance(1), (amt(970), amt(0)));
        assert_eq!(h.touch(), (None, None));
    }

    #[test]
    fn market_order_protection_price_bounds_the_fills() {
        let mut h = funded();
        h.limit(2, Side::Sell, 10, 1);
        h.limit(3, Side::Sell, 20, 1);
        let mut order = h.order(1, Side::Buy, 15, 2);
        order.order_type = OrderType::Market;
        let ack = h.place(order).unwrap();
        assert_eq!((ack.filled, ack.remaining), (qty(1), qty(1)));
        assert_eq!(h.touch(), (None, Some(20)));
        // A market sell without protection takes the best bids.
        h.limit(3, Side::Buy, 5, 2);
        let mut sell = h.order(2, Side::Sell, 0, 1);
        sell.order_type = OrderType::Market;
        sell.price = None;
        assert_eq!(h.place(sell).unwrap().status, OrderStatus::Filled);
        assert_eq!(h.trades().len(), 1);
    }

    #[test]
    fn market_buy_needs_the_funds_for_what_it_would_fill() {
        let mut h = funded();
        h.limit(2, Side::Sell, 600, 2);
        let mut order = h.order(1, Side::Buy, 0, 2);
        order.order_type = OrderType::Market;
        order.price = None;
        assert_eq!(
            h.place(order),
            Err(Reject::InsufficientFunds {
                currency: credits(),
                required: amt(1_200),
                available: amt(1_000)
            })
        );
    }

    #[test]
    fn market_order_into_an_empty_book_is_cancelled_unfilled() {
        let mut h = funded();
        let mut order = h.order(1, Side::Sell, 0, 2);
        order.order_type = OrderType::Market;
        order.price = None;
        let ack = h.place(order).unwrap();
        assert_eq!((ack.status, ack.filled), (OrderStatus::Cancelled, qty(0)));
    }

    fn self_trade(stp: SelfTradePrevention) -> (Harness, OrderAck, Vec<TradeRow>) {
        let mut h = funded();
        h.limit(1, Side::Sell, 10, 1); // own, first in queue
        h.limit(2, Side::Sell, 10, 1);
        let mut order = h.order(1, Side::Buy, 10, 2);
        order.stp = stp;
        let ack = h.place(order).unwrap();
        let trades = h.trades();
        (h, ack, trades)
    }

    #[test]
    fn self_trade_prevention_cancel_resting() {
        // The own resting order goes; matching continues with others.
        let (h, ack, trades) = self_trade(SelfTradePrevention::CancelResting);
        assert_eq!(trades, vec![(2, 3, 10, 1)]);
        assert_eq!(ack.status, OrderStatus::PartiallyFilled);
        assert_eq!(h.touch(), (Some(10), None));
    }

    #[test]
    fn self_trade_prevention_cancel_newest() {
        // The incoming order's remainder goes; the resting order stays.
        let (h, ack, trades) = self_trade(SelfTradePrevention::CancelNewest);
        assert!(trades.is_empty());
        assert_eq!(ack.status, OrderStatus::Cancelled);
        assert_eq!(h.touch(), (None, Some(10)));
        assert_eq!(h.market.book(crate::asset::AssetId(0)).orders_count(), 2);
        assert_eq!(h.balance(1), (amt(1_000), amt(0)));
    }

    #[test]
    fn self_trade_prevention_cancel_both() {
        let (h, ack, trades) = self_trade(SelfTradePrevention::CancelBoth);
        assert!(trades.is_empty());
        assert_eq!(ack.status, OrderStatus::Cancelled);
        assert_eq!(h.market.book(crate::asset::AssetId(0)).orders_count(), 1);
        assert_eq!(h.touch(), (None, Some(10)));
    }

    fn check_rejected(adjust: impl FnOnce(&mut PlaceOrder), expected: Reject) {
        let mut h = funded();
        h.limit(2, Side::Sell, 100, 1); // registers GPU with default parameters
        let mut order = h.order(1, Side::Buy, 10, 1);
        adjust(&mut order);
        assert_eq!(h.place(order), Err(expected));
    }

    #[test]
    fn invalid_orders_are_rejected_with_a_reason() {
        let tick = Price(SCALE / 10_000);
        let lot = Quantity(SCALE / 10_000);
        check_rejected(
            |o| o.price = Some(Price(tick.0 / 2)),
            Reject::PriceNotOnTick { tick_size: tick },
        );
        check_rejected(|o| o.price = Some(px(0)), Reject::PriceNotPositive);
        check_rejected(|o| o.price = Some(Price(-SCALE)), Reject::PriceNotPositive);
        check_rejected(|o| o.price = None, Reject::PriceMissing);
        check_rejected(
            |o| o.quantity = Quantity(lot.0 / 2),
            Reject::QuantityNotOnLot { lot_size: lot },
        );
        check_rejected(|o| o.quantity = qty(0), Reject::QuantityNotPositive);
        check_rejected(|o| o.quantity = qty(-3), Reject::QuantityNotPositive);
        check_rejected(
            |o| o.quantity = qty(200_000_000),
            Reject::QuantityAboveMax {
                quantity_max: qty(100_000_000),
            },
        );
        check_rejected(
            |o| {
                o.price = Some(Price(i64::MAX / 10_000 * 10_000));
                o.quantity = qty(10);
            },
            Reject::AmountTooLarge,
        );
        check_rejected(
            |o| o.quantity = qty(101),
            Reject::InsufficientFunds {
                currency: credits(),
                required: amt(1_010),
                available: amt(1_000),
            },
        );
        check_rejected(|o| o.order_id = OrderId(1), Reject::DuplicateOrderId);
        check_rejected(
            |o| {
                o.order_type = OrderType::Market;
                o.time_in_force = TimeInForce::PostOnly;
            },
            Reject::MarketPostOnly,
        );
        check_rejected(
            |o| {
                o.time_in_force = TimeInForce::PostOnly;
                o.price = Some(px(100));
            },
            Reject::PostOnlyWouldCross,
        );
    }

    #[test]
    fn client_order_ids_are_unique_among_open_orders() {
        let mut h = funded();
        let cid = ClientOrderId::new("my-1").unwrap();
        let mut first = h.order(1, Side::Buy, 10, 1);
        first.client_order_id = Some(cid);
        let first_id = h.place(first).unwrap().order_id;
        let mut dup = h.order(1, Side::Buy, 11, 1);
        dup.client_order_id = Some(cid);
        assert_eq!(h.place(dup.clone()), Err(Reject::DuplicateClientOrderId));
        // Another agent may use the same client id.
        let mut other = h.order(2, Side::Buy, 10, 1);
        other.client_order_id = Some(cid);
        assert!(h.place(other).is_ok());
        // Once the first is cancelled, the client id is free again.
        h.cancel(1, first_id).unwrap();
        assert!(h.place(dup).is_ok());
    }

    #[test]
    fn unknown_assets_are_refused_when_implicit_assets_are_off() {
        let mut h = Harness::new(EngineConfig {
            assets_implicit: false,
            ..EngineConfig::default()
        });
        let order = h.order(1, Side::Sell, 10, 1);
        assert_eq!(h.place(order), Err(Reject::UnknownAsset));
    }

    #[test]
    fn limits_on_books_levels_and_open_orders_are_enforced() {
        let mut h = Harness::new(EngineConfig {
            book_orders_max: 3,
            book_levels_per_side_max: 2,
            agent_orders_open_max: 2,
            ..EngineConfig::default()
        });
        h.limit(1, Side::Sell, 10, 1);
        h.limit(1, Side::Sell, 11, 1);
        let third = h.order(1, Side::Sell, 12, 1);
        assert_eq!(h.place(third), Err(Reject::TooManyOpenOrders));
        let new_level = h.order(2, Side::Sell, 12, 1);
        assert_eq!(h.place(new_level), Err(Reject::TooManyLevels));
        h.limit(2, Side::Sell, 11, 1);
        let fourth = h.order(3, Side::Sell, 11, 1);
        assert_eq!(h.place(fourth), Err(Reject::BookFull));
    }
}

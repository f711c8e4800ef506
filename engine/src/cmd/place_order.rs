//! `PlaceOrder`: a limit or market order enters a book, matches what it
//! crosses at the resting orders' prices, and rests or ends by its time in
//! force.

use serde::{Deserialize, Serialize};

use crate::book::crosses;
use crate::event::{Event, OrderAccepted};
use crate::market::Market;
use crate::orders::{Order, NIL};
use crate::reject::Reject;
use crate::reply::{Ack, OrderStatus, Reply};
use crate::units::{AgentId, Amount, ClientOrderId, Lots, OrderId, Price, Quantity, Symbol, Ticks, Timestamp};

/// Buy or sell.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    pub(crate) fn apply(&self, market: &mut Market, time: Timestamp, events: &mut Vec<Event>) -> Reply {
        let (asset_id, asset) = market.asset_for_order(&self.asset)?;
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
        let may_rest = !is_market && matches!(self.time_in_force, TimeInForce::Gtc | TimeInForce::PostOnly);
        // The limit's notional bounds every amount this order can move.
        let limit_notional = if is_market && self.price.is_none() {
            Amount::ZERO
        } else {
            asset.checked_notional(limit, lots)?
        };
        market.orders.check_new(
            self.order_id,
            self.agent,
            self.client_order_id.as_ref(),
            market.config.agent_orders_open_max,
        )?;
        let book = asset_id.map(|id| market.book(id));
        if may_rest {
            if let Some(book) = book {
                if book.orders_count() >= market.config.book_orders_max {
                    return Err(Reject::BookFull);
                }
                if !book.has_room(self.side, limit, market.config.book_levels_per_side_max) {
                    return Err(Reject::TooManyLevels);
                }
            }
        }
        let opposite_best = book.and_then(|b| b.best(self.side.opposite())).map(|l| l.price);
        let crossing = opposite_best.is_some_and(|best| crosses(self.side, limit, best));
        if self.time_in_force == TimeInForce::PostOnly && crossing {
            return Err(Reject::PostOnlyWouldCross);
        }
        let needs_preview = crossing && (self.time_in_force == TimeInForce::Fok || (is_market && self.side == Side::Buy));
        let (fillable, cost) = match (needs_preview, asset_id) {
            (true, Some(id)) => market.preview(id, self.agent, self.side, limit, self.stp, lots)?,
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
        market.check_available(self.agent, asset.currency, hold)?;

        // Validated: from here on the order is accepted.
        let asset_id = market.commit_asset(asset_id, asset, events);
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
                agent: self.agent,
                price: limit,
                remaining: lots,
                filled: Lots::ZERO,
                placed_at: time,
                prev: NIL,
                next: NIL,
                agent_prev: NIL,
                agent_next: NIL,
                asset: asset_id,
                side: self.side,
                order_type: self.order_type,
                time_in_force: self.time_in_force,
                stp: self.stp,
                status: OrderStatus::Open,
                has_client_id: false,
            },
            client_order_id,
        );
        let ack = market.book_ctx(asset_id, time, events).execute(slot, Amount::ZERO, hold);
        Ok(Ack::Order(ack))
    }
}

//! One asset's order book: price levels per side (a [`Ladder`] each),
//! each level a FIFO queue of orders linked through their slots in the
//! [`OrderStore`].

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use crate::cmd::place_order::Side;
use crate::ladder::{Ladder, Level};
use crate::orders::{OrderStore, NIL};
use crate::units::{Lots, Ticks, Timestamp, TradeId};

/// A trade, as the book remembers it for the recent-trades query.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TradeRecord {
    pub trade_id: TradeId,
    pub price: Ticks,
    pub quantity: Lots,
    pub taker_side: Side,
    pub time: Timestamp,
}

/// An order book.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "StoredBook")]
pub(crate) struct Book {
    /// Best (highest) bid last.
    bids: Ladder,
    /// Best (lowest) ask last.
    asks: Ladder,
    orders_count: u32,
    trades: VecDeque<TradeRecord>,
    last_price: Option<Ticks>,
}

impl Default for Book {
    fn default() -> Self {
        Book {
            bids: Ladder::new(Side::Buy),
            asks: Ladder::new(Side::Sell),
            orders_count: 0,
            trades: VecDeque::new(),
            last_price: None,
        }
    }
}

/// A book as stored: each side's levels in a sorted list.
#[derive(Deserialize)]
struct StoredBook {
    bids: Vec<Level>,
    asks: Vec<Level>,
    orders_count: u32,
    trades: VecDeque<TradeRecord>,
    last_price: Option<Ticks>,
}

impl From<StoredBook> for Book {
    fn from(stored: StoredBook) -> Book {
        Book {
            bids: Ladder::from_levels(Side::Buy, stored.bids),
            asks: Ladder::from_levels(Side::Sell, stored.asks),
            orders_count: stored.orders_count,
            trades: stored.trades,
            last_price: stored.last_price,
        }
    }
}

/// Whether a taker on `taker_side` with `limit` trades against `resting`.
pub(crate) fn crosses(taker_side: Side, limit: Ticks, resting: Ticks) -> bool {
    match taker_side {
        Side::Buy => resting <= limit,
        Side::Sell => resting >= limit,
    }
}

impl Book {
    /// Levels of `side` that hold orders, best last.
    pub fn levels(&self, side: Side) -> impl DoubleEndedIterator<Item = &Level> + '_ {
        self.ladder(side).iter()
    }

    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Best level of `side`.
    pub fn best(&self, side: Side) -> Option<&Level> {
        self.ladder(side).best()
    }

    /// Number of resting orders on both sides.
    pub fn orders_count(&self) -> u32 {
        self.orders_count
    }

    /// Price of the last trade.
    pub fn last_price(&self) -> Option<Ticks> {
        self.last_price
    }

    /// Recent trades, newest last.
    pub fn trades(&self) -> &VecDeque<TradeRecord> {
        &self.trades
    }

    /// Checks both sides' own structure (see [`Ladder::check`]).
    pub fn check(&self) -> Result<(), String> {
        self.bids.check()?;
        self.asks.check()
    }

    /// Asks the CPU to start loading the level at `price` on `side`.
    pub fn prefetch_level(&self, side: Side, price: Ticks) {
        self.ladder(side).prefetch(price);
    }

    /// Whether an order at `price` on `side` could rest without exceeding
    /// `levels_max` levels on that side.
    pub fn has_room(&self, side: Side, price: Ticks, levels_max: u32) -> bool {
        let ladder = self.ladder(side);
        ladder.len() < levels_max || ladder.find(price).is_some()
    }

    /// Appends the open order in `slot` to the tail of its price level.
    pub fn push(&mut self, orders: &mut OrderStore, slot: u32) {
        let (side, price, remaining) = {
            let o = orders.get(slot);
            (o.side(), o.price, o.remaining)
        };
        debug_assert!(remaining.0 > 0);
        let ladder = self.ladder_mut(side);
        match ladder.find_mut(price) {
            Some((_, level)) => {
                let tail = level.tail;
                level.tail = slot;
                level.total.0 += remaining.0;
                level.count += 1;
                orders.get_mut(tail).next = slot;
                let o = orders.get_mut(slot);
                o.prev = tail;
                o.next = NIL;
            }
            None => {
                ladder.insert(Level {
                    price,
                    total: remaining,
                    count: 1,
                    head: slot,
                    tail: slot,
                });
                let o = orders.get_mut(slot);
                o.prev = NIL;
                o.next = NIL;
            }
        }
        self.orders_count += 1;
    }

    /// Takes the open order in `slot` out of its level (anywhere in the
    /// queue), dropping the level when it empties.
    pub fn remove(&mut self, orders: &mut OrderStore, slot: u32) {
        let (side, price, remaining, prev, next) = {
            let o = orders.get(slot);
            (o.side(), o.price, o.remaining, o.prev, o.next)
        };
        let ladder = self.ladder_mut(side);
        let (i, level) = ladder.find_mut(price).expect("an open order has a level");
        level.count -= 1;
        level.total.0 -= remaining.0;
        if level.count == 0 {
            ladder.remove_at(i);
        } else {
            if prev == NIL {
                level.head = next;
            } else {
                orders.get_mut(prev).next = next;
            }
            if next == NIL {
                level.tail = prev;
            } else {
                orders.get_mut(next).prev = prev;
            }
        }
        let o = orders.get_mut(slot);
        o.prev = NIL;
        o.next = NIL;
        self.orders_count -= 1;
    }

    /// Lowers the level total at `price` by `lots`, when an order there is
    /// partly filled or reduced in place.
    pub fn reduce(&mut self, side: Side, price: Ticks, lots: Lots) {
        let ladder = self.ladder_mut(side);
        let (_, level) = ladder.find_mut(price).expect("an open order has a level");
        level.total.0 -= lots.0;
        debug_assert!(level.total.0 > 0);
    }

    /// Records a trade for the recent-trades query.
    pub fn record_trade(&mut self, trade: TradeRecord, recent_max: u32) {
        self.last_price = Some(trade.price);
        if recent_max == 0 {
            return;
        }
        if self.trades.len() >= recent_max as usize {
            self.trades.pop_front();
        }
        self.trades.push_back(trade);
    }
}

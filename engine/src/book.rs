//! One asset's order book: price levels per side, each a FIFO queue of
//! orders linked through their slots in the [`OrderStore`].
//!
//! Each side keeps its levels in a `Vec` sorted so that the best price is
//! last: most activity happens near the touch, where inserting or removing
//! a level moves only a few elements.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use crate::cmd::place_order::Side;
use crate::orders::{OrderStore, NIL};
use crate::units::{Lots, Ticks, Timestamp, TradeId};

/// All resting orders at one price on one side.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Level {
    pub price: Ticks,
    /// Sum of the remaining lots of the level's orders.
    pub total: Lots,
    pub count: u32,
    /// Oldest order (first to fill).
    pub head: u32,
    /// Newest order.
    pub tail: u32,
}

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
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Book {
    /// Ascending by price: best (highest) bid last.
    bids: Vec<Level>,
    /// Descending by price: best (lowest) ask last.
    asks: Vec<Level>,
    orders_count: u32,
    trades: VecDeque<TradeRecord>,
    last_price: Option<Ticks>,
}

/// Sort key that puts the best price last on either side.
fn key(side: Side, price: Ticks) -> i64 {
    match side {
        Side::Buy => price.0,
        Side::Sell => -price.0,
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
    /// Levels of `side`, best last.
    pub fn levels(&self, side: Side) -> &[Level] {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn levels_mut(&mut self, side: Side) -> &mut Vec<Level> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Best level of `side`.
    pub fn best(&self, side: Side) -> Option<&Level> {
        self.levels(side).last()
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

    /// Where the level at `price` is (`Ok`) or would go (`Err`).
    ///
    /// Prices are whole ticks and levels distinct, so a price `d` ticks
    /// inside the best has at most `d` levels above it, and one `w` ticks
    /// beyond the worst at most `w` below it. The search covers only the
    /// index range those bounds leave: one slot in a book without gaps,
    /// as many as there are gaps otherwise.
    fn position(levels: &[Level], side: Side, price: Ticks) -> Result<usize, usize> {
        let k = key(side, price);
        let (Some(worst), Some(best)) = (levels.first(), levels.last()) else {
            return Err(0);
        };
        let (worst_key, best_key) = (key(side, worst.price), key(side, best.price));
        if k >= best_key {
            return if k == best_key {
                Ok(levels.len() - 1)
            } else {
                Err(levels.len())
            };
        }
        if k <= worst_key {
            return if k == worst_key { Ok(0) } else { Err(0) };
        }
        let last = levels.len() - 1;
        let lo = last.saturating_sub(usize::try_from(best_key - k).unwrap_or(usize::MAX));
        let hi = last.min(usize::try_from(k - worst_key).unwrap_or(usize::MAX));
        match levels[lo..=hi].binary_search_by(|l| key(side, l.price).cmp(&k)) {
            Ok(i) => Ok(lo + i),
            Err(i) => Err(lo + i),
        }
    }

    /// Whether an order at `price` on `side` could rest without exceeding
    /// `levels_max` levels on that side.
    pub fn has_room(&self, side: Side, price: Ticks, levels_max: u32) -> bool {
        let levels = self.levels(side);
        levels.len() < levels_max as usize || Self::position(levels, side, price).is_ok()
    }

    /// Appends the open order in `slot` to the tail of its price level.
    pub fn push(&mut self, orders: &mut OrderStore, slot: u32) {
        let (side, price, remaining) = {
            let o = orders.get(slot);
            (o.side(), o.price, o.remaining)
        };
        debug_assert!(remaining.0 > 0);
        let levels = self.levels_mut(side);
        match Self::position(levels, side, price) {
            Ok(i) => {
                let level = &mut levels[i];
                let tail = level.tail;
                level.tail = slot;
                level.total.0 += remaining.0;
                level.count += 1;
                orders.get_mut(tail).next = slot;
                let o = orders.get_mut(slot);
                o.prev = tail;
                o.next = NIL;
            }
            Err(i) => {
                levels.insert(
                    i,
                    Level {
                        price,
                        total: remaining,
                        count: 1,
                        head: slot,
                        tail: slot,
                    },
                );
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
        let levels = self.levels_mut(side);
        let i = Self::position(levels, side, price).expect("an open order has a level");
        let level = &mut levels[i];
        level.count -= 1;
        level.total.0 -= remaining.0;
        if level.count == 0 {
            levels.remove(i);
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
        let levels = self.levels_mut(side);
        let i = Self::position(levels, side, price).expect("an open order has a level");
        levels[i].total.0 -= lots.0;
        debug_assert!(levels[i].total.0 > 0);
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

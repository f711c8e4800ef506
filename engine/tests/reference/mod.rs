//! A deliberately simple order book: every asset's orders in one `Vec`,
//! sorted afresh whenever priority matters. Slow and obviously right; the
//! property tests run it beside the engine and compare.

use agora_engine::units::{OrderId, Price, Quantity, Symbol};
use agora_engine::{OrderType, Reject, SelfTradePrevention, Side, TimeInForce};

/// An order the reference knows (open or finished).
#[derive(Clone, Debug)]
pub struct RefOrder {
    pub id: OrderId,
    pub agent: u64,
    pub asset: Symbol,
    pub side: Side,
    pub price: Price,
    pub remaining: Quantity,
    pub filled: Quantity,
    pub tif: TimeInForce,
    pub stp: SelfTradePrevention,
    /// Time priority: larger is later.
    pub seq: u64,
    pub open: bool,
}

/// A fill: (maker, taker, price, quantity).
pub type Fill = (OrderId, OrderId, Price, Quantity);

/// The reference book for all assets.
#[derive(Default)]
pub struct Reference {
    pub orders: Vec<RefOrder>,
    seq: u64,
}

/// A new order, as the reference needs it.
pub struct NewOrder {
    pub id: OrderId,
    pub agent: u64,
    pub asset: Symbol,
    pub side: Side,
    pub order_type: OrderType,
    pub price: Option<Price>,
    pub quantity: Quantity,
    pub tif: TimeInForce,
    pub stp: SelfTradePrevention,
}

fn crosses(taker: Side, limit: Price, resting: Price) -> bool {
    match taker {
        Side::Buy => resting <= limit,
        Side::Sell => resting >= limit,
    }
}

impl Reference {
    /// Indices of the open orders of `asset` on `side`, best first.
    fn queue(&self, asset: Symbol, side: Side) -> Vec<usize> {
        let mut q: Vec<usize> = (0..self.orders.len())
            .filter(|&i| {
                let o = &self.orders[i];
                o.open && o.asset == asset && o.side == side
            })
            .collect();
        q.sort_by_key(|&i| {
            let o = &self.orders[i];
            let price = match side {
                Side::Buy => -o.price.0,
                Side::Sell => o.price.0,
            };
            (price, o.seq)
        });
        q
    }

    /// Resting orders of `asset`: bids best first, then asks best first,
    /// as `(id, side, price, remaining)`.
    pub fn resting(&self, asset: Symbol) -> Vec<(OrderId, Side, Price, Quantity)> {
        [Side::Buy, Side::Sell]
            .into_iter()
            .flat_map(|side| self.queue(asset, side))
            .map(|i| {
                let o = &self.orders[i];
                (o.id, o.side, o.price, o.remaining)
            })
            .collect()
    }

    /// What the taker at `index` could fill now, honouring self-trade
    /// prevention.
    fn fillable(&self, index: usize) -> Quantity {
        let t = &self.orders[index];
        let mut total = 0;
        for i in self.queue(t.asset, t.side.opposite()) {
            let m = &self.orders[i];
            if !crosses(t.side, t.price, m.price) {
                break;
            }
            if m.agent == t.agent {
                if t.stp == SelfTradePrevention::CancelResting {
                    continue;
                }
                break;
            }
            total += m.remaining.0;
        }
        Quantity(total)
    }

    fn best_crosses(&self, asset: Symbol, side: Side, price: Price) -> bool {
        self.queue(asset, side.opposite())
            .first()
            .is_some_and(|&i| crosses(side, price, self.orders[i].price))
    }

    /// Places an order; returns its fills.
    pub fn place(&mut self, o: NewOrder) -> Result<Vec<Fill>, Reject> {
        let is_market = o.order_type == OrderType::Market;
        let price = o.price.unwrap_or(match o.side {
            Side::Buy => Price(i64::MAX),
            Side::Sell => Price(0),
        });
        if o.tif == TimeInForce::PostOnly && self.best_crosses(o.asset, o.side, price) {
            return Err(Reject::PostOnlyWouldCross);
        }
        self.seq += 1;
        self.orders.push(RefOrder {
            id: o.id,
            agent: o.agent,
            asset: o.asset,
            side: o.side,
            price,
            remaining: o.quantity,
            filled: Quantity(0),
            tif: o.tif,
            stp: o.stp,
            seq: self.seq,
            open: true,
        });
        let index = self.orders.len() - 1;
        if o.tif == TimeInForce::Fok {
            let fillable = self.fillable(index);
            if fillable < o.quantity {
                self.orders.pop();
                return Err(Reject::FokCannotFill {
                    fillable: Quantity(fillable.0.min(o.quantity.0)),
                });
            }
        }
        let may_rest = !is_market && matches!(o.tif, TimeInForce::Gtc | TimeInForce::PostOnly);
        Ok(self.take(index, may_rest))
    }

    /// Matches the order at `index`; it then rests (if it may) or ends.
    fn take(&mut self, index: usize, may_rest: bool) -> Vec<Fill> {
        let mut fills = Vec::new();
        let mut self_trade = false;
        let (side, asset) = (self.orders[index].side, self.orders[index].asset);
        for m in self.queue(asset, side.opposite()) {
            let t = self.orders[index].clone();
            if t.remaining.0 == 0 || !crosses(t.side, t.price, self.orders[m].price) {
                break;
            }
            if self.orders[m].agent == t.agent {
                if t.stp != SelfTradePrevention::CancelNewest {
                    self.orders[m].open = false;
                }
                if t.stp == SelfTradePrevention::CancelResting {
                    continue;
                }
                self_trade = true;
                break;
            }
            let q = t.remaining.0.min(self.orders[m].remaining.0);
            let maker = &mut self.orders[m];
            maker.remaining.0 -= q;
            maker.filled.0 += q;
            maker.open = maker.remaining.0 > 0;
            fills.push((maker.id, t.id, maker.price, Quantity(q)));
            let taker = &mut self.orders[index];
            taker.remaining.0 -= q;
            taker.filled.0 += q;
        }
        let taker = &mut self.orders[index];
        taker.open = taker.remaining.0 > 0 && may_rest && !self_trade;
        fills
    }

    fn own_open(&self, agent: u64, id: OrderId) -> Result<usize, Reject> {
        let i = self
            .orders
            .iter()
            .position(|o| o.id == id)
            .ok_or(Reject::UnknownOrder)?;
        if self.orders[i].agent != agent {
            return Err(Reject::NotYourOrder);
        }
        if !self.orders[i].open {
            return Err(Reject::OrderNotOpen);
        }
        Ok(i)
    }

    /// Cancels an open order.
    pub fn cancel(&mut self, agent: u64, id: OrderId) -> Result<(), Reject> {
        let i = self.own_open(agent, id)?;
        self.orders[i].open = false;
        Ok(())
    }

    /// Amends an open order; returns its fills.
    pub fn amend(
        &mut self,
        agent: u64,
        id: OrderId,
        price: Option<Price>,
        quantity: Option<Quantity>,
    ) -> Result<Vec<Fill>, Reject> {
        let i = self.own_open(agent, id)?;
        let o = self.orders[i].clone();
        let price = price.unwrap_or(o.price);
        let total = quantity.unwrap_or(Quantity(o.filled.0 + o.remaining.0));
        if total <= o.filled {
            return Err(Reject::AmendBelowFilled { filled: o.filled });
        }
        let remaining = Quantity(total.0 - o.filled.0);
        if price == o.price && remaining <= o.remaining {
            self.orders[i].remaining = remaining;
            return Ok(Vec::new());
        }
        self.orders[i].open = false;
        if o.tif == TimeInForce::PostOnly && self.best_crosses(o.asset, o.side, price) {
            self.orders[i].open = true;
            return Err(Reject::PostOnlyWouldCross);
        }
        self.seq += 1;
        let order = &mut self.orders[i];
        order.price = price;
        order.remaining = remaining;
        order.seq = self.seq;
        Ok(self.take(i, true))
    }

    /// Cancels all of `agent`'s open orders (in `asset`, if given).
    pub fn cancel_all(&mut self, agent: u64, asset: Option<Symbol>) -> u32 {
        let mut count = 0;
        for o in self.orders.iter_mut() {
            if o.open && o.agent == agent && asset.is_none_or(|a| a == o.asset) {
                o.open = false;
                count += 1;
            }
        }
        count
    }
}

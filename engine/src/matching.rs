//! Matching and settlement inside one book: an incoming order takes
//! liquidity in price-time priority at the resting orders' prices, each
//! fill's amount moves from the buyer's hold into the escrow of a new,
//! funded transaction, and the order then rests or ends by its time in
//! force.

use crate::asset::{Asset, AssetId};
use crate::book::{crosses, Book, TradeRecord};
use crate::cmd::place_order::{OrderType, SelfTradePrevention, Side, TimeInForce};
use crate::config::{EngineConfig, Terms};
use crate::event::{CancelReason, Event, PostingKind, Trade};
use crate::ledger::{Acct, AgentIdx, Ledger};
use crate::orders::OrderStore;
use crate::reply::{OrderAck, OrderStatus};
use crate::transactions::{Origin, Transactions, TxRecord, TxStatus};
use crate::units::{Amount, Lots, OrderId, Timestamp, TradeId};

/// Why matching stopped.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Stop {
    /// Nothing (more) crosses the order's limit.
    NoLiquidity,
    /// Self-trade prevention ended the incoming order.
    SelfTrade,
}

/// One asset's book together with the stores its fills settle into.
pub(crate) struct BookCtx<'a> {
    pub asset_id: AssetId,
    pub asset: &'a Asset,
    pub book: &'a mut Book,
    pub orders: &'a mut OrderStore,
    pub ledger: &'a mut Ledger,
    pub transactions: &'a mut Transactions,
    pub next_trade_id: &'a mut u64,
    pub config: &'a EngineConfig,
    pub terms: &'a Terms,
    pub time: Timestamp,
    pub events: &'a mut Vec<Event>,
}

impl BookCtx<'_> {
    /// Runs the validated, stored (but not resting) order in `slot`: adds
    /// `hold_more` of the buyer's funds to the `held` already held for it,
    /// matches, then rests the remainder or cancels it, and releases
    /// whatever of the hold is no longer needed.
    pub fn execute(&mut self, slot: u32, held: Amount, hold_more: Amount) -> OrderAck {
        let (agent, side, id) = {
            let o = self.orders.get(slot);
            (o.agent, o.side(), o.id)
        };
        self.hold(agent, hold_more, Some(id));
        let hold = Amount(held.0 + hold_more.0);
        let (stop, spent) = self.match_order(slot);
        let order = self.orders.get(slot);
        let (remaining, price) = (order.remaining, order.price);
        let rests = remaining.0 > 0
            && stop == Stop::NoLiquidity
            && order.traits.order_type() == OrderType::Limit
            && matches!(
                order.traits.time_in_force(),
                TimeInForce::Gtc | TimeInForce::PostOnly
            );
        let mut kept = Amount::ZERO;
        if rests {
            let status = if order.filled.0 > 0 {
                OrderStatus::PartiallyFilled
            } else {
                OrderStatus::Open
            };
            self.orders.get_mut(slot).status = status;
            self.book.push(self.orders, slot);
            if side == Side::Buy {
                kept = self.asset.notional(price, remaining);
            }
        } else if remaining.0 > 0 {
            let reason = match stop {
                Stop::SelfTrade => CancelReason::SelfTrade,
                Stop::NoLiquidity => CancelReason::Unfilled,
            };
            self.finish_cancelled(slot, reason);
        } else {
            self.orders.finish(
                slot,
                OrderStatus::Filled,
                self.config.orders_finished_retained_max,
            );
        }
        if side == Side::Buy {
            let surplus = Amount(hold.0 - spent.0 - kept.0);
            debug_assert!(surplus.0 >= 0, "an order spent more than it held");
            self.release(agent, surplus, Some(id));
        }
        self.ack(slot)
    }

    /// Where the order in `slot` stands.
    pub fn ack(&self, slot: u32) -> OrderAck {
        self.orders.get(slot).ack(self.asset)
    }

    /// Matches the order in `slot` against the opposite side; returns why
    /// it stopped and the money the taker spent (buys only).
    fn match_order(&mut self, slot: u32) -> (Stop, Amount) {
        let (agent, side, limit, stp) = {
            let o = self.orders.get(slot);
            (o.agent, o.side(), o.price, o.traits.stp())
        };
        let maker_side = side.opposite();
        let mut spent = Amount::ZERO;
        while self.orders.get(slot).remaining.0 > 0 {
            let Some(level) = self.book.best(maker_side) else {
                return (Stop::NoLiquidity, spent);
            };
            if !crosses(side, limit, level.price) {
                return (Stop::NoLiquidity, spent);
            }
            let maker = level.head;
            if self.orders.get(maker).agent == agent {
                if stp == SelfTradePrevention::CancelNewest {
                    return (Stop::SelfTrade, spent);
                }
                self.cancel_resting(maker, CancelReason::SelfTrade);
                if stp == SelfTradePrevention::CancelBoth {
                    return (Stop::SelfTrade, spent);
                }
                continue;
            }
            let amount = self.fill(maker, slot);
            if side == Side::Buy {
                spent.0 += amount.0;
            }
        }
        (Stop::NoLiquidity, spent)
    }

    /// One fill between the best resting order `maker` and `taker`: moves
    /// the lots, settles the amount into a new transaction, and retires
    /// the maker if it is done. Returns the amount.
    fn fill(&mut self, maker: u32, taker: u32) -> Amount {
        let taker_remaining = self.orders.get(taker).remaining;
        let (price, maker_side, maker_remaining) = {
            let m = self.orders.get(maker);
            (m.price, m.side(), m.remaining)
        };
        let lots = Lots(maker_remaining.0.min(taker_remaining.0));
        let maker_done = lots == maker_remaining;
        // The level total drops by the filled lots (all of them, when the
        // maker leaves the queue).
        if maker_done {
            self.book.remove(self.orders, maker);
        } else {
            self.book.reduce(maker_side, price, lots);
        }
        let m = self.orders.get_mut(maker);
        m.remaining.0 -= lots.0;
        m.filled.0 += lots.0;
        let (maker_id, maker_remaining) = (m.id, m.remaining);
        if !maker_done {
            m.status = OrderStatus::PartiallyFilled;
        }
        let t = self.orders.get_mut(taker);
        t.remaining.0 -= lots.0;
        t.filled.0 += lots.0;
        let (taker_id, taker_side) = (t.id, t.side());
        let (buy, sell) = match taker_side {
            Side::Buy => (taker, maker),
            Side::Sell => (maker, taker),
        };
        let (buyer, buy_id) = (self.orders.get(buy).agent, self.orders.get(buy).id);
        let seller = self.orders.get(sell).agent;
        if maker_done {
            self.orders.finish(
                maker,
                OrderStatus::Filled,
                self.config.orders_finished_retained_max,
            );
        }

        let amount = self.asset.notional(price, lots);
        let trade_id = TradeId(*self.next_trade_id);
        *self.next_trade_id += 1;
        let (price_fp, quantity) = (self.asset.price(price), self.asset.quantity(lots));
        let transaction_id = self.ledger.open_escrow(self.asset.currency);
        self.transactions.open(
            transaction_id,
            TxRecord {
                origin: Origin::Trade {
                    trade_id,
                    asset: self.asset_id,
                },
                buyer,
                seller,
                currency: self.asset.currency,
                status: TxStatus::EscrowFunded,
                quantity,
                price: price_fp,
                amount,
                created_at: self.time,
                deadline: Timestamp(0),
            },
            self.terms,
        );
        self.events.push(Event::Trade(Trade {
            trade_id,
            transaction_id,
            asset: self.asset.spec.symbol,
            price: price_fp,
            quantity,
            amount,
            maker_order_id: maker_id,
            taker_order_id: taker_id,
            buyer: self.ledger.agent_id(buyer),
            seller: self.ledger.agent_id(seller),
            taker_side,
            maker_remaining: self.asset.quantity(maker_remaining),
            time: self.time,
        }));
        self.ledger.transfer(
            PostingKind::TradeEscrow,
            self.asset.currency,
            Acct::Held(buyer),
            Acct::Escrow(transaction_id),
            amount,
            Some(buy_id),
            self.events,
        );
        self.book.record_trade(
            TradeRecord {
                trade_id,
                price,
                quantity: lots,
                taker_side,
                time: self.time,
            },
            self.config.book_trades_recent_max,
        );
        amount
    }

    /// Takes the resting order in `slot` out of the book, releases its
    /// hold and marks it cancelled.
    pub fn cancel_resting(&mut self, slot: u32, reason: CancelReason) {
        self.book.remove(self.orders, slot);
        let o = self.orders.get(slot);
        let (agent, id) = (o.agent, o.id);
        let hold = match o.side() {
            Side::Buy => self.asset.notional(o.price, o.remaining),
            Side::Sell => Amount::ZERO,
        };
        self.finish_cancelled(slot, reason);
        self.release(agent, hold, Some(id));
    }

    /// Marks the open, not resting order in `slot` cancelled.
    fn finish_cancelled(&mut self, slot: u32, reason: CancelReason) {
        let o = self.orders.get(slot);
        self.events.push(Event::OrderCancelled {
            order_id: o.id,
            agent: self.ledger.agent_id(o.agent),
            remaining: self.asset.quantity(o.remaining),
            reason,
        });
        self.orders.finish(
            slot,
            OrderStatus::Cancelled,
            self.config.orders_finished_retained_max,
        );
    }

    /// Moves `amount` of `agent`'s available funds into its hold.
    pub fn hold(&mut self, agent: AgentIdx, amount: Amount, order: Option<OrderId>) {
        let (from, to) = (Acct::Available(agent), Acct::Held(agent));
        self.move_in_wallet(PostingKind::OrderHold, from, to, amount, order);
    }

    /// Moves `amount` of `agent`'s held funds back to available.
    pub fn release(&mut self, agent: AgentIdx, amount: Amount, order: Option<OrderId>) {
        let (from, to) = (Acct::Held(agent), Acct::Available(agent));
        self.move_in_wallet(PostingKind::OrderRelease, from, to, amount, order);
    }

    /// Moves `amount` (if any) between two accounts of one wallet.
    fn move_in_wallet(
        &mut self,
        kind: PostingKind,
        from: Acct,
        to: Acct,
        amount: Amount,
        order: Option<OrderId>,
    ) {
        if amount.0 > 0 {
            let currency = self.asset.currency;
            self.ledger
                .transfer(kind, currency, from, to, amount, order, self.events);
        }
    }
}

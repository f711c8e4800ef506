//! `CancelAll`: the owner cancels every open order, or those in one asset,
//! in steps: one command cancels at most [`CANCEL_ALL_MAX`] orders
//! (cancelling 200k orders in one command held every other command for
//! 100 ms) and examines at most [`CANCEL_ALL_EXAMINED_MAX`] of the agent's
//! open orders (narrowed to an asset few of a large agent's orders are
//! in, reading all of them took milliseconds, as often as the agent
//! asked). A step that stopped early says where, and the gateway sends a
//! [`CancelAllAfter`] from there.

use serde::{Deserialize, Serialize};

use crate::asset::AssetId;
use crate::event::{CancelReason, Event};
use crate::market::Market;
use crate::reply::{Ack, Reply};
use crate::units::{AgentId, OrderId, Symbol, Timestamp};

/// Orders one step cancels at most (about a millisecond of work).
pub const CANCEL_ALL_MAX: u32 = 4_096;

/// Entries of the agent's open-order list one step examines at most
/// (16 bytes each: 4 MiB, about a millisecond).
pub const CANCEL_ALL_EXAMINED_MAX: usize = 262_144;

/// Cancel an agent's open orders, optionally only in `asset`: all of
/// them, or [`CANCEL_ALL_MAX`] if it has more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelAll {
    /// The owner.
    pub agent: AgentId,
    /// Only this asset's orders, if given.
    pub asset: Option<Symbol>,
}

/// A later step of a [`CancelAll`]: the orders after `after`, where the
/// step before stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelAllAfter {
    /// What to cancel.
    pub all: CancelAll,
    /// The last order the step before examined.
    pub after: OrderId,
}

impl CancelAllAfter {
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        self.all.step(Some(self.after), market, time, events)
    }
}

impl CancelAll {
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        self.step(None, market, time, events)
    }

    /// Cancels the wanted orders after order `after` (from the first if
    /// `None`), within the step's bounds.
    fn step(
        &self,
        after: Option<OrderId>,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        let none = Ok(Ack::OrdersCancelled {
            count: 0,
            resume_after: None,
        });
        let only = match &self.asset {
            // An unknown asset holds no orders.
            Some(symbol) => match market.assets.find(symbol) {
                Some(id) => Some(id),
                None => return none,
            },
            None => None,
        };
        let Some(agent) = market.ledger.find_agent(self.agent) else {
            return none;
        };
        let mut slots: Vec<(u32, AssetId)> = Vec::new();
        let mut last_examined = None;
        let mut resume_after = None;
        for (examined, e) in market.orders.open_orders_of(agent, after).enumerate() {
            if slots.len() == CANCEL_ALL_MAX as usize || examined == CANCEL_ALL_EXAMINED_MAX {
                resume_after = last_examined;
                break;
            }
            last_examined = Some(e.id);
            if only.is_none_or(|only| only == e.asset) {
                slots.push((e.slot, e.asset));
            }
        }
        for &(slot, asset) in &slots {
            market
                .book_ctx(asset, time, events)
                .cancel_resting(slot, CancelReason::CancelAll);
        }
        Ok(Ack::OrdersCancelled {
            count: slots.len() as u32,
            resume_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{CancelAll, CancelAllAfter};
    use crate::cmd::{Command, RegisterAsset};
    use crate::ledger::AgentIdx;
    use crate::reply::Ack;
    use crate::testkit::{amt, gpu, px, qty, Harness};
    use crate::units::{AgentId, OrderId};
    use crate::units::{Currency, Symbol};
    use crate::{AssetSpec, Side};

    #[test]
    fn cancel_all_cancels_every_open_order_or_one_assets() {
        let mut h = Harness::default();
        h.deposit(1, 100);
        let cpu = Symbol::new("CPU").unwrap();
        h.run(Command::RegisterAsset(RegisterAsset {
            spec: AssetSpec {
                symbol: cpu,
                quote_currency: Currency::new("CREDITS").unwrap(),
                tick_size: px(1),
                lot_size: qty(1),
                quantity_min: qty(1),
                quantity_max: qty(100),
            },
        }))
        .unwrap();
        h.limit(1, Side::Buy, 5, 1);
        h.limit(1, Side::Sell, 50, 1);
        let mut on_cpu = h.order(1, Side::Buy, 5, 2);
        on_cpu.asset = cpu;
        h.place(on_cpu).unwrap();
        h.limit(2, Side::Sell, 60, 1);
        assert_eq!(h.cancel_all(1, Some(gpu())), Ok(2));
        assert_eq!(h.balance(1), (amt(90), amt(10)));
        assert_eq!(h.cancel_all(1, Some(Symbol::new("NOPE").unwrap())), Ok(0));
        assert_eq!(h.cancel_all(1, None), Ok(1));
        assert_eq!(h.balance(1), (amt(100), amt(0)));
        // Agent 2's order is untouched.
        assert_eq!(h.touch(), (None, Some(60)));
    }

    #[test]
    fn a_large_cancel_all_goes_a_bounded_number_at_a_time() {
        let mut h = Harness::default();
        h.deposit(1, 100_000);
        let resting = super::CANCEL_ALL_MAX + 10;
        // Unchecked: an invariant check after every step would make this
        // quadratic (the cancels below check the whole state).
        for _ in 0..resting {
            let order = Command::PlaceOrder(h.order(1, Side::Buy, 5, 1));
            h.run_unchecked(order).unwrap();
        }
        let all = CancelAll {
            agent: AgentId(1),
            asset: None,
        };
        let Ok(Ack::OrdersCancelled {
            count,
            resume_after: Some(after),
        }) = h.run(Command::CancelAll(all.clone()))
        else {
            panic!("a first step stops at its bound")
        };
        assert_eq!(count, super::CANCEL_ALL_MAX);
        let rest = h.run(Command::CancelAllAfter(Box::new(CancelAllAfter {
            all,
            after,
        })));
        assert_eq!(
            rest,
            Ok(Ack::OrdersCancelled {
                count: 10,
                resume_after: None
            })
        );
        assert_eq!(h.cancel_all(1, None), Ok(0));
        assert_eq!(h.balance(1), (amt(100_000), amt(0)));
    }

    #[test]
    fn a_narrow_cancel_all_examines_a_bounded_number_of_orders_per_step() {
        // Three orders on CPU among more GPU orders than a step examines:
        // the first step cancels the one it reaches and says where it
        // stopped; the next goes on from there, and no order is missed.
        let mut h = Harness::default();
        h.deposit(1, 2_000_000);
        let cpu = Symbol::new("CPU").unwrap();
        let on_cpu = |h: &mut Harness| {
            let mut order = h.order(1, Side::Buy, 5, 1);
            order.asset = cpu;
            h.run_unchecked(Command::PlaceOrder(order)).unwrap();
        };
        on_cpu(&mut h);
        for _ in 0..super::CANCEL_ALL_EXAMINED_MAX + 100 {
            let order = Command::PlaceOrder(h.order(1, Side::Buy, 5, 1));
            h.run_unchecked(order).unwrap();
        }
        on_cpu(&mut h);
        on_cpu(&mut h);
        let all = CancelAll {
            agent: AgentId(1),
            asset: Some(cpu),
        };
        let Ok(Ack::OrdersCancelled {
            count: 1,
            resume_after: Some(after),
        }) = h.run_unchecked(Command::CancelAll(all.clone()))
        else {
            panic!("the step stops where its examination ends")
        };
        let examined = super::CANCEL_ALL_EXAMINED_MAX as u64;
        assert_eq!(after, OrderId(examined));
        let next = Command::CancelAllAfter(Box::new(CancelAllAfter { all, after }));
        assert_eq!(
            h.run_unchecked(next),
            Ok(Ack::OrdersCancelled {
                count: 2,
                resume_after: None
            })
        );
        assert_eq!(h.cancel_all(1, Some(cpu)), Ok(0));
        let gpu_open = super::CANCEL_ALL_EXAMINED_MAX + 100;
        assert_eq!(h.market.orders.open_count(AgentIdx(0)) as usize, gpu_open);
        h.market.check_invariants().unwrap();
    }
}

//! `CancelAll`: the owner cancels every open order, or those in one asset,
//! at most [`CANCEL_ALL_MAX`] per command: cancelling 200k orders in one
//! command held every other command for 100 ms. A count of exactly
//! `CANCEL_ALL_MAX` means more may be left, and the gateway sends the
//! command again.

use serde::{Deserialize, Serialize};

use crate::asset::AssetId;
use crate::event::{CancelReason, Event};
use crate::market::Market;
use crate::reply::{Ack, Reply};
use crate::units::{AgentId, Symbol, Timestamp};

/// Orders one `CancelAll` cancels at most (about a millisecond of work).
pub const CANCEL_ALL_MAX: u32 = 4_096;

/// Cancel an agent's open orders, optionally only in `asset`: all of
/// them, or [`CANCEL_ALL_MAX`] if it has more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelAll {
    /// The owner.
    pub agent: AgentId,
    /// Only this asset's orders, if given.
    pub asset: Option<Symbol>,
}

impl CancelAll {
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        let only = match &self.asset {
            // An unknown asset holds no orders.
            Some(symbol) => match market.assets.find(symbol) {
                Some(id) => Some(id),
                None => return Ok(Ack::OrdersCancelled { count: 0 }),
            },
            None => None,
        };
        let Some(agent) = market.ledger.find_agent(self.agent) else {
            return Ok(Ack::OrdersCancelled { count: 0 });
        };
        let slots: Vec<(u32, AssetId)> = market
            .orders
            .open_orders_of(agent, None)
            .filter(|e| only.is_none_or(|only| only == e.asset))
            .map(|e| (e.slot, e.asset))
            .take(CANCEL_ALL_MAX as usize)
            .collect();
        for &(slot, asset) in &slots {
            market
                .book_ctx(asset, time, events)
                .cancel_resting(slot, CancelReason::CancelAll);
        }
        Ok(Ack::OrdersCancelled {
            count: slots.len() as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::cmd::{Command, RegisterAsset};
    use crate::testkit::{amt, gpu, px, qty, Harness};
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
        assert_eq!(h.cancel_all(1, None), Ok(super::CANCEL_ALL_MAX));
        assert_eq!(h.cancel_all(1, None), Ok(10));
        assert_eq!(h.cancel_all(1, None), Ok(0));
        assert_eq!(h.balance(1), (amt(100_000), amt(0)));
    }
}

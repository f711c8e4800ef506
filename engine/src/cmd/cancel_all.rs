//! `CancelAll`: the owner cancels every open order, or those in one asset.

use serde::{Deserialize, Serialize};

use crate::event::{CancelReason, Event};
use crate::market::Market;
use crate::reply::{Ack, Reply};
use crate::units::{AgentId, Symbol, Timestamp};

/// Cancel all of an agent's open orders, optionally only in `asset`.
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
        let mut count = 0;
        for slot in market.orders.open_slots_of(agent).to_vec() {
            let asset = market.orders.get(slot).asset;
            if only.is_some_and(|only| only != asset) {
                continue;
            }
            market
                .book_ctx(asset, time, events)
                .cancel_resting(slot, CancelReason::CancelAll);
            count += 1;
        }
        Ok(Ack::OrdersCancelled { count })
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
}

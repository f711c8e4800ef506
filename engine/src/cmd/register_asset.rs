//! `RegisterAsset`: an operator lists an asset with its own parameters.

use serde::{Deserialize, Serialize};

use crate::asset::{Asset, AssetSpec, Grid};
use crate::event::Event;
use crate::market::Market;
use crate::reject::Reject;
use crate::reply::{Ack, Reply};

/// Register an asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterAsset {
    /// The asset's parameters.
    pub spec: AssetSpec,
}

impl RegisterAsset {
    pub(crate) fn apply(&self, market: &mut Market, events: &mut Vec<Event>) -> Reply {
        if market.assets.find(&self.spec.symbol).is_some() {
            return Err(Reject::AssetExists {
                symbol: self.spec.symbol,
            });
        }
        market.check_asset_room()?;
        market.check_currency_room(&self.spec.quote_currency)?;
        // Validate before the currency is interned, so a rejection changes nothing.
        let grid = Grid::new(&self.spec, market.config.book_orders_max)?;
        let currency = market.ledger.currency_id(self.spec.quote_currency);
        let asset = Asset::new(self.spec, currency, grid);
        market.add_asset(asset, events);
        Ok(Ack::AssetRegistered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::Command;
    use crate::reject::AssetSpecProblem;
    use crate::testkit::{amt, px, qty, Harness};
    use crate::units::{Currency, Price, Symbol, SCALE};
    use crate::Side;

    fn spec(tick: Price) -> AssetSpec {
        AssetSpec {
            symbol: Symbol::new("GPU").unwrap(),
            quote_currency: Currency::new("USD").unwrap(),
            tick_size: tick,
            lot_size: qty(1),
            quantity_min: qty(1),
            quantity_max: qty(10),
        }
    }

    #[test]
    fn registered_assets_trade_on_their_own_grid_and_currency() {
        let mut h = Harness::default();
        let reply = h.run(Command::RegisterAsset(RegisterAsset {
            spec: spec(Price(SCALE / 2)),
        }));
        assert_eq!(reply, Ok(Ack::AssetRegistered));
        let mut order = h.order(1, Side::Sell, 1, 1);
        order.price = Some(Price(SCALE / 4));
        assert_eq!(
            h.place(order),
            Err(Reject::PriceNotOnTick {
                tick_size: Price(SCALE / 2)
            })
        );
        // Quoted in USD: CREDITS do not pay for it.
        h.deposit(1, 100);
        let buy = h.order(1, Side::Buy, 1, 1);
        assert!(
            matches!(h.place(buy), Err(Reject::InsufficientFunds { required, .. }) if required == amt(1))
        );
    }

    #[test]
    fn registration_rejections() {
        let mut h = Harness::default();
        h.run(Command::RegisterAsset(RegisterAsset { spec: spec(px(1)) }))
            .unwrap();
        assert_eq!(
            h.run(Command::RegisterAsset(RegisterAsset { spec: spec(px(1)) })),
            Err(Reject::AssetExists {
                symbol: Symbol::new("GPU").unwrap()
            })
        );
        let mut bad = spec(Price(0));
        bad.symbol = Symbol::new("BAD").unwrap();
        assert_eq!(
            h.run(Command::RegisterAsset(RegisterAsset { spec: bad })),
            Err(Reject::InvalidAssetSpec {
                problem: AssetSpecProblem::TickSizeNotPositive
            })
        );
    }
}

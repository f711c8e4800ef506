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
        // Validate before the currency is interned, so a rejection changes nothing.
        let grid = Grid::new(&self.spec)?;
        let currency = market.ledger.currency_id(self.spec.quote_currency);
        let asset = Asset::new(self.spec, currency, grid);
        market.add_asset(asset, events);
        Ok(Ack::AssetRegistered)
    }
}

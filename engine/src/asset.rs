//! Tradable assets: their specification and the conversions between
//! fixed-point prices and quantities and the integer ticks and lots that
//! the books use.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use strength_reduce::StrengthReducedU64;

use crate::ledger::CurrencyId;
use crate::reject::{AssetSpecProblem, Reject};
use crate::units::{Amount, Currency, Lots, Price, Quantity, Symbol, Ticks, SCALE};

/// How an asset trades.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetSpec {
    /// The asset's symbol.
    pub symbol: Symbol,
    /// Currency that prices are quoted (and paid) in.
    pub quote_currency: Currency,
    /// Smallest price step.
    pub tick_size: Price,
    /// Smallest quantity step.
    pub lot_size: Quantity,
    /// Smallest order quantity.
    pub quantity_min: Quantity,
    /// Largest order quantity.
    pub quantity_max: Quantity,
}

/// Index of an asset in the engine, in order of registration.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AssetId(pub u32);

/// The integer grid an asset trades on, derived from its spec. Snapshots
/// store the tick and lot sizes; the divisors are rebuilt from them.
#[derive(Copy, Clone, Debug, Serialize, Deserialize)]
#[serde(into = "GridImage", try_from = "GridImage")]
pub(crate) struct Grid {
    /// Tick and lot sizes as divisors that divide by multiplying: every
    /// order converts its price and quantity, and hardware division is slow.
    tick: StrengthReducedU64,
    lot: StrengthReducedU64,
    /// Money (fixed point) of one tick times one lot.
    notional_per_tick_lot: i64,
    quantity_min: Lots,
    quantity_max: Lots,
}

/// What a snapshot stores of a [`Grid`].
#[derive(Copy, Clone, Serialize, Deserialize)]
struct GridImage {
    tick: u64,
    lot: u64,
    notional_per_tick_lot: i64,
    quantity_min: Lots,
    quantity_max: Lots,
}

impl From<Grid> for GridImage {
    fn from(g: Grid) -> GridImage {
        GridImage {
            tick: g.tick.get(),
            lot: g.lot.get(),
            notional_per_tick_lot: g.notional_per_tick_lot,
            quantity_min: g.quantity_min,
            quantity_max: g.quantity_max,
        }
    }
}

impl TryFrom<GridImage> for Grid {
    type Error = &'static str;

    fn try_from(g: GridImage) -> Result<Grid, Self::Error> {
        if g.tick == 0 || g.lot == 0 {
            return Err("a grid needs positive tick and lot sizes");
        }
        Ok(Grid {
            tick: StrengthReducedU64::new(g.tick),
            lot: StrengthReducedU64::new(g.lot),
            notional_per_tick_lot: g.notional_per_tick_lot,
            quantity_min: g.quantity_min,
            quantity_max: g.quantity_max,
        })
    }
}

impl Grid {
    /// Validates `spec` for a book of at most `book_orders_max` orders and
    /// derives its grid.
    pub fn new(spec: &AssetSpec, book_orders_max: u32) -> Result<Grid, Reject> {
        let invalid = |problem| Err(Reject::InvalidAssetSpec { problem });
        if spec.tick_size.0 <= 0 {
            return invalid(AssetSpecProblem::TickSizeNotPositive);
        }
        if spec.lot_size.0 <= 0 {
            return invalid(AssetSpecProblem::LotSizeNotPositive);
        }
        let product = i128::from(spec.tick_size.0) * i128::from(spec.lot_size.0);
        let scale = i128::from(SCALE);
        let notional = match i64::try_from(product / scale) {
            Ok(n) if product % scale == 0 && n > 0 => n,
            _ => return invalid(AssetSpecProblem::TickTimesLotNotRepresentable),
        };
        let lot = spec.lot_size.0;
        let (min, max) = (spec.quantity_min.0, spec.quantity_max.0);
        if min <= 0 || max < min || min % lot != 0 || max % lot != 0 {
            return invalid(AssetSpecProblem::QuantityBoundsInvalid);
        }
        // Level totals add up the lots of up to `book_orders_max` orders.
        if (max / lot)
            .checked_mul(i64::from(book_orders_max))
            .is_none()
        {
            return invalid(AssetSpecProblem::QuantityMaxTooLarge);
        }
        Ok(Grid {
            tick: StrengthReducedU64::new(spec.tick_size.0 as u64),
            lot: StrengthReducedU64::new(lot as u64),
            notional_per_tick_lot: notional,
            quantity_min: Lots(min / lot),
            quantity_max: Lots(max / lot),
        })
    }
}

/// An asset with the grid derived from its spec.
#[derive(Copy, Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Asset {
    pub spec: AssetSpec,
    pub currency: CurrencyId,
    grid: Grid,
}

impl Asset {
    /// An asset whose `grid` was derived from `spec`.
    pub fn new(spec: AssetSpec, currency: CurrencyId, grid: Grid) -> Asset {
        Asset {
            spec,
            currency,
            grid,
        }
    }

    /// `price` in ticks, if it is positive and on the tick grid.
    pub fn ticks(&self, price: Price) -> Result<Ticks, Reject> {
        if price.0 <= 0 {
            return Err(Reject::PriceNotPositive);
        }
        let (ticks, rest) = StrengthReducedU64::div_rem(price.0 as u64, self.grid.tick);
        if rest != 0 {
            return Err(Reject::PriceNotOnTick {
                tick_size: self.spec.tick_size,
            });
        }
        Ok(Ticks(ticks as i64))
    }

    /// `quantity` in lots, if it is on the lot grid and inside the bounds.
    pub fn lots(&self, quantity: Quantity) -> Result<Lots, Reject> {
        if quantity.0 <= 0 {
            return Err(Reject::QuantityNotPositive);
        }
        let (lots, rest) = StrengthReducedU64::div_rem(quantity.0 as u64, self.grid.lot);
        if rest != 0 {
            return Err(Reject::QuantityNotOnLot {
                lot_size: self.spec.lot_size,
            });
        }
        let lots = Lots(lots as i64);
        if lots < self.grid.quantity_min {
            return Err(Reject::QuantityBelowMin {
                quantity_min: self.spec.quantity_min,
            });
        }
        if lots > self.grid.quantity_max {
            return Err(Reject::QuantityAboveMax {
                quantity_max: self.spec.quantity_max,
            });
        }
        Ok(lots)
    }

    /// The price of `ticks`.
    pub fn price(&self, ticks: Ticks) -> Price {
        Price(ticks.0 * self.spec.tick_size.0)
    }

    /// The quantity of `lots`.
    pub fn quantity(&self, lots: Lots) -> Quantity {
        Quantity(lots.0 * self.spec.lot_size.0)
    }

    /// `ticks × lots` in money, or `AmountTooLarge` if it does not fit.
    pub fn checked_notional(&self, ticks: Ticks, lots: Lots) -> Result<Amount, Reject> {
        let wide =
            i128::from(ticks.0) * i128::from(lots.0) * i128::from(self.grid.notional_per_tick_lot);
        i64::try_from(wide)
            .map(Amount)
            .map_err(|_| Reject::AmountTooLarge)
    }

    /// `ticks × lots` in money, for values already known to fit (every fill
    /// is bounded by an order whose notional was checked on entry).
    pub fn notional(&self, ticks: Ticks, lots: Lots) -> Amount {
        Amount(ticks.0 * lots.0 * self.grid.notional_per_tick_lot)
    }
}

/// All assets, by id and by symbol.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct AssetTable {
    assets: Vec<Asset>,
    by_symbol: FxHashMap<Symbol, AssetId>,
}

impl AssetTable {
    /// The id of `symbol`, if registered.
    pub fn find(&self, symbol: &Symbol) -> Option<AssetId> {
        self.by_symbol.get(symbol).copied()
    }

    /// Adds a validated asset; the caller checked that the symbol is new.
    pub fn add(&mut self, asset: Asset) -> AssetId {
        let id = AssetId(u32::try_from(self.assets.len()).expect("asset count fits u32"));
        assert!(self.by_symbol.insert(asset.spec.symbol, id).is_none());
        self.assets.push(asset);
        id
    }

    /// The asset `id`.
    pub fn get(&self, id: AssetId) -> &Asset {
        &self.assets[id.0 as usize]
    }

    /// How many assets there are.
    pub fn len(&self) -> usize {
        self.assets.len()
    }

    /// All assets in id order.
    pub fn iter(&self) -> impl Iterator<Item = (AssetId, &Asset)> {
        self.assets
            .iter()
            .enumerate()
            .map(|(i, a)| (AssetId(i as u32), a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(tick: i64, lot: i64, min: i64, max: i64) -> AssetSpec {
        AssetSpec {
            symbol: Symbol::new("X").unwrap(),
            quote_currency: Currency::new("USD").unwrap(),
            tick_size: Price(tick),
            lot_size: Quantity(lot),
            quantity_min: Quantity(min),
            quantity_max: Quantity(max),
        }
    }

    fn check_spec(s: AssetSpec, expected: Result<(), AssetSpecProblem>) {
        let got = Grid::new(&s, 1_000).map(|_| ());
        assert_eq!(
            got,
            expected.map_err(|problem| Reject::InvalidAssetSpec { problem })
        );
    }

    #[test]
    fn asset_specs_are_validated() {
        use AssetSpecProblem::*;
        check_spec(spec(1_000_000, SCALE, SCALE, 10 * SCALE), Ok(()));
        check_spec(spec(0, SCALE, SCALE, SCALE), Err(TickSizeNotPositive));
        check_spec(spec(1, -1, SCALE, SCALE), Err(LotSizeNotPositive));
        // 0.00000001 × 0.5 is half of the smallest money unit.
        check_spec(
            spec(1, SCALE / 2, SCALE, SCALE),
            Err(TickTimesLotNotRepresentable),
        );
        check_spec(spec(1, SCALE, 2 * SCALE, SCALE), Err(QuantityBoundsInvalid));
        check_spec(spec(1, SCALE, SCALE / 2, SCALE), Err(QuantityBoundsInvalid));
        check_spec(spec(1, SCALE, 0, SCALE), Err(QuantityBoundsInvalid));
        // 1e18 lots of one order times 1,000 orders overflows a level total.
        check_spec(
            spec(SCALE, 1, 1, 1_000_000_000_000_000_000),
            Err(QuantityMaxTooLarge),
        );
    }

    #[test]
    fn prices_and_quantities_convert_to_ticks_and_lots() {
        let s = spec(SCALE / 100, SCALE, SCALE, 5 * SCALE);
        let a = Asset::new(s, CurrencyId(0), Grid::new(&s, 1_000).unwrap());
        assert_eq!(a.ticks(Price(SCALE)), Ok(Ticks(100)));
        assert_eq!(
            a.ticks(Price(SCALE / 1000)),
            Err(Reject::PriceNotOnTick {
                tick_size: Price(SCALE / 100)
            })
        );
        assert_eq!(a.ticks(Price(0)), Err(Reject::PriceNotPositive));
        assert_eq!(a.lots(Quantity(2 * SCALE)), Ok(Lots(2)));
        assert_eq!(a.lots(Quantity(0)), Err(Reject::QuantityNotPositive));
        assert_eq!(
            a.lots(Quantity(SCALE / 2)),
            Err(Reject::QuantityNotOnLot {
                lot_size: Quantity(SCALE)
            })
        );
        assert_eq!(
            a.lots(Quantity(6 * SCALE)),
            Err(Reject::QuantityAboveMax {
                quantity_max: Quantity(5 * SCALE)
            })
        );
        // 1.00 × 2 units = 2.00 money.
        assert_eq!(a.notional(Ticks(100), Lots(2)), Amount(2 * SCALE));
        assert_eq!(
            a.checked_notional(Ticks(i64::MAX), Lots(2)),
            Err(Reject::AmountTooLarge)
        );
    }
}

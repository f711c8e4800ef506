//! Every limit and default of the engine, named in one place.
//!
//! The configuration is part of the engine's state: a replay must run under
//! the same configuration as the original run to reach the same state.

use serde::{Deserialize, Serialize};

use crate::units::{Currency, Price, Quantity, SCALE};

/// Parameters given to an asset that is created implicitly by its first order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetDefaults {
    /// Currency that prices are quoted in.
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

/// The engine's limits and defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// Whether an order may name an asset that was never registered (it is
    /// then created with [`EngineConfig::asset_defaults`]).
    pub assets_implicit: bool,
    /// Parameters of implicitly created assets.
    pub asset_defaults: AssetDefaults,
    /// Assets the engine may hold.
    pub assets_max: u32,
    /// Currencies the engine may hold.
    pub currencies_max: u32,
    /// Resting orders in one book (both sides).
    pub book_orders_max: u32,
    /// Price levels on one side of one book.
    pub book_levels_per_side_max: u32,
    /// Open orders one agent may have across all books.
    pub agent_orders_open_max: u32,
    /// Finished orders kept for lookup by id, oldest forgotten first.
    pub orders_finished_retained_max: u32,
    /// Trades kept per book for the recent-trades query.
    pub book_trades_recent_max: u32,
    /// Levels a depth query may ask for.
    pub depth_levels_max: u32,
    /// Active API keys one agent may hold.
    pub agent_api_keys_max: u32,
    /// How long an idempotency key's result is kept, in nanoseconds.
    pub idempotency_retention_ns: i64,
    /// Idempotency results kept at most (the oldest go first).
    pub idempotency_keys_max: u32,
    /// Characters in a title.
    pub title_chars_max: u32,
    /// Characters in a description, message, proof, reason or comment.
    pub text_chars_max: u32,
    /// A request's deadline when none is given, and what a renewal
    /// without a deadline extends it to, in nanoseconds from now.
    pub request_lifetime_default_ns: i64,
    /// How far ahead a request's deadline or an auction's end may be, in
    /// nanoseconds.
    pub deadline_max_ns: i64,
    /// Offers one request may receive.
    pub request_offers_max: u32,
    /// Units one listing may offer.
    pub listing_quantity_max: u32,
}

/// A day in nanoseconds.
pub const DAY_NS: i64 = 24 * 3600 * 1_000_000_000;

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            assets_implicit: true,
            asset_defaults: AssetDefaults {
                quote_currency: Currency::new("CREDITS").expect("valid currency"),
                tick_size: Price(SCALE / 10_000),
                lot_size: Quantity(SCALE / 10_000),
                quantity_min: Quantity(SCALE / 10_000),
                quantity_max: Quantity::units(100_000_000),
            },
            assets_max: 100_000,
            currencies_max: 1_000,
            book_orders_max: 4_000_000,
            book_levels_per_side_max: 200_000,
            agent_orders_open_max: 2_000_000,
            orders_finished_retained_max: 4_096,
            book_trades_recent_max: 1_000,
            depth_levels_max: 1_000,
            agent_api_keys_max: 10,
            idempotency_retention_ns: DAY_NS,
            idempotency_keys_max: 1_000_000,
            title_chars_max: 200,
            text_chars_max: 4_000,
            request_lifetime_default_ns: 30 * DAY_NS,
            deadline_max_ns: 365 * DAY_NS,
            request_offers_max: 1_000,
            listing_quantity_max: 1_000_000,
        }
    }
}

/// The trade terms the operator sets: the platform fee and how long each
/// transaction step may take. Unlike [`EngineConfig`] they are part of the
/// market's state and change only by a journaled command (`SetTerms`), so
/// a replay applies each change where it happened. A change applies to
/// payouts and deadlines from then on; deadlines already set stay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terms {
    /// Platform fee on money released to a seller, in basis points
    /// (1/100 of a percent), rounded down to the smallest unit (10⁻⁸).
    pub fee_bps: u32,
    /// How long a pending transaction waits for the buyer's funding before
    /// it is cancelled, in nanoseconds.
    pub funding_window_ns: i64,
    /// How long a seller has to deliver a funded transaction before it is
    /// refunded to the buyer, in nanoseconds.
    pub delivery_window_ns: i64,
    /// How long after delivery escrow is released to the seller unless the
    /// buyer confirms or disputes first, in nanoseconds.
    pub release_cooldown_ns: i64,
}

impl Default for Terms {
    fn default() -> Self {
        Terms {
            fee_bps: 1_000,
            funding_window_ns: 3 * DAY_NS,
            delivery_window_ns: 7 * DAY_NS,
            release_cooldown_ns: 3 * DAY_NS,
        }
    }
}

impl Terms {
    /// The most a fee may be: everything.
    pub const FEE_BPS_MAX: u32 = 10_000;
    /// The longest a window may be.
    pub const WINDOW_NS_MAX: i64 = 365 * DAY_NS;

    /// Whether the fee is at most 100% and every window positive and at
    /// most a year.
    pub fn is_valid(&self) -> bool {
        let window = 1_000_000_000..=Self::WINDOW_NS_MAX;
        self.fee_bps <= Self::FEE_BPS_MAX
            && window.contains(&self.funding_window_ns)
            && window.contains(&self.delivery_window_ns)
            && window.contains(&self.release_cooldown_ns)
    }
}

//! Typed business rejections: the engine's answer to a command it refuses.
//!
//! A rejected command changes nothing. The gateway maps each variant to one
//! error code in one place.

use serde::{Deserialize, Serialize};

use crate::units::{Amount, Currency, Price, Quantity, Symbol};

/// Why an asset specification is invalid.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssetSpecProblem {
    /// Tick size must be positive.
    TickSizeNotPositive,
    /// Lot size must be positive.
    LotSizeNotPositive,
    /// `tick_size × lot_size` must be a whole number of the smallest money
    /// unit, or amounts could not be exact.
    TickTimesLotNotRepresentable,
    /// Minimum and maximum order quantities must be positive multiples of
    /// the lot size, with the minimum not above the maximum.
    QuantityBoundsInvalid,
    /// The maximum order quantity, in lots, times the orders a book may
    /// hold must fit a 64-bit level total.
    QuantityMaxTooLarge,
}

/// Why the engine refused a command.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reject {
    /// No order with that id or client order id is known.
    UnknownOrder,
    /// The order belongs to another agent.
    NotYourOrder,
    /// No escrow record with that id is known.
    UnknownEscrow,
    /// The agent is neither buyer nor seller of that escrow record.
    NotAParty,
    /// The order is already filled or cancelled.
    OrderNotOpen,
    /// The order id is already in use.
    DuplicateOrderId,
    /// The agent already has an open order with this client order id.
    DuplicateClientOrderId,
    /// The asset is not known and implicit assets are off.
    UnknownAsset,
    /// The asset is already registered.
    AssetExists {
        /// The asset.
        symbol: Symbol,
    },
    /// The asset specification is invalid.
    InvalidAssetSpec {
        /// What is wrong with it.
        problem: AssetSpecProblem,
    },
    /// Not enough available funds.
    InsufficientFunds {
        /// Currency of the funds.
        currency: Currency,
        /// What the command needs.
        required: Amount,
        /// What the agent has available.
        available: Amount,
    },
    /// Price must be positive.
    PriceNotPositive,
    /// Price is not a multiple of the asset's tick size.
    PriceNotOnTick {
        /// The asset's tick size.
        tick_size: Price,
    },
    /// A limit order needs a price.
    PriceMissing,
    /// Quantity must be positive.
    QuantityNotPositive,
    /// Quantity is not a multiple of the asset's lot size.
    QuantityNotOnLot {
        /// The asset's lot size.
        lot_size: Quantity,
    },
    /// Quantity is below the asset's minimum order quantity.
    QuantityBelowMin {
        /// The asset's minimum.
        quantity_min: Quantity,
    },
    /// Quantity is above the asset's maximum order quantity.
    QuantityAboveMax {
        /// The asset's maximum.
        quantity_max: Quantity,
    },
    /// Price × quantity (or a balance) does not fit the money range.
    AmountTooLarge,
    /// An amount must be positive.
    AmountNotPositive,
    /// A post-only order would have matched on arrival.
    PostOnlyWouldCross,
    /// A market order cannot be post-only.
    MarketPostOnly,
    /// A fill-or-kill order could not be filled in full.
    FokCannotFill {
        /// What could have been filled.
        fillable: Quantity,
    },
    /// An amend's new quantity is not above what is already filled.
    AmendBelowFilled {
        /// What is already filled.
        filled: Quantity,
    },
    /// Only resting (GTC or post-only limit) orders can be amended.
    NotAmendable,
    /// The book already holds its maximum number of orders.
    BookFull,
    /// The book side already holds its maximum number of price levels.
    TooManyLevels,
    /// The agent already has its maximum number of open orders.
    TooManyOpenOrders,
    /// The engine already holds its maximum number of assets.
    TooManyAssets,
    /// The engine already holds its maximum number of currencies.
    TooManyCurrencies,
    /// An agent with that public id is already registered.
    AgentExists,
    /// No agent with that id is registered.
    UnknownAgent,
    /// The agent has no active API key with that number.
    UnknownApiKey,
    /// The agent's last active key cannot be revoked (issue another first).
    LastApiKey,
    /// The agent already has its maximum number of active keys.
    TooManyApiKeys,
    /// The idempotency key was first used with a different request.
    IdempotencyKeyReused,
    /// No result is kept for that idempotency key.
    UnknownIdempotencyKey,
    /// An idempotent command cannot wrap another.
    NestedIdempotency,
}

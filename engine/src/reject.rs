//! Typed business rejections: the engine's answer to a command it refuses.
//!
//! A rejected command changes nothing. The gateway maps each variant to one
//! error code in one place.

use serde::{Deserialize, Serialize};

use crate::listings::ListingStatus;
use crate::requests::{OfferStatus, RequestStatus};
use crate::transactions::TxStatus;
use crate::units::{Amount, Currency, Price, Quantity, Symbol, Timestamp};

/// What is wrong with a new auction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuctionProblem {
    /// The starting price must be positive.
    StartingPrice,
    /// The reserve must not be negative (and Dutch auctions use a floor).
    Reserve,
    /// The end must be after the start and after now.
    EndsAt,
    /// The minimum increment must be positive.
    MinIncrement,
    /// A buy-now price must be above the starting price.
    BuyNow,
    /// The anti-sniping extension must be between 0 and a day.
    Extension,
    /// The floor must be between 0 and the starting price.
    Floor,
    /// The decrement must be positive.
    Decrement,
    /// The interval between price steps must be at least a second.
    Interval,
}

/// A free-text field of a command.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextField {
    /// A title.
    Title,
    /// A description.
    Description,
    /// A message to the other party.
    Message,
    /// A delivery proof (`delivery_proof` in the API).
    #[serde(rename = "delivery_proof")]
    Proof,
    /// A dispute's reason.
    Reason,
    /// A rating's comment.
    Comment,
}

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
    /// No transaction with that id is known.
    UnknownTransaction,
    /// The agent is neither buyer nor seller of that transaction.
    NotAParty,
    /// The caller's role in the transaction may not take this action
    /// (e.g. the seller confirming, the buyer delivering).
    WrongParty,
    /// The transaction's status does not allow this action.
    WrongStatus {
        /// Its status now.
        status: TxStatus,
    },
    /// The deadline for this action has passed.
    DeadlinePassed,
    /// A split must give the seller between zero and the whole amount.
    SplitOutOfRange {
        /// The transaction's amount.
        amount: Amount,
    },
    /// A rating is a whole number from 1 to 5.
    RatingOutOfRange,
    /// This party already rated the transaction.
    AlreadyRated,
    /// A text field is too long.
    TextTooLong {
        /// Which field.
        field: TextField,
        /// Its maximum, in characters.
        max: u32,
    },
    /// A title must not be blank.
    TitleEmpty,
    /// A budget needs `0 ≤ min ≤ max` and a positive maximum.
    BudgetInvalid,
    /// An offer window must be non-negative and close before the deadline.
    OfferWindowInvalid,
    /// A deadline or expiry must be in the future.
    DeadlineInPast,
    /// A deadline is further ahead than allowed.
    DeadlineTooFar {
        /// The latest allowed.
        max: Timestamp,
    },
    /// No request with that id is known.
    UnknownRequest,
    /// The request belongs to another agent.
    NotYourRequest,
    /// The request is not open.
    RequestNotOpen {
        /// Its status now.
        status: RequestStatus,
    },
    /// An agent cannot make an offer on its own request.
    OwnRequest,
    /// The amount's currency differs from the request's.
    CurrencyMismatch {
        /// The currency required.
        currency: Currency,
    },
    /// The request has received its maximum number of offers.
    TooManyOffers,
    /// The agent already has a pending offer on this request.
    DuplicateOffer,
    /// No offer with that id is known.
    UnknownOffer,
    /// The offer was made by another agent.
    NotYourOffer,
    /// The offer is no longer pending.
    OfferNotPending {
        /// Its status now.
        status: OfferStatus,
    },
    /// Offers are sealed until the request's offer window closes.
    OfferWindowOpen {
        /// When it closes.
        until: Timestamp,
    },
    /// No listing with that id is known.
    UnknownListing,
    /// The listing belongs to another agent.
    NotYourListing,
    /// An agent cannot buy its own listing.
    OwnListing,
    /// The listing is not for sale.
    ListingNotActive {
        /// Its status now.
        status: ListingStatus,
    },
    /// The listing has fewer units left than asked for.
    NotEnoughUnits {
        /// Units left.
        available: u32,
    },
    /// A listing's unit count is out of range.
    QuantityOutOfRange {
        /// The most allowed.
        max: u32,
    },
    /// No agent has a pending, unexpired claim token with that hash.
    UnknownClaimToken,
    /// Trade terms need a fee of at most 100% and windows of a second
    /// to a year.
    TermsInvalid,
    /// No auction with that id is known.
    UnknownAuction,
    /// The auction belongs to another agent.
    NotYourAuction,
    /// A seller cannot bid on its own auction.
    OwnAuction,
    /// The auction is not open.
    AuctionNotOpen {
        /// Its status now.
        status: crate::auctions::AuctionStatus,
    },
    /// Bidding has not started yet.
    AuctionNotStarted {
        /// When it starts.
        starts_at: Timestamp,
    },
    /// The bid is below what the auction accepts now.
    BidTooLow {
        /// The lowest acceptable bid.
        minimum: Amount,
    },
    /// An auction with bids cannot be cancelled.
    AuctionHasBids,
    /// Only a Dutch auction has a price to accept.
    NotDutch,
    /// The auction's rules are invalid.
    AuctionInvalid {
        /// What is wrong.
        problem: AuctionProblem,
    },
    /// A tick found no deadline due (nothing to journal).
    NothingDue,
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
    /// An offer's expiry must be in the future. (Last, as stored results
    /// name rejections by position.)
    ExpiryInPast,
    /// A text that must say something (a delivery proof, a dispute's
    /// reason) is blank.
    TextBlank {
        /// Which text.
        field: TextField,
    },
}

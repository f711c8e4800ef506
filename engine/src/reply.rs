//! What the engine answers to a command it accepts.

use serde::{Deserialize, Serialize};

use crate::listings::ListingStatus;
use crate::reject::Reject;
use crate::requests::{OfferStatus, RequestStatus};
use crate::transactions::TxStatus;
use crate::units::{
    AgentId, Amount, ListingId, OfferId, OrderId, Quantity, RequestId, TransactionId,
};

/// An order's lifecycle status.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum OrderStatus {
    /// Resting, nothing filled yet.
    Open,
    /// Resting, partly filled.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled (by the owner, self-trade prevention, or because an
    /// immediate order could not fill); `remaining` tells what was left.
    Cancelled,
}

impl OrderStatus {
    /// Whether the order still rests in its book.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::Open | OrderStatus::PartiallyFilled)
    }
}

/// Where an order stands after a command touched it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAck {
    /// The order.
    pub order_id: OrderId,
    /// Its status now.
    pub status: OrderStatus,
    /// Quantity filled over the order's life.
    pub filled: Quantity,
    /// Quantity still open (or, once cancelled, what was left).
    pub remaining: Quantity,
}

/// A command's successful result. Details (fills, postings) are in the
/// events the command produced.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ack {
    /// The asset was registered.
    AssetRegistered,
    /// Funds moved in or out; the wallet's available balance after it.
    FundsMoved {
        /// Available balance after the movement.
        available: Amount,
    },
    /// An order was placed, amended or cancelled.
    Order(OrderAck),
    /// Orders were cancelled in bulk.
    OrdersCancelled {
        /// How many.
        count: u32,
        /// Set when the step stopped at its bounds: more may be left
        /// after this order (send a `CancelAllAfter` from it).
        resume_after: Option<OrderId>,
    },
    /// An agent was registered.
    AgentRegistered {
        /// Its number.
        agent: AgentId,
        /// Its first key's number.
        key_id: u32,
    },
    /// An agent's profile changed.
    AgentUpdated,
    /// An API key was issued (alone, or by a rotation).
    ApiKeyIssued {
        /// The new key's number.
        key_id: u32,
    },
    /// An API key was revoked.
    ApiKeyRevoked {
        /// The key's number.
        key_id: u32,
    },
    /// A transaction moved (or was rated, keeping its status).
    Transaction {
        /// The transaction.
        transaction_id: TransactionId,
        /// Its status now.
        status: TxStatus,
    },
    /// A request was posted or changed.
    Request {
        /// The request.
        request_id: RequestId,
        /// Its status now.
        status: RequestStatus,
    },
    /// An offer was made or changed.
    Offer {
        /// The offer.
        offer_id: OfferId,
        /// Its status now.
        status: OfferStatus,
        /// The transaction its acceptance created.
        transaction_id: Option<TransactionId>,
    },
    /// A listing was posted, changed or purchased.
    Listing {
        /// The listing.
        listing_id: ListingId,
        /// Its status now.
        status: ListingStatus,
        /// The transaction a purchase created.
        transaction_id: Option<TransactionId>,
    },
    /// An auction was created, bid on, won or cancelled.
    Auction {
        /// The auction.
        auction_id: crate::units::AuctionId,
        /// Its status now.
        status: crate::auctions::AuctionStatus,
    },
    /// New trade terms are in force.
    TermsSet,
    /// Deadlines were acted on.
    Ticked {
        /// How many transactions, requests, offers and auction steps were
        /// acted on.
        expired: u32,
        /// Whether more are due already: another tick should follow at
        /// once.
        more: bool,
    },
    /// The command was already run with this idempotency key; its first
    /// result is kept (query [`crate::Query::IdempotentResult`]).
    Replayed,
}

/// A command's result.
pub type Reply = Result<Ack, Reject>;

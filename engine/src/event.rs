//! What happened: the engine's output stream, in the order it happened.

use serde::{Deserialize, Serialize};

use crate::asset::AssetSpec;
use crate::auctions::AuctionStatus;
use crate::cmd::place_order::{OrderType, SelfTradePrevention, Side, TimeInForce};
use crate::listings::ListingStatus;
use crate::requests::{OfferStatus, RequestStatus};
use crate::transactions::TxStatus;
use crate::units::{
    AgentId, Amount, AuctionId, ClientOrderId, Currency, ListingId, OfferId, OrderId, Price,
    Quantity, RequestId, Symbol, Timestamp, TradeId, TransactionId,
};

/// One side of a ledger posting.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Account {
    /// Outside the platform: the source of deposits, the sink of withdrawals.
    External,
    /// An agent's spendable funds.
    Available(AgentId),
    /// An agent's funds held for open orders.
    Held(AgentId),
    /// Funds held in one transaction's escrow.
    Escrow(TransactionId),
    /// Fees the platform collected.
    Platform,
}

/// Why money moved.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum PostingKind {
    /// Money came in from outside.
    Deposit,
    /// Credits granted to a new agent.
    SignupCredit,
    /// Money went out.
    Withdrawal,
    /// Funds held for an order.
    OrderHold,
    /// Held funds an order no longer needs.
    OrderRelease,
    /// A fill's amount moved from the buyer's hold into escrow.
    TradeEscrow,
    /// A buyer funded a transaction's escrow.
    EscrowFund,
    /// Escrow paid out to the seller (net of the fee).
    EscrowRelease,
    /// The platform's fee on a release.
    PlatformFee,
    /// Escrow returned to the buyer.
    EscrowRefund,
    /// Funds held for an auction bid.
    BidHold,
    /// A bid's hold released (outbid, replaced, or the auction closed).
    BidRelease,
    /// An auction winner's price moved into escrow.
    AuctionEscrow,
}

/// One balanced movement of money: `amount` leaves `from` and enters `to`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// Why.
    pub kind: PostingKind,
    /// Currency.
    pub currency: Currency,
    /// Account debited.
    pub from: Account,
    /// Account credited.
    pub to: Account,
    /// Always positive.
    pub amount: Amount,
    /// The order the posting belongs to, if any.
    pub order_id: Option<OrderId>,
}

/// A fill between a resting (maker) and an incoming (taker) order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    /// The trade.
    pub trade_id: TradeId,
    /// The escrow record that holds its amount.
    pub transaction_id: TransactionId,
    /// The asset.
    pub asset: Symbol,
    /// Price (the maker's).
    pub price: Price,
    /// Quantity.
    pub quantity: Quantity,
    /// Price × quantity, in the asset's quote currency.
    pub amount: Amount,
    /// The resting order.
    pub maker_order_id: OrderId,
    /// The incoming order.
    pub taker_order_id: OrderId,
    /// The buying agent.
    pub buyer: AgentId,
    /// The selling agent.
    pub seller: AgentId,
    /// The taker's side.
    pub taker_side: Side,
    /// What the maker has left after this fill.
    pub maker_remaining: Quantity,
    /// When.
    pub time: Timestamp,
}

/// Why an order left the book without filling.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// Its owner cancelled it.
    Requested,
    /// Its owner cancelled all orders.
    CancelAll,
    /// Self-trade prevention.
    SelfTrade,
    /// An immediate (IOC or market) order's unfilled remainder.
    Unfilled,
}

/// An order the engine accepted, as it arrived.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAccepted {
    /// The order.
    pub order_id: OrderId,
    /// The client's id for it.
    pub client_order_id: Option<ClientOrderId>,
    /// Owner.
    pub agent: AgentId,
    /// The asset.
    pub asset: Symbol,
    /// Buy or sell.
    pub side: Side,
    /// Limit or market.
    pub order_type: OrderType,
    /// Time in force.
    pub time_in_force: TimeInForce,
    /// Self-trade prevention mode.
    pub stp: SelfTradePrevention,
    /// Limit price (or a market order's protection price).
    pub price: Option<Price>,
    /// Quantity.
    pub quantity: Quantity,
    /// When.
    pub time: Timestamp,
}

/// A transaction moved to a new status.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionChanged {
    /// The transaction.
    pub transaction_id: TransactionId,
    /// Paying agent.
    pub buyer: AgentId,
    /// Delivering agent.
    pub seller: AgentId,
    /// Its new status.
    pub status: TxStatus,
    /// When.
    pub time: Timestamp,
}

/// An offer was made, or changed status.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferChanged {
    /// The offer.
    pub offer_id: OfferId,
    /// Its request.
    pub request_id: RequestId,
    /// The request's owner.
    pub requester: AgentId,
    /// The offering agent.
    pub seller: AgentId,
    /// Its new status.
    pub status: OfferStatus,
    /// The transaction an acceptance created.
    pub transaction_id: Option<TransactionId>,
}

/// Something that happened in the market.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// An asset was registered (explicitly, or by its first order).
    AssetRegistered(AssetSpec),
    /// An order was accepted.
    OrderAccepted(OrderAccepted),
    /// Two orders matched.
    Trade(Trade),
    /// An order's price or quantity changed.
    OrderAmended {
        /// The order.
        order_id: OrderId,
        /// Owner.
        agent: AgentId,
        /// New price.
        price: Price,
        /// New total quantity.
        quantity: Quantity,
        /// Whether it kept its place in the queue.
        priority_kept: bool,
    },
    /// An order left the book with `remaining` unfilled.
    OrderCancelled {
        /// The order.
        order_id: OrderId,
        /// Owner.
        agent: AgentId,
        /// What was left unfilled.
        remaining: Quantity,
        /// Why.
        reason: CancelReason,
    },
    /// Money moved.
    Posting(Posting),
    /// A transaction changed status.
    TransactionChanged(TransactionChanged),
    /// A party rated the other.
    TransactionRated {
        /// The transaction.
        transaction_id: TransactionId,
        /// The agent that was rated.
        rated: AgentId,
        /// 1 to 5.
        score: u8,
    },
    /// A request was posted or changed status.
    RequestChanged {
        /// The request.
        request_id: RequestId,
        /// Its owner.
        requester: AgentId,
        /// Its new status.
        status: RequestStatus,
    },
    /// An offer was made or changed status.
    OfferChanged(OfferChanged),
    /// An auction opened.
    AuctionOpened {
        /// The auction.
        auction_id: AuctionId,
        /// Its seller.
        seller: AgentId,
    },
    /// A bid was placed (a sealed bid's amount stays hidden).
    AuctionBid {
        /// The auction.
        auction_id: AuctionId,
        /// The bidder.
        bidder: AgentId,
        /// The amount, unless sealed.
        amount: Option<Amount>,
    },
    /// A leading bidder was outbid (its hold is released).
    AuctionOutbid {
        /// The auction.
        auction_id: AuctionId,
        /// The outbid agent.
        bidder: AgentId,
        /// The new leading amount.
        amount: Amount,
    },
    /// A Dutch auction's price fell.
    AuctionPrice {
        /// The auction.
        auction_id: AuctionId,
        /// The price now.
        price: Amount,
    },
    /// An auction was won; its transaction is funded.
    AuctionWon {
        /// The auction.
        auction_id: AuctionId,
        /// The winner.
        winner: AgentId,
        /// The price paid.
        price: Amount,
        /// The transaction.
        transaction_id: TransactionId,
    },
    /// An auction closed (won, unsold or cancelled).
    AuctionClosed {
        /// The auction.
        auction_id: AuctionId,
        /// Its seller.
        seller: AgentId,
        /// How it ended.
        status: AuctionStatus,
    },
    /// A listing was posted, changed, sold or withdrawn.
    ListingChanged {
        /// The listing.
        listing_id: ListingId,
        /// Its seller.
        seller: AgentId,
        /// Its status now.
        status: ListingStatus,
        /// Units left for sale.
        remaining: u32,
    },
}

//! JSON shapes of transactions, requests, offers, listings, auctions,
//! reputation and trust. Agents appear by their public id (UUID).

use agora_engine::auctions::{AuctionKind, AuctionStatus, Pricing};
use agora_engine::category::Category;
use agora_engine::deal_queries::{AuctionView, BidView, ListingView, OfferView, RequestView};
use agora_engine::listings::ListingStatus;
use agora_engine::requests::{OfferStatus, RequestStatus};
use agora_engine::transactions::{
    Actor, Origin, Rating, Reputation, Resolution, TransactionView, TxStatus,
};
use agora_engine::units::{Amount, Currency};
use serde::Serialize;

use crate::auth::Directory;
use crate::text::{DecimalText, IdText, TimeText};
use schemars::JsonSchema;

/// An amount with its currency.
#[derive(Serialize, JsonSchema)]
pub struct MoneyJson {
    amount: DecimalText,
    currency: String,
}

impl MoneyJson {
    /// `amount` of `currency`.
    pub fn new(amount: Amount, currency: Currency) -> Self {
        MoneyJson {
            amount: DecimalText(amount.0),
            currency: currency.to_string(),
        }
    }
}

/// One step of a transaction's history.
#[derive(Serialize, JsonSchema)]
struct StepJson {
    status: TxStatus,
    by: Actor,
    at: TimeText,
}

/// A rating.
#[derive(Serialize, JsonSchema)]
struct RatingJson {
    score: u8,
    comment: String,
    at: TimeText,
}

fn rating(r: &Option<Rating>) -> Option<RatingJson> {
    r.as_ref().map(|r| RatingJson {
        score: r.score,
        comment: r.comment.clone(),
        at: TimeText(r.time),
    })
}

/// What created a transaction.
#[derive(Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OriginJson {
    Trade {
        trade_id: IdText,
        asset: Option<String>,
    },
    Offer {
        offer_id: IdText,
        request_id: IdText,
    },
    Listing {
        listing_id: IdText,
    },
    Auction {
        auction_id: IdText,
    },
}

/// The seller's delivery.
#[derive(Serialize, JsonSchema)]
struct DeliveryJson {
    proof: String,
    message: String,
    at: TimeText,
}

/// Who disputed and why.
#[derive(Serialize, JsonSchema)]
struct DisputeJson {
    by: Actor,
    reason: String,
}

/// How the operator settled a dispute.
#[derive(Serialize, JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum ResolutionJson {
    Release,
    Refund,
    Split { seller_amount: DecimalText },
}

/// A transaction as its parties see it.
#[derive(Serialize, JsonSchema)]
pub struct TransactionJson {
    id: IdText,
    origin: OriginJson,
    buyer_id: String,
    seller_id: String,
    status: TxStatus,
    quantity: DecimalText,
    price: DecimalText,
    amount: DecimalText,
    currency: String,
    escrow_balance: DecimalText,
    fee: DecimalText,
    created_at: TimeText,
    deadline: Option<TimeText>,
    history: Vec<StepJson>,
    delivery: Option<DeliveryJson>,
    dispute: Option<DisputeJson>,
    resolution: Option<ResolutionJson>,
    buyer_rating: Option<RatingJson>,
    seller_rating: Option<RatingJson>,
}

impl TransactionJson {
    /// The JSON of `t`.
    pub fn new(t: &TransactionView, agents: &Directory) -> Self {
        let origin = match t.origin {
            Origin::Trade { trade_id, .. } => OriginJson::Trade {
                trade_id: IdText(trade_id.0),
                asset: t.asset.map(|a| a.to_string()),
            },
            Origin::Offer {
                offer_id,
                request_id,
            } => OriginJson::Offer {
                offer_id: IdText(offer_id.0),
                request_id: IdText(request_id.0),
            },
            Origin::Listing { listing_id } => OriginJson::Listing {
                listing_id: IdText(listing_id.0),
            },
            Origin::Auction { auction_id } => OriginJson::Auction {
                auction_id: IdText(auction_id.0),
            },
        };
        let resolution = t.resolution.map(|r| match r {
            Resolution::Release => ResolutionJson::Release,
            Resolution::Refund => ResolutionJson::Refund,
            Resolution::Split { seller_amount } => ResolutionJson::Split {
                seller_amount: DecimalText(seller_amount.0),
            },
        });
        TransactionJson {
            id: IdText(t.transaction_id.0),
            origin,
            buyer_id: agents.public_id(t.buyer),
            seller_id: agents.public_id(t.seller),
            status: t.status,
            quantity: DecimalText(t.quantity.0),
            price: DecimalText(t.price.0),
            amount: DecimalText(t.amount.0),
            currency: t.currency.to_string(),
            escrow_balance: DecimalText(t.escrow_balance.0),
            fee: DecimalText(t.fee.0),
            created_at: TimeText(t.created_at),
            deadline: t.deadline.map(TimeText),
            history: t
                .history
                .iter()
                .map(|s| StepJson {
                    status: s.status,
                    by: s.by,
                    at: TimeText(s.time),
                })
                .collect(),
            delivery: t.delivery.as_ref().map(|d| DeliveryJson {
                proof: d.proof.clone(),
                message: d.message.clone(),
                at: TimeText(d.time),
            }),
            dispute: t.dispute.as_ref().map(|(by, reason)| DisputeJson {
                by: *by,
                reason: reason.clone(),
            }),
            resolution,
            buyer_rating: rating(&t.buyer_rating),
            seller_rating: rating(&t.seller_rating),
        }
    }
}

/// A request as anyone sees it.
#[derive(Serialize, JsonSchema)]
pub struct RequestJson {
    id: IdText,
    requester_id: String,
    title: String,
    description: String,
    category: Category,
    budget: BudgetJson,
    deadline: TimeText,
    agent_ready: bool,
    offers_sealed_until: Option<TimeText>,
    status: RequestStatus,
    offer_count: u32,
    accepted_offer_id: Option<IdText>,
    created_at: TimeText,
    updated_at: TimeText,
}

impl RequestJson {
    /// The JSON of `r`.
    pub fn new(r: &RequestView, agents: &Directory) -> Self {
        let p = &r.post;
        RequestJson {
            id: IdText(r.request_id.0),
            requester_id: agents.public_id(r.requester),
            title: p.title.clone(),
            description: p.description.clone(),
            category: p.category,
            budget: BudgetJson {
                min: DecimalText(p.budget_min.0),
                max: DecimalText(p.budget_max.0),
                currency: p.currency.to_string(),
            },
            deadline: TimeText(r.deadline),
            agent_ready: p.agent_ready,
            offers_sealed_until: (r.sealed_until > r.created_at)
                .then_some(TimeText(r.sealed_until)),
            status: r.status,
            offer_count: r.offer_count,
            accepted_offer_id: r.accepted_offer.map(|o| IdText(o.0)),
            created_at: TimeText(r.created_at),
            updated_at: TimeText(r.updated_at),
        }
    }
}

/// What a requester will pay.
#[derive(Serialize, JsonSchema)]
struct BudgetJson {
    min: DecimalText,
    max: DecimalText,
    currency: String,
}

/// An offer, for its maker or the requester.
#[derive(Serialize, JsonSchema)]
pub struct OfferJson {
    id: IdText,
    request_id: IdText,
    seller_id: String,
    price: MoneyJson,
    message: String,
    estimated_delivery: Option<TimeText>,
    expires_at: Option<TimeText>,
    status: OfferStatus,
    transaction_id: Option<IdText>,
    created_at: TimeText,
    updated_at: TimeText,
}

impl OfferJson {
    /// The JSON of `o`.
    pub fn new(o: &OfferView, agents: &Directory) -> Self {
        let r = &o.offer;
        OfferJson {
            id: IdText(o.offer_id.0),
            request_id: IdText(r.request_id.0),
            seller_id: agents.public_id(r.seller),
            price: MoneyJson::new(r.post.price, r.post.currency),
            message: r.post.message.clone(),
            estimated_delivery: r.post.estimated_delivery.map(TimeText),
            expires_at: r.post.expires_at.map(TimeText),
            status: r.status,
            transaction_id: r.transaction_id.map(|t| IdText(t.0)),
            created_at: TimeText(r.created_at),
            updated_at: TimeText(r.updated_at),
        }
    }
}

/// A listing as anyone sees it.
#[derive(Serialize, JsonSchema)]
pub struct ListingJson {
    id: IdText,
    seller_id: String,
    title: String,
    description: String,
    category: Category,
    price: MoneyJson,
    quantity: u32,
    sold: u32,
    status: ListingStatus,
    created_at: TimeText,
    updated_at: TimeText,
}

impl ListingJson {
    /// The JSON of `l`.
    pub fn new(l: &ListingView, agents: &Directory) -> Self {
        let r = &l.listing;
        ListingJson {
            id: IdText(l.listing_id.0),
            seller_id: agents.public_id(r.seller),
            title: r.post.title.clone(),
            description: r.post.description.clone(),
            category: r.post.category,
            price: MoneyJson::new(r.post.price, r.post.currency),
            quantity: r.post.quantity,
            sold: r.sold,
            status: r.status,
            created_at: TimeText(r.created_at),
            updated_at: TimeText(r.updated_at),
        }
    }
}

/// An auction as the caller sees it.
#[derive(Serialize, JsonSchema)]
pub struct AuctionJson {
    id: IdText,
    seller_id: String,
    title: String,
    description: String,
    listing_id: Option<IdText>,
    auction_type: &'static str,
    rules: RulesJson,
    currency: String,
    starting_price: DecimalText,
    reserve_price: Option<DecimalText>,
    starts_at: TimeText,
    ends_at: TimeText,
    status: AuctionStatus,
    current_price: Option<DecimalText>,
    bid_count: u32,
    bids: Vec<BidJson>,
    winner_id: Option<String>,
    price_paid: Option<DecimalText>,
    transaction_id: Option<IdText>,
    created_at: TimeText,
}

impl AuctionJson {
    /// The JSON of `a`.
    pub fn new(a: &AuctionView, agents: &Directory) -> Self {
        let p = &a.post;
        let (auction_type, rules) = match p.kind {
            AuctionKind::English {
                min_increment,
                buy_now,
                extension_ns,
            } => (
                "english",
                RulesJson::English {
                    min_increment: DecimalText(min_increment.0),
                    buy_now_price: buy_now.map(|b| DecimalText(b.0)),
                    extension_seconds: extension_ns / 1_000_000_000,
                },
            ),
            AuctionKind::Dutch {
                floor,
                decrement,
                interval_ns,
            } => (
                "dutch",
                RulesJson::Dutch {
                    floor_price: DecimalText(floor.0),
                    decrement: DecimalText(decrement.0),
                    interval_seconds: interval_ns / 1_000_000_000,
                },
            ),
            AuctionKind::SealedBid { pricing } => ("sealed_bid", RulesJson::SealedBid { pricing }),
        };
        AuctionJson {
            id: IdText(a.auction_id.0),
            seller_id: agents.public_id(a.seller),
            title: p.title.clone(),
            description: p.description.clone(),
            listing_id: p.listing_id.map(|l| IdText(l.0)),
            auction_type,
            rules,
            currency: a.currency.to_string(),
            starting_price: DecimalText(p.starting_price.0),
            reserve_price: p.reserve.map(|r| DecimalText(r.0)),
            starts_at: TimeText(p.starts_at),
            ends_at: TimeText(a.ends_at),
            status: a.status,
            current_price: a.current_price.map(|c| DecimalText(c.0)),
            bid_count: a.bid_count,
            bids: a.bids.iter().map(|b| BidJson::new(b, agents)).collect(),
            winner_id: a.winner.map(|(w, _)| agents.public_id(w)),
            price_paid: a.winner.map(|(_, p)| DecimalText(p.0)),
            transaction_id: a.transaction_id.map(|t| IdText(t.0)),
            created_at: TimeText(a.created_at),
        }
    }
}

/// The rules of an auction, by its type.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
enum RulesJson {
    English {
        min_increment: DecimalText,
        buy_now_price: Option<DecimalText>,
        extension_seconds: i64,
    },
    Dutch {
        floor_price: DecimalText,
        decrement: DecimalText,
        interval_seconds: i64,
    },
    SealedBid {
        pricing: Pricing,
    },
}

/// A bid the caller may see.
#[derive(Serialize, JsonSchema)]
pub struct BidJson {
    bidder_id: String,
    amount: DecimalText,
    at: TimeText,
}

impl BidJson {
    /// The JSON of `b`.
    pub fn new(b: &BidView, agents: &Directory) -> Self {
        BidJson {
            bidder_id: agents.public_id(b.bidder),
            amount: DecimalText(b.amount.0),
            at: TimeText(b.time),
        }
    }
}

/// Trust components and score, 0–1: a transparent sum, clamped.
pub struct Trust {
    /// +0.10 when a human owner claimed the agent.
    pub owner_linked: f64,
    /// +0.15 when the operator verified the agent.
    pub verified: f64,
    /// Up to +0.75 from completed transactions, with diminishing returns:
    /// `0.75 × n / (n + 10)`.
    pub transaction_history: f64,
    /// −0.05 per dispute lost.
    pub disputes_lost: f64,
}

impl Trust {
    /// The trust of an agent with `reputation` and the given flags.
    pub fn new(reputation: &Reputation, owner_linked: bool, verified: bool) -> Self {
        let s = &reputation.stats;
        let completed = f64::from(s.completed_as_buyer + s.completed_as_seller);
        Trust {
            owner_linked: if owner_linked { 0.10 } else { 0.0 },
            verified: if verified { 0.15 } else { 0.0 },
            transaction_history: 0.75 * completed / (completed + 10.0),
            disputes_lost: -0.05 * f64::from(s.disputes_lost),
        }
    }

    /// The score, 0–1, rounded to 4 decimals.
    pub fn score(&self) -> f64 {
        let sum = self.owner_linked + self.verified + self.transaction_history + self.disputes_lost;
        (sum.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0
    }

    /// The breakdown as JSON.
    pub fn json(&self, agent_id: String) -> TrustJson {
        let r = |x: f64| (x * 10_000.0).round() / 10_000.0;
        TrustJson {
            agent_id,
            trust_score: self.score(),
            components: TrustComponents {
                owner_linked: r(self.owner_linked),
                verified: r(self.verified),
                transaction_history: r(self.transaction_history),
                disputes_lost: r(self.disputes_lost),
            },
        }
    }
}

/// An agent's trust score and what it is made of.
#[derive(Serialize, JsonSchema)]
pub struct TrustJson {
    agent_id: String,
    trust_score: f64,
    components: TrustComponents,
}

/// The parts of a trust score (see [`Trust`]).
#[derive(Serialize, JsonSchema)]
struct TrustComponents {
    owner_linked: f64,
    verified: f64,
    transaction_history: f64,
    disputes_lost: f64,
}

/// An agent's reputation.
#[derive(Serialize, JsonSchema)]
pub struct ReputationJson {
    agent_id: String,
    trust_score: f64,
    completed_transactions: u32,
    completed_as_buyer: u32,
    completed_as_seller: u32,
    disputed: u32,
    disputes_lost: u32,
    refunded_as_seller: u32,
    average_rating: Option<f64>,
    ratings_count: u32,
    volume: Vec<MoneyJson>,
}

impl ReputationJson {
    /// The reputation `r` of agent `agent_id`, whose trust is `trust`.
    pub fn new(agent_id: String, r: &Reputation, trust: &Trust) -> Self {
        let s = &r.stats;
        let average = (s.rating_count > 0)
            .then(|| (f64::from(s.rating_sum) / f64::from(s.rating_count) * 100.0).round() / 100.0);
        ReputationJson {
            agent_id,
            trust_score: trust.score(),
            completed_transactions: s.completed_as_buyer + s.completed_as_seller,
            completed_as_buyer: s.completed_as_buyer,
            completed_as_seller: s.completed_as_seller,
            disputed: s.disputed,
            disputes_lost: s.disputes_lost,
            refunded_as_seller: s.refunded_as_seller,
            average_rating: average,
            ratings_count: s.rating_count,
            volume: r
                .volume
                .iter()
                .map(|(c, v)| MoneyJson::new(*v, *c))
                .collect(),
        }
    }
}

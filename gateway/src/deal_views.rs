//! JSON shapes of transactions, requests, offers, listings, auctions,
//! reputation and trust. Agents appear by their public id (UUID).

use agora_engine::auctions::{AuctionKind, AuctionStatus, Pricing};
use agora_engine::category::Category;
use agora_engine::deal_queries::{AuctionView, ListingView, OfferView, RequestView};
use agora_engine::listings::ListingStatus;
use agora_engine::requests::{OfferStatus, RequestStatus};
use agora_engine::transactions::{
    Actor, Origin, Rating, Reputation, Resolution, TransactionView, TxStatus,
};
use agora_engine::units::{Amount, Currency};
use serde::Serialize;

use crate::auth::Directory;
use crate::money::format;
use crate::views::rfc3339;
use schemars::JsonSchema;

/// An amount with its currency.
#[derive(Serialize, JsonSchema)]
pub struct MoneyJson {
    amount: String,
    currency: String,
}

impl MoneyJson {
    /// `amount` of `currency`.
    pub fn new(amount: Amount, currency: Currency) -> Self {
        MoneyJson {
            amount: format(amount.0),
            currency: currency.to_string(),
        }
    }
}

/// One step of a transaction's history.
#[derive(Serialize, JsonSchema)]
struct StepJson {
    status: TxStatus,
    by: Actor,
    at: String,
}

/// A rating.
#[derive(Serialize, JsonSchema)]
struct RatingJson {
    score: u8,
    comment: String,
    at: String,
}

fn rating(r: &Option<Rating>) -> Option<RatingJson> {
    r.as_ref().map(|r| RatingJson {
        score: r.score,
        comment: r.comment.clone(),
        at: rfc3339(r.time),
    })
}

/// What created a transaction.
#[derive(Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OriginJson {
    Trade {
        trade_id: String,
        asset: Option<String>,
    },
    Offer {
        offer_id: String,
        request_id: String,
    },
    Listing {
        listing_id: String,
    },
    Auction {
        auction_id: String,
    },
}

/// The seller's delivery.
#[derive(Serialize, JsonSchema)]
struct DeliveryJson {
    proof: String,
    message: String,
    at: String,
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
    Split { seller_amount: String },
}

/// A transaction as its parties see it.
#[derive(Serialize, JsonSchema)]
pub struct TransactionJson {
    id: String,
    origin: OriginJson,
    buyer_id: String,
    seller_id: String,
    status: TxStatus,
    quantity: String,
    price: String,
    amount: String,
    currency: String,
    escrow_balance: String,
    fee: String,
    created_at: String,
    deadline: Option<String>,
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
                trade_id: trade_id.to_string(),
                asset: t.asset.map(|a| a.to_string()),
            },
            Origin::Offer {
                offer_id,
                request_id,
            } => OriginJson::Offer {
                offer_id: offer_id.to_string(),
                request_id: request_id.to_string(),
            },
            Origin::Listing { listing_id } => OriginJson::Listing {
                listing_id: listing_id.to_string(),
            },
            Origin::Auction { auction_id } => OriginJson::Auction {
                auction_id: auction_id.to_string(),
            },
        };
        let resolution = t.resolution.map(|r| match r {
            Resolution::Release => ResolutionJson::Release,
            Resolution::Refund => ResolutionJson::Refund,
            Resolution::Split { seller_amount } => ResolutionJson::Split {
                seller_amount: format(seller_amount.0),
            },
        });
        TransactionJson {
            id: t.transaction_id.to_string(),
            origin,
            buyer_id: agents.public_id(t.buyer),
            seller_id: agents.public_id(t.seller),
            status: t.status,
            quantity: format(t.quantity.0),
            price: format(t.price.0),
            amount: format(t.amount.0),
            currency: t.currency.to_string(),
            escrow_balance: format(t.escrow_balance.0),
            fee: format(t.fee.0),
            created_at: rfc3339(t.created_at),
            deadline: t.deadline.map(rfc3339),
            history: t
                .history
                .iter()
                .map(|s| StepJson {
                    status: s.status,
                    by: s.by,
                    at: rfc3339(s.time),
                })
                .collect(),
            delivery: t.delivery.as_ref().map(|d| DeliveryJson {
                proof: d.proof.clone(),
                message: d.message.clone(),
                at: rfc3339(d.time),
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
    id: String,
    requester_id: String,
    title: String,
    description: String,
    category: Category,
    budget: BudgetJson,
    deadline: String,
    agent_ready: bool,
    offers_sealed_until: Option<String>,
    status: RequestStatus,
    offer_count: u32,
    accepted_offer_id: Option<String>,
    created_at: String,
    updated_at: String,
}

impl RequestJson {
    /// The JSON of `r`.
    pub fn new(r: &RequestView, agents: &Directory) -> Self {
        let p = &r.post;
        RequestJson {
            id: r.request_id.to_string(),
            requester_id: agents.public_id(r.requester),
            title: p.title.clone(),
            description: p.description.clone(),
            category: p.category,
            budget: BudgetJson {
                min: format(p.budget_min.0),
                max: format(p.budget_max.0),
                currency: p.currency.to_string(),
            },
            deadline: rfc3339(r.deadline),
            agent_ready: p.agent_ready,
            offers_sealed_until: (r.sealed_until > r.created_at).then(|| rfc3339(r.sealed_until)),
            status: r.status,
            offer_count: r.offer_count,
            accepted_offer_id: r.accepted_offer.map(|o| o.to_string()),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

/// What a requester will pay.
#[derive(Serialize, JsonSchema)]
struct BudgetJson {
    min: String,
    max: String,
    currency: String,
}

/// An offer, for its maker or the requester.
#[derive(Serialize, JsonSchema)]
pub struct OfferJson {
    id: String,
    request_id: String,
    seller_id: String,
    price: MoneyJson,
    message: String,
    estimated_delivery: Option<String>,
    expires_at: Option<String>,
    status: OfferStatus,
    transaction_id: Option<String>,
    created_at: String,
    updated_at: String,
}

impl OfferJson {
    /// The JSON of `o`.
    pub fn new(o: &OfferView, agents: &Directory) -> Self {
        let r = &o.offer;
        OfferJson {
            id: o.offer_id.to_string(),
            request_id: r.request_id.to_string(),
            seller_id: agents.public_id(r.seller),
            price: MoneyJson::new(r.post.price, r.post.currency),
            message: r.post.message.clone(),
            estimated_delivery: r.post.estimated_delivery.map(rfc3339),
            expires_at: r.post.expires_at.map(rfc3339),
            status: r.status,
            transaction_id: r.transaction_id.map(|t| t.to_string()),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

/// A listing as anyone sees it.
#[derive(Serialize, JsonSchema)]
pub struct ListingJson {
    id: String,
    seller_id: String,
    title: String,
    description: String,
    category: Category,
    price: MoneyJson,
    quantity: u32,
    sold: u32,
    status: ListingStatus,
    created_at: String,
    updated_at: String,
}

impl ListingJson {
    /// The JSON of `l`.
    pub fn new(l: &ListingView, agents: &Directory) -> Self {
        let r = &l.listing;
        ListingJson {
            id: l.listing_id.to_string(),
            seller_id: agents.public_id(r.seller),
            title: r.post.title.clone(),
            description: r.post.description.clone(),
            category: r.post.category,
            price: MoneyJson::new(r.post.price, r.post.currency),
            quantity: r.post.quantity,
            sold: r.sold,
            status: r.status,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

/// An auction as the caller sees it.
#[derive(Serialize, JsonSchema)]
pub struct AuctionJson {
    id: String,
    seller_id: String,
    title: String,
    description: String,
    listing_id: Option<String>,
    auction_type: &'static str,
    rules: RulesJson,
    currency: String,
    starting_price: String,
    reserve_price: Option<String>,
    starts_at: String,
    ends_at: String,
    status: AuctionStatus,
    current_price: Option<String>,
    bid_count: u32,
    bids: Vec<BidJson>,
    winner_id: Option<String>,
    price_paid: Option<String>,
    transaction_id: Option<String>,
    created_at: String,
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
                    min_increment: format(min_increment.0),
                    buy_now_price: buy_now.map(|b| format(b.0)),
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
                    floor_price: format(floor.0),
                    decrement: format(decrement.0),
                    interval_seconds: interval_ns / 1_000_000_000,
                },
            ),
            AuctionKind::SealedBid { pricing } => ("sealed_bid", RulesJson::SealedBid { pricing }),
        };
        AuctionJson {
            id: a.auction_id.to_string(),
            seller_id: agents.public_id(a.seller),
            title: p.title.clone(),
            description: p.description.clone(),
            listing_id: p.listing_id.map(|l| l.to_string()),
            auction_type,
            rules,
            currency: a.currency.to_string(),
            starting_price: format(p.starting_price.0),
            reserve_price: p.reserve.map(|r| format(r.0)),
            starts_at: rfc3339(p.starts_at),
            ends_at: rfc3339(a.ends_at),
            status: a.status,
            current_price: a.current_price.map(|c| format(c.0)),
            bid_count: a.bid_count,
            bids: a
                .bids
                .iter()
                .map(|b| BidJson {
                    bidder_id: agents.public_id(b.bidder),
                    amount: format(b.amount.0),
                    at: rfc3339(b.time),
                })
                .collect(),
            winner_id: a.winner.map(|(w, _)| agents.public_id(w)),
            price_paid: a.winner.map(|(_, p)| format(p.0)),
            transaction_id: a.transaction_id.map(|t| t.to_string()),
            created_at: rfc3339(a.created_at),
        }
    }
}

/// The rules of an auction, by its type.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
enum RulesJson {
    English {
        min_increment: String,
        buy_now_price: Option<String>,
        extension_seconds: i64,
    },
    Dutch {
        floor_price: String,
        decrement: String,
        interval_seconds: i64,
    },
    SealedBid {
        pricing: Pricing,
    },
}

/// A bid the caller may see.
#[derive(Serialize, JsonSchema)]
struct BidJson {
    bidder_id: String,
    amount: String,
    at: String,
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

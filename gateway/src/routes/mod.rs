//! Routing: each request is matched to a route template, authenticated
//! as the route requires (anyone, an agent's key, or the operator key),
//! rate-limited, and handed to its handler. Commands go through
//! [`State::execute`], which applies `Idempotency-Key`.

mod agents;
mod assets;
mod auctions;
mod discovery;
mod history;
mod listings;
mod openapi;
mod orderbook;
mod requests;
mod system;
mod transactions;
mod wallet;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use agora_engine::agents::KeyHash;
use agora_engine::cmd::Idempotent;
use agora_engine::idempotency::{IdempotencyKey, RequestHash};
use agora_engine::units::{AgentId, Amount, Currency};
use agora_engine::{Ack, Answer, Command, Event, Query, Reject};
use agora_persistence::{ArchiveProgress, RocksJournal};
use hyper::header::{HeaderValue, ALLOW};
use hyper::{Method, StatusCode};

use crate::auth::{hash_key, presented_key, same_secret, Caller, Directory};
use crate::deal_views::{
    AuctionJson, BidJson, ListingJson, OfferJson, ReputationJson, RequestJson, TransactionJson,
    TrustJson,
};
use crate::engine_link::EngineLink;
use crate::error::ApiError;
use crate::http::Empty;
use crate::http::{cursor, path_segments, Call, Out};
use crate::limits::{client_network, Allowance, Limiter};
use crate::metrics::Metrics;
use crate::views::{
    AssetJson, BookJson, KeyView, LedgerJson, MarketAssetJson, OrderJson, OrderWithFills, OwnAgent,
    Page, PublicAgent, PublicTradeJson,
};
use openapi::{schema, Param, SchemaOf};

pub use system::Health;

/// Everything a handler may use.
pub struct State {
    /// The engine.
    pub link: EngineLink,
    /// Key hash → agent.
    pub directory: Directory,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Per-key request limits.
    pub key_limits: Limiter<AgentId>,
    /// Per-address registration limits.
    pub register_limits: Limiter<IpAddr>,
    /// Public API reads without a key, per client address.
    pub address_limits: Limiter<IpAddr>,
    /// Hash of the operator key.
    pub operator_key: KeyHash,
    /// Credits for new agents.
    pub signup_credits: Option<(Currency, Amount)>,
    /// Readiness checks.
    pub health: Health,
    /// A read handle on the journal's store, for the history kept beside
    /// it: wallet ledgers and finished orders.
    pub history: Arc<RocksJournal>,
    /// How far the archive of finished orders is.
    pub archived: ArchiveProgress,
    /// `--public-url`, without a trailing `/`.
    pub public_url: Option<String>,
    /// The address the server listens on.
    pub listen: std::net::SocketAddr,
}

/// Who may call a route.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Access {
    Anyone,
    Agent,
    Operator,
}

/// The idempotency namespace of operator commands.
const OPERATOR: AgentId = AgentId(0);

/// What answers a route.
#[derive(Copy, Clone)]
enum Handler {
    Health,
    Index,
    LlmsTxt,
    SkillMd,
    AgentCard,
    OpenApi,
    Readiness,
    Metrics,
    Register,
    Me,
    UpdateMe,
    ListKeys,
    CreateKey,
    RotateKey,
    RevokeKey,
    PublicAgent,
    Balance,
    Ledger,
    Deposit,
    Withdraw,
    RegisterAsset,
    ListAssets,
    GetAsset,
    MoneyTotals,
    PlaceOrder,
    PlaceBatch,
    ListOrders,
    CancelAll,
    GetOrder,
    AmendOrder,
    CancelOrder,
    Book,
    Trades,
    OwnershipToken,
    Claim,
    Verify,
    Reputation,
    Trust,
    Terms,
    ListTransactions,
    GetTransaction,
    Disputes,
    OperatorTransaction,
    TransactionStep(transactions::Step),
    Resolve,
    CreateRequest,
    ListRequests,
    GetRequest,
    ManageRequest,
    MakeOffer,
    ListOffers,
    MyOffers,
    GetOffer,
    DecideOffer(requests::Decision),
    CreateListing,
    ListListings,
    GetListing,
    UpdateListing,
    WithdrawListing,
    Purchase,
    CreateAuction,
    ListAuctions,
    GetAuction,
    AuctionBids,
    AuctionMove(auctions::Move),
}

/// One route: `METHOD /path/{param}` (also its metrics label), who may
/// call it, what answers it, and what it does (for `/openapi.json`).
pub(crate) struct Route {
    label: &'static str,
    access: Access,
    handler: Handler,
    summary: &'static str,
    body: Body,
    answer: Option<SchemaOf>,
    query: &'static [Param],
}

/// What a route reads from the request body.
#[derive(Copy, Clone)]
enum Body {
    /// Nothing.
    None,
    /// This, or nothing at all.
    Optional(SchemaOf),
    /// This.
    Required(SchemaOf),
}

impl Route {
    /// The route reads a body of this schema.
    const fn takes(self, schema: SchemaOf) -> Route {
        Route {
            body: Body::Required(schema),
            ..self
        }
    }

    /// The route reads a body of this schema, if there is one.
    const fn may_take(self, schema: SchemaOf) -> Route {
        Route {
            body: Body::Optional(schema),
            ..self
        }
    }

    /// The route reads these query parameters.
    const fn query(self, query: &'static [Param]) -> Route {
        Route { query, ..self }
    }

    /// The refusal of a query parameter an API route does not read, as a
    /// body's unknown field is refused: a misspelt filter (`?categroy=`)
    /// would otherwise be ignored and answer everything. Service routes
    /// (health, readiness, metrics, documents) ignore the query, which
    /// probes and scrapers may add to.
    fn unknown_parameter(&self, call: &Call) -> Option<ApiError> {
        let unknown = call
            .query
            .keys()
            .find(|name| !self.query.iter().any(|p| p.name() == name.as_str()))?;
        if !self.path().starts_with("/api/") {
            return None;
        }
        let allowed: Vec<&str> = self.query.iter().map(|p| p.name()).collect();
        let takes = if allowed.is_empty() {
            "none".to_string()
        } else {
            allowed.join(", ")
        };
        Some(crate::error::validation(
            format!("Unknown query parameter `{unknown}`; this route takes: {takes}."),
            serde_json::json!({ "parameter": unknown, "allowed": allowed }),
        ))
    }

    /// The route answers success with JSON of this schema.
    const fn gives(self, schema: SchemaOf) -> Route {
        Route {
            answer: Some(schema),
            ..self
        }
    }
}

/// Every route, matched in order (a literal segment before a parameter
/// in the same place). `/openapi.json` is generated from this table.
const ROUTES: &[Route] = {
    use Access::*;
    use Handler as H;
    const fn r(
        label: &'static str,
        access: Access,
        handler: Handler,
        summary: &'static str,
    ) -> Route {
        Route {
            label,
            access,
            handler,
            summary,
            body: Body::None,
            answer: None,
            query: &[],
        }
    }
    use auctions::Move;
    use openapi::params::*;
    use requests::Decision;
    use transactions::Step;
    &[
        r("GET /health", Anyone, H::Health, "Liveness.").gives(system::health_schema),
        r(
            "GET /readiness",
            Anyone,
            H::Readiness,
            "Engine, journal and disk checks.",
        )
        .gives(schema::<system::Readiness>),
        r(
            "GET /",
            Anyone,
            H::Index,
            "What the service is; where its API and documents are.",
        )
        .gives(schema::<discovery::Index>),
        r("GET /api/v1", Anyone, H::Index, "The same index as `/`.")
            .gives(schema::<discovery::Index>),
        r(
            "GET /llms.txt",
            Anyone,
            H::LlmsTxt,
            "The API in brief, for agents.",
        ),
        r(
            "GET /skill.md",
            Anyone,
            H::SkillMd,
            "An agent skill: how to trade here, step by step.",
        ),
        r(
            "GET /.well-known/agent-card.json",
            Anyone,
            H::AgentCard,
            "The A2A agent card: what the service offers and how to authenticate.",
        ),
        r(
            "GET /openapi.json",
            Anyone,
            H::OpenApi,
            "This document, generated from the route table.",
        ),
        r("GET /metrics", Anyone, H::Metrics, "Prometheus metrics."),
        r(
            "POST /api/v1/agents/register",
            Anyone,
            H::Register,
            "Register an agent; the answer holds its API key, shown once.",
        )
        .takes(schema::<agents::RegisterBody>)
        .gives(schema::<agents::Registered>),
        r("GET /api/v1/agents/me", Agent, H::Me, "Your profile.").gives(schema::<OwnAgent>),
        r(
            "PATCH /api/v1/agents/me",
            Agent,
            H::UpdateMe,
            "Change your profile (null clears a field).",
        )
        .takes(schema::<agents::UpdateBody>)
        .gives(schema::<OwnAgent>),
        r(
            "GET /api/v1/agents/me/keys",
            Agent,
            H::ListKeys,
            "Your API keys, without secrets.",
        )
        .gives(schema::<Page<KeyView>>),
        r(
            "POST /api/v1/agents/me/keys",
            Agent,
            H::CreateKey,
            "Issue another API key.",
        )
        .gives(schema::<agents::IssuedKey>),
        r(
            "POST /api/v1/agents/me/keys/rotate",
            Agent,
            H::RotateKey,
            "Replace the key this request used.",
        )
        .gives(schema::<agents::IssuedKey>),
        r(
            "DELETE /api/v1/agents/me/keys/{key_id}",
            Agent,
            H::RevokeKey,
            "Revoke a key (never the last one).",
        )
        .gives(schema::<agents::RevokedKey>),
        r(
            "POST /api/v1/agents/me/ownership-token",
            Agent,
            H::OwnershipToken,
            "A one-time token your human owner uses to claim you (24 h).",
        )
        .may_take(schema::<Empty>)
        .gives(schema::<agents::OwnershipToken>),
        r(
            "POST /api/v1/agents/claim",
            Anyone,
            H::Claim,
            "An owner claims the agent that issued the token.",
        )
        .takes(schema::<agents::ClaimBody>)
        .gives(schema::<agents::Claimed>),
        r(
            "GET /api/v1/agents/{id}",
            Anyone,
            H::PublicAgent,
            "An agent's public profile.",
        )
        .gives(schema::<PublicAgent>),
        r(
            "GET /api/v1/agents/{id}/reputation",
            Anyone,
            H::Reputation,
            "Completed and disputed transactions, ratings, volume.",
        )
        .gives(schema::<ReputationJson>),
        r(
            "GET /api/v1/agents/{id}/trust",
            Anyone,
            H::Trust,
            "Trust score 0-1 and its components.",
        )
        .gives(schema::<TrustJson>),
        r(
            "GET /api/v1/wallet/balance",
            Agent,
            H::Balance,
            "Available and held funds per currency.",
        )
        .gives(schema::<wallet::Balances>),
        r(
            "GET /api/v1/wallet/ledger",
            Agent,
            H::Ledger,
            "Every movement of your money, oldest first.",
        )
        .query(&[LIMIT, CURSOR])
        .gives(schema::<Page<LedgerJson>>),
        r(
            "GET /api/v1/terms",
            Anyone,
            H::Terms,
            "The platform fee and transaction deadlines in force.",
        )
        .gives(schema::<transactions::TermsJson>),
        r(
            "POST /api/v1/operator/deposits",
            Operator,
            H::Deposit,
            "Credit an agent's wallet.",
        )
        .takes(schema::<wallet::FundsBody>)
        .gives(schema::<wallet::FundsMoved>),
        r(
            "POST /api/v1/operator/withdrawals",
            Operator,
            H::Withdraw,
            "Debit an agent's available funds.",
        )
        .takes(schema::<wallet::FundsBody>)
        .gives(schema::<wallet::FundsMoved>),
        r(
            "POST /api/v1/operator/assets",
            Operator,
            H::RegisterAsset,
            "List an asset with its tick, lot and size limits.",
        )
        .takes(schema::<assets::AssetBody>)
        .gives(schema::<AssetJson>),
        r(
            "GET /api/v1/operator/totals",
            Operator,
            H::MoneyTotals,
            "Per currency: net deposits and where the money is.",
        )
        .gives(schema::<Page<wallet::TotalJson>>),
        r(
            "POST /api/v1/operator/agents/{id}/verify",
            Operator,
            H::Verify,
            "Mark an agent verified (or not).",
        )
        .takes(schema::<agents::VerifyBody>)
        .gives(schema::<TrustJson>),
        r(
            "GET /api/v1/operator/disputes",
            Operator,
            H::Disputes,
            "Transactions in dispute, newest first.",
        )
        .query(&[LIMIT, CURSOR])
        .gives(schema::<Page<TransactionJson>>),
        r(
            "GET /api/v1/operator/transactions/{id}",
            Operator,
            H::OperatorTransaction,
            "Any transaction with its history.",
        )
        .gives(schema::<TransactionJson>),
        r(
            "POST /api/v1/orderbook/orders",
            Agent,
            H::PlaceOrder,
            "Place a limit or market order; the answer holds its fills.",
        )
        .takes(schema::<orderbook::PlaceBody>)
        .gives(schema::<OrderWithFills>),
        r(
            "GET /api/v1/orderbook/orders",
            Agent,
            H::ListOrders,
            "Your orders, by status and asset.",
        )
        .query(&[ORDER_STATUS, ASSET, LIMIT, CURSOR])
        .gives(schema::<Page<OrderJson>>),
        r(
            "DELETE /api/v1/orderbook/orders",
            Agent,
            H::CancelAll,
            "Cancel all your open orders (in one asset).",
        )
        .query(&[ASSET])
        .gives(schema::<orderbook::Cancelled>),
        r(
            "POST /api/v1/orderbook/orders/batch",
            Agent,
            H::PlaceBatch,
            "Up to 100 places and cancels, each with its own result.",
        )
        .takes(schema::<orderbook::BatchBody>)
        .gives(schema::<orderbook::BatchResponse>),
        r(
            "GET /api/v1/orderbook/orders/{id}",
            Agent,
            H::GetOrder,
            "One of your orders (?by=client_order_id), open or as it ended; one that ended without a fill is forgotten after the server's retention (--unfilled-order-retention-s).",
        )
        .query(&[BY])
        .gives(schema::<OrderJson>),
        r(
            "PATCH /api/v1/orderbook/orders/{id}",
            Agent,
            H::AmendOrder,
            "Amend price or quantity.",
        )
        .query(&[BY])
        .takes(schema::<orderbook::AmendBody>)
        .gives(schema::<OrderWithFills>),
        r(
            "DELETE /api/v1/orderbook/orders/{id}",
            Agent,
            H::CancelOrder,
            "Cancel an order.",
        )
        .query(&[BY])
        .gives(schema::<OrderJson>),
        r(
            "GET /api/v1/orderbook/{asset}",
            Anyone,
            H::Book,
            "Depth, best bid and ask, last price.",
        )
        .query(&[DEPTH])
        .gives(schema::<BookJson>),
        r(
            "GET /api/v1/orderbook/{asset}/trades",
            Anyone,
            H::Trades,
            "Recent trades.",
        )
        .query(&[LIMIT])
        .gives(schema::<Page<PublicTradeJson>>),
        r(
            "GET /api/v1/assets",
            Anyone,
            H::ListAssets,
            "Listed assets, newest first: tick, lot, size limits, quote currency, touch.",
        )
        .query(&[LIMIT, CURSOR])
        .gives(schema::<Page<MarketAssetJson>>),
        r(
            "GET /api/v1/assets/{symbol}",
            Anyone,
            H::GetAsset,
            "One asset; for a symbol not listed yet, the parameters its first order lists it with.",
        )
        .gives(schema::<MarketAssetJson>),
        r(
            "POST /api/v1/requests",
            Agent,
            H::CreateRequest,
            "Post a request for work or goods.",
        )
        .takes(schema::<requests::CreateBody>)
        .gives(schema::<RequestJson>),
        r(
            "GET /api/v1/requests",
            Anyone,
            H::ListRequests,
            "Search requests, newest first.",
        )
        .query(&REQUEST_SEARCH)
        .gives(schema::<Page<RequestJson>>),
        r(
            "GET /api/v1/requests/{id}",
            Anyone,
            H::GetRequest,
            "One request.",
        )
        .gives(schema::<RequestJson>),
        r(
            "PATCH /api/v1/requests/{id}",
            Agent,
            H::ManageRequest,
            "Renew, fulfil or cancel your request.",
        )
        .takes(schema::<requests::ManageBody>)
        .gives(schema::<RequestJson>),
        r(
            "POST /api/v1/requests/{id}/offers",
            Agent,
            H::MakeOffer,
            "Offer a price on a request.",
        )
        .takes(schema::<requests::OfferBody>)
        .gives(schema::<OfferJson>),
        r(
            "GET /api/v1/requests/{id}/offers",
            Agent,
            H::ListOffers,
            "The offers on a request you may see.",
        )
        .gives(schema::<Page<OfferJson>>),
        r(
            "GET /api/v1/offers",
            Agent,
            H::MyOffers,
            "The offers you made, on any request, newest first.",
        )
        .query(&[OFFER_STATUS, LIMIT, CURSOR])
        .gives(schema::<Page<OfferJson>>),
        r(
            "GET /api/v1/offers/{id}",
            Agent,
            H::GetOffer,
            "One offer (its maker, or the requester).",
        )
        .gives(schema::<OfferJson>),
        r(
            "POST /api/v1/offers/{id}/accept",
            Agent,
            H::DecideOffer(Decision::Accept),
            "Accept an offer: a transaction is created.",
        )
        .may_take(schema::<Empty>)
        .gives(schema::<requests::Decided>),
        r(
            "POST /api/v1/offers/{id}/reject",
            Agent,
            H::DecideOffer(Decision::Reject),
            "Turn an offer down.",
        )
        .may_take(schema::<Empty>)
        .gives(schema::<requests::Decided>),
        r(
            "POST /api/v1/offers/{id}/withdraw",
            Agent,
            H::DecideOffer(Decision::Withdraw),
            "Take your offer back.",
        )
        .may_take(schema::<Empty>)
        .gives(schema::<requests::Decided>),
        r(
            "POST /api/v1/listings",
            Agent,
            H::CreateListing,
            "Post a listing.",
        )
        .takes(schema::<listings::CreateBody>)
        .gives(schema::<ListingJson>),
        r(
            "GET /api/v1/listings",
            Anyone,
            H::ListListings,
            "Search listings, newest first.",
        )
        .query(&LISTING_SEARCH)
        .gives(schema::<Page<ListingJson>>),
        r(
            "GET /api/v1/listings/{id}",
            Anyone,
            H::GetListing,
            "One listing.",
        )
        .gives(schema::<ListingJson>),
        r(
            "PATCH /api/v1/listings/{id}",
            Agent,
            H::UpdateListing,
            "Change your listing.",
        )
        .takes(schema::<listings::UpdateBody>)
        .gives(schema::<ListingJson>),
        r(
            "DELETE /api/v1/listings/{id}",
            Agent,
            H::WithdrawListing,
            "Withdraw your listing.",
        )
        .gives(schema::<ListingJson>),
        r(
            "POST /api/v1/listings/{id}/purchase",
            Agent,
            H::Purchase,
            "Buy units of a listing: a pending transaction.",
        )
        .may_take(schema::<listings::PurchaseBody>)
        .gives(schema::<TransactionJson>),
        r(
            "POST /api/v1/auctions",
            Agent,
            H::CreateAuction,
            "Open an English, Dutch or sealed-bid auction.",
        )
        .takes(schema::<auctions::CreateBody>)
        .gives(schema::<AuctionJson>),
        r(
            "GET /api/v1/auctions",
            Anyone,
            H::ListAuctions,
            "Search auctions, newest first.",
        )
        .query(&[
            AUCTION_TYPE,
            AUCTION_STATUS,
            ENDING_BEFORE,
            TEXT,
            MIN_PRICE,
            MAX_PRICE,
            MINE,
            LIMIT,
            CURSOR,
        ])
        .gives(schema::<Page<AuctionJson>>),
        r(
            "GET /api/v1/auctions/{id}",
            Anyone,
            H::GetAuction,
            "One auction with the latest (up to 20) bids you may see.",
        )
        .gives(schema::<AuctionJson>),
        r(
            "GET /api/v1/auctions/{id}/bids",
            Anyone,
            H::AuctionBids,
            "Every bid on an auction you may see, newest first (sealed bids: your own until the close).",
        )
        .query(&[LIMIT, CURSOR])
        .gives(schema::<Page<BidJson>>),
        r(
            "POST /api/v1/auctions/{id}/bid",
            Agent,
            H::AuctionMove(Move::Bid),
            "Bid (holds the amount).",
        )
        .takes(schema::<auctions::BidBody>)
        .gives(schema::<AuctionJson>),
        r(
            "POST /api/v1/auctions/{id}/accept",
            Agent,
            H::AuctionMove(Move::Accept),
            "Take a Dutch auction's current price.",
        )
        .may_take(schema::<Empty>)
        .gives(schema::<AuctionJson>),
        r(
            "POST /api/v1/auctions/{id}/cancel",
            Agent,
            H::AuctionMove(Move::Cancel),
            "Cancel your auction before its first bid.",
        )
        .may_take(schema::<Empty>)
        .gives(schema::<AuctionJson>),
        r(
            "GET /api/v1/transactions",
            Agent,
            H::ListTransactions,
            "Your transactions, newest first.",
        )
        .query(&[ROLE, TX_STATUS, TX_ORIGIN, LIMIT, CURSOR])
        .gives(schema::<Page<TransactionJson>>),
        r(
            "GET /api/v1/transactions/{id}",
            Agent,
            H::GetTransaction,
            "One transaction with its history (parties only).",
        )
        .gives(schema::<TransactionJson>),
        r(
            "POST /api/v1/transactions/{id}/fund",
            Agent,
            H::TransactionStep(Step::Fund),
            "Buyer: pay into escrow.",
        )
        .may_take(schema::<transactions::FundBody>)
        .gives(schema::<TransactionJson>),
        r(
            "POST /api/v1/transactions/{id}/deliver",
            Agent,
            H::TransactionStep(Step::Deliver),
            "Seller: deliver with proof.",
        )
        .takes(schema::<transactions::DeliverBody>)
        .gives(schema::<TransactionJson>),
        r(
            "POST /api/v1/transactions/{id}/confirm",
            Agent,
            H::TransactionStep(Step::Confirm),
            "Buyer: confirm; escrow goes to the seller less the fee.",
        )
        .may_take(schema::<Empty>)
        .gives(schema::<TransactionJson>),
        r(
            "POST /api/v1/transactions/{id}/dispute",
            Agent,
            H::TransactionStep(Step::Dispute),
            "Buyer or seller: dispute.",
        )
        .takes(schema::<transactions::DisputeBody>)
        .gives(schema::<TransactionJson>),
        r(
            "POST /api/v1/transactions/{id}/rating",
            Agent,
            H::TransactionStep(Step::Rate),
            "Rate the other party 1-5, once.",
        )
        .takes(schema::<transactions::RatingBody>)
        .gives(schema::<TransactionJson>),
        r(
            "POST /api/v1/transactions/{id}/cancel",
            Agent,
            H::TransactionStep(Step::Cancel),
            "Cancel before funding.",
        )
        .may_take(schema::<Empty>)
        .gives(schema::<TransactionJson>),
        r(
            "POST /api/v1/transactions/{id}/resolve",
            Operator,
            H::Resolve,
            "Operator: settle a dispute (release, refund, split).",
        )
        .takes(schema::<transactions::ResolveBody>)
        .gives(schema::<TransactionJson>),
    ]
};

impl Route {
    fn method(&self) -> &'static str {
        self.label.split_once(' ').map_or("", |(m, _)| m)
    }

    fn path(&self) -> &'static str {
        self.label.split_once(' ').map_or("", |(_, p)| p)
    }
}

/// Each route's path template split into segments, once.
fn templates() -> &'static [Vec<&'static str>] {
    static TEMPLATES: std::sync::OnceLock<Vec<Vec<&'static str>>> = std::sync::OnceLock::new();
    TEMPLATES.get_or_init(|| {
        ROUTES
            .iter()
            .map(|r| r.path().trim_matches('/').split('/').collect())
            .collect()
    })
}

/// Whether `template` matches `segs` (a `{param}` matches any segment).
fn matches(template: &[&str], segs: &[&str]) -> bool {
    template.len() == segs.len()
        && template
            .iter()
            .zip(segs)
            .all(|(t, s)| t.starts_with('{') || t == s)
}

/// Finds the route of `method` and `path` segments (`HEAD` is served by
/// the `GET` route, which hyper answers without the body). Otherwise the
/// methods the path has, for the `Allow` header of a `405`: none when the
/// path does not exist.
fn route(method: &Method, segs: &[&str]) -> Result<&'static Route, Vec<&'static str>> {
    let wanted = if method == Method::HEAD {
        Method::GET.as_str()
    } else {
        method.as_str()
    };
    let mut allowed = Vec::new();
    for (route, template) in ROUTES.iter().zip(templates()) {
        if matches(template, segs) {
            if route.method() == wanted {
                return Ok(route);
            }
            let head = (route.method() == Method::GET.as_str()).then_some(Method::HEAD.as_str());
            for m in std::iter::once(route.method()).chain(head) {
                if !allowed.contains(&m) {
                    allowed.push(m);
                }
            }
        }
    }
    Err(allowed)
}

/// Who is calling, as the route required.
pub enum Who {
    /// No credentials needed.
    Anyone,
    /// An agent, by its key.
    Agent(Caller),
    /// The operator.
    Operator,
}

impl Who {
    /// The calling agent (routes that require one always have one).
    fn caller(&self) -> Caller {
        match self {
            Who::Agent(c) => *c,
            _ => unreachable!("an agent route without an agent"),
        }
    }
}

/// Answers one request.
pub async fn handle(state: &State, call: Call) -> Out {
    let started = Instant::now();
    // A path that does not decode to UTF-8 matches no route (404).
    let decoded = path_segments(&call.path).unwrap_or_default();
    let segs: Vec<&str> = decoded.iter().map(|s| s.as_ref()).collect();
    let mut allowance = None;
    let mut allow = None;
    let (label, result) = match route(&call.method, &segs) {
        Ok(route) => {
            let result = match state.admit(&call, route, &mut allowance) {
                Ok(who) => match route.unknown_parameter(&call) {
                    None => run(state, &call, &segs, route.handler, who).await,
                    Some(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            (route.label, result)
        }
        Err(allowed) if allowed.is_empty() => (
            "not_found",
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "No such endpoint: GET /llms.txt lists them all, and /openapi.json describes each.",
            )),
        ),
        Err(allowed) => {
            let list = allowed.join(", ");
            let e = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!(
                    "{} is not served for this path (it takes {list}); see /openapi.json.",
                    call.method
                ),
            )
            .with_details(serde_json::json!({ "allowed": allowed }));
            allow = Some(list);
            ("method_not_allowed", Err(e))
        }
    };
    let mut out = match result {
        Ok(out) => out,
        Err(e) => Out::error(&e),
    };
    if let Some(allowed) = allow.and_then(|a| HeaderValue::try_from(a).ok()) {
        out.headers.push((ALLOW, allowed));
    }
    if let Some(a) = allowance {
        out.headers.extend(a.headers());
    }
    state
        .metrics
        .observe_request(label, out.status.as_u16(), started.elapsed());
    out
}

async fn run(
    state: &State,
    call: &Call,
    segs: &[&str],
    handler: Handler,
    who: Who,
) -> Result<Out, ApiError> {
    use Handler as H;
    match handler {
        H::Health => Ok(system::health()),
        H::Index => Ok(discovery::index(state, call)),
        H::LlmsTxt => Ok(discovery::llms_txt()),
        H::SkillMd => Ok(discovery::skill_md(state, call)),
        H::AgentCard => Ok(discovery::agent_card(state, call)),
        H::OpenApi => Ok(Out::json(StatusCode::OK, &openapi::document())),
        H::Readiness => system::readiness(state).await,
        H::Metrics => Ok(system::metrics(state)),
        H::Register => agents::register(state, call).await,
        H::Me => agents::me(state, who.caller()).await,
        H::UpdateMe => agents::update_me(state, call, who.caller()).await,
        H::ListKeys => agents::list_keys(state, who.caller()).await,
        H::CreateKey => agents::create_key(state, call, who.caller()).await,
        H::RotateKey => agents::rotate_key(state, call, who.caller()).await,
        H::RevokeKey => agents::revoke_key(state, call, who.caller(), segs[5]).await,
        H::PublicAgent => agents::public(state, segs[3]).await,
        H::Balance => wallet::balance(state, who.caller()).await,
        H::Ledger => wallet::ledger(state, call, who.caller()).await,
        H::Deposit => wallet::move_funds(state, call, true).await,
        H::Withdraw => wallet::move_funds(state, call, false).await,
        H::RegisterAsset => assets::register(state, call).await,
        H::ListAssets => assets::list(state, call).await,
        H::GetAsset => assets::get(state, segs[3]).await,
        H::MoneyTotals => wallet::money_totals(state).await,
        H::PlaceOrder => orderbook::place(state, call, who.caller()).await,
        H::PlaceBatch => orderbook::batch(state, call, who.caller()).await,
        H::ListOrders => orderbook::list(state, call, who.caller()).await,
        H::CancelAll => orderbook::cancel_all(state, call, who.caller()).await,
        H::GetOrder => orderbook::get(state, call, who.caller(), segs[4]).await,
        H::AmendOrder => orderbook::amend(state, call, who.caller(), segs[4]).await,
        H::CancelOrder => orderbook::cancel(state, call, who.caller(), segs[4]).await,
        H::Book => orderbook::book(state, call, segs[3]).await,
        H::Trades => orderbook::trades(state, call, segs[3]).await,
        H::OwnershipToken => agents::ownership_token(state, call, who.caller()).await,
        H::Claim => agents::claim(state, call).await,
        H::Verify => agents::verify(state, call, segs[4]).await,
        H::Reputation => agents::reputation(state, segs[3], false).await,
        H::Trust => agents::reputation(state, segs[3], true).await,
        H::Terms => transactions::terms(state).await,
        H::ListTransactions => transactions::list(state, call, who.caller().agent).await,
        H::GetTransaction => transactions::get(state, Some(who.caller().agent), segs[3]).await,
        H::Disputes => transactions::disputes(state, call).await,
        H::OperatorTransaction => transactions::get(state, None, segs[4]).await,
        H::TransactionStep(step) => {
            transactions::step(state, call, Some(who.caller().agent), segs[3], step).await
        }
        H::Resolve => {
            transactions::step(state, call, None, segs[3], transactions::Step::Resolve).await
        }
        H::CreateRequest => requests::create(state, call, who.caller().agent).await,
        H::ListRequests => requests::list(state, call).await,
        H::GetRequest => requests::get(state, segs[3]).await,
        H::ManageRequest => requests::manage(state, call, who.caller().agent, segs[3]).await,
        H::MakeOffer => requests::make_offer(state, call, who.caller().agent, segs[3]).await,
        H::ListOffers => requests::offers(state, who.caller().agent, segs[3]).await,
        H::MyOffers => requests::my_offers(state, call, who.caller().agent).await,
        H::GetOffer => requests::get_offer(state, who.caller().agent, segs[3]).await,
        H::DecideOffer(d) => requests::decide(state, call, who.caller().agent, segs[3], d).await,
        H::CreateListing => listings::create(state, call, who.caller().agent).await,
        H::ListListings => listings::list(state, call).await,
        H::GetListing => listings::get(state, segs[3]).await,
        H::UpdateListing => listings::update(state, call, who.caller().agent, segs[3]).await,
        H::WithdrawListing => listings::withdraw(state, call, who.caller().agent, segs[3]).await,
        H::CreateAuction => auctions::create(state, call, who.caller().agent).await,
        H::ListAuctions => auctions::list(state, call).await,
        H::GetAuction => auctions::get(state, call, segs[3]).await,
        H::AuctionBids => auctions::bids(state, call, segs[3]).await,
        H::AuctionMove(m) => auctions::act(state, call, who.caller().agent, segs[3], m).await,
        H::Purchase => listings::purchase(state, call, who.caller().agent, segs[3]).await,
    }
}

impl State {
    /// Checks the credentials `route` requires, and the caller's rate.
    fn admit(
        &self,
        call: &Call,
        route: &Route,
        allowance: &mut Option<Allowance>,
    ) -> Result<Who, ApiError> {
        match route.access {
            // Service routes (health, metrics, documents) are not limited:
            // probes and scrapers poll them.
            Access::Anyone if !route.path().starts_with("/api/") => Ok(Who::Anyone),
            Access::Anyone => {
                self.admit_public(call, allowance)?;
                Ok(Who::Anyone)
            }
            Access::Operator => {
                let key = presented_key(&call.headers).ok_or_else(ApiError::unauthorized)?;
                if same_secret(&hash_key(key), &self.operator_key) {
                    Ok(Who::Operator)
                } else {
                    Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        "This endpoint needs the operator key.",
                    ))
                }
            }
            Access::Agent => {
                let caller = self.directory.authenticate(&call.headers)?;
                match self.key_limits.check(&caller.agent) {
                    Ok(a) => *allowance = Some(a),
                    Err((e, a)) => {
                        *allowance = Some(a);
                        return Err(e);
                    }
                }
                Ok(Who::Agent(caller))
            }
        }
    }

    /// The rate limit of a public API route (searches, books, profiles):
    /// a caller that shows a valid key counts against its key's allowance,
    /// as on every other route; anyone else against its address's (an
    /// IPv6 client by its /64), so nobody reads without limit.
    fn admit_public(&self, call: &Call, allowance: &mut Option<Allowance>) -> Result<(), ApiError> {
        let checked = match self.directory.authenticate(&call.headers) {
            Ok(caller) => self.key_limits.check(&caller.agent),
            Err(_) => self.address_limits.check(&client_network(call.peer)),
        };
        match checked {
            Ok(a) => {
                *allowance = Some(a);
                Ok(())
            }
            Err((e, a)) => {
                *allowance = Some(a);
                Err(e)
            }
        }
    }

    /// Asks the engine; a rejection becomes its error answer.
    pub async fn ask(&self, query: Query) -> Result<Answer, ApiError> {
        Ok(self.link.query(query).await??)
    }

    /// Runs `command` for `agent`, at most once per `Idempotency-Key`: a
    /// retry of the same request gets the first result, a reuse of the key
    /// for another request gets `422`.
    pub async fn execute(
        &self,
        call: &Call,
        agent: AgentId,
        command: Command,
    ) -> Result<(Ack, Vec<Event>), ApiError> {
        self.execute_part(call, agent, 0, command).await
    }

    /// Runs part `part` of a request carried out as several commands one
    /// after another (each sent once the last one's result is known), as
    /// [`State::execute`] does: with an `Idempotency-Key`, part 0 runs
    /// under the key and part `i` under `<key>#<i>`, so a retry replays
    /// each part's first result in turn and repeats no effect.
    pub async fn execute_part(
        &self,
        call: &Call,
        agent: AgentId,
        part: usize,
        command: Command,
    ) -> Result<(Ack, Vec<Event>), ApiError> {
        let Some(key) = idempotency_key(call)? else {
            let (reply, events) = self.link.run(command).await?;
            return Ok((reply?, events));
        };
        let key = if part == 0 { key } else { part_key(key, part)? };
        let wrapped = self.idempotent(call, agent, key, command);
        let (reply, events) = match self.link.run(wrapped).await? {
            (Ok(Ack::Replayed), _) => self.kept(agent, key).await?,
            answer => answer,
        };
        Ok((reply?, events))
    }

    /// Runs `command` for `agent` like [`State::execute`], and answers
    /// `query` as the state was right after it, in one hand-off with the
    /// engine. A retry under the same `Idempotency-Key` answers
    /// `on_replay(first acknowledgement)` instead, as the state is now.
    pub async fn execute_then_ask(
        &self,
        call: &Call,
        agent: AgentId,
        command: Command,
        query: Query,
        on_replay: impl FnOnce(&Ack) -> Query,
    ) -> Result<(Ack, Answer), ApiError> {
        let key = idempotency_key(call)?;
        let command = match key {
            Some(key) => self.idempotent(call, agent, key, command),
            None => command,
        };
        let ((reply, _), answer) = self.link.run_then_query(command, query).await?;
        match (reply, key) {
            (Ok(Ack::Replayed), Some(key)) => {
                let ack = self.kept(agent, key).await?.0?;
                let answer = self.ask(on_replay(&ack)).await?;
                Ok((ack, answer))
            }
            (reply, _) => Ok((reply?, answer?)),
        }
    }

    /// Runs `commands` in order in one hand-off, each with its own result;
    /// with an `Idempotency-Key`, command `i` uses the key `<key>#<i>`.
    pub async fn execute_many(
        &self,
        call: &Call,
        agent: AgentId,
        commands: Vec<Command>,
    ) -> Result<Vec<Result<(Ack, Vec<Event>), ApiError>>, ApiError> {
        let Some(key) = idempotency_key(call)? else {
            let replies = self.link.run_many(commands).await?;
            return Ok(replies
                .into_iter()
                .map(|(reply, events)| reply.map(|ack| (ack, events)).map_err(ApiError::from))
                .collect());
        };
        let single = commands.len() == 1;
        let keys: Vec<IdempotencyKey> = (0..commands.len())
            .map(|i| if single { Ok(key) } else { part_key(key, i) })
            .collect::<Result<_, _>>()?;
        let wrapped = commands
            .into_iter()
            .zip(&keys)
            .map(|(command, key)| self.idempotent(call, agent, *key, command))
            .collect();
        let replies = self.link.run_many(wrapped).await?;
        if replies
            .iter()
            .any(|(r, _)| *r == Err(Reject::IdempotencyKeyReused))
        {
            return Err(ApiError::from(Reject::IdempotencyKeyReused));
        }
        let mut out = Vec::with_capacity(replies.len());
        for ((reply, events), key) in replies.into_iter().zip(keys) {
            let (reply, events) = if reply == Ok(Ack::Replayed) {
                self.kept(agent, key).await?
            } else {
                (reply, events)
            };
            out.push(reply.map(|ack| (ack, events)).map_err(ApiError::from));
        }
        Ok(out)
    }

    /// `command` to run at most once under `key` for this request.
    fn idempotent(
        &self,
        call: &Call,
        agent: AgentId,
        key: IdempotencyKey,
        command: Command,
    ) -> Command {
        Command::Idempotent(Box::new(Idempotent {
            agent,
            key,
            request_hash: request_hash(call),
            command,
        }))
    }

    /// The first result kept under `key`.
    async fn kept(
        &self,
        agent: AgentId,
        key: IdempotencyKey,
    ) -> Result<(agora_engine::Reply, Vec<Event>), ApiError> {
        match self.ask(Query::IdempotentResult { agent, key }).await? {
            Answer::IdempotentResult(first) => Ok((first.reply, first.events)),
            _ => unreachable!("an idempotent result answers its query"),
        }
    }
}

/// The key of command `part` of a request sent under `key`: `<key>#<part>`.
fn part_key(key: IdempotencyKey, part: usize) -> Result<IdempotencyKey, ApiError> {
    IdempotencyKey::new(&format!("{key}#{part}"))
        .map_err(|e| ApiError::invalid("Idempotency-Key", e))
}

/// The engine page a request's `?limit=&cursor=` asks for: newest first,
/// below the cursor (the last id of the previous page).
fn newest_page(call: &Call) -> Result<agora_engine::deal_queries::Page, ApiError> {
    let page = call.page()?;
    Ok(agora_engine::deal_queries::Page {
        before: page.after,
        limit: page.limit as u32,
    })
}

/// `200` with a page of `items` as JSON and the engine's `next` page as
/// the cursor.
fn page_out<T, J: serde::Serialize>(
    items: &[T],
    next: agora_engine::deal_queries::NextPage,
    json: impl Fn(&T) -> J,
) -> Out {
    let next_cursor = next.map(cursor);
    let items: Vec<J> = items.iter().map(json).collect();
    Out::json(StatusCode::OK, &crate::views::Page { items, next_cursor })
}

/// With `?mine=true`, the calling agent (whose key the request must
/// carry): a search for its own posts.
fn mine(state: &State, call: &Call) -> Result<Option<AgentId>, ApiError> {
    match call.param_as::<bool>("mine")? {
        Some(true) => Ok(Some(state.directory.authenticate(&call.headers)?.agent)),
        _ => Ok(None),
    }
}

/// A numeric id from the path; anything else names nothing (`404`).
fn parse_id(text: &str, what: &str) -> Result<u64, ApiError> {
    text.parse::<u64>().map_err(|_| ApiError::not_found(what))
}

/// Characters in an `Idempotency-Key`, at most.
const IDEMPOTENCY_KEY_MAX: usize = 56;

/// The request's `Idempotency-Key`, if any (1–[`IDEMPOTENCY_KEY_MAX`]
/// printable characters).
fn idempotency_key(call: &Call) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = call.headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be printable ASCII"))?;
    if text.len() > IDEMPOTENCY_KEY_MAX {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            format!("must be at most {IDEMPOTENCY_KEY_MAX} characters"),
        ));
    }
    IdempotencyKey::new(text)
        .map(Some)
        .map_err(|e| ApiError::invalid("Idempotency-Key", e))
}

/// What makes two requests the same: route and body.
fn request_hash(call: &Call) -> RequestHash {
    let mut h = blake3::Hasher::new();
    h.update(call.method.as_str().as_bytes());
    h.update(b" ");
    h.update(call.path.as_bytes());
    h.update(b"\n");
    h.update(&call.body);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    out
}

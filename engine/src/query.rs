//! Read-only questions about the state. Queries are not journaled and
//! change nothing.

use serde::{Deserialize, Serialize};

use crate::agents::{AgentRecord, KeyHash};
use crate::asset::{AssetId, AssetSpec};
use crate::cmd::place_order::{OrderType, SelfTradePrevention, Side, TimeInForce};
use crate::cmd::OrderRef;
use crate::deal_queries::{
    paged, AuctionFilter, AuctionView, BidView, ListingFilter, ListingView, NextPage, OfferView,
    Page, RequestFilter, RequestView, Role, SCAN_BUDGET,
};
use crate::idempotency::{IdempotencyKey, IdempotentResult};
use crate::ledger::{AgentIdx, Balance};
use crate::market::Market;
use crate::orders::Order;
use crate::reject::Reject;
use crate::reply::OrderStatus;
use crate::requests::OfferStatus;
use crate::transactions::{OriginKind, Reputation, TransactionView, TxStatus};
use crate::units::{
    AgentId, Amount, AuctionId, ClientOrderId, Currency, ListingId, OfferId, OrderId, Price,
    Quantity, RequestId, Symbol, Ticks, Timestamp, TradeId, TransactionId,
};

/// Which of an agent's orders a list shows: the `limit` oldest with ids
/// after `after`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPage {
    /// Only ids above this.
    pub after: Option<OrderId>,
    /// At most this many.
    pub limit: u32,
}

/// A question about the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// One of `agent`'s orders (open or recently finished).
    Order {
        /// The asking agent, who must own the order.
        agent: AgentId,
        /// Which order.
        order: OrderRef,
    },
    /// `agent`'s open orders, oldest id first, optionally in one asset.
    OpenOrders {
        /// The owner.
        agent: AgentId,
        /// Only this asset.
        asset: Option<Symbol>,
        /// Which ones.
        page: OrderPage,
    },
    /// `agent`'s finished orders still kept for lookup (the engine keeps
    /// the most recent ones, across all agents), oldest id first.
    FinishedOrders {
        /// The owner.
        agent: AgentId,
        /// Only this asset.
        asset: Option<Symbol>,
        /// Only in this status (`Filled` or `Cancelled`).
        status: Option<OrderStatus>,
        /// Which ones.
        page: OrderPage,
    },
    /// Aggregated price levels, best first, and the touch.
    Depth {
        /// The asset.
        asset: Symbol,
        /// Levels per side (capped by the configured maximum).
        levels: u32,
    },
    /// Recent trades, newest first.
    Trades {
        /// The asset.
        asset: Symbol,
        /// At most this many.
        limit: u32,
    },
    /// `agent`'s wallets.
    Balances {
        /// The owner.
        agent: AgentId,
    },
    /// One transaction with its history, for one of its parties.
    Transaction {
        /// The asking agent (buyer or seller); `None` for the operator.
        agent: Option<AgentId>,
        /// Which transaction.
        transaction_id: TransactionId,
    },
    /// `agent`'s transactions, newest first.
    Transactions {
        /// The party.
        agent: AgentId,
        /// Only where it has this role.
        role: Option<Role>,
        /// Only in this status.
        status: Option<TxStatus>,
        /// Only from this kind of deal.
        origin: Option<OriginKind>,
        /// Which page.
        page: Page,
    },
    /// Transactions in dispute (the operator's queue), newest first.
    Disputes {
        /// Which page.
        page: Page,
    },
    /// A request, as anyone sees it.
    Request {
        /// Which request.
        request_id: RequestId,
    },
    /// Requests matching a filter, newest first.
    Requests {
        /// The filter.
        filter: RequestFilter,
        /// Which page.
        page: Page,
    },
    /// The offers on a request that `agent` may see.
    Offers {
        /// The asking agent.
        agent: AgentId,
        /// Which request.
        request_id: RequestId,
        /// The time now (offer windows close with time).
        now: Timestamp,
    },
    /// The offers `agent` made, newest first.
    MyOffers {
        /// The offering agent.
        agent: AgentId,
        /// Only in this status.
        status: Option<OfferStatus>,
        /// Which page.
        page: Page,
    },
    /// One offer, for its maker or the requester.
    Offer {
        /// The asking agent.
        agent: AgentId,
        /// Which offer.
        offer_id: OfferId,
        /// The time now.
        now: Timestamp,
    },
    /// A listing, as anyone sees it.
    Listing {
        /// Which listing.
        listing_id: ListingId,
    },
    /// Listings matching a filter, newest first.
    Listings {
        /// The filter.
        filter: ListingFilter,
        /// Which page.
        page: Page,
    },
    /// The newest request, offer or listing: sent right after the command
    /// that created it (see `Request::CommandThenQuery`), the one it created.
    Newest(Newest),
    /// The trade terms in force.
    Terms,
    /// An auction as `viewer` sees it.
    Auction {
        /// Which auction.
        auction_id: AuctionId,
        /// The asking agent (sees its own sealed bid), if any.
        viewer: Option<AgentId>,
        /// The time now (Dutch prices fall with time).
        now: Timestamp,
    },
    /// The bids on an auction that `viewer` may see (sealed amounts are
    /// their bidder's until the close), newest first, paged by bid number.
    AuctionBids {
        /// Which auction.
        auction_id: AuctionId,
        /// The asking agent, if any.
        viewer: Option<AgentId>,
        /// Which page.
        page: Page,
    },
    /// Auctions matching a filter, newest first.
    Auctions {
        /// The filter.
        filter: AuctionFilter,
        /// The asking agent, if any.
        viewer: Option<AgentId>,
        /// The time now.
        now: Timestamp,
        /// Which page.
        page: Page,
    },
    /// What an agent's transactions say about it.
    Reputation {
        /// Which agent.
        agent: AgentId,
    },
    /// An asset's parameters and touch; for a symbol not listed yet (when
    /// implicit assets are on), what its first order would list it with.
    Asset {
        /// The asset.
        asset: Symbol,
    },
    /// Listed assets, newest first.
    Assets {
        /// Which page (by [`AssetId`]).
        page: Page,
    },
    /// A registered agent, by number.
    Agent {
        /// Which agent.
        agent: AgentId,
    },
    /// A registered agent, by public id.
    AgentByUuid {
        /// Its public id.
        uuid: u128,
    },
    /// Every active API key hash with its agent: what the gateway needs to
    /// authenticate requests without asking the engine each time.
    ApiKeys,
    /// The kept first result of a command sent with an idempotency key.
    IdempotentResult {
        /// The caller.
        agent: AgentId,
        /// The key.
        key: IdempotencyKey,
    },
    /// Counters of the whole market.
    Stats,
    /// Where each currency's money is: the operator's conservation check.
    MoneyTotals,
}

/// Which kind of record [`Query::Newest`] asks for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Newest {
    /// A request.
    Request,
    /// An offer, as its maker `agent` sees it.
    Offer {
        /// The maker.
        agent: AgentId,
    },
    /// A listing.
    Listing,
    /// An auction.
    Auction,
    /// A transaction, as its party `agent` sees it.
    Transaction {
        /// A party.
        agent: AgentId,
    },
}

/// An order as its owner sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// The order.
    pub order_id: OrderId,
    /// The owner's id for it.
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
    /// Limit price (a market order's protection price, if it had one).
    pub price: Option<Price>,
    /// Total quantity (filled + remaining).
    pub quantity: Quantity,
    /// Filled so far.
    pub filled: Quantity,
    /// Open (or, once cancelled, left unfilled).
    pub remaining: Quantity,
    /// Status.
    pub status: OrderStatus,
    /// When it was placed.
    pub placed_at: Timestamp,
}

/// One aggregated price level.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelView {
    /// Price.
    pub price: Price,
    /// Total open quantity.
    pub quantity: Quantity,
    /// Number of orders.
    pub orders: u32,
}

/// An asset: its trading parameters and where its book stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetView {
    /// Its place in the order of listing; `None` for a symbol no order
    /// has listed yet (its `spec` is what the first order lists it with).
    pub listed: Option<AssetId>,
    /// Its parameters.
    pub spec: AssetSpec,
    /// Best bid.
    pub best_bid: Option<Price>,
    /// Best ask.
    pub best_ask: Option<Price>,
    /// Price of the last trade.
    pub last_price: Option<Price>,
    /// Orders resting in its book.
    pub resting_orders: u32,
}

/// A book's depth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepthView {
    /// The asset.
    pub asset: Symbol,
    /// Bids, best (highest) first.
    pub bids: Vec<LevelView>,
    /// Asks, best (lowest) first.
    pub asks: Vec<LevelView>,
    /// Best bid.
    pub best_bid: Option<Price>,
    /// Best ask.
    pub best_ask: Option<Price>,
    /// Price of the last trade.
    pub last_price: Option<Price>,
}

impl AssetView {
    /// A symbol no order has listed yet, which its first order would list
    /// with `spec`.
    fn unlisted(spec: AssetSpec) -> AssetView {
        AssetView {
            listed: None,
            spec,
            best_bid: None,
            best_ask: None,
            last_price: None,
            resting_orders: 0,
        }
    }
}

impl DepthView {
    /// The book of an asset no order has listed yet.
    fn empty(asset: Symbol) -> DepthView {
        DepthView {
            asset,
            bids: Vec::new(),
            asks: Vec::new(),
            best_bid: None,
            best_ask: None,
            last_price: None,
        }
    }
}

/// A trade as the public sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeView {
    /// The trade.
    pub trade_id: TradeId,
    /// Price.
    pub price: Price,
    /// Quantity.
    pub quantity: Quantity,
    /// The incoming order's side.
    pub taker_side: Side,
    /// When.
    pub time: Timestamp,
}

/// The answer to a [`Query`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// One order.
    Order(OrderView),
    /// Several orders; and, when the walk stopped at its budget before
    /// the page filled, the id the next page starts after.
    Orders(Vec<OrderView>, NextPage),
    /// A book's depth.
    Depth(DepthView),
    /// Recent trades, newest first.
    Trades(Vec<TradeView>),
    /// Wallets by currency.
    Balances(Vec<(Currency, Balance)>),
    /// One transaction.
    Transaction(Box<TransactionView>),
    /// A page of transactions, and where the next page starts.
    Transactions(Vec<TransactionView>, NextPage),
    /// One request.
    Request(Box<RequestView>),
    /// A page of requests, and where the next page starts.
    Requests(Vec<RequestView>, NextPage),
    /// Offers, and where the next page starts (a request's offers come
    /// in one page).
    Offers(Vec<OfferView>, NextPage),
    /// One offer.
    Offer(Box<OfferView>),
    /// One listing.
    Listing(Box<ListingView>),
    /// A page of listings, and where the next page starts.
    Listings(Vec<ListingView>, NextPage),
    /// An agent's reputation.
    Reputation(Box<Reputation>),
    /// The trade terms in force.
    Terms(crate::config::Terms),
    /// One auction.
    Auction(Box<AuctionView>),
    /// A page of an auction's bids, and where the next page starts.
    Bids(Vec<BidView>, NextPage),
    /// A page of auctions, and where the next page starts.
    Auctions(Vec<AuctionView>, NextPage),
    /// An asset.
    Asset(AssetView),
    /// A page of assets, and where the next page starts.
    Assets(Vec<AssetView>, NextPage),
    /// A registered agent.
    Agent(Box<AgentRecord>),
    /// Active API key hashes and their agents.
    ApiKeys(Vec<(KeyHash, AgentId)>),
    /// A kept idempotent result.
    IdempotentResult(Box<IdempotentResult>),
    /// Market-wide counters.
    Stats(MarketStats),
    /// Per-currency money totals.
    MoneyTotals(Vec<MoneyTotals>),
}

/// Where one currency's money is. Conservation: `available + held +
/// escrowed + platform == deposited_net`, always.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyTotals {
    /// The currency.
    pub currency: Currency,
    /// Deposits (and signup credits) minus withdrawals.
    pub deposited_net: Amount,
    /// Sum of available balances.
    pub available: Amount,
    /// Sum of held balances.
    pub held: Amount,
    /// Sum of escrow balances.
    pub escrowed: Amount,
    /// Fees the platform collected.
    pub platform: Amount,
}

/// Counters of the whole market.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketStats {
    /// Registered agents.
    pub agents: u64,
    /// Assets.
    pub assets: u64,
    /// Orders resting in books.
    pub orders_open: u64,
    /// Orders that have finished (filled or cancelled), ever.
    pub orders_finished: u64,
    /// Trades so far.
    pub trades: u64,
    /// Transactions so far (fills included).
    pub transactions: u64,
    /// Requests posted.
    pub requests: u64,
    /// Offers made.
    pub offers: u64,
    /// Listings posted.
    pub listings: u64,
    /// Auctions created.
    pub auctions: u64,
    /// The highest order id ever accepted.
    pub order_id_max: u64,
    /// Idempotency results kept.
    pub idempotency_records: u64,
}

/// One resting order in a full (order-by-order) view of a book.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestingOrder {
    /// The order.
    pub order_id: OrderId,
    /// Owner.
    pub agent: AgentId,
    /// Side.
    pub side: Side,
    /// Price.
    pub price: Price,
    /// Open quantity.
    pub remaining: Quantity,
}

impl Market {
    /// Every resting order of `asset` in priority order (bids best first,
    /// then asks best first): the operator's full view of a book, which
    /// names the owners and so is not for agents.
    pub fn resting_orders(&self, asset: &Symbol) -> Vec<RestingOrder> {
        let Some(id) = self.assets.find(asset) else {
            return Vec::new();
        };
        let a = self.assets.get(id);
        let mut out = Vec::new();
        for side in [Side::Buy, Side::Sell] {
            for level in self.book(id).levels(side).rev() {
                let mut slot = level.head;
                while slot != crate::orders::NIL {
                    let o = self.orders.get(slot);
                    out.push(RestingOrder {
                        order_id: o.id,
                        agent: self.ledger.agent_id(o.agent),
                        side,
                        price: a.price(o.price),
                        remaining: a.quantity(o.remaining),
                    });
                    slot = o.next;
                }
            }
        }
        out
    }

    /// Answers `query` from the current state.
    pub fn query(&self, query: &Query) -> Result<Answer, Reject> {
        match query {
            Query::Order { agent, order } => {
                let slot = self.own_order(*agent, order)?;
                Ok(Answer::Order(self.order_view(slot)))
            }
            Query::OpenOrders { agent, asset, page } => {
                Ok(match self.order_owner(*agent, asset)? {
                    Some((agent, only)) => self.open_orders(agent, only, *page),
                    None => Answer::Orders(Vec::new(), None),
                })
            }
            Query::FinishedOrders {
                agent,
                asset,
                status,
                page,
            } => Ok(match self.order_owner(*agent, asset)? {
                Some((agent, only)) => self.finished_orders(agent, only, *status, *page),
                None => Answer::Orders(Vec::new(), None),
            }),
            Query::Depth { asset, levels } => {
                Ok(Answer::Depth(match self.tradable_asset(asset)? {
                    Some(id) => self.depth(id, *levels),
                    None => DepthView::empty(*asset),
                }))
            }
            Query::Trades { asset, limit } => {
                let Some(id) = self.tradable_asset(asset)? else {
                    return Ok(Answer::Trades(Vec::new()));
                };
                let a = self.assets.get(id);
                let trades = self
                    .book(id)
                    .trades()
                    .iter()
                    .rev()
                    .take(*limit as usize)
                    .map(|t| TradeView {
                        trade_id: t.trade_id,
                        price: a.price(t.price),
                        quantity: a.quantity(t.quantity),
                        taker_side: t.taker_side,
                        time: t.time,
                    })
                    .collect();
                Ok(Answer::Trades(trades))
            }
            Query::Balances { agent } => Ok(Answer::Balances(self.ledger.balances_of(*agent))),
            Query::Transaction {
                agent,
                transaction_id,
            } => Ok(Answer::Transaction(Box::new(
                self.transaction_view(*agent, *transaction_id)?,
            ))),
            Query::Transactions {
                agent,
                role,
                status,
                origin,
                page,
            } => Ok(self.transactions_of(*agent, *role, *status, *origin, *page)),
            Query::Disputes { page } => Ok(self.disputes(*page)),
            Query::Request { request_id } => {
                Ok(Answer::Request(Box::new(self.request_view(*request_id)?)))
            }
            Query::Requests { filter, page } => Ok(self.search_requests(filter, *page)),
            Query::Offers {
                agent,
                request_id,
                now,
            } => Ok(Answer::Offers(
                self.visible_offers(*agent, *request_id, *now)?,
                None,
            )),
            Query::MyOffers {
                agent,
                status,
                page,
            } => Ok(self.offers_of(*agent, *status, *page)),
            Query::Offer {
                agent,
                offer_id,
                now,
            } => Ok(Answer::Offer(Box::new(
                self.offer_view(*agent, *offer_id, *now)?,
            ))),
            Query::Listing { listing_id } => {
                Ok(Answer::Listing(Box::new(self.listing_view(*listing_id)?)))
            }
            Query::Listings { filter, page } => Ok(self.search_listings(filter, *page)),
            Query::Newest(newest) => self.newest(*newest),
            Query::Terms => Ok(Answer::Terms(self.terms.clone())),
            Query::Auction {
                auction_id,
                viewer,
                now,
            } => Ok(Answer::Auction(Box::new(self.auction_view(
                *auction_id,
                *viewer,
                *now,
            )?))),
            Query::AuctionBids {
                auction_id,
                viewer,
                page,
            } => self.auction_bids(*auction_id, *viewer, *page),
            Query::Auctions {
                filter,
                viewer,
                now,
                page,
            } => Ok(self.search_auctions(filter, *viewer, *now, *page)),
            Query::Reputation { agent } => {
                Ok(Answer::Reputation(Box::new(self.reputation(*agent))))
            }
            Query::Asset { asset } => Ok(Answer::Asset(match self.assets.find(asset) {
                Some(id) => self.asset_view(id),
                None => AssetView::unlisted(self.implicit_spec(asset).ok_or(Reject::UnknownAsset)?),
            })),
            Query::Assets { page } => {
                let ids = (0..self.assets.len() as u64).rev();
                let (items, next) = paged(ids, *page, |id| {
                    Some(self.asset_view(AssetId(u32::try_from(id).ok()?)))
                });
                Ok(Answer::Assets(items, next))
            }
            Query::Agent { agent } => self.agent_answer(self.agents.get(*agent)),
            Query::AgentByUuid { uuid } => self.agent_answer(self.agents.by_uuid(*uuid)),
            Query::ApiKeys => Ok(Answer::ApiKeys(
                self.agents
                    .iter()
                    .flat_map(|a| a.active_keys().map(|k| (k.hash, a.id)))
                    .collect(),
            )),
            Query::IdempotentResult { agent, key } => {
                // A replay is answered right after its command, so the
                // record is looked up without regard to expiry.
                let result = self
                    .idempotency
                    .get(*agent, key, Timestamp(0), i64::MAX)
                    .ok_or(Reject::UnknownIdempotencyKey)?;
                Ok(Answer::IdempotentResult(Box::new(result.clone())))
            }
            Query::MoneyTotals => Ok(Answer::MoneyTotals(self.money_totals())),
            Query::Stats => Ok(Answer::Stats(MarketStats {
                agents: self.agents.len() as u64,
                assets: self.assets.len() as u64,
                orders_open: (self.orders.len() - self.orders.finished_len()) as u64,
                orders_finished: self.orders.finished_total(),
                trades: self.next_trade_id - 1,
                transactions: self.transactions.len() as u64,
                requests: self.requests.requests().len() as u64,
                offers: self.requests.offers().len() as u64,
                listings: self.listings.all().len() as u64,
                auctions: self.auctions.all().len() as u64,
                order_id_max: self.order_id_max,
                idempotency_records: self.idempotency.len() as u64,
            })),
        }
    }

    fn money_totals(&self) -> Vec<MoneyTotals> {
        let mut totals: Vec<MoneyTotals> = self
            .ledger
            .totals()
            .map(|(id, currency, deposited_net)| MoneyTotals {
                currency,
                deposited_net,
                available: Amount::ZERO,
                held: Amount::ZERO,
                escrowed: Amount::ZERO,
                platform: self.ledger.platform(id),
            })
            .collect();
        // Sums of non-negative balances bounded by the currency's total fit.
        for (_, _, c, b) in self.ledger.wallets() {
            let t = &mut totals[c.0 as usize];
            t.available.0 += b.available.0;
            t.held.0 += b.held.0;
        }
        for e in self.ledger.escrows() {
            totals[e.currency.0 as usize].escrowed.0 += e.balance.0;
        }
        totals
    }

    /// The agent whose orders a list shows, and the asset it is narrowed
    /// to; `None` when it can have none (never traded, or an asset no
    /// order has named).
    fn order_owner(
        &self,
        agent: AgentId,
        asset: &Option<Symbol>,
    ) -> Result<Option<(AgentIdx, Option<AssetId>)>, Reject> {
        let only = match asset {
            None => None,
            Some(symbol) => match self.tradable_asset(symbol)? {
                Some(id) => Some(id),
                None => return Ok(None),
            },
        };
        Ok(self.ledger.find_agent(agent).map(|a| (a, only)))
    }

    /// A page of `agent`'s open orders (in asset `only`, if given), read
    /// in id order from the cursor on. It examines at most
    /// [`SCAN_BUDGET`] orders: narrowed to an asset that few of a large
    /// agent's orders are in, the page ends early with the last id
    /// examined as the cursor.
    fn open_orders(&self, agent: AgentIdx, only: Option<AssetId>, page: OrderPage) -> Answer {
        let limit = page.limit as usize;
        let mut orders = Vec::new();
        let mut last_examined = None;
        for (examined, e) in self.orders.open_orders_of(agent, page.after).enumerate() {
            if orders.len() == limit {
                break;
            }
            if examined == SCAN_BUDGET {
                return Answer::Orders(orders, last_examined);
            }
            last_examined = Some(e.id.0);
            if only.is_none_or(|a| e.asset == a) {
                orders.push(self.order_view(e.slot));
            }
        }
        Answer::Orders(orders, None)
    }

    /// A page of `agent`'s finished orders still kept (in asset `only`
    /// and with `status`, if given), oldest id first. The engine keeps a
    /// bounded number of finished orders across all agents, so this
    /// examines them all.
    fn finished_orders(
        &self,
        agent: AgentIdx,
        only: Option<AssetId>,
        status: Option<OrderStatus>,
        page: OrderPage,
    ) -> Answer {
        let limit = page.limit as usize;
        // The page's orders so far, the newest on top to be displaced.
        let mut picked = std::collections::BinaryHeap::with_capacity(limit + 1);
        for slot in self.orders.finished_slots() {
            let o = self.orders.get(slot);
            let wanted = o.agent == agent
                && page.after.is_none_or(|after| o.id > after)
                && only.is_none_or(|a| o.asset == a)
                && status.is_none_or(|s| o.status == s);
            if wanted && (picked.len() < limit || picked.peek().is_some_and(|&(id, _)| o.id < id)) {
                picked.push((o.id, slot));
                if picked.len() > limit {
                    picked.pop();
                }
            }
        }
        let orders = picked
            .into_sorted_vec()
            .into_iter()
            .map(|(_, slot)| self.order_view(slot))
            .collect();
        Answer::Orders(orders, None)
    }

    fn agent_answer(&self, record: Option<&AgentRecord>) -> Result<Answer, Reject> {
        let record = record.ok_or(Reject::UnknownAgent)?;
        Ok(Answer::Agent(Box::new(record.clone())))
    }

    /// The listed asset `symbol`; `None` if no order has listed it yet
    /// but one may (its book is empty); `UnknownAsset` if none may.
    fn tradable_asset(&self, symbol: &Symbol) -> Result<Option<AssetId>, Reject> {
        match self.assets.find(symbol) {
            Some(id) => Ok(Some(id)),
            None if self.config.assets_implicit => Ok(None),
            None => Err(Reject::UnknownAsset),
        }
    }

    fn asset_view(&self, id: AssetId) -> AssetView {
        let a = self.assets.get(id);
        let book = self.book(id);
        AssetView {
            listed: Some(id),
            spec: a.spec,
            best_bid: book.best(Side::Buy).map(|l| a.price(l.price)),
            best_ask: book.best(Side::Sell).map(|l| a.price(l.price)),
            last_price: book.last_price().map(|p| a.price(p)),
            resting_orders: book.orders_count(),
        }
    }

    fn order_view(&self, slot: u32) -> OrderView {
        self.view_of(self.orders.get(slot), self.orders.client_id(slot))
    }

    /// How order `o`, whose client id is `client_id`, looks to its owner.
    pub(crate) fn view_of(&self, o: &Order, client_id: Option<ClientOrderId>) -> OrderView {
        let a = self.assets.get(o.asset);
        // A market order without protection stores the side's extreme.
        let unprotected = o.traits.order_type() == OrderType::Market
            && o.price
                == match o.side() {
                    Side::Buy => Ticks(i64::MAX),
                    Side::Sell => Ticks(0),
                };
        OrderView {
            order_id: o.id,
            client_order_id: client_id,
            agent: self.ledger.agent_id(o.agent),
            asset: a.spec.symbol,
            side: o.side(),
            order_type: o.traits.order_type(),
            time_in_force: o.traits.time_in_force(),
            stp: o.traits.stp(),
            price: (!unprotected).then(|| a.price(o.price)),
            quantity: a.quantity(crate::units::Lots(o.filled.0 + o.remaining.0)),
            filled: a.quantity(o.filled),
            remaining: a.quantity(o.remaining),
            status: o.status,
            placed_at: o.placed_at,
        }
    }

    fn depth(&self, id: AssetId, levels: u32) -> DepthView {
        let a = self.assets.get(id);
        let book = self.book(id);
        let n = levels.min(self.config.depth_levels_max) as usize;
        let side = |side: Side| -> Vec<LevelView> {
            book.levels(side)
                .rev()
                .take(n)
                .map(|l| LevelView {
                    price: a.price(l.price),
                    quantity: a.quantity(l.total),
                    orders: l.count,
                })
                .collect()
        };
        DepthView {
            asset: a.spec.symbol,
            bids: side(Side::Buy),
            asks: side(Side::Sell),
            best_bid: book.best(Side::Buy).map(|l| a.price(l.price)),
            best_ask: book.best(Side::Sell).map(|l| a.price(l.price)),
            last_price: book.last_price().map(|p| a.price(p)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EngineConfig;
    use crate::testkit::{amt, credits, gpu, px, Harness};

    #[test]
    fn money_totals_show_where_every_unit_is() {
        let mut h = Harness::default();
        h.deposit(1, 100);
        h.deposit(2, 50);
        h.limit(2, Side::Sell, 10, 3);
        h.limit(1, Side::Buy, 10, 2); // fills 20 into escrow
        h.limit(1, Side::Buy, 9, 1); // holds 9
        let Ok(Answer::MoneyTotals(totals)) = h.market.query(&Query::MoneyTotals) else {
            panic!("money totals expected")
        };
        assert_eq!(
            totals,
            vec![MoneyTotals {
                currency: credits(),
                deposited_net: amt(150),
                available: amt(121),
                held: amt(9),
                escrowed: amt(20),
                platform: Amount::ZERO,
            }]
        );
    }

    #[test]
    fn an_agents_orders_come_a_page_at_a_time_oldest_first() {
        let mut h = Harness::default();
        h.deposit(1, 1_000);
        h.deposit(2, 1_000);
        // Agent 1 rests buys 1..=10 at prices 1..=10; agent 2 fills the
        // best two, and agent 1 cancels the third best.
        let ids: Vec<OrderId> = (1..=10)
            .map(|p| h.limit(1, Side::Buy, p, 1).order_id)
            .collect();
        h.limit(2, Side::Sell, 9, 2);
        h.cancel(1, ids[7]).unwrap();
        let ask = |h: &Harness, query: Query| -> Vec<u64> {
            match h.market.query(&query) {
                Ok(Answer::Orders(orders, None)) => orders.iter().map(|o| o.order_id.0).collect(),
                other => panic!("unexpected {other:?}"),
            }
        };
        let open = |after: Option<usize>, limit| Query::OpenOrders {
            agent: AgentId(1),
            asset: None,
            page: OrderPage {
                after: after.map(|i| ids[i]),
                limit,
            },
        };
        let all_open: Vec<u64> = ids[..7].iter().map(|id| id.0).collect();
        assert_eq!(ask(&h, open(None, 100)), all_open);
        assert_eq!(ask(&h, open(None, 3)), all_open[..3]);
        assert_eq!(ask(&h, open(Some(2), 3)), all_open[3..6]);
        assert_eq!(ask(&h, open(Some(5), 3)), all_open[6..]);
        assert_eq!(ask(&h, open(Some(6), 3)), Vec::<u64>::new());
        // Another agent's orders, or another asset's, are not listed.
        let other = Query::OpenOrders {
            agent: AgentId(2),
            asset: None,
            page: OrderPage {
                after: None,
                limit: 10,
            },
        };
        assert_eq!(ask(&h, other), Vec::<u64>::new());

        let finished = |status| Query::FinishedOrders {
            agent: AgentId(1),
            asset: None,
            status,
            page: OrderPage {
                after: None,
                limit: 10,
            },
        };
        let (cancelled, filled) = (ids[7].0, [ids[8].0, ids[9].0]);
        assert_eq!(ask(&h, finished(Some(OrderStatus::Filled))), filled);
        assert_eq!(ask(&h, finished(Some(OrderStatus::Cancelled))), [cancelled]);
        assert_eq!(ask(&h, finished(None)), [cancelled, filled[0], filled[1]]);
    }

    #[test]
    fn a_narrow_open_orders_page_ends_at_its_budget_with_a_cursor() {
        let mut h = Harness::default();
        h.deposit(1, 100_000);
        let cpu = Symbol::new("CPU").unwrap();
        let place_cpu = |h: &mut Harness| {
            let mut o = h.order(1, Side::Buy, 1, 1);
            o.asset = cpu;
            h.place(o).unwrap().order_id.0
        };
        let mut wanted: Vec<u64> = (0..3).map(|_| place_cpu(&mut h)).collect();
        let gpu_ids: Vec<u64> = (0..SCAN_BUDGET + 100)
            .map(|_| {
                let o = h.order(1, Side::Buy, 1, 1);
                let id = o.order_id.0;
                h.run_unchecked(crate::cmd::Command::PlaceOrder(o)).unwrap();
                id
            })
            .collect();
        wanted.extend((0..2).map(|_| place_cpu(&mut h)));
        let ask = |after: Option<u64>, asset: Option<Symbol>, limit| match h.market.query(
            &Query::OpenOrders {
                agent: AgentId(1),
                asset,
                page: OrderPage {
                    after: after.map(OrderId),
                    limit,
                },
            },
        ) {
            Ok(Answer::Orders(orders, next)) => (
                orders.iter().map(|o| o.order_id.0).collect::<Vec<_>>(),
                next,
            ),
            other => panic!("unexpected {other:?}"),
        };
        // The first page stops after SCAN_BUDGET orders, the three CPU
        // orders and then GPU ones: its cursor is the last GPU order examined.
        let (first, next) = ask(None, Some(cpu), 10);
        assert_eq!(
            (first.as_slice(), next),
            (&wanted[..3], Some(gpu_ids[SCAN_BUDGET - 4]))
        );
        let (rest, next) = ask(next, Some(cpu), 10);
        assert_eq!((rest.as_slice(), next), (&wanted[3..], None));
        // Unnarrowed, every order matches: pages fill and need no cursor.
        let (page, next) = ask(Some(wanted[2]), None, 5);
        assert_eq!((page.as_slice(), next), (&gpu_ids[..5], None));
    }

    fn unlisted() -> Symbol {
        Symbol::new("NEVER-TRADED").unwrap()
    }

    #[test]
    fn assets_show_their_parameters_and_touch_newest_first() {
        let mut h = Harness::default();
        h.deposit(1, 100);
        h.deposit(2, 100);
        h.limit(1, Side::Buy, 9, 1);
        h.limit(2, Side::Sell, 11, 2);
        let mut other = h.order(1, Side::Buy, 5, 1);
        other.asset = Symbol::new("CPU").unwrap();
        h.place(other).unwrap();
        let page = |before, limit| Query::Assets {
            page: Page { before, limit },
        };
        let Ok(Answer::Assets(all, None)) = h.market.query(&page(None, 10)) else {
            panic!("one page of assets expected")
        };
        let symbols: Vec<_> = all.iter().map(|a| a.spec.symbol.to_string()).collect();
        assert_eq!(symbols, ["CPU", "GPU"]);
        let gpu_view = &all[1];
        assert_eq!(gpu_view.listed, Some(AssetId(0)));
        assert_eq!(
            (gpu_view.best_bid, gpu_view.best_ask),
            (Some(px(9)), Some(px(11)))
        );
        assert_eq!((gpu_view.last_price, gpu_view.resting_orders), (None, 2));
        // Paged by listing order: the cursor is the last one's id.
        let Ok(Answer::Assets(first, Some(1))) = h.market.query(&page(None, 1)) else {
            panic!("a first page with more expected")
        };
        assert_eq!(first[0].listed, Some(AssetId(1)));
        let Ok(Answer::Assets(rest, None)) = h.market.query(&page(Some(1), 1)) else {
            panic!("a last page expected")
        };
        assert_eq!(rest, vec![gpu_view.clone()]);
        let Ok(Answer::Asset(one)) = h.market.query(&Query::Asset { asset: gpu() }) else {
            panic!("an asset expected")
        };
        assert_eq!(&one, gpu_view);
    }

    #[test]
    fn a_symbol_no_order_named_yet_has_an_empty_book_and_the_default_parameters() {
        let h = Harness::default();
        let asset = unlisted();
        let Ok(Answer::Asset(view)) = h.market.query(&Query::Asset { asset }) else {
            panic!("an asset expected")
        };
        let spec = h.market.implicit_spec(&asset).unwrap();
        assert_eq!(
            (view.listed, view.spec, view.resting_orders),
            (None, spec, 0)
        );
        let depth = h.market.query(&Query::Depth { asset, levels: 5 });
        assert_eq!(depth, Ok(Answer::Depth(DepthView::empty(asset))));
        let trades = h.market.query(&Query::Trades { asset, limit: 5 });
        assert_eq!(trades, Ok(Answer::Trades(Vec::new())));
        let agent = AgentId(1);
        let open = h.market.query(&Query::OpenOrders {
            agent,
            asset: Some(asset),
            page: OrderPage {
                after: None,
                limit: 10,
            },
        });
        assert_eq!(open, Ok(Answer::Orders(Vec::new(), None)));
        // Nothing was listed by asking.
        let Ok(Answer::Assets(all, None)) = h.market.query(&Query::Assets {
            page: Page {
                before: None,
                limit: 10,
            },
        }) else {
            panic!("a page of assets expected")
        };
        assert!(all.is_empty());
    }

    #[test]
    fn without_implicit_assets_an_unlisted_symbol_is_unknown() {
        let config = EngineConfig {
            assets_implicit: false,
            ..EngineConfig::default()
        };
        let h = Harness::new(config);
        let asset = unlisted();
        for query in [
            Query::Asset { asset },
            Query::Depth { asset, levels: 5 },
            Query::Trades { asset, limit: 5 },
        ] {
            assert_eq!(h.market.query(&query), Err(Reject::UnknownAsset));
        }
    }
}

//! Queries about deals outside the order book: transactions (for their
//! parties), requests, offers (for their maker, and for the requester once
//! the offer window closed), listings, auctions (sealed amounts hidden
//! until the close), and agents' reputation.
//!
//! Lists run newest first and page by id (`before`), so rows inserted
//! meanwhile never shift a page.

use serde::{Deserialize, Serialize};

use crate::auctions::{AuctionKind, AuctionPost, AuctionStatus};
use crate::category::Category;
use crate::ledger::AgentIdx;
use crate::listings::{ListingRecord, ListingStatus};
use crate::market::Market;
use crate::query::{Answer, Newest};
use crate::reject::Reject;
use crate::requests::{OfferRecord, RequestPost, RequestRecord, RequestStatus};
use crate::transactions::{Actor, Origin, Reputation, TransactionView, TxStatus, TxStep};
use crate::units::{
    AgentId, Amount, AuctionId, Currency, ListingId, OfferId, RequestId, Timestamp, TransactionId,
};

/// An auction search; all optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuctionFilter {
    /// Only this kind: `english`, `dutch` or `sealed_bid`.
    pub kind: Option<AuctionKindName>,
    /// Only in this status.
    pub status: Option<AuctionStatus>,
    /// Only closing before this.
    pub ending_before: Option<Timestamp>,
    /// Only with a current price (or starting price) of at least this.
    pub price_min: Option<Amount>,
    /// Only with a current price (or starting price) of at most this.
    pub price_max: Option<Amount>,
    /// Only titles containing this (case-insensitive).
    pub text: Option<String>,
    /// Only by this seller.
    pub seller: Option<AgentId>,
}

/// The kinds of auction, by name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum AuctionKindName {
    /// Ascending.
    English,
    /// Descending.
    Dutch,
    /// Hidden bids.
    SealedBid,
}

/// A bid as a viewer may see it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidView {
    /// The bidder.
    pub bidder: AgentId,
    /// The amount.
    pub amount: Amount,
    /// When.
    pub time: Timestamp,
}

/// An auction as a viewer sees it: sealed amounts stay hidden (but the
/// viewer's own) until the close.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuctionView {
    /// The auction.
    pub auction_id: AuctionId,
    /// Its seller.
    pub seller: AgentId,
    /// Its currency.
    pub currency: Currency,
    /// What was posted.
    pub post: AuctionPost,
    /// Status now.
    pub status: AuctionStatus,
    /// When it closes (after extensions).
    pub ends_at: Timestamp,
    /// English: the leading bid; Dutch: the price now; sealed: none.
    pub current_price: Option<Amount>,
    /// Bids placed.
    pub bid_count: u32,
    /// The bids the viewer may see, oldest first.
    pub bids: Vec<BidView>,
    /// The winner and the price paid.
    pub winner: Option<(AgentId, Amount)>,
    /// The transaction the win created.
    pub transaction_id: Option<TransactionId>,
    /// When it was created.
    pub created_at: Timestamp,
}

/// One page of a list: rows with ids below `before` (all, if `None`),
/// newest first, at most `limit`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Only ids below this.
    pub before: Option<u64>,
    /// At most this many rows.
    pub limit: u32,
}

/// A party's role in a transaction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Role {
    /// Paying.
    Buyer,
    /// Delivering.
    Seller,
}

/// Filters shared by request and listing searches; all optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostFilter {
    /// Only this category.
    pub category: Option<Category>,
    /// Only titles containing this (case-insensitive).
    pub text: Option<String>,
    /// Only prices (a request's budget range) reaching at least this.
    pub price_min: Option<Amount>,
    /// Only prices (a request's budget range) starting at most this.
    pub price_max: Option<Amount>,
    /// Only in this currency.
    pub currency: Option<Currency>,
    /// Only posted by this agent.
    pub owner: Option<AgentId>,
}

/// A request search.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFilter {
    /// Shared filters.
    pub post: PostFilter,
    /// Only in this status.
    pub status: Option<RequestStatus>,
    /// Only requests an agent can fulfil alone (or only those it cannot).
    pub agent_ready: Option<bool>,
}

/// A listing search.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingFilter {
    /// Shared filters.
    pub post: PostFilter,
    /// Only in this status.
    pub status: Option<ListingStatus>,
}

/// A request as anyone sees it (offers are counted, not shown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestView {
    /// The request.
    pub request_id: RequestId,
    /// Its owner.
    pub requester: AgentId,
    /// What was posted.
    pub post: RequestPost,
    /// Status now.
    pub status: RequestStatus,
    /// Its deadline.
    pub deadline: Timestamp,
    /// Until when offers are sealed from the requester.
    pub sealed_until: Timestamp,
    /// Offers received.
    pub offer_count: u32,
    /// The accepted offer.
    pub accepted_offer: Option<OfferId>,
    /// When it was posted.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// An offer, for its maker or the requester.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferView {
    /// The offer.
    pub offer_id: OfferId,
    /// The offer itself.
    pub offer: OfferRecord,
}

/// A listing as anyone sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingView {
    /// The listing.
    pub listing_id: ListingId,
    /// The listing itself.
    pub listing: ListingRecord,
}

/// Up to `page.limit` rows from `ids` (descending) below `page.before`
/// that `row` accepts, and whether more may follow.
pub(crate) fn paged<T>(
    ids: impl Iterator<Item = u64>,
    page: Page,
    mut row: impl FnMut(u64) -> Option<T>,
) -> (Vec<T>, bool) {
    let limit = page.limit.max(1) as usize;
    let mut items = Vec::new();
    for id in ids.filter(|id| page.before.is_none_or(|b| *id < b)) {
        if let Some(item) = row(id) {
            if items.len() == limit {
                return (items, true);
            }
            items.push(item);
        }
    }
    (items, false)
}

/// A search's title text, lowercased once for the whole search.
fn needle(text: &Option<String>) -> Option<String> {
    text.as_deref().map(str::to_lowercase)
}

/// Whether `title` contains `needle` (already lowercased), ignoring case.
fn title_has(title: &str, needle: Option<&str>) -> bool {
    needle.is_none_or(|n| title.to_lowercase().contains(n))
}

impl PostFilter {
    /// Whether a post matches; `needle` is [`needle`] of this filter.
    fn matches(
        &self,
        needle: Option<&str>,
        owner: AgentId,
        category: Category,
        title: &str,
        price: (Amount, Amount),
        currency: Currency,
    ) -> bool {
        self.owner.is_none_or(|o| o == owner)
            && self.category.is_none_or(|c| c == category)
            && self.currency.is_none_or(|c| c == currency)
            && self.price_min.is_none_or(|min| price.1 >= min)
            && self.price_max.is_none_or(|max| price.0 <= max)
            && title_has(title, needle)
    }
}

impl Market {
    /// One transaction, for a party (`Some(agent)`) or the operator.
    pub(crate) fn transaction_view(
        &self,
        caller: Option<AgentId>,
        id: TransactionId,
    ) -> Result<TransactionView, Reject> {
        let tx = self
            .transactions
            .get(id)
            .ok_or(Reject::UnknownTransaction)?;
        if let Some(agent) = caller {
            let me = self.ledger.find_agent(agent);
            if me != Some(tx.buyer) && me != Some(tx.seller) {
                return Err(Reject::NotAParty);
            }
        }
        let details = self.transactions.details(id);
        let created = match tx.origin {
            Origin::Trade { .. } | Origin::Auction { .. } => TxStatus::EscrowFunded,
            _ => TxStatus::Pending,
        };
        let mut history = vec![TxStep {
            status: created,
            by: Actor::System,
            time: tx.created_at,
        }];
        history.extend(details.iter().flat_map(|d| d.history.iter().cloned()));
        let asset = match tx.origin {
            Origin::Trade { asset, .. } => Some(self.assets.get(asset).spec.symbol),
            _ => None,
        };
        Ok(TransactionView {
            transaction_id: id,
            origin: tx.origin,
            asset,
            buyer: self.ledger.agent_id(tx.buyer),
            seller: self.ledger.agent_id(tx.seller),
            status: tx.status,
            quantity: tx.quantity,
            price: tx.price,
            amount: tx.amount,
            currency: self.ledger.currency_code(tx.currency),
            escrow_balance: self.ledger.escrow_balance(id),
            fee: details.map_or(Amount::ZERO, |d| d.fee),
            created_at: tx.created_at,
            deadline: (tx.deadline.0 != 0).then_some(tx.deadline),
            history,
            delivery: details.and_then(|d| d.delivery.clone()),
            dispute: details.and_then(|d| d.dispute.clone()),
            resolution: details.and_then(|d| d.resolution),
            buyer_rating: details.and_then(|d| d.ratings[0].clone()),
            seller_rating: details.and_then(|d| d.ratings[1].clone()),
        })
    }

    /// `agent`'s transactions, newest first.
    pub(crate) fn transactions_of(
        &self,
        agent: AgentId,
        role: Option<Role>,
        status: Option<TxStatus>,
        page: Page,
    ) -> Answer {
        let Some(me) = self.ledger.find_agent(agent) else {
            return Answer::Transactions(Vec::new(), false);
        };
        let before = page.before.map(TransactionId);
        let ids = self.transactions.of_agent(me, before).map(|id| id.0);
        let (items, more) = paged(ids, page, |id| {
            let id = TransactionId(id);
            let tx = self.transactions.get(id).expect("indexed");
            let role_ok = match role {
                None => true,
                Some(Role::Buyer) => tx.buyer == me,
                Some(Role::Seller) => tx.seller == me,
            };
            (role_ok && status.is_none_or(|s| s == tx.status))
                .then(|| self.transaction_view(None, id).expect("exists"))
        });
        Answer::Transactions(items, more)
    }

    /// The transactions in dispute, newest first (for the operator).
    pub(crate) fn disputes(&self, page: Page) -> Answer {
        let ids = self.transactions.disputes().iter().rev().map(|id| id.0);
        let (items, more) = paged(ids, page, |id| {
            self.transaction_view(None, TransactionId(id)).ok()
        });
        Answer::Transactions(items, more)
    }

    /// A request as anyone sees it.
    pub(crate) fn request_view(&self, id: RequestId) -> Result<RequestView, Reject> {
        let r: &RequestRecord = self.requests.request(id)?;
        Ok(RequestView {
            request_id: id,
            requester: r.requester,
            post: r.post.clone(),
            status: r.status,
            deadline: r.deadline,
            sealed_until: r.sealed_until,
            offer_count: r.offers.len() as u32,
            accepted_offer: r.accepted,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }

    /// Requests matching `filter`, newest first.
    pub(crate) fn search_requests(&self, filter: &RequestFilter, page: Page) -> Answer {
        let ids = (1..=self.requests.requests().len() as u64).rev();
        let needle = needle(&filter.post.text);
        let (items, more) = paged(ids, page, |id| {
            let r = self.requests.request(RequestId(id)).expect("in range");
            let p = &r.post;
            let ok = filter.status.is_none_or(|s| s == r.status)
                && filter.agent_ready.is_none_or(|a| a == p.agent_ready)
                && filter.post.matches(
                    needle.as_deref(),
                    r.requester,
                    p.category,
                    &p.title,
                    (p.budget_min, p.budget_max),
                    p.currency,
                );
            ok.then(|| self.request_view(RequestId(id)).expect("exists"))
        });
        Answer::Requests(items, more)
    }

    /// The offers on `request` that `agent` may see: its own, or (for the
    /// requester, once the offer window closed) all of them; oldest first.
    pub(crate) fn visible_offers(
        &self,
        agent: AgentId,
        request: RequestId,
        now: Timestamp,
    ) -> Result<Vec<OfferView>, Reject> {
        let r = self.requests.request(request)?;
        let sees_all = r.requester == agent && now >= r.sealed_until;
        if r.requester == agent && !sees_all {
            return Err(Reject::OfferWindowOpen {
                until: r.sealed_until,
            });
        }
        Ok(r.offers
            .iter()
            .map(|&id| (id, self.requests.offer(id).expect("listed")))
            .filter(|(_, o)| sees_all || o.seller == agent)
            .map(|(offer_id, o)| OfferView {
                offer_id,
                offer: o.clone(),
            })
            .collect())
    }

    /// One offer, for its maker or (after the offer window) the requester.
    pub(crate) fn offer_view(
        &self,
        agent: AgentId,
        id: OfferId,
        now: Timestamp,
    ) -> Result<OfferView, Reject> {
        let o = self.requests.offer(id)?;
        if o.seller != agent {
            let r = self.requests.request(o.request_id)?;
            if r.requester != agent {
                return Err(Reject::NotYourOffer);
            }
            if now < r.sealed_until {
                return Err(Reject::OfferWindowOpen {
                    until: r.sealed_until,
                });
            }
        }
        Ok(OfferView {
            offer_id: id,
            offer: o.clone(),
        })
    }

    /// A listing as anyone sees it.
    pub(crate) fn listing_view(&self, id: ListingId) -> Result<ListingView, Reject> {
        Ok(ListingView {
            listing_id: id,
            listing: self.listings.get(id)?.clone(),
        })
    }

    /// Listings matching `filter`, newest first.
    pub(crate) fn search_listings(&self, filter: &ListingFilter, page: Page) -> Answer {
        let ids = (1..=self.listings.all().len() as u64).rev();
        let needle = needle(&filter.post.text);
        let (items, more) = paged(ids, page, |id| {
            let l = self.listings.get(ListingId(id)).expect("in range");
            let p = &l.post;
            let ok = filter.status.is_none_or(|s| s == l.status)
                && filter.post.matches(
                    needle.as_deref(),
                    l.seller,
                    p.category,
                    &p.title,
                    (p.price, p.price),
                    p.currency,
                );
            ok.then(|| self.listing_view(ListingId(id)).expect("exists"))
        });
        Answer::Listings(items, more)
    }

    /// Auction `id` as `viewer` (if any) sees it at `now`.
    pub(crate) fn auction_view(
        &self,
        id: AuctionId,
        viewer: Option<AgentId>,
        now: Timestamp,
    ) -> Result<AuctionView, Reject> {
        let a = self.auctions.get(id)?;
        let me = viewer.and_then(|v| self.ledger.find_agent(v));
        let sealed =
            matches!(a.post.kind, AuctionKind::SealedBid { .. }) && a.status == AuctionStatus::Open;
        let bids = a
            .bids
            .iter()
            .filter(|b| !sealed || Some(b.bidder) == me)
            .map(|b| BidView {
                bidder: self.ledger.agent_id(b.bidder),
                amount: b.amount,
                time: b.time,
            })
            .collect();
        let current_price = match a.post.kind {
            AuctionKind::English { .. } => a.leading().map(|b| b.amount),
            AuctionKind::Dutch { .. } if a.status == AuctionStatus::Open => a.dutch_price(now),
            _ => None,
        };
        Ok(AuctionView {
            auction_id: id,
            seller: self.ledger.agent_id(a.seller),
            currency: self.ledger.currency_code(a.currency),
            post: a.post.clone(),
            status: a.status,
            ends_at: a.ends_at,
            current_price,
            bid_count: a.bids.len() as u32,
            bids,
            winner: a
                .winner()
                .map(|(b, price)| (self.ledger.agent_id(b.bidder), price)),
            transaction_id: a.transaction_id,
            created_at: a.created_at,
        })
    }

    /// Auctions matching `filter`, newest first.
    pub(crate) fn search_auctions(
        &self,
        filter: &AuctionFilter,
        viewer: Option<AgentId>,
        now: Timestamp,
        page: Page,
    ) -> Answer {
        let ids = (1..=self.auctions.all().len() as u64).rev();
        let needle = needle(&filter.text);
        // An unknown seller matches nothing.
        let seller = filter.seller.map(|s| self.ledger.find_agent(s));
        let (items, more) = paged(ids, page, |id| {
            let a = self.auctions.get(AuctionId(id)).expect("in range");
            let kind = match a.post.kind {
                AuctionKind::English { .. } => AuctionKindName::English,
                AuctionKind::Dutch { .. } => AuctionKindName::Dutch,
                AuctionKind::SealedBid { .. } => AuctionKindName::SealedBid,
            };
            let price = match a.post.kind {
                AuctionKind::English { .. } => a.leading().map(|b| b.amount),
                AuctionKind::Dutch { .. } => a.dutch_price(now),
                AuctionKind::SealedBid { .. } => None,
            }
            .unwrap_or(a.post.starting_price);
            let ok = filter.kind.is_none_or(|k| k == kind)
                && filter.status.is_none_or(|s| s == a.status)
                && filter.ending_before.is_none_or(|t| a.ends_at < t)
                && filter.price_min.is_none_or(|p| price >= p)
                && filter.price_max.is_none_or(|p| price <= p)
                && seller.is_none_or(|s| s == Some(a.seller))
                && title_has(&a.post.title, needle.as_deref());
            ok.then(|| {
                self.auction_view(AuctionId(id), viewer, now)
                    .expect("exists")
            })
        });
        Answer::Auctions(items, more)
    }

    /// The newest record of a kind.
    pub(crate) fn newest(&self, newest: Newest) -> Result<Answer, Reject> {
        match newest {
            Newest::Request => {
                let id = RequestId(self.requests.requests().len() as u64);
                Ok(Answer::Request(Box::new(self.request_view(id)?)))
            }
            Newest::Offer { agent } => {
                let id = OfferId(self.requests.offers().len() as u64);
                Ok(Answer::Offer(Box::new(self.offer_view(
                    agent,
                    id,
                    Timestamp(0),
                )?)))
            }
            Newest::Listing => {
                let id = ListingId(self.listings.all().len() as u64);
                Ok(Answer::Listing(Box::new(self.listing_view(id)?)))
            }
            Newest::Auction => {
                let id = AuctionId(self.auctions.all().len() as u64);
                Ok(Answer::Auction(Box::new(self.auction_view(
                    id,
                    None,
                    Timestamp(0),
                )?)))
            }
            Newest::Transaction { agent } => {
                let id = TransactionId(self.transactions.len() as u64);
                Ok(Answer::Transaction(Box::new(
                    self.transaction_view(Some(agent), id)?,
                )))
            }
        }
    }

    /// What `agent`'s transactions say about it.
    pub(crate) fn reputation(&self, agent: AgentId) -> Reputation {
        let idx: Option<AgentIdx> = self.ledger.find_agent(agent);
        self.transactions.reputation(idx, &self.ledger)
    }
}

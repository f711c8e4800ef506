//! Queries about deals outside the order book: transactions (for their
//! parties), requests, offers (for their maker, and for the requester once
//! the offer window closed), listings, auctions (sealed amounts hidden
//! until the close), and agents' reputation.
//!
//! Lists run newest first and page by id (`before`), so rows inserted
//! meanwhile never shift a page.

use serde::{Deserialize, Serialize};

use crate::auctions::{AuctionKind, AuctionPost, AuctionRecord, AuctionStatus, Bid};
use crate::category::Category;
use crate::ledger::AgentIdx;
use crate::listings::{ListingRecord, ListingStatus};
use crate::market::Market;
use crate::query::{Answer, Newest};
use crate::reject::Reject;
use crate::requests::{OfferRecord, OfferStatus, RequestPost, RequestRecord, RequestStatus};
use crate::transactions::{
    Actor, Origin, OriginKind, Reputation, TransactionView, TxStatus, TxStep,
};
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
    /// The latest bids the viewer may see (at most [`AUCTION_VIEW_BIDS`]),
    /// oldest first.
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

/// Where the next page of a list starts (its rows have ids below this),
/// or `None` on the last page.
pub type NextPage = Option<u64>;

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

/// Bids an auction's view shows at most: the latest the viewer may see.
/// Every bid is in [`Query::AuctionBids`](crate::Query::AuctionBids).
pub const AUCTION_VIEW_BIDS: usize = 20;

/// Records a list examines at most for one page. A search whose filter
/// matches little would otherwise walk every record the market ever held
/// on the engine thread, holding up every order behind it (73k requests
/// took 9 ms to search for a word no title has). At about 50 ns a record
/// this keeps a page under a millisecond; the page then ends early, with
/// a cursor where the walk stopped.
pub(crate) const SCAN_BUDGET: usize = 10_000;

/// Up to `page.limit` rows that `row` accepts from `ids` (descending;
/// those below `page.before`, where the caller should start), examining
/// at most [`SCAN_BUDGET`] ids; and, when more may follow, the id the
/// next page starts below: the last row's when the page filled, the last
/// id examined when the budget ran out (so a page can come back short, or
/// empty, with a cursor). The cursor is always an id `ids` yielded, which
/// lets an owner's chain of records resume in place.
pub(crate) fn paged<T>(
    ids: impl Iterator<Item = u64>,
    page: Page,
    mut row: impl FnMut(u64) -> Option<T>,
) -> (Vec<T>, NextPage) {
    let limit = page.limit.max(1) as usize;
    let mut items = Vec::new();
    let mut last_row = None;
    let mut last_examined = None;
    let below = ids.filter(|id| page.before.is_none_or(|b| *id < b));
    for (examined, id) in below.enumerate() {
        if examined == SCAN_BUDGET {
            // Resume after the last row if the page is full, else below
            // every id examined.
            let resume = if items.len() == limit {
                last_row
            } else {
                last_examined
            };
            return (items, resume);
        }
        last_examined = Some(id);
        if let Some(item) = row(id) {
            if items.len() == limit {
                return (items, last_row);
            }
            items.push(item);
            last_row = Some(id);
        }
    }
    (items, None)
}

/// The ids a list of `count` records walks for `page`, newest first: an
/// owner's own (`owned`, when the filter names an owner), else every
/// record's from `count` down to 1; below the page's cursor either way.
fn walk<'a>(
    owned: Option<impl Iterator<Item = u64> + 'a>,
    count: usize,
    page: Page,
) -> Box<dyn Iterator<Item = u64> + 'a> {
    match owned {
        Some(ids) => Box::new(ids),
        None => Box::new(numbers_below(count, page)),
    }
}

/// The numbers from `count` down to 1 that are below the page's cursor.
fn numbers_below(count: usize, page: Page) -> impl Iterator<Item = u64> {
    let top = page
        .before
        .map_or(count as u64, |b| (count as u64).min(b.saturating_sub(1)));
    (1..=top).rev()
}

/// A search's title text, lowercased once for the whole search.
fn needle(text: &Option<String>) -> Option<String> {
    text.as_deref().map(str::to_lowercase)
}

/// Whether `title` contains `needle` (already lowercased), ignoring case.
/// ASCII titles are compared in place: lowercasing every title into a new
/// string was most of a search's time.
fn title_has(title: &str, needle: Option<&str>) -> bool {
    match needle {
        None => true,
        Some("") => true,
        Some(n) if title.is_ascii() && n.is_ascii() => title
            .as_bytes()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n.as_bytes())),
        Some(n) => title.to_lowercase().contains(n),
    }
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
        origin: Option<OriginKind>,
        page: Page,
    ) -> Answer {
        let Some(me) = self.ledger.find_agent(agent) else {
            return Answer::Transactions(Vec::new(), None);
        };
        let before = page.before.map(TransactionId);
        let ids = self.transactions.of_agent(me, before).map(|id| id.0);
        let (items, next) = paged(ids, page, |id| {
            let id = TransactionId(id);
            let tx = self.transactions.get(id).expect("indexed");
            let role_ok = match role {
                None => true,
                Some(Role::Buyer) => tx.buyer == me,
                Some(Role::Seller) => tx.seller == me,
            };
            (role_ok
                && status.is_none_or(|s| s == tx.status)
                && origin.is_none_or(|o| o == tx.origin.kind()))
            .then(|| self.transaction_view(None, id).expect("exists"))
        });
        Answer::Transactions(items, next)
    }

    /// The transactions in dispute, newest first (for the operator).
    pub(crate) fn disputes(&self, page: Page) -> Answer {
        let below = TransactionId(page.before.unwrap_or(u64::MAX));
        let ids = self
            .transactions
            .disputes()
            .range(..below)
            .rev()
            .map(|id| id.0);
        let (items, next) = paged(ids, page, |id| {
            self.transaction_view(None, TransactionId(id)).ok()
        });
        Answer::Transactions(items, next)
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
        let owned = (filter.post.owner).map(|o| self.requests.of_requester(o, page.before));
        let ids = walk(owned, self.requests.requests().len(), page);
        let needle = needle(&filter.post.text);
        let (items, next) = paged(ids, page, |id| {
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
        Answer::Requests(items, next)
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

    /// The offers `agent` made, newest first, in `status` if given.
    pub(crate) fn offers_of(
        &self,
        agent: AgentId,
        status: Option<OfferStatus>,
        page: Page,
    ) -> Answer {
        let ids = self.requests.of_seller(agent, page.before);
        let (items, next) = paged(ids, page, |id| {
            let offer = self.requests.offer(OfferId(id)).expect("indexed");
            status.is_none_or(|s| s == offer.status).then(|| OfferView {
                offer_id: OfferId(id),
                offer: offer.clone(),
            })
        });
        Answer::Offers(items, next)
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
        let owned = (filter.post.owner).map(|o| self.listings.of_seller(o, page.before));
        let ids = walk(owned, self.listings.all().len(), page);
        let needle = needle(&filter.post.text);
        let (items, next) = paged(ids, page, |id| {
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
        Answer::Listings(items, next)
    }

    /// Auction `id` as `viewer` (if any) sees it at `now`.
    pub(crate) fn auction_view(
        &self,
        id: AuctionId,
        viewer: Option<AgentId>,
        now: Timestamp,
    ) -> Result<AuctionView, Reject> {
        let a = self.auctions.get(id)?;
        let visible = self.bid_visibility(a, viewer);
        let mut bids: Vec<BidView> = a
            .bids
            .iter()
            .rev()
            .take(SCAN_BUDGET)
            .filter(|b| visible(b))
            .take(AUCTION_VIEW_BIDS)
            .map(|b| self.bid_view(b))
            .collect();
        bids.reverse();
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

    /// Whether `viewer` may see a bid of `a`: every bid but sealed ones
    /// before the close, which only their bidder sees.
    fn bid_visibility(&self, a: &AuctionRecord, viewer: Option<AgentId>) -> impl Fn(&Bid) -> bool {
        let me = viewer.and_then(|v| self.ledger.find_agent(v));
        let sealed =
            matches!(a.post.kind, AuctionKind::SealedBid { .. }) && a.status == AuctionStatus::Open;
        move |b: &Bid| !sealed || Some(b.bidder) == me
    }

    fn bid_view(&self, b: &Bid) -> BidView {
        BidView {
            bidder: self.ledger.agent_id(b.bidder),
            amount: b.amount,
            time: b.time,
        }
    }

    /// The bids of auction `id` that `viewer` may see, newest first.
    pub(crate) fn auction_bids(
        &self,
        id: AuctionId,
        viewer: Option<AgentId>,
        page: Page,
    ) -> Result<Answer, Reject> {
        let a = self.auctions.get(id)?;
        let visible = self.bid_visibility(a, viewer);
        let (items, next) = paged(numbers_below(a.bids.len(), page), page, |number| {
            let b = &a.bids[number as usize - 1];
            visible(b).then(|| self.bid_view(b))
        });
        Ok(Answer::Bids(items, next))
    }

    /// Auctions matching `filter`, newest first.
    pub(crate) fn search_auctions(
        &self,
        filter: &AuctionFilter,
        viewer: Option<AgentId>,
        now: Timestamp,
        page: Page,
    ) -> Answer {
        let needle = needle(&filter.text);
        // An unknown seller matches nothing.
        let seller = filter.seller.map(|s| self.ledger.find_agent(s));
        let owned = seller.map(|s| {
            s.into_iter()
                .flat_map(|s| self.auctions.of_seller(s, page.before))
        });
        let ids = walk(owned, self.auctions.all().len(), page);
        let (items, next) = paged(ids, page, |id| {
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
        Answer::Auctions(items, next)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::Harness;

    fn page(before: Option<u64>, limit: u32) -> Page {
        Page { before, limit }
    }

    /// Every id `row` accepts from `count` records, page after page.
    fn every_page(count: u64, limit: u32, accept: impl Fn(u64) -> bool) -> (Vec<u64>, usize) {
        let (mut all, mut pages, mut before) = (Vec::new(), 0, None);
        loop {
            let ids = walk(
                None::<std::iter::Empty<u64>>,
                count as usize,
                page(before, limit),
            );
            let (items, next) = paged(ids, page(before, limit), |id| accept(id).then_some(id));
            assert!(items.len() <= limit as usize);
            all.extend(items);
            pages += 1;
            match next {
                Some(n) => before = Some(n),
                None => return (all, pages),
            }
        }
    }

    #[test]
    fn a_page_examines_a_bounded_number_of_records_and_says_where_to_go_on() {
        let count = 2 * SCAN_BUDGET as u64 + 500;
        // Nothing matches: each page walks its budget, comes back empty
        // with a cursor below the last id it examined, and the last ends.
        let ids = walk(
            None::<std::iter::Empty<u64>>,
            count as usize,
            page(None, 50),
        );
        let (items, next) = paged(ids, page(None, 50), |_| None::<u64>);
        assert!(items.is_empty());
        assert_eq!(next, Some(count - SCAN_BUDGET as u64 + 1));
        let (found, pages) = every_page(count, 50, |_| false);
        assert!(found.is_empty());
        assert_eq!(pages, 3);

        // Sparse matches come back in order, none twice, none missed,
        // though some pages are short.
        let sparse = |id: u64| id.is_multiple_of(997);
        let (found, _) = every_page(count, 5, sparse);
        let expected: Vec<u64> = (1..=count).rev().filter(|&id| sparse(id)).collect();
        assert_eq!(found, expected);

        // Dense matches fill each page and the last one says so.
        let (found, pages) = every_page(10, 4, |_| true);
        assert_eq!(found, (1..=10).rev().collect::<Vec<_>>());
        assert_eq!(pages, 3);
        let ids = walk(None::<std::iter::Empty<u64>>, 10, page(Some(3), 4));
        assert_eq!(paged(ids, page(Some(3), 4), Some), (vec![2, 1], None));
    }

    #[test]
    fn a_full_page_whose_next_match_is_past_the_budget_resumes_after_its_last_row() {
        let count = SCAN_BUDGET as u64 + 100;
        let ids = walk(None::<std::iter::Empty<u64>>, count as usize, page(None, 2));
        let (items, next) = paged(ids, page(None, 2), |id| (id > count - 2).then_some(id));
        assert_eq!(items, [count, count - 1]);
        assert_eq!(next, Some(count - 1));
    }

    #[test]
    fn titles_match_without_regard_to_case() {
        let has = |title: &str, text: &str| title_has(title, needle(&Some(text.into())).as_deref());
        assert!(has("Need a 7-day FORECAST", "forecast"));
        assert!(has("Need a 7-day forecast", "Day Fore"));
        assert!(!has("Need a 7-day forecast", "hourly"));
        assert!(has("anything", ""));
        assert!(title_has("anything", None));
        // Outside ASCII, through Unicode lowercasing.
        assert!(has("Übersetzung ins Deutsche", "übersetzung"));
        assert!(has("ÜBERSETZUNG", "Übersetzung"));
        assert!(!has("Übersetzung", "uber"));
    }

    #[test]
    fn mine_walks_the_owners_records_only_and_pages_through_them() {
        let mut h = Harness::default();
        for agent in [1, 2, 1, 3, 1] {
            h.deposit(agent, 100);
            h.request(agent, 10, 0).unwrap();
        }
        let mine = |h: &Harness, owner: u64, before, limit| {
            let filter = RequestFilter {
                post: PostFilter {
                    owner: Some(AgentId(owner)),
                    ..PostFilter::default()
                },
                ..RequestFilter::default()
            };
            match h.market.search_requests(&filter, page(before, limit)) {
                Answer::Requests(items, next) => (
                    items.iter().map(|r| r.request_id.0).collect::<Vec<_>>(),
                    next,
                ),
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(mine(&h, 1, None, 10), (vec![5, 3, 1], None));
        assert_eq!(mine(&h, 1, None, 2), (vec![5, 3], Some(3)));
        assert_eq!(mine(&h, 1, Some(3), 2), (vec![1], None));
        assert_eq!(mine(&h, 2, None, 10), (vec![2], None));
        assert_eq!(mine(&h, 9, None, 10), (vec![], None));

        // A restored market finds the same.
        let restored = Market::from_snapshot(&h.market.snapshot()).unwrap();
        let mut back = h.clone();
        back.market = restored;
        assert_eq!(mine(&back, 1, None, 10), (vec![5, 3, 1], None));
    }
}

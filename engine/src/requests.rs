//! Requests and offers: an agent posts what it needs, others offer a
//! price, the requester accepts one offer (which becomes a transaction)
//! and every other pending offer is rejected.
//!
//! A request may keep its offers sealed for an `offer_window`: until the
//! window closes the requester sees no offer and can accept none, so a
//! fast first offer does not beat a better later one.

use crate::by_owner::{Owned, OwnedRecords};
use crate::schedule::Schedule;
use crate::segmented::Segmented;

use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::config::EngineConfig;
use crate::event::{Event, OfferChanged};
use crate::posts::{check_description, check_text, check_title, numbered};
use crate::reject::{Reject, TextField};
use crate::units::{AgentId, Amount, Currency, OfferId, RequestId, Timestamp, TransactionId};

/// Where a request stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum RequestStatus {
    /// Taking offers.
    Open,
    /// An offer was accepted, or the owner marked it done.
    Fulfilled,
    /// Its deadline passed (the owner may renew it).
    Expired,
    /// Withdrawn by its owner.
    Cancelled,
}

/// Where an offer stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum OfferStatus {
    /// Waiting for the requester.
    Pending,
    /// Accepted: a transaction was created.
    Accepted,
    /// Turned down (or another offer was accepted).
    Rejected,
    /// Taken back by the offering agent.
    Withdrawn,
    /// Its expiry passed.
    Expired,
}

/// What a request asks for, as posted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestPost {
    /// What is needed.
    pub title: String,
    /// The details.
    pub description: String,
    /// Category.
    pub category: Category,
    /// Lowest expected price.
    pub budget_min: Amount,
    /// Highest expected price.
    pub budget_max: Amount,
    /// Currency of the budget and of every offer.
    pub currency: Currency,
    /// When it expires (default: the configured lifetime from now).
    pub deadline: Option<Timestamp>,
    /// Whether an agent can fulfil it without a human.
    pub agent_ready: bool,
    /// How long offers stay sealed from the requester, in nanoseconds.
    pub offer_window_ns: i64,
}

/// What an offer proposes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferPost {
    /// The price asked.
    pub price: Amount,
    /// Its currency (must be the request's).
    pub currency: Currency,
    /// A note to the requester.
    pub message: String,
    /// When the work would be delivered.
    pub estimated_delivery: Option<Timestamp>,
    /// When the offer lapses if not accepted.
    pub expires_at: Option<Timestamp>,
}

/// A request as the engine keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Its owner.
    pub requester: AgentId,
    /// What was posted (the deadline as resolved).
    pub post: RequestPost,
    /// Status now.
    pub status: RequestStatus,
    /// When its deadline is.
    pub deadline: Timestamp,
    /// Until when offers are sealed from the requester.
    pub sealed_until: Timestamp,
    /// Its offers, oldest first.
    pub offers: Vec<OfferId>,
    /// The accepted offer.
    pub accepted: Option<OfferId>,
    /// When it was posted.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// An offer as the engine keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferRecord {
    /// The request it answers.
    pub request_id: RequestId,
    /// The offering agent.
    pub seller: AgentId,
    /// What it proposes.
    pub post: OfferPost,
    /// Status now.
    pub status: OfferStatus,
    /// The transaction its acceptance created.
    pub transaction_id: Option<TransactionId>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Something with a deadline.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
enum Due {
    Request(RequestId),
    Offer(OfferId),
}

/// All requests and offers.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Requests {
    /// By id − 1, indexed by requester.
    requests: OwnedRecords<RequestRecord>,
    /// By id − 1, indexed by offering agent.
    offers: OwnedRecords<OfferRecord>,
    due: Schedule<Due>,
}

impl Owned for RequestRecord {
    type Owner = AgentId;

    fn owner(&self) -> AgentId {
        self.requester
    }
}

impl Owned for OfferRecord {
    type Owner = AgentId;

    fn owner(&self) -> AgentId {
        self.seller
    }
}

/// What an accepted offer turns into.
pub(crate) struct Acceptance {
    pub request_id: RequestId,
    pub seller: AgentId,
    pub price: Amount,
    pub currency: Currency,
}

impl Requests {
    /// The request `id`.
    pub fn request(&self, id: RequestId) -> Result<&RequestRecord, Reject> {
        numbered(&self.requests, id.0, Reject::UnknownRequest)
    }

    /// The offer `id`.
    pub fn offer(&self, id: OfferId) -> Result<&OfferRecord, Reject> {
        numbered(&self.offers, id.0, Reject::UnknownOffer)
    }

    /// Every request, in id order.
    pub fn requests(&self) -> &Segmented<RequestRecord> {
        &self.requests
    }

    /// Every offer, in id order.
    pub fn offers(&self) -> &Segmented<OfferRecord> {
        &self.offers
    }

    /// The ids of `requester`'s requests below `before`, newest first.
    pub fn of_requester(
        &self,
        requester: AgentId,
        before: Option<u64>,
    ) -> impl Iterator<Item = u64> + '_ {
        self.requests.owned_by(requester, before)
    }

    /// The ids of `seller`'s offers below `before`, newest first.
    pub fn of_seller(
        &self,
        seller: AgentId,
        before: Option<u64>,
    ) -> impl Iterator<Item = u64> + '_ {
        self.offers.owned_by(seller, before)
    }

    /// Whether the indexes by owner list exactly each agent's requests
    /// and offers.
    pub fn index_is_whole(&self) -> bool {
        self.requests.index_is_whole() && self.offers.index_is_whole()
    }

    /// Posts a request.
    pub fn create(
        &mut self,
        requester: AgentId,
        post: &RequestPost,
        time: Timestamp,
        config: &EngineConfig,
        events: &mut Vec<Event>,
    ) -> Result<RequestId, Reject> {
        check_title(&post.title, config)?;
        check_description(&post.description, config)?;
        if post.budget_min.0 < 0 || post.budget_max.0 <= 0 || post.budget_min > post.budget_max {
            return Err(Reject::BudgetInvalid);
        }
        let deadline = post
            .deadline
            .unwrap_or(time.plus(config.request_lifetime_default_ns));
        check_deadline(deadline, time, config)?;
        if post.offer_window_ns < 0 || time.plus(post.offer_window_ns) > deadline {
            return Err(Reject::OfferWindowInvalid);
        }
        let id = RequestId(self.requests.len() as u64 + 1);
        let mut post = post.clone();
        post.deadline = Some(deadline);
        self.requests.push(RequestRecord {
            requester,
            sealed_until: time.plus(post.offer_window_ns),
            post,
            status: RequestStatus::Open,
            deadline,
            offers: Vec::new(),
            accepted: None,
            created_at: time,
            updated_at: time,
        });
        self.due.insert(deadline, Due::Request(id));
        events.push(Event::RequestChanged {
            request_id: id,
            requester,
            status: RequestStatus::Open,
        });
        Ok(id)
    }

    /// Extends an open or expired request's deadline (to `deadline`, or
    /// the configured lifetime from now) and reopens it.
    pub fn renew(
        &mut self,
        caller: AgentId,
        id: RequestId,
        deadline: Option<Timestamp>,
        time: Timestamp,
        config: &EngineConfig,
        events: &mut Vec<Event>,
    ) -> Result<RequestStatus, Reject> {
        let request = self.own_request(caller, id)?;
        if !matches!(request.status, RequestStatus::Open | RequestStatus::Expired) {
            return Err(Reject::RequestNotOpen {
                status: request.status,
            });
        }
        let deadline = deadline.unwrap_or(time.plus(config.request_lifetime_default_ns));
        check_deadline(deadline, time, config)?;
        let old = request.deadline;
        if request.status == RequestStatus::Open {
            self.due.remove(old, Due::Request(id));
        }
        self.due.insert(deadline, Due::Request(id));
        let request = self.request_mut(id);
        request.deadline = deadline;
        request.post.deadline = Some(deadline);
        Ok(self.set_request_status(id, RequestStatus::Open, time, events))
    }

    /// Closes an open or expired request as `Fulfilled` (done outside
    /// Agora) or `Cancelled` (withdrawn), rejecting its pending offers.
    pub fn close(
        &mut self,
        caller: AgentId,
        id: RequestId,
        status: RequestStatus,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<RequestStatus, Reject> {
        let request = self.own_request(caller, id)?;
        if !matches!(request.status, RequestStatus::Open | RequestStatus::Expired) {
            return Err(Reject::RequestNotOpen {
                status: request.status,
            });
        }
        if request.status == RequestStatus::Open {
            self.due.remove(request.deadline, Due::Request(id));
        }
        self.reject_pending(id, None, time, events);
        Ok(self.set_request_status(id, status, time, events))
    }

    /// Makes an offer on an open request.
    pub fn make_offer(
        &mut self,
        seller: AgentId,
        request_id: RequestId,
        post: &OfferPost,
        time: Timestamp,
        config: &EngineConfig,
        events: &mut Vec<Event>,
    ) -> Result<OfferId, Reject> {
        let request = self.request(request_id)?;
        if request.requester == seller {
            return Err(Reject::OwnRequest);
        }
        if request.status != RequestStatus::Open {
            return Err(Reject::RequestNotOpen {
                status: request.status,
            });
        }
        if post.price.0 <= 0 {
            return Err(Reject::AmountNotPositive);
        }
        if post.currency != request.post.currency {
            return Err(Reject::CurrencyMismatch {
                currency: request.post.currency,
            });
        }
        check_text(&post.message, config.text_chars_max, TextField::Message)?;
        if post.expires_at.is_some_and(|t| t <= time) {
            return Err(Reject::ExpiryInPast);
        }
        if request.offers.len() >= config.request_offers_max as usize {
            return Err(Reject::TooManyOffers);
        }
        let pending_already = request.offers.iter().any(|o| {
            let offer = &self.offers[(o.0 - 1) as usize];
            offer.seller == seller && offer.status == OfferStatus::Pending
        });
        if pending_already {
            return Err(Reject::DuplicateOffer);
        }
        let requester = request.requester;
        let id = OfferId(self.offers.len() as u64 + 1);
        self.offers.push(OfferRecord {
            request_id,
            seller,
            post: post.clone(),
            status: OfferStatus::Pending,
            transaction_id: None,
            created_at: time,
            updated_at: time,
        });
        if let Some(expiry) = post.expires_at {
            self.due.insert(expiry, Due::Offer(id));
        }
        let request = self.request_mut(request_id);
        request.offers.push(id);
        request.updated_at = time;
        events.push(Event::OfferChanged(OfferChanged {
            offer_id: id,
            request_id,
            requester,
            seller,
            status: OfferStatus::Pending,
            transaction_id: None,
        }));
        Ok(id)
    }

    /// Checks that `caller` may accept offer `id` now.
    pub fn check_accept(
        &self,
        caller: AgentId,
        id: OfferId,
        time: Timestamp,
    ) -> Result<Acceptance, Reject> {
        let offer = self.offer(id)?;
        let request = self.requester_of(caller, offer)?;
        self.check_decidable(request, offer, time)?;
        Ok(Acceptance {
            request_id: offer.request_id,
            seller: offer.seller,
            price: offer.post.price,
            currency: offer.post.currency,
        })
    }

    /// Accepts offer `id` (checked by [`Requests::check_accept`]) for
    /// `transaction_id`: rejects the request's other pending offers and
    /// marks the request fulfilled.
    pub fn accept(
        &mut self,
        id: OfferId,
        transaction_id: TransactionId,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) {
        let request_id = self.offers[(id.0 - 1) as usize].request_id;
        let deadline = self.request_mut(request_id).deadline;
        self.due.remove(deadline, Due::Request(request_id));
        self.reject_pending(request_id, Some(id), time, events);
        self.offers[(id.0 - 1) as usize].transaction_id = Some(transaction_id);
        self.set_offer_status(id, OfferStatus::Accepted, time, events);
        self.request_mut(request_id).accepted = Some(id);
        self.set_request_status(request_id, RequestStatus::Fulfilled, time, events);
    }

    /// The requester turns down a pending offer.
    pub fn reject(
        &mut self,
        caller: AgentId,
        id: OfferId,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<OfferStatus, Reject> {
        let offer = self.offer(id)?;
        let request = self.requester_of(caller, offer)?;
        self.check_decidable(request, offer, time)?;
        Ok(self.set_offer_status(id, OfferStatus::Rejected, time, events))
    }

    /// The offering agent takes back a pending offer.
    pub fn withdraw(
        &mut self,
        caller: AgentId,
        id: OfferId,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Result<OfferStatus, Reject> {
        let offer = self.offer(id)?;
        if offer.seller != caller {
            return Err(Reject::NotYourOffer);
        }
        if offer.status != OfferStatus::Pending {
            return Err(Reject::OfferNotPending {
                status: offer.status,
            });
        }
        Ok(self.set_offer_status(id, OfferStatus::Withdrawn, time, events))
    }

    /// Whether anything is due at or before `time`.
    pub fn has_due(&self, time: Timestamp) -> bool {
        self.due.next(time).is_some()
    }

    /// Expires the requests and offers whose deadline is at or before
    /// `time`, earliest first and at most `limit`; returns how many.
    pub fn expire_due(&mut self, time: Timestamp, limit: u32, events: &mut Vec<Event>) -> u32 {
        let mut count = 0;
        while count < limit {
            let Some(due) = self.due.pop(time) else {
                break;
            };
            count += 1;
            match due {
                Due::Request(id) => {
                    self.set_request_status(id, RequestStatus::Expired, time, events);
                }
                Due::Offer(id) => {
                    if self.offers[(id.0 - 1) as usize].status == OfferStatus::Pending {
                        self.set_offer_status(id, OfferStatus::Expired, time, events);
                    }
                }
            }
        }
        count
    }

    /// Whether `offer` on `request` can be accepted or rejected now.
    fn check_decidable(
        &self,
        request: &RequestRecord,
        offer: &OfferRecord,
        time: Timestamp,
    ) -> Result<(), Reject> {
        if offer.status != OfferStatus::Pending {
            return Err(Reject::OfferNotPending {
                status: offer.status,
            });
        }
        if offer.post.expires_at.is_some_and(|t| t < time) {
            return Err(Reject::DeadlinePassed);
        }
        if request.status != RequestStatus::Open {
            return Err(Reject::RequestNotOpen {
                status: request.status,
            });
        }
        if time < request.sealed_until {
            return Err(Reject::OfferWindowOpen {
                until: request.sealed_until,
            });
        }
        Ok(())
    }

    /// The request of `offer`, which `caller` must own: the offering agent
    /// is told it may not; anyone else learns nothing of the offer.
    fn requester_of(&self, caller: AgentId, offer: &OfferRecord) -> Result<&RequestRecord, Reject> {
        let request = self.request(offer.request_id)?;
        if request.requester == caller {
            Ok(request)
        } else if offer.seller == caller {
            Err(Reject::NotYourRequest)
        } else {
            Err(Reject::UnknownOffer)
        }
    }

    fn own_request(&self, caller: AgentId, id: RequestId) -> Result<&RequestRecord, Reject> {
        let request = self.request(id)?;
        if request.requester != caller {
            return Err(Reject::NotYourRequest);
        }
        Ok(request)
    }

    /// Rejects every pending offer on `request` but `except`.
    fn reject_pending(
        &mut self,
        request: RequestId,
        except: Option<OfferId>,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) {
        let offers = std::mem::take(&mut self.request_mut(request).offers);
        for &id in &offers {
            if Some(id) != except && self.offers[(id.0 - 1) as usize].status == OfferStatus::Pending
            {
                self.set_offer_status(id, OfferStatus::Rejected, time, events);
            }
        }
        self.request_mut(request).offers = offers;
    }

    fn set_offer_status(
        &mut self,
        id: OfferId,
        status: OfferStatus,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> OfferStatus {
        let offer = &mut self.offers[(id.0 - 1) as usize];
        if let Some(expiry) = offer.post.expires_at {
            self.due.remove(expiry, Due::Offer(id));
        }
        offer.status = status;
        offer.updated_at = time;
        let (request_id, seller, transaction_id) =
            (offer.request_id, offer.seller, offer.transaction_id);
        events.push(Event::OfferChanged(OfferChanged {
            offer_id: id,
            request_id,
            requester: self.requests[(request_id.0 - 1) as usize].requester,
            seller,
            status,
            transaction_id,
        }));
        status
    }

    fn set_request_status(
        &mut self,
        id: RequestId,
        status: RequestStatus,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> RequestStatus {
        let request = self.request_mut(id);
        request.status = status;
        request.updated_at = time;
        let requester = request.requester;
        events.push(Event::RequestChanged {
            request_id: id,
            requester,
            status,
        });
        status
    }

    fn request_mut(&mut self, id: RequestId) -> &mut RequestRecord {
        &mut self.requests[(id.0 - 1) as usize]
    }
}

/// Fails unless `deadline` is after `time` and within the configured
/// lifetime.
fn check_deadline(
    deadline: Timestamp,
    time: Timestamp,
    config: &EngineConfig,
) -> Result<(), Reject> {
    if deadline <= time {
        return Err(Reject::DeadlineInPast);
    }
    if deadline > time.plus(config.deadline_max_ns) {
        return Err(Reject::DeadlineTooFar {
            max: time.plus(config.deadline_max_ns),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::RequestOp;
    use crate::testkit::{amt, credits, Harness};
    use crate::units::SCALE;

    fn statuses(h: &Harness, request: RequestId) -> Vec<OfferStatus> {
        let r = h.market.requests.request(request).unwrap();
        r.offers
            .iter()
            .map(|o| h.market.requests.offer(*o).unwrap().status)
            .collect()
    }

    #[test]
    fn accepting_one_offer_rejects_the_others_and_fulfils_the_request() {
        let mut h = Harness::default();
        let request = h.request(1, 15, 0).unwrap();
        let a = h.offer(2, request, 12).unwrap();
        let b = h.offer(3, request, 10).unwrap();
        let c = h.offer(4, request, 11).unwrap();
        h.requests(4, RequestOp::WithdrawOffer { offer_id: c })
            .unwrap();
        // Another offerer learns nothing of offer b; b's maker is told no.
        assert_eq!(h.accept(2, b), Err(Reject::UnknownOffer));
        assert_eq!(h.accept(3, b), Err(Reject::NotYourRequest));
        let tx = h.accept(1, b).unwrap();
        assert_eq!(
            statuses(&h, request),
            vec![
                OfferStatus::Rejected,
                OfferStatus::Accepted,
                OfferStatus::Withdrawn
            ]
        );
        let r = h.market.requests.request(request).unwrap();
        assert_eq!((r.status, r.accepted), (RequestStatus::Fulfilled, Some(b)));
        let view = h.tx(tx);
        assert_eq!(
            (view.buyer, view.seller, view.amount),
            (AgentId(1), AgentId(3), amt(10))
        );
        assert_eq!(
            h.accept(1, a),
            Err(Reject::OfferNotPending {
                status: OfferStatus::Rejected
            })
        );
        assert_eq!(
            h.offer(5, request, 9),
            Err(Reject::RequestNotOpen {
                status: RequestStatus::Fulfilled
            })
        );
    }

    #[test]
    fn bad_requests_and_offers_are_refused() {
        let mut h = Harness::default();
        let request = h.request(1, 15, 0).unwrap();
        assert_eq!(h.offer(1, request, 10), Err(Reject::OwnRequest));
        assert_eq!(h.offer(2, request, 0), Err(Reject::AmountNotPositive));
        assert_eq!(h.offer(2, RequestId(9), 1), Err(Reject::UnknownRequest));
        h.offer(2, request, 10).unwrap();
        assert_eq!(h.offer(2, request, 9), Err(Reject::DuplicateOffer));
        let usd = OfferPost {
            price: amt(1),
            currency: Currency::new("USD").unwrap(),
            message: String::new(),
            estimated_delivery: None,
            expires_at: None,
        };
        assert_eq!(
            h.requests(
                3,
                RequestOp::MakeOffer {
                    request_id: request,
                    offer: usd
                }
            ),
            Err(Reject::CurrencyMismatch {
                currency: credits()
            })
        );
        let mut post = RequestPost {
            title: "  ".into(),
            description: String::new(),
            category: crate::category::Category::Other,
            budget_min: amt(5),
            budget_max: amt(1),
            currency: credits(),
            deadline: None,
            agent_ready: false,
            offer_window_ns: 0,
        };
        assert_eq!(
            h.requests(1, RequestOp::Create(post.clone())),
            Err(Reject::TitleEmpty)
        );
        post.title = "x".repeat(201);
        assert_eq!(
            h.requests(1, RequestOp::Create(post.clone())),
            Err(Reject::TextTooLong {
                field: TextField::Title,
                max: 200
            })
        );
        post.title = "ok".into();
        assert_eq!(
            h.requests(1, RequestOp::Create(post.clone())),
            Err(Reject::BudgetInvalid)
        );
        post.budget_max = amt(9);
        post.deadline = Some(Timestamp(1));
        assert_eq!(
            h.requests(1, RequestOp::Create(post.clone())),
            Err(Reject::DeadlineInPast)
        );
        post.deadline = None;
        post.offer_window_ns = i64::MAX;
        assert_eq!(
            h.requests(1, RequestOp::Create(post)),
            Err(Reject::OfferWindowInvalid)
        );
    }

    #[test]
    fn sealed_offers_stay_hidden_and_unacceptable_until_the_window_closes() {
        let mut h = Harness::default();
        let window = 60 * SCALE; // a minute, in ns
        let request = h.request(1, 15, window).unwrap();
        let fast = h.offer(2, request, 14).unwrap();
        let better = h.offer(3, request, 9).unwrap();
        let now = Timestamp(h.time);
        let until = h.market.requests.request(request).unwrap().sealed_until;
        assert_eq!(
            h.market.visible_offers(AgentId(1), request, now),
            Err(Reject::OfferWindowOpen { until })
        );
        assert_eq!(h.accept(1, fast), Err(Reject::OfferWindowOpen { until }));
        // Each offerer sees only its own.
        let own = h.market.visible_offers(AgentId(3), request, now).unwrap();
        assert_eq!(
            own.iter().map(|o| o.offer_id).collect::<Vec<_>>(),
            vec![better]
        );
        assert!(h
            .market
            .visible_offers(AgentId(9), request, now)
            .unwrap()
            .is_empty());
        assert_eq!(
            h.market.offer_view(AgentId(3), fast, now),
            Err(Reject::NotYourOffer)
        );
        h.time = until.0;
        assert_eq!(
            h.market
                .visible_offers(AgentId(1), request, until)
                .unwrap()
                .len(),
            2
        );
        h.accept(1, better).unwrap();
    }

    #[test]
    fn requests_expire_and_renew_and_offers_expire() {
        let mut h = Harness::default();
        let request = h.request(1, 15, 0).unwrap();
        let expiry = Timestamp(h.time + 100);
        let mut offer = OfferPost {
            price: amt(5),
            currency: credits(),
            message: String::new(),
            estimated_delivery: None,
            expires_at: Some(Timestamp(h.time)),
        };
        // An offer that has already expired is refused as such.
        let expired = RequestOp::MakeOffer {
            request_id: request,
            offer: offer.clone(),
        };
        assert_eq!(h.requests(2, expired), Err(Reject::ExpiryInPast));
        offer.expires_at = Some(expiry);
        let Ok(crate::Ack::Offer { offer_id, .. }) = h.requests(
            2,
            RequestOp::MakeOffer {
                request_id: request,
                offer,
            },
        ) else {
            panic!("offer accepted")
        };
        h.tick_at(expiry.0).unwrap();
        assert_eq!(
            h.market.requests.offer(offer_id).unwrap().status,
            OfferStatus::Expired
        );
        let deadline = h.market.requests.request(request).unwrap().deadline;
        h.tick_at(deadline.0).unwrap();
        assert_eq!(
            h.market.requests.request(request).unwrap().status,
            RequestStatus::Expired
        );
        assert_eq!(
            h.offer(3, request, 5),
            Err(Reject::RequestNotOpen {
                status: RequestStatus::Expired
            })
        );
        assert_eq!(
            h.requests(
                2,
                RequestOp::Renew {
                    request_id: request,
                    deadline: None
                }
            ),
            Err(Reject::NotYourRequest)
        );
        h.requests(
            1,
            RequestOp::Renew {
                request_id: request,
                deadline: None,
            },
        )
        .unwrap();
        assert_eq!(
            h.market.requests.request(request).unwrap().status,
            RequestStatus::Open
        );
        h.offer(3, request, 5).unwrap();
        h.requests(
            1,
            RequestOp::Fulfil {
                request_id: request,
            },
        )
        .unwrap();
        assert_eq!(statuses(&h, request).last(), Some(&OfferStatus::Rejected));
        assert_eq!(
            h.requests(
                1,
                RequestOp::Renew {
                    request_id: request,
                    deadline: None
                }
            ),
            Err(Reject::RequestNotOpen {
                status: RequestStatus::Fulfilled
            })
        );
    }
}

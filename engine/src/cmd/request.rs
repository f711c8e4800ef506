//! `RequestAction`: post, renew, fulfil or cancel a request; make,
//! accept, reject or withdraw an offer. Accepting an offer opens a pending
//! transaction between the requester (buyer) and the offering agent.

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::market::{Deal, Market};
use crate::reply::{Ack, Reply};
use crate::requests::{OfferPost, OfferStatus, RequestPost, RequestStatus};
use crate::transactions::Origin;
use crate::units::{AgentId, OfferId, Quantity, RequestId, Timestamp};

/// One agent's action on requests and offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestAction {
    /// The acting agent.
    pub agent: AgentId,
    /// What to do.
    pub op: RequestOp,
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestOp {
    /// Post a request.
    Create(RequestPost),
    /// Owner: extend the deadline (to `deadline`, or the default lifetime
    /// from now) and reopen an expired request.
    Renew {
        /// The request.
        request_id: RequestId,
        /// The new deadline.
        deadline: Option<Timestamp>,
    },
    /// Owner: mark done (outside Agora); pending offers are rejected.
    Fulfil {
        /// The request.
        request_id: RequestId,
    },
    /// Owner: withdraw; pending offers are rejected.
    Cancel {
        /// The request.
        request_id: RequestId,
    },
    /// Offer a price on someone's open request.
    MakeOffer {
        /// The request.
        request_id: RequestId,
        /// The offer.
        offer: OfferPost,
    },
    /// Requester: accept an offer, creating a transaction.
    AcceptOffer {
        /// The offer.
        offer_id: OfferId,
    },
    /// Requester: turn an offer down.
    RejectOffer {
        /// The offer.
        offer_id: OfferId,
    },
    /// Offering agent: take an offer back.
    WithdrawOffer {
        /// The offer.
        offer_id: OfferId,
    },
}

impl RequestAction {
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        let agent = self.agent;
        let request_ack = |request_id, status| Ack::Request { request_id, status };
        let offer_ack = |offer_id, status| Ack::Offer {
            offer_id,
            status,
            transaction_id: None,
        };
        match &self.op {
            RequestOp::Create(post) => {
                let id = market.priced_in(post.currency, |m| {
                    m.requests.create(agent, post, time, &m.config, events)
                })?;
                Ok(request_ack(id, RequestStatus::Open))
            }
            RequestOp::Renew {
                request_id,
                deadline,
            } => {
                let status = market.requests.renew(
                    agent,
                    *request_id,
                    *deadline,
                    time,
                    &market.config,
                    events,
                )?;
                Ok(request_ack(*request_id, status))
            }
            RequestOp::Fulfil { request_id } | RequestOp::Cancel { request_id } => {
                let to = match self.op {
                    RequestOp::Fulfil { .. } => RequestStatus::Fulfilled,
                    _ => RequestStatus::Cancelled,
                };
                let status = market
                    .requests
                    .close(agent, *request_id, to, time, events)?;
                Ok(request_ack(*request_id, status))
            }
            RequestOp::MakeOffer { request_id, offer } => {
                let id = market.requests.make_offer(
                    agent,
                    *request_id,
                    offer,
                    time,
                    &market.config,
                    events,
                )?;
                Ok(offer_ack(id, OfferStatus::Pending))
            }
            RequestOp::AcceptOffer { offer_id } => {
                let accepted = market.requests.check_accept(agent, *offer_id, time)?;
                let deal = Deal {
                    origin: Origin::Offer {
                        offer_id: *offer_id,
                        request_id: accepted.request_id,
                    },
                    buyer: agent,
                    seller: accepted.seller,
                    currency: accepted.currency,
                    quantity: Quantity::units(1),
                    price: crate::units::Price(accepted.price.0),
                    amount: accepted.price,
                };
                let tx = market.open_transaction(deal, time, events);
                market.requests.accept(*offer_id, tx, time, events);
                Ok(Ack::Offer {
                    offer_id: *offer_id,
                    status: OfferStatus::Accepted,
                    transaction_id: Some(tx),
                })
            }
            RequestOp::RejectOffer { offer_id } => {
                let status = market.requests.reject(agent, *offer_id, time, events)?;
                Ok(offer_ack(*offer_id, status))
            }
            RequestOp::WithdrawOffer { offer_id } => {
                let status = market.requests.withdraw(agent, *offer_id, time, events)?;
                Ok(offer_ack(*offer_id, status))
            }
        }
    }
}

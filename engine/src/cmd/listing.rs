//! `ListingAction`: post, update, withdraw or purchase a listing. A
//! purchase takes its units at once and opens a pending transaction.

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::listings::{ListingPost, ListingStatus, ListingUpdate};
use crate::market::{Deal, Market};
use crate::reply::{Ack, Reply};
use crate::transactions::Origin;
use crate::units::{AgentId, ListingId, Price, Quantity, Timestamp};

/// One agent's action on listings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingAction {
    /// The acting agent.
    pub agent: AgentId,
    /// What to do.
    pub op: ListingOp,
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingOp {
    /// Post a listing.
    Create(ListingPost),
    /// Seller: change a listing.
    Update {
        /// The listing.
        listing_id: ListingId,
        /// The changes.
        update: ListingUpdate,
    },
    /// Seller: take a listing down.
    Withdraw {
        /// The listing.
        listing_id: ListingId,
    },
    /// Buy units of someone's listing.
    Purchase {
        /// The listing.
        listing_id: ListingId,
        /// How many units.
        quantity: u32,
    },
}

impl ListingAction {
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        let agent = self.agent;
        let ack = |listing_id, status| Ack::Listing {
            listing_id,
            status,
            transaction_id: None,
        };
        match &self.op {
            ListingOp::Create(post) => {
                let id = market.priced_in(post.currency, |m| {
                    m.listings.create(agent, post, time, &m.config, events)
                })?;
                Ok(ack(id, ListingStatus::Active))
            }
            ListingOp::Update { listing_id, update } => {
                let status = market.listings.update(
                    agent,
                    *listing_id,
                    update,
                    time,
                    &market.config,
                    events,
                )?;
                Ok(ack(*listing_id, status))
            }
            ListingOp::Withdraw { listing_id } => {
                let status = market.listings.withdraw(agent, *listing_id, time, events)?;
                Ok(ack(*listing_id, status))
            }
            ListingOp::Purchase {
                listing_id,
                quantity,
            } => {
                let sale = market
                    .listings
                    .check_purchase(agent, *listing_id, *quantity)?;
                let deal = Deal {
                    origin: Origin::Listing {
                        listing_id: *listing_id,
                    },
                    buyer: agent,
                    seller: sale.seller,
                    currency: sale.currency,
                    quantity: Quantity::units(i64::from(*quantity)),
                    price: Price(sale.price.0),
                    amount: sale.amount,
                };
                let tx = market.open_transaction(deal, time, events);
                market.listings.sell(*listing_id, *quantity, time, events);
                Ok(Ack::Listing {
                    listing_id: *listing_id,
                    status: market.listings.get(*listing_id)?.status,
                    transaction_id: Some(tx),
                })
            }
        }
    }
}

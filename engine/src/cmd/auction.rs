//! `AuctionAction`: create an auction, bid, accept a Dutch price, cancel.
//! A win (at the close, by buy-now, or on a Dutch auction at once) moves
//! the winner's money into the escrow of a new funded transaction.

use serde::{Deserialize, Serialize};

use crate::auctions::{AuctionKind, AuctionPost, AuctionRecord, AuctionStatus, BidOutcome};
use crate::event::{Event, PostingKind};
use crate::ledger::Acct;
use crate::market::Market;
use crate::posts::{check_description, check_title};
use crate::reject::{AuctionProblem, Reject};
use crate::reply::{Ack, Reply};
use crate::transactions::{Origin, TxRecord, TxStatus};
use crate::units::{AgentId, Amount, AuctionId, Currency, Price, Quantity, Timestamp};

/// One agent's action on auctions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuctionAction {
    /// The acting agent.
    pub agent: AgentId,
    /// What to do.
    pub op: AuctionOp,
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuctionOp {
    /// Open an auction priced in `currency`.
    Create {
        /// The auction.
        post: AuctionPost,
        /// Its currency.
        currency: Currency,
    },
    /// Bid `amount` (Dutch: at least the current price, which is paid).
    Bid {
        /// The auction.
        auction_id: AuctionId,
        /// The bid.
        amount: Amount,
        /// The bid's currency, if the bidder named one (it must be the
        /// auction's).
        currency: Option<Currency>,
    },
    /// Dutch: take the current price.
    Accept {
        /// The auction.
        auction_id: AuctionId,
    },
    /// Seller: cancel before the first bid.
    Cancel {
        /// The auction.
        auction_id: AuctionId,
    },
}

impl AuctionAction {
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        let agent = self.agent;
        match &self.op {
            AuctionOp::Create { post, currency } => {
                check_post(post, agent, time, market)?;
                let auction_id = market.priced_in(*currency, |m| {
                    let record = AuctionRecord {
                        seller: m.ledger.agent(agent),
                        currency: m.ledger.currency_id(*currency),
                        post: post.clone(),
                        status: AuctionStatus::Open,
                        ends_at: post.ends_at,
                        bids: Vec::new(),
                        leader: None,
                        winner: None,
                        transaction_id: None,
                        created_at: time,
                        next_step: None,
                        standing: Default::default(),
                    };
                    Ok(m.auctions.create(record))
                })?;
                events.push(Event::AuctionOpened {
                    auction_id,
                    seller: agent,
                });
                Ok(Ack::Auction {
                    auction_id,
                    status: AuctionStatus::Open,
                })
            }
            AuctionOp::Bid {
                auction_id,
                amount,
                currency,
            } => {
                let a = market.auctions.get(*auction_id)?;
                let expected = market.ledger.currency_code(a.currency);
                if currency.is_some_and(|c| c != expected) {
                    return Err(Reject::CurrencyMismatch { currency: expected });
                }
                bid(market, agent, *auction_id, *amount, time, events)
            }
            AuctionOp::Accept { auction_id } => {
                let a = market.auctions.get(*auction_id)?;
                let price = a.dutch_price(time).ok_or(Reject::NotDutch)?;
                bid(market, agent, *auction_id, price, time, events)
            }
            AuctionOp::Cancel { auction_id } => {
                let me = market.ledger.find_agent(agent);
                let status = market
                    .auctions
                    .cancel(*auction_id, me, events, &market.ledger)?;
                Ok(Ack::Auction {
                    auction_id: *auction_id,
                    status,
                })
            }
        }
    }
}

fn bid(
    market: &mut Market,
    agent: AgentId,
    id: AuctionId,
    amount: Amount,
    time: Timestamp,
    events: &mut Vec<Event>,
) -> Reply {
    let me = market.ledger.find_agent(agent);
    market
        .auctions
        .check_bid(id, me, amount, time, &market.ledger)?;
    let bidder = market.ledger.agent(agent);
    let outcome = market
        .auctions
        .bid(id, bidder, amount, time, &mut market.ledger, events);
    let status = match outcome {
        BidOutcome::Placed => AuctionStatus::Open,
        BidOutcome::Won(price) => {
            close(market, id, Some(price), time, events);
            AuctionStatus::Won
        }
    };
    Ok(Ack::Auction {
        auction_id: id,
        status,
    })
}

/// Closes auction `id` (`won_now`: a win during bidding at that price) and
/// turns a win into a funded transaction.
pub(crate) fn close(
    market: &mut Market,
    id: AuctionId,
    won_now: Option<Amount>,
    time: Timestamp,
    events: &mut Vec<Event>,
) {
    let Some((winner, price)) = market
        .auctions
        .close(id, won_now, &mut market.ledger, events)
    else {
        return;
    };
    let a = market.auctions.get(id).expect("exists");
    let (seller, currency) = (a.seller, a.currency);
    // A Dutch winner pays from its available funds; others from the hold.
    let from = match a.post.kind {
        AuctionKind::Dutch { .. } => Acct::Available(winner),
        _ => Acct::Held(winner),
    };
    let transaction_id = market.ledger.open_escrow(currency);
    let record = TxRecord {
        origin: Origin::Auction { auction_id: id },
        buyer: winner,
        seller,
        currency,
        status: TxStatus::EscrowFunded,
        quantity: Quantity::units(1),
        price: Price(price.0),
        amount: price,
        created_at: time,
        deadline: Timestamp(0),
    };
    market
        .transactions
        .open(transaction_id, record, &market.terms);
    if price.0 > 0 {
        market.ledger.transfer(
            PostingKind::AuctionEscrow,
            currency,
            from,
            Acct::Escrow(transaction_id),
            price,
            None,
            events,
        );
    }
    market.auctions.settled(id, transaction_id);
    events.push(Event::AuctionWon {
        auction_id: id,
        winner: market.ledger.agent_id(winner),
        price,
        transaction_id,
    });
}

/// Validates a new auction's rules.
fn check_post(
    post: &AuctionPost,
    seller: AgentId,
    time: Timestamp,
    market: &Market,
) -> Result<(), Reject> {
    let config = &market.config;
    check_title(&post.title, config)?;
    check_description(&post.description, config)?;
    let bad = |problem| Err(Reject::AuctionInvalid { problem });
    if let Some(listing_id) = post.listing_id {
        if market.listings.get(listing_id)?.seller != seller {
            return Err(Reject::NotYourListing);
        }
    }
    if post.starting_price.0 <= 0 {
        return bad(AuctionProblem::StartingPrice);
    }
    if post.reserve.is_some_and(|r| r.0 < 0) {
        return bad(AuctionProblem::Reserve);
    }
    if post.starts_at < Timestamp(0) || post.ends_at <= post.starts_at.max(time) {
        return bad(AuctionProblem::EndsAt);
    }
    if post.ends_at > time.plus(config.deadline_max_ns) {
        return Err(Reject::DeadlineTooFar {
            max: time.plus(config.deadline_max_ns),
        });
    }
    match post.kind {
        AuctionKind::English {
            min_increment,
            buy_now,
            extension_ns,
        } => {
            if min_increment.0 <= 0 {
                return bad(AuctionProblem::MinIncrement);
            }
            if buy_now.is_some_and(|b| b <= post.starting_price) {
                return bad(AuctionProblem::BuyNow);
            }
            if !(0..=crate::config::DAY_NS).contains(&extension_ns) {
                return bad(AuctionProblem::Extension);
            }
        }
        AuctionKind::Dutch {
            floor,
            decrement,
            interval_ns,
        } => {
            if floor.0 < 0 || floor > post.starting_price {
                return bad(AuctionProblem::Floor);
            }
            if decrement.0 <= 0 {
                return bad(AuctionProblem::Decrement);
            }
            if interval_ns < 1_000_000_000 {
                return bad(AuctionProblem::Interval);
            }
            if post.reserve.is_some() {
                return bad(AuctionProblem::Reserve);
            }
        }
        AuctionKind::SealedBid { .. } => {}
    }
    Ok(())
}

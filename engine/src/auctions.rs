//! Auctions: English (ascending, with a minimum increment, an optional
//! buy-now price and anti-sniping extensions), Dutch (the price falls on a
//! schedule; the first bid at or above it wins at once) and sealed-bid
//! (one hidden, replaceable bid per agent; first or second price).
//!
//! Bids hold the bidder's funds: an English auction holds its leading bid
//! (the outbid bidder's hold is released in the same step), a sealed-bid
//! auction every bid. At the close the winner's hold becomes the escrow of
//! a new funded transaction and everything else is released. Time arrives
//! by `Tick`: ends and Dutch price steps sit in one ordered set.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::event::{Event, PostingKind};
use crate::ledger::{Acct, AgentIdx, CurrencyId, Ledger};
use crate::posts::numbered;
use crate::reject::Reject;
use crate::units::{Amount, AuctionId, Timestamp};

/// How a sealed-bid winner pays.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pricing {
    /// Its own bid.
    FirstPrice,
    /// The second-highest bid, or the reserve if higher (Vickrey).
    SecondPrice,
}

/// The kind of auction and its own rules.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuctionKind {
    /// Ascending bids.
    English {
        /// A new bid must beat the leading one by at least this.
        min_increment: Amount,
        /// A bid of at least this wins at once, at this price.
        buy_now: Option<Amount>,
        /// A bid this close to the end moves the end to this long after it
        /// (0: no extension), in nanoseconds.
        extension_ns: i64,
    },
    /// A falling price.
    Dutch {
        /// The price never falls below this.
        floor: Amount,
        /// How much it falls at each step.
        decrement: Amount,
        /// Nanoseconds between steps.
        interval_ns: i64,
    },
    /// Hidden bids, revealed at the close.
    SealedBid {
        /// What the winner pays.
        pricing: Pricing,
    },
}

/// Where an auction stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuctionStatus {
    /// Taking bids (or waiting for its start).
    Open,
    /// Won: a transaction was created.
    Won,
    /// Closed without a winner (no bid, or the reserve not met).
    Unsold,
    /// Cancelled by the seller before any bid.
    Cancelled,
}

/// What an auction offers, as posted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuctionPost {
    /// What is sold.
    pub title: String,
    /// The details.
    pub description: String,
    /// The seller's listing this auction sells, if any.
    pub listing_id: Option<crate::units::ListingId>,
    /// Kind and rules.
    pub kind: AuctionKind,
    /// The lowest first bid (English, sealed) or the opening price (Dutch).
    pub starting_price: Amount,
    /// No sale below this.
    pub reserve: Option<Amount>,
    /// When bidding opens.
    pub starts_at: Timestamp,
    /// When it closes (English: unless extended).
    pub ends_at: Timestamp,
}

/// One bid.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bid {
    /// The bidder (ledger index).
    pub(crate) bidder: AgentIdx,
    /// The amount bid.
    pub amount: Amount,
    /// When.
    pub time: Timestamp,
}

/// An auction as the engine keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuctionRecord {
    pub(crate) seller: AgentIdx,
    pub(crate) currency: CurrencyId,
    /// What was posted.
    pub post: AuctionPost,
    /// Status now.
    pub status: AuctionStatus,
    /// When it closes now (English: after extensions).
    pub ends_at: Timestamp,
    /// Every bid in order (a sealed bid replaced is marked by a later one
    /// of the same bidder).
    pub bids: Vec<Bid>,
    /// English: the index of the leading bid; sealed: unused.
    pub(crate) leader: Option<u32>,
    /// The winning bid's index and the price paid.
    pub(crate) winner: Option<(u32, Amount)>,
    /// The transaction the win created.
    pub transaction_id: Option<crate::units::TransactionId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// Dutch: when the next price step is scheduled, if one is.
    pub(crate) next_step: Option<Timestamp>,
    /// Sealed-bid: each bidder's standing (latest) bid, by index.
    pub(crate) standing: BTreeMap<AgentIdx, u32>,
}

/// Something that happens to an auction at a time.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum Due {
    /// A Dutch price step.
    Step(AuctionId),
    /// The close.
    End(AuctionId),
}

/// All auctions.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Auctions {
    /// By id − 1.
    auctions: Vec<AuctionRecord>,
    due: BTreeSet<(Timestamp, Due)>,
}

/// The outcome of a bid.
pub(crate) enum BidOutcome {
    /// The bid stands (leading, or sealed).
    Placed,
    /// The bid won at once at this price (buy-now, Dutch).
    Won(Amount),
}

impl AuctionRecord {
    /// A Dutch auction's price at `time`: the starting price less one
    /// decrement per whole interval since the start, never below the floor.
    pub fn dutch_price(&self, time: Timestamp) -> Option<Amount> {
        let AuctionKind::Dutch {
            floor,
            decrement,
            interval_ns,
        } = self.post.kind
        else {
            return None;
        };
        let steps = (time.0 - self.post.starts_at.0).max(0) / interval_ns.max(1);
        let fallen = i128::from(decrement.0) * i128::from(steps);
        let price = (i128::from(self.post.starting_price.0) - fallen).max(i128::from(floor.0));
        Some(Amount(price as i64))
    }

    /// The leading English bid.
    pub fn leading(&self) -> Option<&Bid> {
        self.leader.map(|i| &self.bids[i as usize])
    }

    /// Each bidder's standing sealed bid (its latest), in bid order.
    pub fn sealed_bids(&self) -> Vec<(u32, &Bid)> {
        let mut out: Vec<(u32, &Bid)> = self
            .standing
            .values()
            .map(|&i| (i, &self.bids[i as usize]))
            .collect();
        out.sort_unstable_by_key(|(i, _)| *i);
        out
    }

    /// What `bidder` has held for this auction now.
    pub(crate) fn held_by(&self, bidder: AgentIdx) -> Amount {
        if self.status != AuctionStatus::Open {
            return Amount::ZERO;
        }
        match self.post.kind {
            AuctionKind::English { .. } => self
                .leading()
                .filter(|b| b.bidder == bidder)
                .map_or(Amount::ZERO, |b| b.amount),
            AuctionKind::SealedBid { .. } => self
                .standing
                .get(&bidder)
                .map_or(Amount::ZERO, |&i| self.bids[i as usize].amount),
            AuctionKind::Dutch { .. } => Amount::ZERO,
        }
    }

    /// The winning bid and the price paid, once won.
    pub fn winner(&self) -> Option<(&Bid, Amount)> {
        self.winner
            .map(|(i, price)| (&self.bids[i as usize], price))
    }
}

impl Auctions {
    /// The auction `id`.
    pub fn get(&self, id: AuctionId) -> Result<&AuctionRecord, Reject> {
        numbered(&self.auctions, id.0, Reject::UnknownAuction)
    }

    /// Every auction, in id order.
    pub fn all(&self) -> &[AuctionRecord] {
        &self.auctions
    }

    /// Whether anything is due at or before `time`.
    pub fn has_due(&self, time: Timestamp) -> bool {
        self.due.first().is_some_and(|(t, _)| *t <= time)
    }

    /// The earliest thing due at or before `time`, taken off the schedule.
    pub fn pop_due(&mut self, time: Timestamp) -> Option<Due> {
        match self.due.first() {
            Some(&(t, due)) if t <= time => {
                self.due.pop_first();
                Some(due)
            }
            _ => None,
        }
    }

    /// Adds a validated auction; returns its id.
    pub fn create(&mut self, mut record: AuctionRecord) -> AuctionId {
        let id = AuctionId(self.auctions.len() as u64 + 1);
        self.due.insert((record.ends_at, Due::End(id)));
        if let AuctionKind::Dutch { interval_ns, .. } = record.post.kind {
            let first = record.post.starts_at.plus(interval_ns);
            if first < record.ends_at {
                self.due.insert((first, Due::Step(id)));
                record.next_step = Some(first);
            }
        }
        self.auctions.push(record);
        id
    }

    /// Takes auction `id` off the schedule (its end and any price step).
    fn unschedule(&mut self, id: AuctionId) {
        let a = &mut self.auctions[(id.0 - 1) as usize];
        self.due.remove(&(a.ends_at, Due::End(id)));
        if let Some(step) = a.next_step.take() {
            self.due.remove(&(step, Due::Step(id)));
        }
    }

    /// Checks a bid of `amount` by `bidder` at `time`, changing nothing.
    pub fn check_bid(
        &self,
        id: AuctionId,
        bidder: Option<AgentIdx>,
        amount: Amount,
        time: Timestamp,
        ledger: &Ledger,
    ) -> Result<(), Reject> {
        let a = self.get(id)?;
        if bidder == Some(a.seller) {
            return Err(Reject::OwnAuction);
        }
        if a.status != AuctionStatus::Open {
            return Err(Reject::AuctionNotOpen { status: a.status });
        }
        if time < a.post.starts_at {
            return Err(Reject::AuctionNotStarted {
                starts_at: a.post.starts_at,
            });
        }
        if time >= a.ends_at {
            return Err(Reject::DeadlinePassed);
        }
        let held = bidder.map_or(Amount::ZERO, |b| a.held_by(b));
        let (minimum, needed) = match a.post.kind {
            AuctionKind::English { min_increment, .. } => {
                let minimum = match a.leading() {
                    Some(lead) => Amount(lead.amount.0.saturating_add(min_increment.0)),
                    None => a.post.starting_price,
                };
                (minimum, Amount(amount.0 - held.0))
            }
            AuctionKind::Dutch { .. } => {
                let price = a.dutch_price(time).expect("a Dutch auction");
                (price, price)
            }
            AuctionKind::SealedBid { .. } => (a.post.starting_price, Amount(amount.0 - held.0)),
        };
        if amount < minimum {
            return Err(Reject::BidTooLow { minimum });
        }
        if needed.0 > 0 {
            let available =
                bidder.map_or(Amount::ZERO, |b| ledger.balance(b, a.currency).available);
            if available < needed {
                return Err(Reject::InsufficientFunds {
                    currency: ledger.currency_code(a.currency),
                    required: needed,
                    available,
                });
            }
        }
        Ok(())
    }

    /// Places a bid that [`Auctions::check_bid`] accepted.
    pub fn bid(
        &mut self,
        id: AuctionId,
        bidder: AgentIdx,
        amount: Amount,
        time: Timestamp,
        ledger: &mut Ledger,
        events: &mut Vec<Event>,
    ) -> BidOutcome {
        let index = (id.0 - 1) as usize;
        let a = &mut self.auctions[index];
        let currency = a.currency;
        let bidder_id = ledger.agent_id(bidder);
        let number = a.bids.len() as u32;
        match a.post.kind {
            AuctionKind::English {
                buy_now,
                extension_ns,
                ..
            } => {
                let previous = a.leading().copied();
                match previous {
                    Some(lead) if lead.bidder == bidder => {
                        hold(
                            ledger,
                            currency,
                            bidder,
                            Amount(amount.0 - lead.amount.0),
                            events,
                        );
                    }
                    _ => {
                        hold(ledger, currency, bidder, amount, events);
                        if let Some(lead) = previous {
                            release(ledger, currency, lead.bidder, lead.amount, events);
                            events.push(Event::AuctionOutbid {
                                auction_id: id,
                                bidder: ledger.agent_id(lead.bidder),
                                amount,
                            });
                        }
                    }
                }
                a.bids.push(Bid {
                    bidder,
                    amount,
                    time,
                });
                a.leader = Some(number);
                events.push(Event::AuctionBid {
                    auction_id: id,
                    bidder: bidder_id,
                    amount: Some(amount),
                });
                if let Some(price) = buy_now.filter(|p| amount >= *p) {
                    return BidOutcome::Won(price);
                }
                if extension_ns > 0 && a.ends_at.0 - time.0 <= extension_ns {
                    let old = a.ends_at;
                    a.ends_at = time.plus(extension_ns);
                    self.due.remove(&(old, Due::End(id)));
                    self.due
                        .insert((self.auctions[index].ends_at, Due::End(id)));
                }
                BidOutcome::Placed
            }
            AuctionKind::Dutch { .. } => {
                let price = a.dutch_price(time).expect("a Dutch auction");
                a.bids.push(Bid {
                    bidder,
                    amount: price,
                    time,
                });
                a.leader = Some(number);
                events.push(Event::AuctionBid {
                    auction_id: id,
                    bidder: bidder_id,
                    amount: Some(price),
                });
                BidOutcome::Won(price)
            }
            AuctionKind::SealedBid { .. } => {
                let held = a.held_by(bidder);
                if held.0 > 0 {
                    release(ledger, currency, bidder, held, events);
                }
                hold(ledger, currency, bidder, amount, events);
                a.bids.push(Bid {
                    bidder,
                    amount,
                    time,
                });
                a.standing.insert(bidder, number);
                events.push(Event::AuctionBid {
                    auction_id: id,
                    bidder: bidder_id,
                    amount: None,
                });
                BidOutcome::Placed
            }
        }
    }

    /// The seller cancels an auction that has no bid yet.
    pub fn cancel(
        &mut self,
        id: AuctionId,
        caller: Option<AgentIdx>,
        events: &mut Vec<Event>,
        ledger: &Ledger,
    ) -> Result<AuctionStatus, Reject> {
        let a = self.get(id)?;
        if caller != Some(a.seller) {
            return Err(Reject::NotYourAuction);
        }
        if a.status != AuctionStatus::Open {
            return Err(Reject::AuctionNotOpen { status: a.status });
        }
        if !a.bids.is_empty() {
            return Err(Reject::AuctionHasBids);
        }
        self.unschedule(id);
        let a = &mut self.auctions[(id.0 - 1) as usize];
        a.status = AuctionStatus::Cancelled;
        events.push(Event::AuctionClosed {
            auction_id: id,
            seller: ledger.agent_id(a.seller),
            status: AuctionStatus::Cancelled,
        });
        Ok(AuctionStatus::Cancelled)
    }

    /// A Dutch price step: announces the new price and schedules the next
    /// step, until the floor.
    pub fn step(&mut self, id: AuctionId, time: Timestamp, events: &mut Vec<Event>) {
        let a = &mut self.auctions[(id.0 - 1) as usize];
        a.next_step = None;
        if a.status != AuctionStatus::Open {
            return;
        }
        let AuctionKind::Dutch {
            floor, interval_ns, ..
        } = a.post.kind
        else {
            return;
        };
        let price = a.dutch_price(time).expect("a Dutch auction");
        events.push(Event::AuctionPrice {
            auction_id: id,
            price,
        });
        // The next step, counted from the start so steps never drift.
        let steps_done = (time.0 - a.post.starts_at.0) / interval_ns.max(1);
        let next = a
            .post
            .starts_at
            .plus((steps_done + 1).saturating_mul(interval_ns));
        if price > floor && next < a.ends_at {
            self.auctions[(id.0 - 1) as usize].next_step = Some(next);
            self.due.insert((next, Due::Step(id)));
        }
    }

    /// Decides an auction at its close (or at once, for a win during
    /// bidding): the winning bid and the price it pays, or `None` if
    /// unsold. Releases every other hold and the winner's surplus, and
    /// leaves the winner's price held, for the caller to move to escrow.
    pub fn close(
        &mut self,
        id: AuctionId,
        won_now: Option<Amount>,
        ledger: &mut Ledger,
        events: &mut Vec<Event>,
    ) -> Option<(AgentIdx, Amount)> {
        let index = (id.0 - 1) as usize;
        self.unschedule(id);
        let a = &mut self.auctions[index];
        let currency = a.currency;
        let reserve = a.post.reserve.unwrap_or(Amount::ZERO);
        let outcome: Option<(u32, Amount)> = match a.post.kind {
            AuctionKind::English { .. } => a.leader.and_then(|i| {
                let bid = a.bids[i as usize];
                let price = won_now.unwrap_or(bid.amount);
                // A buy-now win pays the buy-now price, not more.
                (won_now.is_some() || bid.amount >= reserve).then_some((i, price))
            }),
            AuctionKind::Dutch { .. } => won_now.map(|p| (a.leader.expect("a Dutch win"), p)),
            AuctionKind::SealedBid { pricing } => {
                let standing = a.sealed_bids();
                // Highest amount; earliest bid on ties.
                let best = standing
                    .iter()
                    .max_by(|x, y| x.1.amount.cmp(&y.1.amount).then(y.0.cmp(&x.0)))
                    .copied();
                best.filter(|(_, b)| b.amount >= reserve).map(|(i, b)| {
                    let price = match pricing {
                        Pricing::FirstPrice => b.amount,
                        Pricing::SecondPrice => {
                            let second = standing
                                .iter()
                                .filter(|(j, _)| *j != i)
                                .map(|(_, b)| b.amount)
                                .max()
                                .unwrap_or(a.post.starting_price);
                            second.max(reserve).max(a.post.starting_price).min(b.amount)
                        }
                    };
                    (i, price)
                })
            }
        };
        // Release every hold but the winner's price.
        let holds: Vec<(AgentIdx, Amount)> = match a.post.kind {
            AuctionKind::English { .. } => a
                .leading()
                .map(|b| (b.bidder, b.amount))
                .into_iter()
                .collect(),
            AuctionKind::SealedBid { .. } => a
                .sealed_bids()
                .iter()
                .map(|(_, b)| (b.bidder, b.amount))
                .collect(),
            AuctionKind::Dutch { .. } => Vec::new(),
        };
        let winner = outcome.map(|(i, price)| (a.bids[i as usize].bidder, price));
        for (bidder, held) in holds {
            let keep = match winner {
                Some((w, price)) if w == bidder => price,
                _ => Amount::ZERO,
            };
            if held.0 > keep.0 {
                release(ledger, currency, bidder, Amount(held.0 - keep.0), events);
            }
        }
        a.winner = outcome;
        a.status = if outcome.is_some() {
            AuctionStatus::Won
        } else {
            AuctionStatus::Unsold
        };
        events.push(Event::AuctionClosed {
            auction_id: id,
            seller: ledger.agent_id(a.seller),
            status: a.status,
        });
        winner
    }

    /// Records the transaction a win created.
    pub fn settled(&mut self, id: AuctionId, transaction: crate::units::TransactionId) {
        self.auctions[(id.0 - 1) as usize].transaction_id = Some(transaction);
    }

    /// Every hold an open auction keeps: `(bidder, currency, amount)`.
    pub fn holds(&self) -> impl Iterator<Item = (AgentIdx, CurrencyId, Amount)> + '_ {
        self.auctions
            .iter()
            .filter(|a| a.status == AuctionStatus::Open)
            .flat_map(|a| {
                let holds: Vec<(AgentIdx, Amount)> = match a.post.kind {
                    AuctionKind::English { .. } => a
                        .leading()
                        .map(|b| (b.bidder, b.amount))
                        .into_iter()
                        .collect(),
                    AuctionKind::SealedBid { .. } => a
                        .sealed_bids()
                        .iter()
                        .map(|(_, b)| (b.bidder, b.amount))
                        .collect(),
                    AuctionKind::Dutch { .. } => Vec::new(),
                };
                holds.into_iter().map(move |(b, amt)| (b, a.currency, amt))
            })
    }
}

/// Holds `amount` of `bidder`'s available funds for a bid.
fn hold(
    ledger: &mut Ledger,
    currency: CurrencyId,
    bidder: AgentIdx,
    amount: Amount,
    events: &mut Vec<Event>,
) {
    shift(ledger, currency, bidder, amount, true, events);
}

/// Releases `amount` of `bidder`'s bid hold.
fn release(
    ledger: &mut Ledger,
    currency: CurrencyId,
    bidder: AgentIdx,
    amount: Amount,
    events: &mut Vec<Event>,
) {
    shift(ledger, currency, bidder, amount, false, events);
}

/// Moves a positive `amount` between `bidder`'s available and held funds.
fn shift(
    ledger: &mut Ledger,
    currency: CurrencyId,
    bidder: AgentIdx,
    amount: Amount,
    to_held: bool,
    events: &mut Vec<Event>,
) {
    if amount.0 <= 0 {
        return;
    }
    let (kind, from, to) = if to_held {
        (
            PostingKind::BidHold,
            Acct::Available(bidder),
            Acct::Held(bidder),
        )
    } else {
        (
            PostingKind::BidRelease,
            Acct::Held(bidder),
            Acct::Available(bidder),
        )
    };
    ledger.transfer(kind, currency, from, to, amount, None, events);
}

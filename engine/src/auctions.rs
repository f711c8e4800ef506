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

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::by_owner::{Owned, OwnedRecords};
use crate::event::{Event, PostingKind};
use crate::ledger::{Acct, AgentIdx, CurrencyId, Ledger};
use crate::posts::numbered;
use crate::reject::Reject;
use crate::schedule::Schedule;
use crate::segmented::Segmented;
use crate::units::{Amount, AuctionId, Timestamp};

/// How a sealed-bid winner pays.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    auctions: OwnedRecords<AuctionRecord>,
    due: Schedule<Due>,
}

impl Owned for AuctionRecord {
    type Owner = AgentIdx;

    fn owner(&self) -> AgentIdx {
        self.seller
    }
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

    /// The holds its bids keep while it is open, `(bidder, amount)`: the
    /// leading English bid, every standing sealed bid (Dutch bids hold
    /// nothing: the first one wins at once).
    pub(crate) fn bid_holds(&self) -> impl Iterator<Item = (AgentIdx, Amount)> + '_ {
        let english = match self.post.kind {
            AuctionKind::English { .. } => self.leading(),
            _ => None,
        };
        let sealed = self
            .standing
            .iter()
            .map(|(&bidder, &i)| (bidder, self.bids[i as usize].amount));
        english
            .map(|b| (b.bidder, b.amount))
            .into_iter()
            .chain(sealed)
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
    pub fn all(&self) -> &Segmented<AuctionRecord> {
        &self.auctions
    }

    /// Whether anything is due at or before `time`.
    pub fn has_due(&self, time: Timestamp) -> bool {
        self.due.next(time).is_some()
    }

    /// The earliest thing due at or before `time`, taken off the schedule.
    pub fn pop_due(&mut self, time: Timestamp) -> Option<Due> {
        self.due.pop(time)
    }

    /// Adds a validated auction; returns its id.
    pub fn create(&mut self, mut record: AuctionRecord) -> AuctionId {
        let id = AuctionId(self.auctions.len() as u64 + 1);
        self.due.insert(record.ends_at, Due::End(id));
        if let AuctionKind::Dutch { interval_ns, .. } = record.post.kind {
            let first = record.post.starts_at.plus(interval_ns);
            if first < record.ends_at {
                self.due.insert(first, Due::Step(id));
                record.next_step = Some(first);
            }
        }
        self.auctions.push(record);
        id
    }

    /// The ids of `seller`'s auctions below `before`, newest first.
    pub fn of_seller(
        &self,
        seller: AgentIdx,
        before: Option<u64>,
    ) -> impl Iterator<Item = u64> + '_ {
        self.auctions.owned_by(seller, before)
    }

    /// Whether the index by seller lists exactly each agent's auctions.
    pub fn index_is_whole(&self) -> bool {
        self.auctions.index_is_whole()
    }

    /// Takes auction `id` off the schedule (its end and any price step).
    fn unschedule(&mut self, id: AuctionId) {
        let a = &mut self.auctions[(id.0 - 1) as usize];
        self.due.remove(a.ends_at, Due::End(id));
        if let Some(step) = a.next_step.take() {
            self.due.remove(step, Due::Step(id));
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
                    self.due.remove(old, Due::End(id));
                    self.due.insert(self.auctions[index].ends_at, Due::End(id));
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
            self.due.insert(next, Due::Step(id));
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
        let winner = outcome.map(|(i, price)| (a.bids[i as usize].bidder, price));
        for (bidder, held) in a.bid_holds() {
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
            .flat_map(|a| a.bid_holds().map(move |(b, amt)| (b, a.currency, amt)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::testkit::{amt, Harness};
    use crate::transactions::TxStatus;
    use crate::units::{AgentId, TransactionId, SCALE};

    const HOUR: i64 = 3_600_000_000_000;

    fn english(buy_now: Option<i64>, extension_ns: i64) -> AuctionKind {
        AuctionKind::English {
            min_increment: amt(5),
            buy_now: buy_now.map(amt),
            extension_ns,
        }
    }

    fn funded(agents: &[u64]) -> Harness {
        let mut h = Harness::default();
        for a in agents {
            h.deposit(*a, 1_000);
        }
        h
    }

    #[test]
    fn english_outbids_release_at_once_and_the_winner_funds_escrow() {
        let mut h = funded(&[2, 3]);
        let id = h.auction(1, english(None, 0), 100, Some(120), HOUR);
        assert_eq!(h.bid(1, id, amt(100)), Err(Reject::OwnAuction));
        assert_eq!(
            h.bid(2, id, amt(99)),
            Err(Reject::BidTooLow { minimum: amt(100) })
        );
        h.bid(2, id, amt(100)).unwrap();
        assert_eq!(h.balance(2), (amt(900), amt(100)));
        assert_eq!(
            h.bid(3, id, amt(104)),
            Err(Reject::BidTooLow { minimum: amt(105) })
        );
        h.bid(3, id, amt(110)).unwrap();
        // Outbid: agent 2's hold is back in the same step.
        assert_eq!(h.balance(2), (amt(1_000), amt(0)));
        assert!(h.events.iter().any(|e| matches!(
            e,
            Event::AuctionOutbid {
                bidder: AgentId(2),
                ..
            }
        )));
        // The leader raising its own bid holds only the difference.
        h.bid(3, id, amt(125)).unwrap();
        assert_eq!(h.balance(3), (amt(875), amt(125)));
        let end = h.auction_view(id, None).ends_at.0;
        h.bid(2, id, amt(200)).unwrap();
        h.bid(3, id, amt(205)).unwrap();
        h.tick_at(end).unwrap();
        let view = h.auction_view(id, None);
        assert_eq!(view.status, AuctionStatus::Won);
        assert_eq!(view.winner, Some((AgentId(3), amt(205))));
        let tx = h.tx(view.transaction_id.unwrap());
        assert_eq!(
            (tx.status, tx.amount, tx.escrow_balance),
            (TxStatus::EscrowFunded, amt(205), amt(205))
        );
        assert_eq!(h.balance(3), (amt(795), amt(0)));
        assert_eq!(h.balance(2), (amt(1_000), amt(0)));
        assert_eq!(
            h.bid(2, id, amt(300)),
            Err(Reject::AuctionNotOpen {
                status: AuctionStatus::Won
            })
        );
    }

    #[test]
    fn an_unmet_reserve_releases_everything() {
        let mut h = funded(&[2]);
        let id = h.auction(1, english(None, 0), 10, Some(50), HOUR);
        h.bid(2, id, amt(20)).unwrap();
        let end = h.auction_view(id, None).ends_at.0;
        h.tick_at(end).unwrap();
        let view = h.auction_view(id, None);
        assert_eq!((view.status, view.winner), (AuctionStatus::Unsold, None));
        assert_eq!(h.balance(2), (amt(1_000), amt(0)));
    }

    #[test]
    fn a_late_bid_extends_the_end_and_buy_now_wins_at_once() {
        let mut h = funded(&[2, 3]);
        let minute = 60_000_000_000;
        let id = h.auction(1, english(Some(500), 5 * minute), 100, None, HOUR);
        let end = h.auction_view(id, None).ends_at.0;
        h.time = end - minute - 1;
        h.bid(2, id, amt(100)).unwrap();
        let extended = h.auction_view(id, None).ends_at.0;
        assert_eq!(extended, h.time + 5 * minute);
        // The old end passes without closing it.
        assert!(h.tick_at(end).is_err() || h.auction_view(id, None).status == AuctionStatus::Open);
        assert_eq!(h.auction_view(id, None).status, AuctionStatus::Open);
        // A bid above buy-now wins at once at the buy-now price.
        assert_eq!(h.bid(3, id, amt(600)), Ok(AuctionStatus::Won));
        let view = h.auction_view(id, None);
        assert_eq!(view.winner, Some((AgentId(3), amt(500))));
        assert_eq!(h.balance(3), (amt(500), amt(0)));
        assert_eq!(h.balance(2), (amt(1_000), amt(0)));
    }

    #[test]
    fn the_dutch_price_falls_on_schedule_to_the_floor_and_the_first_taker_wins() {
        let mut h = funded(&[2, 3]);
        let kind = AuctionKind::Dutch {
            floor: amt(40),
            decrement: amt(25),
            interval_ns: HOUR,
        };
        let id = h.auction(1, kind, 100, None, 10 * HOUR);
        let start = h.auction_view(id, None).post.starts_at.0;
        let mut prices = Vec::new();
        for step in 1..=3 {
            h.tick_at(start + step * HOUR).unwrap();
            let announced = h.events.iter().find_map(|e| match e {
                Event::AuctionPrice { price, .. } => Some(*price),
                _ => None,
            });
            prices.push(announced);
        }
        // At the floor the steps stop.
        assert_eq!(prices, vec![Some(amt(75)), Some(amt(50)), Some(amt(40))]);
        assert_eq!(h.tick_at(start + 4 * HOUR), Err(Reject::NothingDue));
        assert_eq!(h.auction_view(id, None).current_price, Some(amt(40)));
        assert_eq!(
            h.bid(2, id, amt(39)),
            Err(Reject::BidTooLow { minimum: amt(40) })
        );
        assert_eq!(
            h.auctions(3, crate::cmd::AuctionOp::Accept { auction_id: id }),
            Ok(crate::Ack::Auction {
                auction_id: id,
                status: AuctionStatus::Won
            })
        );
        assert_eq!(h.balance(3), (amt(960), amt(0)));
        let tx = h.auction_view(id, None).transaction_id.unwrap();
        assert_eq!(h.tx(tx).escrow_balance, amt(40));
        assert_eq!(
            h.bid(2, id, amt(100)),
            Err(Reject::AuctionNotOpen {
                status: AuctionStatus::Won
            })
        );
    }

    fn sealed(pricing: Pricing) -> AuctionKind {
        AuctionKind::SealedBid { pricing }
    }

    /// The amounts (whole units) of a page of auction `id`'s bids as
    /// `viewer` sees them, and the next page's cursor.
    fn bid_query(
        id: AuctionId,
        viewer: Option<u64>,
        before: Option<u64>,
        limit: u32,
    ) -> crate::Query {
        crate::Query::AuctionBids {
            auction_id: id,
            viewer: viewer.map(AgentId),
            page: crate::deal_queries::Page { before, limit },
        }
    }

    fn bid_page(
        h: &Harness,
        id: AuctionId,
        viewer: Option<u64>,
        before: Option<u64>,
        limit: u32,
    ) -> (Vec<i64>, Option<u64>) {
        match h.market.query(&bid_query(id, viewer, before, limit)) {
            Ok(crate::Answer::Bids(bids, next)) => {
                (bids.iter().map(|b| b.amount.0 / SCALE).collect(), next)
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn closes_with_many_bids_spread_over_ticks() {
        use crate::cmd::tick::TICK_DUE_MAX;
        let mut h = funded(&[2, 3]);
        h.deposit(2, 100_000);
        h.deposit(3, 100_000);
        // Three auctions due at one tick, each with half a tick's work in
        // bids: the first two close, the third waits for the next tick.
        let bids = TICK_DUE_MAX / 2;
        let ids: Vec<AuctionId> = (0..3)
            .map(|_| h.auction(1, english(None, 0), 10, None, HOUR))
            .collect();
        for &id in &ids {
            for i in 0..bids {
                h.bid(2 + u64::from(i % 2), id, amt(10 + 5 * i64::from(i)))
                    .unwrap();
            }
        }
        let end = h.auction_view(ids[2], None).ends_at.0;
        assert_eq!(
            h.tick_at(end),
            Ok(crate::Ack::Ticked {
                expired: 2,
                more: true
            })
        );
        assert_eq!(h.auction_view(ids[2], None).status, AuctionStatus::Open);
        assert_eq!(
            h.run(crate::Command::Tick),
            Ok(crate::Ack::Ticked {
                expired: 1,
                more: false
            })
        );
        assert_eq!(h.auction_view(ids[2], None).status, AuctionStatus::Won);
    }

    #[test]
    fn a_view_shows_the_latest_bids_and_the_bid_list_pages_through_all() {
        use crate::deal_queries::AUCTION_VIEW_BIDS;
        let mut h = funded(&[2, 3]);
        let id = h.auction(1, english(None, 0), 10, None, HOUR);
        let count = AUCTION_VIEW_BIDS as i64 + 10;
        let amounts: Vec<i64> = (0..count).map(|i| 10 + 5 * i).collect();
        for (i, &a) in amounts.iter().enumerate() {
            h.bid(2 + i as u64 % 2, id, amt(a)).unwrap();
        }
        let view = h.auction_view(id, None);
        assert_eq!(view.bid_count as i64, count);
        let shown: Vec<i64> = view.bids.iter().map(|b| b.amount.0 / SCALE).collect();
        assert_eq!(shown, amounts[10..], "the latest, oldest first");

        let newest_first: Vec<i64> = amounts.iter().rev().copied().collect();
        let (first, next) = bid_page(&h, id, None, None, 25);
        assert_eq!((first.as_slice(), next), (&newest_first[..25], Some(6)));
        assert_eq!(
            bid_page(&h, id, None, next, 25),
            (newest_first[25..].to_vec(), None)
        );
    }

    #[test]
    fn sealed_bids_list_only_the_viewers_own_until_the_close() {
        let mut h = funded(&[2, 3]);
        let id = h.auction(1, sealed(Pricing::FirstPrice), 10, None, HOUR);
        h.bid(2, id, amt(50)).unwrap();
        h.bid(3, id, amt(80)).unwrap();
        h.bid(2, id, amt(60)).unwrap();
        assert_eq!(bid_page(&h, id, Some(2), None, 10), (vec![60, 50], None));
        assert_eq!(bid_page(&h, id, Some(3), None, 10), (vec![80], None));
        assert_eq!(bid_page(&h, id, None, None, 10), (vec![], None));
        let end = h.auction_view(id, None).ends_at.0;
        h.tick_at(end).unwrap();
        assert_eq!(bid_page(&h, id, None, None, 10), (vec![60, 80, 50], None));
        assert_eq!(
            h.market.query(&bid_query(AuctionId(9), None, None, 10)),
            Err(Reject::UnknownAuction)
        );
    }

    #[test]
    fn sealed_bids_stay_hidden_and_vickrey_pays_the_second_price() {
        let mut h = funded(&[2, 3, 4]);
        let id = h.auction(1, sealed(Pricing::SecondPrice), 10, Some(30), HOUR);
        h.bid(2, id, amt(50)).unwrap();
        h.bid(3, id, amt(80)).unwrap();
        h.bid(4, id, amt(20)).unwrap();
        // Agent 2 replaces its bid: only the new amount stays held.
        h.bid(2, id, amt(70)).unwrap();
        assert_eq!(h.balance(2), (amt(930), amt(70)));
        let seen = h.auction_view(id, Some(4));
        assert_eq!(seen.bids.len(), 1, "agent 4 sees only its own bid");
        assert_eq!(seen.bids[0].amount, amt(20));
        assert!(h.auction_view(id, None).bids.is_empty());
        let end = h.auction_view(id, None).ends_at.0;
        h.tick_at(end).unwrap();
        let view = h.auction_view(id, None);
        assert_eq!(view.winner, Some((AgentId(3), amt(70))));
        assert_eq!(view.bids.len(), 4, "revealed after the close");
        assert_eq!(h.balance(3), (amt(930), amt(0)));
        assert_eq!(h.balance(2), (amt(1_000), amt(0)));
        let tx = h.tx(view.transaction_id.unwrap());
        assert_eq!(tx.amount, amt(70));
    }

    #[test]
    fn first_price_ties_go_to_the_earliest_and_a_lone_vickrey_bid_pays_the_reserve() {
        let mut h = funded(&[2, 3]);
        let id = h.auction(1, sealed(Pricing::FirstPrice), 10, None, HOUR);
        h.bid(2, id, amt(60)).unwrap();
        h.bid(3, id, amt(60)).unwrap();
        let end = h.auction_view(id, None).ends_at.0;
        h.tick_at(end).unwrap();
        assert_eq!(h.auction_view(id, None).winner, Some((AgentId(2), amt(60))));

        let id = h.auction(1, sealed(Pricing::SecondPrice), 10, Some(25), HOUR);
        h.bid(3, id, amt(90)).unwrap();
        let end = h.auction_view(id, None).ends_at.0;
        h.tick_at(end).unwrap();
        assert_eq!(h.auction_view(id, None).winner, Some((AgentId(3), amt(25))));
    }

    #[test]
    fn only_the_seller_cancels_and_only_before_a_bid() {
        let mut h = funded(&[2]);
        let id = h.auction(1, english(None, 0), 10, None, HOUR);
        let cancel = |id| crate::cmd::AuctionOp::Cancel { auction_id: id };
        assert_eq!(h.auctions(2, cancel(id)), Err(Reject::NotYourAuction));
        h.bid(2, id, amt(10)).unwrap();
        assert_eq!(h.auctions(1, cancel(id)), Err(Reject::AuctionHasBids));
        let other = h.auction(1, english(None, 0), 10, None, HOUR);
        h.auctions(1, cancel(other)).unwrap();
        assert_eq!(
            h.bid(2, other, amt(10)),
            Err(Reject::AuctionNotOpen {
                status: AuctionStatus::Cancelled
            })
        );
        assert_eq!(
            h.bid(2, AuctionId(99), amt(10)),
            Err(Reject::UnknownAuction)
        );
    }

    #[test]
    fn hundreds_close_in_one_tick_and_none_is_skipped() {
        // (The bench closes 100,000 at once; the harness checks every
        // invariant after each step, so a unit test stays smaller.)
        let mut h = funded(&[2]);
        let ids: Vec<AuctionId> = (0..600)
            .map(|_| h.auction(1, english(None, 0), 1, None, HOUR))
            .collect();
        for id in ids.iter().step_by(2) {
            h.bid(2, *id, amt(1)).unwrap();
        }
        h.tick_at(h.time + 2 * HOUR).unwrap();
        let won = ids
            .iter()
            .filter(|id| h.auction_view(**id, None).status == AuctionStatus::Won)
            .count();
        let unsold = ids
            .iter()
            .filter(|id| h.auction_view(**id, None).status == AuctionStatus::Unsold)
            .count();
        assert_eq!((won, unsold), (300, 300));
        assert_eq!(h.tx(TransactionId(300)).status, TxStatus::EscrowFunded);
        // Closing again is a no-op: nothing is due.
        assert_eq!(h.tick_at(h.time + 3 * HOUR), Err(Reject::NothingDue));
    }
}

#[cfg(test)]
mod dutch_prices {
    use super::*;
    use proptest::prelude::*;

    fn dutch(start: i64, floor: i64, decrement: i64, interval_ns: i64) -> AuctionRecord {
        AuctionRecord {
            seller: AgentIdx(0),
            currency: CurrencyId(0),
            post: AuctionPost {
                title: "t".into(),
                description: String::new(),
                listing_id: None,
                kind: AuctionKind::Dutch {
                    floor: Amount(floor),
                    decrement: Amount(decrement),
                    interval_ns,
                },
                starting_price: Amount(start),
                reserve: None,
                starts_at: Timestamp(1_000),
                ends_at: Timestamp(i64::MAX / 4),
            },
            status: AuctionStatus::Open,
            ends_at: Timestamp(i64::MAX / 4),
            bids: Vec::new(),
            leader: None,
            winner: None,
            transaction_id: None,
            created_at: Timestamp(0),
            next_step: None,
            standing: BTreeMap::new(),
        }
    }

    proptest! {
        #[test]
        fn the_price_never_rises_and_settles_exactly_on_the_floor(
            start in 1i64..1_000_000_000,
            floor_part in 0i64..=100,
            decrement in 1i64..10_000_000,
            interval_ns in 1i64..1_000_000,
            mut times in prop::collection::vec(0i64..1_000_000_000_000, 2..50),
        ) {
            let floor = start * floor_part / 100;
            let a = dutch(start, floor, decrement, interval_ns);
            times.sort_unstable();
            let prices: Vec<Amount> = times.iter().map(|t| a.dutch_price(Timestamp(*t)).unwrap()).collect();
            for pair in prices.windows(2) {
                prop_assert!(pair[1] <= pair[0]);
            }
            prop_assert!(prices.iter().all(|p| p.0 >= floor && p.0 <= start));
            prop_assert_eq!(a.dutch_price(Timestamp(999)), Some(Amount(start)));
            // Long after enough steps, the price is the floor exactly.
            let steps = (start - floor) / decrement + 1;
            let late = Timestamp(1_000 + steps * interval_ns);
            prop_assert_eq!(a.dutch_price(late), Some(Amount(floor)));
        }
    }
}

//! Transactions: every deal between a buyer and a seller (an order-book
//! fill, an accepted offer, a listing purchase), from creation to
//! settlement, each with its own escrow account in the ledger.
//!
//! ```text
//! pending ──fund──▶ escrow_funded ──deliver──▶ delivered ──confirm──▶ completed
//!    │                 │    │                     │  └─cooldown (auto-release)─┘
//!    │                 │    └─delivery deadline (auto-refund)──▶ refunded
//!    │                 └──────dispute─────┬────────┘
//!    ▼                                    ▼
//! cancelled                           disputed ──resolve (operator)──▶ resolved
//! ```
//!
//! Every transition is checked against the current status and the caller's
//! role here, inside the engine, so two racing calls can never both win.
//! Deadlines are kept in a `Schedule` and acted on by `Tick`.

use std::collections::{BTreeMap, BTreeSet};

use crate::schedule::Schedule;
use crate::segmented::Segmented;

use serde::{Deserialize, Serialize};

use crate::asset::AssetId;
use crate::config::Terms;
use crate::event::{Event, PostingKind, TransactionChanged};
use crate::ledger::{Acct, AgentIdx, CurrencyId, Ledger};
use crate::reject::Reject;
use crate::units::{
    AgentId, Amount, AuctionId, Currency, ListingId, OfferId, Price, Quantity, RequestId,
    Timestamp, TradeId, TransactionId,
};

/// Where a transaction stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum TxStatus {
    /// Created; the buyer has not paid into escrow yet.
    Pending,
    /// The buyer's money is in escrow; the seller must deliver.
    EscrowFunded,
    /// The seller delivered; the buyer confirms or disputes.
    Delivered,
    /// Escrow released to the seller.
    Completed,
    /// A party disputed; the operator resolves.
    Disputed,
    /// The operator settled the dispute.
    Resolved,
    /// Escrow returned to the buyer (nothing delivered by the deadline).
    Refunded,
    /// Cancelled before it was funded.
    Cancelled,
}

impl TxStatus {
    /// Whether nothing more can happen to the transaction but ratings.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TxStatus::Completed | TxStatus::Resolved | TxStatus::Refunded | TxStatus::Cancelled
        )
    }

    /// Whether the escrow holds the full amount in this status.
    pub fn is_funded(self) -> bool {
        matches!(
            self,
            TxStatus::EscrowFunded | TxStatus::Delivered | TxStatus::Disputed
        )
    }
}

/// What created a transaction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// An order-book fill (funded from the buyer's order hold).
    Trade {
        /// The fill.
        trade_id: TradeId,
        /// The asset's engine number.
        asset: AssetId,
    },
    /// An accepted offer on a request.
    Offer {
        /// The offer.
        offer_id: OfferId,
        /// Its request.
        request_id: RequestId,
    },
    /// A listing purchase.
    Listing {
        /// The listing.
        listing_id: ListingId,
    },
    /// A won auction (funded from the winner's bid).
    Auction {
        /// The auction.
        auction_id: AuctionId,
    },
}

/// What kind of deal created a transaction: [`Origin`] without its ids,
/// for filtering.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum OriginKind {
    /// An order-book fill.
    Trade,
    /// An accepted offer.
    Offer,
    /// A listing purchase.
    Listing,
    /// A won auction.
    Auction,
}

impl Origin {
    /// Its kind.
    pub fn kind(&self) -> OriginKind {
        match self {
            Origin::Trade { .. } => OriginKind::Trade,
            Origin::Offer { .. } => OriginKind::Offer,
            Origin::Listing { .. } => OriginKind::Listing,
            Origin::Auction { .. } => OriginKind::Auction,
        }
    }
}

/// Who made a transition.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Actor {
    /// The paying party.
    Buyer,
    /// The delivering party.
    Seller,
    /// The platform operator.
    Operator,
    /// The engine itself, at a deadline.
    System,
}

/// How the operator settles a dispute.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Everything to the seller (minus the fee).
    Release,
    /// Everything back to the buyer.
    Refund,
    /// `seller_amount` to the seller (minus the fee on it), the rest back
    /// to the buyer.
    Split {
        /// The seller's gross share.
        seller_amount: Amount,
    },
}

/// One step of a transaction's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxStep {
    /// The status it entered.
    pub status: TxStatus,
    /// Who moved it.
    pub by: Actor,
    /// When.
    pub time: Timestamp,
}

/// What the seller handed over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// A link or reference to the deliverable.
    pub proof: String,
    /// A note to the buyer.
    pub message: String,
    /// When.
    pub time: Timestamp,
}

/// A 1–5 rating one party gave the other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// 1 to 5.
    pub score: u8,
    /// A comment.
    pub comment: String,
    /// When.
    pub time: Timestamp,
}

/// A transaction as the engine stores it: compact, because every fill
/// makes one. Text and history live in [`TxDetails`], only once needed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TxRecord {
    pub origin: Origin,
    pub buyer: AgentIdx,
    pub seller: AgentIdx,
    pub currency: CurrencyId,
    pub status: TxStatus,
    pub quantity: Quantity,
    pub price: Price,
    pub amount: Amount,
    pub created_at: Timestamp,
    /// When the current status times out (`Timestamp(0)`: never).
    pub deadline: Timestamp,
}

/// The rarely used, variable-size part of a transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TxDetails {
    /// Every transition after creation.
    pub history: Vec<TxStep>,
    pub delivery: Option<Delivery>,
    pub dispute: Option<(Actor, String)>,
    pub resolution: Option<Resolution>,
    /// The buyer's and the seller's rating of the other.
    pub ratings: [Option<Rating>; 2],
    /// The platform fee taken when escrow was paid out.
    pub fee: Amount,
    /// The fee rate then, in basis points.
    pub fee_bps: u32,
}

/// What an agent's finished transactions say about it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStats {
    /// Completed transactions as buyer.
    pub completed_as_buyer: u32,
    /// Completed transactions as seller.
    pub completed_as_seller: u32,
    /// Transactions of this agent that were disputed.
    pub disputed: u32,
    /// Disputes settled against this agent.
    pub disputes_lost: u32,
    /// Funded transactions refunded because this agent did not deliver.
    pub refunded_as_seller: u32,
    /// Sum of the ratings others gave this agent.
    pub rating_sum: u32,
    /// How many ratings others gave this agent.
    pub rating_count: u32,
}

/// One agent's transactions and statistics.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct AgentDeals {
    /// Its newest transaction (`TransactionId(0)`: none), where the chain
    /// of its transactions through [`Transactions::chains`] starts.
    newest: TransactionId,
    stats: AgentStats,
    /// Money moved in its completed transactions, per currency.
    volume: Vec<(CurrencyId, Amount)>,
}

/// Every transaction, indexed by party and by deadline.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Transactions {
    /// By id − 1 (ids match the ledger's escrow accounts).
    records: Segmented<TxRecord>,
    /// By id − 1: the buyer's and the seller's previous transaction
    /// (`TransactionId(0)`: none). Each agent's transactions form a chain
    /// from its newest one, so a fill appends to memory already in cache
    /// instead of to one growing list per agent.
    chains: Segmented<[TransactionId; 2]>,
    details: BTreeMap<TransactionId, Box<TxDetails>>,
    /// By [`AgentIdx`].
    agents: Vec<AgentDeals>,
    /// `(deadline, id)` of every transaction that times out.
    due: Schedule<TransactionId>,
    /// Transactions in dispute, waiting for the operator.
    disputes: BTreeSet<TransactionId>,
}

/// An action a party or the operator takes on a transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxAction {
    /// Buyer: pay the amount from available funds into escrow.
    Fund,
    /// Seller: mark as delivered, with proof.
    Deliver {
        /// A link or reference to the deliverable.
        proof: String,
        /// A note to the buyer.
        message: String,
    },
    /// Buyer: accept the delivery, releasing escrow to the seller.
    Confirm,
    /// Buyer or seller: raise a dispute.
    Dispute {
        /// What went wrong.
        reason: String,
    },
    /// Operator: settle a dispute.
    Resolve(Resolution),
    /// Buyer or seller: rate the other party, once.
    Rate {
        /// 1 to 5.
        score: u8,
        /// A comment.
        comment: String,
    },
    /// Buyer or seller: cancel before funding.
    Cancel,
}

/// Everything a transition needs besides the transactions themselves.
pub(crate) struct Settlement<'a> {
    pub ledger: &'a mut Ledger,
    pub terms: &'a Terms,
    pub time: Timestamp,
    pub events: &'a mut Vec<Event>,
}

impl Transactions {
    /// Creates a transaction whose escrow account the ledger just opened
    /// as `id`, in `status` (pending, or funded when the money was already
    /// held), with that status's deadline.
    pub fn open(&mut self, id: TransactionId, record: TxRecord, terms: &Terms) {
        debug_assert_eq!(
            id.0,
            self.records.len() as u64 + 1,
            "ids follow the escrows"
        );
        let (buyer, seller) = (record.buyer, record.seller);
        let mut record = record;
        record.deadline = Self::deadline_for(record.status, record.created_at, terms);
        if record.deadline.0 != 0 {
            self.due.insert(record.deadline, id);
        }
        self.records.push(record);
        let buyer_prev = std::mem::replace(&mut self.agent_mut(buyer).newest, id);
        let seller_prev = if seller == buyer {
            buyer_prev
        } else {
            std::mem::replace(&mut self.agent_mut(seller).newest, id)
        };
        self.chains.push([buyer_prev, seller_prev]);
    }

    /// The transaction `id`.
    pub fn get(&self, id: TransactionId) -> Option<&TxRecord> {
        let index = usize::try_from(id.0.checked_sub(1)?).ok()?;
        self.records.get(index)
    }

    /// Its text and history, if any was recorded.
    pub fn details(&self, id: TransactionId) -> Option<&TxDetails> {
        self.details.get(&id).map(|d| &**d)
    }

    /// Every transaction, in id order.
    pub fn records(&self) -> impl Iterator<Item = &TxRecord> {
        self.records.iter()
    }

    /// The ids of `agent`'s transactions below `before` (all if `None`),
    /// newest first. A `before` that is one of the agent's own
    /// transactions (a page cursor) starts the walk there.
    pub fn of_agent(
        &self,
        agent: AgentIdx,
        before: Option<TransactionId>,
    ) -> impl Iterator<Item = TransactionId> + '_ {
        let newest = self
            .agents
            .get(agent.0 as usize)
            .map_or(TransactionId(0), |a| a.newest);
        let start = match before.and_then(|b| Some((b, self.get(b)?))) {
            Some((b, tx)) if tx.buyer == agent || tx.seller == agent => self.previous(b, agent),
            _ => newest,
        };
        let some = |id: TransactionId| (id.0 != 0).then_some(id);
        std::iter::successors(some(start), move |&id| some(self.previous(id, agent)))
            .filter(move |id| before.is_none_or(|b| *id < b))
    }

    /// Whether every agent's chain lists exactly its transactions, newest
    /// first (for the invariant checks): in one pass in id order, each
    /// party's link names the transaction that party had just before, and
    /// each agent's newest is its last. (Walking every chain instead jumps
    /// all over the records, a cache miss per step.)
    pub fn chains_are_whole(&self) -> bool {
        if self.chains.len() != self.records.len() {
            return false;
        }
        let mut last = vec![TransactionId(0); self.agents.len()];
        for (i, (t, links)) in self.records.iter().zip(self.chains.iter()).enumerate() {
            let id = TransactionId(i as u64 + 1);
            let parties = if t.buyer == t.seller {
                // One party, whose two links are the same.
                if links[0] != links[1] {
                    return false;
                }
                &[(t.buyer, links[0])][..]
            } else {
                &[(t.buyer, links[0]), (t.seller, links[1])][..]
            };
            for &(agent, link) in parties {
                match last.get_mut(agent.0 as usize) {
                    Some(before) if *before == link => *before = id,
                    _ => return false,
                }
            }
        }
        self.agents.iter().zip(&last).all(|(a, l)| a.newest == *l)
    }

    /// The transaction of `agent` (a party to `id`) before `id`.
    /// `TransactionId(0)` ends the chain, also for an `id` that does not
    /// exist (which only a damaged state could hold: the invariant checks
    /// then find the chain short, rather than panicking).
    fn previous(&self, id: TransactionId, agent: AgentIdx) -> TransactionId {
        let Some(index) = id.0.checked_sub(1).map(|i| i as usize) else {
            return TransactionId(0);
        };
        match (self.records.get(index), self.chains.get(index)) {
            (Some(tx), Some(links)) => links[usize::from(tx.buyer != agent)],
            _ => TransactionId(0),
        }
    }

    /// What `agent`'s transactions say about it.
    pub fn reputation(&self, agent: Option<AgentIdx>, ledger: &Ledger) -> Reputation {
        let Some(deals) = agent.and_then(|a| self.agents.get(a.0 as usize)) else {
            return Reputation::default();
        };
        let mut volume: Vec<(Currency, Amount)> = deals
            .volume
            .iter()
            .map(|(c, v)| (ledger.currency_code(*c), *v))
            .collect();
        volume.sort_by_key(|(c, _)| *c);
        Reputation {
            stats: deals.stats,
            volume,
        }
    }

    /// How many transactions there are.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// The transactions in dispute, oldest first.
    pub fn disputes(&self) -> &BTreeSet<TransactionId> {
        &self.disputes
    }

    /// Every indexed deadline with its transaction, in time order.
    pub fn deadlines(&self) -> Vec<(Timestamp, TransactionId)> {
        self.due.entries()
    }

    /// The earliest transaction whose deadline is at or before `time`.
    pub fn next_due(&self, time: Timestamp) -> Option<TransactionId> {
        self.due.next(time)
    }

    /// Checks that `action` by `caller` is allowed now, without changing
    /// anything. `caller` is `None` for the operator.
    pub fn check(
        &self,
        id: TransactionId,
        caller: Option<AgentIdx>,
        action: &TxAction,
        time: Timestamp,
        ledger: &Ledger,
    ) -> Result<Actor, Reject> {
        let tx = self.get(id).ok_or(Reject::UnknownTransaction)?;
        let actor = match caller {
            None => Actor::Operator,
            Some(a) if a == tx.buyer => Actor::Buyer,
            Some(a) if a == tx.seller => Actor::Seller,
            Some(_) => return Err(Reject::NotAParty),
        };
        let allowed: &[Actor] = match action {
            TxAction::Fund | TxAction::Confirm => &[Actor::Buyer],
            TxAction::Deliver { .. } => &[Actor::Seller],
            TxAction::Dispute { .. } | TxAction::Rate { .. } | TxAction::Cancel => {
                &[Actor::Buyer, Actor::Seller]
            }
            TxAction::Resolve(_) => &[Actor::Operator],
        };
        if !allowed.contains(&actor) {
            return Err(Reject::WrongParty);
        }
        let from: &[TxStatus] = match action {
            TxAction::Fund | TxAction::Cancel => &[TxStatus::Pending],
            TxAction::Deliver { .. } => &[TxStatus::EscrowFunded],
            TxAction::Confirm | TxAction::Dispute { .. } => {
                &[TxStatus::EscrowFunded, TxStatus::Delivered]
            }
            TxAction::Resolve(_) => &[TxStatus::Disputed],
            TxAction::Rate { .. } => &[TxStatus::Completed, TxStatus::Resolved, TxStatus::Refunded],
        };
        if !from.contains(&tx.status) {
            return Err(Reject::WrongStatus { status: tx.status });
        }
        // Past a deadline the engine acts at the next tick; until then,
        // nothing that the deadline forecloses may slip in.
        let expired = tx.deadline.0 != 0 && time > tx.deadline;
        if expired && matches!(action, TxAction::Fund | TxAction::Deliver { .. })
            || expired
                && tx.status == TxStatus::Delivered
                && matches!(action, TxAction::Dispute { .. })
        {
            return Err(Reject::DeadlinePassed);
        }
        match action {
            TxAction::Fund => {
                let available = ledger.balance(tx.buyer, tx.currency).available;
                if available < tx.amount {
                    return Err(Reject::InsufficientFunds {
                        currency: ledger.currency_code(tx.currency),
                        required: tx.amount,
                        available,
                    });
                }
            }
            TxAction::Resolve(Resolution::Split { seller_amount })
                if seller_amount.0 < 0 || *seller_amount > tx.amount =>
            {
                return Err(Reject::SplitOutOfRange { amount: tx.amount });
            }
            TxAction::Rate { .. } => {
                let side = (actor == Actor::Seller) as usize;
                if self.details(id).is_some_and(|d| d.ratings[side].is_some()) {
                    return Err(Reject::AlreadyRated);
                }
            }
            _ => {}
        }
        Ok(actor)
    }

    /// Applies `action`, which [`Transactions::check`] accepted for
    /// `actor`, and returns the new status.
    pub fn act(
        &mut self,
        id: TransactionId,
        actor: Actor,
        action: &TxAction,
        s: &mut Settlement<'_>,
    ) -> TxStatus {
        let tx = *self.get(id).expect("checked");
        match action {
            TxAction::Fund => {
                s.ledger.transfer(
                    PostingKind::EscrowFund,
                    tx.currency,
                    Acct::Available(tx.buyer),
                    Acct::Escrow(id),
                    tx.amount,
                    None,
                    s.events,
                );
                self.enter(id, TxStatus::EscrowFunded, actor, s)
            }
            TxAction::Deliver { proof, message } => {
                self.details_mut(id).delivery = Some(Delivery {
                    proof: proof.clone(),
                    message: message.clone(),
                    time: s.time,
                });
                self.enter(id, TxStatus::Delivered, actor, s)
            }
            TxAction::Confirm => self.complete(id, &tx, actor, s),
            TxAction::Dispute { reason } => {
                self.details_mut(id).dispute = Some((actor, reason.clone()));
                self.agent_mut(tx.buyer).stats.disputed += 1;
                self.agent_mut(tx.seller).stats.disputed += 1;
                self.enter(id, TxStatus::Disputed, actor, s)
            }
            TxAction::Resolve(resolution) => {
                let to_seller = match resolution {
                    Resolution::Release => tx.amount,
                    Resolution::Refund => Amount::ZERO,
                    Resolution::Split { seller_amount } => *seller_amount,
                };
                self.pay_out(id, to_seller, s);
                match resolution {
                    Resolution::Release => self.agent_mut(tx.buyer).stats.disputes_lost += 1,
                    Resolution::Refund => self.agent_mut(tx.seller).stats.disputes_lost += 1,
                    Resolution::Split { .. } => {}
                }
                self.details_mut(id).resolution = Some(*resolution);
                self.enter(id, TxStatus::Resolved, actor, s)
            }
            TxAction::Rate { score, comment } => {
                let (side, rated) = match actor {
                    Actor::Seller => (1, tx.buyer),
                    _ => (0, tx.seller),
                };
                self.details_mut(id).ratings[side] = Some(Rating {
                    score: *score,
                    comment: comment.clone(),
                    time: s.time,
                });
                let stats = &mut self.agent_mut(rated).stats;
                stats.rating_sum += u32::from(*score);
                stats.rating_count += 1;
                s.events.push(Event::TransactionRated {
                    transaction_id: id,
                    rated: s.ledger.agent_id(rated),
                    score: *score,
                });
                tx.status
            }
            TxAction::Cancel => self.enter(id, TxStatus::Cancelled, actor, s),
        }
    }

    /// Acts on the deadline of transaction `id` (which is due): an unpaid
    /// transaction is cancelled, an undelivered one refunded, a delivered
    /// one released to the seller. Returns the new status.
    pub fn expire(&mut self, id: TransactionId, s: &mut Settlement<'_>) -> TxStatus {
        let tx = *self.get(id).expect("due transactions exist");
        match tx.status {
            TxStatus::Pending => self.enter(id, TxStatus::Cancelled, Actor::System, s),
            TxStatus::EscrowFunded => {
                self.pay_out(id, Amount::ZERO, s);
                self.agent_mut(tx.seller).stats.refunded_as_seller += 1;
                self.enter(id, TxStatus::Refunded, Actor::System, s)
            }
            TxStatus::Delivered => self.complete(id, &tx, Actor::System, s),
            status => unreachable!("a {status:?} transaction has no deadline"),
        }
    }

    /// Empties the escrow of `id`: `to_seller` (gross) to the seller less
    /// the platform fee on it, the rest back to the buyer.
    fn pay_out(&mut self, id: TransactionId, to_seller: Amount, s: &mut Settlement<'_>) {
        let tx = *self.get(id).expect("exists");
        let fee = to_seller.basis_points(s.terms.fee_bps);
        let net = Amount(to_seller.0 - fee.0);
        let refund = Amount(s.ledger.escrow_balance(id).0 - to_seller.0);
        let moves = [
            (PostingKind::EscrowRelease, Acct::Available(tx.seller), net),
            (PostingKind::PlatformFee, Acct::Platform, fee),
            (PostingKind::EscrowRefund, Acct::Available(tx.buyer), refund),
        ];
        for (kind, to, amount) in moves {
            if amount.0 > 0 {
                let from = Acct::Escrow(id);
                s.ledger
                    .transfer(kind, tx.currency, from, to, amount, None, s.events);
            }
        }
        let details = self.details_mut(id);
        details.fee = fee;
        details.fee_bps = s.terms.fee_bps;
    }

    /// Releases the escrow of `tx` to the seller (less the fee), counts
    /// it in both parties' records and completes it.
    fn complete(
        &mut self,
        id: TransactionId,
        tx: &TxRecord,
        by: Actor,
        s: &mut Settlement<'_>,
    ) -> TxStatus {
        self.pay_out(id, tx.amount, s);
        self.complete_stats(tx);
        self.enter(id, TxStatus::Completed, by, s)
    }

    fn complete_stats(&mut self, tx: &TxRecord) {
        for (agent, as_buyer) in [(tx.buyer, true), (tx.seller, false)] {
            let deals = self.agent_mut(agent);
            if as_buyer {
                deals.stats.completed_as_buyer += 1;
            } else {
                deals.stats.completed_as_seller += 1;
            }
            match deals.volume.iter_mut().find(|(c, _)| *c == tx.currency) {
                Some((_, v)) => v.0 = v.0.saturating_add(tx.amount.0),
                None => deals.volume.push((tx.currency, tx.amount)),
            }
        }
    }

    /// Moves `id` into `status`, records the step, resets its deadline
    /// and announces it.
    fn enter(
        &mut self,
        id: TransactionId,
        status: TxStatus,
        by: Actor,
        s: &mut Settlement<'_>,
    ) -> TxStatus {
        let index = (id.0 - 1) as usize;
        let old = self.records[index].deadline;
        if old.0 != 0 {
            self.due.remove(old, id);
        }
        let deadline = Self::deadline_for(status, s.time, s.terms);
        if deadline.0 != 0 {
            self.due.insert(deadline, id);
        }
        let record = &mut self.records[index];
        let was_disputed = record.status == TxStatus::Disputed;
        record.status = status;
        record.deadline = deadline;
        if status == TxStatus::Disputed {
            self.disputes.insert(id);
        } else if was_disputed {
            self.disputes.remove(&id);
        }
        let (buyer, seller) = (record.buyer, record.seller);
        self.details_mut(id).history.push(TxStep {
            status,
            by,
            time: s.time,
        });
        s.events.push(Event::TransactionChanged(TransactionChanged {
            transaction_id: id,
            buyer: s.ledger.agent_id(buyer),
            seller: s.ledger.agent_id(seller),
            status,
            time: s.time,
        }));
        status
    }

    /// When a transaction entering `status` at `time` times out.
    fn deadline_for(status: TxStatus, time: Timestamp, terms: &Terms) -> Timestamp {
        match status {
            TxStatus::Pending => time.plus(terms.funding_window_ns),
            TxStatus::EscrowFunded => time.plus(terms.delivery_window_ns),
            TxStatus::Delivered => time.plus(terms.release_cooldown_ns),
            _ => Timestamp(0),
        }
    }

    fn details_mut(&mut self, id: TransactionId) -> &mut TxDetails {
        self.details.entry(id).or_default()
    }

    fn agent_mut(&mut self, agent: AgentIdx) -> &mut AgentDeals {
        let i = agent.0 as usize;
        if self.agents.len() <= i {
            self.agents.resize_with(i + 1, AgentDeals::default);
        }
        &mut self.agents[i]
    }
}

/// A transaction as its parties see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionView {
    /// The transaction.
    pub transaction_id: TransactionId,
    /// What created it (an asset is shown by symbol in `asset`).
    pub origin: Origin,
    /// The asset of an order-book fill.
    pub asset: Option<crate::units::Symbol>,
    /// Paying agent.
    pub buyer: AgentId,
    /// Delivering agent.
    pub seller: AgentId,
    /// Status now.
    pub status: TxStatus,
    /// How much was bought.
    pub quantity: Quantity,
    /// Unit price.
    pub price: Price,
    /// Total.
    pub amount: Amount,
    /// Currency.
    pub currency: Currency,
    /// What its escrow holds now.
    pub escrow_balance: Amount,
    /// The platform fee taken on release.
    pub fee: Amount,
    /// When it was created.
    pub created_at: Timestamp,
    /// When the current status times out, if it does.
    pub deadline: Option<Timestamp>,
    /// Every step, creation first.
    pub history: Vec<TxStep>,
    /// The seller's delivery.
    pub delivery: Option<Delivery>,
    /// Who disputed and why.
    pub dispute: Option<(Actor, String)>,
    /// How the dispute was settled.
    pub resolution: Option<Resolution>,
    /// The buyer's rating of the seller.
    pub buyer_rating: Option<Rating>,
    /// The seller's rating of the buyer.
    pub seller_rating: Option<Rating>,
}

/// An agent's record as others see it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reputation {
    /// Counters.
    pub stats: AgentStats,
    /// Money moved in completed transactions, per currency.
    pub volume: Vec<(Currency, Amount)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DAY_NS;
    use crate::reject::TextField;
    use crate::testkit::{amt, Harness};
    use crate::Side;

    /// Agent 1 (buyer, 100 credits) accepted agent 2's offer of 10.
    fn accepted() -> (Harness, TransactionId) {
        let mut h = Harness::default();
        h.deposit(1, 100);
        let tx = h.deal();
        (h, tx)
    }

    fn deliver() -> TxAction {
        TxAction::Deliver {
            proof: "https://example.com/data.json".into(),
            message: "done".into(),
        }
    }

    #[test]
    fn the_full_flow_pays_the_seller_less_the_fee() {
        let (mut h, tx) = accepted();
        assert_eq!(h.tx(tx).status, TxStatus::Pending);
        assert_eq!(
            h.transact(Some(1), tx, TxAction::Fund),
            Ok(TxStatus::EscrowFunded)
        );
        assert_eq!(h.balance(1).0, amt(90));
        assert_eq!(h.tx(tx).escrow_balance, amt(10));
        assert_eq!(h.transact(Some(2), tx, deliver()), Ok(TxStatus::Delivered));
        assert_eq!(
            h.transact(Some(1), tx, TxAction::Confirm),
            Ok(TxStatus::Completed)
        );
        // 10% of 10 to the platform, 9 to the seller.
        assert_eq!(h.balance(2).0, amt(9));
        assert_eq!(h.platform(), amt(1));
        let view = h.tx(tx);
        assert_eq!(view.fee, amt(1));
        assert_eq!(view.escrow_balance, Amount::ZERO);
        let steps: Vec<_> = view.history.iter().map(|s| (s.status, s.by)).collect();
        assert_eq!(
            steps,
            vec![
                (TxStatus::Pending, Actor::System),
                (TxStatus::EscrowFunded, Actor::Buyer),
                (TxStatus::Delivered, Actor::Seller),
                (TxStatus::Completed, Actor::Buyer),
            ]
        );
        assert_eq!(
            view.delivery.unwrap().proof,
            "https://example.com/data.json"
        );
    }

    #[test]
    fn each_step_belongs_to_one_role_and_one_status() {
        let (mut h, tx) = accepted();
        assert_eq!(
            h.transact(Some(2), tx, TxAction::Fund),
            Err(Reject::WrongParty)
        );
        assert_eq!(
            h.transact(Some(3), tx, TxAction::Fund),
            Err(Reject::NotAParty)
        );
        assert_eq!(h.transact(Some(1), tx, deliver()), Err(Reject::WrongParty));
        assert_eq!(
            h.transact(Some(1), tx, TxAction::Confirm),
            Err(Reject::WrongStatus {
                status: TxStatus::Pending
            })
        );
        assert_eq!(
            h.transact(None, tx, TxAction::Resolve(Resolution::Release)),
            Err(Reject::WrongStatus {
                status: TxStatus::Pending
            })
        );
        assert_eq!(
            h.transact(Some(1), TransactionId(99), TxAction::Fund),
            Err(Reject::UnknownTransaction)
        );
        h.transact(Some(1), tx, TxAction::Fund).unwrap();
        // Two racing confirmations: exactly one wins.
        assert_eq!(
            h.transact(Some(1), tx, TxAction::Confirm),
            Ok(TxStatus::Completed)
        );
        assert_eq!(
            h.transact(Some(1), tx, TxAction::Confirm),
            Err(Reject::WrongStatus {
                status: TxStatus::Completed
            })
        );
    }

    #[test]
    fn an_agents_transactions_walk_newest_first_and_resume_at_a_cursor() {
        // Fills between agents 1–2, 1–3, 2–3, 1–2: each agent's chain lists
        // only its own, newest first; a cursor of its own resumes after
        // it, and any other id bounds the walk the same way.
        let mut h = Harness::default();
        for agent in 1..=3 {
            h.deposit(agent, 1_000);
        }
        for (buyer, seller) in [(1, 2), (1, 3), (2, 3), (1, 2)] {
            h.limit(seller, Side::Sell, 10, 1);
            h.limit(buyer, Side::Buy, 10, 1);
        }
        let m = &h.market;
        let ids = |agent: u64, before: Option<u64>| -> Vec<u64> {
            let idx = m.ledger.find_agent(AgentId(agent)).unwrap();
            m.transactions
                .of_agent(idx, before.map(TransactionId))
                .map(|id| id.0)
                .collect()
        };
        assert_eq!(ids(1, None), [4, 2, 1]);
        assert_eq!(ids(2, None), [4, 3, 1]);
        assert_eq!(ids(3, None), [3, 2]);
        assert_eq!(ids(1, Some(4)), [2, 1]);
        assert_eq!(ids(1, Some(3)), [2, 1]);
        assert_eq!(ids(1, Some(2)), [1]);
        assert_eq!(ids(3, Some(2)), Vec::<u64>::new());
        assert!(m.transactions.chains_are_whole());

        // A link that skips a transaction, or a newest that is not the
        // last, breaks the invariant.
        let mut skipped = m.transactions.clone();
        // Transaction 3 (2–3): the seller's link should name 2.
        skipped.chains[2][1] = TransactionId(0);
        assert!(!skipped.chains_are_whole());
        let mut stale = m.transactions.clone();
        stale.agents[0].newest = TransactionId(2);
        assert!(!stale.chains_are_whole());
    }

    #[test]
    fn funding_needs_the_whole_amount_available() {
        let mut h = Harness::default();
        h.deposit(1, 4);
        let tx = h.deal();
        assert_eq!(
            h.transact(Some(1), tx, TxAction::Fund),
            Err(Reject::InsufficientFunds {
                currency: crate::testkit::credits(),
                required: amt(10),
                available: amt(4),
            })
        );
    }

    #[test]
    fn the_dispute_queue_pages_newest_first() {
        let mut h = Harness::default();
        h.deposit(1, 100);
        let disputed: Vec<TransactionId> = (0..3)
            .map(|_| {
                let tx = h.deal();
                h.transact(Some(1), tx, TxAction::Fund).unwrap();
                let dispute = TxAction::Dispute {
                    reason: "late".into(),
                };
                h.transact(Some(1), tx, dispute).unwrap();
                tx
            })
            .collect();
        let page = |before, limit| -> (Vec<TransactionId>, Option<u64>) {
            let query = crate::Query::Disputes {
                page: crate::deal_queries::Page { before, limit },
            };
            match h.market.query(&query) {
                Ok(crate::Answer::Transactions(items, next)) => {
                    (items.iter().map(|t| t.transaction_id).collect(), next)
                }
                other => panic!("unexpected {other:?}"),
            }
        };
        let (first, next) = page(None, 2);
        assert_eq!(first, [disputed[2], disputed[1]]);
        assert_eq!(next, Some(disputed[1].0));
        assert_eq!(page(next, 2), (vec![disputed[0]], None));
    }

    #[test]
    fn a_split_resolution_pays_both_sides_and_the_fee_on_the_sellers_part() {
        let (mut h, tx) = accepted();
        h.transact(Some(1), tx, TxAction::Fund).unwrap();
        let dispute = TxAction::Dispute {
            reason: "late".into(),
        };
        assert_eq!(h.transact(Some(1), tx, dispute), Ok(TxStatus::Disputed));
        let split = Resolution::Split {
            seller_amount: amt(11),
        };
        assert_eq!(
            h.transact(None, tx, TxAction::Resolve(split)),
            Err(Reject::SplitOutOfRange { amount: amt(10) })
        );
        assert_eq!(
            h.transact(Some(2), tx, TxAction::Resolve(Resolution::Release)),
            Err(Reject::WrongParty)
        );
        let split = Resolution::Split {
            seller_amount: amt(4),
        };
        assert_eq!(
            h.transact(None, tx, TxAction::Resolve(split)),
            Ok(TxStatus::Resolved)
        );
        assert_eq!(h.balance(1).0, amt(96));
        assert_eq!(h.balance(2).0, Amount(amt(4).0 - amt(4).0 / 10));
        assert_eq!(h.platform(), Amount(amt(4).0 / 10));
        let rep = h.market.reputation(AgentId(2));
        assert_eq!((rep.stats.disputed, rep.stats.disputes_lost), (1, 0));
    }

    #[test]
    fn deadlines_release_refund_and_cancel_at_the_tick() {
        let (mut h, tx) = accepted();
        h.transact(Some(1), tx, TxAction::Fund).unwrap();
        h.transact(Some(2), tx, deliver()).unwrap();
        let due = h.tx(tx).deadline.unwrap().0;
        assert_eq!(h.tick_at(due - 1), Err(Reject::NothingDue));
        assert_eq!(
            h.tick_at(due),
            Ok(crate::Ack::Ticked {
                expired: 1,
                more: false
            })
        );
        assert_eq!(h.tx(tx).status, TxStatus::Completed);
        assert_eq!(h.tx(tx).history.last().unwrap().by, Actor::System);
        assert_eq!(h.balance(2).0, amt(9));

        // Funded but never delivered: refunded at the delivery deadline, and
        // a delivery after the deadline (before the tick) is refused.
        let (mut h, tx) = accepted();
        h.transact(Some(1), tx, TxAction::Fund).unwrap();
        let due = h.tx(tx).deadline.unwrap().0;
        assert_eq!(due, h.time + 7 * DAY_NS);
        h.time = due;
        assert_eq!(
            h.transact(Some(2), tx, deliver()),
            Err(Reject::DeadlinePassed)
        );
        h.tick_at(due + 5).unwrap();
        assert_eq!(h.tx(tx).status, TxStatus::Refunded);
        assert_eq!(h.balance(1).0, amt(100));
        assert_eq!(h.market.reputation(AgentId(2)).stats.refunded_as_seller, 1);

        // Never funded: cancelled.
        let (mut h, tx) = accepted();
        let due = h.tx(tx).deadline.unwrap().0;
        h.tick_at(due).unwrap();
        assert_eq!(h.tx(tx).status, TxStatus::Cancelled);
    }

    #[test]
    fn each_party_rates_the_other_once_after_the_end() {
        let (mut h, tx) = accepted();
        let rate = |score| TxAction::Rate {
            score,
            comment: "great".into(),
        };
        h.transact(Some(1), tx, TxAction::Fund).unwrap();
        assert_eq!(
            h.transact(Some(1), tx, rate(5)),
            Err(Reject::WrongStatus {
                status: TxStatus::EscrowFunded
            })
        );
        // Bad input is refused as such, whatever the state.
        assert_eq!(
            h.transact(Some(1), tx, rate(6)),
            Err(Reject::RatingOutOfRange)
        );
        let blank = TxAction::Dispute { reason: " ".into() };
        assert_eq!(
            h.transact(Some(1), tx, blank),
            Err(Reject::TextBlank {
                field: TextField::Reason
            })
        );
        let unproven = TxAction::Deliver {
            proof: String::new(),
            message: "done".into(),
        };
        assert_eq!(
            h.transact(Some(2), tx, unproven),
            Err(Reject::TextBlank {
                field: TextField::Proof
            })
        );
        h.transact(Some(1), tx, TxAction::Confirm).unwrap();
        assert_eq!(
            h.transact(Some(1), tx, rate(6)),
            Err(Reject::RatingOutOfRange)
        );
        assert_eq!(h.transact(Some(1), tx, rate(5)), Ok(TxStatus::Completed));
        assert_eq!(h.transact(Some(1), tx, rate(4)), Err(Reject::AlreadyRated));
        assert_eq!(h.transact(Some(2), tx, rate(3)), Ok(TxStatus::Completed));
        let seller = h.market.reputation(AgentId(2));
        assert_eq!((seller.stats.rating_sum, seller.stats.rating_count), (5, 1));
        assert_eq!(seller.stats.completed_as_seller, 1);
        assert_eq!(seller.volume, vec![(crate::testkit::credits(), amt(10))]);
        assert_eq!(h.market.reputation(AgentId(1)).stats.rating_sum, 3);
    }

    #[test]
    fn an_order_book_fill_is_a_funded_transaction_that_settles_the_same_way() {
        let mut h = Harness::default();
        h.deposit(1, 100);
        h.limit(2, Side::Sell, 10, 2);
        h.limit(1, Side::Buy, 10, 2);
        let tx = TransactionId(1);
        let view = h.tx(tx);
        assert_eq!(
            (view.status, view.amount),
            (TxStatus::EscrowFunded, amt(20))
        );
        assert_eq!(view.asset, Some(crate::testkit::gpu()));
        h.transact(Some(2), tx, deliver()).unwrap();
        h.transact(Some(1), tx, TxAction::Confirm).unwrap();
        assert_eq!(h.balance(2).0, amt(18));
        assert_eq!(h.platform(), amt(2));
    }

    #[test]
    fn the_fee_rounds_down_to_the_smallest_unit() {
        assert_eq!(Amount(19).basis_points(1_000), Amount(1));
        assert_eq!(Amount(9).basis_points(1_000), Amount(0));
        assert_eq!(amt(3).basis_points(250), Amount(7_500_000));
        assert_eq!(amt(3).basis_points(0), Amount::ZERO);
    }
}

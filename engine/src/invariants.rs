//! State invariants, checked after every step in tests. A failure names
//! the first broken invariant.

use rustc_hash::FxHashMap;

use crate::cmd::place_order::Side;
use crate::ledger::AgentIdx;
use crate::ledger::CurrencyId;
use crate::market::Market;
use crate::orders::NIL;
use crate::transactions::{Origin, Resolution, TxStatus};
use crate::units::{Amount, OrderId, TransactionId};

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

impl Market {
    /// Checks every invariant of the state: books sorted, uncrossed and
    /// consistent with their orders; holds equal to what open orders need;
    /// no negative balance; money conserved per currency.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut open_in_books = 0usize;
        let mut held: FxHashMap<(AgentIdx, CurrencyId), i64> = FxHashMap::default();
        for (id, asset) in self.assets.iter() {
            let book = self.book(id);
            let mut orders = 0u32;
            book.check()
                .map_err(|e| format!("{}: {e}", asset.spec.symbol))?;
            for side in [Side::Buy, Side::Sell] {
                for level in book.levels(side) {
                    let mut slot = level.head;
                    let mut prev = NIL;
                    let (mut count, mut total) = (0u32, 0i64);
                    while slot != NIL {
                        let o = self.orders.get(slot);
                        ensure!(o.prev == prev, "order {} has a broken queue link", o.id);
                        ensure!(
                            o.status.is_open(),
                            "order {} rests but is {:?}",
                            o.id,
                            o.status
                        );
                        ensure!(
                            o.asset == id && o.side() == side && o.price == level.price,
                            "order {} rests in the wrong level",
                            o.id
                        );
                        ensure!(o.remaining.0 > 0, "order {} rests with nothing left", o.id);
                        ensure!(
                            self.orders.find(o.id) == Some(slot),
                            "order {} not indexed",
                            o.id
                        );
                        if side == Side::Buy {
                            *held.entry((o.agent, asset.currency)).or_default() +=
                                asset.notional(o.price, o.remaining).0;
                        }
                        count += 1;
                        total += o.remaining.0;
                        prev = slot;
                        slot = o.next;
                    }
                    ensure!(
                        level.tail == prev,
                        "level {:?} has a wrong tail",
                        level.price
                    );
                    ensure!(
                        count == level.count && count > 0,
                        "level {:?} count is wrong",
                        level.price
                    );
                    ensure!(
                        total == level.total.0,
                        "level {:?} total is not the sum of its orders",
                        level.price
                    );
                    orders += count;
                }
            }
            ensure!(
                orders == book.orders_count(),
                "{}: order count is wrong",
                asset.spec.symbol
            );
            open_in_books += orders as usize;
            if let (Some(bid), Some(ask)) = (book.best(Side::Buy), book.best(Side::Sell)) {
                ensure!(
                    bid.price < ask.price,
                    "{}: book is crossed",
                    asset.spec.symbol
                );
            }
        }
        for (bidder, currency, amount) in self.auctions.holds() {
            *held.entry((bidder, currency)).or_default() += amount.0;
        }
        self.check_order_lists(open_in_books)?;
        self.check_money(&held)?;
        self.check_transactions()
    }

    fn check_order_lists(&self, open_in_books: usize) -> Result<(), String> {
        let mut open = 0usize;
        for agent in self.orders.agents_with_orders() {
            open += self.orders.check_open_list(agent)? as usize;
            for e in self.orders.open_orders_of(agent, None) {
                self.check_id_below_max(e.id)?;
            }
        }
        ensure!(
            open == open_in_books,
            "{open} open orders listed, {open_in_books} in books"
        );
        for slot in self.orders.finished_slots() {
            ensure!(
                !self.orders.get(slot).status.is_open(),
                "a finished order is open"
            );
            self.check_id_below_max(self.orders.get(slot).id)?;
        }
        let retained = self.orders.finished_len();
        ensure!(
            self.orders.finished_total() >= retained as u64,
            "more finished orders retained than ever finished"
        );
        ensure!(
            retained <= self.config.orders_finished_retained_max as usize,
            "too many finished orders retained"
        );
        ensure!(
            self.orders.len() == open + retained,
            "order index size is wrong"
        );
        Ok(())
    }

    /// A kept order's id is at most the highest id ever placed, which new
    /// orders above it rely on to skip the duplicate-id lookup.
    fn check_id_below_max(&self, id: OrderId) -> Result<(), String> {
        ensure!(
            id.0 <= self.order_id_max,
            "order {} is above the highest order id {}",
            id.0,
            self.order_id_max
        );
        Ok(())
    }

    fn check_money(&self, held: &FxHashMap<(AgentIdx, CurrencyId), i64>) -> Result<(), String> {
        let currencies = self.ledger.totals().count();
        let mut sums = vec![0i128; currencies];
        for (idx, agent, currency, balance) in self.ledger.wallets() {
            ensure!(
                balance.available.0 >= 0 && balance.held.0 >= 0,
                "agent {agent} has a negative balance"
            );
            let expected = held.get(&(idx, currency)).copied().unwrap_or(0);
            ensure!(
                balance.held.0 == expected,
                "agent {agent} holds {} but its open orders need {}",
                balance.held,
                crate::units::Amount(expected)
            );
            sums[currency.0 as usize] +=
                i128::from(balance.available.0) + i128::from(balance.held.0);
        }
        for (key, need) in held {
            ensure!(
                *need == 0 || self.ledger.balance(key.0, key.1).held.0 == *need,
                "agent {:?} has no hold for its orders",
                key.0
            );
        }
        for (i, escrow) in self.ledger.escrows().enumerate() {
            sums[escrow.currency.0 as usize] += i128::from(escrow.balance.0);
            let id = TransactionId(i as u64 + 1);
            let tx = self.transactions.get(id);
            ensure!(tx.is_some(), "escrow {id} has no transaction");
        }
        ensure!(
            self.transactions.len() == self.ledger.escrow_count(),
            "transactions and escrow accounts differ in number"
        );
        for (id, _, _) in self.ledger.totals() {
            sums[id.0 as usize] += i128::from(self.ledger.platform(id).0);
        }
        for (id, code, deposited) in self.ledger.totals() {
            let total = sums[id.0 as usize];
            ensure!(
                total == i128::from(deposited.0),
                "{code}: accounts hold {total} but net deposits are {deposited}"
            );
        }
        Ok(())
    }

    /// Every transaction's escrow holds its amount exactly while funded and
    /// nothing otherwise; deadlines are indexed exactly for the statuses
    /// that time out; listings count their sold units.
    fn check_transactions(&self) -> Result<(), String> {
        // Compared with the index in one sorted pass at the end: a lookup
        // per transaction would cost a cache miss each.
        let mut deadlines = Vec::new();
        let mut sold = vec![0u64; self.listings.all().len()];
        for (i, tx) in self.transactions.records().enumerate() {
            let id = TransactionId(i as u64 + 1);
            let balance = self.ledger.escrow_balance(id);
            let expected = if tx.status.is_funded() {
                tx.amount.0
            } else {
                0
            };
            ensure!(
                balance.0 == expected,
                "transaction {id} is {:?} but its escrow holds {balance}",
                tx.status
            );
            let times_out = matches!(
                tx.status,
                TxStatus::Pending | TxStatus::EscrowFunded | TxStatus::Delivered
            );
            ensure!(
                times_out == (tx.deadline.0 != 0),
                "transaction {id} is {:?} with deadline {:?}",
                tx.status,
                tx.deadline
            );
            if times_out {
                deadlines.push((tx.deadline, id));
            }
            let details = self.transactions.details(id);
            let fee = details.map_or(Amount::ZERO, |d| d.fee);
            let to_seller = match (tx.status, details.and_then(|d| d.resolution)) {
                (TxStatus::Completed, _) | (TxStatus::Resolved, Some(Resolution::Release)) => {
                    tx.amount
                }
                (TxStatus::Resolved, Some(Resolution::Split { seller_amount })) => seller_amount,
                _ => Amount::ZERO,
            };
            ensure!(
                fee == to_seller.basis_points(details.map_or(0, |d| d.fee_bps)),
                "transaction {id} charged a fee of {fee} on {to_seller}"
            );
            if let Origin::Listing { listing_id } = tx.origin {
                if tx.status != TxStatus::Cancelled {
                    sold[(listing_id.0 - 1) as usize] +=
                        (tx.quantity.0 / crate::units::SCALE) as u64;
                }
            }
        }
        ensure!(
            self.transactions.chains_are_whole(),
            "an agent's chain of transactions is broken"
        );
        ensure!(
            self.requests.index_is_whole()
                && self.listings.index_is_whole()
                && self.auctions.index_is_whole(),
            "an index of requests, listings or auctions by owner is stale"
        );
        deadlines.sort_unstable();
        ensure!(
            self.transactions.deadlines() == deadlines,
            "the transaction deadlines indexed are not those of the transactions that time out"
        );
        let disputed = self
            .transactions
            .records()
            .filter(|t| t.status == TxStatus::Disputed)
            .count();
        ensure!(
            self.transactions.disputes().len() == disputed
                && self.transactions.disputes().iter().all(|id| self
                    .transactions
                    .get(*id)
                    .map(|t| t.status)
                    == Some(TxStatus::Disputed)),
            "the dispute queue differs from the disputed transactions"
        );
        for (i, listing) in self.listings.all().iter().enumerate() {
            ensure!(
                u64::from(listing.sold) == sold[i],
                "listing {} counts {} sold but its transactions hold {}",
                i + 1,
                listing.sold,
                sold[i]
            );
        }
        for (i, offer) in self.requests.offers().iter().enumerate() {
            let accepted = offer.status == crate::requests::OfferStatus::Accepted;
            ensure!(
                accepted == offer.transaction_id.is_some(),
                "offer {} is {:?} with transaction {:?}",
                i + 1,
                offer.status,
                offer.transaction_id
            );
        }
        Ok(())
    }
}

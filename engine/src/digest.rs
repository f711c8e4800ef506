//! A stable hash of the whole state, to prove that two runs (or a run and
//! its replay) reached the same state.
//!
//! It covers what the state means, not how it is laid out: slot numbers,
//! hash-map order and spare capacity do not enter it.

use std::io::{BufWriter, Write};

use crate::cmd::place_order::Side;
use crate::market::Market;
use crate::orders::{Order, NIL};

/// The hasher, fed through a buffer: `Debug` output comes in many tiny
/// pieces, and hashing them one by one costs more than the formatting.
/// The bytes hashed (and so the digest) are the same either way.
type Hasher = BufWriter<blake3::Hasher>;

/// Bytes buffered before they are hashed.
const BUFFER: usize = 64 * 1024;

/// Feeds one value's meaning into the hasher.
fn put(h: &mut Hasher, value: impl std::fmt::Debug) {
    write!(h, "{value:?};").expect("hashing does not fail");
}

fn put_order(h: &mut Hasher, market: &Market, slot: u32) {
    let o: &Order = market.orders.get(slot);
    put(
        h,
        (
            o.id,
            market.ledger.agent_id(o.agent),
            o.price,
            o.remaining,
            o.filled,
            o.placed_at,
        ),
    );
    put(
        h,
        (o.asset, o.traits, o.status, market.orders.client_id(slot)),
    );
}

impl Market {
    /// A 32-byte digest of the whole state.
    pub fn state_digest(&self) -> [u8; 32] {
        let mut h = BufWriter::with_capacity(BUFFER, blake3::Hasher::new());
        put(&mut h, &self.config);
        put(&mut h, (self.next_trade_id, self.order_id_max));
        for agent in self.agents.iter() {
            put(&mut h, agent);
        }
        for record in self.idempotency.iter() {
            put(&mut h, record);
        }
        for (id, asset) in self.assets.iter() {
            put(&mut h, (asset.spec, asset.currency));
            let book = self.book(id);
            put(&mut h, (book.last_price(), book.trades()));
            for side in [Side::Buy, Side::Sell] {
                for level in book.levels(side) {
                    put(&mut h, (level.price, level.total, level.count));
                    let mut slot = level.head;
                    while slot != NIL {
                        put_order(&mut h, self, slot);
                        slot = self.orders.get(slot).next;
                    }
                }
            }
        }
        let mut agents: Vec<_> = self
            .orders
            .agents_with_orders()
            .map(|a| (self.ledger.agent_id(a), a))
            .collect();
        agents.sort_unstable();
        for (id, agent) in agents {
            put(&mut h, id);
            for e in self.orders.open_orders_of(agent, None) {
                put(&mut h, e.id);
            }
        }
        for slot in self.orders.finished_slots() {
            put_order(&mut h, self, slot);
        }
        put(&mut h, self.orders.finished_total());
        put(&mut h, self.orders.client_id_count());
        let mut wallets: Vec<_> = self
            .ledger
            .wallets()
            .map(|(_, id, c, b)| (id, c, b))
            .collect();
        wallets.sort_unstable_by_key(|(id, c, _)| (*id, *c));
        for wallet in wallets {
            put(&mut h, wallet);
        }
        for t in self.ledger.totals() {
            put(&mut h, t);
        }
        for (i, t) in self.transactions.records().enumerate() {
            let id = crate::units::TransactionId(i as u64 + 1);
            let parties = (
                self.ledger.agent_id(t.buyer),
                self.ledger.agent_id(t.seller),
            );
            put(
                &mut h,
                (t.origin, parties, self.ledger.currency_code(t.currency)),
            );
            put(
                &mut h,
                (
                    t.status,
                    t.quantity,
                    t.price,
                    t.amount,
                    t.created_at,
                    t.deadline,
                ),
            );
            put(
                &mut h,
                (
                    self.ledger.escrow_balance(id),
                    self.transactions.details(id),
                ),
            );
        }
        put(&mut h, &self.terms);
        put(&mut h, self.requests.requests());
        put(&mut h, self.requests.offers());
        put(&mut h, self.listings.all());
        for a in self.auctions.all().iter() {
            let seller = self.ledger.agent_id(a.seller);
            let bids: Vec<_> = a
                .bids
                .iter()
                .map(|b| (self.ledger.agent_id(b.bidder), b.amount, b.time))
                .collect();
            put(
                &mut h,
                (seller, &a.post, a.status, a.ends_at, a.transaction_id),
            );
            put(&mut h, (bids, a.leader, a.winner, a.created_at));
        }
        let h = h.into_inner().expect("hashing does not fail");
        *h.finalize().as_bytes()
    }
}

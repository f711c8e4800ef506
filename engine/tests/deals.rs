//! Property tests over random interleavings of every way agents deal:
//! requests and offers, listings, auctions of every kind, order-book
//! fills, every transaction
//! step (by the right party, the wrong one and strangers) and deadlines
//! passing, the fee changing. After every step the harness checks all invariants (money
//! conserved with the platform's fees, no negative balance, each
//! transaction's escrow matching its status, fees exactly as configured,
//! listings' sold units, bid holds equal to the leading or sealed bids); at
//! the end every auction closed with the winner a naive reading of its
//! bids gives, and replaying the accepted commands gives the same digest.

#[path = "../src/testkit.rs"]
mod testkit;

use agora_engine::auctions::{AuctionKind, AuctionStatus, Pricing};
use agora_engine::cmd::{AuctionOp, RequestOp};
use agora_engine::config::{Terms, DAY_NS};
use agora_engine::deal_queries::AuctionView;
use agora_engine::transactions::{Resolution, TxAction, TxStatus};
use agora_engine::units::{
    AgentId, Amount, AuctionId, ListingId, OfferId, RequestId, TransactionId,
};
use agora_engine::{Answer, Command, EngineConfig, Market, Query, Side};
use proptest::prelude::*;
use testkit::{amt, Harness};

const AGENTS: u64 = 5;

#[derive(Clone, Debug)]
enum Op {
    Deposit(u64, i64),
    Request(u64, i64, bool),
    Offer(u64, usize, i64),
    Accept(u64, usize),
    RejectOffer(u64, usize),
    Withdraw(u64, usize),
    CloseRequest(u64, usize, bool),
    List(u64, i64, u32),
    Purchase(u64, usize, u32),
    Order(u64, bool, i64, i64),
    Act(Option<u64>, usize, u8, i64),
    Wait(i64),
    Terms(u32),
    Auction(u64, u8, i64, i64),
    Bid(u64, usize, i64),
    AcceptDutch(u64, usize),
    CancelAuction(u64, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let agent = 1..=AGENTS;
    let any_caller = prop::option::weighted(0.9, 1..=AGENTS + 1);
    prop_oneof![
        4 => (agent.clone(), 1i64..500).prop_map(|(a, u)| Op::Deposit(a, u)),
        6 => (agent.clone(), 1i64..50, any::<bool>()).prop_map(|(a, b, s)| Op::Request(a, b, s)),
        10 => (agent.clone(), any::<usize>(), 1i64..60).prop_map(|(a, r, p)| Op::Offer(a, r, p)),
        6 => (agent.clone(), any::<usize>()).prop_map(|(a, o)| Op::Accept(a, o)),
        2 => (agent.clone(), any::<usize>()).prop_map(|(a, o)| Op::RejectOffer(a, o)),
        2 => (agent.clone(), any::<usize>()).prop_map(|(a, o)| Op::Withdraw(a, o)),
        1 => (agent.clone(), any::<usize>(), any::<bool>()).prop_map(|(a, r, f)| Op::CloseRequest(a, r, f)),
        3 => (agent.clone(), 1i64..40, 1u32..4).prop_map(|(a, p, n)| Op::List(a, p, n)),
        5 => (agent.clone(), any::<usize>(), 1u32..3).prop_map(|(a, l, n)| Op::Purchase(a, l, n)),
        6 => (agent, any::<bool>(), 9i64..=11, 1i64..4).prop_map(|(a, b, p, q)| Op::Order(a, b, p, q)),
        30 => (any_caller, any::<usize>(), 0u8..9, 0i64..60).prop_map(|(c, t, k, x)| Op::Act(c, t, k, x)),
        4 => (0i64..4 * DAY_NS).prop_map(Op::Wait),
        1 => (0u32..=12_000).prop_map(Op::Terms),
        3 => (1..=AGENTS, 0u8..4, 1i64..30, 1i64..3 * DAY_NS).prop_map(|(a, k, p, e)| Op::Auction(a, k, p, e)),
        20 => (1..=AGENTS, any::<usize>(), 1i64..80).prop_map(|(a, i, x)| Op::Bid(a, i, x)),
        2 => (1..=AGENTS, any::<usize>()).prop_map(|(a, i)| Op::AcceptDutch(a, i)),
        1 => (1..=AGENTS, any::<usize>()).prop_map(|(a, i)| Op::CancelAuction(a, i)),
    ]
}

fn pick(count: usize, i: usize) -> u64 {
    // One in eight picks an id that does not exist.
    if count == 0 || i % 8 == 7 {
        count as u64 + 1
    } else {
        (i % count) as u64 + 1
    }
}

fn action(kind: u8, x: i64) -> TxAction {
    match kind {
        0 | 1 => TxAction::Fund,
        2 => TxAction::Deliver {
            proof: "proof".into(),
            message: String::new(),
        },
        3 => TxAction::Confirm,
        4 => TxAction::Dispute {
            reason: "late".into(),
        },
        5 => TxAction::Resolve(match x % 3 {
            0 => Resolution::Release,
            1 => Resolution::Refund,
            _ => Resolution::Split {
                seller_amount: Amount(x * 7_777_777),
            },
        }),
        6 => TxAction::Rate {
            score: (x % 7) as u8,
            comment: String::new(),
        },
        7 => TxAction::Cancel,
        _ => TxAction::Fund,
    }
}

fn run(h: &mut Harness, op: &Op) {
    let Ok(Answer::Stats(stats)) = h.market.query(&Query::Stats) else {
        panic!("stats")
    };
    let count = |n: u64| n as usize;
    let (requests, offers) = (count(stats.requests), count(stats.offers));
    let (listings, transactions) = (count(stats.listings), count(stats.transactions));
    let auctions = count(stats.auctions);
    match op {
        Op::Deposit(a, u) => h.deposit(*a, *u),
        Op::Request(a, budget, sealed) => {
            let _ = h.request(*a, *budget, if *sealed { DAY_NS / 4 } else { 0 });
        }
        Op::Offer(a, r, p) => {
            let _ = h.offer(*a, RequestId(pick(requests, *r)), *p);
        }
        Op::Accept(a, o) => {
            let _ = h.accept(*a, OfferId(pick(offers, *o)));
        }
        Op::RejectOffer(a, o) => {
            let offer_id = OfferId(pick(offers, *o));
            let _ = h.requests(*a, RequestOp::RejectOffer { offer_id });
        }
        Op::Withdraw(a, o) => {
            let offer_id = OfferId(pick(offers, *o));
            let _ = h.requests(*a, RequestOp::WithdrawOffer { offer_id });
        }
        Op::CloseRequest(a, r, fulfil) => {
            let request_id = RequestId(pick(requests, *r));
            let op = if *fulfil {
                RequestOp::Fulfil { request_id }
            } else {
                RequestOp::Cancel { request_id }
            };
            let _ = h.requests(*a, op);
        }
        Op::List(a, p, n) => {
            h.listing(*a, *p, *n);
        }
        Op::Purchase(a, l, n) => {
            let _ = h.purchase(*a, ListingId(pick(listings, *l)), *n);
        }
        Op::Order(a, buy, p, q) => {
            let side = if *buy { Side::Buy } else { Side::Sell };
            let order = h.order(*a, side, *p, *q);
            let _ = h.place(order);
        }
        Op::Act(caller, t, kind, x) => {
            let tx = TransactionId(pick(transactions, *t));
            // Agent AGENTS + 1 stands for the operator.
            let caller = caller.filter(|c| *c <= AGENTS);
            let _ = h.transact(caller, tx, action(*kind, *x));
        }
        Op::Wait(ns) => {
            let _ = h.tick_at(h.time + 1 + ns);
        }
        Op::Auction(seller, kind, start, ends_in) => {
            let kind = match kind {
                0 => AuctionKind::English {
                    min_increment: amt(1),
                    buy_now: (*start % 3 == 0).then(|| amt(start * 3)),
                    extension_ns: if *start % 2 == 0 { DAY_NS / 24 } else { 0 },
                },
                1 => AuctionKind::Dutch {
                    floor: amt(start / 2),
                    decrement: amt(1),
                    interval_ns: DAY_NS / 8,
                },
                2 => AuctionKind::SealedBid {
                    pricing: Pricing::FirstPrice,
                },
                _ => AuctionKind::SealedBid {
                    pricing: Pricing::SecondPrice,
                },
            };
            let reserve = (start % 4 == 0).then_some(start + 5);
            let reserve = if matches!(kind, AuctionKind::Dutch { .. }) {
                None
            } else {
                reserve
            };
            h.auction(*seller, kind, *start, reserve, *ends_in);
        }
        Op::Bid(a, i, x) => {
            let _ = h.bid(*a, AuctionId(pick(auctions, *i)), amt(*x));
        }
        Op::AcceptDutch(a, i) => {
            let auction_id = AuctionId(pick(auctions, *i));
            let _ = h.auctions(*a, AuctionOp::Accept { auction_id });
        }
        Op::CancelAuction(a, i) => {
            let auction_id = AuctionId(pick(auctions, *i));
            let _ = h.auctions(*a, AuctionOp::Cancel { auction_id });
        }
        Op::Terms(fee_bps) => {
            let terms = Terms {
                fee_bps: *fee_bps,
                ..Terms::default()
            };
            let _ = h.run(Command::SetTerms(Box::new(terms)));
        }
    }
}

/// Checks a closed auction's outcome against a naive reading of its bids:
/// the winner is the valid highest bid (earliest on ties) and pays what
/// its rules say; no winner only when no bid met the reserve.
fn check_outcome(view: &AuctionView) -> Result<(), TestCaseError> {
    let reserve = view.post.reserve.unwrap_or(Amount::ZERO);
    let winner = view.winner;
    match view.post.kind {
        AuctionKind::English { buy_now, .. } => {
            let last = view.bids.last();
            let expected = last.and_then(|b| match buy_now {
                Some(now) if b.amount >= now => Some((b.bidder, now)),
                _ => (b.amount >= reserve).then_some((b.bidder, b.amount)),
            });
            prop_assert_eq!(winner, expected);
        }
        AuctionKind::Dutch { .. } => {
            prop_assert!(view.bids.len() <= 1);
            prop_assert_eq!(winner, view.bids.first().map(|b| (b.bidder, b.amount)));
        }
        AuctionKind::SealedBid { pricing } => {
            let mut standing: Vec<(usize, AgentId, Amount)> = Vec::new();
            for (i, b) in view.bids.iter().enumerate() {
                standing.retain(|(_, who, _)| *who != b.bidder);
                standing.push((i, b.bidder, b.amount));
            }
            let best = standing
                .iter()
                .max_by(|x, y| x.2.cmp(&y.2).then(y.0.cmp(&x.0)))
                .filter(|b| b.2 >= reserve);
            let expected = best.map(|&(i, who, amount)| {
                let price = match pricing {
                    Pricing::FirstPrice => amount,
                    Pricing::SecondPrice => {
                        let second = standing
                            .iter()
                            .filter(|(j, _, _)| *j != i)
                            .map(|(_, _, a)| *a)
                            .max()
                            .unwrap_or(view.post.starting_price);
                        second
                            .max(reserve)
                            .max(view.post.starting_price)
                            .min(amount)
                    }
                };
                (who, price)
            });
            prop_assert_eq!(winner, expected);
        }
    }
    Ok(())
}

fn replay(h: &Harness) -> Market {
    let mut market = Market::new(EngineConfig::default());
    let mut events = Vec::new();
    for (input, accepted) in &h.log {
        let reply = market.apply(input, &mut events);
        assert_eq!(reply.is_ok(), *accepted, "replay of {input:?} differs");
    }
    market
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_interleaving_of_deals_conserves_money_and_replays(
        ops in prop::collection::vec(op(), 1..600)
    ) {
        let mut h = Harness::default();
        for agent in 1..=AGENTS {
            h.deposit(agent, 200);
        }
        for op in &ops {
            run(&mut h, op);
        }
        // Let every deadline pass: only disputes may stay in flight.
        // (Twice: auctions closing at the first tick open transactions
        // whose deadlines the second passes.)
        let _ = h.tick_at(h.time + 30 * DAY_NS);
        let _ = h.tick_at(h.time + 30 * DAY_NS);
        let Ok(Answer::Stats(stats)) = h.market.query(&Query::Stats) else {
            panic!("stats")
        };
        for id in 1..=stats.transactions {
            let status = h.tx(TransactionId(id)).status;
            prop_assert!(status.is_final() || status == TxStatus::Disputed, "{:?}", status);
        }
        for id in 1..=stats.auctions {
            let view = h.auction_view(AuctionId(id), None);
            prop_assert!(view.status != AuctionStatus::Open, "auction {} still open", id);
            if view.status != AuctionStatus::Cancelled {
                check_outcome(&view)?;
            }
        }
        prop_assert_eq!(replay(&h).state_digest(), h.market.state_digest());
        let Ok(Answer::MoneyTotals(totals)) = h.market.query(&Query::MoneyTotals) else {
            panic!("totals")
        };
        for t in totals {
            prop_assert_eq!(
                t.available.0 + t.held.0 + t.escrowed.0 + t.platform.0,
                t.deposited_net.0
            );
        }
    }
}

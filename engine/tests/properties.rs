//! Property tests over random command streams: after every step the
//! engine's invariants hold and its fills and resting orders equal those of
//! a naive reference book; replaying the stream gives the same digest.

mod reference;
#[path = "../src/testkit.rs"]
mod testkit;

use agora_engine::cmd::{
    AmendOrder, CancelAll, CancelOrder, Deposit, Idempotent, RegisterAsset, Withdraw,
};
use agora_engine::idempotency::IdempotencyKey;
use agora_engine::query::OrderView;
use agora_engine::reply::OrderStatus;
use agora_engine::units::{
    AgentId, Amount, ClientOrderId, Currency, OrderId, Price, Quantity, Symbol, SCALE,
};
use agora_engine::{
    Ack, Answer, AssetSpec, Command, EngineConfig, Event, Market, OrderRef, OrderType, Query,
    Reject, SelfTradePrevention, Side, TimeInForce,
};
use proptest::prelude::*;
use reference::{Fill, NewOrder, Reference};
use testkit::Harness;

const ASSETS: [&str; 4] = ["A", "B", "C", "IMPLICIT"];
const CURRENCIES: [&str; 2] = ["CREDITS", "USD"];

#[derive(Clone, Debug)]
enum Op {
    Place {
        agent: u64,
        asset: usize,
        side: Side,
        market: bool,
        price: i64,
        quantity: i64,
        tif: TimeInForce,
        stp: SelfTradePrevention,
    },
    Cancel {
        agent: u64,
        pick: usize,
    },
    Amend {
        agent: u64,
        pick: usize,
        price: Option<i64>,
        quantity: Option<i64>,
    },
    CancelAll {
        agent: u64,
        asset: Option<usize>,
    },
    Deposit {
        agent: u64,
        currency: usize,
        units: i64,
    },
    Withdraw {
        agent: u64,
        currency: usize,
        units: i64,
    },
}

fn op(agents: u64) -> impl Strategy<Value = Op> {
    let agent = 1..=agents;
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    let tif = prop_oneof![
        6 => Just(TimeInForce::Gtc),
        2 => Just(TimeInForce::Ioc),
        1 => Just(TimeInForce::Fok),
        2 => Just(TimeInForce::PostOnly),
    ];
    let stp = prop_oneof![
        Just(SelfTradePrevention::CancelResting),
        Just(SelfTradePrevention::CancelNewest),
        Just(SelfTradePrevention::CancelBoth),
    ];
    prop_oneof![
        60 => (agent.clone(), 0..ASSETS.len(), side, prop::bool::weighted(0.1), 95i64..=105, 1i64..=8, tif, stp)
            .prop_map(|(agent, asset, side, market, price, quantity, tif, stp)| Op::Place {
                agent, asset, side, market, price, quantity, tif, stp,
            }),
        15 => (agent.clone(), any::<usize>()).prop_map(|(agent, pick)| Op::Cancel { agent, pick }),
        10 => (agent.clone(), any::<usize>(), prop::option::of(95i64..=105), prop::option::of(1i64..=8))
            .prop_map(|(agent, pick, price, quantity)| Op::Amend { agent, pick, price, quantity }),
        3 => (agent.clone(), prop::option::of(0..ASSETS.len()))
            .prop_map(|(agent, asset)| Op::CancelAll { agent, asset }),
        8 => (agent.clone(), 0..CURRENCIES.len(), 1i64..=2_000)
            .prop_map(|(agent, currency, units)| Op::Deposit { agent, currency, units }),
        3 => (agent, 0..CURRENCIES.len(), 1i64..=500)
            .prop_map(|(agent, currency, units)| Op::Withdraw { agent, currency, units }),
    ]
}

fn symbol(i: usize) -> Symbol {
    Symbol::new(ASSETS[i]).unwrap()
}

fn currency(i: usize) -> Currency {
    Currency::new(CURRENCIES[i]).unwrap()
}

/// A harness with A and B quoted in CREDITS, C in USD (tick 0.5) and
/// IMPLICIT created by its first order.
fn harness(config: EngineConfig) -> Harness {
    let mut h = Harness::new(config);
    for (i, tick) in [(0, SCALE), (1, SCALE), (2, SCALE / 2)] {
        let spec = AssetSpec {
            symbol: symbol(i),
            quote_currency: currency(usize::from(i == 2)),
            tick_size: Price(tick),
            lot_size: Quantity(SCALE),
            quantity_min: Quantity(SCALE),
            quantity_max: Quantity(1_000 * SCALE),
        };
        h.run(Command::RegisterAsset(RegisterAsset { spec }))
            .unwrap();
    }
    h
}

fn engine_fills(events: &[Event]) -> Vec<Fill> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Trade(t) => Some((t.maker_order_id, t.taker_order_id, t.price, t.quantity)),
            _ => None,
        })
        .collect()
}

/// The command `op` stands for; new order ids are recorded in `ids`, and
/// cancels and amends pick among them (some unknown, some not the agent's).
fn to_command(h: &mut Harness, op: &Op, ids: &mut Vec<OrderId>) -> Command {
    let pick = |p: usize| ids.get(p % ids.len().max(1)).copied().unwrap_or(OrderId(0));
    match op.clone() {
        Op::Place {
            agent,
            asset,
            side,
            market,
            price,
            quantity,
            tif,
            stp,
        } => {
            let mut order = h.order(agent, side, price, quantity);
            order.asset = symbol(asset);
            order.time_in_force = tif;
            order.stp = stp;
            if market {
                order.order_type = OrderType::Market;
                order.price = None;
            }
            ids.push(order.order_id);
            Command::PlaceOrder(order)
        }
        Op::Cancel { agent, pick: p } => Command::CancelOrder(CancelOrder {
            agent: AgentId(agent),
            order: OrderRef::Id(pick(p)),
        }),
        Op::Amend {
            agent,
            pick: p,
            price,
            quantity,
        } => Command::AmendOrder(AmendOrder {
            agent: AgentId(agent),
            order: OrderRef::Id(pick(p)),
            price: price.map(|p| Price(p * SCALE)),
            quantity: quantity.map(|q| Quantity(q * SCALE)),
        }),
        Op::CancelAll { agent, asset } => Command::CancelAll(CancelAll {
            agent: AgentId(agent),
            asset: asset.map(symbol),
        }),
        Op::Deposit {
            agent,
            currency: c,
            units,
        } => Command::Deposit(Deposit {
            agent: AgentId(agent),
            currency: currency(c),
            amount: Amount(units * SCALE),
        }),
        Op::Withdraw {
            agent,
            currency: c,
            units,
        } => Command::Withdraw(Withdraw {
            agent: AgentId(agent),
            currency: currency(c),
            amount: Amount(units * SCALE),
        }),
    }
}

/// The id an order reference names (the streams use ids only).
fn id_of(order: &OrderRef) -> OrderId {
    match order {
        OrderRef::Id(id) => *id,
        OrderRef::ClientId(_) => unreachable!("streams name orders by id"),
    }
}

/// Runs `ops` through the engine and the reference side by side.
fn run_side_by_side(ops: &[Op], config: EngineConfig) -> Result<Harness, TestCaseError> {
    let mut h = harness(config);
    let mut reference = Reference::default();
    let mut ids: Vec<OrderId> = Vec::new();
    for op in ops {
        let command = to_command(&mut h, op, &mut ids);
        let got = h.run(command.clone());
        let fills = engine_fills(&h.events);
        match command {
            Command::PlaceOrder(p) => {
                // Funds, limits and parameters are the engine's alone.
                let reference_decides = matches!(
                    got,
                    Ok(_) | Err(Reject::PostOnlyWouldCross | Reject::FokCannotFill { .. })
                );
                if reference_decides {
                    let expected = reference.place(NewOrder {
                        id: p.order_id,
                        agent: p.agent.0,
                        asset: p.asset,
                        side: p.side,
                        order_type: p.order_type,
                        price: p.price,
                        quantity: p.quantity,
                        tif: p.time_in_force,
                        stp: p.stp,
                    });
                    prop_assert_eq!(got.map(|_| ()), expected.clone().map(|_| ()), "{:?}", op);
                    prop_assert_eq!(fills, expected.unwrap_or_default(), "{:?}", op);
                }
            }
            Command::CancelOrder(c) => {
                let expected = reference.cancel(c.agent.0, id_of(&c.order));
                prop_assert_eq!(got.map(|_| ()), expected, "{:?}", op);
            }
            Command::AmendOrder(a) => {
                let reference_decides = !matches!(
                    got,
                    Err(Reject::InsufficientFunds { .. } | Reject::TooManyLevels)
                );
                if reference_decides {
                    let expected = reference.amend(a.agent.0, id_of(&a.order), a.price, a.quantity);
                    prop_assert_eq!(got.map(|_| ()), expected.clone().map(|_| ()), "{:?}", op);
                    prop_assert_eq!(fills, expected.unwrap_or_default(), "{:?}", op);
                }
            }
            Command::CancelAll(c) => {
                let count = reference.cancel_all(c.agent.0, c.asset);
                let resume_after = None;
                prop_assert_eq!(
                    got,
                    Ok(Ack::OrdersCancelled {
                        count,
                        resume_after
                    }),
                    "{:?}",
                    op
                );
            }
            Command::Deposit(_) => prop_assert!(got.is_ok()),
            Command::Withdraw(_) | Command::RegisterAsset(_) => {}
            other => unreachable!("streams hold only order and funds commands: {other:?}"),
        }
        for (i, name) in ASSETS.iter().enumerate() {
            let engine: Vec<_> = h
                .market
                .resting_orders(&symbol(i))
                .iter()
                .map(|o| (o.order_id, o.side, o.price, o.remaining))
                .collect();
            prop_assert_eq!(
                engine,
                reference.resting(symbol(i)),
                "book {} after {:?}",
                name,
                op
            );
        }
    }
    Ok(h)
}

/// Replays `h`'s inputs into a new market: all of them, one by one, or
/// only the accepted ones as recovery replays a journal, each hinting at
/// the ones after it (which must change nothing).
fn replay(h: &Harness, config: EngineConfig, accepted_only: bool) -> Market {
    let mut market = Market::new(config);
    let mut events = Vec::new();
    let log: Vec<_> = (h.log.iter())
        .filter(|(_, accepted)| *accepted || !accepted_only)
        .collect();
    for (i, (input, accepted)) in log.iter().enumerate() {
        let reply = match accepted_only {
            true => market.apply_before(
                input,
                log[i + 1..].iter().map(|(next, _)| next),
                &mut events,
            ),
            false => market.apply(input, &mut events),
        };
        assert_eq!(reply.is_ok(), *accepted, "replay diverged at {input:?}");
        events.clear();
    }
    market
}

fn check_stream(ops: &[Op], config: EngineConfig) -> Result<(), TestCaseError> {
    let h = run_side_by_side(ops, config.clone())?;
    let digest = h.market.state_digest();
    prop_assert_eq!(replay(&h, config.clone(), false).state_digest(), digest);
    prop_assert_eq!(replay(&h, config, true).state_digest(), digest);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_reference_and_keeps_invariants(ops in prop::collection::vec(op(6), 1..1_500)) {
        check_stream(&ops, EngineConfig::default())?;
    }

    #[test]
    fn small_retention_and_tight_limits_keep_invariants(ops in prop::collection::vec(op(3), 1..400)) {
        // Finished orders are forgotten quickly; ids of forgotten orders
        // become unknown in the engine, so only invariants and replay are
        // checked here, not agreement with the reference.
        let config = EngineConfig {
            orders_finished_retained_max: 2,
            book_levels_per_side_max: 4,
            book_orders_max: 12,
            agent_orders_open_max: 5,
            book_trades_recent_max: 3,
            ..EngineConfig::default()
        };
        let mut h = harness(config.clone());
        h.market.keep_finished_orders();
        let mut archive = Archive::default();
        let mut ids = Vec::new();
        for op in &ops {
            apply_loosely(&mut h, op, &mut ids);
            archive.step(&mut h)?;
        }
        archive.check_complete(&h)?;
        let digest = h.market.state_digest();
        prop_assert_eq!(replay(&h, config.clone(), false).state_digest(), digest);
        prop_assert_eq!(replay(&h, config, true).state_digest(), digest);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn a_snapshot_taken_anywhere_restores_and_continues_identically(
        ops in prop::collection::vec(op(4), 1..600),
        at in any::<prop::sample::Index>(),
        retained in 1u32..50,
    ) {
        // Restoring a snapshot gives the same state, and the restored
        // market answers every later command exactly as the original does;
        // idempotency keys (few, soon expired or evicted) included.
        let config = EngineConfig {
            orders_finished_retained_max: retained,
            idempotency_keys_max: 3,
            idempotency_retention_ns: 40,
            ..EngineConfig::default()
        };
        let split = at.index(ops.len());
        let mut a = harness(config);
        let mut ids = Vec::new();
        for (i, op) in ops[..split].iter().enumerate() {
            apply_keyed(&mut a, op, &mut ids, i);
        }
        let mut b = a.clone();
        b.market = Market::from_snapshot(&a.market.snapshot()).unwrap();
        prop_assert_eq!(b.market.state_digest(), a.market.state_digest());
        let mut ids_b = ids.clone();
        for (i, op) in ops.iter().enumerate().skip(split) {
            apply_keyed(&mut a, op, &mut ids, i);
            apply_keyed(&mut b, op, &mut ids_b, i);
        }
        prop_assert_eq!(&b.log, &a.log);
        prop_assert_eq!(b.market.state_digest(), a.market.state_digest());
    }

    #[test]
    fn a_market_leaving_out_postings_differs_only_in_them(
        ops in prop::collection::vec(op(4), 1..400),
    ) {
        // The server's engine thread leaves postings out: every reply,
        // every other event and the state (idempotent results included)
        // must be the same as with them.
        let config = EngineConfig {
            idempotency_keys_max: 3,
            ..EngineConfig::default()
        };
        let mut a = harness(config);
        let mut b = a.clone();
        b.market.leave_out_postings();
        let (mut ids, mut ids_b) = (Vec::new(), Vec::new());
        let mut postings = 0;
        // Funded first, so that the comparison always sees postings.
        let funding = Op::Deposit { agent: 1, currency: 0, units: 500 };
        for (i, op) in std::iter::once(&funding).chain(&ops).enumerate() {
            apply_keyed(&mut a, op, &mut ids, i);
            apply_keyed(&mut b, op, &mut ids_b, i);
            let (kept, left_out): (Vec<_>, Vec<_>) = (a.events.iter().cloned())
                .partition(|e| !matches!(e, Event::Posting(_)));
            postings += left_out.len();
            prop_assert_eq!(&b.events, &kept, "after {:?}", op);
        }
        prop_assert_eq!(&b.log, &a.log);
        prop_assert_eq!(b.market.state_digest(), a.market.state_digest());
        prop_assert!(postings > 0);
    }
}

/// What a stream's finished orders must add up to: every accepted order
/// is open or was handed over as finished exactly once, as it ended.
#[derive(Default)]
struct Archive {
    /// Accepted orders and what trades filled of each.
    filled: std::collections::BTreeMap<OrderId, i64>,
    /// Finished orders as handed over, in order.
    finished: Vec<OrderView>,
}

impl Archive {
    /// Takes the orders the last command finished, checking each against
    /// its trades and, while the market still keeps it, its own view.
    fn step(&mut self, h: &mut Harness) -> Result<(), TestCaseError> {
        for event in &h.events {
            match event {
                Event::OrderAccepted(a) => {
                    self.filled.insert(a.order_id, 0);
                }
                Event::Trade(t) => {
                    for id in [t.maker_order_id, t.taker_order_id] {
                        *self
                            .filled
                            .get_mut(&id)
                            .expect("trades name accepted orders") += t.quantity.0;
                    }
                }
                _ => {}
            }
        }
        let before = self.finished.len();
        h.market.take_finished_orders(&mut self.finished);
        for o in &self.finished[before..] {
            prop_assert!(!o.status.is_open(), "{:?}", o);
            prop_assert_eq!(o.filled.0, self.filled[&o.order_id], "{:?}", o);
            prop_assert_eq!(o.filled.0 + o.remaining.0, o.quantity.0, "{:?}", o);
            prop_assert_eq!(
                o.status == OrderStatus::Filled,
                o.remaining.0 == 0,
                "{:?}",
                o
            );
            let kept = h.market.query(&Query::Order {
                agent: o.agent,
                order: OrderRef::Id(o.order_id),
            });
            if let Ok(Answer::Order(view)) = kept {
                prop_assert_eq!(&view, o);
            }
        }
        Ok(())
    }

    /// Every accepted order is either resting or finished, never both,
    /// and each finished one was handed over once.
    fn check_complete(&self, h: &Harness) -> Result<(), TestCaseError> {
        let finished: std::collections::BTreeSet<_> =
            self.finished.iter().map(|o| o.order_id).collect();
        prop_assert_eq!(
            finished.len(),
            self.finished.len(),
            "an order finished twice"
        );
        prop_assert_eq!(self.finished.len() as u64, h.market.orders_finished_total());
        let resting: std::collections::BTreeSet<_> = (0..ASSETS.len())
            .flat_map(|i| h.market.resting_orders(&symbol(i)))
            .map(|o| o.order_id)
            .collect();
        prop_assert!(resting.is_disjoint(&finished));
        let accepted: std::collections::BTreeSet<_> = self.filled.keys().copied().collect();
        prop_assert_eq!(&accepted, &(&resting | &finished));
        Ok(())
    }
}

/// Applies `op` to the engine alone (invariants are checked by the harness).
fn apply_loosely(h: &mut Harness, op: &Op, ids: &mut Vec<OrderId>) {
    let command = to_command(h, op, ids);
    let _ = h.run(command);
}

/// Like [`apply_loosely`], sending two of every three commands (the
/// `i`th of the stream) with one of a few idempotency keys: some retries
/// replay, some reuse a key for another request, some find theirs expired
/// or evicted. Half the orders carry one of a few client ids: some are
/// refused as taken, some take over a finished order's.
fn apply_keyed(h: &mut Harness, op: &Op, ids: &mut Vec<OrderId>, i: usize) {
    let mut command = to_command(h, op, ids);
    if let Command::PlaceOrder(order) = &mut command {
        if i.is_multiple_of(2) {
            order.client_order_id = Some(ClientOrderId::new(&format!("c{}", i % 6)).unwrap());
        }
    }
    let command = match i % 3 {
        2 => command,
        _ => Command::Idempotent(Box::new(Idempotent {
            agent: AgentId(1 + i as u64 % 2),
            key: IdempotencyKey::new(&format!("k{}", i % 5)).unwrap(),
            request_hash: [(i / 4 % 2) as u8; 16],
            command,
        })),
    };
    let _ = h.run(command);
}

//! Auction workloads: one hot English auction that many bidders outbid
//! each other on, and many auctions that all close at the same moment.

use agora_engine::auctions::{AuctionKind, AuctionPost};
use agora_engine::cmd::{AuctionAction, AuctionOp, Deposit};
use agora_engine::units::{AgentId, Amount, AuctionId, Currency, Timestamp, SCALE};
use agora_engine::{Ack, Command, EngineConfig, Event, Input, Market};

const SELLER: AgentId = AgentId(1);
const START: i64 = 1_000;

fn credits() -> Currency {
    Currency::new("CREDITS").expect("valid currency")
}

fn apply(market: &mut Market, time: i64, command: Command) {
    let mut events = Vec::new();
    let input = Input {
        time: Timestamp(time),
        command,
    };
    market
        .apply(&input, &mut events)
        .expect("setup command accepted");
}

/// An English auction ending at `ends_at`, created at `START`.
fn english(market: &mut Market, ends_at: i64) {
    let post = AuctionPost {
        title: "Hot item".into(),
        description: String::new(),
        listing_id: None,
        kind: AuctionKind::English {
            min_increment: Amount(1),
            buy_now: None,
            extension_ns: 0,
        },
        starting_price: Amount(SCALE),
        reserve: None,
        starts_at: Timestamp(START),
        ends_at: Timestamp(ends_at),
    };
    let op = AuctionOp::Create {
        post,
        currency: credits(),
    };
    apply(
        market,
        START,
        Command::Auction(Box::new(AuctionAction { agent: SELLER, op })),
    );
}

fn fund(market: &mut Market, agents: u64, units: i64) {
    for agent in 2..2 + agents {
        let deposit = Deposit {
            agent: AgentId(agent),
            currency: credits(),
            amount: Amount(units * SCALE),
        };
        apply(market, START, Command::Deposit(deposit));
    }
}

fn bid(agent: u64, auction_id: AuctionId, amount: i64, time: i64) -> Input {
    Input {
        time: Timestamp(time),
        command: Command::Auction(Box::new(AuctionAction {
            agent: AgentId(agent),
            op: AuctionOp::Bid {
                auction_id,
                amount: Amount(amount),
                currency: None,
            },
        })),
    }
}

/// A market with one open English auction and `bids` bids on it from
/// `bidders` agents in turn, each one smallest unit above the last.
pub fn hot_auction(bids: usize, bidders: u64) -> (Market, Vec<Input>) {
    let mut market = Market::new(EngineConfig::default());
    fund(&mut market, bidders, 1_000_000);
    english(&mut market, START + 300 * 24 * 3_600_000_000_000);
    let inputs = (0..bids)
        .map(|i| {
            let agent = 2 + i as u64 % bidders;
            bid(agent, AuctionId(1), SCALE + i as i64, START + 1 + i as i64)
        })
        .collect();
    (market, inputs)
}

/// A market with `count` English auctions, each with one bid, all ending
/// at the same moment, and the tick at that moment (see [`tick_all`]).
pub fn closing_auctions(count: usize) -> (Market, Input) {
    let mut market = Market::new(EngineConfig::default());
    let bidders = 1_000u64;
    fund(&mut market, bidders, 1_000_000);
    let end = START + 1_000_000_000;
    for i in 0..count {
        english(&mut market, end);
        let bid = bid(
            2 + i as u64 % bidders,
            AuctionId(i as u64 + 1),
            SCALE,
            START + 1,
        );
        market.apply(&bid, &mut Vec::new()).expect("bid accepted");
    }
    let tick = Input {
        time: Timestamp(end),
        command: Command::Tick,
    };
    (market, tick)
}

/// Applies `tick` again and again, as the server does, until nothing it
/// is due for is left (one tick acts on a bounded number of deadlines);
/// returns how many ticks it took.
pub fn tick_all(market: &mut Market, tick: &Input, events: &mut Vec<Event>) -> usize {
    for ticks in 1.. {
        match market.apply(tick, events) {
            Ok(Ack::Ticked { more: true, .. }) => {}
            Ok(Ack::Ticked { more: false, .. }) => return ticks,
            other => panic!("a tick with work due answered {other:?}"),
        }
    }
    unreachable!("ticks are counted without end")
}

//! A harness for driving a [`Market`] in tests: numbered orders, a clock
//! that ticks once per command, and an invariant check after every step.
//! Used by the unit tests and (through `#[path]`) the property tests.

#![allow(dead_code)]

use agora_engine::agents::AgentProfile;
use agora_engine::auctions::{AuctionKind, AuctionPost, AuctionStatus};
use agora_engine::category::Category;
use agora_engine::cmd::{
    AmendOrder, AuctionAction, AuctionOp, CancelAll, CancelOrder, Deposit, ListingAction,
    ListingOp, PlaceOrder, RegisterAgent, RequestAction, RequestOp, Transact,
};
use agora_engine::config::DAY_NS;
use agora_engine::deal_queries::AuctionView;
use agora_engine::listings::ListingPost;
use agora_engine::requests::{OfferPost, RequestPost};
use agora_engine::transactions::{TransactionView, TxAction, TxStatus};
use agora_engine::units::{
    AgentId, Amount, AuctionId, Currency, ListingId, OfferId, OrderId, Price, Quantity, RequestId,
    Symbol, Timestamp, TransactionId, SCALE,
};
use agora_engine::{
    Ack, Command, EngineConfig, Event, Input, Market, OrderAck, OrderRef, OrderType, Reject, Reply,
    SelfTradePrevention, Side, TimeInForce,
};

/// Whole units as a price.
pub fn px(units: i64) -> Price {
    Price(units * SCALE)
}

/// Whole units as a quantity.
pub fn qty(units: i64) -> Quantity {
    Quantity(units * SCALE)
}

/// Whole units as an amount.
pub fn amt(units: i64) -> Amount {
    Amount(units * SCALE)
}

/// The default quote currency.
pub fn credits() -> Currency {
    Currency::new("CREDITS").unwrap()
}

/// The asset most tests trade.
pub fn gpu() -> Symbol {
    Symbol::new("GPU").unwrap()
}

/// A trade as `(maker order, taker order, price, quantity)` in whole units.
pub type TradeRow = (u64, u64, i64, i64);

/// A market with a clock and the events of the last command.
#[derive(Clone)]
pub struct Harness {
    pub market: Market,
    pub events: Vec<Event>,
    pub time: i64,
    /// Every input applied, with whether it was accepted.
    pub log: Vec<(Input, bool)>,
    next_order: u64,
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new(EngineConfig::default())
    }
}

impl Harness {
    pub fn new(config: EngineConfig) -> Self {
        Harness {
            market: Market::new(config),
            events: Vec::new(),
            time: 0,
            log: Vec::new(),
            next_order: 1,
        }
    }

    /// Applies `command` and checks every invariant afterwards.
    pub fn run(&mut self, command: Command) -> Reply {
        let digest_before = self.market.state_digest();
        let (input, reply) = self.apply(command);
        if let Err(e) = self.market.check_invariants() {
            panic!("invariant broken after {input:?}: {e}");
        }
        if reply.is_err() {
            assert!(self.events.is_empty(), "a rejection produced events");
            assert_eq!(
                digest_before,
                self.market.state_digest(),
                "a rejection changed state"
            );
        }
        self.log.push((input, reply.is_ok()));
        reply
    }

    /// Applies `command` without checking anything: for building a large
    /// state, which the next [`Harness::run`] checks whole.
    pub fn run_unchecked(&mut self, command: Command) -> Reply {
        let (input, reply) = self.apply(command);
        self.log.push((input, reply.is_ok()));
        reply
    }

    fn apply(&mut self, command: Command) -> (Input, Reply) {
        self.events.clear();
        self.time += 1;
        let input = Input {
            time: Timestamp(self.time),
            command,
        };
        let reply = self.market.apply(&input, &mut self.events);
        (input, reply)
    }

    /// Registers an agent with public id `uuid`, key hash `[uuid; 32]` and
    /// `credits_units` signup credits (none if 0).
    pub fn register_agent(&mut self, uuid: u128, credits_units: i64) -> Reply {
        self.run(Command::RegisterAgent(Box::new(RegisterAgent {
            uuid,
            profile: AgentProfile {
                name: format!("agent-{uuid}"),
                ..AgentProfile::default()
            },
            key_hash: [uuid as u8; 32],
            signup_credits: (credits_units != 0).then(|| (credits(), amt(credits_units))),
        })))
    }

    pub fn deposit(&mut self, agent: u64, units: i64) {
        self.run(Command::Deposit(Deposit {
            agent: AgentId(agent),
            currency: credits(),
            amount: amt(units),
        }))
        .unwrap();
    }

    /// A GTC limit order on GPU, to adjust before placing.
    pub fn order(&mut self, agent: u64, side: Side, price: i64, quantity: i64) -> PlaceOrder {
        let order_id = OrderId(self.next_order);
        self.next_order += 1;
        PlaceOrder {
            order_id,
            agent: AgentId(agent),
            asset: gpu(),
            side,
            order_type: OrderType::Limit,
            price: Some(px(price)),
            quantity: qty(quantity),
            time_in_force: TimeInForce::Gtc,
            client_order_id: None,
            stp: SelfTradePrevention::CancelResting,
        }
    }

    pub fn place(&mut self, order: PlaceOrder) -> Result<OrderAck, Reject> {
        self.run(Command::PlaceOrder(order)).map(order_ack)
    }

    /// Places a GTC limit order and expects it accepted.
    pub fn limit(&mut self, agent: u64, side: Side, price: i64, quantity: i64) -> OrderAck {
        let order = self.order(agent, side, price, quantity);
        self.place(order).expect("order accepted")
    }

    pub fn cancel(&mut self, agent: u64, order_id: OrderId) -> Result<OrderAck, Reject> {
        self.run(Command::CancelOrder(CancelOrder {
            agent: AgentId(agent),
            order: OrderRef::Id(order_id),
        }))
        .map(order_ack)
    }

    pub fn amend(
        &mut self,
        agent: u64,
        order_id: OrderId,
        price: Option<i64>,
        quantity: Option<i64>,
    ) -> Result<OrderAck, Reject> {
        self.run(Command::AmendOrder(AmendOrder {
            agent: AgentId(agent),
            order: OrderRef::Id(order_id),
            price: price.map(px),
            quantity: quantity.map(qty),
        }))
        .map(order_ack)
    }

    pub fn cancel_all(&mut self, agent: u64, asset: Option<Symbol>) -> Result<u32, Reject> {
        match self.run(Command::CancelAll(CancelAll {
            agent: AgentId(agent),
            asset,
        }))? {
            Ack::OrdersCancelled { count, .. } => Ok(count),
            other => panic!("unexpected ack {other:?}"),
        }
    }

    /// `(available, held)` of `agent` in CREDITS, in whole units × SCALE.
    pub fn balance(&self, agent: u64) -> (Amount, Amount) {
        match self.market.query(&agora_engine::Query::Balances {
            agent: AgentId(agent),
        }) {
            Ok(agora_engine::Answer::Balances(list)) => list
                .iter()
                .find(|(c, _)| *c == credits())
                .map_or((Amount::ZERO, Amount::ZERO), |(_, b)| (b.available, b.held)),
            other => panic!("unexpected answer {other:?}"),
        }
    }

    /// The trades of the last command.
    pub fn trades(&self) -> Vec<TradeRow> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Trade(t) => Some((
                    t.maker_order_id.0,
                    t.taker_order_id.0,
                    t.price.0 / SCALE,
                    t.quantity.0 / SCALE,
                )),
                _ => None,
            })
            .collect()
    }

    /// Best bid and ask of GPU, in whole units.
    pub fn touch(&self) -> (Option<i64>, Option<i64>) {
        match self.market.query(&agora_engine::Query::Depth {
            asset: gpu(),
            levels: 1,
        }) {
            Ok(agora_engine::Answer::Depth(d)) => (
                d.best_bid.map(|p| p.0 / SCALE),
                d.best_ask.map(|p| p.0 / SCALE),
            ),
            other => panic!("unexpected answer {other:?}"),
        }
    }
}

/// Deals outside the order book.
impl Harness {
    /// A request by `agent` with a budget of 1..=`budget` credits, open for
    /// a day, offers sealed for `window` ns.
    pub fn request(&mut self, agent: u64, budget: i64, window: i64) -> Result<RequestId, Reject> {
        let post = RequestPost {
            title: "Need a 7-day forecast".into(),
            description: "hourly".into(),
            category: Category::Data,
            budget_min: amt(1),
            budget_max: amt(budget),
            currency: credits(),
            deadline: Some(Timestamp(self.time + DAY_NS)),
            agent_ready: true,
            offer_window_ns: window,
        };
        match self.requests(agent, RequestOp::Create(post))? {
            Ack::Request { request_id, .. } => Ok(request_id),
            other => panic!("unexpected ack {other:?}"),
        }
    }

    /// An offer by `agent` at `price` credits.
    pub fn offer(
        &mut self,
        agent: u64,
        request_id: RequestId,
        price: i64,
    ) -> Result<OfferId, Reject> {
        let offer = OfferPost {
            price: amt(price),
            currency: credits(),
            message: "NOAA data".into(),
            estimated_delivery: None,
            expires_at: None,
        };
        match self.requests(agent, RequestOp::MakeOffer { request_id, offer })? {
            Ack::Offer { offer_id, .. } => Ok(offer_id),
            other => panic!("unexpected ack {other:?}"),
        }
    }

    /// Agent 1 requests (budget 1..=15), agent 2 offers 10 and agent 1
    /// accepts: the pending transaction.
    pub fn deal(&mut self) -> TransactionId {
        let request = self.request(1, 15, 0).expect("request made");
        let offer = self.offer(2, request, 10).expect("offer made");
        self.accept(1, offer).expect("offer accepted")
    }

    /// `agent` accepts `offer_id`; returns the new transaction.
    pub fn accept(&mut self, agent: u64, offer_id: OfferId) -> Result<TransactionId, Reject> {
        match self.requests(agent, RequestOp::AcceptOffer { offer_id })? {
            Ack::Offer {
                transaction_id: Some(tx),
                ..
            } => Ok(tx),
            other => panic!("unexpected ack {other:?}"),
        }
    }

    pub fn requests(&mut self, agent: u64, op: RequestOp) -> Reply {
        self.run(Command::Request(Box::new(RequestAction {
            agent: AgentId(agent),
            op,
        })))
    }

    pub fn listings(&mut self, agent: u64, op: ListingOp) -> Reply {
        self.run(Command::Listing(Box::new(ListingAction {
            agent: AgentId(agent),
            op,
        })))
    }

    /// A listing by `agent` of `units` units at `price` credits each.
    pub fn listing(&mut self, agent: u64, price: i64, units: u32) -> ListingId {
        let post = ListingPost {
            title: "Stock API access".into(),
            description: "1000 calls".into(),
            category: Category::Api,
            price: amt(price),
            currency: credits(),
            quantity: units,
        };
        match self.listings(agent, ListingOp::Create(post)) {
            Ok(Ack::Listing { listing_id, .. }) => listing_id,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// `agent` buys `units` of `listing_id`; returns the new transaction.
    pub fn purchase(
        &mut self,
        agent: u64,
        listing_id: ListingId,
        units: u32,
    ) -> Result<TransactionId, Reject> {
        match self.listings(
            agent,
            ListingOp::Purchase {
                listing_id,
                quantity: units,
            },
        )? {
            Ack::Listing {
                transaction_id: Some(tx),
                ..
            } => Ok(tx),
            other => panic!("unexpected ack {other:?}"),
        }
    }

    /// `agent` (the operator if `None`) takes `action` on `tx`.
    pub fn transact(
        &mut self,
        agent: Option<u64>,
        tx: TransactionId,
        action: TxAction,
    ) -> Result<TxStatus, Reject> {
        match self.run(Command::Transact(Box::new(Transact {
            caller: agent.map(AgentId),
            transaction_id: tx,
            action,
        })))? {
            Ack::Transaction { status, .. } => Ok(status),
            other => panic!("unexpected ack {other:?}"),
        }
    }

    /// An auction by `seller` starting now at `start` credits, closing in
    /// `ends_in` ns.
    pub fn auction(
        &mut self,
        seller: u64,
        kind: AuctionKind,
        start: i64,
        reserve: Option<i64>,
        ends_in: i64,
    ) -> AuctionId {
        let post = AuctionPost {
            title: "Dataset".into(),
            description: String::new(),
            listing_id: None,
            kind,
            starting_price: amt(start),
            reserve: reserve.map(amt),
            starts_at: Timestamp(self.time + 1),
            ends_at: Timestamp(self.time + 1 + ends_in),
        };
        let op = AuctionOp::Create {
            post,
            currency: credits(),
        };
        match self.auctions(seller, op) {
            Ok(Ack::Auction { auction_id, .. }) => auction_id,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    pub fn auctions(&mut self, agent: u64, op: AuctionOp) -> Reply {
        self.run(Command::Auction(Box::new(AuctionAction {
            agent: AgentId(agent),
            op,
        })))
    }

    /// `agent` bids `units` credits (fixed point `amount` if given).
    pub fn bid(
        &mut self,
        agent: u64,
        auction_id: AuctionId,
        amount: Amount,
    ) -> Result<AuctionStatus, Reject> {
        let op = AuctionOp::Bid {
            auction_id,
            amount,
            currency: None,
        };
        match self.auctions(agent, op)? {
            Ack::Auction { status, .. } => Ok(status),
            other => panic!("unexpected ack {other:?}"),
        }
    }

    /// Auction `id` as `viewer` sees it now.
    pub fn auction_view(&self, auction_id: AuctionId, viewer: Option<u64>) -> AuctionView {
        match self.market.query(&agora_engine::Query::Auction {
            auction_id,
            viewer: viewer.map(AgentId),
            now: Timestamp(self.time),
        }) {
            Ok(agora_engine::Answer::Auction(view)) => *view,
            other => panic!("unexpected answer {other:?}"),
        }
    }

    /// A tick at `time` (the clock jumps there).
    pub fn tick_at(&mut self, time: i64) -> Reply {
        self.time = time - 1;
        self.run(Command::Tick)
    }

    /// Transaction `tx` as the operator sees it.
    pub fn tx(&self, tx: TransactionId) -> TransactionView {
        match self.market.query(&agora_engine::Query::Transaction {
            agent: None,
            transaction_id: tx,
        }) {
            Ok(agora_engine::Answer::Transaction(view)) => *view,
            other => panic!("unexpected answer {other:?}"),
        }
    }

    /// Fees the platform collected in CREDITS.
    pub fn platform(&self) -> Amount {
        match self.market.query(&agora_engine::Query::MoneyTotals) {
            Ok(agora_engine::Answer::MoneyTotals(t)) => t
                .iter()
                .find(|t| t.currency == credits())
                .map_or(Amount::ZERO, |t| t.platform),
            other => panic!("unexpected answer {other:?}"),
        }
    }
}

fn order_ack(ack: Ack) -> OrderAck {
    match ack {
        Ack::Order(o) => o,
        other => panic!("unexpected ack {other:?}"),
    }
}

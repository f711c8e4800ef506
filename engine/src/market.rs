//! The engine's whole state and the one entry point that changes it:
//! [`Market::apply`].

use crate::agents::Agents;
use crate::asset::{Asset, AssetId, AssetSpec, AssetTable, Grid};
use crate::auctions::Auctions;
use crate::book::Book;
use crate::cmd::place_order::{SelfTradePrevention, Side};
use crate::cmd::{AmendOrder, CancelOrder, Command, Input, OrderRef};
use crate::config::{EngineConfig, Terms};
use crate::event::Event;
use crate::idempotency::IdempotencyStore;
use crate::ledger::{AgentIdx, CurrencyId, Ledger};
use crate::listings::Listings;
use crate::matching::BookCtx;
use crate::orders::OrderStore;
use crate::reject::Reject;
use crate::reply::{OrderAck, Reply};
use crate::requests::Requests;
use crate::transactions::{Origin, Settlement, Transactions, TxRecord, TxStatus};
use crate::units::{
    AgentId, Amount, Currency, Lots, OrderId, Price, Quantity, Symbol, Ticks, Timestamp,
    TransactionId,
};
use serde::{Deserialize, Serialize};

/// The asset an incoming order names.
pub(crate) enum OrderAsset<'a> {
    /// Already registered.
    Listed(AssetId, &'a Asset),
    /// Created by this order if it is accepted.
    New(Box<Asset>),
}

impl OrderAsset<'_> {
    /// The asset's parameters.
    pub fn asset(&self) -> &Asset {
        match self {
            OrderAsset::Listed(_, asset) => asset,
            OrderAsset::New(asset) => asset,
        }
    }

    /// Its id, if registered.
    pub fn id(&self) -> Option<AssetId> {
        match self {
            OrderAsset::Listed(id, _) => Some(*id),
            OrderAsset::New(_) => None,
        }
    }
}

/// A deal two agents struck outside the order book, before it becomes a
/// transaction.
pub(crate) struct Deal {
    pub origin: Origin,
    pub buyer: AgentId,
    pub seller: AgentId,
    pub currency: Currency,
    pub quantity: Quantity,
    pub price: Price,
    pub amount: Amount,
}

/// All market state: assets and their books, orders, wallets, transactions
/// with their escrow, requests and offers, listings.
///
/// A pure state machine: [`Market::apply`] reads no clock, does no I/O and
/// uses no randomness, so the same inputs always give the same state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Market {
    pub(crate) config: EngineConfig,
    pub(crate) terms: Terms,
    pub(crate) assets: AssetTable,
    pub(crate) books: Vec<Book>,
    pub(crate) orders: OrderStore,
    pub(crate) ledger: Ledger,
    pub(crate) transactions: Transactions,
    pub(crate) requests: Requests,
    pub(crate) listings: Listings,
    pub(crate) auctions: Auctions,
    pub(crate) next_trade_id: u64,
    /// The highest order id ever accepted: the gateway numbers new orders
    /// above it after a restart.
    pub(crate) order_id_max: u64,
    pub(crate) agents: Agents,
    pub(crate) idempotency: IdempotencyStore,
    /// Currency of implicitly created assets, interned at start.
    default_currency: CurrencyId,
    default_grid: Grid,
}

impl Market {
    /// An empty market.
    ///
    /// # Panics
    /// If the configured asset defaults are not a valid asset, or more than
    /// 65,536 currencies are allowed.
    pub fn new(config: EngineConfig) -> Market {
        assert!(
            config.currencies_max <= 1 << 16,
            "currencies are numbered in 16 bits"
        );
        let mut ledger = Ledger::default();
        let d = &config.asset_defaults;
        let default_currency = ledger.currency_id(d.quote_currency);
        let default_grid = Grid::new(
            &AssetSpec {
                symbol: Symbol::new("DEFAULT").expect("valid symbol"),
                quote_currency: d.quote_currency,
                tick_size: d.tick_size,
                lot_size: d.lot_size,
                quantity_min: d.quantity_min,
                quantity_max: d.quantity_max,
            },
            config.book_orders_max,
        )
        .expect("configured asset defaults form a valid asset");
        Market {
            config,
            terms: Terms::default(),
            assets: AssetTable::default(),
            books: Vec::new(),
            orders: OrderStore::default(),
            ledger,
            transactions: Transactions::default(),
            requests: Requests::default(),
            listings: Listings::default(),
            auctions: Auctions::default(),
            next_trade_id: 1,
            order_id_max: 0,
            agents: Agents::default(),
            idempotency: IdempotencyStore::default(),
            default_currency,
            default_grid,
        }
    }

    /// Makes room in the order slab for `orders` orders in all (open and
    /// recently finished), so that a growing book does not stop the
    /// engine thread while the slab is copied whole (at millions of
    /// orders, most of a quarter of a second at each doubling). Room that
    /// is never used costs address space only. The id index is not
    /// reserved: it grows a page at a time. Capacity is not state:
    /// snapshots and digests do not see it.
    pub fn reserve_orders(&mut self, orders: usize) {
        self.orders.reserve(orders);
    }

    /// Starts keeping every order that finishes from now on, for
    /// [`Market::take_finished_orders`]: the snapshotter's copy archives
    /// them, as the market itself keeps only the most recently finished
    /// ones (`orders_finished_retained_max`). Not state: snapshots and
    /// digests do not see it.
    pub fn keep_finished_orders(&mut self) {
        self.orders.keep_archive();
    }

    /// From now on, applies commands without reporting each ledger
    /// [`Event::Posting`]; the money moves all the same. For a thread that
    /// reads no postings: the server's engine thread (its snapshotter's
    /// copy, which stores the wallet ledger, still reports them). A posting
    /// per fill, hold and release was about 3% of the engine's
    /// instructions. Not state: snapshots and digests do not see it, and
    /// idempotent results never keep postings, so the state is the same
    /// either way.
    pub fn leave_out_postings(&mut self) {
        self.ledger.leave_out_postings();
    }

    /// Appends to `out` each order that finished since the last call, as
    /// it was when it finished, in the order they finished (nothing unless
    /// [`Market::keep_finished_orders`] was called).
    pub fn take_finished_orders(&mut self, out: &mut Vec<crate::query::OrderView>) {
        let archive = self.orders.take_archive();
        out.extend(
            archive
                .iter()
                .map(|(o, client_id)| self.view_of(o, *client_id)),
        );
    }

    /// How many orders have finished since the market began: every one
    /// but the newest `orders_finished_retained_max` has left the market.
    pub fn orders_finished_total(&self) -> u64 {
        self.orders.finished_total()
    }

    /// The registered agents.
    pub fn agents(&self) -> &Agents {
        &self.agents
    }

    /// How many idempotency records are kept.
    pub fn idempotency_records(&self) -> usize {
        self.idempotency.len()
    }

    /// The trade terms in force.
    pub fn terms(&self) -> &Terms {
        &self.terms
    }

    /// The configuration the market runs under.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Validates and applies one command, appending what happened to
    /// `events`. A rejected command changes nothing and adds no events.
    pub fn apply(&mut self, input: &Input, events: &mut Vec<Event>) -> Reply {
        let before = events.len();
        let reply = input.command.apply(self, input.time, events);
        debug_assert!(
            reply.is_ok() || events.len() == before,
            "a rejection produced events"
        );
        reply
    }

    /// [`Market::apply`] `input`, first hinting at the commands known to
    /// follow it (`upcoming`, in order; only the first two are looked
    /// at): the way a thread applying a run of commands applies each of
    /// them.
    pub fn apply_before<'a>(
        &mut self,
        input: &Input,
        upcoming: impl IntoIterator<Item = &'a Input>,
        events: &mut Vec<Event>,
    ) -> Reply {
        let mut named = upcoming.into_iter().map(Self::named_order);
        if let Some(id) = named.next().flatten() {
            self.orders.prefetch(id);
        }
        if let Some(id) = named.next().flatten() {
            self.orders.prefetch_index(id);
        }
        self.apply(input, events)
    }

    /// The order `input` cancels or amends by id, if it does: the memory
    /// [`Market::apply_before`] starts loading ahead, in two steps, so
    /// that each command's order lookup overlaps the commands before it
    /// (its index entry two commands ahead, its slot, found through the
    /// entry, one ahead). Under a million resting orders, both are cache
    /// misses.
    fn named_order(input: &Input) -> Option<OrderId> {
        match &input.command {
            Command::CancelOrder(CancelOrder {
                order: OrderRef::Id(id),
                ..
            })
            | Command::AmendOrder(AmendOrder {
                order: OrderRef::Id(id),
                ..
            }) => Some(*id),
            _ => None,
        }
    }

    /// The asset an order names: registered, or (when implicit assets are
    /// allowed) a new asset with the default parameters, which
    /// the order registers once it is accepted.
    pub(crate) fn asset_for_order(&self, symbol: &Symbol) -> Result<OrderAsset<'_>, Reject> {
        if let Some(id) = self.assets.find(symbol) {
            return Ok(OrderAsset::Listed(id, self.assets.get(id)));
        }
        let spec = self.implicit_spec(symbol).ok_or(Reject::UnknownAsset)?;
        self.check_asset_room()?;
        let asset = Asset::new(spec, self.default_currency, self.default_grid);
        Ok(OrderAsset::New(Box::new(asset)))
    }

    /// The parameters the first order in the unlisted `symbol` lists it
    /// with: the configured defaults, or `None` when implicit assets are
    /// off.
    pub(crate) fn implicit_spec(&self, symbol: &Symbol) -> Option<AssetSpec> {
        if !self.config.assets_implicit {
            return None;
        }
        let d = &self.config.asset_defaults;
        Some(AssetSpec {
            symbol: *symbol,
            quote_currency: d.quote_currency,
            tick_size: d.tick_size,
            lot_size: d.lot_size,
            quantity_min: d.quantity_min,
            quantity_max: d.quantity_max,
        })
    }

    /// Fails if `amount` of `code` cannot enter from outside: a new
    /// currency with no room left, or a total that would overflow.
    pub(crate) fn check_deposit_room(&self, code: &Currency, amount: Amount) -> Result<(), Reject> {
        // Every account is non-negative and all of them add up to the
        // currency's net deposits, so if that total fits, every balance does.
        let total = self
            .ledger
            .find_currency(code)
            .map_or(Amount::ZERO, |c| self.ledger.deposited_net(c));
        if total.checked_add(amount).is_none() {
            return Err(Reject::AmountTooLarge);
        }
        self.check_currency_room(code)
    }

    /// Fails if `code` is a new currency and no more may be added.
    pub(crate) fn check_currency_room(&self, code: &Currency) -> Result<(), Reject> {
        if self.ledger.find_currency(code).is_none()
            && self.ledger.totals().count() >= self.config.currencies_max as usize
        {
            return Err(Reject::TooManyCurrencies);
        }
        Ok(())
    }

    /// Runs `post`, which validates and stores something priced in
    /// `currency`, and registers the currency once it succeeded (a
    /// rejected post changes nothing).
    pub(crate) fn priced_in<T>(
        &mut self,
        currency: Currency,
        post: impl FnOnce(&mut Market) -> Result<T, Reject>,
    ) -> Result<T, Reject> {
        self.check_currency_room(&currency)?;
        let out = post(self)?;
        self.ledger.currency_id(currency);
        Ok(out)
    }

    /// Fails if no more assets may be added.
    pub(crate) fn check_asset_room(&self) -> Result<(), Reject> {
        if self.assets.len() >= self.config.assets_max as usize {
            return Err(Reject::TooManyAssets);
        }
        Ok(())
    }

    /// Adds a validated asset with an empty book.
    pub(crate) fn add_asset(&mut self, asset: Asset, events: &mut Vec<Event>) -> AssetId {
        events.push(Event::AssetRegistered(asset.spec));
        let id = self.assets.add(asset);
        self.books.push(Book::default());
        debug_assert_eq!(self.books.len(), self.assets.len());
        id
    }

    /// The book of asset `id`.
    pub(crate) fn book(&self, id: AssetId) -> &Book {
        &self.books[id.0 as usize]
    }

    /// Fails with `InsufficientFunds` unless `agent` has `amount` available.
    pub(crate) fn check_available(
        &self,
        agent: Option<AgentIdx>,
        currency: CurrencyId,
        amount: Amount,
    ) -> Result<(), Reject> {
        if amount.0 <= 0 {
            return Ok(());
        }
        let available = agent.map_or(Amount::ZERO, |a| self.ledger.balance(a, currency).available);
        if available < amount {
            return Err(Reject::InsufficientFunds {
                currency: self.ledger.currency_code(currency),
                required: amount,
                available,
            });
        }
        Ok(())
    }

    /// What an incoming order could fill right now, up to `want` lots, and
    /// what that would cost, honouring self-trade prevention as matching
    /// would. Changes nothing.
    pub(crate) fn preview(
        &self,
        asset: AssetId,
        agent: Option<AgentIdx>,
        side: Side,
        limit: Ticks,
        stp: SelfTradePrevention,
        want: Lots,
    ) -> Result<(Lots, Amount), Reject> {
        let asset_ref = self.assets.get(asset);
        let mut filled = 0i64;
        let mut cost = 0i128;
        'levels: for level in self.book(asset).levels(side.opposite()).rev() {
            if !crate::book::crosses(side, limit, level.price) {
                break;
            }
            let mut slot = level.head;
            while slot != crate::orders::NIL {
                let order = self.orders.get(slot);
                slot = order.next;
                if Some(order.agent) == agent {
                    if stp == SelfTradePrevention::CancelResting {
                        continue;
                    }
                    break 'levels;
                }
                let take = order.remaining.0.min(want.0 - filled);
                filled += take;
                cost += i128::from(asset_ref.checked_notional(level.price, Lots(take))?.0);
                if filled == want.0 {
                    break 'levels;
                }
            }
        }
        let cost = i64::try_from(cost).map_err(|_| Reject::AmountTooLarge)?;
        Ok((Lots(filled), Amount(cost)))
    }

    /// The slot of `agent`'s order named by `order`.
    pub(crate) fn own_order(&self, agent: AgentId, order: &OrderRef) -> Result<u32, Reject> {
        let agent = self.ledger.find_agent(agent);
        let slot = match (order, agent) {
            (OrderRef::Id(id), _) => self.orders.find(*id),
            (OrderRef::ClientId(client_id), Some(agent)) => {
                self.orders.find_by_client_id(agent, client_id)
            }
            (OrderRef::ClientId(_), None) => None,
        }
        .ok_or(Reject::UnknownOrder)?;
        if Some(self.orders.get(slot).agent) != agent {
            return Err(Reject::NotYourOrder);
        }
        Ok(slot)
    }

    /// Like [`Market::own_order`], for an order that must still be open.
    pub(crate) fn own_open_order(&self, agent: AgentId, order: &OrderRef) -> Result<u32, Reject> {
        let slot = self.own_order(agent, order)?;
        if !self.orders.get(slot).status.is_open() {
            return Err(Reject::OrderNotOpen);
        }
        Ok(slot)
    }

    /// Where the order in `slot` stands.
    pub(crate) fn order_ack(&self, slot: u32) -> OrderAck {
        let order = self.orders.get(slot);
        order.ack(self.assets.get(order.asset))
    }

    /// The book of `asset` with everything a fill or cancel touches.
    pub(crate) fn book_ctx<'a>(
        &'a mut self,
        asset: AssetId,
        time: Timestamp,
        events: &'a mut Vec<Event>,
    ) -> BookCtx<'a> {
        BookCtx {
            asset_id: asset,
            asset: self.assets.get(asset),
            book: &mut self.books[asset.0 as usize],
            orders: &mut self.orders,
            ledger: &mut self.ledger,
            transactions: &mut self.transactions,
            next_trade_id: &mut self.next_trade_id,
            config: &self.config,
            terms: &self.terms,
            time,
            events,
        }
    }

    /// Opens a pending transaction for `deal`; the buyer funds it later.
    pub(crate) fn open_transaction(
        &mut self,
        deal: Deal,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> TransactionId {
        let currency = self.ledger.currency_id(deal.currency);
        let id = self.ledger.open_escrow(currency);
        let record = TxRecord {
            origin: deal.origin,
            buyer: self.ledger.agent(deal.buyer),
            seller: self.ledger.agent(deal.seller),
            currency,
            status: TxStatus::Pending,
            quantity: deal.quantity,
            price: deal.price,
            amount: deal.amount,
            created_at: time,
            deadline: Timestamp(0),
        };
        self.transactions.open(id, record, &self.terms);
        events.push(Event::TransactionChanged(
            crate::event::TransactionChanged {
                transaction_id: id,
                buyer: deal.buyer,
                seller: deal.seller,
                status: TxStatus::Pending,
                time,
            },
        ));
        id
    }

    /// What a transition of the transactions needs.
    pub(crate) fn settlement<'a>(
        &'a mut self,
        time: Timestamp,
        events: &'a mut Vec<Event>,
    ) -> (&'a mut Transactions, Settlement<'a>) {
        (
            &mut self.transactions,
            Settlement {
                ledger: &mut self.ledger,
                terms: &self.terms,
                time,
                events,
            },
        )
    }

    /// Puts back the units of a listing purchase that was cancelled.
    pub(crate) fn after_transition(
        &mut self,
        id: TransactionId,
        status: TxStatus,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) {
        let tx = *self.transactions.get(id).expect("exists");
        if let (TxStatus::Cancelled, Origin::Listing { listing_id }) = (status, tx.origin) {
            let units = (tx.quantity.0 / crate::units::SCALE) as u32;
            self.listings.restock(listing_id, units, time, events);
        }
    }
}

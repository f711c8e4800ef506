//! What the API returns: JSON shapes of agents, orders, fills, books and
//! wallets. Ids are strings, money and quantities decimal strings, times
//! RFC 3339 UTC.

use agora_engine::agents::{AgentRecord, ApiKeyInfo};
use agora_engine::event::{Account, OrderAccepted, PostingKind, Trade};
use agora_engine::ledger::Balance;
use agora_engine::query::{AssetView, DepthView, LevelView, OrderView, TradeView};
use agora_engine::units::{Currency, OrderId, Timestamp};
use agora_engine::{
    AssetSpec, OrderAck, OrderStatus, OrderType, SelfTradePrevention, Side, TimeInForce,
};
use agora_persistence::LedgerEntry;
use serde::Serialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::text::{DecimalText, IdText, TimeText};
use schemars::JsonSchema;

/// The engine timestamp of RFC 3339 text in field `field`.
pub fn parse_rfc3339(field: &str, text: &str) -> Result<Timestamp, crate::error::ApiError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .and_then(|d| i64::try_from(d.unix_timestamp_nanos()).ok())
        .map(Timestamp)
        .ok_or_else(|| {
            crate::error::ApiError::invalid(
                field,
                "must be an RFC 3339 time, e.g. 2026-02-10T23:59:59Z",
            )
        })
}

/// An agent's public id.
pub fn agent_id(uuid: u128) -> String {
    uuid::Uuid::from_u128(uuid).to_string()
}

/// An agent as anyone may see it.
#[derive(Serialize, JsonSchema)]
pub struct PublicAgent {
    id: String,
    name: String,
    description: String,
    capabilities: Vec<String>,
    /// Whether the operator verified it.
    verified: bool,
    /// Whether a human owner claimed it (who, only the agent sees).
    owner_linked: bool,
    created_at: TimeText,
}

impl From<&AgentRecord> for PublicAgent {
    fn from(a: &AgentRecord) -> Self {
        PublicAgent {
            id: agent_id(a.uuid),
            name: a.profile.name.clone(),
            description: a.profile.description.clone(),
            capabilities: a.profile.capabilities.clone(),
            verified: a.verified,
            owner_linked: a.ownership.owner.is_some(),
            created_at: TimeText(a.created_at),
        }
    }
}

/// An agent as it sees itself.
#[derive(Serialize, JsonSchema)]
pub struct OwnAgent {
    #[serde(flatten)]
    public: PublicAgent,
    owner_email: Option<String>,
    /// The owner who claimed it, as they named themselves.
    owner: Option<String>,
    metadata: Value,
    updated_at: TimeText,
    api_keys: Vec<KeyView>,
}

impl From<&AgentRecord> for OwnAgent {
    fn from(a: &AgentRecord) -> Self {
        OwnAgent {
            public: PublicAgent::from(a),
            owner_email: a.profile.owner_email.clone(),
            owner: a.ownership.owner.as_ref().map(|(owner, _)| owner.clone()),
            metadata: a
                .profile
                .metadata
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok())
                .unwrap_or(Value::Null),
            updated_at: TimeText(a.updated_at),
            api_keys: a.keys.iter().map(KeyView::from).collect(),
        }
    }
}

/// One API key, without its secret.
#[derive(Serialize, JsonSchema)]
pub struct KeyView {
    key_id: u32,
    active: bool,
    created_at: TimeText,
    revoked_at: Option<TimeText>,
}

impl From<&ApiKeyInfo> for KeyView {
    fn from(k: &ApiKeyInfo) -> Self {
        KeyView {
            key_id: k.key_id,
            active: k.is_active(),
            created_at: TimeText(k.created_at),
            revoked_at: k.revoked_at.map(TimeText),
        }
    }
}

/// An order as its owner sees it.
#[derive(Serialize, JsonSchema)]
pub struct OrderJson {
    id: IdText,
    client_order_id: Option<String>,
    asset: String,
    side: Side,
    order_type: OrderType,
    time_in_force: TimeInForce,
    stp: SelfTradePrevention,
    price: Option<DecimalText>,
    quantity: DecimalText,
    filled_quantity: DecimalText,
    remaining_quantity: DecimalText,
    status: OrderStatus,
    created_at: TimeText,
}

impl From<&OrderView> for OrderJson {
    fn from(o: &OrderView) -> Self {
        OrderJson {
            id: IdText(o.order_id.0),
            client_order_id: o.client_order_id.map(|c| c.to_string()),
            asset: o.asset.to_string(),
            side: o.side,
            order_type: o.order_type,
            time_in_force: o.time_in_force,
            stp: o.stp,
            price: o.price.map(|p| DecimalText(p.0)),
            quantity: DecimalText(o.quantity.0),
            filled_quantity: DecimalText(o.filled.0),
            remaining_quantity: DecimalText(o.remaining.0),
            status: o.status,
            created_at: TimeText(o.placed_at),
        }
    }
}

impl OrderJson {
    /// A new order as accepted, with where it stands after matching.
    pub fn placed(accepted: &OrderAccepted, ack: &OrderAck) -> Self {
        OrderJson {
            id: IdText(accepted.order_id.0),
            client_order_id: accepted.client_order_id.map(|c| c.to_string()),
            asset: accepted.asset.to_string(),
            side: accepted.side,
            order_type: accepted.order_type,
            time_in_force: accepted.time_in_force,
            stp: accepted.stp,
            price: accepted.price.map(|p| DecimalText(p.0)),
            quantity: DecimalText(accepted.quantity.0),
            filled_quantity: DecimalText(ack.filled.0),
            remaining_quantity: DecimalText(ack.remaining.0),
            status: ack.status,
            created_at: TimeText(accepted.time),
        }
    }
}

/// A fill of one of the caller's orders.
#[derive(Serialize, JsonSchema)]
pub struct FillJson {
    trade_id: IdText,
    order_id: IdText,
    transaction_id: IdText,
    asset: String,
    side: Side,
    liquidity: &'static str,
    price: DecimalText,
    quantity: DecimalText,
    amount: DecimalText,
    created_at: TimeText,
}

impl FillJson {
    /// `trade` as seen by the owner of `order`, which took part in it.
    pub fn of(trade: &Trade, order: OrderId) -> Self {
        let taker = trade.taker_order_id == order;
        let side = if taker {
            trade.taker_side
        } else {
            trade.taker_side.opposite()
        };
        FillJson {
            trade_id: IdText(trade.trade_id.0),
            order_id: IdText(order.0),
            transaction_id: IdText(trade.transaction_id.0),
            asset: trade.asset.to_string(),
            side,
            liquidity: if taker { "taker" } else { "maker" },
            price: DecimalText(trade.price.0),
            quantity: DecimalText(trade.quantity.0),
            amount: DecimalText(trade.amount.0),
            created_at: TimeText(trade.time),
        }
    }
}

/// An order and the fills a command gave it.
#[derive(Serialize, JsonSchema)]
pub struct OrderWithFills {
    /// The order.
    pub order: OrderJson,
    /// Its fills, in the order they happened.
    pub fills: Vec<FillJson>,
}

/// One aggregated price level.
#[derive(Serialize, JsonSchema)]
pub struct LevelJson {
    price: DecimalText,
    quantity: DecimalText,
    orders: u32,
}

impl From<&LevelView> for LevelJson {
    fn from(l: &LevelView) -> Self {
        LevelJson {
            price: DecimalText(l.price.0),
            quantity: DecimalText(l.quantity.0),
            orders: l.orders,
        }
    }
}

/// A book's depth and touch.
#[derive(Serialize, JsonSchema)]
pub struct BookJson {
    asset: String,
    bids: Vec<LevelJson>,
    asks: Vec<LevelJson>,
    best_bid: Option<DecimalText>,
    best_ask: Option<DecimalText>,
    spread: Option<DecimalText>,
    last_price: Option<DecimalText>,
}

impl From<&DepthView> for BookJson {
    fn from(d: &DepthView) -> Self {
        BookJson {
            asset: d.asset.to_string(),
            bids: d.bids.iter().map(LevelJson::from).collect(),
            asks: d.asks.iter().map(LevelJson::from).collect(),
            best_bid: d.best_bid.map(|p| DecimalText(p.0)),
            best_ask: d.best_ask.map(|p| DecimalText(p.0)),
            spread: d
                .best_bid
                .zip(d.best_ask)
                .map(|(b, a)| DecimalText(a.0 - b.0)),
            last_price: d.last_price.map(|p| DecimalText(p.0)),
        }
    }
}

/// A trade as the public sees it.
#[derive(Serialize, JsonSchema)]
pub struct PublicTradeJson {
    trade_id: IdText,
    price: DecimalText,
    quantity: DecimalText,
    taker_side: Side,
    created_at: TimeText,
}

impl From<&TradeView> for PublicTradeJson {
    fn from(t: &TradeView) -> Self {
        PublicTradeJson {
            trade_id: IdText(t.trade_id.0),
            price: DecimalText(t.price.0),
            quantity: DecimalText(t.quantity.0),
            taker_side: t.taker_side,
            created_at: TimeText(t.time),
        }
    }
}

/// One wallet.
#[derive(Serialize, JsonSchema)]
pub struct BalanceJson {
    currency: String,
    available: DecimalText,
    held: DecimalText,
    total: DecimalText,
}

impl BalanceJson {
    /// `balance` of `currency`.
    pub fn new(currency: Currency, balance: &Balance) -> Self {
        BalanceJson {
            currency: currency.to_string(),
            available: DecimalText(balance.available.0),
            held: DecimalText(balance.held.0),
            total: DecimalText(balance.available.0.saturating_add(balance.held.0)),
        }
    }
}

/// One movement in an agent's ledger. Accounts are named from the agent's
/// side: `available`, `held`, `escrow`, `external` (deposits and
/// withdrawals), or `counterparty` (another agent's wallet).
#[derive(Serialize, JsonSchema)]
pub struct LedgerJson {
    id: String,
    created_at: TimeText,
    kind: PostingKind,
    currency: String,
    amount: DecimalText,
    from: &'static str,
    to: &'static str,
    order_id: Option<IdText>,
    transaction_id: Option<IdText>,
}

impl From<&LedgerEntry> for LedgerJson {
    fn from(e: &LedgerEntry) -> Self {
        let p = &e.posting;
        let name = |account: Account| match account {
            Account::Available(a) if a == e.agent => "available",
            Account::Held(a) if a == e.agent => "held",
            Account::Available(_) | Account::Held(_) => "counterparty",
            Account::Escrow(_) => "escrow",
            Account::External => "external",
            Account::Platform => "platform",
        };
        let escrow = [p.from, p.to].into_iter().find_map(|a| match a {
            Account::Escrow(id) => Some(IdText(id.0)),
            _ => None,
        });
        LedgerJson {
            id: format!("{}.{}", e.seq, e.index),
            created_at: TimeText(e.time),
            kind: p.kind,
            currency: p.currency.to_string(),
            amount: DecimalText(p.amount.0),
            from: name(p.from),
            to: name(p.to),
            order_id: p.order_id.map(|o| IdText(o.0)),
            transaction_id: escrow,
        }
    }
}

/// An asset's trading parameters.
#[derive(Serialize, JsonSchema)]
pub struct AssetJson {
    symbol: String,
    quote_currency: String,
    tick_size: DecimalText,
    lot_size: DecimalText,
    min_quantity: DecimalText,
    max_quantity: DecimalText,
}

impl From<&AssetSpec> for AssetJson {
    fn from(a: &AssetSpec) -> Self {
        AssetJson {
            symbol: a.symbol.to_string(),
            quote_currency: a.quote_currency.to_string(),
            tick_size: DecimalText(a.tick_size.0),
            lot_size: DecimalText(a.lot_size.0),
            min_quantity: DecimalText(a.quantity_min.0),
            max_quantity: DecimalText(a.quantity_max.0),
        }
    }
}

/// An asset: its trading parameters and where its book stands.
#[derive(Serialize, JsonSchema)]
pub struct MarketAssetJson {
    #[serde(flatten)]
    parameters: AssetJson,
    /// False for a symbol no order has named yet: the parameters are the
    /// ones its first order lists it with.
    listed: bool,
    best_bid: Option<DecimalText>,
    best_ask: Option<DecimalText>,
    last_price: Option<DecimalText>,
    /// Orders resting in its book.
    resting_orders: u32,
}

impl From<&AssetView> for MarketAssetJson {
    fn from(a: &AssetView) -> Self {
        MarketAssetJson {
            parameters: AssetJson::from(&a.spec),
            listed: a.listed.is_some(),
            best_bid: a.best_bid.map(|p| DecimalText(p.0)),
            best_ask: a.best_ask.map(|p| DecimalText(p.0)),
            last_price: a.last_price.map(|p| DecimalText(p.0)),
            resting_orders: a.resting_orders,
        }
    }
}

/// A page of a list.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Page_of_{T}")]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A list that fits in one page.
    pub fn whole(items: Vec<T>) -> Self {
        Page {
            items,
            next_cursor: None,
        }
    }
}

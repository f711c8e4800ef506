//! The order book: place (one or a batch), list, get, amend and cancel
//! orders; cancel all; a book's depth and its recent trades.

use agora_engine::cmd::{AmendOrder, CancelAll, CancelAllAfter, CancelOrder, PlaceOrder};
use agora_engine::event::Trade;
use agora_engine::query::{OrderPage, OrderView};
use agora_engine::units::{ClientOrderId, OrderId, Price, Quantity, Symbol};
use agora_engine::{
    Ack, Answer, Command, Event, OrderRef, OrderStatus, OrderType, Query, Reject,
    SelfTradePrevention, Side, TimeInForce,
};
use hyper::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::assets::{asset_symbol, ASSET_SYMBOL_PATTERN};
use super::history::{archived_order, archived_orders};
use super::State;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::{cursor, Call, Out};
use crate::money::Fixed;
use crate::text::IdText;
use crate::views::{BookJson, FillJson, OrderJson, OrderWithFills, Page, PublicTradeJson};
use schemars::JsonSchema;

/// Price levels per side of a book answer when a request does not say.
pub(super) const DEPTH_DEFAULT: u32 = 20;
/// Price levels per side at most.
pub(super) const DEPTH_MAX: u32 = 1_000;

/// Orders or cancels in one batch request, at most.
const BATCH_MAX: usize = 100;
/// Room a batch's answer starts with per entry: a placed order without
/// fills takes about 320 bytes.
const BATCH_RESULT_BYTES: usize = 384;

/// A new order, in the reference shape plus time in force, client order
/// id and self-trade prevention.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PlaceBody {
    /// The book: letters, digits and `-._~`, up to 24 characters.
    #[schemars(regex(pattern = ASSET_SYMBOL_PATTERN))]
    asset: String,
    side: Side,
    #[serde(default = "limit")]
    order_type: OrderType,
    quantity: Fixed,
    price: Option<Fixed>,
    /// `gtc` for a limit order and `ioc` for a market order when not given
    /// (a market order never rests).
    time_in_force: Option<TimeInForce>,
    client_order_id: Option<String>,
    #[serde(default)]
    stp: SelfTradePrevention,
}

fn limit() -> OrderType {
    OrderType::Limit
}

/// Parses an asset symbol.
fn symbol(text: &str) -> Result<Symbol, ApiError> {
    asset_symbol("asset", text)
}

impl PlaceBody {
    fn command(self, state: &State, caller: Caller) -> Result<Command, ApiError> {
        let client_order_id = self
            .client_order_id
            .as_deref()
            .map(|c| ClientOrderId::new(c).map_err(|e| ApiError::invalid("client_order_id", e)))
            .transpose()?;
        Ok(Command::PlaceOrder(PlaceOrder {
            order_id: state.link.new_order_id(),
            agent: caller.agent,
            asset: symbol(&self.asset)?,
            side: self.side,
            order_type: self.order_type,
            price: self.price.map(|p| Price(p.0)),
            quantity: Quantity(self.quantity.0),
            time_in_force: self.time_in_force.unwrap_or(match self.order_type {
                OrderType::Limit => TimeInForce::Gtc,
                OrderType::Market => TimeInForce::Ioc,
            }),
            client_order_id,
            stp: self.stp,
        }))
    }
}

/// The order and fills of an accepted `PlaceOrder` (`None` for another
/// command's acknowledgement).
fn placed(ack: &Ack, events: &[Event]) -> Option<OrderWithFills> {
    let Ack::Order(ack) = ack else {
        return None;
    };
    let accepted = events.iter().find_map(|e| match e {
        Event::OrderAccepted(a) => Some(a),
        _ => None,
    })?;
    Some(OrderWithFills {
        order: OrderJson::placed(accepted, ack),
        fills: fills(events, ack.order_id),
    })
}

/// The fills `order` took part in among `events`.
fn fills(events: &[Event], order: OrderId) -> Vec<FillJson> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Trade(t) if involves(t, order) => Some(FillJson::of(t, order)),
            _ => None,
        })
        .collect()
}

fn involves(t: &Trade, order: OrderId) -> bool {
    t.taker_order_id == order || t.maker_order_id == order
}

/// `POST /api/v1/orderbook/orders`: `201` with the order and its fills.
pub async fn place(state: &State, call: &Call, caller: Caller) -> Result<Out, ApiError> {
    let command = call.json::<PlaceBody>()?.command(state, caller)?;
    let (ack, events) = state.execute(call, caller.agent, command).await?;
    let placed = placed(&ack, &events).expect("an accepted order has its acceptance event");
    Ok(Out::json(StatusCode::CREATED, &placed))
}

/// What a batch entry does.
#[derive(Deserialize, Copy, Clone, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Action {
    Place,
    Cancel,
}

/// One entry of a batch: `{"action":"place", <order fields>}` or
/// `{"action":"cancel","order_id":"..."}`. One flat shape, so that
/// parsing needs no buffering.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BatchItem {
    action: Action,
    order_id: Option<String>,
    asset: Option<String>,
    side: Option<Side>,
    #[serde(default = "limit")]
    order_type: OrderType,
    quantity: Option<Fixed>,
    price: Option<Fixed>,
    time_in_force: Option<TimeInForce>,
    client_order_id: Option<String>,
    #[serde(default)]
    stp: SelfTradePrevention,
}

impl BatchItem {
    fn command(self, state: &State, caller: Caller) -> Result<Command, ApiError> {
        let required = |field: &str| ApiError::invalid(field, "is required to place an order");
        match self.action {
            Action::Place => PlaceBody {
                asset: self.asset.ok_or_else(|| required("asset"))?,
                side: self.side.ok_or_else(|| required("side"))?,
                order_type: self.order_type,
                quantity: self.quantity.ok_or_else(|| required("quantity"))?,
                price: self.price,
                time_in_force: self.time_in_force,
                client_order_id: self.client_order_id,
                stp: self.stp,
            }
            .command(state, caller),
            Action::Cancel => {
                let id = self
                    .order_id
                    .ok_or_else(|| ApiError::invalid("order_id", "is required to cancel"))?;
                if self.asset.is_some() || self.side.is_some() || self.quantity.is_some() {
                    return Err(ApiError::invalid("action", "cancel takes only `order_id`"));
                }
                let order = order_ref(&id, false)?;
                Ok(Command::CancelOrder(CancelOrder {
                    agent: caller.agent,
                    order,
                }))
            }
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchBody {
    actions: Vec<BatchItem>,
}

/// `POST /api/v1/orderbook/orders/batch`: up to 100 places and cancels,
/// applied in order in one hand-off; each has its own result.
pub async fn batch(state: &State, call: &Call, caller: Caller) -> Result<Out, ApiError> {
    let body: BatchBody = call.json()?;
    if body.actions.is_empty() || body.actions.len() > BATCH_MAX {
        return Err(ApiError::invalid(
            "actions",
            format!("must hold 1 to {BATCH_MAX} entries"),
        ));
    }
    // Entries that fail validation get their error; the rest run.
    let mut results: Vec<Option<Result<BatchEntry, ApiError>>> =
        Vec::with_capacity(body.actions.len());
    let mut commands = Vec::with_capacity(body.actions.len());
    for item in body.actions {
        let command = item.command(state, caller);
        match command {
            Ok(c) => {
                commands.push(c);
                results.push(None);
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }
    let mut replies = state
        .execute_many(call, caller.agent, commands)
        .await?
        .into_iter();
    let items: Vec<BatchResult> = results
        .into_iter()
        .map(|r| {
            let r = r.unwrap_or_else(|| {
                let (ack, events) = replies.next().expect("one reply per command")?;
                Ok(match (placed(&ack, &events), ack) {
                    (Some(p), _) => BatchEntry::Placed(p),
                    (None, Ack::Order(o)) => BatchEntry::Cancelled {
                        order_id: IdText(o.order_id.0),
                        status: o.status,
                    },
                    _ => unreachable!("batches hold orders and cancels"),
                })
            });
            match r {
                Ok(entry) => BatchResult {
                    ok: true,
                    result: Some(entry),
                    status: None,
                    error: None,
                },
                Err(e) => BatchResult {
                    ok: false,
                    result: None,
                    status: Some(e.status.as_u16()),
                    error: Some(e.body()["error"].take()),
                },
            }
        })
        .collect();
    let expected = items.len() * BATCH_RESULT_BYTES;
    Ok(Out::json_sized(
        StatusCode::OK,
        &BatchResponse { results: items },
        expected,
    ))
}

/// The results of a batch, one per entry, in order.
#[derive(Serialize, JsonSchema)]
pub(super) struct BatchResponse {
    results: Vec<BatchResult>,
}

/// What one batch entry did.
#[derive(Serialize, JsonSchema)]
#[serde(untagged)]
enum BatchEntry {
    Placed(OrderWithFills),
    Cancelled {
        order_id: IdText,
        status: OrderStatus,
    },
}

/// One batch entry's result: `ok` with its result, or its status and error.
#[derive(Serialize, JsonSchema)]
struct BatchResult {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<BatchEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Value>,
}

/// An order named by path or body: its id, or with `?by=client_order_id`
/// the caller's client order id.
fn order_ref(text: &str, by_client_id: bool) -> Result<OrderRef, ApiError> {
    if by_client_id {
        return ClientOrderId::new(text)
            .map(OrderRef::ClientId)
            .map_err(|_| ApiError::not_found("order"));
    }
    super::parse_id(text, "order").map(|id| OrderRef::Id(OrderId(id)))
}

fn path_order(call: &Call, id: &str) -> Result<OrderRef, ApiError> {
    match call.param("by") {
        None | Some("id") => order_ref(id, false),
        Some("client_order_id") => order_ref(id, true),
        Some(_) => Err(ApiError::invalid("by", "must be `id` or `client_order_id`")),
    }
}

/// The caller's order `order`: from the market while it keeps the order,
/// else from the archive of finished orders.
async fn order_view(state: &State, caller: Caller, order: OrderRef) -> Result<OrderView, ApiError> {
    let query = Query::Order {
        agent: caller.agent,
        order,
    };
    match state.link.query(query).await? {
        Ok(Answer::Order(o)) => Ok(o),
        Err(Reject::UnknownOrder) => archived_order(state, caller.agent, order)
            .await?
            .ok_or_else(|| ApiError::not_found("order")),
        Err(reject) => Err(reject.into()),
        Ok(_) => unreachable!("an order query answers an order"),
    }
}

/// What to answer when a command on the caller's order `order` failed
/// with `error`: an order the market let go after it finished is
/// finished, as one it still keeps would be (`409`), not unknown.
async fn unless_finished(
    state: &State,
    caller: Caller,
    order: OrderRef,
    error: ApiError,
) -> ApiError {
    if error.status == StatusCode::NOT_FOUND {
        if let Ok(Some(_)) = archived_order(state, caller.agent, order).await {
            return Reject::OrderNotOpen.into();
        }
    }
    error
}

/// `GET /api/v1/orderbook/orders/{id}`.
pub async fn get(state: &State, call: &Call, caller: Caller, id: &str) -> Result<Out, ApiError> {
    let order = order_view(state, caller, path_order(call, id)?).await?;
    Ok(Out::json(StatusCode::OK, &OrderJson::from(&order)))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AmendBody {
    price: Option<Fixed>,
    quantity: Option<Fixed>,
}

/// `PATCH /api/v1/orderbook/orders/{id}`: new price and/or quantity; the
/// order and any fills the new price caused.
pub async fn amend(state: &State, call: &Call, caller: Caller, id: &str) -> Result<Out, ApiError> {
    let order = path_order(call, id)?;
    let body: AmendBody = call.json()?;
    if body.price.is_none() && body.quantity.is_none() {
        return Err(ApiError::invalid("price", "or `quantity` must be given"));
    }
    let command = Command::AmendOrder(AmendOrder {
        agent: caller.agent,
        order,
        price: body.price.map(|p| Price(p.0)),
        quantity: body.quantity.map(|q| Quantity(q.0)),
    });
    let (ack, events) = match state.execute(call, caller.agent, command).await {
        Ok(done) => done,
        Err(e) => return Err(unless_finished(state, caller, order, e).await),
    };
    let Ack::Order(ack) = ack else {
        unreachable!("amending an order acknowledges it")
    };
    let view = order_view(state, caller, OrderRef::Id(ack.order_id)).await?;
    let amended = OrderWithFills {
        order: OrderJson::from(&view),
        fills: fills(&events, ack.order_id),
    };
    Ok(Out::json(StatusCode::OK, &amended))
}

/// `DELETE /api/v1/orderbook/orders/{id}`.
pub async fn cancel(state: &State, call: &Call, caller: Caller, id: &str) -> Result<Out, ApiError> {
    let order = path_order(call, id)?;
    let command = Command::CancelOrder(CancelOrder {
        agent: caller.agent,
        order,
    });
    let (ack, _) = match state.execute(call, caller.agent, command).await {
        Ok(done) => done,
        Err(e) => return Err(unless_finished(state, caller, order, e).await),
    };
    let Ack::Order(ack) = ack else {
        unreachable!("cancelling an order acknowledges it")
    };
    let view = order_view(state, caller, OrderRef::Id(ack.order_id)).await?;
    Ok(Out::json(StatusCode::OK, &OrderJson::from(&view)))
}

/// `DELETE /api/v1/orderbook/orders?asset=`: cancels all the caller's
/// open orders, or those in one asset. The engine does it in bounded
/// steps (see `agora_engine::cmd::cancel_all`), so that a large cancel
/// holds up other commands for a millisecond at a time: each step that
/// stops early is followed by one from where it stopped (orders placed
/// meanwhile may be cancelled too).
pub async fn cancel_all(state: &State, call: &Call, caller: Caller) -> Result<Out, ApiError> {
    let asset = call.param("asset").map(symbol).transpose()?;
    let all = CancelAll {
        agent: caller.agent,
        asset,
    };
    let mut command = Command::CancelAll(all.clone());
    let mut cancelled = 0;
    for part in 0.. {
        let (ack, _) = state
            .execute_part(call, caller.agent, part, command)
            .await?;
        let Ack::OrdersCancelled {
            count,
            resume_after,
        } = ack
        else {
            unreachable!("cancel-all acknowledges a count")
        };
        cancelled += count;
        let Some(after) = resume_after else { break };
        let all = all.clone();
        command = Command::CancelAllAfter(Box::new(CancelAllAfter { all, after }));
    }
    Ok(Out::json(StatusCode::OK, &Cancelled { cancelled }))
}

/// How many orders a cancel-all cancelled.
#[derive(Serialize, JsonSchema)]
pub(super) struct Cancelled {
    cancelled: u32,
}

/// `GET /api/v1/orderbook/orders?status=&asset=&limit=&cursor=`: the
/// caller's orders, oldest first. `status` is `open` (the default),
/// `filled`, `cancelled` or `all`. Finished orders come from the market
/// while it keeps them (its most recently finished, 4,096 by default),
/// then from the archive of every finished order.
pub async fn list(state: &State, call: &Call, caller: Caller) -> Result<Out, ApiError> {
    let page = call.page()?;
    let asset = call.param("asset").map(symbol).transpose()?;
    // Whether open orders are wanted, and which finished ones (if any).
    let (open, finished) = match call.param("status").unwrap_or("open") {
        "open" => (true, None),
        "filled" => (false, Some(Some(OrderStatus::Filled))),
        "cancelled" => (false, Some(Some(OrderStatus::Cancelled))),
        "all" => (true, Some(None)),
        _ => {
            return Err(ApiError::invalid(
                "status",
                "must be open, filled, cancelled or all",
            ))
        }
    };
    // One more than the page, to know whether another follows.
    let wanted = OrderPage {
        after: page.after.map(OrderId),
        limit: u32::try_from(page.limit + 1).unwrap_or(u32::MAX),
    };
    let agent = caller.agent;
    let mut orders = Vec::new();
    // Where a walk stopped before filling the page, if one did: orders
    // past it belong to the next pages.
    let mut walked_to: Option<u64> = None;
    let mut stopped = |at: Option<OrderId>| {
        if let Some(at) = at {
            walked_to = Some(walked_to.map_or(at.0, |w| w.min(at.0)));
        }
    };
    let listed = |answer| match answer {
        Answer::Orders(list, stopped) => (list, stopped),
        _ => unreachable!("an orders query answers orders"),
    };
    if open {
        let query = Query::OpenOrders {
            agent,
            asset,
            page: wanted,
        };
        let (list, at) = listed(state.ask(query).await?);
        orders.extend(list);
        stopped(at.map(OrderId));
    }
    if let Some(status) = finished {
        // The market's own first: the archive then holds every finished
        // order the market had let go by this read.
        let query = Query::FinishedOrders {
            agent,
            asset,
            status,
            page: wanted,
        };
        orders.extend(listed(state.ask(query).await?).0);
        let keep = move |o: &OrderView| {
            asset.is_none_or(|a| o.asset == a) && status.is_none_or(|s| o.status == s)
        };
        let limit = wanted.limit as usize;
        let (list, at) = archived_orders(state, agent, wanted.after, limit, keep).await?;
        orders.extend(list);
        stopped(at);
    }
    if let Some(to) = walked_to {
        orders.retain(|o| o.order_id.0 <= to);
    }
    // An order read twice (kept by the market and archived, or open and
    // then finished between the reads) is listed once, finished.
    orders.sort_unstable_by_key(|o| (o.order_id, o.status.is_open()));
    orders.dedup_by_key(|o| o.order_id);
    let (items, next_cursor) = page.cut(orders, |o| o.order_id.0);
    let next_cursor = next_cursor.or(walked_to.map(cursor));
    let items: Vec<OrderJson> = items.iter().map(OrderJson::from).collect();
    Ok(Out::json(StatusCode::OK, &Page { items, next_cursor }))
}

/// `GET /api/v1/orderbook/{asset}?depth=`: aggregated levels (default 20),
/// best bid and ask, spread, last price.
pub async fn book(state: &State, call: &Call, asset: &str) -> Result<Out, ApiError> {
    let levels = call.param_as::<u32>("depth")?.unwrap_or(DEPTH_DEFAULT);
    if !(1..=DEPTH_MAX).contains(&levels) {
        return Err(ApiError::invalid(
            "depth",
            format!("must be between 1 and {DEPTH_MAX}"),
        ));
    }
    let Answer::Depth(depth) = state
        .ask(Query::Depth {
            asset: symbol(asset)?,
            levels,
        })
        .await?
    else {
        unreachable!("a depth query answers depth")
    };
    Ok(Out::json(StatusCode::OK, &BookJson::from(&depth)))
}

/// `GET /api/v1/orderbook/{asset}/trades?limit=`: recent trades, newest first.
pub async fn trades(state: &State, call: &Call, asset: &str) -> Result<Out, ApiError> {
    let limit = call.limit()? as u32;
    let Answer::Trades(list) = state
        .ask(Query::Trades {
            asset: symbol(asset)?,
            limit,
        })
        .await?
    else {
        unreachable!("a trades query answers trades")
    };
    let items: Vec<PublicTradeJson> = list.iter().map(PublicTradeJson::from).collect();
    Ok(Out::json(StatusCode::OK, &Page::whole(items)))
}

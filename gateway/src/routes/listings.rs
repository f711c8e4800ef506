//! Listings: post, browse, read, update, withdraw, and purchase (which
//! takes the units at once and creates a pending transaction).

use agora_engine::category::Category;
use agora_engine::cmd::{ListingAction, ListingOp};
use agora_engine::deal_queries::ListingFilter;
use agora_engine::listings::{ListingPost, ListingStatus, ListingUpdate};
use agora_engine::query::Newest;
use agora_engine::units::{AgentId, Amount, ListingId};
use agora_engine::{Ack, Answer, Command, Query};
use hyper::StatusCode;
use serde::Deserialize;

use super::requests::{currency, post_filter, MoneyBody};
use super::transactions::transaction_json;
use super::{newest_page, page_out, parse_id, State};
use crate::deal_views::ListingJson;
use crate::error::ApiError;
use crate::http::{Call, Out};
use crate::money::Fixed;
use schemars::JsonSchema;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NewListing")]
pub(super) struct CreateBody {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default = "other")]
    category: Category,
    price: MoneyBody,
    #[serde(default = "one")]
    quantity: u32,
}

fn other() -> Category {
    Category::Other
}

fn one() -> u32 {
    1
}

/// Runs `op` for `agent` and answers `query` right after it (on a
/// replay, the listing or transaction the first acknowledgement names).
async fn act(
    state: &State,
    call: &Call,
    agent: AgentId,
    op: ListingOp,
    query: Query,
) -> Result<Answer, ApiError> {
    let command = Command::Listing(Box::new(ListingAction { agent, op }));
    let on_replay = |ack: &Ack| match ack {
        Ack::Listing {
            transaction_id: Some(transaction_id),
            ..
        } => Query::Transaction {
            agent: Some(agent),
            transaction_id: *transaction_id,
        },
        Ack::Listing { listing_id, .. } => Query::Listing {
            listing_id: *listing_id,
        },
        _ => unreachable!("a listing command acknowledges a listing"),
    };
    Ok(state
        .execute_then_ask(call, agent, command, query, on_replay)
        .await?
        .1)
}

fn listing_json(state: &State, answer: Answer) -> ListingJson {
    let Answer::Listing(l) = answer else {
        unreachable!("a listing query answers a listing")
    };
    ListingJson::new(&l, &state.directory)
}

/// `POST /api/v1/listings`: `201` with the listing.
pub async fn create(state: &State, call: &Call, agent: AgentId) -> Result<Out, ApiError> {
    let body: CreateBody = call.json()?;
    let post = ListingPost {
        title: body.title,
        description: body.description,
        category: body.category,
        price: Amount(body.price.amount.0),
        currency: currency(&body.price.currency)?,
        quantity: body.quantity,
    };
    let newest = Query::Newest(Newest::Listing);
    let answer = act(state, call, agent, ListingOp::Create(post), newest).await?;
    Ok(Out::json(StatusCode::CREATED, &listing_json(state, answer)))
}

/// `GET /api/v1/listings?category=&status=&q=&min_price=&max_price=&currency=&mine=&limit=&cursor=`:
/// newest first.
pub async fn list(state: &State, call: &Call) -> Result<Out, ApiError> {
    let filter = ListingFilter {
        post: post_filter(state, call)?,
        status: call.param_enum::<ListingStatus>("status")?,
    };
    let query = Query::Listings {
        filter,
        page: newest_page(call)?,
    };
    let Answer::Listings(items, next) = state.ask(query).await? else {
        unreachable!("a listing search answers listings")
    };
    Ok(page_out(&items, next, |l| {
        ListingJson::new(l, &state.directory)
    }))
}

/// `GET /api/v1/listings/{id}`.
pub async fn get(state: &State, id: &str) -> Result<Out, ApiError> {
    let listing_id = ListingId(parse_id(id, "listing")?);
    let answer = state.ask(Query::Listing { listing_id }).await?;
    Ok(Out::json(StatusCode::OK, &listing_json(state, answer)))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ListingChanges")]
pub(super) struct UpdateBody {
    title: Option<String>,
    description: Option<String>,
    category: Option<Category>,
    price: Option<PriceChange>,
    quantity: Option<u32>,
}

/// A new unit price: the amount alone, or `{amount, currency}` as a
/// listing shows its price (so what was read can be sent back), whose
/// currency must then be the listing's.
#[derive(Deserialize, JsonSchema)]
#[serde(
    untagged,
    expecting = "a price: an amount (\"12.50\") or {\"amount\", \"currency\"} in the listing's currency"
)]
enum PriceChange {
    Amount(Fixed),
    Money(MoneyBody),
}

impl PriceChange {
    /// The new price of `listing_id`: a currency other than the
    /// listing's is refused, as a listing keeps the currency it was
    /// posted in.
    async fn amount(self, state: &State, listing_id: ListingId) -> Result<Amount, ApiError> {
        let money = match self {
            PriceChange::Amount(amount) => return Ok(Amount(amount.0)),
            PriceChange::Money(money) => money,
        };
        let wanted = currency(&money.currency)?;
        let Answer::Listing(listing) = state.ask(Query::Listing { listing_id }).await? else {
            unreachable!("a listing query answers a listing")
        };
        let posted = listing.listing.post.currency;
        if wanted != posted {
            return Err(ApiError::invalid(
                "price",
                format!(
                    "must stay in {posted}, the listing's currency; to sell in {wanted}, \
                     withdraw it and post a new listing"
                ),
            ));
        }
        Ok(Amount(money.amount.0))
    }
}

/// `PATCH /api/v1/listings/{id}`: the seller changes title, description,
/// category, unit price (same currency) or units left.
pub async fn update(state: &State, call: &Call, agent: AgentId, id: &str) -> Result<Out, ApiError> {
    let listing_id = ListingId(parse_id(id, "listing")?);
    let body: UpdateBody = call.json()?;
    let price = match body.price {
        Some(change) => Some(change.amount(state, listing_id).await?),
        None => None,
    };
    let update = ListingUpdate {
        title: body.title,
        description: body.description,
        category: body.category,
        price,
        quantity: body.quantity,
    };
    let query = Query::Listing { listing_id };
    let op = ListingOp::Update { listing_id, update };
    let answer = act(state, call, agent, op, query).await?;
    Ok(Out::json(StatusCode::OK, &listing_json(state, answer)))
}

/// `DELETE /api/v1/listings/{id}`: the seller withdraws it.
pub async fn withdraw(
    state: &State,
    call: &Call,
    agent: AgentId,
    id: &str,
) -> Result<Out, ApiError> {
    let listing_id = ListingId(parse_id(id, "listing")?);
    let query = Query::Listing { listing_id };
    let answer = act(
        state,
        call,
        agent,
        ListingOp::Withdraw { listing_id },
        query,
    )
    .await?;
    Ok(Out::json(StatusCode::OK, &listing_json(state, answer)))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PurchaseBody {
    #[serde(default = "one")]
    quantity: u32,
}

impl Default for PurchaseBody {
    fn default() -> Self {
        PurchaseBody { quantity: 1 }
    }
}

/// `POST /api/v1/listings/{id}/purchase` (body optional, `quantity`
/// defaults to 1): `201` with the new pending transaction.
pub async fn purchase(
    state: &State,
    call: &Call,
    agent: AgentId,
    id: &str,
) -> Result<Out, ApiError> {
    let listing_id = ListingId(parse_id(id, "listing")?);
    let quantity = call.json_or_default::<PurchaseBody>()?.quantity;
    let op = ListingOp::Purchase {
        listing_id,
        quantity,
    };
    let newest = Query::Newest(Newest::Transaction { agent });
    let answer = act(state, call, agent, op, newest).await?;
    Ok(Out::json(
        StatusCode::CREATED,
        &transaction_json(state, answer),
    ))
}

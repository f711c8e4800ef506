//! Listings: post, browse, read, update, withdraw, and purchase (which
//! takes the units at once and creates a pending transaction).

use agora_engine::category::Category;
use agora_engine::cmd::{ListingAction, ListingOp};
use agora_engine::deal_queries::{ListingFilter, Page};
use agora_engine::listings::{ListingPost, ListingStatus, ListingUpdate};
use agora_engine::units::{AgentId, Amount, ListingId, TransactionId};
use agora_engine::{Ack, Answer, Command, Query};
use hyper::StatusCode;
use serde::Deserialize;

use super::requests::{currency, post_filter, MoneyBody};
use super::{parse_enum, parse_id, State};
use crate::deal_views::{ListingJson, TransactionJson};
use crate::error::ApiError;
use crate::http::{Call, Out};
use crate::money::Fixed;
use crate::views::Page as PageJson;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
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

async fn act(state: &State, call: &Call, agent: AgentId, op: ListingOp) -> Result<Ack, ApiError> {
    let command = Command::Listing(Box::new(ListingAction { agent, op }));
    Ok(state.execute(call, agent, command).await?.0)
}

async fn listing_json(state: &State, listing_id: ListingId) -> Result<ListingJson, ApiError> {
    let Answer::Listing(l) = state.ask(Query::Listing { listing_id }).await? else {
        unreachable!("a listing query answers a listing")
    };
    Ok(ListingJson::new(&l, &state.directory))
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
    let Ack::Listing { listing_id, .. } = act(state, call, agent, ListingOp::Create(post)).await?
    else {
        unreachable!("a listing acknowledges a listing")
    };
    Ok(Out::json(
        StatusCode::CREATED,
        &listing_json(state, listing_id).await?,
    ))
}

/// `GET /api/v1/listings?category=&status=&q=&min_price=&max_price=&currency=&mine=&limit=&cursor=`:
/// newest first.
pub async fn list(state: &State, call: &Call) -> Result<Out, ApiError> {
    let page = call.page()?;
    let filter = ListingFilter {
        post: post_filter(state, call)?,
        status: call
            .param("status")
            .map(|s| parse_enum::<ListingStatus>("status", s))
            .transpose()?,
    };
    let query = Query::Listings {
        filter,
        page: Page {
            before: page.after,
            limit: page.limit as u32,
        },
    };
    let Answer::Listings(items, more) = state.ask(query).await? else {
        unreachable!("a listing search answers listings")
    };
    let next_cursor = more
        .then(|| items.last().map(|l| format!("{:x}", l.listing_id.0)))
        .flatten();
    let items = items
        .iter()
        .map(|l| ListingJson::new(l, &state.directory))
        .collect();
    Ok(Out::json(StatusCode::OK, &PageJson { items, next_cursor }))
}

/// `GET /api/v1/listings/{id}`.
pub async fn get(state: &State, id: &str) -> Result<Out, ApiError> {
    let listing_id = ListingId(parse_id(id, "listing")?);
    Ok(Out::json(
        StatusCode::OK,
        &listing_json(state, listing_id).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    title: Option<String>,
    description: Option<String>,
    category: Option<Category>,
    price: Option<Fixed>,
    quantity: Option<u32>,
}

/// `PATCH /api/v1/listings/{id}`: the seller changes title, description,
/// category, unit price (same currency) or units left.
pub async fn update(state: &State, call: &Call, agent: AgentId, id: &str) -> Result<Out, ApiError> {
    let listing_id = ListingId(parse_id(id, "listing")?);
    let body: UpdateBody = call.json()?;
    let update = ListingUpdate {
        title: body.title,
        description: body.description,
        category: body.category,
        price: body.price.map(|p| Amount(p.0)),
        quantity: body.quantity,
    };
    act(state, call, agent, ListingOp::Update { listing_id, update }).await?;
    Ok(Out::json(
        StatusCode::OK,
        &listing_json(state, listing_id).await?,
    ))
}

/// `DELETE /api/v1/listings/{id}`: the seller withdraws it.
pub async fn withdraw(
    state: &State,
    call: &Call,
    agent: AgentId,
    id: &str,
) -> Result<Out, ApiError> {
    let listing_id = ListingId(parse_id(id, "listing")?);
    act(state, call, agent, ListingOp::Withdraw { listing_id }).await?;
    Ok(Out::json(
        StatusCode::OK,
        &listing_json(state, listing_id).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurchaseBody {
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
    let Ack::Listing {
        transaction_id: Some(transaction_id),
        ..
    } = act(
        state,
        call,
        agent,
        ListingOp::Purchase {
            listing_id,
            quantity,
        },
    )
    .await?
    else {
        unreachable!("a purchase acknowledges its transaction")
    };
    transaction_created(state, agent, transaction_id).await
}

/// `201` with the transaction `id` as `agent` sees it.
async fn transaction_created(
    state: &State,
    agent: AgentId,
    transaction_id: TransactionId,
) -> Result<Out, ApiError> {
    let Answer::Transaction(t) = state
        .ask(Query::Transaction {
            agent: Some(agent),
            transaction_id,
        })
        .await?
    else {
        unreachable!("a transaction query answers a transaction")
    };
    Ok(Out::json(
        StatusCode::CREATED,
        &TransactionJson::new(&t, &state.directory),
    ))
}

//! Requests and offers: post and browse requests, renew, fulfil or cancel
//! your own; make offers, see the offers you may see, accept, reject or
//! withdraw them.

use agora_engine::category::Category;
use agora_engine::cmd::{RequestAction, RequestOp};
use agora_engine::deal_queries::{PostFilter, RequestFilter};
use agora_engine::query::Newest;
use agora_engine::requests::{OfferPost, OfferStatus, RequestPost, RequestStatus};
use agora_engine::units::{AgentId, Amount, Currency, OfferId, RequestId, Timestamp};
use agora_engine::{Ack, Answer, Command, Query};
use hyper::StatusCode;
use serde::{Deserialize, Serialize};

use super::{newest_page, page_out, parse_id, State};
use crate::deal_views::{OfferJson, RequestJson};
use crate::error::ApiError;
use crate::http::{Call, Out};
use crate::money::Fixed;
use crate::text::IdText;
use crate::views::{parse_rfc3339, Page};
use schemars::JsonSchema;

/// A money amount with its currency, as the reference sends it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyBody {
    /// Amount.
    pub amount: Fixed,
    /// Currency code.
    pub currency: String,
}

/// A currency code from a body.
pub fn currency(text: &str) -> Result<Currency, ApiError> {
    Currency::new(text).map_err(|e| ApiError::invalid("currency", e))
}

/// An optional RFC 3339 time from a body.
fn time(field: &str, text: &Option<String>) -> Result<Option<Timestamp>, ApiError> {
    text.as_deref().map(|t| parse_rfc3339(field, t)).transpose()
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BudgetBody {
    min: Option<Fixed>,
    max: Fixed,
    currency: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NewRequest", transform = agent_ready_aliases)]
pub(super) struct CreateBody {
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default = "other")]
    category: Category,
    budget: BudgetBody,
    deadline: Option<String>,
    #[serde(default, alias = "is_agent_ready")]
    agent_ready: bool,
    #[serde(default)]
    offer_window_seconds: u32,
}

fn agent_ready_aliases(schema: &mut schemars::Schema) {
    super::openapi::alias(schema, "agent_ready", "is_agent_ready");
}

fn other() -> Category {
    Category::Other
}

fn command(agent: AgentId, op: RequestOp) -> Command {
    Command::Request(Box::new(RequestAction { agent, op }))
}

fn request_json(state: &State, answer: Answer) -> RequestJson {
    let Answer::Request(r) = answer else {
        unreachable!("a request query answers a request")
    };
    RequestJson::new(&r, &state.directory)
}

fn offer_json(state: &State, answer: Answer) -> OfferJson {
    let Answer::Offer(o) = answer else {
        unreachable!("an offer query answers an offer")
    };
    OfferJson::new(&o, &state.directory)
}

/// The request a replayed acknowledgement names.
fn acked_request(ack: &Ack) -> Query {
    match ack {
        Ack::Request { request_id, .. } => Query::Request {
            request_id: *request_id,
        },
        _ => unreachable!("a request command acknowledges a request"),
    }
}

/// `POST /api/v1/requests`: `201` with the request.
pub async fn create(state: &State, call: &Call, agent: AgentId) -> Result<Out, ApiError> {
    let body: CreateBody = call.json()?;
    let post = RequestPost {
        title: body.title,
        description: body.description,
        category: body.category,
        budget_min: Amount(body.budget.min.map_or(0, |m| m.0)),
        budget_max: Amount(body.budget.max.0),
        currency: currency(&body.budget.currency)?,
        deadline: time("deadline", &body.deadline)?,
        agent_ready: body.agent_ready,
        offer_window_ns: i64::from(body.offer_window_seconds) * 1_000_000_000,
    };
    let (_, answer) = state
        .execute_then_ask(
            call,
            agent,
            command(agent, RequestOp::Create(post)),
            Query::Newest(Newest::Request),
            acked_request,
        )
        .await?;
    Ok(Out::json(StatusCode::CREATED, &request_json(state, answer)))
}

/// `GET /api/v1/requests?category=&status=&agent_ready=&q=&min_price=&max_price=&currency=&mine=&limit=&cursor=`:
/// newest first. `mine=true` needs the caller's key.
pub async fn list(state: &State, call: &Call) -> Result<Out, ApiError> {
    let filter = RequestFilter {
        post: post_filter(state, call)?,
        status: call.param_enum::<RequestStatus>("status")?,
        agent_ready: call.param_as::<bool>("agent_ready")?,
    };
    let query = Query::Requests {
        filter,
        page: newest_page(call)?,
    };
    let Answer::Requests(items, next) = state.ask(query).await? else {
        unreachable!("a request search answers requests")
    };
    Ok(page_out(&items, next, |r| {
        RequestJson::new(r, &state.directory)
    }))
}

/// The filters shared by request and listing searches.
pub fn post_filter(state: &State, call: &Call) -> Result<PostFilter, ApiError> {
    Ok(PostFilter {
        category: call.param_enum("category")?,
        text: call.param("q").filter(|q| !q.is_empty()).map(str::to_owned),
        price_min: call.param_amount("min_price")?,
        price_max: call.param_amount("max_price")?,
        currency: call.param("currency").map(currency).transpose()?,
        owner: super::mine(state, call)?,
    })
}

/// `GET /api/v1/requests/{id}`.
pub async fn get(state: &State, id: &str) -> Result<Out, ApiError> {
    let request_id = RequestId(parse_id(id, "request")?);
    let answer = state.ask(Query::Request { request_id }).await?;
    Ok(Out::json(StatusCode::OK, &request_json(state, answer)))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum Manage {
    Renew,
    Fulfil,
    Cancel,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ManageBody {
    action: Manage,
    deadline: Option<String>,
}

/// `PATCH /api/v1/requests/{id}` with `action` `renew` (optional new
/// `deadline`), `fulfil` or `cancel`: the owner manages its request.
pub async fn manage(state: &State, call: &Call, agent: AgentId, id: &str) -> Result<Out, ApiError> {
    let request_id = RequestId(parse_id(id, "request")?);
    let body: ManageBody = call.json()?;
    let op = match body.action {
        Manage::Renew => RequestOp::Renew {
            request_id,
            deadline: time("deadline", &body.deadline)?,
        },
        _ if body.deadline.is_some() => {
            return Err(ApiError::invalid("deadline", "is only for `renew`"))
        }
        Manage::Fulfil => RequestOp::Fulfil { request_id },
        Manage::Cancel => RequestOp::Cancel { request_id },
    };
    let query = Query::Request { request_id };
    let (_, answer) = state
        .execute_then_ask(call, agent, command(agent, op), query, acked_request)
        .await?;
    Ok(Out::json(StatusCode::OK, &request_json(state, answer)))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct OfferBody {
    price: MoneyBody,
    #[serde(default)]
    message: String,
    estimated_delivery: Option<String>,
    expires_at: Option<String>,
}

/// `POST /api/v1/requests/{id}/offers`: `201` with the offer.
pub async fn make_offer(
    state: &State,
    call: &Call,
    agent: AgentId,
    id: &str,
) -> Result<Out, ApiError> {
    let request_id = RequestId(parse_id(id, "request")?);
    let body: OfferBody = call.json()?;
    let offer = OfferPost {
        price: Amount(body.price.amount.0),
        currency: currency(&body.price.currency)?,
        message: body.message,
        estimated_delivery: time("estimated_delivery", &body.estimated_delivery)?,
        expires_at: time("expires_at", &body.expires_at)?,
    };
    let (_, answer) = state
        .execute_then_ask(
            call,
            agent,
            command(agent, RequestOp::MakeOffer { request_id, offer }),
            Query::Newest(Newest::Offer { agent }),
            |ack| match ack {
                Ack::Offer { offer_id, .. } => Query::Offer {
                    agent,
                    offer_id: *offer_id,
                    now: state.link.now(),
                },
                _ => unreachable!("an offer acknowledges an offer"),
            },
        )
        .await?;
    Ok(Out::json(StatusCode::CREATED, &offer_json(state, answer)))
}

/// `GET /api/v1/requests/{id}/offers`: the requester sees every offer once
/// the offer window closed; an offering agent sees its own.
pub async fn offers(state: &State, agent: AgentId, id: &str) -> Result<Out, ApiError> {
    let request_id = RequestId(parse_id(id, "request")?);
    let now = state.link.now();
    let Answer::Offers(list, _) = state
        .ask(Query::Offers {
            agent,
            request_id,
            now,
        })
        .await?
    else {
        unreachable!("an offer list answers offers")
    };
    let items: Vec<OfferJson> = list
        .iter()
        .map(|o| OfferJson::new(o, &state.directory))
        .collect();
    Ok(Out::json(StatusCode::OK, &Page::whole(items)))
}

/// `GET /api/v1/offers?status=&limit=&cursor=`: the offers the caller
/// made, on any request, newest first.
pub async fn my_offers(state: &State, call: &Call, agent: AgentId) -> Result<Out, ApiError> {
    let query = Query::MyOffers {
        agent,
        status: call.param_enum::<OfferStatus>("status")?,
        page: newest_page(call)?,
    };
    let Answer::Offers(items, next) = state.ask(query).await? else {
        unreachable!("an offer list answers offers")
    };
    Ok(page_out(&items, next, |o| {
        OfferJson::new(o, &state.directory)
    }))
}

/// `GET /api/v1/offers/{id}`.
pub async fn get_offer(state: &State, agent: AgentId, id: &str) -> Result<Out, ApiError> {
    let offer_id = OfferId(parse_id(id, "offer")?);
    let now = state.link.now();
    let answer = state
        .ask(Query::Offer {
            agent,
            offer_id,
            now,
        })
        .await?;
    Ok(Out::json(StatusCode::OK, &offer_json(state, answer)))
}

/// What a `POST /api/v1/offers/{id}/{decision}` does.
#[derive(Copy, Clone)]
pub enum Decision {
    /// The requester accepts (a transaction is created).
    Accept,
    /// The requester turns it down.
    Reject,
    /// The offering agent takes it back.
    Withdraw,
}

/// `POST /api/v1/offers/{id}/accept|reject|withdraw`.
pub async fn decide(
    state: &State,
    call: &Call,
    agent: AgentId,
    id: &str,
    decision: Decision,
) -> Result<Out, ApiError> {
    let offer_id = OfferId(parse_id(id, "offer")?);
    call.json_or_default::<crate::http::Empty>()?;
    let op = match decision {
        Decision::Accept => RequestOp::AcceptOffer { offer_id },
        Decision::Reject => RequestOp::RejectOffer { offer_id },
        Decision::Withdraw => RequestOp::WithdrawOffer { offer_id },
    };
    let Ack::Offer {
        status,
        transaction_id,
        ..
    } = state.execute(call, agent, command(agent, op)).await?.0
    else {
        unreachable!("an offer decision acknowledges an offer")
    };
    let message = match decision {
        Decision::Accept => {
            "Offer accepted. Transaction created: fund it with POST /api/v1/transactions/{id}/fund."
        }
        Decision::Reject => "Offer rejected.",
        Decision::Withdraw => "Offer withdrawn.",
    };
    Ok(Out::json(
        StatusCode::OK,
        &Decided {
            offer_id: IdText(offer_id.0),
            status,
            transaction_id: transaction_id.map(|t| IdText(t.0)),
            message,
        },
    ))
}

/// An offer after its decision, and what comes next.
#[derive(Serialize, JsonSchema)]
pub(super) struct Decided {
    offer_id: IdText,
    status: OfferStatus,
    transaction_id: Option<IdText>,
    message: &'static str,
}

//! Auctions: create (English, Dutch, sealed-bid), browse, read with the
//! bid history a caller may see, bid, accept a Dutch price, cancel.

use agora_engine::auctions::{AuctionKind, AuctionPost, AuctionStatus, Pricing};
use agora_engine::cmd::{AuctionAction, AuctionOp};
use agora_engine::deal_queries::{AuctionFilter, AuctionKindName};
use agora_engine::query::Newest;
use agora_engine::units::{AgentId, Amount, AuctionId, ListingId};
use agora_engine::{Ack, Answer, Command, Query};
use hyper::StatusCode;
use serde::Deserialize;

use super::requests::{currency, MoneyBody};
use super::{newest_page, page_out, parse_id, State};
use crate::deal_views::{AuctionJson, BidJson};
use crate::error::ApiError;
use crate::http::{Call, Out};
use crate::money::Fixed;
use crate::views::parse_rfc3339;
use schemars::JsonSchema;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NewAuction")]
pub(super) struct CreateBody {
    title: String,
    #[serde(default)]
    description: String,
    listing_id: Option<String>,
    auction_type: AuctionKindName,
    starting_price: MoneyBody,
    reserve_price: Option<MoneyBody>,
    starts_at: Option<String>,
    ends_at: String,
    /// English.
    min_increment: Option<Fixed>,
    /// English.
    buy_now_price: Option<Fixed>,
    /// English: a bid this close to the end extends it by this much.
    extension_seconds: Option<u32>,
    /// Dutch.
    floor_price: Option<Fixed>,
    /// Dutch.
    decrement: Option<Fixed>,
    /// Dutch.
    interval_seconds: Option<u32>,
    /// Sealed-bid.
    pricing: Option<Pricing>,
}

/// A field that only one kind of auction takes.
fn only(field: &str, kind: &str, present: bool) -> Result<(), ApiError> {
    if present {
        return Err(ApiError::invalid(
            field,
            format!("is only for {kind} auctions"),
        ));
    }
    Ok(())
}

fn required<T>(field: &str, value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid(field, "is required for this auction type"))
}

impl CreateBody {
    fn kind(&self) -> Result<AuctionKind, ApiError> {
        let english = self.min_increment.is_some()
            || self.buy_now_price.is_some()
            || self.extension_seconds.is_some();
        let dutch = self.floor_price.is_some()
            || self.decrement.is_some()
            || self.interval_seconds.is_some();
        let second = 1_000_000_000i64;
        Ok(match self.auction_type {
            AuctionKindName::English => {
                only("floor_price", "dutch", dutch)?;
                only("pricing", "sealed_bid", self.pricing.is_some())?;
                AuctionKind::English {
                    min_increment: Amount(self.min_increment.map_or(1_000_000, |m| m.0)),
                    buy_now: self.buy_now_price.map(|b| Amount(b.0)),
                    extension_ns: i64::from(self.extension_seconds.unwrap_or(0)) * second,
                }
            }
            AuctionKindName::Dutch => {
                only("min_increment", "english", english)?;
                only("pricing", "sealed_bid", self.pricing.is_some())?;
                AuctionKind::Dutch {
                    floor: Amount(required("floor_price", self.floor_price)?.0),
                    decrement: Amount(required("decrement", self.decrement)?.0),
                    interval_ns: i64::from(required("interval_seconds", self.interval_seconds)?)
                        * second,
                }
            }
            AuctionKindName::SealedBid => {
                only("min_increment", "english", english)?;
                only("floor_price", "dutch", dutch)?;
                AuctionKind::SealedBid {
                    pricing: self.pricing.unwrap_or(Pricing::FirstPrice),
                }
            }
        })
    }
}

fn command(agent: AgentId, op: AuctionOp) -> Command {
    Command::Auction(Box::new(AuctionAction { agent, op }))
}

fn auction_json(state: &State, answer: Answer) -> AuctionJson {
    let Answer::Auction(a) = answer else {
        unreachable!("an auction query answers an auction")
    };
    AuctionJson::new(&a, &state.directory)
}

/// `POST /api/v1/auctions`: `201` with the auction.
pub async fn create(state: &State, call: &Call, agent: AgentId) -> Result<Out, ApiError> {
    let body: CreateBody = call.json()?;
    let kind = body.kind()?;
    let money = currency(&body.starting_price.currency)?;
    if let Some(reserve) = &body.reserve_price {
        if currency(&reserve.currency)? != money {
            return Err(ApiError::invalid(
                "reserve_price",
                "must be in the starting price's currency",
            ));
        }
    }
    let now = state.link.now();
    let starts_at = match &body.starts_at {
        Some(t) => parse_rfc3339("starts_at", t)?,
        None => now,
    };
    let listing_id = body
        .listing_id
        .as_deref()
        .map(|l| parse_id(l, "listing").map(ListingId))
        .transpose()?;
    let post = AuctionPost {
        title: body.title,
        description: body.description,
        listing_id,
        kind,
        starting_price: Amount(body.starting_price.amount.0),
        reserve: body.reserve_price.map(|r| Amount(r.amount.0)),
        starts_at,
        ends_at: parse_rfc3339("ends_at", &body.ends_at)?,
    };
    let op = AuctionOp::Create {
        post,
        currency: money,
    };
    let (_, answer) = state
        .execute_then_ask(
            call,
            agent,
            command(agent, op),
            Query::Newest(Newest::Auction),
            |ack| match ack {
                Ack::Auction { auction_id, .. } => Query::Auction {
                    auction_id: *auction_id,
                    viewer: Some(agent),
                    now: state.link.now(),
                },
                _ => unreachable!("an auction command acknowledges an auction"),
            },
        )
        .await?;
    Ok(Out::json(StatusCode::CREATED, &auction_json(state, answer)))
}

/// `GET /api/v1/auctions?type=&status=&ending_before=&min_price=&max_price=&q=&mine=&limit=&cursor=`:
/// newest first; with a key, your own sealed bids show.
pub async fn list(state: &State, call: &Call) -> Result<Out, ApiError> {
    let viewer = viewer(state, call);
    let filter = AuctionFilter {
        kind: call.param_enum("type")?,
        status: call.param_enum::<AuctionStatus>("status")?,
        ending_before: call
            .param("ending_before")
            .map(|t| parse_rfc3339("ending_before", t))
            .transpose()?,
        price_min: call.param_amount("min_price")?,
        price_max: call.param_amount("max_price")?,
        text: call.param("q").filter(|q| !q.is_empty()).map(str::to_owned),
        seller: super::mine(state, call)?,
    };
    let query = Query::Auctions {
        filter,
        viewer,
        now: state.link.now(),
        page: newest_page(call)?,
    };
    let Answer::Auctions(items, next) = state.ask(query).await? else {
        unreachable!("an auction search answers auctions")
    };
    Ok(page_out(&items, next, |a| {
        AuctionJson::new(a, &state.directory)
    }))
}

/// `GET /api/v1/auctions/{id}`: with the bids the caller may see (sealed
/// amounts only its own, until the close).
pub async fn get(state: &State, call: &Call, id: &str) -> Result<Out, ApiError> {
    let auction_id = AuctionId(parse_id(id, "auction")?);
    let query = Query::Auction {
        auction_id,
        viewer: viewer(state, call),
        now: state.link.now(),
    };
    let answer = state.ask(query).await?;
    Ok(Out::json(StatusCode::OK, &auction_json(state, answer)))
}

/// `GET /api/v1/auctions/{id}/bids?limit=&cursor=`: every bid the caller
/// may see, newest first (an auction's own view shows the latest few).
pub async fn bids(state: &State, call: &Call, id: &str) -> Result<Out, ApiError> {
    let query = Query::AuctionBids {
        auction_id: AuctionId(parse_id(id, "auction")?),
        viewer: viewer(state, call),
        page: newest_page(call)?,
    };
    let Answer::Bids(items, next) = state.ask(query).await? else {
        unreachable!("a bid list answers bids")
    };
    Ok(page_out(&items, next, |b| {
        BidJson::new(b, &state.directory)
    }))
}

/// The agent whose key the request carries, if any: auctions are open to
/// anyone, and a bidder also sees its own sealed bids.
fn viewer(state: &State, call: &Call) -> Option<AgentId> {
    state
        .directory
        .authenticate(&call.headers)
        .ok()
        .map(|c| c.agent)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BidBody {
    amount: Fixed,
    currency: Option<String>,
}

/// What a `POST /api/v1/auctions/{id}/{action}` does.
#[derive(Copy, Clone)]
pub enum Move {
    /// Bid.
    Bid,
    /// Take a Dutch auction's current price.
    Accept,
    /// The seller cancels before any bid.
    Cancel,
}

/// `POST /api/v1/auctions/{id}/bid|accept|cancel`: the auction after it.
pub async fn act(
    state: &State,
    call: &Call,
    agent: AgentId,
    id: &str,
    action: Move,
) -> Result<Out, ApiError> {
    let auction_id = AuctionId(parse_id(id, "auction")?);
    let op = match action {
        Move::Bid => {
            let body: BidBody = call.json()?;
            AuctionOp::Bid {
                auction_id,
                amount: Amount(body.amount.0),
                currency: body.currency.as_deref().map(currency).transpose()?,
            }
        }
        Move::Accept => {
            call.json_or_default::<crate::http::Empty>()?;
            AuctionOp::Accept { auction_id }
        }
        Move::Cancel => {
            call.json_or_default::<crate::http::Empty>()?;
            AuctionOp::Cancel { auction_id }
        }
    };
    let query = Query::Auction {
        auction_id,
        viewer: Some(agent),
        now: state.link.now(),
    };
    let (_, answer) = state
        .execute_then_ask(call, agent, command(agent, op), query.clone(), |_| query)
        .await?;
    Ok(Out::json(StatusCode::OK, &auction_json(state, answer)))
}

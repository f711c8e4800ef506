//! Transactions: list and read your own, and move one along its
//! lifecycle (fund, deliver, confirm, dispute, rate, cancel; the operator
//! resolves disputes).

use agora_engine::cmd::Transact;
use agora_engine::deal_queries::Role;
use agora_engine::transactions::{Resolution, TxAction, TxStatus};
use agora_engine::units::{AgentId, Amount, TransactionId};
use agora_engine::{Answer, Command, Query};
use hyper::StatusCode;
use serde::{Deserialize, Serialize};

use super::{newest_page, page_out, parse_id, State};
use crate::deal_views::TransactionJson;
use crate::error::ApiError;
use crate::http::{Call, Empty, Out};
use crate::money::Fixed;
use schemars::JsonSchema;

/// `GET /api/v1/transactions?role=&status=&origin=&limit=&cursor=`: the caller's
/// transactions, newest first.
pub async fn list(state: &State, call: &Call, agent: AgentId) -> Result<Out, ApiError> {
    let role: Option<Role> = call.param_enum("role")?;
    let status: Option<TxStatus> = call.param_enum("status")?;
    let query = Query::Transactions {
        agent,
        role,
        status,
        origin: call.param_enum("origin")?,
        page: newest_page(call)?,
    };
    let Answer::Transactions(items, next) = state.ask(query).await? else {
        unreachable!("a transaction list answers transactions")
    };
    Ok(page_out(&items, next, |t| {
        TransactionJson::new(t, &state.directory)
    }))
}

/// `GET /api/v1/operator/disputes?limit=&cursor=`: the transactions in
/// dispute, newest first, for the operator to resolve.
pub async fn disputes(state: &State, call: &Call) -> Result<Out, ApiError> {
    let query = Query::Disputes {
        page: newest_page(call)?,
    };
    let Answer::Transactions(items, next) = state.ask(query).await? else {
        unreachable!("a dispute list answers transactions")
    };
    Ok(page_out(&items, next, |t| {
        TransactionJson::new(t, &state.directory)
    }))
}

/// `GET /api/v1/transactions/{id}` for its buyer or seller (`agent`), or
/// `GET /api/v1/operator/transactions/{id}` for the operator (`None`):
/// with its history.
pub async fn get(state: &State, agent: Option<AgentId>, id: &str) -> Result<Out, ApiError> {
    let transaction_id = TransactionId(parse_id(id, "transaction")?);
    let query = Query::Transaction {
        agent,
        transaction_id,
    };
    let answer = state.ask(query).await?;
    Ok(Out::json(StatusCode::OK, &transaction_json(state, answer)))
}

/// Body of `fund` (the reference's `return_url` is accepted and unused:
/// funding moves wallet money at once).
#[derive(Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct FundBody {
    #[serde(rename = "return_url")]
    _return_url: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeliverBody {
    delivery_proof: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DisputeBody {
    reason: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = message_is_comment)]
pub(super) struct RatingBody {
    #[schemars(range(min = 1, max = 5))]
    score: u8,
    #[serde(default, alias = "message")]
    comment: String,
}

fn message_is_comment(schema: &mut schemars::Schema) {
    super::openapi::alias(schema, "comment", "message");
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum Outcome {
    Release,
    Refund,
    Split,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ResolveBody {
    outcome: Outcome,
    seller_amount: Option<Fixed>,
}

/// Which step a `POST /api/v1/transactions/{id}/{step}` takes.
#[derive(Copy, Clone)]
pub enum Step {
    /// Buyer pays into escrow.
    Fund,
    /// Seller delivers.
    Deliver,
    /// Buyer confirms.
    Confirm,
    /// A party disputes.
    Dispute,
    /// The operator resolves.
    Resolve,
    /// A party rates.
    Rate,
    /// A party cancels before funding.
    Cancel,
}

/// `POST /api/v1/transactions/{id}/{step}`: takes the step for `agent`
/// (`None`: the operator) and answers with the transaction.
pub async fn step(
    state: &State,
    call: &Call,
    agent: Option<AgentId>,
    id: &str,
    step: Step,
) -> Result<Out, ApiError> {
    let transaction_id = TransactionId(parse_id(id, "transaction")?);
    let action = match step {
        Step::Fund => {
            call.json_or_default::<FundBody>()?;
            TxAction::Fund
        }
        Step::Deliver => {
            let body: DeliverBody = call.json()?;
            TxAction::Deliver {
                proof: body.delivery_proof,
                message: body.message,
            }
        }
        Step::Confirm => {
            call.json_or_default::<Empty>()?;
            TxAction::Confirm
        }
        Step::Dispute => TxAction::Dispute {
            reason: call.json::<DisputeBody>()?.reason,
        },
        Step::Resolve => {
            let body: ResolveBody = call.json()?;
            TxAction::Resolve(match (body.outcome, body.seller_amount) {
                (Outcome::Release, None) => Resolution::Release,
                (Outcome::Refund, None) => Resolution::Refund,
                (Outcome::Split, Some(a)) => Resolution::Split {
                    seller_amount: Amount(a.0),
                },
                (Outcome::Split, None) => {
                    return Err(ApiError::invalid(
                        "seller_amount",
                        "is required for a split",
                    ))
                }
                (_, Some(_)) => {
                    return Err(ApiError::invalid("seller_amount", "is only for a split"))
                }
            })
        }
        Step::Rate => {
            let body: RatingBody = call.json()?;
            TxAction::Rate {
                score: body.score,
                comment: body.comment,
            }
        }
        Step::Cancel => {
            call.json_or_default::<Empty>()?;
            TxAction::Cancel
        }
    };
    let command = Command::Transact(Box::new(Transact {
        caller: agent,
        transaction_id,
        action,
    }));
    let namespace = agent.unwrap_or(super::OPERATOR);
    let query = Query::Transaction {
        agent,
        transaction_id,
    };
    let (_, answer) = state
        .execute_then_ask(call, namespace, command, query.clone(), |_| query)
        .await?;
    Ok(Out::json(StatusCode::OK, &transaction_json(state, answer)))
}

/// The JSON of a transaction answer.
pub fn transaction_json(state: &State, answer: Answer) -> TransactionJson {
    let Answer::Transaction(t) = answer else {
        unreachable!("a transaction query answers a transaction")
    };
    TransactionJson::new(&t, &state.directory)
}

/// `GET /api/v1/terms`: the platform fee and the transaction deadlines
/// in force.
pub async fn terms(state: &State) -> Result<Out, ApiError> {
    let Answer::Terms(t) = state.ask(Query::Terms).await? else {
        unreachable!("a terms query answers terms")
    };
    let seconds = |ns: i64| ns / 1_000_000_000;
    Ok(Out::json(
        StatusCode::OK,
        &TermsJson {
            fee_bps: t.fee_bps,
            fee_rounding: "down to 0.00000001, on what the seller receives",
            funding_window_seconds: seconds(t.funding_window_ns),
            delivery_window_seconds: seconds(t.delivery_window_ns),
            release_cooldown_seconds: seconds(t.release_cooldown_ns),
        },
    ))
}

/// The platform fee and the deadlines every transaction runs on.
#[derive(Serialize, JsonSchema)]
pub(super) struct TermsJson {
    /// The fee, in hundredths of a percent of the amount.
    fee_bps: u32,
    fee_rounding: &'static str,
    funding_window_seconds: i64,
    delivery_window_seconds: i64,
    release_cooldown_seconds: i64,
}

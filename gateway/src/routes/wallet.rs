//! Wallets: an agent's balances and ledger, and the operator's deposits,
//! withdrawals and money totals.

use agora_engine::cmd::{Deposit, Withdraw};
use agora_engine::units::{Amount, Currency};
use agora_engine::{Ack, Answer, Command, Query};
use agora_persistence::Journal;
use hyper::StatusCode;
use serde::{Deserialize, Serialize};

use super::history::{acknowledged_stored, read_history};
use super::{State, OPERATOR};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::http::{Call, Out};
use crate::money::Fixed;
use crate::text::DecimalText;
use crate::views::{BalanceJson, LedgerJson, Page};
use schemars::JsonSchema;

/// `GET /api/v1/wallet/balance`.
pub async fn balance(state: &State, caller: Caller) -> Result<Out, ApiError> {
    let Answer::Balances(mut list) = state
        .ask(Query::Balances {
            agent: caller.agent,
        })
        .await?
    else {
        unreachable!("a balance query answers balances")
    };
    list.sort_unstable_by_key(|(c, _)| *c);
    let items: Vec<BalanceJson> = list.iter().map(|(c, b)| BalanceJson::new(*c, b)).collect();
    Ok(Out::json(StatusCode::OK, &Balances { balances: items }))
}

/// Every wallet of an agent.
#[derive(Serialize, JsonSchema)]
pub(super) struct Balances {
    balances: Vec<BalanceJson>,
}

/// `GET /api/v1/wallet/ledger?limit=&cursor=`: every movement of the
/// caller's money, oldest first, from the durable ledger beside the
/// journal.
pub async fn ledger(state: &State, call: &Call, caller: Caller) -> Result<Out, ApiError> {
    let limit = call.limit()?;
    let after = call
        .param("cursor")
        .map(|c| {
            let (seq, index) = c.split_once('.').unwrap_or((c, ""));
            u64::from_str_radix(seq, 16)
                .ok()
                .zip(u32::from_str_radix(index, 16).ok())
                .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this server gave"))
        })
        .transpose()?;
    let agent = caller.agent;
    acknowledged_stored(state).await?;
    // One more than asked, to know whether another page follows.
    let mut entries = read_history(state, move |h| h.ledger(agent, after, limit + 1)).await?;
    let next_cursor = (entries.len() > limit).then(|| {
        entries.truncate(limit);
        let (seq, index) = entries.last().expect("a full page").position();
        format!("{seq:x}.{index:x}")
    });
    let items: Vec<LedgerJson> = entries.iter().map(LedgerJson::from).collect();
    Ok(Out::json(StatusCode::OK, &Page { items, next_cursor }))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct FundsBody {
    agent_id: String,
    currency: String,
    amount: Fixed,
}

/// Parses a currency code.
pub fn currency(field: &str, code: &str) -> Result<Currency, ApiError> {
    Currency::new(code).map_err(|e| ApiError::invalid(field, e))
}

/// `POST /api/v1/operator/deposits` and `/withdrawals`: money in from, or
/// out to, the outside world.
pub async fn move_funds(state: &State, call: &Call, deposit: bool) -> Result<Out, ApiError> {
    let body: FundsBody = call.json()?;
    let currency = currency("currency", &body.currency)?;
    let uuid = uuid::Uuid::parse_str(&body.agent_id).map_err(|_| ApiError::not_found("agent"))?;
    let Answer::Agent(record) = state
        .ask(Query::AgentByUuid {
            uuid: uuid.as_u128(),
        })
        .await?
    else {
        unreachable!("an agent query answers an agent")
    };
    let amount = Amount(body.amount.0);
    let command = if deposit {
        Command::Deposit(Deposit {
            agent: record.id,
            currency,
            amount,
        })
    } else {
        Command::Withdraw(Withdraw {
            agent: record.id,
            currency,
            amount,
        })
    };
    let (ack, _) = state.execute(call, OPERATOR, command).await?;
    let Ack::FundsMoved { available } = ack else {
        unreachable!("moving funds acknowledges the balance")
    };
    Ok(Out::json(
        StatusCode::CREATED,
        &FundsMoved {
            agent_id: body.agent_id,
            currency: currency.to_string(),
            amount: DecimalText(amount.0),
            kind: if deposit { "deposit" } else { "withdrawal" },
            available: DecimalText(available.0),
        },
    ))
}

/// A deposit or withdrawal, and the agent's available funds after it.
#[derive(Serialize, JsonSchema)]
pub(super) struct FundsMoved {
    agent_id: String,
    currency: String,
    amount: DecimalText,
    /// `deposit` or `withdrawal`.
    kind: &'static str,
    available: DecimalText,
}

/// `GET /api/v1/operator/totals`: per currency, deposits net of
/// withdrawals and where that money is (available, held, in escrow,
/// collected as platform fees). The parts always add up to the whole.
pub async fn money_totals(state: &State) -> Result<Out, ApiError> {
    let Answer::MoneyTotals(totals) = state.ask(Query::MoneyTotals).await? else {
        unreachable!("a totals query answers totals")
    };
    let items: Vec<_> = totals
        .iter()
        .map(|t| TotalJson {
            currency: t.currency.to_string(),
            deposited_net: DecimalText(t.deposited_net.0),
            available: DecimalText(t.available.0),
            held: DecimalText(t.held.0),
            escrowed: DecimalText(t.escrowed.0),
            platform: DecimalText(t.platform.0),
        })
        .collect();
    Ok(Out::json(StatusCode::OK, &Page::whole(items)))
}

/// One currency's money: the net deposits and where they are.
#[derive(Serialize, JsonSchema)]
pub(super) struct TotalJson {
    currency: String,
    deposited_net: DecimalText,
    available: DecimalText,
    held: DecimalText,
    escrowed: DecimalText,
    platform: DecimalText,
}

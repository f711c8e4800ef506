//! Routing: each request is matched to a route template, authenticated
//! as the route requires (anyone, an agent's key, or the operator key),
//! rate-limited, and handed to its handler. Commands go through
//! [`State::execute`], which applies `Idempotency-Key`.

mod agents;
mod auctions;
mod listings;
mod orderbook;
mod requests;
mod system;
mod transactions;
mod wallet;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use agora_engine::agents::KeyHash;
use agora_engine::cmd::Idempotent;
use agora_engine::idempotency::{IdempotencyKey, RequestHash};
use agora_engine::units::{AgentId, Amount, Currency};
use agora_engine::{Ack, Answer, Command, Event, Query, Reject};
use agora_persistence::RocksJournal;
use hyper::{Method, StatusCode};

use crate::auth::{hash_key, presented_key, same_secret, Caller, Directory};
use crate::engine_link::EngineLink;
use crate::error::ApiError;
use crate::http::{Call, Out};
use crate::limits::{Allowance, Limiter};
use crate::metrics::Metrics;

pub use system::Health;

/// Everything a handler may use.
pub struct State {
    /// The engine.
    pub link: EngineLink,
    /// Key hash → agent.
    pub directory: Directory,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Per-key request limits.
    pub key_limits: Limiter<AgentId>,
    /// Per-address registration limits.
    pub register_limits: Limiter<IpAddr>,
    /// Hash of the operator key.
    pub operator_key: KeyHash,
    /// Credits for new agents.
    pub signup_credits: Option<(Currency, Amount)>,
    /// Readiness checks.
    pub health: Health,
    /// A read handle on the journal's store, for wallet ledgers.
    pub ledger: Arc<RocksJournal>,
}

/// Who may call a route.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Access {
    Anyone,
    Agent,
    Operator,
}

/// The idempotency namespace of operator commands.
const OPERATOR: AgentId = AgentId(0);

/// Every route: its template (the metrics label), who may call it, and
/// its handler.
#[derive(Copy, Clone)]
enum Handler {
    Health,
    LlmsTxt,
    Readiness,
    Metrics,
    Register,
    Me,
    UpdateMe,
    ListKeys,
    CreateKey,
    RotateKey,
    RevokeKey,
    PublicAgent,
    Balance,
    Ledger,
    Deposit,
    Withdraw,
    RegisterAsset,
    MoneyTotals,
    PlaceOrder,
    PlaceBatch,
    ListOrders,
    CancelAll,
    GetOrder,
    AmendOrder,
    CancelOrder,
    Book,
    Trades,
    OwnershipToken,
    Claim,
    Verify,
    Reputation,
    Trust,
    Terms,
    ListTransactions,
    GetTransaction,
    TransactionStep(transactions::Step),
    Resolve,
    CreateRequest,
    ListRequests,
    GetRequest,
    ManageRequest,
    MakeOffer,
    ListOffers,
    GetOffer,
    DecideOffer(requests::Decision),
    CreateListing,
    ListListings,
    GetListing,
    UpdateListing,
    WithdrawListing,
    Purchase,
    CreateAuction,
    ListAuctions,
    GetAuction,
    AuctionMove(auctions::Move),
}

/// Finds the route of `method` and `path` segments: `Err(true)` if the
/// path exists with other methods, `Err(false)` if it does not exist.
fn route(method: &Method, segs: &[&str]) -> Result<(&'static str, Access, Handler), bool> {
    find(method.as_str(), segs).ok_or_else(|| {
        ["GET", "POST", "PATCH", "DELETE"]
            .iter()
            .any(|m| find(m, segs).is_some())
    })
}

/// The route of `m` and `segs`, if there is one.
fn find(m: &str, segs: &[&str]) -> Option<(&'static str, Access, Handler)> {
    use Access::*;
    use Handler as H;
    let found = match (segs, m) {
        (["health"], "GET") => ("GET /health", Anyone, H::Health),
        (["readiness"], "GET") => ("GET /readiness", Anyone, H::Readiness),
        (["llms.txt"], "GET") => ("GET /llms.txt", Anyone, H::LlmsTxt),
        (["metrics"], "GET") => ("GET /metrics", Anyone, H::Metrics),
        (["api", "v1", rest @ ..], _) => match (rest, m) {
            (["agents", "register"], "POST") => {
                ("POST /api/v1/agents/register", Anyone, H::Register)
            }
            (["agents", "me"], "GET") => ("GET /api/v1/agents/me", Agent, H::Me),
            (["agents", "me"], "PATCH") => ("PATCH /api/v1/agents/me", Agent, H::UpdateMe),
            (["agents", "me", "keys"], "GET") => ("GET /api/v1/agents/me/keys", Agent, H::ListKeys),
            (["agents", "me", "keys"], "POST") => {
                ("POST /api/v1/agents/me/keys", Agent, H::CreateKey)
            }
            (["agents", "me", "keys", "rotate"], "POST") => {
                ("POST /api/v1/agents/me/keys/rotate", Agent, H::RotateKey)
            }
            (["agents", "me", "keys", _], "DELETE") => (
                "DELETE /api/v1/agents/me/keys/{key_id}",
                Agent,
                H::RevokeKey,
            ),
            (["agents", "me", "ownership-token"], "POST") => (
                "POST /api/v1/agents/me/ownership-token",
                Agent,
                H::OwnershipToken,
            ),
            (["agents", "claim"], "POST") => ("POST /api/v1/agents/claim", Anyone, H::Claim),
            (["agents", _], "GET") => ("GET /api/v1/agents/{id}", Anyone, H::PublicAgent),
            (["agents", _, "reputation"], "GET") => {
                ("GET /api/v1/agents/{id}/reputation", Anyone, H::Reputation)
            }
            (["agents", _, "trust"], "GET") => ("GET /api/v1/agents/{id}/trust", Anyone, H::Trust),
            (["operator", "agents", _, "verify"], "POST") => (
                "POST /api/v1/operator/agents/{id}/verify",
                Operator,
                H::Verify,
            ),
            (["terms"], "GET") => ("GET /api/v1/terms", Anyone, H::Terms),
            (["transactions"], "GET") => ("GET /api/v1/transactions", Agent, H::ListTransactions),
            (["transactions", _], "GET") => {
                ("GET /api/v1/transactions/{id}", Agent, H::GetTransaction)
            }
            (["transactions", _, "resolve"], "POST") => (
                "POST /api/v1/transactions/{id}/resolve",
                Operator,
                H::Resolve,
            ),
            (["transactions", _, step], "POST") => {
                use transactions::Step;
                let (label, step) = match *step {
                    "fund" => ("POST /api/v1/transactions/{id}/fund", Step::Fund),
                    "deliver" => ("POST /api/v1/transactions/{id}/deliver", Step::Deliver),
                    "confirm" => ("POST /api/v1/transactions/{id}/confirm", Step::Confirm),
                    "dispute" => ("POST /api/v1/transactions/{id}/dispute", Step::Dispute),
                    "rating" => ("POST /api/v1/transactions/{id}/rating", Step::Rate),
                    "cancel" => ("POST /api/v1/transactions/{id}/cancel", Step::Cancel),
                    _ => return None,
                };
                (label, Agent, H::TransactionStep(step))
            }
            (["requests"], "POST") => ("POST /api/v1/requests", Agent, H::CreateRequest),
            (["requests"], "GET") => ("GET /api/v1/requests", Anyone, H::ListRequests),
            (["requests", _], "GET") => ("GET /api/v1/requests/{id}", Anyone, H::GetRequest),
            (["requests", _], "PATCH") => ("PATCH /api/v1/requests/{id}", Agent, H::ManageRequest),
            (["requests", _, "offers"], "POST") => {
                ("POST /api/v1/requests/{id}/offers", Agent, H::MakeOffer)
            }
            (["requests", _, "offers"], "GET") => {
                ("GET /api/v1/requests/{id}/offers", Agent, H::ListOffers)
            }
            (["offers", _], "GET") => ("GET /api/v1/offers/{id}", Agent, H::GetOffer),
            (["offers", _, decision], "POST") => {
                use requests::Decision;
                let (label, decision) = match *decision {
                    "accept" => ("POST /api/v1/offers/{id}/accept", Decision::Accept),
                    "reject" => ("POST /api/v1/offers/{id}/reject", Decision::Reject),
                    "withdraw" => ("POST /api/v1/offers/{id}/withdraw", Decision::Withdraw),
                    _ => return None,
                };
                (label, Agent, H::DecideOffer(decision))
            }
            (["listings"], "POST") => ("POST /api/v1/listings", Agent, H::CreateListing),
            (["listings"], "GET") => ("GET /api/v1/listings", Anyone, H::ListListings),
            (["listings", _], "GET") => ("GET /api/v1/listings/{id}", Anyone, H::GetListing),
            (["listings", _], "PATCH") => ("PATCH /api/v1/listings/{id}", Agent, H::UpdateListing),
            (["listings", _], "DELETE") => {
                ("DELETE /api/v1/listings/{id}", Agent, H::WithdrawListing)
            }
            (["auctions"], "POST") => ("POST /api/v1/auctions", Agent, H::CreateAuction),
            (["auctions"], "GET") => ("GET /api/v1/auctions", Anyone, H::ListAuctions),
            (["auctions", _], "GET") => ("GET /api/v1/auctions/{id}", Anyone, H::GetAuction),
            (["auctions", _, action], "POST") => {
                use auctions::Move;
                let (label, action) = match *action {
                    "bid" => ("POST /api/v1/auctions/{id}/bid", Move::Bid),
                    "accept" => ("POST /api/v1/auctions/{id}/accept", Move::Accept),
                    "cancel" => ("POST /api/v1/auctions/{id}/cancel", Move::Cancel),
                    _ => return None,
                };
                (label, Agent, H::AuctionMove(action))
            }
            (["listings", _, "purchase"], "POST") => {
                ("POST /api/v1/listings/{id}/purchase", Agent, H::Purchase)
            }
            (["wallet", "balance"], "GET") => ("GET /api/v1/wallet/balance", Agent, H::Balance),
            (["wallet", "ledger"], "GET") => ("GET /api/v1/wallet/ledger", Agent, H::Ledger),
            (["operator", "deposits"], "POST") => {
                ("POST /api/v1/operator/deposits", Operator, H::Deposit)
            }
            (["operator", "withdrawals"], "POST") => {
                ("POST /api/v1/operator/withdrawals", Operator, H::Withdraw)
            }
            (["operator", "assets"], "POST") => {
                ("POST /api/v1/operator/assets", Operator, H::RegisterAsset)
            }
            (["operator", "totals"], "GET") => {
                ("GET /api/v1/operator/totals", Operator, H::MoneyTotals)
            }
            (["orderbook", "orders"], "POST") => {
                ("POST /api/v1/orderbook/orders", Agent, H::PlaceOrder)
            }
            (["orderbook", "orders"], "GET") => {
                ("GET /api/v1/orderbook/orders", Agent, H::ListOrders)
            }
            (["orderbook", "orders"], "DELETE") => {
                ("DELETE /api/v1/orderbook/orders", Agent, H::CancelAll)
            }
            (["orderbook", "orders", "batch"], "POST") => {
                ("POST /api/v1/orderbook/orders/batch", Agent, H::PlaceBatch)
            }
            (["orderbook", "orders", _], "GET") => {
                ("GET /api/v1/orderbook/orders/{id}", Agent, H::GetOrder)
            }
            (["orderbook", "orders", _], "PATCH") => {
                ("PATCH /api/v1/orderbook/orders/{id}", Agent, H::AmendOrder)
            }
            (["orderbook", "orders", _], "DELETE") => (
                "DELETE /api/v1/orderbook/orders/{id}",
                Agent,
                H::CancelOrder,
            ),
            (["orderbook", asset], "GET") if *asset != "orders" => {
                ("GET /api/v1/orderbook/{asset}", Anyone, H::Book)
            }
            (["orderbook", _, "trades"], "GET") => {
                ("GET /api/v1/orderbook/{asset}/trades", Anyone, H::Trades)
            }
            _ => return None,
        },
        _ => return None,
    };
    Some(found)
}

/// Who is calling, as the route required.
pub enum Who {
    /// No credentials needed.
    Anyone,
    /// An agent, by its key.
    Agent(Caller),
    /// The operator.
    Operator,
}

impl Who {
    /// The calling agent (routes that require one always have one).
    fn caller(&self) -> Caller {
        match self {
            Who::Agent(c) => *c,
            _ => unreachable!("an agent route without an agent"),
        }
    }
}

/// Answers one request.
pub async fn handle(state: &State, call: Call) -> Out {
    let started = Instant::now();
    let segs: Vec<&str> = call.path.trim_matches('/').split('/').collect();
    let mut allowance = None;
    let (label, result) = match route(&call.method, &segs) {
        Ok((label, access, handler)) => {
            let result = match state.admit(&call, access, &mut allowance) {
                Ok(who) => run(state, &call, &segs, handler, who).await,
                Err(e) => Err(e),
            };
            (label, result)
        }
        Err(true) => (
            "method_not_allowed",
            Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!(
                    "{} is not served for this path; see /openapi.json.",
                    call.method
                ),
            )),
        ),
        Err(false) => (
            "not_found",
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "No such endpoint; the API lives under /api/v1 (see README).",
            )),
        ),
    };
    let mut out = match result {
        Ok(out) => out,
        Err(e) => Out::error(&e),
    };
    if let Some(a) = allowance {
        out.headers.extend(a.headers());
    }
    state
        .metrics
        .observe_request(label, out.status.as_u16(), started.elapsed());
    out
}

async fn run(
    state: &State,
    call: &Call,
    segs: &[&str],
    handler: Handler,
    who: Who,
) -> Result<Out, ApiError> {
    use Handler as H;
    match handler {
        H::Health => Ok(system::health()),
        H::LlmsTxt => Ok(system::llms_txt()),
        H::Readiness => system::readiness(state).await,
        H::Metrics => Ok(system::metrics(state)),
        H::Register => agents::register(state, call).await,
        H::Me => agents::me(state, who.caller()).await,
        H::UpdateMe => agents::update_me(state, call, who.caller()).await,
        H::ListKeys => agents::list_keys(state, who.caller()).await,
        H::CreateKey => agents::create_key(state, call, who.caller()).await,
        H::RotateKey => agents::rotate_key(state, call, who.caller()).await,
        H::RevokeKey => agents::revoke_key(state, call, who.caller(), segs[5]).await,
        H::PublicAgent => agents::public(state, segs[3]).await,
        H::Balance => wallet::balance(state, who.caller()).await,
        H::Ledger => wallet::ledger(state, call, who.caller()).await,
        H::Deposit => wallet::move_funds(state, call, true).await,
        H::Withdraw => wallet::move_funds(state, call, false).await,
        H::RegisterAsset => wallet::register_asset(state, call).await,
        H::MoneyTotals => wallet::money_totals(state).await,
        H::PlaceOrder => orderbook::place(state, call, who.caller()).await,
        H::PlaceBatch => orderbook::batch(state, call, who.caller()).await,
        H::ListOrders => orderbook::list(state, call, who.caller()).await,
        H::CancelAll => orderbook::cancel_all(state, call, who.caller()).await,
        H::GetOrder => orderbook::get(state, call, who.caller(), segs[4]).await,
        H::AmendOrder => orderbook::amend(state, call, who.caller(), segs[4]).await,
        H::CancelOrder => orderbook::cancel(state, call, who.caller(), segs[4]).await,
        H::Book => orderbook::book(state, call, segs[3]).await,
        H::Trades => orderbook::trades(state, call, segs[3]).await,
        H::OwnershipToken => agents::ownership_token(state, call, who.caller()).await,
        H::Claim => agents::claim(state, call).await,
        H::Verify => agents::verify(state, call, segs[4]).await,
        H::Reputation => agents::reputation(state, segs[3], false).await,
        H::Trust => agents::reputation(state, segs[3], true).await,
        H::Terms => transactions::terms(state).await,
        H::ListTransactions => transactions::list(state, call, who.caller().agent).await,
        H::GetTransaction => transactions::get(state, who.caller().agent, segs[3]).await,
        H::TransactionStep(step) => {
            transactions::step(state, call, Some(who.caller().agent), segs[3], step).await
        }
        H::Resolve => {
            transactions::step(state, call, None, segs[3], transactions::Step::Resolve).await
        }
        H::CreateRequest => requests::create(state, call, who.caller().agent).await,
        H::ListRequests => requests::list(state, call).await,
        H::GetRequest => requests::get(state, segs[3]).await,
        H::ManageRequest => requests::manage(state, call, who.caller().agent, segs[3]).await,
        H::MakeOffer => requests::make_offer(state, call, who.caller().agent, segs[3]).await,
        H::ListOffers => requests::offers(state, who.caller().agent, segs[3]).await,
        H::GetOffer => requests::get_offer(state, who.caller().agent, segs[3]).await,
        H::DecideOffer(d) => requests::decide(state, call, who.caller().agent, segs[3], d).await,
        H::CreateListing => listings::create(state, call, who.caller().agent).await,
        H::ListListings => listings::list(state, call).await,
        H::GetListing => listings::get(state, segs[3]).await,
        H::UpdateListing => listings::update(state, call, who.caller().agent, segs[3]).await,
        H::WithdrawListing => listings::withdraw(state, call, who.caller().agent, segs[3]).await,
        H::CreateAuction => auctions::create(state, call, who.caller().agent).await,
        H::ListAuctions => auctions::list(state, call).await,
        H::GetAuction => auctions::get(state, call, segs[3]).await,
        H::AuctionMove(m) => auctions::act(state, call, who.caller().agent, segs[3], m).await,
        H::Purchase => listings::purchase(state, call, who.caller().agent, segs[3]).await,
    }
}

impl State {
    /// Checks the credentials `access` requires, and the caller's rate.
    fn admit(
        &self,
        call: &Call,
        access: Access,
        allowance: &mut Option<Allowance>,
    ) -> Result<Who, ApiError> {
        match access {
            Access::Anyone => Ok(Who::Anyone),
            Access::Operator => {
                let key = presented_key(&call.headers).ok_or_else(ApiError::unauthorized)?;
                if same_secret(&hash_key(key), &self.operator_key) {
                    Ok(Who::Operator)
                } else {
                    Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        "This endpoint needs the operator key.",
                    ))
                }
            }
            Access::Agent => {
                let caller = self.directory.authenticate(&call.headers)?;
                match self.key_limits.check(&caller.agent) {
                    Ok(a) => *allowance = Some(a),
                    Err((e, a)) => {
                        *allowance = Some(a);
                        return Err(e);
                    }
                }
                Ok(Who::Agent(caller))
            }
        }
    }

    /// Asks the engine; a rejection becomes its error answer.
    pub async fn ask(&self, query: Query) -> Result<Answer, ApiError> {
        Ok(self.link.query(query).await??)
    }

    /// Runs `command` for `agent`, at most once per `Idempotency-Key`: a
    /// retry of the same request gets the first result, a reuse of the key
    /// for another request gets `422`.
    pub async fn execute(
        &self,
        call: &Call,
        agent: AgentId,
        command: Command,
    ) -> Result<(Ack, Vec<Event>), ApiError> {
        let mut results = self.execute_many(call, agent, vec![command]).await?;
        results.pop().expect("one result per command")
    }

    /// Runs `command` for `agent` like [`State::execute`], and answers
    /// `query` as the state was right after it, in one hand-off with the
    /// engine. A retry under the same `Idempotency-Key` answers
    /// `on_replay(first acknowledgement)` instead, as the state is now.
    pub async fn execute_then_ask(
        &self,
        call: &Call,
        agent: AgentId,
        command: Command,
        query: Query,
        on_replay: impl FnOnce(&Ack) -> Query,
    ) -> Result<(Ack, Answer), ApiError> {
        let key = idempotency_key(call)?;
        let command = match key {
            Some(key) => self.idempotent(call, agent, key, command),
            None => command,
        };
        let ((reply, _), answer) = self.link.run_then_query(command, query).await?;
        match (reply, key) {
            (Ok(Ack::Replayed), Some(key)) => {
                let ack = self.kept(agent, key).await?.0?;
                let answer = self.ask(on_replay(&ack)).await?;
                Ok((ack, answer))
            }
            (reply, _) => Ok((reply?, answer?)),
        }
    }

    /// Runs `commands` in order in one hand-off, each with its own result;
    /// with an `Idempotency-Key`, command `i` uses the key `<key>#<i>`.
    pub async fn execute_many(
        &self,
        call: &Call,
        agent: AgentId,
        commands: Vec<Command>,
    ) -> Result<Vec<Result<(Ack, Vec<Event>), ApiError>>, ApiError> {
        let Some(key) = idempotency_key(call)? else {
            let replies = self.link.run_many(commands).await?;
            return Ok(replies
                .into_iter()
                .map(|(reply, events)| reply.map(|ack| (ack, events)).map_err(ApiError::from))
                .collect());
        };
        let single = commands.len() == 1;
        let keys: Vec<IdempotencyKey> = (0..commands.len())
            .map(|i| {
                if single {
                    Ok(key)
                } else {
                    IdempotencyKey::new(&format!("{key}#{i}"))
                        .map_err(|e| ApiError::invalid("Idempotency-Key", e))
                }
            })
            .collect::<Result<_, _>>()?;
        let wrapped = commands
            .into_iter()
            .zip(&keys)
            .map(|(command, key)| self.idempotent(call, agent, *key, command))
            .collect();
        let replies = self.link.run_many(wrapped).await?;
        if replies
            .iter()
            .any(|(r, _)| *r == Err(Reject::IdempotencyKeyReused))
        {
            return Err(ApiError::from(Reject::IdempotencyKeyReused));
        }
        let mut out = Vec::with_capacity(replies.len());
        for ((reply, events), key) in replies.into_iter().zip(keys) {
            let (reply, events) = if reply == Ok(Ack::Replayed) {
                self.kept(agent, key).await?
            } else {
                (reply, events)
            };
            out.push(reply.map(|ack| (ack, events)).map_err(ApiError::from));
        }
        Ok(out)
    }

    /// `command` to run at most once under `key` for this request.
    fn idempotent(
        &self,
        call: &Call,
        agent: AgentId,
        key: IdempotencyKey,
        command: Command,
    ) -> Command {
        Command::Idempotent(Box::new(Idempotent {
            agent,
            key,
            request_hash: request_hash(call),
            command,
        }))
    }

    /// The first result kept under `key`.
    async fn kept(
        &self,
        agent: AgentId,
        key: IdempotencyKey,
    ) -> Result<(agora_engine::Reply, Vec<Event>), ApiError> {
        match self.ask(Query::IdempotentResult { agent, key }).await? {
            Answer::IdempotentResult(first) => Ok((first.reply, first.events)),
            _ => unreachable!("an idempotent result answers its query"),
        }
    }
}

/// The engine page a request's `?limit=&cursor=` asks for: newest first,
/// below the cursor (the last id of the previous page).
fn newest_page(call: &Call) -> Result<agora_engine::deal_queries::Page, ApiError> {
    let page = call.page()?;
    Ok(agora_engine::deal_queries::Page {
        before: page.after,
        limit: page.limit as u32,
    })
}

/// `200` with a page of `items` as JSON; when `more` follow, the cursor
/// is the last item's id.
fn page_out<T, J: serde::Serialize>(
    items: &[T],
    more: bool,
    id: impl Fn(&T) -> u64,
    json: impl Fn(&T) -> J,
) -> Out {
    let next_cursor = more
        .then(|| items.last().map(|i| format!("{:x}", id(i))))
        .flatten();
    let items: Vec<J> = items.iter().map(json).collect();
    Out::json(StatusCode::OK, &crate::views::Page { items, next_cursor })
}

/// A numeric id from the path; anything else names nothing (`404`).
fn parse_id(text: &str, what: &str) -> Result<u64, ApiError> {
    text.parse::<u64>().map_err(|_| ApiError::not_found(what))
}

/// The request's `Idempotency-Key`, if any (1–56 printable characters).
fn idempotency_key(call: &Call) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = call.headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be printable ASCII"))?;
    if text.len() > 56 {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "must be at most 56 characters",
        ));
    }
    IdempotencyKey::new(text)
        .map(Some)
        .map_err(|e| ApiError::invalid("Idempotency-Key", e))
}

/// What makes two requests the same: route and body.
fn request_hash(call: &Call) -> RequestHash {
    let mut h = blake3::Hasher::new();
    h.update(call.method.as_str().as_bytes());
    h.update(b" ");
    h.update(call.path.as_bytes());
    h.update(b"\n");
    h.update(&call.body);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    out
}

//! What agents and directories read to find the service and learn it:
//! the index at `/` and `/api/v1` (where everything else is),
//! `/llms.txt` (the API in brief), `/skill.md` (an agent skill: how to
//! trade here, step by step) and the A2A agent card at
//! `/.well-known/agent-card.json`. All but `/llms.txt` name the address
//! clients reach the server at.

use hyper::header::{HeaderValue, HOST, VARY};
use hyper::http::uri::Authority;
use hyper::StatusCode;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{json, Value};

use super::State;
use crate::http::{Call, Out};

/// What an agent reads first: the API in brief.
pub fn llms_txt() -> Out {
    Out::text(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        include_str!("../../static/llms.txt"),
    )
}

/// What the service is and where to read about it.
#[derive(Serialize, JsonSchema)]
pub(super) struct Index {
    name: &'static str,
    version: &'static str,
    description: &'static str,
    /// The API's base URL.
    api: String,
    /// Where to start: `POST` here for an API key.
    register: String,
    documents: Documents,
}

/// The documents that describe the service.
#[derive(Serialize, JsonSchema)]
struct Documents {
    /// The API in brief, for agents.
    llms_txt: String,
    /// An agent skill: how to trade here, step by step.
    skill: String,
    /// Every route and schema.
    openapi: String,
    /// The A2A agent card.
    agent_card: String,
}

/// `GET /` and `GET /api/v1`: what the service is, and the addresses of
/// its API and documents.
pub fn index(state: &State, call: &Call) -> Out {
    let base = Base::of(state, call);
    let url = &base.url;
    let index = Index {
        name: "Agora",
        version: env!("CARGO_PKG_VERSION"),
        description: "A marketplace and matching engine for AI agents.",
        api: format!("{url}/api/v1"),
        register: format!("{url}/api/v1/agents/register"),
        documents: Documents {
            llms_txt: format!("{url}/llms.txt"),
            skill: format!("{url}/skill.md"),
            openapi: format!("{url}/openapi.json"),
            agent_card: format!("{url}/.well-known/agent-card.json"),
        },
    };
    base.vary(Out::json(StatusCode::OK, &index))
}

/// The skill file, with `{{base}}` where the server's address goes.
const SKILL: &str = include_str!("../../static/skill.md");

/// `GET /skill.md`: how an agent trades here, as an agent skill.
pub fn skill_md(state: &State, call: &Call) -> Out {
    let base = Base::of(state, call);
    let text = SKILL.replace("{{base}}", &base.url);
    base.vary(Out::text(
        StatusCode::OK,
        "text/markdown; charset=utf-8",
        text,
    ))
}

/// `GET /.well-known/agent-card.json`: the A2A agent card (protocol
/// 0.3), for directories and agents that discover services by it. Agora
/// speaks its own REST API rather than A2A messages, which the card's
/// description says, pointing to the documents that describe it.
pub fn agent_card(state: &State, call: &Call) -> Out {
    let base = Base::of(state, call);
    base.vary(Out::json(StatusCode::OK, &card(&base.url)))
}

/// The address clients reach the server at, and whether it was read from
/// the request (so that caches must key on the host).
struct Base {
    url: String,
    from_request: bool,
}

impl Base {
    /// `--public-url`; else the host the request named; else the address
    /// the server listens on.
    fn of(state: &State, call: &Call) -> Base {
        if let Some(url) = &state.public_url {
            return Base {
                url: url.clone(),
                from_request: false,
            };
        }
        let host = call
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<Authority>().ok())
            // A host with credentials in it is no address to hand out.
            .filter(|a| !a.as_str().contains('@'));
        match host {
            Some(host) => Base {
                url: format!("http://{host}"),
                from_request: true,
            },
            None => Base {
                url: format!("http://{}", state.listen),
                from_request: false,
            },
        }
    }

    /// `out`, telling caches that it depends on the request's host when
    /// it does.
    fn vary(&self, mut out: Out) -> Out {
        if self.from_request {
            out.headers.push((VARY, HeaderValue::from_static("Host")));
        }
        out
    }
}

/// One skill of the agent card: what an agent can do here.
fn skill(id: &str, name: &str, description: &str, tags: &[&str], examples: &[&str]) -> Value {
    json!({
        "id": id,
        "name": name,
        "description": description,
        "tags": tags,
        "examples": examples,
        "inputModes": ["application/json"],
        "outputModes": ["application/json"],
    })
}

/// The agent card of the server at `base`.
fn card(base: &str) -> Value {
    json!({
        "protocolVersion": "0.3.0",
        "name": "Agora",
        "description": format!(
            "A marketplace and matching engine for AI agents: register for an API key and a \
             wallet, then buy and sell work, data and goods (requests and offers, listings, \
             auctions), trade assets on a limit order book, and settle every deal through \
             escrow. The interface is a JSON REST API under {base}/api/v1, described at \
             {base}/openapi.json and, step by step, at {base}/skill.md."
        ),
        "url": format!("{base}/api/v1"),
        "preferredTransport": "HTTP+JSON",
        "version": env!("CARGO_PKG_VERSION"),
        "documentationUrl": format!("{base}/llms.txt"),
        "capabilities": {
            "streaming": false,
            "pushNotifications": false,
            "stateTransitionHistory": true,
        },
        "securitySchemes": {
            "apiKey": {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "The key POST /api/v1/agents/register answers, once.",
            },
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "The same key as a bearer token.",
            },
        },
        "security": [{"apiKey": []}, {"bearer": []}],
        "defaultInputModes": ["application/json"],
        "defaultOutputModes": ["application/json"],
        "skills": [
            skill(
                "register",
                "Join the marketplace",
                "Register an agent: an API key (shown once) and a wallet with signup credits.",
                &["onboarding", "wallet"],
                &["Register me as a translation agent"],
            ),
            skill(
                "requests-and-offers",
                "Buy work through requests and offers",
                "Post what you need with a budget, compare the offers agents make, accept one.",
                &["procurement", "requests", "offers"],
                &["Find someone to translate 2,000 words for at most 40 credits"],
            ),
            skill(
                "listings",
                "Sell and buy listed goods",
                "List data, goods or services at a fixed price and quantity; buy what others list.",
                &["listings", "catalogue"],
                &["Sell ten copies of my cleaned weather dataset at 12 credits each"],
            ),
            skill(
                "order-book",
                "Trade assets on a limit order book",
                "Limit and market orders (gtc, ioc, fok, post-only) in price-time priority; \
                 depth, trades and each asset's tick and lot sizes.",
                &["trading", "order-book", "market-data"],
                &["Buy 2 GPU-HOUR at 1.25 or better"],
            ),
            skill(
                "auctions",
                "Run and bid in auctions",
                "English, Dutch and sealed-bid (first or second price) auctions; bids hold funds.",
                &["auctions", "bidding"],
                &["Bid 20 credits in the auction for the compute slot"],
            ),
            skill(
                "escrow",
                "Settle deals through escrow",
                "Every deal is a transaction: fund it, deliver with proof, confirm or dispute, \
                 then rate the other side.",
                &["escrow", "payments", "disputes"],
                &["Confirm the delivery of my translation and pay the seller"],
            ),
            skill(
                "reputation",
                "Check who you trade with",
                "An agent's completed and disputed deals, ratings and trust score.",
                &["reputation", "trust"],
                &["How trustworthy is the agent offering to do my job?"],
            ),
        ],
    })
}

//! Commands: the only way to change the engine's state. One file per
//! command; each validates and applies itself against the [`Market`].
//!
//! Every command carries what is non-deterministic about it (the time in
//! [`Input`], new ids inside the command), so replaying the same inputs
//! rebuilds the same state.

pub mod amend_order;
pub mod auction;
pub mod cancel_all;
pub mod cancel_order;
pub mod change_api_keys;
pub mod deposit;
pub mod idempotent;
pub mod listing;
pub mod ownership;
pub mod place_order;
pub mod register_agent;
pub mod register_asset;
pub mod request;
mod set_terms;
pub(crate) mod tick;
pub mod transact;
pub mod update_agent;
pub mod withdraw;

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::market::Market;
use crate::reply::Reply;
use crate::units::{ClientOrderId, OrderId, Timestamp};

pub use amend_order::AmendOrder;
pub use auction::{AuctionAction, AuctionOp};
pub use cancel_all::{CancelAll, CancelAllAfter};
pub use cancel_order::CancelOrder;
pub use change_api_keys::{ChangeApiKeys, KeyChange};
pub use deposit::Deposit;
pub use idempotent::Idempotent;
pub use listing::{ListingAction, ListingOp};
pub use ownership::OwnershipAction;
pub use place_order::PlaceOrder;
pub use register_agent::RegisterAgent;
pub use register_asset::RegisterAsset;
pub use request::{RequestAction, RequestOp};
pub use transact::Transact;
pub use update_agent::UpdateAgent;
pub use withdraw::Withdraw;

/// A state-changing command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Register an asset with its own tick and lot sizes (operator).
    RegisterAsset(RegisterAsset),
    /// Credit an agent's wallet from outside (operator / payment provider).
    Deposit(Deposit),
    /// Debit an agent's available funds to outside (operator).
    Withdraw(Withdraw),
    /// Place a limit or market order.
    PlaceOrder(PlaceOrder),
    /// Cancel one open order.
    CancelOrder(CancelOrder),
    /// Change an open order's price or quantity.
    AmendOrder(AmendOrder),
    /// Cancel all of an agent's open orders, optionally in one asset.
    CancelAll(CancelAll),
    /// Register an agent with its first API key. (Boxed, like every rare
    /// and large command, so that `Command` stays as small as an order.)
    RegisterAgent(Box<RegisterAgent>),
    /// Change an agent's profile.
    UpdateAgent(Box<UpdateAgent>),
    /// Add, revoke or rotate an agent's API keys.
    ChangeApiKeys(ChangeApiKeys),
    /// Run a command at most once per idempotency key.
    Idempotent(Box<Idempotent>),
    /// Move a transaction along its lifecycle.
    Transact(Box<Transact>),
    /// Act on requests and offers.
    Request(Box<RequestAction>),
    /// Act on listings.
    Listing(Box<ListingAction>),
    /// Time passes: act on every deadline due.
    Tick,
    /// Claim tokens and verification of agents.
    Ownership(Box<OwnershipAction>),
    /// Put new trade terms (fee, deadlines) in force (operator).
    SetTerms(Box<crate::config::Terms>),
    /// Act on auctions.
    Auction(Box<AuctionAction>),
    /// A later step of a `CancelAll`, resuming where the last one stopped.
    CancelAllAfter(Box<CancelAllAfter>),
}

/// A command with the time the gateway stamped on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// When the command was accepted by the gateway.
    pub time: Timestamp,
    /// What to do.
    pub command: Command,
}

/// An [`Input`] tagged with its format version, for journals and snapshots:
/// a newer engine decodes every older version it supports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VersionedInput {
    /// Format 1.
    V1(Input),
}

impl From<Input> for VersionedInput {
    fn from(input: Input) -> Self {
        VersionedInput::V1(input)
    }
}

impl From<VersionedInput> for Input {
    fn from(versioned: VersionedInput) -> Self {
        match versioned {
            VersionedInput::V1(input) => input,
        }
    }
}

/// Names an existing order: by the engine's id or the owner's client id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderRef {
    /// By order id.
    Id(OrderId),
    /// By the owner's client order id.
    ClientId(ClientOrderId),
}

impl Command {
    /// Validates and applies the command; on rejection nothing changed.
    pub(crate) fn apply(
        &self,
        market: &mut Market,
        time: Timestamp,
        events: &mut Vec<Event>,
    ) -> Reply {
        match self {
            Command::RegisterAsset(c) => c.apply(market, events),
            Command::Deposit(c) => c.apply(market, events),
            Command::Withdraw(c) => c.apply(market, events),
            Command::PlaceOrder(c) => c.apply(market, time, events),
            Command::CancelOrder(c) => c.apply(market, time, events),
            Command::AmendOrder(c) => c.apply(market, time, events),
            Command::CancelAll(c) => c.apply(market, time, events),
            Command::RegisterAgent(c) => c.apply(market, time, events),
            Command::UpdateAgent(c) => c.apply(market, time),
            Command::ChangeApiKeys(c) => c.apply(market, time),
            Command::Idempotent(c) => c.apply(market, time, events),
            Command::Transact(c) => c.apply(market, time, events),
            Command::Request(c) => c.apply(market, time, events),
            Command::Listing(c) => c.apply(market, time, events),
            Command::Tick => tick::apply(market, time, events),
            Command::Ownership(c) => c.apply(market, time),
            Command::SetTerms(terms) => set_terms::apply(market, terms),
            Command::Auction(c) => c.apply(market, time, events),
            Command::CancelAllAfter(c) => c.apply(market, time, events),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_command_is_no_larger_than_an_order() {
        // The hot path moves commands around by value: big, rare commands
        // are boxed so they do not widen every order.
        let order = std::mem::size_of::<PlaceOrder>();
        assert!(std::mem::size_of::<Command>() <= order + 8);
    }

    use super::*;
    use crate::testkit::{amt, Harness};
    use crate::Side;

    #[test]
    fn versioned_inputs_and_events_survive_serialization() {
        // What a journal writes, it reads back identically, and replaying
        // the decoded inputs reaches the same state.
        let mut h = Harness::default();
        h.deposit(1, 100);
        h.limit(2, Side::Sell, 10, 2);
        let mut order = h.order(1, Side::Buy, 10, 1);
        order.client_order_id = Some(ClientOrderId::new("c-1").unwrap());
        h.place(order).unwrap();
        let events = h.events.clone();
        let decoded: Vec<Input> = h
            .log
            .iter()
            .map(|(input, _)| {
                let bytes = bincode::serialize(&VersionedInput::from(input.clone())).unwrap();
                Input::from(bincode::deserialize::<VersionedInput>(&bytes).unwrap())
            })
            .collect();
        assert_eq!(
            decoded,
            h.log.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>()
        );
        let bytes = bincode::serialize(&events).unwrap();
        assert_eq!(bincode::deserialize::<Vec<Event>>(&bytes).unwrap(), events);
        let mut replayed = Harness::default();
        for input in decoded {
            replayed.run(input.command).unwrap();
        }
        assert_eq!(replayed.market.state_digest(), h.market.state_digest());
        assert_eq!(h.balance(1).0, amt(90));
    }
}

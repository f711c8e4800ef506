//! Agora's matching engine: one thread owns all market state (books,
//! wallets, transactions and their escrow, requests, offers, listings) and
//! changes it only by applying [`Command`]s.
//!
//! [`Market::apply`] is a pure state machine: no clock, no I/O, no
//! randomness, no locks. Time and new ids arrive inside each [`Input`], so
//! replaying the same inputs rebuilds the same state, as
//! [`Market::state_digest`] proves. [`EngineHandle`] runs a market on its
//! own thread behind a bounded channel.

pub mod agents;
pub mod asset;
pub mod auctions;
mod book;
mod by_owner;
pub mod category;
mod chunked;
pub mod cmd;
pub mod config;
pub mod deal_queries;
mod digest;
pub mod event;
mod hash32;
mod id_index;
pub mod idempotency;
mod invariants;
mod ladder;
pub mod ledger;
pub mod listings;
mod market;
mod matching;
mod orders;
mod posts;
mod prefetch;
pub mod query;
pub mod reject;
pub mod reply;
pub mod requests;
mod schedule;
mod segmented;
mod snapshot;
pub mod thread;
pub mod transactions;
pub mod units;

#[cfg(test)]
extern crate self as agora_engine;
#[cfg(test)]
mod testkit;

pub use asset::AssetSpec;
pub use cmd::place_order::{OrderType, SelfTradePrevention, Side, TimeInForce};
pub use cmd::{Command, Input, OrderRef, VersionedInput};
pub use config::{AssetDefaults, EngineConfig};
pub use event::Event;
pub use market::Market;
pub use query::{Answer, Query};
pub use reject::Reject;
pub use reply::{Ack, OrderAck, OrderStatus, Reply};
pub use snapshot::SnapshotError;
pub use thread::{
    Batch, BatchSink, Completion, EngineHandle, Recycler, Request, Responder, SinkStopped,
    ThreadOptions,
};

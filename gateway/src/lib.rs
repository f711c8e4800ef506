//! Agora's gateway: the HTTP API in front of the engine thread.
//!
//! hyper (HTTP/1.1 keep-alive and HTTP/2) on a multi-threaded tokio
//! runtime. Each request is authenticated (API key hash → agent),
//! rate-limited, validated and turned into an engine [`Command`] or
//! [`Query`]; commands cross a bounded crossbeam channel to the engine
//! thread, and their replies come back only after the journal made their
//! batch durable.
//!
//! [`Command`]: agora_engine::Command
//! [`Query`]: agora_engine::Query

mod auth;
pub mod config;
mod deal_views;
mod disk;
mod engine_link;
mod error;
mod http;
mod limits;
mod metrics;
mod money;
pub mod pages;
mod routes;
mod server;
mod text;
mod views;

pub use server::{serve, StartError};

//! Command-line configuration: every flag has an `AGORA_*` environment
//! fallback and a default, so `agora serve` needs none.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;

use agora_engine::config::Terms;
use clap::{Parser, Subcommand, ValueEnum};

/// Agora: a marketplace and matching engine for AI agents.
///
/// `agora serve` runs all of it in one process: the HTTP API (agents and
/// keys, wallets, order book, auctions, requests and offers, listings,
/// escrowed transactions), the matching engine, and its journal in
/// `--data-dir`. The API is described at `/llms.txt` and `/openapi.json`.
#[derive(Parser, Debug)]
#[command(name = "agora", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: CliCommand,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum CliCommand {
    /// Run the server: HTTP API, engine and journal in one process.
    Serve(ServeConfig),
}

/// Nanoseconds in a second.
const NS_PER_S: i64 = 1_000_000_000;

/// Orders the engine makes room for at start-up unless
/// `--reserve-orders` says otherwise (the benchmarks reserve as many, to
/// measure the engine as the server runs it).
pub const DEFAULT_RESERVE_ORDERS: usize = 4_000_000;

/// The engine's default terms, for the flags' defaults.
fn default_terms() -> Terms {
    Terms::default()
}

/// `ns` in whole seconds.
fn seconds(ns: i64) -> u64 {
    u64::try_from(ns / NS_PER_S).unwrap_or(0)
}

/// Checks a `--public-url`: an absolute `http` or `https` URL without a
/// query, which comes back without its trailing `/`.
fn public_url(text: &str) -> Result<String, String> {
    let uri: hyper::Uri = text.parse().map_err(|e| format!("not a URL: {e}"))?;
    let scheme = uri.scheme_str().unwrap_or("");
    if !matches!(scheme, "http" | "https") || uri.authority().is_none() {
        return Err("must start with http:// or https:// and a host".into());
    }
    if uri.query().is_some() {
        return Err("may not have a query".into());
    }
    Ok(text.trim_end_matches('/').to_string())
}

/// When a command counts as durable.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DurabilityMode {
    /// Acknowledge only after the journal is fsync'd (no acknowledged
    /// command is ever lost).
    Sync,
    /// Acknowledge after the write; sync every `--sync-interval-ms`. A
    /// power loss can lose the last interval; a process crash loses nothing.
    Buffered,
}

/// How log lines are written (to stderr).
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line (timestamp, level, target, fields), for
    /// log collectors.
    Json,
}

/// `agora serve` options.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "AGORA_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The address clients reach the server at (`https://agora.example`),
    /// named in `/skill.md` and the agent card: set it behind a proxy or
    /// a public name. Unset, they name the host the client asked for.
    #[arg(long, env = "AGORA_PUBLIC_URL", value_parser = public_url)]
    pub public_url: Option<String>,

    /// How log lines are written to stderr (levels: `RUST_LOG`, `info` by
    /// default).
    #[arg(long, env = "AGORA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Directory of the embedded store (journal, snapshots); created if missing.
    #[arg(long, env = "AGORA_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Free space (MiB) kept on the data directory's disk: below it, every
    /// command is refused with `503 unavailable` (reads go on) until space
    /// is freed, as the journal must never run out of room. 0 turns the
    /// check off.
    #[arg(long, env = "AGORA_MIN_FREE_DISK_MB", default_value_t = 256)]
    pub min_free_disk_mb: u64,

    /// When a command is acknowledged: after fsync, or after the write.
    #[arg(long, env = "AGORA_DURABILITY", value_enum, default_value_t = DurabilityMode::Sync)]
    pub durability: DurabilityMode,

    /// Start even if the journal's log is damaged, keeping what precedes
    /// the damage and dropping the rest (without it, damage stops start-up
    /// with an error naming it). Only a torn last write, which was never
    /// acknowledged, is dropped without this.
    #[arg(long, env = "AGORA_REPAIR")]
    pub repair: bool,

    /// Threads serving HTTP (default: one per CPU).
    #[arg(long, env = "AGORA_WORKERS")]
    pub workers: Option<usize>,

    /// How often a buffered journal is synced, in milliseconds.
    #[arg(long, env = "AGORA_SYNC_INTERVAL_MS", default_value_t = 100)]
    pub sync_interval_ms: u64,

    /// Group commit: under load, microseconds a journal write waits for
    /// more commands so one sync covers them all (0: never wait; what
    /// arrives during a sync is still written with one sync).
    #[arg(long, env = "AGORA_GROUP_COMMIT_US", default_value_t = 0)]
    pub group_commit_us: u64,

    /// Take a snapshot after this many commands (a background copy of the
    /// market is serialized; matching does not pause).
    #[arg(long, env = "AGORA_SNAPSHOT_EVERY", default_value_t = 1_000_000)]
    pub snapshot_every: u64,

    /// Take a snapshot after this many seconds if anything changed.
    #[arg(long, env = "AGORA_SNAPSHOT_INTERVAL_S", default_value_t = 300)]
    pub snapshot_interval_s: u64,

    /// Seconds an order that finished without a fill (cancelled, expired,
    /// rejected) stays in the order history before it is forgotten, so the
    /// history does not grow without end under quoting that cancels most
    /// orders; orders with fills are kept for good. 0 keeps every order.
    #[arg(long, env = "AGORA_UNFILLED_ORDER_RETENTION_S", default_value_t = 90 * 24 * 3600)]
    pub unfilled_order_retention_s: u64,

    /// Orders (open and recently finished) the engine makes room for in
    /// its order slab at start-up, so a growing book never stops it to
    /// move them all (most of a quarter of a second at millions). Room not
    /// yet used costs address space only; the id index is not reserved
    /// but grows a page of ids at a time.
    #[arg(long, env = "AGORA_RESERVE_ORDERS", default_value_t = DEFAULT_RESERVE_ORDERS)]
    pub reserve_orders: usize,

    /// The operator's key, for deposits, withdrawals and asset listings. If
    /// unset, one is generated and written to `<data-dir>/operator.key`.
    #[arg(long, env = "AGORA_OPERATOR_KEY", hide_env_values = true)]
    pub operator_key: Option<String>,

    /// Credits every new agent receives (0 for none).
    #[arg(long, env = "AGORA_SIGNUP_CREDITS", default_value = "100")]
    pub signup_credits: String,

    /// Currency of the signup credits.
    #[arg(long, env = "AGORA_SIGNUP_CURRENCY", default_value = "CREDITS")]
    pub signup_currency: String,

    /// Platform fee on what a seller receives, in basis points (1000 =
    /// 10%; 0 for none), rounded down to 0.00000001. Changing it takes
    /// effect (journaled) at start-up, for payouts from then on.
    #[arg(long, env = "AGORA_FEE_BPS", default_value_t = default_terms().fee_bps,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(Terms::FEE_BPS_MAX)))]
    pub fee_bps: u32,

    /// Seconds a buyer has to fund a pending transaction before it is cancelled.
    #[arg(long, env = "AGORA_FUNDING_WINDOW_S", default_value_t = seconds(default_terms().funding_window_ns),
          value_parser = clap::value_parser!(u64).range(1..=seconds(Terms::WINDOW_NS_MAX)))]
    pub funding_window_s: u64,

    /// Seconds a seller has to deliver a funded transaction before it is
    /// refunded to the buyer.
    #[arg(long, env = "AGORA_DELIVERY_WINDOW_S", default_value_t = seconds(default_terms().delivery_window_ns),
          value_parser = clap::value_parser!(u64).range(1..=seconds(Terms::WINDOW_NS_MAX)))]
    pub delivery_window_s: u64,

    /// Seconds after delivery until escrow is released to the seller when
    /// the buyer neither confirms nor disputes.
    #[arg(long, env = "AGORA_RELEASE_COOLDOWN_S", default_value_t = seconds(default_terms().release_cooldown_ns),
          value_parser = clap::value_parser!(u64).range(1..=seconds(Terms::WINDOW_NS_MAX)))]
    pub release_cooldown_s: u64,

    /// Sustained requests per second allowed per API key.
    #[arg(long, env = "AGORA_RATE_LIMIT", default_value_t = NonZeroU32::new(100).unwrap())]
    pub rate_limit: NonZeroU32,

    /// Requests allowed at once per API key after a quiet spell.
    #[arg(long, env = "AGORA_RATE_BURST", default_value_t = NonZeroU32::new(200).unwrap())]
    pub rate_burst: NonZeroU32,

    /// Registrations (and ownership claims) allowed per minute from one
    /// client address; an IPv6 client counts by its /64.
    #[arg(long, env = "AGORA_REGISTER_PER_MINUTE", default_value_t = NonZeroU32::new(30).unwrap())]
    pub register_per_minute: NonZeroU32,

    /// Largest request body, in bytes (larger gets 413 payload_too_large).
    #[arg(long, env = "AGORA_BODY_LIMIT", default_value_t = 1 << 20)]
    pub body_limit: usize,

    /// Seconds a client may take to send a request's headers, counted from
    /// when the server is ready for it (a new connection's first byte, an
    /// idle keep-alive connection's next request), and again its body:
    /// past it the connection is closed, or the request answered `408`.
    #[arg(long, env = "AGORA_HEADER_TIMEOUT_S", default_value_t = 30)]
    pub header_timeout_s: u64,

    /// Seconds a graceful shutdown waits for in-flight requests.
    #[arg(long, env = "AGORA_SHUTDOWN_GRACE_S", default_value_t = 10)]
    pub shutdown_grace_s: u64,
}

impl ServeConfig {
    /// The trade terms the flags ask for.
    pub fn terms(&self) -> Terms {
        let ns = |s: u64| i64::try_from(s).map_or(i64::MAX, |s| s.saturating_mul(NS_PER_S));
        Terms {
            fee_bps: self.fee_bps,
            funding_window_ns: ns(self.funding_window_s),
            delivery_window_ns: ns(self.delivery_window_s),
            release_cooldown_ns: ns(self.release_cooldown_s),
        }
    }

    /// How many threads serve HTTP: `--workers`, or one per CPU (at
    /// least one). On two cores, with the load generator on one thread,
    /// two HTTP threads beside the engine and journal placed 11% more
    /// single orders over 256 connections than one (9 of 11 alternated
    /// fresh servers), and as many escrowed flows: with one, every request
    /// waits whenever the engine or journal thread takes its core.
    pub fn worker_threads(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }
}

//! `agora-load`: drives a running Agora server over HTTP/1.1 keep-alive
//! connections and reports throughput and latency percentiles.
//!
//! It registers agents, funds them through the operator endpoint, then
//! runs a seeded mix on every connection until the duration is up:
//!
//! - `health`: `GET /health`, the baseline of what the server can answer;
//! - `orders`: ~60% limit orders near the touch, ~30% cancels of the
//!   connection's own open orders, ~10% IOC orders that cross;
//! - `batch`: `POST /orderbook/orders/batch` of `--batch-size` actions
//!   in the same mix, the cancels naming orders earlier batches rested
//!   (so the book stays near a steady depth, as a market maker's does,
//!   instead of filling up to its limit);
//! - `flows`: complete escrowed trades, each six requests by two agents:
//!   request → offer → accept → fund → deliver → confirm (closed loop;
//!   reports flows per second and latency per step).
//!
//! `--resting-only` makes `orders` and `batch` send only orders that rest,
//! to fill the book (e.g. to measure memory with a million resting
//! orders).
//!
//! Closed loop by default (each connection sends its next request when
//! the last one is answered); `--rate R` makes it open loop at R requests
//! per second overall, each connection on its own evenly spaced schedule,
//! latency counted from when each request was due.
//!
//! Run the server with limits that do not throttle the load, e.g.
//! `agora serve --rate-limit 10000000 --rate-burst 10000000
//! --register-per-minute 100000 --operator-key load`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use agora_benches::http1::Connection;
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use memchr::memmem::Finder;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Mutex;

/// The server's allocator: glibc's took a tenth of the generator's CPU
/// (the CPU it shares with the server it measures).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// `GET /health`.
    Health,
    /// Single orders and cancels.
    Orders,
    /// Batches of orders.
    Batch,
    /// Request → offer → accept → fund → deliver → confirm.
    Flows,
}

/// Load generator for an Agora server.
#[derive(Parser, Debug, Clone)]
#[command(name = "agora-load")]
struct Args {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// What to send.
    #[arg(long, value_enum, default_value_t = Mode::Orders)]
    mode: Mode,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Seconds of measured load (after setup).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of unmeasured warm-up load.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Open loop at this many requests per second overall (0: closed loop).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Agents to register (connections share them round-robin).
    #[arg(long, default_value_t = 16)]
    agents: usize,
    /// Actions (places and cancels) per batch request.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Send only orders that rest: no cancels, no crossing orders.
    #[arg(long)]
    resting_only: bool,
    /// The server's operator key, to fund the agents.
    #[arg(long, default_value = "load")]
    operator_key: String,
    /// Threads sending requests (0: one per CPU). On the server's own
    /// machine, fewer leave it more of the CPU it is measured on: on two
    /// cores, one thread wakes no second thread per response (alternating
    /// fresh servers: flows 4.3k/s with one thread, 3.8-3.9k with two;
    /// health and orders over 256 connections no lower).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seed of the order mix.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Asset to trade.
    #[arg(long, default_value = "LOAD")]
    asset: String,
}

/// An HTTP method.
type Method = &'static str;

async fn connect(addr: SocketAddr) -> Connection {
    Connection::open(addr).await.expect("connect to the server")
}

/// Sends one request; returns status and body.
async fn send(
    conn: &mut Connection,
    method: Method,
    path: &str,
    key: Option<&str>,
    body: Option<String>,
) -> (u16, Bytes) {
    let body = body.unwrap_or_default();
    conn.send(method, path, key, body.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Registers and funds `n` agents; returns their keys.
async fn setup_agents(args: &Args) -> Vec<String> {
    let mut conn = connect(args.addr).await;
    let mut keys = Vec::with_capacity(args.agents);
    // Each agent gets 100M credits, or less when there are so many agents
    // that together they would pass half of what a currency can hold.
    let room = i64::MAX / agora_engine::units::SCALE / 2;
    let credits = (room / args.agents.max(1) as i64).min(100_000_000);
    for i in 0..args.agents {
        let body = format!(r#"{{"name":"load-{i}"}}"#);
        let (status, bytes) = send(
            &mut conn,
            "POST",
            "/api/v1/agents/register",
            None,
            Some(body),
        )
        .await;
        assert_eq!(status, 201, "register: {}", String::from_utf8_lossy(&bytes));
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let id = v["agent"]["id"].as_str().expect("id").to_string();
        keys.push(v["api_key"].as_str().expect("key").to_string());
        let deposit = format!(r#"{{"agent_id":"{id}","currency":"CREDITS","amount":"{credits}"}}"#);
        let (status, bytes) = send(
            &mut conn,
            "POST",
            "/api/v1/operator/deposits",
            Some(&args.operator_key),
            Some(deposit),
        )
        .await;
        assert_eq!(status, 201, "deposit: {}", String::from_utf8_lossy(&bytes));
    }
    keys
}

/// The next request of one connection's seeded mix.
struct Mix {
    rng: SmallRng,
    asset: String,
    /// Ids of this connection's orders that rested, as far as it knows.
    open: Vec<u64>,
    batch_size: usize,
    resting_only: bool,
    /// Which actions of the last batch were places, in order.
    places: Vec<bool>,
}

/// What one action of the mix does.
enum Action {
    /// Cancel this open order of the connection's.
    Cancel(u64),
    /// Place a limit order; crossing ones are IOC.
    Place { crossing: bool },
}

const MID: i64 = 10_000;

impl Mix {
    /// A limit order's JSON fields (without braces) appended to `out`:
    /// written in place, as a batch holds a hundred of them.
    fn write_limit(&mut self, crossing: bool, out: &mut String) {
        let side_buy = self.rng.gen_bool(0.5);
        let offset = self.rng.gen_range(1..=20);
        // A resting order stays on its side of the mid; a crossing one
        // reaches through the levels resting orders use.
        let ticks = match (side_buy, crossing) {
            (true, false) => MID - offset,
            (false, false) => MID + offset,
            (true, true) => MID + 25,
            (false, true) => MID - 25,
        };
        let qty: u8 = self.rng.gen_range(1..=5);
        let mut digits = itoa::Buffer::new();
        for part in [
            r#""asset":""#,
            &self.asset,
            if side_buy {
                r#"","side":"buy","quantity":""#
            } else {
                r#"","side":"sell","quantity":""#
            },
            digits.format(qty),
            r#"","price":""#,
        ] {
            out.push_str(part);
        }
        out.push_str(digits.format(ticks / 100));
        out.push('.');
        if ticks % 100 < 10 {
            out.push('0');
        }
        out.push_str(digits.format(ticks % 100));
        out.push('"');
        if crossing {
            out.push_str(r#","time_in_force":"ioc""#);
        }
    }

    /// The next action: ~30% cancels of a known open order, ~10% orders
    /// that cross, the rest orders that rest.
    fn action(&mut self) -> Action {
        if self.resting_only {
            return Action::Place { crossing: false };
        }
        let roll = self.rng.gen_range(0..10);
        if roll < 3 && !self.open.is_empty() {
            let i = self.rng.gen_range(0..self.open.len());
            return Action::Cancel(self.open.swap_remove(i));
        }
        Action::Place {
            crossing: roll == 9,
        }
    }

    /// Method, path and body.
    fn next(&mut self, mode: Mode) -> (Method, String, Option<String>) {
        match mode {
            Mode::Health => ("GET", "/health".into(), None),
            Mode::Batch => {
                let mut body = String::with_capacity(128 * self.batch_size);
                body.push_str(r#"{"actions":["#);
                self.places.clear();
                for i in 0..self.batch_size {
                    if i > 0 {
                        body.push(',');
                    }
                    let action = self.action();
                    self.places.push(matches!(action, Action::Place { .. }));
                    match action {
                        Action::Cancel(id) => {
                            body.push_str(r#"{"action":"cancel","order_id":""#);
                            body.push_str(itoa::Buffer::new().format(id));
                            body.push_str(r#""}"#);
                        }
                        Action::Place { crossing } => {
                            body.push_str(r#"{"action":"place","#);
                            self.write_limit(crossing, &mut body);
                            body.push('}');
                        }
                    }
                }
                body.push_str("]}");
                ("POST", "/api/v1/orderbook/orders/batch".into(), Some(body))
            }
            Mode::Flows => unreachable!("flows are driven by `drive_flows`"),
            Mode::Orders => match self.action() {
                Action::Cancel(id) => ("DELETE", format!("/api/v1/orderbook/orders/{id}"), None),
                Action::Place { crossing } => {
                    let mut body = String::with_capacity(128);
                    body.push('{');
                    self.write_limit(crossing, &mut body);
                    body.push('}');
                    ("POST", "/api/v1/orderbook/orders".into(), Some(body))
                }
            },
        }
    }

    /// Counts what a batch's response says of its actions (in the order
    /// [`Mix::next`] wrote them) and notes the orders that rest.
    fn tally(&mut self, body: &[u8]) -> Tally {
        let p = &*PATTERNS;
        let starts: Vec<usize> = p.result.find_iter(body).collect();
        let mut tally = Tally::default();
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(body.len());
            let result = &body[start..end];
            let place = self.places.get(i).copied().unwrap_or(true);
            if result[p.result.needle().len()..].starts_with(b"true") {
                if place {
                    tally.placed += 1;
                    self.note(result);
                } else {
                    tally.cancelled += 1;
                }
            } else if ![&p.not_found, &p.not_open]
                .iter()
                .any(|gone| gone.find(result).is_some())
            {
                tally.refused += 1;
            }
        }
        tally.refused += (self.places.len() as u64).saturating_sub(starts.len() as u64);
        tally
    }

    /// Remembers a resting order from a place-order response.
    fn note(&mut self, body: &[u8]) {
        let p = &*PATTERNS;
        let Some(order) = p.order.find(body) else {
            return;
        };
        let body = &body[order..];
        let Some(at) = p.id.find(body) else {
            return;
        };
        let rest = &body[at + p.id.needle().len()..];
        let digits = &rest[..memchr::memchr(b'"', rest).unwrap_or(0)];
        let resting = [&p.open, &p.partially_filled]
            .iter()
            .any(|m| m.find(body).is_some());
        if !resting || self.open.len() >= 10_000 {
            return;
        }
        if let Some(id) = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok())
        {
            self.open.push(id);
        }
    }
}

/// What the generator looks for in answers: byte patterns, each searcher
/// built once (building one per search took a sixth of the generator's
/// CPU under batches).
struct Patterns {
    /// The start of one result of a batch.
    result: Finder<'static>,
    /// An answer's order, and its id.
    order: Finder<'static>,
    id: Finder<'static>,
    /// An order that rests.
    open: Finder<'static>,
    partially_filled: Finder<'static>,
    /// A batch result that failed only because its order was gone.
    not_found: Finder<'static>,
    not_open: Finder<'static>,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| Patterns {
    result: Finder::new(br#"{"ok":"#),
    order: Finder::new(br#""order":{"#),
    id: Finder::new(br#""id":""#),
    open: Finder::new(br#""status":"open""#),
    partially_filled: Finder::new(br#""status":"partially_filled""#),
    not_found: Finder::new(br#""status":404"#),
    not_open: Finder::new(br#""status":409"#),
});

/// The steps of one flow.
const STEPS: [&str; 6] = ["request", "offer", "accept", "fund", "deliver", "confirm"];

struct Totals {
    histogram: Mutex<Histogram<u64>>,
    /// Per step of a flow.
    steps: Mutex<Vec<Histogram<u64>>>,
    flows: AtomicU64,
    done: AtomicU64,
    errors: AtomicU64,
    /// Orders a batch placed.
    orders: AtomicU64,
    /// Orders a batch cancelled.
    cancels: AtomicU64,
    measuring: AtomicBool,
}

/// What the actions of one batch did.
#[derive(Default)]
struct Tally {
    placed: u64,
    cancelled: u64,
    /// Refused for another reason than the order being gone.
    refused: u64,
}

/// Open loop: connection `index` of `connections` sends the requests due
/// at `start + (k × connections + index) / rate` for k = 0, 1, …, so
/// together they send `rate` a second, evenly spread (as wrk2 paces each
/// connection). Each connection waits on its own timer: no hand-off
/// between tasks per request, so the generator costs about what it does in
/// a closed loop. Tokio's timers fire on the millisecond tick after the
/// time asked, so a connection asks to wake a tick before a request is
/// due and sends it at once. A request's latency runs from when it was due
/// or, if it went early, from when it went: never shorter than the
/// exchange itself, and a request held back by a slow one before it on its
/// connection counts the wait (no coordinated omission).
struct Pacing {
    /// When the first request of the first connection is due.
    start: Instant,
    /// Between two requests of one connection.
    period: Duration,
    /// Of this connection's first request after `start`.
    offset: Duration,
}

/// Tokio's timer resolution.
const TIMER_TICK: Duration = Duration::from_millis(1);

impl Pacing {
    fn new(rate: u64, connections: usize, index: usize, start: Instant) -> Pacing {
        let per_request = Duration::from_secs_f64(1.0 / rate as f64);
        Pacing {
            start,
            period: per_request * connections as u32,
            offset: per_request * index as u32,
        }
    }

    /// Waits until request `k` of this connection may go (a timer tick
    /// early at most) and returns when its latency counts from, or `None`
    /// when it is due after `stop`.
    async fn wait(&self, k: u32, stop: Instant) -> Option<Instant> {
        let due = self.start + self.offset + self.period * k;
        if due >= stop {
            return None;
        }
        if due > Instant::now() + TIMER_TICK {
            tokio::time::sleep_until((due - TIMER_TICK).into()).await;
        }
        Some(due.min(Instant::now()))
    }
}

async fn drive(
    args: Arc<Args>,
    index: usize,
    key: String,
    totals: Arc<Totals>,
    stop: Instant,
    pacing: Option<Pacing>,
) {
    let mut conn = connect(args.addr).await;
    let mut mix = Mix {
        rng: SmallRng::seed_from_u64(args.seed.wrapping_add(index as u64)),
        asset: args.asset.clone(),
        open: Vec::new(),
        batch_size: args.batch_size,
        resting_only: args.resting_only,
        places: Vec::new(),
    };
    let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    let mut sent = 0;
    while Instant::now() < stop {
        let started = match &pacing {
            Some(p) => match p.wait(sent, stop).await {
                Some(at) => at,
                None => break,
            },
            None => Instant::now(),
        };
        sent += 1;
        let (method, path, body) = mix.next(args.mode);
        let is_place = method == "POST";
        let (status, bytes) = send(&mut conn, method, &path, Some(&key), body).await;
        let micros = started.elapsed().as_micros() as u64;
        if is_place && args.mode == Mode::Orders {
            mix.note(&bytes);
        }
        if totals.measuring.load(Ordering::Relaxed) {
            local.record(micros.max(1)).ok();
            totals.done.fetch_add(1, Ordering::Relaxed);
            if status >= 400 && status != 404 && status != 409 {
                totals.errors.fetch_add(1, Ordering::Relaxed);
                if totals.errors.load(Ordering::Relaxed) < 5 {
                    eprintln!("error {status}: {}", String::from_utf8_lossy(&bytes));
                }
            }
        }
        if args.mode == Mode::Batch {
            // Only the orders the server accepted count; cancels of orders
            // that had filled meanwhile (404/409) are no errors.
            let tally = mix.tally(&bytes);
            if totals.measuring.load(Ordering::Relaxed) {
                totals.orders.fetch_add(tally.placed, Ordering::Relaxed);
                totals.cancels.fetch_add(tally.cancelled, Ordering::Relaxed);
                let refused = tally.refused;
                if refused > 0 && totals.errors.fetch_add(refused, Ordering::Relaxed) < 5 {
                    eprintln!("refused in a batch: {}", String::from_utf8_lossy(&bytes));
                }
            }
        }
    }
    totals
        .histogram
        .lock()
        .await
        .add(&local)
        .expect("same bounds");
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram")
}

/// The first string field `name` of a JSON response, after checking its
/// status. A byte search, not a parse: the client must stay light, or it
/// takes the CPU it measures.
fn field(step: &str, status: u16, bytes: &[u8], name: &str) -> Option<String> {
    if status >= 300 {
        eprintln!("{step}: {status} {}", String::from_utf8_lossy(bytes));
        return None;
    }
    let key = format!("\"{name}\":\"");
    let at = memchr::memmem::find(bytes, key.as_bytes())? + key.len();
    let len = memchr::memchr(b'"', &bytes[at..])?;
    Some(String::from_utf8_lossy(&bytes[at..at + len]).into_owned())
}

/// Runs complete flows back to back on one connection: `buyer` posts a
/// request, `seller` offers, and so on to the confirmation.
async fn drive_flows(
    args: Arc<Args>,
    buyer: String,
    seller: String,
    totals: Arc<Totals>,
    stop: Instant,
) {
    let mut conn = connect(args.addr).await;
    let mut steps: Vec<Histogram<u64>> = STEPS.iter().map(|_| histogram()).collect();
    let request = r#"{"title":"Load forecast","category":"data","budget":{"min":1,"max":20,"currency":"CREDITS"}}"#;
    let offer = r#"{"price":{"amount":"10","currency":"CREDITS"},"message":"ok"}"#;
    let deliver = r#"{"delivery_proof":"https://example.com/d","message":"done"}"#;
    'flows: while Instant::now() < stop {
        let mut ids = [String::new(), String::new(), String::new()];
        for (i, step) in STEPS.iter().enumerate() {
            let (key, path, body, id_field) = match i {
                0 => (&buyer, "/api/v1/requests".to_string(), request, "id"),
                1 => (
                    &seller,
                    format!("/api/v1/requests/{}/offers", ids[0]),
                    offer,
                    "id",
                ),
                2 => (
                    &buyer,
                    format!("/api/v1/offers/{}/accept", ids[1]),
                    "",
                    "transaction_id",
                ),
                3 => (
                    &buyer,
                    format!("/api/v1/transactions/{}/fund", ids[2]),
                    "",
                    "id",
                ),
                4 => (
                    &seller,
                    format!("/api/v1/transactions/{}/deliver", ids[2]),
                    deliver,
                    "id",
                ),
                _ => (
                    &buyer,
                    format!("/api/v1/transactions/{}/confirm", ids[2]),
                    "",
                    "id",
                ),
            };
            let started = Instant::now();
            let (status, bytes) =
                send(&mut conn, "POST", &path, Some(key), Some(body.into())).await;
            let micros = started.elapsed().as_micros() as u64;
            let measuring = totals.measuring.load(Ordering::Relaxed);
            if measuring {
                steps[i].record(micros.max(1)).ok();
                totals.done.fetch_add(1, Ordering::Relaxed);
            }
            match field(step, status, &bytes, id_field) {
                Some(id) if i < 3 => ids[i] = id,
                Some(_) => {}
                None => {
                    totals.errors.fetch_add(1, Ordering::Relaxed);
                    continue 'flows;
                }
            }
        }
        if totals.measuring.load(Ordering::Relaxed) {
            totals.flows.fetch_add(1, Ordering::Relaxed);
        }
    }
    let mut all = totals.steps.lock().await;
    for (total, local) in all.iter_mut().zip(&steps) {
        total.add(local).expect("same bounds");
    }
    let mut h = totals.histogram.lock().await;
    for local in &steps {
        h.add(local).expect("same bounds");
    }
}

fn main() {
    let args = Args::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if args.threads > 0 {
        runtime.worker_threads(args.threads);
    }
    let runtime = runtime.enable_all().build().expect("runtime");
    runtime.block_on(run(args));
}

async fn run(args: Args) {
    let keys = if args.mode == Mode::Health {
        vec![String::new()]
    } else {
        setup_agents(&args).await
    };
    let args = Arc::new(args);
    let totals = Arc::new(Totals {
        histogram: Mutex::new(histogram()),
        steps: Mutex::new(STEPS.iter().map(|_| histogram()).collect()),
        flows: AtomicU64::new(0),
        done: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        orders: AtomicU64::new(0),
        cancels: AtomicU64::new(0),
        measuring: AtomicBool::new(false),
    });
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(args.warmup);
    let stop = measure_from + Duration::from_secs(args.duration);
    let tasks: Vec<_> = (0..args.connections)
        .map(|i| {
            let key = keys[i % keys.len()].clone();
            if args.mode == Mode::Flows {
                let seller = keys[(i + 1) % keys.len()].clone();
                return tokio::spawn(drive_flows(args.clone(), key, seller, totals.clone(), stop));
            }
            let pacing =
                (args.rate > 0).then(|| Pacing::new(args.rate, args.connections, i, start));
            tokio::spawn(drive(args.clone(), i, key, totals.clone(), stop, pacing))
        })
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    totals.measuring.store(true, Ordering::Relaxed);
    let measured_at = Instant::now();
    let mut last = 0;
    while Instant::now() + Duration::from_millis(1000) <= stop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let done = totals.done.load(Ordering::Relaxed);
        eprintln!(
            "[{:>4.1}s] {:>9} req/s  total {done}  errors {}",
            measured_at.elapsed().as_secs_f64(),
            done - last,
            totals.errors.load(Ordering::Relaxed)
        );
        last = done;
    }
    for t in tasks {
        t.await.expect("connection task");
    }
    let elapsed = measured_at
        .elapsed()
        .as_secs_f64()
        .min(args.duration as f64);
    let h = totals.histogram.lock().await;
    let done = totals.done.load(Ordering::Relaxed);
    println!(
        "mode={:?} connections={} rate={} duration={}s",
        args.mode, args.connections, args.rate, args.duration
    );
    println!(
        "requests={done} throughput={:.0} req/s errors={}",
        done as f64 / elapsed,
        totals.errors.load(Ordering::Relaxed)
    );
    if args.mode == Mode::Batch {
        let (orders, cancels) = (
            totals.orders.load(Ordering::Relaxed),
            totals.cancels.load(Ordering::Relaxed),
        );
        println!(
            "orders={orders} throughput={:.0} orders/s, cancels={cancels}: {:.0} actions/s",
            orders as f64 / elapsed,
            (orders + cancels) as f64 / elapsed
        );
    }
    if args.mode == Mode::Flows {
        let flows = totals.flows.load(Ordering::Relaxed);
        println!(
            "flows={flows} throughput={:.0} flows/s",
            flows as f64 / elapsed
        );
        for (step, h) in STEPS.iter().zip(totals.steps.lock().await.iter()) {
            println!(
                "  {step:<8} p50={}us p99={}us p99.9={}us",
                h.value_at_quantile(0.5),
                h.value_at_quantile(0.99),
                h.value_at_quantile(0.999)
            );
        }
    }
    println!(
        "latency_us p50={} p90={} p99={} p99.9={} max={}",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    );
}

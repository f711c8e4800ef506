//! Prometheus metrics: requests by route and status, request latency,
//! engine queue depth and batch sizes, journal write time, orders and
//! trades. Served as text at `GET /metrics`.

use std::time::Duration;

use agora_engine::{Batch, Event};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// A request's route (its template, not its ids) and status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteStatus {
    /// e.g. `POST /api/v1/orderbook/orders`.
    pub route: &'static str,
    /// HTTP status.
    pub status: u16,
}

/// A route template.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Route {
    /// e.g. `GET /api/v1/orderbook/{asset}`.
    pub route: &'static str,
}

type HistogramFamily = Family<Route, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 20 µs … ~2.6 s.
    Histogram::new(exponential_buckets(0.000_02, 2.0, 18))
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    requests: Family<RouteStatus, Counter>,
    latency: HistogramFamily,
    /// Requests waiting in the engine's channel (set when scraped).
    pub queue_depth: Gauge,
    /// Free bytes on the data directory's disk, as last measured (set
    /// when scraped).
    pub disk_free_bytes: Gauge,
    batch_commands: Histogram,
    journal_seconds: Histogram,
    orders_placed: Counter,
    orders_cancelled: Counter,
    trades: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("agora");
        let requests = Family::<RouteStatus, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response, by route",
            latency.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "engine_queue_depth",
            "Requests waiting in the engine's channel",
            queue_depth.clone(),
        );
        let disk_free_bytes = Gauge::default();
        registry.register(
            "disk_free_bytes",
            "Free bytes on the data directory's disk, as last measured",
            disk_free_bytes.clone(),
        );
        let batch_commands = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        registry.register(
            "engine_batch_commands",
            "Commands per journaled engine batch",
            batch_commands.clone(),
        );
        let journal_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 14));
        registry.register(
            "journal_write_seconds",
            "Time to make a group of batches durable (write and sync)",
            journal_seconds.clone(),
        );
        let orders_placed = Counter::default();
        registry.register("orders_placed", "Orders accepted", orders_placed.clone());
        let orders_cancelled = Counter::default();
        registry.register(
            "orders_cancelled",
            "Orders that left a book unfilled",
            orders_cancelled.clone(),
        );
        let trades = Counter::default();
        registry.register("trades", "Fills between two orders", trades.clone());
        Metrics {
            registry,
            requests,
            latency,
            queue_depth,
            disk_free_bytes,
            batch_commands,
            journal_seconds,
            orders_placed,
            orders_cancelled,
            trades,
        }
    }
}

impl Metrics {
    /// Counts one answered request.
    pub fn observe_request(&self, route: &'static str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RouteStatus { route, status })
            .inc();
        self.latency
            .get_or_create(&Route { route })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts what a durable batch did.
    pub fn observe_batch<R>(&self, batch: &Batch<R>, journal_time: Duration) {
        self.batch_commands.observe(batch.completions.len() as f64);
        self.journal_seconds.observe(journal_time.as_secs_f64());
        for e in &batch.events {
            match e {
                Event::OrderAccepted(_) => self.orders_placed.inc(),
                Event::OrderCancelled { .. } => self.orders_cancelled.inc(),
                Event::Trade(_) => self.trades.inc(),
                _ => 0,
            };
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String does not fail");
        out
    }
}

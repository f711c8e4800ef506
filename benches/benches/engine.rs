//! Criterion benchmarks of the engine on the mixed workload: one thread
//! with no journal, and through the engine thread's channel; and auctions
//! (bids on one hot auction, 100k auctions closing at one moment).
//!
//! `cargo bench -p agora-benches --bench engine`

use agora_benches::{mixed, replay, through_channel, MixedConfig};

use criterion::{criterion_group, BatchSize, Criterion, Throughput};

/// The allocator the server runs the engine with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const COMMANDS: usize = 200_000;

fn single_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/mixed");
    group.sample_size(10);
    for (assets, depth_per_book) in [(1, 10_000), (100, 100), (100, 10_000)] {
        let w = mixed(MixedConfig {
            assets,
            depth_per_book,
            commands: COMMANDS,
            ..MixedConfig::default()
        });
        group.throughput(Throughput::Elements(w.commands.len() as u64));
        group.bench_function(format!("{assets}_books_x_{depth_per_book}_resting"), |b| {
            b.iter_batched(
                || w.served_market(),
                |mut market| replay(&mut market, &w.commands, 1024),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn channel(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/channel");
    group.sample_size(10);
    let w = mixed(MixedConfig {
        commands: COMMANDS,
        ..MixedConfig::default()
    });
    group.throughput(Throughput::Elements(w.commands.len() as u64));
    group.bench_function("1_book_x_10000_resting_256_per_message", |b| {
        b.iter_batched(
            || (w.served_market(), w.commands.clone()),
            |(market, commands)| through_channel(market, commands, 256).1,
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn auctions(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/auctions");
    group.sample_size(10);
    let (market, bids) = agora_benches::auctions::hot_auction(COMMANDS, 1_000);
    group.throughput(Throughput::Elements(bids.len() as u64));
    group.bench_function("one_hot_english_auction_bids", |b| {
        b.iter_batched(
            || market.clone(),
            |mut market| replay(&mut market, &bids, 1024),
            BatchSize::PerIteration,
        )
    });
    let (market, tick) = agora_benches::auctions::closing_auctions(100_000);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("close_100k_auctions_at_once", |b| {
        b.iter_batched(
            || market.clone(),
            |mut market| agora_benches::auctions::tick_all(&mut market, &tick, &mut Vec::new()),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, single_thread, channel, auctions);

/// As `criterion_main!`, with memory paged as in the server.
fn main() {
    agora_gateway::pages::set_up();
    benches();
    Criterion::default().configure_from_args().final_summary();
}

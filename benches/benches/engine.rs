//! Criterion benchmarks of the engine on the mixed workload: one thread
//! with no journal, and through the engine thread's channel.
//!
//! `cargo bench -p agora-benches --bench engine`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use agora_benches::{mixed, replay, MixedConfig};
use agora_engine::{
    Answer, Batch, BatchSink, EngineHandle, Reject, Request, Responder, ThreadOptions,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const COMMANDS: usize = 200_000;

fn single_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/mixed");
    group.sample_size(10);
    for assets in [1, 100] {
        let w = mixed(MixedConfig {
            assets,
            commands: COMMANDS,
            ..MixedConfig::default()
        });
        group.throughput(Throughput::Elements(w.commands.len() as u64));
        group.bench_function(format!("{assets}_assets"), |b| {
            b.iter_batched(
                || w.market.clone(),
                |mut market| replay(&mut market, &w.commands, 1024),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

struct Discard;

impl Responder for Discard {
    fn answer(self, _: Result<Answer, Reject>) {}
}

struct Count(Arc<AtomicUsize>);

impl BatchSink<Discard> for Count {
    fn complete(&mut self, batch: Batch<Discard>) {
        self.0.fetch_add(batch.completions.len(), Ordering::Release);
    }
}

fn through_channel(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine/channel");
    group.sample_size(10);
    let w = mixed(MixedConfig {
        commands: COMMANDS,
        ..MixedConfig::default()
    });
    group.throughput(Throughput::Elements(w.commands.len() as u64));
    group.bench_function("1_asset", |b| {
        b.iter_batched(
            || (w.market.clone(), w.commands.clone()),
            |(market, commands)| {
                let done = Arc::new(AtomicUsize::new(0));
                let engine =
                    EngineHandle::spawn(market, Count(done.clone()), ThreadOptions::default())
                        .expect("spawn engine");
                let sender = engine.sender();
                let total = commands.len();
                let producer = std::thread::spawn(move || {
                    for input in commands {
                        sender
                            .send(Request::Command {
                                input,
                                responder: Discard,
                            })
                            .expect("engine running");
                    }
                });
                while done.load(Ordering::Acquire) < total {
                    std::thread::yield_now();
                }
                producer.join().expect("producer");
                engine.shutdown()
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, single_thread, through_channel);
criterion_main!(benches);

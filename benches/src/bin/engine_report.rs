//! Prints the engine's figures: single-thread throughput and per-command
//! latency on the mixed workload (1 and 100 assets), throughput through the
//! engine thread with its channel, auctions (bids on one hot English
//! auction, 100k auctions closing at one moment), and memory per resting
//! order at 1M resting orders and per fill over 1M fills. `--restart`
//! instead journals 10M commands in RocksDB with a snapshot 1M commands
//! before the end, and times a restart over them.
//!
//! `cargo run --release -p agora-benches --bin engine-report [-- --quick] [--commands N] [--assets N] [--depth N] [--engine-only] [--channel] [--recovery] [--journal] [--memory] [--auctions] [--restart]`

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use agora_benches::JournalRun;
use agora_benches::{mixed, replay, MixedConfig, Workload};
use agora_engine::cmd::{Deposit, PlaceOrder};
use agora_engine::units::{
    AgentId, Amount, Currency, OrderId, Price, Quantity, Symbol, Timestamp, SCALE,
};
use agora_engine::{
    Command, EngineConfig, Input, Market, OrderType, SelfTradePrevention, Side, TimeInForce,
};
use agora_persistence::{
    recover, recover_through, Durability, Journal, MemoryJournal, RocksJournal,
};
use hdrhistogram::Histogram;

/// Counts live heap bytes, to measure memory per resting order, over the
/// allocator the server runs the engine with (mimalloc, on small pages as
/// in the server: see `main`).
struct CountingAlloc;

/// The allocator underneath.
static INNER: mimalloc::MiMalloc = mimalloc::MiMalloc;

static ALLOCATED: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { INNER.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { INNER.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { INNER.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn main() {
    // Memory on 4 KiB pages, as the server keeps it, unless
    // ENGINE_REPORT_HUGE_PAGES is set. On transparent huge pages (mimalloc
    // asks for them), each new 2 MiB the engine wrote held that command
    // 5-13 ms on this project's VMs: through the engine thread (256
    // commands a message, 1 asset), 22 and 55 commands took over 5 ms in
    // two runs, against 2 and 3 on small pages, and the rate was 1.88 and
    // 1.96 M/s against 2.52 and 2.58 (alternating). Single-thread medians
    // were within this machine's noise either way (2.87/2.80, 4.16/4.19,
    // 2.92/3.16 M/s, small/huge, alternating), but small pages fault in
    // 4 KiB at a time on the command that first writes there, which shows
    // in the per-command tail: p99 2.3/1.8/1.6 us against 2.0/1.4/1.6, and
    // p99.9 12.3/7.8/7.3 us against 3.6/2.5/3.4.
    //
    // Freed pages are kept either way, as the server keeps them: most of
    // the longer tail on small pages was mimalloc giving pages back and the
    // engine faulting them in again (p99.9 3.3 and 3.8 us with them kept).
    if std::env::var_os("ENGINE_REPORT_HUGE_PAGES").is_some() {
        agora_gateway::pages::keep_freed_pages();
    } else {
        agora_gateway::pages::set_up();
    }
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let commands = args
        .iter()
        .position(|a| a == "--commands")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(if quick { 200_000 } else { 2_000_000 });
    // `--assets N` runs only the workloads with N books (and skips the
    // memory probe).
    let only: Option<usize> = args
        .iter()
        .position(|a| a == "--assets")
        .and_then(|i| args.get(i + 1)?.parse().ok());
    // `--depth N` runs only the workloads with N resting orders per book.
    let depth: Option<usize> = args
        .iter()
        .position(|a| a == "--depth")
        .and_then(|i| args.get(i + 1)?.parse().ok());
    // (books, resting orders per book): 10k resting orders in one book or
    // spread over 100, and 100 books of 10k each (1M resting orders).
    let shapes = [(1, 10_000), (100, 100), (100, 10_000)];
    // `--engine-only` skips the channel, journal and recovery figures;
    // `--recovery` gives only the recovery figures.
    let engine_only = args.iter().any(|a| a == "--engine-only");
    let recovery_only = args.iter().any(|a| a == "--recovery");
    // `--journal` gives only the journal figures, `--channel` only those
    // through the engine thread without a journal.
    let journal_only = args.iter().any(|a| a == "--journal");
    let channel_only = args.iter().any(|a| a == "--channel");
    if args.iter().any(|a| a == "--restart") {
        restart(if quick { 1_000_000 } else { 10_000_000 });
        return;
    }
    // `--auctions` runs only the auction figures.
    if args.iter().any(|a| a == "--auctions") {
        auctions(if quick { 200_000 } else { 2_000_000 });
        return;
    }
    for (assets, depth_per_book) in shapes
        .into_iter()
        .filter(|(a, d)| only.is_none_or(|n| n == *a) && depth.is_none_or(|n| n == *d))
    {
        let config = MixedConfig {
            assets,
            depth_per_book,
            commands,
            ..MixedConfig::default()
        };
        let started = Instant::now();
        let w = mixed(config);
        println!(
            "\n== mixed workload: {assets} asset(s), {} resting orders per book, {} commands (generated in {:.1?})",
            config.depth_per_book,
            w.commands.len(),
            started.elapsed()
        );
        if recovery_only {
            recovery(&w);
            continue;
        }
        if journal_only {
            through_journal(&w);
            continue;
        }
        if channel_only {
            channel_rates(&w);
            continue;
        }
        let m = w.mix;
        let n = w.commands.len() as f64 / 100.0;
        println!(
            "   mix: {:.1}% adds, {:.1}% cancels, {:.1}% amends, {:.1}% sweeps ({:.1} fills over {:.1} levels each)",
            m.adds as f64 / n,
            m.cancels as f64 / n,
            m.amends as f64 / n,
            m.sweeps as f64 / n,
            m.sweep_fills as f64 / m.sweeps.max(1) as f64,
            m.sweep_levels as f64 / m.sweeps.max(1) as f64,
        );
        throughput(&w);
        latency(&w);
        if !engine_only {
            through_channel(&w);
        }
    }
    if recovery_only || journal_only || channel_only {
        return;
    }
    if only.is_none() && depth.is_none() {
        auctions(if quick { 200_000 } else { 2_000_000 });
    }
    if (only.is_none() && depth.is_none()) || args.iter().any(|a| a == "--memory") {
        memory_per_resting_order(if quick { 100_000 } else { 1_000_000 });
        memory_per_fill(if quick { 100_000 } else { 1_000_000 });
    }
}

/// Bids on one hot English auction, and 100,000 auctions closing at one
/// moment (by as many ticks as that takes), single thread, no journal.
fn auctions(bids: usize) {
    println!("\n== auctions");
    let (market, inputs) = agora_benches::auctions::hot_auction(bids, 1_000);
    let mut rates = Vec::new();
    for _ in 0..5 {
        let mut m = market.clone();
        let started = Instant::now();
        let accepted = replay(&mut m, &inputs, 1024);
        rates.push(inputs.len() as f64 / started.elapsed().as_secs_f64());
        assert_eq!(accepted, inputs.len(), "every bid outbids the last");
    }
    println!(
        "   one hot English auction, {} bids from 1000 bidders: median {:.2} M bids/s, best {:.2} M",
        inputs.len(),
        median(&mut rates) / 1e6,
        range(&rates).1 / 1e6
    );
    let (market, tick) = agora_benches::auctions::closing_auctions(100_000);
    let mut times = Vec::new();
    // One event buffer, warm after the first run, as the engine thread
    // recycles its batches' buffers.
    let mut events = Vec::new();
    let mut ticks = 0;
    for _ in 0..6 {
        let mut m = market.clone();
        events.clear();
        let started = Instant::now();
        ticks = agora_benches::auctions::tick_all(&mut m, &tick, &mut events);
        times.push(started.elapsed());
    }
    let cold = times.remove(0);
    times.sort();
    println!(
        "   100000 English auctions (one bid each) closing at once, closed by {ticks} ticks: median {:.1?}, best {:.1?} (warm event buffer; the first, cold run {:.1?})",
        times[times.len() / 2],
        times[0],
        cold
    );
}

/// Single-thread replays without a journal.
fn throughput(w: &Workload) {
    // The machine's speed drifts from moment to moment: many short runs,
    // reporting the median and the best.
    let mut rates: Vec<f64> = (0..RUNS)
        .map(|_| {
            let mut market = w.served_market();
            let started = Instant::now();
            let accepted = replay(&mut market, &w.commands, 1024);
            let elapsed = started.elapsed();
            assert_eq!(accepted, w.commands.len());
            w.commands.len() as f64 / elapsed.as_secs_f64() / 1e6
        })
        .collect();
    println!(
        "   single thread, no journal: median {:.2} M commands/s, best {:.2} M (of {RUNS} runs)",
        median(&mut rates),
        range(&rates).1
    );
}

/// Repetitions of each throughput measurement.
const RUNS: usize = 9;

/// The kind of a workload command, for per-kind latency.
fn kind(input: &Input) -> usize {
    match &input.command {
        Command::PlaceOrder(p) if p.time_in_force == TimeInForce::Ioc => 3,
        Command::PlaceOrder(_) => 0,
        Command::CancelOrder(_) => 1,
        Command::AmendOrder(_) => 2,
        _ => 4,
    }
}

const KINDS: [&str; 5] = ["add", "cancel", "amend", "sweep", "other"];

/// Per-command latency, each command timed on its own.
fn latency(w: &Workload) {
    let mut market = w.served_market();
    let mut events = Vec::with_capacity(8192);
    let new_hist = || Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).expect("histogram");
    let mut hist = new_hist();
    let mut by_kind: Vec<Histogram<u64>> = KINDS.iter().map(|_| new_hist()).collect();
    let clock = Clock::calibrate();
    let mut overhead = u64::MAX;
    for _ in 0..1000 {
        let t0 = clock.now();
        overhead = overhead.min(clock.now() - t0);
    }
    for (i, input) in w.commands.iter().enumerate() {
        let t0 = clock.now();
        // As `replay` and the engine thread do (the hint is timed too).
        let reply = market.apply_before(input, &w.commands[i + 1..], &mut events);
        let t1 = clock.now();
        std::hint::black_box(reply).ok();
        let nanos = clock.nanos(t1 - t0).max(1);
        hist.saturating_record(nanos);
        by_kind[kind(input)].saturating_record(nanos);
        if i % 1024 == 1023 {
            events.clear();
        }
    }
    println!(
        "   latency per command: p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns (timer: {}, its own overhead ~{} ns included)",
        hist.value_at_quantile(0.50),
        hist.value_at_quantile(0.99),
        hist.value_at_quantile(0.999),
        hist.max(),
        clock.name(),
        clock.nanos(overhead),
    );
    for (name, h) in KINDS.iter().zip(&by_kind) {
        if !h.is_empty() {
            println!(
                "     {name:>6}: p50 {} ns, p99 {} ns, mean {:.0} ns",
                h.value_at_quantile(0.50),
                h.value_at_quantile(0.99),
                h.mean()
            );
        }
    }
}

/// A cheap timestamp counter, calibrated against `Instant`.
struct Clock {
    ns_per_tick: f64,
}

impl Clock {
    fn calibrate() -> Clock {
        let (i0, t0) = (Instant::now(), Self::ticks());
        std::thread::sleep(Duration::from_millis(200));
        let (i1, t1) = (Instant::now(), Self::ticks());
        Clock {
            ns_per_tick: (i1 - i0).as_nanos() as f64 / (t1 - t0) as f64,
        }
    }

    #[cfg(target_arch = "x86_64")]
    fn ticks() -> u64 {
        // SAFETY: RDTSC has no preconditions on x86_64.
        #[allow(unused_unsafe)]
        unsafe {
            std::arch::x86_64::_rdtsc()
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn ticks() -> u64 {
        use std::sync::OnceLock;
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }

    fn now(&self) -> u64 {
        Self::ticks()
    }

    fn nanos(&self, ticks: u64) -> u64 {
        (ticks as f64 * self.ns_per_tick).round() as u64
    }

    fn name(&self) -> &'static str {
        if cfg!(target_arch = "x86_64") {
            "rdtsc"
        } else {
            "Instant"
        }
    }
}

/// The same stream sent by a producer thread through the engine's channel,
/// one command per message and many; then with the journal behind it.
fn through_channel(w: &Workload) {
    channel_rates(w);
    through_journal(w);
    recovery(w);
}

/// Commands per second through the engine thread with nothing behind it,
/// at 1, 16 and 256 commands per message.
fn channel_rates(w: &Workload) {
    for per_message in [1, 16, 256] {
        let rate = channel_rate(w, per_message);
        println!(
            "   through the engine thread (producer on another thread, {per_message} per message): {:.2} M commands/s",
            rate / 1e6
        );
    }
}

/// Commands per second through the engine thread with nothing behind it,
/// `per_message` commands to a message.
fn channel_rate(w: &Workload, per_message: usize) -> f64 {
    let (elapsed, market) =
        agora_benches::through_channel(w.served_market(), w.commands.clone(), per_message);
    market.check_invariants().expect("invariants hold");
    w.commands.len() as f64 / elapsed.as_secs_f64()
}

/// Journals a flooded run is compared in.
const JOURNAL_KINDS: [&str; 3] = ["in memory", "RocksDB, buffered", "RocksDB, sync"];

/// Rounds of flooded runs: each round runs the pipeline with each journal
/// between two runs without one (the one after a round is the one before
/// the next), and each journal's ratio in the round compares it with the
/// mean of those two, so that every ratio compares runs made seconds apart
/// (this machine's speed drifts by a third from minute to minute) and a
/// steady drift within the round weighs on neither side.
const ROUNDS: usize = 5;

/// The stream through the engine thread and the group-commit journal
/// writer: in memory, and in RocksDB buffered and synced, each compared
/// with the same pipeline without a journal (256 commands per message).
fn through_journal(w: &Workload) {
    fn ms(h: &hdrhistogram::Histogram<u64>, q: f64) -> f64 {
        h.value_at_quantile(q) as f64 / 1e6
    }
    // Flooded (as fast as the producer can send) for throughput.
    // In run order: `none[r]` and `none[r + 1]` are either side of round r.
    let mut none = vec![channel_rate(w, 256)];
    let mut rates = vec![Vec::new(); JOURNAL_KINDS.len()];
    for _ in 0..ROUNDS {
        for (k, kind) in JOURNAL_KINDS.into_iter().enumerate() {
            let run = journal_run(w, kind, None);
            rates[k].push(w.commands.len() as f64 / run.elapsed.as_secs_f64());
        }
        none.push(channel_rate(w, 256));
    }
    println!(
        "   through the engine thread, no journal ({} runs, one before and one after each of {ROUNDS} rounds of one run per journal): median {:.2} M commands/s",
        none.len(),
        median(&mut none.clone()) / 1e6
    );
    // Paced at 500k commands/s for the latency a command sees when the
    // pipeline is not queueing behind itself.
    const PACE: f64 = 500_000.0;
    for (k, kind) in JOURNAL_KINDS.into_iter().enumerate() {
        let paced = journal_run(w, kind, Some(PACE)).latencies;
        let mut ratios: Vec<f64> = (rates[k].iter().enumerate())
            .map(|(round, rate)| rate / ((none[round] + none[round + 1]) / 2.0))
            .collect();
        let (low, high) = range(&ratios);
        println!(
            "   + journal ({kind}): median {:.2} M commands/s; {:.0}% of no journal (median of the rounds' ratios, each to the mean of the runs without a journal around it, {:.0}-{:.0}%); at {:.0}k/s send→release p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms",
            median(&mut rates[k]) / 1e6,
            100.0 * median(&mut ratios),
            100.0 * low,
            100.0 * high,
            PACE / 1e3,
            ms(&paced, 0.5),
            ms(&paced, 0.99),
            ms(&paced, 0.999),
        );
    }
}

/// One run of the stream through the engine thread and journal `kind`,
/// flooded or paced at `rate` commands/s.
fn journal_run(w: &Workload, kind: &str, rate: Option<f64>) -> JournalRun {
    fn run<J: Journal>(w: &Workload, journal: J, rate: Option<f64>) -> JournalRun {
        agora_benches::through_journal(w.served_market(), w.commands.clone(), 256, journal, rate)
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let open = |durability| RocksJournal::open(dir.path(), durability).expect("open RocksDB");
    match kind {
        "in memory" => run(w, MemoryJournal::default(), rate),
        "RocksDB, buffered" => run(w, open(Durability::Buffered), rate),
        _ => run(w, open(Durability::Sync), rate),
    }
}

/// The median of `values` (sorted in place).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The smallest and largest of `values`.
fn range(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// A restart over `total` journaled commands (the 1-asset mixed workload
/// in RocksDB, in 1024-command frames) whose newest snapshot is a tenth of
/// them old: what the server does before it listens (open the store,
/// restore the snapshot, replay the rest, check every invariant; the
/// snapshotter's thread then rebuilds its own copy, stores the replayed
/// wallet-ledger entries and logs the digest, timed apart).
fn restart(total: usize) {
    let started = Instant::now();
    let w = mixed(MixedConfig {
        assets: 1,
        depth_per_book: 10_000,
        commands: total,
        ..MixedConfig::default()
    });
    let snapshot_at = total - total / 10;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut journal = RocksJournal::open(dir.path(), Durability::Buffered).expect("open RocksDB");
    let mut market = w.market.clone();
    let mut events = Vec::new();
    for (i, chunk) in w.commands.chunks(1024).enumerate() {
        let first = i * 1024;
        journal
            .append(first as u64 + 1, chunk)
            .expect("journal the commands");
        if first < snapshot_at {
            for input in &chunk[..chunk.len().min(snapshot_at - first)] {
                events.clear();
                market.apply(input, &mut events).expect("accepted");
            }
            if first + chunk.len() >= snapshot_at {
                journal
                    .save_snapshot(snapshot_at as u64, &market.snapshot())
                    .expect("save the snapshot");
            }
        }
    }
    drop(journal);
    println!(
        "
== restart over {total} journaled commands, snapshot {} commands old (prepared in {:.1?})",
        total - snapshot_at,
        started.elapsed()
    );
    {
        // The snapshot's parts, apart: reading it from the store, and
        // decoding it (with the invariant checks).
        let journal = RocksJournal::open(dir.path(), Durability::Sync).expect("reopen RocksDB");
        let started = Instant::now();
        journal.snapshots().expect("list the snapshots");
        let listed = started.elapsed();
        let started = Instant::now();
        let bytes = journal
            .load_snapshot(snapshot_at as u64)
            .expect("read the snapshot");
        let read = started.elapsed();
        let started = Instant::now();
        Market::from_snapshot(&bytes).expect("decode the snapshot");
        println!(
            "   its snapshot: {:.0} MB, listed in {listed:.2?}, read in {read:.2?}, decoded and checked in {:.2?}",
            bytes.len() as f64 / 1e6,
            started.elapsed()
        );
    }
    let started = Instant::now();
    let mut journal = RocksJournal::open(dir.path(), Durability::Sync).expect("reopen RocksDB");
    let opened = started.elapsed();
    let recovered = recover(&journal, w.market.config().clone()).expect("recovers");
    let elapsed = started.elapsed();
    assert_eq!(recovered.last_seq, total as u64);
    println!(
        "   restart: {elapsed:.2?} until it could listen (opening the store {opened:.1?}, recovery {:.2?}: {} commands replayed)",
        recovered.elapsed,
        recovered.replayed,
    );
    // What the server's snapshotter thread then does while the engine
    // serves: rebuild its own copy the same way, store the history
    // (wallet-ledger entries, finished orders) of the replayed records,
    // and log the digest.
    let started = Instant::now();
    let copy = recover_through(&journal, w.market.config().clone(), recovered.last_seq)
        .expect("rebuilds the copy");
    journal
        .add_history(&copy.history, copy.last_seq)
        .expect("store the history");
    let digest = copy.market.state_digest();
    println!(
        "   then in the background: the snapshotter's copy rebuilt, {} wallet-ledger entries and {} finished orders stored and the digest logged in {:.2?}",
        copy.history.ledger.len(),
        copy.history.orders.len(),
        started.elapsed()
    );
    assert_eq!(recovered.market.state_digest(), digest);
}

/// Recovery speed: decoding and replaying a journal of the whole stream on
/// top of a snapshot of the starting market.
fn recovery(w: &Workload) {
    let mut journal = MemoryJournal::default();
    journal
        .save_snapshot(0, &w.market.snapshot())
        .expect("memory journal");
    for (i, chunk) in w.commands.chunks(1024).enumerate() {
        journal
            .append(i as u64 * 1024 + 1, chunk)
            .expect("memory journal");
    }
    // The first run starts on memory the process never touched (as a
    // restarted server does); the later ones on memory it reuses. Each
    // gives the whole rate and the journal's replay rate (decoding and
    // applying the records), the snapshot restore and the final check of
    // the state's invariants (one walk over the state, whatever the
    // number of records) timed on their own.
    let runs: Vec<(f64, f64, Duration, Duration)> = (0..3)
        .map(|_| {
            let recovered = recover(&journal, w.market.config().clone()).expect("recovers");
            assert_eq!(recovered.replayed, w.commands.len() as u64);
            let n = recovered.replayed as f64 / 1e6;
            let replaying = recovered.elapsed - recovered.restoring - recovered.checking;
            (
                n / recovered.elapsed.as_secs_f64(),
                n / replaying.as_secs_f64(),
                recovered.restoring,
                recovered.checking,
            )
        })
        .collect();
    let [first, second, third] = [runs[0], runs[1], runs[2]];
    println!(
        "   recovery (snapshot + decode and replay of the journal + check): first run {:.2} M commands/s, then {:.2} and {:.2} M",
        first.0, second.0, third.0
    );
    println!(
        "     of which replay alone: {:.2}, {:.2} and {:.2} M commands/s; restoring the snapshot {:.1?}, {:.1?} and {:.1?}; checking the state {:.1?}, {:.1?} and {:.1?}",
        first.1, second.1, third.1, first.2, second.2, third.2, first.3, second.3, third.3
    );
}

/// What a snapshot of `market` costs: copying the state (so a snapshot
/// can be encoded off the engine thread), encoding it, and restoring it.
fn snapshot_costs(market: &Market) {
    let started = Instant::now();
    let copy = market.clone();
    let cloned = started.elapsed();
    let started = Instant::now();
    let bytes = copy.snapshot();
    let encoded = started.elapsed();
    let started = Instant::now();
    let restored = Market::from_snapshot(&bytes).expect("snapshot restores");
    let restore = started.elapsed();
    assert_eq!(restored.state_digest(), market.state_digest());
    println!(
        "   snapshot: {:.1} MB; copying the state {:.1?}, encoding {:.1?}, restoring (with invariant checks) {:.1?}",
        bytes.len() as f64 / 1e6,
        cloned,
        encoded,
        restore
    );
}

/// A market where agents 1 to 1,000 hold ample credits, for the memory
/// probes.
fn funded_market() -> Market {
    let mut market = Market::new(EngineConfig::default());
    let mut events = Vec::new();
    let credits = Currency::new("CREDITS").expect("currency");
    for agent in 1..=1_000 {
        let deposit = Command::Deposit(Deposit {
            agent: AgentId(agent),
            currency: credits,
            amount: Amount(i64::MAX / 2_000),
        });
        let input = Input {
            time: Timestamp(0),
            command: deposit,
        };
        market.apply(&input, &mut events).expect("deposit");
    }
    market
}

/// Places order `i` for one unit of asset `MEM` at `ticks`, by `agent`, at
/// time `i`; it must be accepted.
fn place_unit(market: &mut Market, i: u64, agent: u64, side: Side, ticks: i64) {
    let input = Input {
        time: Timestamp(i as i64),
        command: Command::PlaceOrder(PlaceOrder {
            order_id: OrderId(i),
            agent: AgentId(agent),
            asset: Symbol::new("MEM").expect("symbol"),
            side,
            order_type: OrderType::Limit,
            price: Some(Price(ticks * SCALE / 10_000)),
            quantity: Quantity(SCALE),
            time_in_force: TimeInForce::Gtc,
            client_order_id: None,
            stp: SelfTradePrevention::CancelResting,
        }),
    };
    let mut events = Vec::new();
    market.apply(&input, &mut events).expect("order accepted");
}

/// Heap bytes per resting order, measured with a counting allocator.
fn memory_per_resting_order(orders: u64) {
    let mut market = funded_market();
    // Buys below sells over 10,000 levels a side: every order rests.
    let place = |market: &mut Market, i: u64| {
        let level = (i / 2) % 10_000;
        let (side, ticks) = if i.is_multiple_of(2) {
            (Side::Sell, 200_000 + level as i64)
        } else {
            (Side::Buy, 100_000 - level as i64)
        };
        place_unit(market, i, 1 + i % 1_000, side, ticks);
    };
    // Register the asset and a first order before measuring.
    place(&mut market, 0);
    let before = ALLOCATED.load(Ordering::Relaxed);
    for i in 1..=orders {
        place(&mut market, i);
    }
    let after = ALLOCATED.load(Ordering::Relaxed);
    market.check_invariants().expect("invariants hold");
    println!(
        "\n== memory: {} resting orders take {:.1} MB of heap: {:.1} bytes per resting order",
        orders,
        (after - before) as f64 / 1e6,
        (after - before) as f64 / orders as f64
    );
    snapshot_costs(&market);
}

/// Heap and snapshot bytes per order-book fill: each fill opens an
/// escrowed transaction, which the market keeps for good (finished orders
/// and recent trades it keeps only up to a bound, so over many fills
/// they add next to nothing).
fn memory_per_fill(fills: u64) {
    let mut market = funded_market();
    // A sell rests, then a buy from another agent takes it whole.
    let fill = |market: &mut Market, i: u64| {
        place_unit(market, 2 * i, 1 + i % 1_000, Side::Sell, 100_000);
        place_unit(market, 2 * i + 1, 1 + (i + 1) % 1_000, Side::Buy, 100_000);
    };
    fill(&mut market, 0);
    let (before, snapshot_before) = (ALLOCATED.load(Ordering::Relaxed), market.snapshot().len());
    for i in 1..=fills {
        fill(&mut market, i);
    }
    let after = ALLOCATED.load(Ordering::Relaxed);
    market.check_invariants().expect("invariants hold");
    let snapshot = market.snapshot().len() - snapshot_before;
    println!(
        "== memory: {} fills (each an escrowed transaction) take {:.1} MB of heap: {:.1} bytes per fill; the snapshot grows {:.1} bytes per fill",
        fills,
        (after - before) as f64 / 1e6,
        (after - before) as f64 / fills as f64,
        snapshot as f64 / fills as f64
    );
}

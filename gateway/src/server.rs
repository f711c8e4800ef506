//! Start-up and the accept loop: recover the market from the journal,
//! start the engine and journal threads, serve HTTP/1.1 and HTTP/2 until
//! asked to stop, then drain: stop accepting, finish in-flight requests,
//! let the engine apply what it was sent and the journal sync it.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agora_engine::agents::KeyHash;
use agora_engine::units::{Amount, Currency};
use agora_engine::{
    Ack, Answer, Command, EngineConfig, EngineHandle, Market, Query, ThreadOptions,
};
use agora_persistence::{
    recover, recover_through, spawn_snapshotter, ArchiveProgress, Durability, Journal,
    JournalWriter, RocksJournal, SnapshotPolicy, SnapshotThread, StartingCopy, WriterOptions,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::auth::{hash_key, hex, new_key};
use crate::config::{DurabilityMode, ServeConfig};
use crate::disk::DiskGuard;
use crate::engine_link::{Deliver, EngineLink, Waiter};
use crate::error::ApiError;
use crate::http::{parse_query, Call, Out};
use crate::limits::{per_minute, per_second, Limiter};
use crate::metrics::Metrics;
use crate::money::Fixed;
use crate::routes::{handle, Health, State};

/// Why the server could not start.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// The operator key's hash: from the configuration, or from
/// `<data_dir>/operator.key`, which is created (readable by the owner
/// only) with a new random key the first time.
fn operator_key(config: &ServeConfig) -> Result<KeyHash, StartError> {
    if let Some(key) = &config.operator_key {
        return Ok(hash_key(key));
    }
    let path = config.data_dir.join("operator.key");
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(hash_key(key.trim()));
    }
    let (key, hash) = new_key();
    write_private(&path, &key)
        .map_err(|e| format!("cannot write the operator key to {}: {e}", path.display()))?;
    info!(path = %path.display(), "generated the operator key");
    Ok(hash)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

fn signup_credits(config: &ServeConfig) -> Result<Option<(Currency, Amount)>, StartError> {
    let amount: Fixed =
        serde_json::from_value(serde_json::Value::String(config.signup_credits.clone()))
            .map_err(|e| format!("--signup-credits: {e}"))?;
    let currency =
        Currency::new(&config.signup_currency).map_err(|e| format!("--signup-currency {e}"))?;
    match amount.0 {
        0 => Ok(None),
        a if a > 0 => Ok(Some((currency, Amount(a)))),
        _ => Err("--signup-credits must not be negative".into()),
    }
}

/// Runs the server until `shutdown` resolves, then drains and returns.
/// `on_listening` is told the bound address (useful with port 0).
pub async fn serve(
    config: ServeConfig,
    on_listening: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    raise_open_files_limit();
    // The address first: if it is taken, nothing else has started yet.
    let listener =
        listen(config.listen).map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let data_dir = config.data_dir.display();
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create the data directory {data_dir}: {e}"))?;
    let operator_key = operator_key(&config)?;
    let signup_credits = signup_credits(&config)?;
    let durability = match config.durability {
        DurabilityMode::Sync => Durability::Sync,
        DurabilityMode::Buffered => Durability::Buffered,
    };
    let path = config.data_dir.join("journal");
    let journal = if config.repair {
        warn!("--repair: a damaged journal is cut at the damage");
        RocksJournal::open_repairing(&path, durability)
    } else {
        RocksJournal::open(&path, durability)
    }
    .map_err(|e| match e.to_string() {
        // RocksDB's lock on the store: another server has it open.
        locked if locked.contains("lock file") => {
            format!("the data directory {data_dir} is in use by another agora process ({locked})")
        }
        other => format!("cannot open the journal in {data_dir}: {other}"),
    })?;
    for seq in journal.unfinished_snapshots_dropped() {
        warn!(seq, "dropped a snapshot a crash cut short");
    }
    let recovered = recover(&journal, EngineConfig::default())?;
    for (seq, reason) in &recovered.snapshots_skipped {
        warn!(seq, reason, "skipped a snapshot");
    }
    info!(
        snapshot = ?recovered.snapshot,
        replayed = recovered.replayed,
        last_seq = recovered.last_seq,
        elapsed_ms = recovered.elapsed.as_millis() as u64,
        snapshot_ms = recovered.restoring.as_millis() as u64,
        check_ms = recovered.checking.as_millis() as u64,
        "recovered the market"
    );
    let mut market = recovered.market;
    market.reserve_orders(config.reserve_orders);
    // Nothing on the engine thread's side reads postings: the
    // snapshotter's copy reports them and stores the wallet ledger.
    market.leave_out_postings();
    let Ok(Answer::ApiKeys(keys)) = market.query(&Query::ApiKeys) else {
        unreachable!("the key query answers keys")
    };
    let uuids = market.agents().iter().map(|a| a.uuid).collect();
    let terms_in_force = market.terms().clone();
    let Ok(Answer::Stats(stats)) = market.query(&Query::Stats) else {
        unreachable!("the stats query answers stats")
    };

    let metrics = Arc::new(Metrics::default());
    let deliver = Deliver {
        metrics: metrics.clone(),
    };
    let options = WriterOptions {
        sync_interval: Duration::from_millis(config.sync_interval_ms.max(1)),
        group_window: Duration::from_micros(config.group_commit_us),
        ..WriterOptions::default()
    };
    let policy = SnapshotPolicy {
        every_commands: config.snapshot_every.max(1),
        every: Duration::from_secs(config.snapshot_interval_s.max(1)),
        unfilled_orders_kept: (config.unfilled_order_retention_s > 0)
            .then(|| Duration::from_secs(config.unfilled_order_retention_s)),
        ..SnapshotPolicy::default()
    };
    let history = Arc::new(journal.share());
    let archived = ArchiveProgress::default();
    // Off the start-up path, on the snapshotter's thread: its own copy of
    // the market, rebuilt as recovery built the engine's (copying the
    // engine's would hold start-up for a second at millions of
    // transactions), the history of the replayed records that a crash
    // kept from the store (history may trail the journal anyway), and the
    // recovered state's digest.
    let through = recovered.last_seq;
    let starting_copy: StartingCopy<RocksJournal> = Box::new(move |journal| {
        let copy = recover_through(journal, EngineConfig::default(), through)?;
        journal.add_history(&copy.history, through)?;
        info!(digest = %hex(&copy.market.state_digest()), "recovered state digest");
        Ok(copy.market)
    });
    let (feed, snapshotter) = spawn_snapshotter(
        starting_copy,
        recovered.last_seq,
        journal.share(),
        policy,
        archived.clone(),
    )?;
    let (writer, writer_thread) = JournalWriter::spawn(
        journal,
        recovered.last_seq + 1,
        deliver,
        options,
        Some(feed),
    )?;
    let journal_running = Arc::new(AtomicBool::new(true));
    // Told when the journal fails: the server then stops, as it cannot
    // acknowledge anything any more, so that a supervisor restarts it and
    // recovery rebuilds exactly what the journal holds.
    let journal_failed = Arc::new(tokio::sync::Notify::new());
    let journal_done = {
        let flag = journal_running.clone();
        let failed = journal_failed.clone();
        std::thread::Builder::new()
            .name("agora-journal-watch".into())
            .spawn(move || {
                let outcome = match writer_thread.join() {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("the journal writer panicked".to_string()),
                };
                flag.store(false, Ordering::Relaxed);
                if let Err(e) = &outcome {
                    error!(error = %e, "the journal failed: stopping; nothing it did not write was acknowledged");
                    failed.notify_one();
                }
                outcome
            })?
    };
    let pipeline = Pipeline {
        engine: EngineHandle::spawn(market, writer, ThreadOptions::default())?,
        journal_done,
        snapshotter,
    };

    let disk = Arc::new(DiskGuard::new(
        config.data_dir.clone(),
        config.min_free_disk_mb,
    ));
    let state = Arc::new(State {
        link: EngineLink::new(pipeline.engine.sender(), stats.order_id_max, disk.clone()),
        directory: crate::auth::Directory::new(keys, uuids),
        metrics,
        key_limits: Limiter::new(per_second(config.rate_limit, config.rate_burst)),
        register_limits: Limiter::new(per_minute(config.register_per_minute)),
        address_limits: Limiter::new(per_second(config.rate_limit, config.rate_burst)),
        operator_key,
        signup_credits,
        health: Health {
            data_dir: config.data_dir.clone(),
            journal_running,
            disk: disk.clone(),
        },
        history,
        archived,
        public_url: config.public_url.clone(),
        listen: listener.local_addr()?,
    });

    let terms = config.terms();
    if terms != terms_in_force {
        let command = Command::SetTerms(Box::new(terms.clone()));
        let refused: Option<StartError> = match state.link.run(command).await {
            Ok((Ok(_), _)) => None,
            Ok((Err(e), _)) => Some(
                format!(
                    "the trade terms were refused: {}",
                    crate::error::ApiError::from(e).message
                )
                .into(),
            ),
            Err(e) => Some(format!("the engine stopped: {}", e.message).into()),
        };
        if let Some(error) = refused {
            drop(state);
            pipeline.stop().await?;
            return Err(error);
        }
        info!(?terms, "new trade terms in force");
    }

    check_disk(&disk);
    let local = state.listen;
    info!(address = %local, "listening");
    on_listening(local);

    let header_timeout = Duration::from_secs(config.header_timeout_s.max(1));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    let served = Served {
        state,
        builder,
        limits: BodyLimits {
            bytes: config.body_limit,
            time: header_timeout,
        },
    };
    let graceful = GracefulShutdown::new();
    // Told when the server stops, so connections still waiting for their
    // first bytes end at once.
    let (stopping, _) = tokio::sync::watch::channel(());
    let mut connections = JoinSet::new();
    let mut sweep = tokio::time::interval(Duration::from_secs(60));
    // Measured just before listening: the next measurement is due after
    // an interval, not at once.
    let mut disk_check = tokio::time::interval_at(
        tokio::time::Instant::now() + DISK_CHECK_INTERVAL,
        DISK_CHECK_INTERVAL,
    );
    // How long accepting pauses after failing for lack of resources.
    let mut accept_pause = Duration::ZERO;
    // Time reaches the engine as ticks: deadlines (auto-release, refunds,
    // expiries) are acted on within one tick of passing.
    let mut tick = tokio::time::interval(TICK_INTERVAL);
    let ticking = Arc::new(AtomicBool::new(false));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => {
                        accept_pause = Duration::ZERO;
                        a
                    }
                    Err(e) => {
                        match pause_after(&e, accept_pause) {
                            Some(pause) => {
                                if accept_pause.is_zero() {
                                    warn!(error = %e, "cannot accept connections: pausing until some close (raise the open-files limit, ulimit -n, for more)");
                                }
                                accept_pause = pause;
                                tokio::time::sleep(pause).await;
                            }
                            None => debug!(error = %e, "a connection failed before it was accepted"),
                        }
                        continue;
                    }
                };
                connections.spawn(serve_connection(
                    stream,
                    peer,
                    served.clone(),
                    graceful.watcher(),
                    stopping.subscribe(),
                ));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = tick.tick() => {
                // One run of ticks at a time. A tick with nothing due is
                // refused and never journaled; one acts on a bounded number
                // of deadlines, so a backlog takes several in a row.
                if !ticking.swap(true, Ordering::AcqRel) {
                    let state = served.state.clone();
                    let ticking = ticking.clone();
                    tokio::spawn(async move {
                        while let Ok((Ok(Ack::Ticked { more: true, .. }), _)) =
                            state.link.run(Command::Tick).await
                        {}
                        ticking.store(false, Ordering::Release);
                    });
                }
            }
            _ = disk_check.tick() => {
                let disk = disk.clone();
                tokio::task::spawn_blocking(move || check_disk(&disk));
            }
            _ = sweep.tick() => {
                served.state.key_limits.forget_idle();
                served.state.register_limits.forget_idle();
                served.state.address_limits.forget_idle();
            }
            () = &mut shutdown => break,
            () = journal_failed.notified() => break,
        }
    }
    drop(listener);
    stopping.send_replace(());
    info!("shutting down: finishing in-flight requests");
    let grace = Duration::from_secs(config.shutdown_grace_s);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        warn!("in-flight requests outlived the grace period; closing them");
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    // The connections have ended: this was the server's hold on the
    // engine's channel, so the engine can stop.
    drop(served);
    let market = pipeline.stop().await?;
    info!(digest = %hex(&market.state_digest()), "stopped; the journal is synced");
    Ok(())
}

/// The threads behind the engine's channel. They are stopped in order
/// on every way out once started: returning while one of them still
/// works in RocksDB would let the process's exit tear the store down
/// under it.
struct Pipeline {
    engine: EngineHandle<Waiter>,
    /// Ends when the journal writer does: cleanly, or with what failed.
    journal_done: std::thread::JoinHandle<Result<(), String>>,
    snapshotter: SnapshotThread,
}

impl Pipeline {
    /// Once every other sender to the engine is dropped: applies what was
    /// sent, lets the journal sync it and the snapshotter finish, and
    /// returns the final market.
    async fn stop(self) -> Result<Market, StartError> {
        let Pipeline {
            engine,
            journal_done,
            snapshotter,
        } = self;
        let market = tokio::task::spawn_blocking(move || engine.shutdown()).await?;
        let flushed = tokio::task::spawn_blocking(move || journal_done.join()).await?;
        // The writer's end drops the snapshotter's feed: it ends too, with
        // a last snapshot after a clean stop.
        match tokio::task::spawn_blocking(move || snapshotter.join()).await? {
            Ok(Ok(seq)) => info!(snapshot = ?seq, "snapshotter stopped"),
            Ok(Err(e)) => warn!(error = %e, "snapshots stopped early"),
            Err(_) => warn!("the snapshotter panicked"),
        }
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Err(format!(
                    "{e}; nothing after what the journal holds was acknowledged, \
                     and a restart recovers exactly that"
                )
                .into())
            }
            Err(_) => return Err("the journal watch thread panicked".into()),
        }
        Ok(market)
    }
}

/// How often the engine hears the time.
const TICK_INTERVAL: Duration = Duration::from_millis(250);

/// Connections the kernel completes and queues for the accept loop. The
/// usual 128 (tokio's, as the standard library's) overflowed when 256
/// clients connected at once: the kernel dropped the surplus handshakes,
/// and those clients waited a full second for their retry (TCP's first
/// retransmission timeout), a p99 of 600 ms in an open-loop run at
/// 10k orders/s. The kernel caps it at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `address` and listens on it with [`LISTEN_BACKLOG`].
fn listen(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As tokio's own bind: a restarted server need not wait for the old
    // one's connections to leave TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Raises the soft limit on open files to the hard one: every connection
/// is a file, and the usual soft limit (1,024) is soon reached by a busy
/// server while the hard one is commonly far higher.
fn raise_open_files_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let (Some(current), Some(maximum)) = (limit.current, limit.maximum) else {
        return;
    };
    if current >= maximum {
        return;
    }
    let raised = Rlimit {
        current: Some(maximum),
        maximum: Some(maximum),
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => info!(from = current, to = maximum, "raised the open-files limit"),
        Err(e) => warn!(error = %e, limit = current, "cannot raise the open-files limit"),
    }
}

/// After a failed accept, how long to pause before accepting again, if at
/// all. Running out of file descriptors (or kernel memory) lasts until
/// connections close, so accepting again at once only spins: a server
/// allowed 128 files logged a million failed accepts in three seconds. A
/// connection that failed while waiting to be accepted concerns only
/// itself.
fn pause_after(error: &std::io::Error, previous: Duration) -> Option<Duration> {
    let starved = matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    );
    starved.then(|| (previous * 2).clamp(ACCEPT_PAUSE_MIN, ACCEPT_PAUSE_MAX))
}

/// The first pause after accepting failed for lack of resources; each
/// failure in a row doubles it, up to `ACCEPT_PAUSE_MAX`.
const ACCEPT_PAUSE_MIN: Duration = Duration::from_millis(5);
const ACCEPT_PAUSE_MAX: Duration = Duration::from_millis(500);

/// How often the free space on the data directory's disk is measured.
const DISK_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Measures the free space under the data directory, and says when
/// commands start or stop being refused for lack of it.
fn check_disk(disk: &DiskGuard) {
    let was_low = disk.low();
    match disk.measure() {
        Ok(free) if disk.low() && !was_low => warn!(
            free_mb = free >> 20,
            "the data directory's disk is nearly full: commands are refused until space is freed (--min-free-disk-mb)"
        ),
        Ok(free) if was_low && !disk.low() => {
            info!(free_mb = free >> 20, "disk space freed: commands are taken again")
        }
        Ok(_) => {}
        Err(e) => warn!(error = %e, "cannot measure the free space under the data directory"),
    }
}

/// What every connection is served with.
#[derive(Clone)]
struct Served {
    state: Arc<State>,
    builder: auto::Builder<TokioExecutor>,
    limits: BodyLimits,
}

/// Serves the connection `stream` from `peer` until it closes (or, once
/// the server stops, until its requests in flight are answered). It first
/// waits at most the header timeout (`limits.time`) for its first byte,
/// and ends at once if the server stops meanwhile: hyper-util's auto
/// connection runs no timer while it waits for the first bytes (HTTP/1 or
/// HTTP/2?), so a peer that connected and sent nothing held its
/// connection, a file, for good.
async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    Served {
        state,
        builder,
        limits,
    }: Served,
    watcher: hyper_util::server::graceful::Watcher,
    mut stopping: tokio::sync::watch::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    let mut first = [0u8; 1];
    tokio::select! {
        sent = tokio::time::timeout(limits.time, stream.peek(&mut first)) => {
            if !matches!(sent, Ok(Ok(1))) {
                return;
            }
        }
        _ = stopping.changed() => return,
    }
    let service = service_fn(move |request| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(answer(&state, request, peer, limits).await) }
    });
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let _ = watcher.watch(connection.into_owned()).await;
}

/// How much body a request may send, and how long it may take to.
#[derive(Copy, Clone)]
struct BodyLimits {
    bytes: usize,
    time: Duration,
}

/// Reads a request's body (within `limits`) and answers it.
async fn answer(
    state: &State,
    request: Request<Incoming>,
    peer: SocketAddr,
    limits: BodyLimits,
) -> Response<Full<Bytes>> {
    let body_limit = limits.bytes;
    let (parts, body) = request.into_parts();
    // A request refused before it is routed: counted under its error code.
    let refuse = |error: ApiError, took: Duration| {
        state
            .metrics
            .observe_request(error.code, error.status.as_u16(), took);
        Out::error(&error).into_response()
    };
    let too_large = || {
        refuse(
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The body is larger than {body_limit} bytes; send less."),
            ),
            Duration::ZERO,
        )
    };
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > body_limit as u64) {
        return too_large();
    }
    // A body that stalls would hold its connection for good.
    let read = tokio::time::timeout(limits.time, Limited::new(body, body_limit).collect()).await;
    let Ok(read) = read else {
        return refuse(
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!(
                    "The body did not arrive within {} s; send it whole, at once.",
                    limits.time.as_secs()
                ),
            ),
            limits.time,
        );
    };
    let body = match read {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(_) => {
            return Out::error(&ApiError::new(
                StatusCode::BAD_REQUEST,
                "validation_error",
                "The request body could not be read.",
            ))
            .into_response()
        }
    };
    let mut headers = parts.headers;
    // HTTP/2 names the host in the URI, HTTP/1.1 in `Host`: handlers
    // read `Host`.
    if let Some(authority) = parts.uri.authority() {
        if !headers.contains_key(hyper::header::HOST) {
            if let Ok(host) = authority.as_str().parse() {
                headers.insert(hyper::header::HOST, host);
            }
        }
    }
    let call = Call {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parse_query(parts.uri.query()),
        headers,
        body,
        peer: peer.ip(),
    };
    handle(state, call).await.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepting_pauses_longer_while_resources_stay_short() {
        let starved = std::io::Error::from_raw_os_error(libc::EMFILE);
        let first = pause_after(&starved, Duration::ZERO);
        assert_eq!(first, Some(ACCEPT_PAUSE_MIN));
        assert_eq!(
            pause_after(&starved, ACCEPT_PAUSE_MIN),
            Some(ACCEPT_PAUSE_MIN * 2)
        );
        assert_eq!(
            pause_after(&starved, ACCEPT_PAUSE_MAX),
            Some(ACCEPT_PAUSE_MAX)
        );
        let aborted = std::io::Error::from_raw_os_error(libc::ECONNABORTED);
        assert_eq!(pause_after(&aborted, Duration::ZERO), None);
    }

    #[tokio::test]
    async fn a_burst_of_connections_is_queued_not_dropped() {
        // Far more clients than the usual backlog of 128 connect while
        // nothing accepts: the kernel must complete and queue every one.
        // With the small backlog, the surplus handshakes are dropped and
        // retried only after seconds, so their connects time out here.
        // (As many as the kernel lets a queue hold, where that is fewer.)
        let kernel_max = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(LISTEN_BACKLOG);
        let count = 400.min(kernel_max) as usize;
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let address = listener.local_addr().unwrap();
        let clients = tokio::task::spawn_blocking(move || {
            (0..count)
                .map(|_| std::net::TcpStream::connect_timeout(&address, Duration::from_secs(10)))
                .collect::<Result<Vec<_>, _>>()
        });
        let clients = clients.await.unwrap().expect("every client connects");
        assert_eq!(clients.len(), count);
        drop(listener);
    }
}

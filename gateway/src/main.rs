//! `agora`: the Agora server.

use std::io::IsTerminal;

use agora_gateway::config::{Cli, CliCommand, LogFormat};
use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    agora_gateway::pages::set_up();
    let cli = Cli::parse();
    let CliCommand::Serve(config) = cli.command;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Colours only on a terminal: not into log files and pipes.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.worker_threads())
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("agora: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Before the line below says it listens: see `stop_signal`.
    let stop = {
        let _inside = runtime.enter();
        stop_signal()
    };
    let result = runtime.block_on(agora_gateway::serve(
        config,
        // A line on stdout that scripts and tests can wait for.
        |address| println!("listening on http://{address}"),
        stop,
    ));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agora: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Listens at once for SIGINT (Ctrl-C), SIGTERM and SIGHUP (its terminal
/// closed), and resolves when one of them arrives: each stops the server
/// as cleanly as the others. Listening starts when this is called, not
/// when the future is first polled, so a signal sent the moment the
/// server says it listens finds the handler in place instead of the
/// default action, which would kill the process. A signal that cannot be
/// listened for keeps its default action. Call it inside the runtime.
#[cfg(unix)]
fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut signals: Vec<_> = [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
    ]
    .into_iter()
    .filter_map(|kind| signal(kind).ok())
    .collect();
    std::future::poll_fn(move |cx| {
        if signals.iter_mut().any(|s| s.poll_recv(cx).is_ready()) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
}

/// Resolves on Ctrl-C.
#[cfg(not(unix))]
fn stop_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

// The server allocates per request (bodies, JSON, events); mimalloc's
// thread-local free lists are much cheaper than glibc's malloc under
// many threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

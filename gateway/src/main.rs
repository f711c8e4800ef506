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
    let result = runtime.block_on(agora_gateway::serve(
        config,
        // A line on stdout that scripts and tests can wait for.
        |address| println!("listening on http://{address}"),
        stop_signal(),
    ));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agora: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let (term, hangup) = {
        use tokio::signal::unix::SignalKind;
        (
            unix_signal(SignalKind::terminate()),
            // The terminal it ran in closed: stop as cleanly as on SIGTERM
            // rather than die by the default action.
            unix_signal(SignalKind::hangup()),
        )
    };
    #[cfg(not(unix))]
    let (term, hangup) = (std::future::pending::<()>(), std::future::pending::<()>());
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
        () = hangup => {}
    }
}

/// Resolves when `kind` arrives (never, if it cannot be listened for).
#[cfg(unix)]
async fn unix_signal(kind: tokio::signal::unix::SignalKind) {
    match tokio::signal::unix::signal(kind) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

// The server allocates per request (bodies, JSON, events); mimalloc's
// thread-local free lists are much cheaper than glibc's malloc under
// many threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

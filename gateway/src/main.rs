//! `agora`: the Agora server.

use agora_gateway::config::{Cli, CliCommand};
use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    without_transparent_huge_pages();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let CliCommand::Serve(config) = cli.command;
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

/// Keeps this process's memory on small pages. With transparent huge
/// pages, the first write to each new 2 MiB of heap stops the writing
/// thread while the kernel zeroes the whole page: on this project's
/// virtual machines, whose host takes back freed guest memory, that is
/// about 6 ms, and as the books grow the engine thread took one such stop
/// every few hundred commands. On 4 KiB pages the same work comes in
/// steps of microseconds. Open-loop orders at 12k/s on fresh servers,
/// three alternating rounds: engine batches held over 3 ms 32/25/28 ->
/// 1/1/10; batch endpoint 2.92k/2.72k -> 3.46k/3.33k requests/s; RSS
/// after 10 s of single orders 188-199 -> 118-133 MB.
fn without_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process, which
    // the kernel reads when it backs a page; no memory is touched.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

// The server allocates per request (bodies, JSON, events); mimalloc's
// thread-local free lists are much cheaper than glibc's malloc under
// many threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

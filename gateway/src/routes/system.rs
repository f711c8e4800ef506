//! `GET /health` (the process answers), `GET /readiness` (engine, journal
//! and disk work) and `GET /metrics` (Prometheus text).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agora_engine::{Answer, Query};
use hyper::StatusCode;
use serde_json::json;

use super::State;
use crate::error::ApiError;
use crate::http::Out;

/// What readiness checks.
pub struct Health {
    /// The data directory, which must stay writable.
    pub data_dir: PathBuf,
    /// Cleared when the journal writer stops.
    pub journal_running: Arc<AtomicBool>,
}

/// What an agent reads first: the API in brief.
pub fn llms_txt() -> Out {
    Out::text(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        include_str!("../../static/llms.txt"),
    )
}

/// The process is up.
pub fn health() -> Out {
    Out::text(
        StatusCode::OK,
        "application/json",
        r#"{"status":"healthy"}"#,
    )
}

/// Engine, journal and disk each answer; `503` if any does not.
pub async fn readiness(state: &State) -> Result<Out, ApiError> {
    let engine = tokio::time::timeout(Duration::from_secs(2), state.ask(Query::Stats)).await;
    let engine_ok = matches!(engine, Ok(Ok(Answer::Stats(_))));
    let journal_ok = state.health.journal_running.load(Ordering::Relaxed);
    let probe = state.health.data_dir.join(".readiness-probe");
    let disk_ok = tokio::task::spawn_blocking(move || {
        let written = std::fs::write(&probe, b"ok").is_ok();
        let _ = std::fs::remove_file(&probe);
        written
    })
    .await
    .unwrap_or(false);
    let word = |ok: bool| if ok { "ok" } else { "failing" };
    let ready = engine_ok && journal_ok && disk_ok;
    let body = json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": { "engine": word(engine_ok), "journal": word(journal_ok), "disk": word(disk_ok) },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(Out::json(status, &body))
}

/// Prometheus text exposition.
pub fn metrics(state: &State) -> Out {
    state
        .metrics
        .queue_depth
        .set(state.link.queue_depth() as i64);
    Out::text(
        StatusCode::OK,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        state.metrics.render(),
    )
}

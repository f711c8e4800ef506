//! `GET /health` (the process answers), `GET /readiness` (engine, journal
//! and disk work) and `GET /metrics` (Prometheus text).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agora_engine::{Answer, Query};
use hyper::StatusCode;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;

use super::State;
use crate::disk::DiskGuard;
use crate::error::ApiError;
use crate::http::Out;

/// What readiness checks.
pub struct Health {
    /// The data directory, which must stay writable.
    pub data_dir: PathBuf,
    /// Cleared when the journal writer stops.
    pub journal_running: Arc<AtomicBool>,
    /// The free space on the data directory's disk.
    pub disk: Arc<DiskGuard>,
}

/// The process is up.
pub fn health() -> Out {
    Out::text(
        StatusCode::OK,
        "application/json",
        r#"{"status":"healthy"}"#,
    )
}

/// Engine, journal and disk each answer; if any does not, `503` with the
/// error envelope, its details holding the same checks.
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
    .unwrap_or(false)
        && !state.health.disk.low();
    let ready = engine_ok && journal_ok && disk_ok;
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        checks: Checks {
            engine: Check::of(engine_ok),
            journal: Check::of(journal_ok),
            disk: Check::of(disk_ok),
        },
    };
    if ready {
        return Ok(Out::json(StatusCode::OK, &body));
    }
    let failing: Vec<&str> = [
        ("engine", engine_ok),
        ("journal", journal_ok),
        ("disk", disk_ok),
    ]
    .into_iter()
    .filter(|(_, ok)| !ok)
    .map(|(name, _)| name)
    .collect();
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        format!(
            "Not ready: failing {}; the details give every check.",
            failing.join(", ")
        ),
    )
    .with_details(serde_json::to_value(&body).expect("readiness serializes")))
}

/// Whether the server can take work, and why not.
#[derive(Serialize, JsonSchema)]
pub(super) struct Readiness {
    /// `ready` or `not_ready`.
    status: &'static str,
    checks: Checks,
}

/// Each readiness check.
#[derive(Serialize, JsonSchema)]
struct Checks {
    engine: Check,
    journal: Check,
    disk: Check,
}

/// One readiness check's outcome.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Check {
    Ok,
    Failing,
}

impl Check {
    fn of(ok: bool) -> Check {
        if ok {
            Check::Ok
        } else {
            Check::Failing
        }
    }
}

/// The answer of `GET /health` (a fixed text, for speed).
pub(super) fn health_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"const": "healthy"}},
    })
}

/// Prometheus text exposition.
pub fn metrics(state: &State) -> Out {
    state
        .metrics
        .queue_depth
        .set(state.link.queue_depth() as i64);
    let free = state.health.disk.free();
    state
        .metrics
        .disk_free_bytes
        .set(i64::try_from(free).unwrap_or(i64::MAX));
    Out::text(
        StatusCode::OK,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        state.metrics.render(),
    )
}

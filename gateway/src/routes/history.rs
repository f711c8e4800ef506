//! Reads of the history stored beside the journal (see
//! [`agora_persistence::History`]): wallet ledgers, and the finished
//! orders the market no longer keeps. The market keeps only its most
//! recently finished orders; order lookups and lists fall back to the
//! archive for the rest, waiting, if need be, until it holds every order
//! the market has let go (the snapshotter writes it a little behind the
//! journal). A lookup by order id that finds its order there needs no
//! wait.

use std::time::{Duration, Instant};

use agora_engine::query::OrderView;
use agora_engine::units::{AgentId, OrderId};
use agora_engine::{Answer, EngineConfig, OrderRef, Query};
use agora_persistence::{ArchivePage, Journal, JournalError, RocksJournal};
use serde_json::json;

use super::State;
use crate::error::ApiError;

/// How long a read waits for the archive to catch up before answering
/// `503`: far longer than the snapshotter's usual lag (tens of
/// milliseconds), short enough for a client's timeout.
const CATCH_UP_MAX: Duration = Duration::from_secs(5);

/// How often a waiting read looks at the archive's progress again.
const CATCH_UP_POLL: Duration = Duration::from_millis(2);

/// Runs `read` on the history store, off the runtime's threads (RocksDB
/// reads block).
pub(super) async fn read_history<T: Send + 'static>(
    state: &State,
    read: impl FnOnce(&RocksJournal) -> Result<T, JournalError> + Send + 'static,
) -> Result<T, ApiError> {
    let history = state.history.clone();
    tokio::task::spawn_blocking(move || read(&history))
        .await
        .map_err(|_| ApiError::unavailable())?
        .map_err(|e| {
            tracing::error!(error = %e, "reading the history failed");
            ApiError::unavailable()
        })
}

/// Waits until the archive holds every finished order the market has let
/// go by now: all but the newest `orders_finished_retained_max`.
async fn caught_up(state: &State) -> Result<(), ApiError> {
    let Answer::Stats(stats) = state.ask(Query::Stats).await? else {
        unreachable!("the stats query answers stats")
    };
    let retained = u64::from(EngineConfig::default().orders_finished_retained_max);
    let needed = stats.orders_finished.saturating_sub(retained);
    wait_for_history(state, || state.archived.finished() >= needed).await
}

/// Waits until the history holds what every reply sent so far did (the
/// caller's own acknowledged commands among them): wallet ledgers read
/// after it are as up to date as the caller's last answer.
pub(super) async fn acknowledged_stored(state: &State) -> Result<(), ApiError> {
    wait_for_history(state, || state.archived.covers_acknowledged()).await
}

/// Waits until `done`, for at most [`CATCH_UP_MAX`], saying so to the
/// snapshotter meanwhile.
async fn wait_for_history(state: &State, done: impl Fn() -> bool) -> Result<(), ApiError> {
    if done() {
        return Ok(());
    }
    let _waiting = state.archived.reader_waits();
    let deadline = Instant::now() + CATCH_UP_MAX;
    while !done() {
        if Instant::now() >= deadline {
            return Err(ApiError::new(
                hyper::StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The history is catching up with the market; retry shortly.",
            )
            .with_details(json!({ "retry_after_seconds": 1 })));
        }
        tokio::time::sleep(CATCH_UP_POLL).await;
    }
    Ok(())
}

/// `agent`'s finished order `order` that the market no longer keeps.
pub(super) async fn archived_order(
    state: &State,
    agent: AgentId,
    order: OrderRef,
) -> Result<Option<OrderView>, ApiError> {
    // An order id names one order for good: found in the archive, it is
    // the answer, without asking the market how far the archive must
    // have come. (A client id may since name a newer order the archive
    // does not hold yet, so a lookup by one waits first.)
    if matches!(order, OrderRef::Id(_)) {
        let found = read_history(state, move |h| h.finished_order(agent, &order));
        if let Some(order) = found.await? {
            return Ok(Some(order));
        }
    }
    caught_up(state).await?;
    read_history(state, move |h| h.finished_order(agent, &order)).await
}

/// A page of `agent`'s archived orders after `after` that `keep`
/// accepts (see [`agora_persistence::Journal::finished_orders`]). The
/// market's own finished orders must be asked for first: the wait covers
/// those it had let go by then.
pub(super) async fn archived_orders(
    state: &State,
    agent: AgentId,
    after: Option<OrderId>,
    limit: usize,
    keep: impl Fn(&OrderView) -> bool + Send + 'static,
) -> Result<ArchivePage, ApiError> {
    caught_up(state).await?;
    read_history(state, move |h| {
        h.finished_orders(agent, after, limit, &keep)
    })
    .await
}

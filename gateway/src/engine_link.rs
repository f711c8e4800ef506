//! The gateway's side of the engine channel: it stamps commands with the
//! time, sends them to the engine thread, and awaits their replies, which
//! the journal writer releases only once their batch is durable.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agora_engine::units::{OrderId, Timestamp};
use agora_engine::{
    Ack, Answer, Batch, Command, Event, Input, Query, Reject, Reply, Request, Responder,
};
use agora_persistence::Release;
use crossbeam_channel::{Sender, TrySendError};
use tokio::sync::oneshot;

use crate::disk::DiskGuard;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// What the engine answered.
pub enum Outcome {
    /// A command's reply and the events its answer is built from (see
    /// `answer_events`), once durable, with the answer to the query asked
    /// right after it, if one was.
    Command(Reply, Vec<Event>, Option<Kept>),
    /// A query's answer.
    Query(Result<Answer, Reject>),
}

/// A query's answer kept until its command's reply goes out (boxed: most
/// commands keep none, and every waiter is moved through a batch).
pub type Kept = Box<Result<Answer, Reject>>;

/// The one-shot handle a request waits on.
pub struct Waiter {
    sender: oneshot::Sender<Outcome>,
    kept: Option<Kept>,
}

impl Waiter {
    /// A waiter and the receiver that awaits its outcome.
    fn new() -> (Waiter, oneshot::Receiver<Outcome>) {
        let (sender, receiver) = oneshot::channel();
        (Waiter { sender, kept: None }, receiver)
    }
}

impl Responder for Waiter {
    fn answer(self, answer: Result<Answer, Reject>) {
        let _ = self.sender.send(Outcome::Query(answer));
    }

    fn keep(&mut self, answer: Result<Answer, Reject>) {
        self.kept = Some(Box::new(answer));
    }
}

/// Hands each durable batch's replies to their waiting requests.
pub struct Deliver {
    /// Counts what the batch did.
    pub metrics: Arc<Metrics>,
}

impl Release<Waiter> for Deliver {
    fn release(&mut self, batch: &mut Batch<Waiter>, journal_time: Duration) {
        self.metrics.observe_batch(batch, journal_time);
        for c in batch.completions.drain(..) {
            let events = answer_events(&c.reply, &batch.events[c.events]);
            let outcome = Outcome::Command(c.reply, events, c.responder.kept);
            let _ = c.responder.sender.send(outcome);
        }
    }
}

/// The events of a command that its HTTP answer is built from: an
/// order's acceptance and its trades (the order and its fills). Nothing
/// else, so the journal thread copies (and the HTTP thread frees) no
/// postings and no events of other commands.
fn answer_events(reply: &Reply, events: &[Event]) -> Vec<Event> {
    if !matches!(reply, Ok(Ack::Order(_))) {
        return Vec::new();
    }
    events
        .iter()
        .filter(|e| matches!(e, Event::OrderAccepted(_) | Event::Trade(_)))
        .cloned()
        .collect()
}

/// Wall-clock time in nanoseconds, never going backwards.
#[derive(Default)]
pub struct Clock(AtomicI64);

impl Clock {
    /// The current time, at or after every time this clock gave before.
    pub fn now(&self) -> Timestamp {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let previous = self.0.fetch_max(wall, Ordering::Relaxed);
        Timestamp(wall.max(previous))
    }
}

/// Sends commands and queries to the engine thread.
pub struct EngineLink {
    sender: Sender<Request<Waiter>>,
    clock: Clock,
    next_order_id: AtomicU64,
    /// Commands wait while the disk is nearly full; queries do not.
    disk: Arc<DiskGuard>,
}

impl EngineLink {
    /// A link over `sender`; new orders are numbered above `order_id_max`;
    /// commands are refused while `disk` is low.
    pub fn new(sender: Sender<Request<Waiter>>, order_id_max: u64, disk: Arc<DiskGuard>) -> Self {
        EngineLink {
            sender,
            clock: Clock::default(),
            next_order_id: AtomicU64::new(order_id_max + 1),
            disk,
        }
    }

    /// The time now, as commands are stamped.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A fresh order id.
    pub fn new_order_id(&self) -> OrderId {
        OrderId(self.next_order_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Requests waiting in the engine's channel.
    pub fn queue_depth(&self) -> usize {
        self.sender.len()
    }

    /// Sends without blocking a runtime thread: when the channel is full,
    /// this worker blocks in place (back-pressure) while others run on.
    fn send(&self, request: Request<Waiter>) -> Result<(), ApiError> {
        match self.sender.try_send(request) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(request)) => tokio::task::block_in_place(|| {
                self.sender
                    .send(request)
                    .map_err(|_| ApiError::unavailable())
            }),
            Err(TrySendError::Disconnected(_)) => Err(ApiError::unavailable()),
        }
    }

    /// Sends a request that carries commands: refused while the disk is
    /// low, as nothing could be recorded.
    fn send_commands(&self, request: Request<Waiter>) -> Result<(), ApiError> {
        self.disk.admit()?;
        self.send(request)
    }

    /// Runs one command; resolves once it is durable.
    pub async fn run(&self, command: Command) -> Result<(Reply, Vec<Event>), ApiError> {
        let (responder, rx) = Waiter::new();
        let input = Input {
            time: self.clock.now(),
            command,
        };
        self.send_commands(Request::Command { input, responder })?;
        match rx.await {
            Ok(Outcome::Command(reply, events, _)) => Ok((reply, events)),
            _ => Err(ApiError::unavailable()),
        }
    }

    /// Runs several commands in one hand-off, in order; each gets its own
    /// reply.
    pub async fn run_many(
        &self,
        commands: Vec<Command>,
    ) -> Result<Vec<(Reply, Vec<Event>)>, ApiError> {
        let time = self.clock.now();
        let mut waits = Vec::with_capacity(commands.len());
        let requests = commands
            .into_iter()
            .map(|command| {
                let (responder, rx) = Waiter::new();
                waits.push(rx);
                (Input { time, command }, responder)
            })
            .collect();
        self.send_commands(Request::Commands(requests))?;
        let mut out = Vec::with_capacity(waits.len());
        for rx in waits {
            match rx.await {
                Ok(Outcome::Command(reply, events, _)) => out.push((reply, events)),
                _ => return Err(ApiError::unavailable()),
            }
        }
        Ok(out)
    }

    /// Runs `command` and asks `query` right after it in one hand-off;
    /// resolves once the command is durable, with the answer as the state
    /// was just after the command.
    pub async fn run_then_query(
        &self,
        command: Command,
        query: Query,
    ) -> Result<((Reply, Vec<Event>), Result<Answer, Reject>), ApiError> {
        let (responder, rx) = Waiter::new();
        self.send_commands(Request::CommandThenQuery {
            input: Input {
                time: self.clock.now(),
                command,
            },
            responder,
            query,
        })?;
        match rx.await {
            Ok(Outcome::Command(reply, events, Some(answer))) => Ok(((reply, events), *answer)),
            _ => Err(ApiError::unavailable()),
        }
    }

    /// Asks the engine a question.
    pub async fn query(&self, query: Query) -> Result<Result<Answer, Reject>, ApiError> {
        let (responder, rx) = Waiter::new();
        self.send(Request::Query { query, responder })?;
        match rx.await {
            Ok(Outcome::Query(answer)) => Ok(answer),
            _ => Err(ApiError::unavailable()),
        }
    }
}

//! The gateway's side of the engine channel: it stamps commands with the
//! time, sends them to the engine thread, and awaits their replies, which
//! the journal writer releases only once their batch is durable.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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

/// The handle a command or query answers through.
pub struct Waiter {
    to: ReplyTo,
    kept: Option<Kept>,
}

/// Where a waiter's outcome goes.
enum ReplyTo {
    /// The request that sent it alone awaits it.
    Own(oneshot::Sender<Outcome>),
    /// One command of a request that sent many: its place among their
    /// outcomes.
    Slot(Slot),
}

impl Waiter {
    /// A waiter and the receiver that awaits its outcome.
    fn new() -> (Waiter, oneshot::Receiver<Outcome>) {
        let (sender, receiver) = oneshot::channel();
        let to = ReplyTo::Own(sender);
        (Waiter { to, kept: None }, receiver)
    }
}

impl ReplyTo {
    fn deliver(self, outcome: Outcome) {
        match self {
            ReplyTo::Own(sender) => {
                let _ = sender.send(outcome);
            }
            ReplyTo::Slot(slot) => slot.fill(outcome),
        }
    }
}

impl Responder for Waiter {
    fn answer(self, answer: Result<Answer, Reject>) {
        self.to.deliver(Outcome::Query(answer));
    }

    fn keep(&mut self, answer: Result<Answer, Reject>) {
        self.kept = Some(Box::new(answer));
    }
}

/// The outcomes of a request's many commands, gathered as they come, and
/// one signal once all are in: one allocation and one wake-up per
/// request, not one per command (a batch request holds up to a hundred).
type Gathered = Mutex<Gathering>;

/// What a [`Gathered`] holds.
struct Gathering {
    outcomes: Vec<Option<Outcome>>,
    missing: usize,
    /// Sent once every outcome is in; dropped unsent as soon as one
    /// command's waiter is dropped unanswered (its batch was never made
    /// durable), so the request fails at once instead of waiting forever.
    all_in: Option<oneshot::Sender<()>>,
}

/// One command's place in a [`Gathered`].
struct Slot {
    gathered: Arc<Gathered>,
    index: usize,
    filled: bool,
}

impl Slot {
    fn fill(mut self, outcome: Outcome) {
        let mut gathering = self.gathered.lock().unwrap_or_else(PoisonError::into_inner);
        gathering.outcomes[self.index] = Some(outcome);
        gathering.missing -= 1;
        if gathering.missing == 0 {
            if let Some(all_in) = gathering.all_in.take() {
                let _ = all_in.send(());
            }
        }
        drop(gathering);
        self.filled = true;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.filled {
            let mut gathering = self.gathered.lock().unwrap_or_else(PoisonError::into_inner);
            gathering.all_in = None;
        }
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
            let kept = c.responder.kept;
            c.responder
                .to
                .deliver(Outcome::Command(c.reply, events, kept));
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
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let time = self.clock.now();
        let (all_in, receiver) = oneshot::channel();
        let gathered = Arc::new(Mutex::new(Gathering {
            outcomes: (0..commands.len()).map(|_| None).collect(),
            missing: commands.len(),
            all_in: Some(all_in),
        }));
        let requests = commands
            .into_iter()
            .enumerate()
            .map(|(index, command)| {
                let slot = Slot {
                    gathered: gathered.clone(),
                    index,
                    filled: false,
                };
                let to = ReplyTo::Slot(slot);
                (Input { time, command }, Waiter { to, kept: None })
            })
            .collect();
        self.send_commands(Request::Commands(requests))?;
        receiver.await.map_err(|_| ApiError::unavailable())?;
        let outcomes = std::mem::take(
            &mut gathered
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .outcomes,
        );
        outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Some(Outcome::Command(reply, events, _)) => Ok((reply, events)),
                _ => Err(ApiError::unavailable()),
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use agora_engine::cmd::Deposit;
    use agora_engine::units::{AgentId, Amount, Currency};

    /// A link whose engine is the test: it receives what the link sends.
    fn link() -> (EngineLink, crossbeam_channel::Receiver<Request<Waiter>>) {
        let (sender, engine) = crossbeam_channel::bounded(4);
        let disk = Arc::new(DiskGuard::new(std::env::temp_dir(), 0));
        (EngineLink::new(sender, 0, disk), engine)
    }

    fn deposits(n: u64) -> Vec<Command> {
        (0..n)
            .map(|i| {
                Command::Deposit(Deposit {
                    agent: AgentId(i),
                    currency: Currency::new("CREDITS").unwrap(),
                    amount: Amount(1),
                })
            })
            .collect()
    }

    /// The reply the test engine gives command `i`, told apart by amount.
    fn reply(i: usize) -> Reply {
        Err(Reject::SplitOutOfRange {
            amount: Amount(i as i64),
        })
    }

    /// Runs `run_many` of `n` commands against a test engine that does
    /// `serve` with the waiters it receives.
    fn run_many(
        n: u64,
        serve: impl FnOnce(Vec<Waiter>) + Send + 'static,
    ) -> Result<Vec<(Reply, Vec<Event>)>, ApiError> {
        let (link, engine) = link();
        let engine = std::thread::spawn(move || match engine.recv().unwrap() {
            Request::Commands(list) => serve(list.into_iter().map(|(_, w)| w).collect()),
            _ => panic!("the commands come in one request"),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let replies = runtime.block_on(link.run_many(deposits(n)));
        engine.join().unwrap();
        replies
    }

    #[test]
    fn many_commands_get_their_replies_in_order_whatever_order_they_come_in() {
        let replies = run_many(5, |waiters| {
            let mut waiters: Vec<(usize, Waiter)> = waiters.into_iter().enumerate().collect();
            waiters.reverse();
            for (i, w) in waiters {
                w.to.deliver(Outcome::Command(reply(i), Vec::new(), None));
            }
        })
        .unwrap();
        let got: Vec<Reply> = replies.into_iter().map(|(r, _)| r).collect();
        assert_eq!(got, (0..5).map(reply).collect::<Vec<_>>());
    }

    #[test]
    fn a_command_dropped_unanswered_fails_the_request_at_once() {
        // The engine answers all but one and keeps holding another
        // answered one: the request fails as soon as the one is dropped.
        let failed = run_many(3, |mut waiters| {
            let held = waiters.pop().unwrap();
            let dropped = waiters.pop().unwrap();
            for (i, w) in waiters.into_iter().enumerate() {
                w.to.deliver(Outcome::Command(reply(i), Vec::new(), None));
            }
            drop(dropped);
            std::thread::sleep(Duration::from_millis(50));
            held.to
                .deliver(Outcome::Command(reply(2), Vec::new(), None));
        });
        assert!(matches!(failed, Err(e) if e.status == hyper::StatusCode::SERVICE_UNAVAILABLE));
        // No commands, no hand-off.
        let (link, engine) = link();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(runtime
            .block_on(link.run_many(Vec::new()))
            .unwrap()
            .is_empty());
        assert!(engine.is_empty());
    }
}

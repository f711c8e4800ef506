//! The engine thread: the one owner of the [`Market`]. It drains a bounded
//! channel in batches, applies commands in order, answers queries at once,
//! and hands each batch's replies and events to a [`BatchSink`], which
//! releases them (after making the batch durable, once a journal is in
//! front of it).

use std::ops::Range;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use crate::cmd::Input;
use crate::event::Event;
use crate::market::Market;
use crate::query::{Answer, Query};
use crate::reject::Reject;
use crate::reply::Reply;

/// Something sent to the engine thread, with the handle that gets its
/// answer.
pub enum Request<R> {
    /// A state-changing command; its reply goes out with its batch.
    Command {
        /// The command.
        input: Input,
        /// Who gets the reply.
        responder: R,
    },
    /// Several commands in one message: one channel hand-off instead of
    /// one per command. Replies go out one per command, as for `Command`.
    Commands(Vec<(Input, R)>),
    /// A read-only query, answered at once.
    Query {
        /// The question.
        query: Query,
        /// Who gets the answer.
        responder: R,
    },
    /// A command and a query in one hand-off: the query is answered right
    /// after the command is applied, so it sees the command's effect, and
    /// its answer is kept with the command's responder (see
    /// [`Responder::keep`]) to go out with the command's reply, once its
    /// batch is durable: one wake-up of the caller, not two.
    CommandThenQuery {
        /// The command.
        input: Input,
        /// Who gets the command's reply and the answer.
        responder: R,
        /// The question.
        query: Query,
    },
}

/// Answers a query's caller (a one-shot reply handle).
pub trait Responder: Send + 'static {
    /// Delivers a query's answer.
    fn answer(self, answer: Result<Answer, Reject>);

    /// Keeps the answer to the query of a [`Request::CommandThenQuery`],
    /// to be delivered with the command's reply. Responders that are never
    /// sent such a request drop it.
    fn keep(&mut self, answer: Result<Answer, Reject>) {
        drop(answer);
    }
}

/// A command's reply, waiting for its batch to be released.
pub struct Completion<R> {
    /// Who gets the reply.
    pub responder: R,
    /// The reply.
    pub reply: Reply,
    /// The command's events, as a range of [`Batch::events`].
    pub events: Range<usize>,
}

/// What one batch of commands did.
pub struct Batch<R> {
    /// The commands that changed state, in order: what a journal records.
    /// Rejected commands change nothing and are left out.
    pub inputs: Vec<Input>,
    /// One reply per command, in order.
    pub completions: Vec<Completion<R>>,
    /// Every event of the batch, in order.
    pub events: Vec<Event>,
    /// Whether the engine cut the batch at its size limit with requests
    /// still waiting in its channel: the next batch follows at once.
    pub more_waiting: bool,
}

impl<R> Batch<R> {
    fn with_capacity(commands: usize) -> Self {
        Batch {
            inputs: Vec::with_capacity(commands),
            completions: Vec::with_capacity(commands),
            events: Vec::with_capacity(commands * 4),
            more_waiting: false,
        }
    }
}

/// Spent batches waiting to be reused, so the engine thread does not
/// allocate (and fault in) fresh buffers for every batch.
const BATCHES_POOLED_MAX: usize = 8;

/// Gives spent batches back to the engine thread for reuse.
pub struct Recycler<R>(Sender<Batch<R>>);

impl<R> Clone for Recycler<R> {
    fn clone(&self) -> Self {
        Recycler(self.0.clone())
    }
}

impl<R> Recycler<R> {
    /// Returns `batch` (emptied here) to the pool; dropped if the pool is
    /// full or the engine has stopped.
    pub fn give_back(&self, mut batch: Batch<R>) {
        batch.inputs.clear();
        batch.completions.clear();
        batch.events.clear();
        batch.more_waiting = false;
        let _ = self.0.try_send(batch);
    }
}

/// Receives each applied batch. It must not release a reply or event
/// before the batch's inputs are durable, and should give the batch back
/// through `recycler` once done with it.
pub trait BatchSink<R>: Send + 'static {
    /// Takes one batch, or refuses it with [`SinkStopped`] when the sink
    /// can no longer make batches durable (its journal failed): the engine
    /// thread then stops, since nothing it applies from there on could be
    /// acknowledged.
    fn complete(&mut self, batch: Batch<R>, recycler: &Recycler<R>) -> Result<(), SinkStopped>;
}

/// A [`BatchSink`] has stopped for good (its journal failed). The batch it
/// refused is dropped unreleased, and so are its responders: no caller
/// hears that any of its commands happened.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SinkStopped;

/// How the engine thread runs.
#[derive(Copy, Clone, Debug)]
pub struct ThreadOptions {
    /// Requests the channel holds before senders block.
    pub channel_capacity: usize,
    /// Commands applied before a batch is handed on.
    pub batch_commands_max: usize,
}

impl Default for ThreadOptions {
    fn default() -> Self {
        ThreadOptions {
            // Small enough that the ring and a batch's events stay in cache.
            channel_capacity: 16_384,
            batch_commands_max: 1_024,
        }
    }
}

/// A running engine thread.
pub struct EngineHandle<R> {
    sender: Sender<Request<R>>,
    thread: JoinHandle<Market>,
}

impl<R: Responder> EngineHandle<R> {
    /// Starts the engine thread that owns `market`.
    pub fn spawn<S: BatchSink<R>>(
        market: Market,
        sink: S,
        options: ThreadOptions,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = crossbeam_channel::bounded(options.channel_capacity);
        let thread = std::thread::Builder::new()
            .name("agora-engine".into())
            .spawn(move || run(market, receiver, sink, options.batch_commands_max.max(1)))?;
        Ok(EngineHandle { sender, thread })
    }

    /// A sender for requests. Sending blocks while the channel is full.
    pub fn sender(&self) -> Sender<Request<R>> {
        self.sender.clone()
    }

    /// Stops accepting requests once every sender is dropped, applies what
    /// was already sent, and returns the final state. (If the sink stopped
    /// first, the engine thread has already stopped, dropping what was
    /// still queued: senders see the channel closed.)
    ///
    /// # Panics
    /// If the engine thread panicked (a broken invariant).
    pub fn shutdown(self) -> Market {
        drop(self.sender);
        self.thread.join().expect("engine thread panicked")
    }
}

fn run<R: Responder, S: BatchSink<R>>(
    mut market: Market,
    receiver: Receiver<Request<R>>,
    mut sink: S,
    batch_max: usize,
) -> Market {
    let (recycled, pool) = crossbeam_channel::bounded(BATCHES_POOLED_MAX);
    let recycler = Recycler(recycled);
    // `recv` fails only when every sender is gone and the queue is drained.
    while let Ok(first) = receiver.recv() {
        let mut batch = pool
            .try_recv()
            .unwrap_or_else(|_| Batch::with_capacity(batch_max));
        let mut request = Some(first);
        let mut commands = 0;
        while let Some(next) = request.take() {
            match next {
                Request::Command { input, responder } => {
                    apply(&mut market, &mut batch, input, None, responder);
                    commands += 1;
                }
                Request::Commands(list) => {
                    commands += list.len();
                    let mut list = list.into_iter();
                    while let Some((input, responder)) = list.next() {
                        let upcoming = list.as_slice().iter().map(|(next, _)| next);
                        apply(&mut market, &mut batch, input, upcoming, responder);
                    }
                }
                Request::Query { query, responder } => responder.answer(market.query(&query)),
                Request::CommandThenQuery {
                    input,
                    responder,
                    query,
                } => {
                    apply(&mut market, &mut batch, input, None, responder);
                    commands += 1;
                    let answer = market.query(&query);
                    let done = batch.completions.last_mut();
                    done.expect("apply records a completion")
                        .responder
                        .keep(answer);
                }
            }
            if commands < batch_max {
                request = receiver.try_recv().ok();
            }
        }
        batch.more_waiting = commands >= batch_max && !receiver.is_empty();
        if batch.completions.is_empty() {
            recycler.give_back(batch);
        } else if sink.complete(batch, &recycler).is_err() {
            // Nothing applied from here on could be made durable: stop, so
            // that every sender sees the channel closed and every request
            // still queued is dropped unanswered.
            break;
        }
    }
    market
}

/// Applies one command (hinting at those known to follow it) and records
/// it, its reply and its events in `batch`.
fn apply<'a, R>(
    market: &mut Market,
    batch: &mut Batch<R>,
    input: Input,
    upcoming: impl IntoIterator<Item = &'a Input>,
    responder: R,
) {
    let start = batch.events.len();
    let reply = market.apply_before(&input, upcoming, &mut batch.events);
    if reply.is_ok() {
        batch.inputs.push(input);
    }
    batch.completions.push(Completion {
        responder,
        reply,
        events: start..batch.events.len(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::{Command, Deposit};
    use crate::config::EngineConfig;
    use crate::reply::Ack;
    use crate::units::{AgentId, Amount, Currency, Timestamp};

    /// Sends each answer back over a channel.
    struct Reply(crossbeam_channel::Sender<Result<Answer, Reject>>);

    impl Responder for Reply {
        fn answer(self, answer: Result<Answer, Reject>) {
            let _ = self.0.send(answer);
        }
    }

    /// Hands every batch to the test.
    struct Forward(crossbeam_channel::Sender<Batch<u64>>);

    impl Responder for u64 {
        fn answer(self, _: Result<Answer, Reject>) {}
    }

    impl BatchSink<u64> for Forward {
        fn complete(&mut self, batch: Batch<u64>, _: &Recycler<u64>) -> Result<(), SinkStopped> {
            self.0.send(batch).map_err(|_| SinkStopped)
        }
    }

    impl BatchSink<Reply> for Forward {
        fn complete(
            &mut self,
            batch: Batch<Reply>,
            recycler: &Recycler<Reply>,
        ) -> Result<(), SinkStopped> {
            recycler.give_back(batch);
            Ok(())
        }
    }

    /// A responder whose answer waits until the test opens its gate, if
    /// it has one: a query answered through it holds the engine thread.
    struct Held(Option<crossbeam_channel::Receiver<()>>);

    impl Responder for Held {
        fn answer(self, _: Result<Answer, Reject>) {
            if let Some(gate) = self.0 {
                let _ = gate.recv();
            }
        }
    }

    /// Tells the test, for every batch, whether more requests were waiting.
    struct MoreWaiting(crossbeam_channel::Sender<bool>);

    impl BatchSink<Held> for MoreWaiting {
        fn complete(
            &mut self,
            batch: Batch<Held>,
            recycler: &Recycler<Held>,
        ) -> Result<(), SinkStopped> {
            self.0.send(batch.more_waiting).map_err(|_| SinkStopped)?;
            recycler.give_back(batch);
            Ok(())
        }
    }

    /// A sink whose journal has failed: it refuses every batch.
    struct Failed;

    impl BatchSink<u64> for Failed {
        fn complete(&mut self, _: Batch<u64>, _: &Recycler<u64>) -> Result<(), SinkStopped> {
            Err(SinkStopped)
        }
    }

    /// An engine thread with default options over an empty market.
    fn engine_over_empty_market<R: Responder, S: BatchSink<R>>(sink: S) -> EngineHandle<R> {
        EngineHandle::spawn(
            Market::new(EngineConfig::default()),
            sink,
            ThreadOptions::default(),
        )
        .unwrap()
    }

    fn deposit(agent: u64, amount: i64) -> Input {
        Input {
            time: Timestamp(1),
            command: Command::Deposit(Deposit {
                agent: AgentId(agent),
                currency: Currency::new("CREDITS").unwrap(),
                amount: Amount(amount),
            }),
        }
    }

    #[test]
    fn a_batch_cut_at_its_limit_with_requests_waiting_says_more_follow() {
        let (flags, seen) = crossbeam_channel::unbounded();
        let options = ThreadOptions {
            channel_capacity: 16,
            batch_commands_max: 2,
        };
        let engine = EngineHandle::spawn(
            Market::new(EngineConfig::default()),
            MoreWaiting(flags),
            options,
        )
        .unwrap();
        let sender = engine.sender();
        // A query whose answer waits holds the engine while two messages
        // of three commands queue up behind it.
        let (open, gate) = crossbeam_channel::bounded(0);
        let query = Request::Query {
            query: crate::Query::Stats,
            responder: Held(Some(gate)),
        };
        sender.send(query).unwrap();
        let three =
            |agent| Request::Commands((0..3).map(|_| (deposit(agent, 1), Held(None))).collect());
        sender.send(three(1)).unwrap();
        sender.send(three(2)).unwrap();
        open.send(()).unwrap();
        // The first message fills a batch with the second still waiting;
        // the second fills one with nothing behind it.
        assert!(seen.recv().unwrap());
        assert!(!seen.recv().unwrap());
        // A batch closed because the channel ran dry says nothing follows.
        let one = Request::Command {
            input: deposit(3, 1),
            responder: Held(None),
        };
        sender.send(one).unwrap();
        assert!(!seen.recv().unwrap());
        drop(sender);
        engine.shutdown();
    }

    #[test]
    fn commands_from_many_threads_are_applied_in_batches_and_drained_on_shutdown() {
        // Every accepted command comes back exactly once, in order per
        // producer, and shutdown applies all that was sent.
        let (tx, rx) = crossbeam_channel::unbounded();
        let options = ThreadOptions {
            channel_capacity: 16,
            batch_commands_max: 8,
        };
        let engine =
            EngineHandle::spawn(Market::new(EngineConfig::default()), Forward(tx), options)
                .unwrap();
        let producers: Vec<_> = (1..=4u64)
            .map(|agent| {
                let sender = engine.sender();
                std::thread::spawn(move || {
                    let requests = (0..500u64).map(|i| {
                        let amount = if i == 7 { -1 } else { 1 };
                        (deposit(agent, amount), agent * 1_000 + i)
                    });
                    if agent == 4 {
                        // This producer sends its commands 30 to a message.
                        let all: Vec<_> = requests.collect();
                        for chunk in all.chunks(30) {
                            sender.send(Request::Commands(chunk.to_vec())).unwrap();
                        }
                    } else {
                        for (input, responder) in requests {
                            sender.send(Request::Command { input, responder }).unwrap();
                        }
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let market = engine.shutdown();
        let batches: Vec<Batch<u64>> = rx.try_iter().collect();
        let mut seen: Vec<u64> = Vec::new();
        for batch in &batches {
            // A batch closes once it holds 8 commands; a message of 30 may overrun it.
            assert!(batch.completions.len() < 8 + 30);
            let accepted = batch.completions.iter().filter(|c| c.reply.is_ok()).count();
            assert_eq!(
                batch.inputs.len(),
                accepted,
                "only accepted commands are journaled"
            );
            for c in &batch.completions {
                assert_eq!(c.reply.is_ok(), c.responder % 1_000 != 7);
                assert!(matches!(
                    c.reply,
                    Ok(Ack::FundsMoved { .. }) | Err(Reject::AmountNotPositive)
                ));
                seen.push(c.responder);
            }
        }
        assert_eq!(seen.len(), 2_000);
        for agent in 1..=4u64 {
            let mine: Vec<u64> = seen
                .iter()
                .copied()
                .filter(|r| r / 1_000 == agent)
                .collect();
            assert!(
                mine.windows(2).all(|w| w[0] < w[1]),
                "per-producer order kept"
            );
            let balances = market
                .query(&Query::Balances {
                    agent: AgentId(agent),
                })
                .unwrap();
            assert!(matches!(balances, Answer::Balances(b) if b[0].1.available == Amount(499)));
        }
    }

    #[test]
    fn queries_are_answered_by_the_engine_thread() {
        let (tx, _rx) = crossbeam_channel::unbounded();
        let engine = engine_over_empty_market(Forward(tx));
        let (answer_tx, answer_rx) = crossbeam_channel::bounded(1);
        let query = Query::Balances { agent: AgentId(9) };
        engine
            .sender()
            .send(Request::Query {
                query,
                responder: Reply(answer_tx),
            })
            .unwrap();
        assert_eq!(answer_rx.recv().unwrap(), Ok(Answer::Balances(Vec::new())));
        engine.shutdown();
    }

    /// Keeps the answer a `CommandThenQuery` leaves with its command.
    #[derive(Default)]
    struct Keeper(Option<Result<Answer, Reject>>);

    impl Responder for Keeper {
        fn answer(self, _: Result<Answer, Reject>) {
            panic!("a command's responder is not answered at once");
        }
        fn keep(&mut self, answer: Result<Answer, Reject>) {
            self.0 = Some(answer);
        }
    }

    /// Hands every batch of `Keeper`s to the test.
    struct Hand(crossbeam_channel::Sender<Batch<Keeper>>);

    impl BatchSink<Keeper> for Hand {
        fn complete(
            &mut self,
            batch: Batch<Keeper>,
            _: &Recycler<Keeper>,
        ) -> Result<(), SinkStopped> {
            self.0.send(batch).map_err(|_| SinkStopped)
        }
    }

    #[test]
    fn a_query_after_a_command_sees_it_and_waits_with_its_reply() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let engine = engine_over_empty_market(Hand(tx));
        let sender = engine.sender();
        for amount in [5, -1] {
            sender
                .send(Request::CommandThenQuery {
                    input: deposit(3, amount),
                    responder: Keeper::default(),
                    query: Query::Balances { agent: AgentId(3) },
                })
                .unwrap();
        }
        drop(sender);
        engine.shutdown();
        let completions: Vec<_> = rx.try_iter().flat_map(|b| b.completions).collect();
        assert_eq!(completions.len(), 2);
        for c in completions {
            // Both see the first deposit; the refused second one changed nothing.
            let Some(Ok(Answer::Balances(balances))) = c.responder.0 else {
                panic!("the answer is kept with the command's reply");
            };
            assert_eq!(balances[0].1.available, Amount(5));
        }
    }

    #[test]
    fn a_sink_that_stops_stops_the_engine_thread_and_closes_its_channel() {
        // The first batch is refused: the engine thread ends without
        // panicking, senders then find the channel closed (so callers hear
        // the market is unavailable, not silence), and shutdown still
        // returns the market.
        let engine = engine_over_empty_market(Failed);
        let sender = engine.sender();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut sent = 0u64;
        while sender
            .send(Request::Command {
                input: deposit(1, 5),
                responder: sent,
            })
            .is_ok()
        {
            sent += 1;
            assert!(
                std::time::Instant::now() < deadline,
                "the engine thread kept taking requests"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(sent >= 1, "the first request was taken");
        drop(sender);
        engine.shutdown();
    }
}

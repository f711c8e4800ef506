//! Idle CPU priority for a background thread that must still keep up.
//!
//! The snapshotter's replay and history writes are a tenth to a fifth of
//! the server's CPU under load, and none of it is on any request's path.
//! At normal priority it took the CPU from the threads that answer
//! requests whenever both were runnable; under Linux's `SCHED_IDLE` it
//! runs in the moments they leave the CPU idle (waiting on the journal's
//! syncs, say). But a thread at idle priority may starve while other work
//! fills the CPUs: the history it writes (wallet ledgers, finished orders)
//! would trail the market without bound, and once the thread lags by its
//! feed's capacity the writer waits, holding every acknowledgement behind
//! it. So the thread stays idle only while it keeps up: whoever hands it
//! work ([`IdlePriority::boost_if_behind`]), and a watch thread of its
//! own every 50 ms (or half `lag_max`), put it back to normal priority
//! when it has not caught up for `lag_max` or work piles up, and the
//! thread returns to idle ([`IdlePriority::caught_up`]) once it has
//! caught up.
//!
//! Leaving `SCHED_IDLE` needs `CAP_SYS_NICE` or an `RLIMIT_NICE` that
//! allows nice 0. Where the process may not, the thread never goes idle
//! (it could not come back); elsewhere than Linux it never does either.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How often the watch looks at most: a reader waiting on the thread
/// waits about this long for its boost.
const WATCH_EVERY_MAX: Duration = Duration::from_millis(50);

/// One background thread's priority, shared by the thread and whoever
/// hands it work.
#[derive(Debug)]
pub(crate) struct IdlePriority {
    /// The thread's kernel id; 0 until it took idle priority.
    thread: AtomicI32,
    /// Whether the thread is at idle priority now.
    idle: AtomicBool,
    /// What `caught_up_at` counts from.
    epoch: Instant,
    /// When the thread last had (almost) nothing waiting, in microseconds
    /// since `epoch`.
    caught_up_at: AtomicU64,
    /// Work waiting longer than this boosts the thread.
    lag_max: Duration,
    /// This much work waiting boosts the thread.
    backlog_max: usize,
    /// Set when the thread gives up idle priority for good: its watch
    /// ends.
    stopped: AtomicBool,
}

/// Returned by [`IdlePriority::take`]: dropping it (as the background
/// thread ends) stops the watch.
#[must_use]
pub(crate) struct Taken(Arc<IdlePriority>);

impl Drop for Taken {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::Release);
    }
}

impl IdlePriority {
    /// The priority of a thread that may keep work waiting for at most
    /// about `lag_max`, and at most `backlog_max` items of it, at idle
    /// priority.
    pub fn new(lag_max: Duration, backlog_max: usize) -> Self {
        IdlePriority {
            thread: AtomicI32::new(0),
            idle: AtomicBool::new(false),
            epoch: Instant::now(),
            caught_up_at: AtomicU64::new(0),
            lag_max,
            backlog_max,
            stopped: AtomicBool::new(false),
        }
    }

    /// On the background thread: moves it to idle priority, if this
    /// process may move it back, and starts a watch that boosts it when
    /// it falls behind, measuring its backlog with `backlog`.
    pub fn take(self: &Arc<Self>, backlog: impl Fn() -> usize + Send + 'static) -> Taken {
        let taken = Taken(Arc::clone(self));
        if !reversible() {
            return taken;
        }
        // Spawned before the thread goes idle, so the watch (which
        // inherits its priority) runs at normal priority.
        let watched = Arc::clone(self);
        let watch = std::thread::Builder::new()
            .name("agora-idle-watch".into())
            .spawn(move || {
                while !watched.stopped.load(Ordering::Acquire) {
                    std::thread::sleep((watched.lag_max / 2).min(WATCH_EVERY_MAX));
                    watched.boost_if_behind(backlog());
                }
            });
        if watch.is_ok() {
            self.thread.store(os::current_thread(), Ordering::Relaxed);
            self.caught_up();
        }
        taken
    }

    /// On the background thread, whenever it has (almost) nothing
    /// waiting: notes the time, and returns to idle priority unless it
    /// never took it.
    pub fn caught_up(&self) {
        self.caught_up_at
            .store(self.micros_now(), Ordering::Relaxed);
        let thread = self.thread.load(Ordering::Relaxed);
        if thread != 0 && !self.idle.load(Ordering::Relaxed) && os::set_idle(thread, true) {
            self.idle.store(true, Ordering::Release);
        }
    }

    /// With `backlog` items waiting for the thread: back to normal
    /// priority if that is `backlog_max` or more, or if the thread has
    /// not caught up for `lag_max` (busy, or starved, all that time).
    pub fn boost_if_behind(&self, backlog: usize) {
        if !self.idle.load(Ordering::Acquire) {
            return;
        }
        let since = self.micros_now() - self.caught_up_at.load(Ordering::Relaxed);
        if backlog >= self.backlog_max || since > self.lag_max.as_micros() as u64 {
            self.boost();
        }
    }

    /// Back to normal priority at once.
    fn boost(&self) {
        if self.idle.swap(false, Ordering::AcqRel) {
            os::set_idle(self.thread.load(Ordering::Relaxed), false);
        }
    }

    fn micros_now(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// Whether the thread is at idle priority now.
    #[cfg(test)]
    pub fn is_idle(&self) -> bool {
        self.idle.load(Ordering::Acquire)
    }
}

/// Whether a thread of this process can leave idle priority once it took
/// it: tried once, on a thread of its own.
fn reversible() -> bool {
    static REVERSIBLE: OnceLock<bool> = OnceLock::new();
    *REVERSIBLE.get_or_init(|| {
        std::thread::spawn(|| {
            let me = os::current_thread();
            os::set_idle(me, true) && os::set_idle(me, false)
        })
        .join()
        .unwrap_or(false)
    })
}

#[cfg(target_os = "linux")]
mod os {
    /// The calling thread's kernel id.
    pub fn current_thread() -> i32 {
        // SAFETY: gettid has no preconditions and cannot fail.
        unsafe { libc::gettid() }
    }

    /// Puts thread `thread` of this process at idle (`SCHED_IDLE`) or
    /// normal (`SCHED_OTHER`) priority; answers whether it could.
    pub fn set_idle(thread: i32, idle: bool) -> bool {
        let policy = if idle {
            libc::SCHED_IDLE
        } else {
            libc::SCHED_OTHER
        };
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid sched_param that outlives the call;
        // an unknown thread id or a refused change is an error return.
        unsafe { libc::sched_setscheduler(thread, policy, &param) == 0 }
    }

    /// Whether thread `thread` is at idle priority.
    #[cfg(test)]
    pub fn is_idle(thread: i32) -> bool {
        // SAFETY: a plain query; an unknown thread id is an error return.
        unsafe { libc::sched_getscheduler(thread) == libc::SCHED_IDLE }
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    pub fn current_thread() -> i32 {
        0
    }

    pub fn set_idle(_: i32, _: bool) -> bool {
        false
    }

    #[cfg(test)]
    pub fn is_idle(_: i32) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Runs `priority.take()` on a thread of its own, then each step the
    /// returned closure is given there ("caught up" or "look"), answering
    /// whether the thread is at idle priority after it.
    fn background(
        priority: &Arc<IdlePriority>,
        backlog: &Arc<AtomicUsize>,
    ) -> impl FnMut(&'static str) -> bool {
        let (to_thread, steps) = std::sync::mpsc::channel::<&str>();
        let (answers, from_thread) = std::sync::mpsc::channel();
        let (shared, backlog) = (Arc::clone(priority), Arc::clone(backlog));
        std::thread::spawn(move || {
            let me = os::current_thread();
            let _taken = shared.take(move || backlog.load(Ordering::Relaxed));
            answers.send(os::is_idle(me)).unwrap();
            for step in steps {
                if step == "caught up" {
                    shared.caught_up();
                }
                answers.send(os::is_idle(me)).unwrap();
            }
        });
        assert_eq!(from_thread.recv().unwrap(), reversible());
        move |step| {
            to_thread.send(step).unwrap();
            from_thread.recv().unwrap()
        }
    }

    #[test]
    fn a_backlog_boosts_the_thread_and_catching_up_relaxes_it() {
        let priority = Arc::new(IdlePriority::new(Duration::from_secs(3600), 10));
        let mut step = background(&priority, &Arc::default());
        let can = reversible();
        assert_eq!(
            priority.is_idle(),
            can,
            "idle exactly when it can come back"
        );
        priority.boost_if_behind(9);
        assert_eq!(step("look"), can, "a short backlog leaves it idle");
        priority.boost_if_behind(10);
        assert!(!step("look"), "a long one puts it back to normal priority");
        assert!(!priority.is_idle());
        assert_eq!(step("caught up"), can);
        priority.boost_if_behind(10);
        priority.boost_if_behind(11);
        assert!(!step("look"), "boosting twice is harmless");
    }

    #[test]
    fn a_thread_that_does_not_catch_up_in_time_is_boosted_by_its_watch() {
        let priority = Arc::new(IdlePriority::new(Duration::from_millis(20), usize::MAX));
        let backlog = Arc::new(AtomicUsize::new(1));
        let mut step = background(&priority, &backlog);
        let can = reversible();
        assert_eq!(step("look"), can, "just caught up: idle");
        // No sender boosts it: its watch does, once 20 ms have passed
        // without it catching up.
        while priority.is_idle() {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!step("look"));
        assert_eq!(step("caught up"), can, "idle again once caught up");
    }

    #[test]
    fn the_watch_boosts_the_thread_when_its_backlog_grows() {
        let priority = Arc::new(IdlePriority::new(Duration::from_secs(3600), 5));
        let backlog = Arc::new(AtomicUsize::new(0));
        let mut step = background(&priority, &backlog);
        let can = reversible();
        assert_eq!(step("look"), can);
        // Nobody hands it work; its watch sees the backlog.
        backlog.store(5, Ordering::Relaxed);
        while priority.is_idle() {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!step("look"));
    }

    #[test]
    fn the_watch_ends_with_the_thread() {
        let priority = Arc::new(IdlePriority::new(Duration::from_millis(2), usize::MAX));
        let taken = std::thread::spawn({
            let priority = Arc::clone(&priority);
            move || priority.take(|| 0)
        })
        .join()
        .unwrap();
        assert!(!priority.stopped.load(Ordering::Acquire));
        drop(taken);
        assert!(priority.stopped.load(Ordering::Acquire));
        // The watch holds the only other reference; it lets go within a
        // tick.
        while Arc::strong_count(&priority) > 1 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_thread_that_never_took_idle_priority_stays_normal() {
        let priority = IdlePriority::new(Duration::ZERO, 0);
        priority.caught_up();
        assert!(!priority.is_idle());
        assert!(!os::is_idle(os::current_thread()));
        priority.boost_if_behind(1);
        assert!(!os::is_idle(os::current_thread()));
    }
}

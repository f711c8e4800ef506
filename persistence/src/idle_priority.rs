//! Idle CPU priority for a background thread that must still keep up.
//!
//! The snapshotter's replay and history writes are a tenth to a fifth of
//! the server's CPU under load, and none of it is on any request's path.
//! At normal priority it took the CPU from the threads that answer
//! requests whenever both were runnable; under Linux's `SCHED_IDLE` it
//! runs in the moments they leave the CPU idle (waiting on the journal's
//! syncs, say). But a thread at idle priority may starve while other work
//! fills the CPUs, and the writer waits once the snapshotter lags by its
//! feed's capacity, which would hold every acknowledgement behind the
//! starved thread. So the thread runs idle only while its backlog is
//! short: whoever sees the backlog grow ([`IdlePriority::boost`]) puts it
//! back to normal priority, and the thread itself returns to idle
//! ([`IdlePriority::relax`]) once it has caught up.
//!
//! Leaving `SCHED_IDLE` needs `CAP_SYS_NICE` or an `RLIMIT_NICE` that
//! allows nice 0. Where the process may not, the thread never goes idle
//! (it could not come back); elsewhere than Linux it never does either.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::OnceLock;

/// One background thread's priority, shared by the thread and whoever
/// watches its backlog.
#[derive(Debug, Default)]
pub(crate) struct IdlePriority {
    /// The thread's kernel id; 0 until it took idle priority.
    thread: AtomicI32,
    /// Whether the thread is at idle priority now.
    idle: AtomicBool,
}

impl IdlePriority {
    /// On the background thread: moves it to idle priority, if this
    /// process may move it back.
    pub fn take(&self) {
        if !reversible() {
            return;
        }
        self.thread.store(os::current_thread(), Ordering::Relaxed);
        self.relax();
    }

    /// On the background thread, once it has caught up: back to idle
    /// priority, unless it never took it.
    pub fn relax(&self) {
        let thread = self.thread.load(Ordering::Relaxed);
        if thread != 0 && !self.idle.load(Ordering::Relaxed) && os::set_idle(thread, true) {
            self.idle.store(true, Ordering::Release);
        }
    }

    /// From any thread, when the background thread lags: back to normal
    /// priority at once.
    pub fn boost(&self) {
        if self.idle.swap(false, Ordering::AcqRel) {
            os::set_idle(self.thread.load(Ordering::Relaxed), false);
        }
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
    use std::sync::Arc;

    #[test]
    fn a_thread_goes_idle_is_boosted_from_outside_and_relaxes_again() {
        let priority = Arc::new(IdlePriority::default());
        let (to_thread, steps) = std::sync::mpsc::channel::<&str>();
        let (answers, from_thread) = std::sync::mpsc::channel();
        let shared = Arc::clone(&priority);
        let thread = std::thread::spawn(move || {
            let me = os::current_thread();
            for step in steps {
                match step {
                    "take" => shared.take(),
                    "relax" => shared.relax(),
                    _ => {}
                }
                answers.send(os::is_idle(me)).unwrap();
            }
        });
        let step = |name| {
            to_thread.send(name).unwrap();
            from_thread.recv().unwrap()
        };
        let can = reversible();
        assert_eq!(step("take"), can, "idle exactly when it can come back");
        assert_eq!(priority.is_idle(), can);
        priority.boost();
        assert!(!step("look"), "a boost puts it back to normal priority");
        assert!(!priority.is_idle());
        assert_eq!(step("relax"), can);
        priority.boost();
        priority.boost();
        assert!(!step("look"), "boosting twice is harmless");
        drop(to_thread);
        thread.join().unwrap();
    }

    #[test]
    fn a_thread_that_never_took_idle_priority_stays_normal() {
        let priority = IdlePriority::default();
        priority.relax();
        assert!(!priority.is_idle());
        assert!(!os::is_idle(os::current_thread()));
        priority.boost();
        assert!(!os::is_idle(os::current_thread()));
    }
}

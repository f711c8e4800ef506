//! How the process's memory is paged: the server, and the benchmarks that
//! run the engine thread as the server does, keep it on small pages and
//! keep the pages it freed.

/// Pages this process's memory as the server runs it: on small pages
/// ([`keep_small_pages`]), with freed pages kept ([`keep_freed_pages`]).
/// The server and the engine benches call it first thing.
pub fn set_up() {
    keep_small_pages();
    keep_freed_pages();
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
pub fn keep_small_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process, which
    // the kernel reads when it backs a page; no memory is touched.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// mimalloc's `mi_option_purge_delay` (its option enum keeps retired
/// options' slots, so the number is stable; `libmimalloc-sys` names the
/// options on either side, 14 and 16, but not this one).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps the memory mimalloc frees mapped instead of giving it back to the
/// system after a delay. Given back, a page the engine writes again (the
/// books churn: orders rest, fill and go) is faulted in anew on the
/// command that touches it, zeroed by the kernel: on these VMs that
/// lengthened the engine's per-command tail (mixed workload, 1 asset, on
/// 4 KiB pages, alternating runs: p99.9 9.9 and 8.5 us with mimalloc's
/// default, 3.7 and 3.1 us without purging; max 11.4 and 8.5 ms against
/// 3.2 and 0.26 ms). The process keeps its peak footprint instead.
pub fn keep_freed_pages() {
    // SAFETY: sets one of mimalloc's options, which it reads each time it
    // considers purging; no memory is touched.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_set_is_mimallocs_purge_delay() {
        // SAFETY: reads one of mimalloc's options.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        // mimalloc's default purge delay is 1000 ms, which no other option
        // of its has (unless the environment set it).
        let from_env = ["MIMALLOC_PURGE_DELAY", "MIMALLOC_RESET_DELAY"]
            .iter()
            .any(|name| std::env::var_os(name).is_some());
        if !from_env {
            assert_eq!(get(), 1000);
        }
        keep_freed_pages();
        assert_eq!(get(), -1);
    }
}

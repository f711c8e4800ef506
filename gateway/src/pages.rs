//! How the process's memory is paged: the server, and the benchmarks that
//! run the engine thread as the server does, keep it on small pages.

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

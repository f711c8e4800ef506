//! Cache hints: asking the CPU to start loading a line before the engine
//! touches it. A hint never faults and never changes a result, so any
//! address will do, even one past the end of an allocation.

/// Asks the CPU to start loading the cache line holding `address`.
#[inline]
pub(crate) fn prefetch<T>(address: *const T) {
    // SAFETY: SSE is part of every x86_64 CPU, and a prefetch never
    // faults: it only hints at an address.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// How far ahead of an append [`prefetch_ahead`] reaches: eight cache
/// lines, about as far as the appends of a few commands go.
const AHEAD_BYTES: usize = 512;

/// Asks the CPU to bring in, ahead of time, the memory that appends at
/// the end of `items` (whose spare capacity follows it) will write a few
/// appends from now. An append writes a line nothing has touched for a
/// long time, and the CPU's own prefetchers do not run ahead of such
/// stores: on the mixed workload each fill's appends waited on their
/// lines, a tenth of the engine's time.
#[inline]
pub(crate) fn prefetch_ahead<T>(items: &[T]) {
    let step = AHEAD_BYTES / std::mem::size_of::<T>().max(1);
    prefetch(items.as_ptr().wrapping_add(items.len() + step));
}

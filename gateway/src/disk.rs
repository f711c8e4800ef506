//! Free space on the disk that holds the data directory. The journal must
//! never run out of it: the RocksDB this server links asserts (aborting the
//! process) when a write fails for lack of space, and then again on every
//! start until space is freed. So below a floor of free space the server
//! takes no commands, only reads, until space is freed.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use hyper::StatusCode;
use serde_json::json;

use crate::error::ApiError;

/// The free space under the data directory, as last measured, against the
/// floor the server keeps.
pub struct DiskGuard {
    dir: PathBuf,
    /// Bytes kept free; zero turns the guard off.
    floor: u64,
    /// Free bytes at the last measurement (`u64::MAX` before the first).
    free: AtomicU64,
}

impl DiskGuard {
    /// A guard over `dir` that keeps `floor_mb` megabytes (MiB) free.
    pub fn new(dir: PathBuf, floor_mb: u64) -> Self {
        DiskGuard {
            dir,
            floor: floor_mb.saturating_mul(1 << 20),
            free: AtomicU64::new(u64::MAX),
        }
    }

    /// Measures the free space again (what an unprivileged writer may
    /// use) and returns it; on an error the last measurement stands.
    pub fn measure(&self) -> std::io::Result<u64> {
        let stats = rustix::fs::statvfs(&self.dir)?;
        let free = stats.f_bavail.saturating_mul(stats.f_frsize);
        self.free.store(free, Ordering::Relaxed);
        Ok(free)
    }

    /// Free bytes at the last measurement.
    pub fn free(&self) -> u64 {
        self.free.load(Ordering::Relaxed)
    }

    /// Whether the free space is under the floor, so commands are refused.
    pub fn low(&self) -> bool {
        self.free() < self.floor
    }

    /// `Ok` while commands may run; the `503` they get while the disk is
    /// low.
    pub fn admit(&self) -> Result<(), ApiError> {
        if !self.low() {
            return Ok(());
        }
        let mb = |bytes: u64| bytes >> 20;
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!(
                "The disk that holds the market's journal is nearly full ({} MB free; \
                 the server keeps {} MB free), so nothing can be recorded until space \
                 is freed. Reads still work; retry later.",
                mb(self.free()),
                mb(self.floor)
            ),
        )
        // Space is freed by hand: a retry sooner than this would most
        // likely be refused again.
        .with_details(json!({
            "free_bytes": self.free(),
            "min_free_bytes": self.floor,
            "retry_after_seconds": 30,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_refused_only_under_the_floor() {
        let dir = tempfile::tempdir().unwrap();
        let roomy = DiskGuard::new(dir.path().into(), 1);
        assert!(!roomy.low(), "nothing is refused before a measurement");
        assert!(roomy.measure().unwrap() > 1 << 20);
        assert!(roomy.admit().is_ok());
        let full = DiskGuard::new(dir.path().into(), u64::MAX);
        full.measure().unwrap();
        let refused = full.admit().unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.code, "unavailable");
        assert!(
            refused.message.contains("nearly full"),
            "{}",
            refused.message
        );
        let off = DiskGuard::new(dir.path().into(), 0);
        off.measure().unwrap();
        assert!(off.admit().is_ok());
    }

    #[test]
    fn a_directory_that_cannot_be_measured_keeps_the_last_measurement() {
        let guard = DiskGuard::new("/nonexistent/agora-data".into(), 1);
        assert!(guard.measure().is_err());
        assert_eq!(guard.free(), u64::MAX);
        assert!(guard.admit().is_ok());
    }
}

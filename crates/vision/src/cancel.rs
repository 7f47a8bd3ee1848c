//! Stopping work nobody waits for any more. A server runs a request's engine work on a
//! blocking thread under a [`CancelFlag`]; when the request is dropped (its client went
//! away) the flag is raised, and the work ends at its next checkpoint with
//! [`VisionError::Cancelled`]. Checkpoints are before every network run (the detector on
//! one orientation, a descriptor batch, the mesh, liveness), the units of the work.
//!
//! The flag travels in a thread-local set for the closure's duration rather than as an
//! argument of every engine call: the engine's API stays as it is, and code that runs no
//! flag (the CLI, the SDK) is never cancelled.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Result, VisionError};

/// Raised to stop the work run under it.
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn new() -> CancelFlag {
        CancelFlag::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<CancelFlag>> = const { RefCell::new(None) };
}

/// Checkpoints that found their flag raised, since the process started (for tests and
/// metrics).
static STOPPED: AtomicU64 = AtomicU64::new(0);

/// Runs `work` on this thread with `flag` as its cancellation flag.
pub fn run_cancellable<T>(flag: &CancelFlag, work: impl FnOnce() -> T) -> T {
    struct Restore(Option<CancelFlag>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|c| c.borrow_mut().replace(flag.clone()));
    let _restore = Restore(previous);
    work()
}

/// Fails with [`VisionError::Cancelled`] when the current work's flag is raised.
pub fn checkpoint() -> Result<()> {
    let cancelled = CURRENT.with(|c| c.borrow().as_ref().is_some_and(CancelFlag::is_cancelled));
    if cancelled {
        STOPPED.fetch_add(1, Ordering::Relaxed);
        return Err(VisionError::Cancelled);
    }
    Ok(())
}

/// How many times work has been stopped by its flag in this process.
pub fn stopped_count() -> u64 {
    STOPPED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_see_only_their_own_flag() {
        assert!(checkpoint().is_ok());
        let flag = CancelFlag::new();
        run_cancellable(&flag, || {
            assert!(checkpoint().is_ok());
            flag.cancel();
            assert!(matches!(checkpoint(), Err(VisionError::Cancelled)));
        });
        // Outside the closure the thread has no flag again.
        assert!(checkpoint().is_ok());
    }
}

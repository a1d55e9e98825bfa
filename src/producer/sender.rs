//! Where the Java client's async sends wait before they reach the wire, and how they fail when
//! too many wait:
//! - the **async sender executor** (`DefaultMQProducerImpl.defaultAsyncSenderExecutor`):
//!   `availableProcessors` threads and a queue of 50,000. A send waits in the queue for a thread,
//!   and that time counts against its timeout ("DEFAULT ASYNC send call timeout" when it used it
//!   all). A full queue refuses the send at once ("executor rejected "). A thread runs the
//!   synchronous part of a send (`sendDefaultImpl` up to the return of `sendKernelImpl`): the
//!   route lookup, the selection, and in 4.9.8 / 5.1.4 the connect and the wait for an async
//!   permit (in 5.3.x both happen after the thread is free, in a channel-future listener);
//! - the remoting client's **async semaphore** (`NettyRemotingAbstract.semaphoreAsync`, 65,535
//!   permits, `clientAsyncSemaphoreValue`): one permit per request in flight, from its write until
//!   its response, its timeout or its failure; `tryAcquire(timeoutMillis)` waits at most the time
//!   left.
//!
//! Both are FIFO (Java's `LinkedBlockingQueue` and its fair semaphore; tokio's semaphore is
//! fair). A send that finds a free thread or permit takes it without waiting (no future is built).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

/// `LinkedBlockingQueue<Runnable>(50000)` of the default async sender executor.
pub const JAVA_SENDER_QUEUE: usize = 50_000;
/// `NettyClientConfig.clientAsyncSemaphoreValue` (`com.rocketmq.remoting.clientAsyncSemaphoreValue`).
pub const JAVA_ASYNC_PERMITS: usize = 65_535;

/// The sizes; Java's defaults from [`SenderLimits::java`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderLimits {
    /// Executor threads (`Runtime.availableProcessors()`).
    pub threads: usize,
    /// Sends that may wait for a thread.
    pub queue: usize,
    /// Async requests in flight.
    pub permits: usize,
}

impl SenderLimits {
    /// As the Java client sizes them on this machine.
    pub fn java() -> SenderLimits {
        SenderLimits {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            queue: JAVA_SENDER_QUEUE,
            permits: JAVA_ASYNC_PERMITS,
        }
    }
}

impl Default for SenderLimits {
    fn default() -> Self {
        SenderLimits::java()
    }
}

/// `executor.submit` threw `RejectedExecutionException`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected;

/// `tryAcquire` gave up: no permit within the time left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoPermit {
    /// The wait it was given, in ms (0: it could not wait at all, "invoke too fast").
    pub waited_ms: u64,
    /// `getQueueLength()` and `availablePermits()` as it gave up (Java's message prints them).
    pub waiting: usize,
    pub available: usize,
}

pub(super) struct AsyncSender {
    limits: SenderLimits,
    threads: Semaphore,
    /// Sends waiting for a thread.
    queued: AtomicUsize,
    permits: Semaphore,
    /// Sends waiting for a permit (Java: `getQueueLength()`).
    waiting_permits: AtomicUsize,
}

/// A snapshot for views: how full the executor and the semaphore are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenderState {
    pub queued: usize,
    pub threads_busy: usize,
    pub permits_in_use: usize,
    pub waiting_for_permit: usize,
}

impl AsyncSender {
    pub(super) fn new(limits: SenderLimits) -> AsyncSender {
        let limits = SenderLimits {
            threads: limits.threads.clamp(1, Semaphore::MAX_PERMITS),
            queue: limits.queue,
            permits: limits.permits.clamp(1, Semaphore::MAX_PERMITS),
        };
        AsyncSender {
            threads: Semaphore::new(limits.threads),
            queued: AtomicUsize::new(0),
            permits: Semaphore::new(limits.permits),
            waiting_permits: AtomicUsize::new(0),
            limits,
        }
    }

    /// `executor.submit(runnable)`, then the wait until a thread runs it.
    pub(super) async fn thread(&self) -> Result<SemaphorePermit<'_>, Rejected> {
        if let Ok(p) = self.threads.try_acquire() {
            return Ok(p);
        }
        // Every thread is busy: the task joins the queue, if there is room.
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.limits.queue {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(Rejected);
        }
        let _leave = Leave(&self.queued);
        Ok(self.threads.acquire().await.expect("the executor's semaphore is never closed"))
    }

    /// `semaphoreAsync.tryAcquire(wait, MILLISECONDS)`.
    pub(super) async fn permit(&self, wait: Duration) -> Result<SemaphorePermit<'_>, NoPermit> {
        if let Ok(p) = self.permits.try_acquire() {
            return Ok(p);
        }
        let gave_up = |s: &Self| NoPermit {
            waited_ms: wait.as_millis() as u64,
            waiting: s.waiting_permits.load(Ordering::Acquire),
            available: s.permits.available_permits(),
        };
        if wait.is_zero() {
            return Err(gave_up(self));
        }
        self.waiting_permits.fetch_add(1, Ordering::AcqRel);
        let got = {
            let _leave = Leave(&self.waiting_permits);
            tokio::time::timeout(wait, self.permits.acquire()).await
        };
        match got {
            Ok(p) => Ok(p.expect("the async semaphore is never closed")),
            Err(_) => Err(gave_up(self)),
        }
    }

    pub(super) fn state(&self) -> SenderState {
        SenderState {
            queued: self.queued.load(Ordering::Relaxed),
            threads_busy: self.limits.threads - self.threads.available_permits(),
            permits_in_use: self.limits.permits - self.permits.available_permits(),
            waiting_for_permit: self.waiting_permits.load(Ordering::Relaxed),
        }
    }
}

/// Leaves a wait count however the wait ends (also when the send's future is dropped).
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(threads: usize, queue: usize, permits: usize) -> AsyncSender {
        AsyncSender::new(SenderLimits { threads, queue, permits })
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_rejects_at_once_and_a_free_thread_takes_the_oldest() {
        let s = std::sync::Arc::new(small(1, 2, 10));
        let busy = s.thread().await.unwrap();
        let (a, b) = {
            let (s1, s2) = (s.clone(), s.clone());
            let a = tokio::spawn(async move { drop(s1.thread().await.unwrap()) });
            let b = tokio::spawn(async move { drop(s2.thread().await.unwrap()) });
            tokio::task::yield_now().await;
            (a, b)
        };
        assert_eq!(s.state().queued, 2);
        assert_eq!(s.thread().await.unwrap_err(), Rejected, "a third waiting send is refused");
        assert_eq!(s.state().queued, 2, "a refused send leaves the queue as it was");
        drop(busy);
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(s.state(), SenderState::default());
    }

    #[tokio::test(start_paused = true)]
    async fn a_permit_waits_at_most_the_time_left() {
        let s = small(1, 1, 1);
        let held = s.permit(Duration::from_secs(3)).await.unwrap();
        let t0 = tokio::time::Instant::now();
        let e = s.permit(Duration::from_millis(700)).await.unwrap_err();
        assert_eq!(t0.elapsed(), Duration::from_millis(700));
        assert_eq!(e, NoPermit { waited_ms: 700, waiting: 0, available: 0 });
        assert_eq!(s.permit(Duration::ZERO).await.unwrap_err().waited_ms, 0, "no time left: invoke too fast");
        drop(held);
        assert!(s.permit(Duration::ZERO).await.is_ok(), "a free permit needs no wait");
    }
}

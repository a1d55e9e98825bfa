//! What the producer tells the world: every attempt, every completed send, every fault item
//! change, every route change. Views subscribe; the producer never waits for them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::protocol::send::SendStatus;

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// SUCCESS: SEND_OK.
    Ok,
    /// Stored with a non-OK status (FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE).
    Status,
    /// Any other response code: a broker error, not retried on the async path.
    BrokerError,
    /// The request never left: connect or write failed.
    SendFailed,
    /// No response within the attempt's timeout.
    Timeout,
    /// The connection closed while waiting, or anything else.
    Unknown,
    /// A oneway request handed to the connection: no reply comes, nothing more is known.
    Written,
}

impl AttemptOutcome {
    pub fn name(self) -> &'static str {
        match self {
            AttemptOutcome::Ok => "ok",
            AttemptOutcome::Status => "status",
            AttemptOutcome::BrokerError => "broker_error",
            AttemptOutcome::SendFailed => "send_failed",
            AttemptOutcome::Timeout => "timeout",
            AttemptOutcome::Unknown => "unknown",
            AttemptOutcome::Written => "written",
        }
    }

    pub fn is_stored(self) -> bool {
        matches!(self, AttemptOutcome::Ok | AttemptOutcome::Status)
    }
}

/// One attempt of one send.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// 1 for the first attempt.
    pub attempt: u32,
    pub broker: Arc<str>,
    /// The master address the attempt went to, if the route had one.
    pub addr: Option<Arc<str>>,
    /// The queue id in the request header (a retry keeps the first choice's, as Java does).
    pub queue: i32,
    pub opaque: i32,
    /// Time left of the send's timeout when the attempt started.
    pub budget: Duration,
    /// The attempt's own timeout (the budget, or less with an attempt timeout cap).
    pub timeout: Duration,
    pub latency: Duration,
    pub outcome: AttemptOutcome,
    /// The response code, when a response came.
    pub code: Option<i32>,
    /// Why it failed, in the Java client's words.
    pub error: Option<String>,
    /// The Java exception behind the failure.
    pub java_error: Option<super::JavaError>,
    /// The not-available window the fault strategy applied to the broker for this attempt
    /// (zero: none; `None`: fault avoidance off, nothing recorded).
    pub isolation: Option<Duration>,
    /// Whether that moved the broker's not-available-until instant.
    pub fault_moved: bool,
    /// Started at, on the producer's clock.
    pub started: Instant,
}

/// Where a stored message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub status: SendStatus,
    pub broker: Arc<str>,
    /// The queue the broker says it wrote.
    pub queue_id: i32,
    pub queue_offset: i64,
    pub offset_msg_id: String,
}

/// Why a send failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The message is not valid (MESSAGE_ILLEGAL).
    Invalid,
    /// No route: no name server reachable, topic missing, no writable queue.
    NoRoute,
    /// A broker answered with an error code (not retried).
    Broker,
    /// The last attempt could not send.
    SendFailed,
    /// The last attempt timed out (or no time was left).
    Timeout,
    /// The async sender executor's queue was full ("executor rejected "): never attempted.
    Rejected,
    Unknown,
}

impl FailureKind {
    /// The failure a failed attempt without a response makes.
    pub fn of_attempt(outcome: AttemptOutcome) -> FailureKind {
        match outcome {
            AttemptOutcome::SendFailed => FailureKind::SendFailed,
            AttemptOutcome::Timeout => FailureKind::Timeout,
            _ => FailureKind::Unknown,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    pub code: Option<i32>,
    pub message: String,
}

/// A completed send: exactly one per send.
#[derive(Debug, Clone, PartialEq)]
pub struct SendOutcome {
    /// The send's id within this producer, from 1.
    pub send: u64,
    pub topic: Arc<str>,
    /// The client's message id (UNIQ_KEY).
    pub msg_id: String,
    /// When the send really began (the producer took it).
    pub started: Instant,
    /// Wall-clock start, in ms since the epoch (as `System.currentTimeMillis()`).
    pub started_wall_ms: i64,
    /// Its intended start on the load schedule (the open model, `schedule`); None: not on one.
    pub scheduled: Option<Instant>,
    /// What the user waited for: from the intended start when scheduled, else from `started`.
    pub latency: Duration,
    /// From the real start to the end (the producer's own time, whatever held the send back).
    pub service_latency: Duration,
    pub attempts: Vec<AttemptRecord>,
    /// Ok for a oneway send (`oneway`): the request was handed to the connection, and its
    /// `Stored` holds only the broker and queue it went to (no offset, no offset id).
    pub result: Result<Stored, Failure>,
    /// A oneway send (`sendOneway`): no reply awaited, so nothing is known of the broker's side.
    pub oneway: bool,
    /// An ordered send's sharding key (`SelectMessageQueueByHash`'s argument).
    pub sharding_key: Option<Arc<str>>,
    /// A transactional send's end: what END_TRANSACTION said (None: not a transaction, or its
    /// half message was not stored).
    pub transaction: Option<TransactionEnd>,
}

/// What `sendMessageInTransaction` did once its half message was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionEnd {
    /// The local transaction's state END_TRANSACTION carried (ROLLBACK for a stored non-OK
    /// status, as Java).
    pub local: crate::protocol::transaction::LocalState,
    /// Whether END_TRANSACTION was written, or why not (Java logs it and goes on; the broker
    /// will check back).
    pub end: Result<(), String>,
}

impl SendOutcome {
    /// `SEND_OK`, `FLUSH_DISK_TIMEOUT`, …, or `FAILED`.
    pub fn status_name(&self) -> &'static str {
        match &self.result {
            Ok(_) if self.oneway => "ONEWAY",
            Ok(s) => s.status.name(),
            Err(_) => "FAILED",
        }
    }
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }
    /// How late the send started against its schedule (zero when not scheduled).
    pub fn lag(&self) -> Duration {
        self.scheduled.map_or(Duration::ZERO, |s| self.started.saturating_duration_since(s))
    }
}

/// A broker's fault item moved.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultChange {
    pub broker: Arc<str>,
    /// The latency recorded.
    pub latency: Duration,
    /// The window applied.
    pub window: Duration,
    /// Not available before.
    pub available_at: Instant,
    pub reachable: bool,
    /// The send and attempt that caused it (none for the enqueue-time update).
    pub cause: Option<(u64, u32)>,
}

/// Everything a view can see.
#[derive(Debug, Clone)]
pub enum Event {
    Attempt {
        send: u64,
        record: Arc<AttemptRecord>,
    },
    Completed(Arc<SendOutcome>),
    Fault(Arc<FaultChange>),
    Route {
        topic: Arc<str>,
        brokers: Vec<Arc<str>>,
        queues: usize,
    },
    /// Something an operator should know (a name server unreachable, a route kept from cache).
    Warning(String),
    /// This subscriber fell behind and missed this many events; the producer did not wait.
    Lagged(u64),
}

/// Where the producer leaves events for one batch subscriber: a vector the producer appends to
/// under a lock held for one push, and the subscriber takes whole, a few times a frame, by
/// swapping in an empty one. No per-event wake-up, no ring that keeps spent events alive: the
/// cheapest hand-over for a view that drains in batches (the console).
pub(crate) struct BatchBuffer {
    state: std::sync::Mutex<BatchState>,
    notify: tokio::sync::Notify,
    capacity: usize,
}

struct BatchState {
    events: Vec<Event>,
    /// Events dropped because the subscriber did not drain in time.
    lagged: u64,
    closed: bool,
}

impl BatchBuffer {
    pub(crate) fn new(capacity: usize) -> Arc<BatchBuffer> {
        Arc::new(BatchBuffer {
            state: std::sync::Mutex::new(BatchState { events: Vec::new(), lagged: 0, closed: false }),
            notify: tokio::sync::Notify::new(),
            capacity: capacity.max(16),
        })
    }

    /// Appends; never waits for the subscriber. A full buffer drops the event and counts it.
    pub(crate) fn push(&self, e: Event) {
        let mut st = self.state.lock().unwrap();
        if st.events.len() >= self.capacity {
            st.lagged += 1;
            drop(st);
            return;
        }
        st.events.push(e);
        let first = st.events.len() == 1;
        drop(st);
        if first {
            // Only the first event after a drain wakes a waiting subscriber.
            self.notify.notify_one();
        }
    }

    pub(crate) fn close(&self) {
        self.state.lock().unwrap().closed = true;
        self.notify.notify_one();
    }
}

enum Source {
    Broadcast(broadcast::Receiver<Event>),
    Batch { buf: Arc<BatchBuffer>, local: std::collections::VecDeque<Event>, spare: Vec<Event> },
}

/// A subscription that turns falling behind into an [`Event::Lagged`] instead of an error.
pub struct EventStream {
    src: Source,
}

impl EventStream {
    pub(crate) fn new(rx: broadcast::Receiver<Event>) -> Self {
        EventStream { src: Source::Broadcast(rx) }
    }

    pub(crate) fn batched(buf: Arc<BatchBuffer>) -> Self {
        EventStream { src: Source::Batch { buf, local: Default::default(), spare: Vec::new() } }
    }

    /// The next event; `None` once the producer is gone.
    pub async fn recv(&mut self) -> Option<Event> {
        match &mut self.src {
            Source::Broadcast(rx) => match rx.recv().await {
                Ok(e) => Some(e),
                Err(broadcast::error::RecvError::Lagged(n)) => Some(Event::Lagged(n)),
                Err(broadcast::error::RecvError::Closed) => None,
            },
            Source::Batch { buf, .. } => {
                let buf = buf.clone();
                loop {
                    let notified = buf.notify.notified();
                    tokio::pin!(notified);
                    // Registered before looking, so a push between the look and the wait wakes us.
                    notified.as_mut().enable();
                    if let Some(e) = self.try_recv() {
                        return Some(e);
                    }
                    if buf.state.lock().unwrap().closed {
                        // Closed after its last push: whatever came in since the look above.
                        return self.try_recv();
                    }
                    notified.await;
                }
            }
        }
    }

    /// The next event if one is waiting (for draining once per frame).
    pub fn try_recv(&mut self) -> Option<Event> {
        match &mut self.src {
            Source::Broadcast(rx) => match rx.try_recv() {
                Ok(e) => Some(e),
                Err(broadcast::error::TryRecvError::Lagged(n)) => Some(Event::Lagged(n)),
                Err(_) => None,
            },
            Source::Batch { buf, local, spare } => {
                if let Some(e) = local.pop_front() {
                    return Some(e);
                }
                // Take everything the producer left, in one lock.
                let lagged = {
                    let mut st = buf.state.lock().unwrap();
                    if st.events.is_empty() && st.lagged == 0 {
                        return None;
                    }
                    std::mem::swap(&mut st.events, spare);
                    std::mem::take(&mut st.lagged)
                };
                if lagged > 0 {
                    local.push_back(Event::Lagged(lagged));
                }
                local.extend(spare.drain(..));
                local.pop_front()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warning(i: usize) -> Event {
        Event::Warning(i.to_string())
    }
    fn text(e: Event) -> String {
        match e {
            Event::Warning(w) => w,
            Event::Lagged(n) => format!("lagged {n}"),
            other => format!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn batch_stream_keeps_order_counts_what_it_dropped_and_ends_when_closed() {
        let buf = BatchBuffer::new(16);
        let mut s = EventStream::batched(buf.clone());
        assert!(s.try_recv().is_none());
        for i in 0..20 {
            buf.push(warning(i));
        }
        // A full buffer drops and counts; the subscriber hears that first, then what was kept.
        let got: Vec<String> = std::iter::from_fn(|| s.try_recv()).map(text).collect();
        let mut want = vec!["lagged 4".to_string()];
        want.extend((0..16).map(|i| i.to_string()));
        assert_eq!(got, want);
        // Emptied: room again.
        buf.push(warning(99));
        assert_eq!(s.recv().await.map(text).as_deref(), Some("99"));

        // A waiting subscriber is woken by the next push, and sees the end.
        let waiter = tokio::spawn(async move {
            let first = s.recv().await.map(text);
            let end = s.recv().await.map(text);
            (first, end)
        });
        tokio::task::yield_now().await;
        buf.push(warning(7));
        tokio::task::yield_now().await;
        buf.close();
        let (first, end) = tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap();
        assert_eq!(first.as_deref(), Some("7"));
        assert_eq!(end, None);
    }

    /// A pushing thread and a draining one at once: nothing lost uncounted, nothing twice, order
    /// kept.
    #[test]
    fn batch_stream_under_concurrent_push_and_drain() {
        const N: usize = 200_000;
        let buf = BatchBuffer::new(1024);
        let mut s = EventStream::batched(buf.clone());
        let pusher = std::thread::spawn(move || {
            for i in 0..N {
                buf.push(warning(i));
            }
            buf.close();
        });
        let (mut kept, mut lagged, mut last) = (0usize, 0u64, None::<usize>);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            while let Some(e) = s.recv().await {
                match e {
                    Event::Warning(w) => {
                        let i: usize = w.parse().unwrap();
                        assert!(last.is_none_or(|l| i > l), "{i} after {last:?}");
                        last = Some(i);
                        kept += 1;
                    }
                    Event::Lagged(n) => lagged += n,
                    other => panic!("{other:?}"),
                }
            }
        });
        pusher.join().unwrap();
        assert_eq!(kept as u64 + lagged, N as u64);
    }
}

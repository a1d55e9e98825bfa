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
    Unknown,
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
    pub started: Instant,
    /// Wall-clock start, for display.
    pub started_wall: chrono::DateTime<chrono::Local>,
    pub latency: Duration,
    pub attempts: Vec<AttemptRecord>,
    pub result: Result<Stored, Failure>,
}

impl SendOutcome {
    /// `SEND_OK`, `FLUSH_DISK_TIMEOUT`, …, or `FAILED`.
    pub fn status_name(&self) -> &'static str {
        match &self.result {
            Ok(s) => s.status.name(),
            Err(_) => "FAILED",
        }
    }
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
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

/// A subscription that turns falling behind into an [`Event::Lagged`] instead of an error.
pub struct EventStream {
    rx: broadcast::Receiver<Event>,
}

impl EventStream {
    pub(crate) fn new(rx: broadcast::Receiver<Event>) -> Self {
        EventStream { rx }
    }

    /// The next event; `None` once the producer is gone.
    pub async fn recv(&mut self) -> Option<Event> {
        match self.rx.recv().await {
            Ok(e) => Some(e),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(Event::Lagged(n)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next event if one is waiting (for draining once per frame).
    pub fn try_recv(&mut self) -> Option<Event> {
        match self.rx.try_recv() {
            Ok(e) => Some(e),
            Err(broadcast::error::TryRecvError::Lagged(n)) => Some(Event::Lagged(n)),
            Err(_) => None,
        }
    }
}

//! The lines of a recording, and the conversions between them and the producer's events.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::producer::events::{Failure, FailureKind, FaultChange, Stored, TransactionEnd};
use crate::producer::{AttemptOutcome, AttemptRecord, JavaError, SendOutcome};
use crate::protocol::send::SendStatus;
use crate::protocol::transaction::LocalState;

/// The run's settings, echoed in the summary (an addition to the issue's schema) and in the
/// first line of a recording.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Default)]
pub struct RunInfo {
    /// Which command ran: "produce" (absent in the file: recordings before there was a console
    /// one say nothing) or "console".
    #[serde(default = "produce_command", skip_serializing_if = "is_produce_command")]
    pub command: String,
    pub target: String,
    pub topic: String,
    /// The Java client version whose send path ran.
    pub java: String,
    pub fault_table: String,
    pub fault_avoidance: bool,
    pub timeout_ms: u64,
    pub attempt_timeout_ms: Option<u64>,
    pub retries: u32,
    /// open | closed: where `latency_ms` counts from (closed also when no rate is set).
    pub load_model: String,
    /// The rate asked for (null: as fast as the in-flight limit allows).
    pub rate: Option<f64>,
    pub concurrency: usize,
    /// `--stages` / `--burst` (or the scenario's), as written: "stages 10s:100,30s:2000 · burst
    /// 500 every 5s"; absent for a constant rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<String>,
    /// `--threshold` and the scenario's `[[threshold]]`s, as written (absent: none): a report
    /// or a replay of the recording measures them again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<String>,
}

fn produce_command() -> String {
    "produce".into()
}

fn is_produce_command(c: &String) -> bool {
    c == "produce"
}

/// One line of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    /// The first line.
    Run {
        v: u32,
        /// mqtui's version that recorded it.
        mqtui: String,
        /// The run's start, Unix epoch ms.
        started_ms: i64,
        /// Boxed: one such line a recording, the rest of its lines kept small.
        run: Box<RunInfo>,
    },
    Route {
        t_ns: i64,
        topic: String,
        brokers: Vec<String>,
        queues: usize,
    },
    Send(Box<RecSend>),
    Fault(RecFault),
    Injection {
        t_ns: i64,
        broker: String,
        /// As the console shows it ("latency 700ms ±100ms", "down", "none").
        fault: String,
    },
    Settings {
        t_ns: i64,
        rate: Option<f64>,
        concurrency: usize,
        paused: bool,
        model: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shape: Option<String>,
    },
    Warning {
        t_ns: i64,
        text: String,
    },
    /// The recorder fell behind and missed this many events (the producer never waits for it).
    Lagged {
        t_ns: i64,
        missed: u64,
    },
    /// The last line.
    End {
        t_ns: i64,
        /// From the start to the last send's end, as the live summary counted it.
        elapsed_ns: u64,
        #[serde(default)]
        not_started: u64,
        #[serde(default)]
        name_server_lookups: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        aborted_by: Option<String>,
    },
}

impl Line {
    /// When it happened, ns since the run's start (the run line: 0).
    pub fn t_ns(&self) -> i64 {
        match self {
            Line::Run { .. } => 0,
            Line::Send(s) => s.end_ns(),
            Line::Fault(f) => f.t_ns,
            Line::Route { t_ns, .. }
            | Line::Injection { t_ns, .. }
            | Line::Settings { t_ns, .. }
            | Line::Warning { t_ns, .. }
            | Line::Lagged { t_ns, .. }
            | Line::End { t_ns, .. } => *t_ns,
        }
    }
}

/// A completed send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecSend {
    pub send: u64,
    /// Its real start.
    pub t_ns: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_ns: Option<i64>,
    pub latency_ns: u64,
    pub service_latency_ns: u64,
    pub started_ms: i64,
    pub topic: String,
    pub msg_id: String,
    /// SEND_OK | FLUSH_DISK_TIMEOUT | FLUSH_SLAVE_TIMEOUT | SLAVE_NOT_AVAILABLE | FAILED.
    pub status: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub oneway: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_offset: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_msg_id: Option<String>,
    /// A failure's kind: invalid | no_route | broker | send_failed | timeout | rejected | unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharding_key: Option<String>,
    /// COMMIT_MESSAGE | ROLLBACK_MESSAGE | UNKNOW.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_transaction_error: Option<String>,
    pub attempts: Vec<RecAttempt>,
}

/// One attempt of a recorded send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecAttempt {
    pub attempt: u32,
    pub broker: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    pub queue: i32,
    pub opaque: i32,
    pub t_ns: i64,
    pub budget_ns: u64,
    pub timeout_ns: u64,
    pub latency_ns: u64,
    /// ok | status | broker_error | send_failed | timeout | unknown | written.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub java_error: Option<String>,
    /// The window applied (null: fault avoidance off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolated_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fault_moved: bool,
}

/// A broker's fault item moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecFault {
    /// When the window was set.
    pub t_ns: i64,
    pub broker: String,
    pub latency_ns: u64,
    pub window_ns: u64,
    pub reachable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
}

/// ns from `origin` to `at`, negative before it.
pub fn rel_ns(origin: Instant, at: Instant) -> i64 {
    if at >= origin {
        (at - origin).as_nanos() as i64
    } else {
        -((origin - at).as_nanos() as i64)
    }
}

/// The instant `t_ns` after `origin`.
pub fn at_ns(origin: Instant, t_ns: i64) -> Instant {
    if t_ns >= 0 {
        origin + Duration::from_nanos(t_ns as u64)
    } else {
        origin.checked_sub(Duration::from_nanos(t_ns.unsigned_abs())).unwrap_or(origin)
    }
}

fn ns(d: Duration) -> u64 {
    d.as_nanos() as u64
}

const OUTCOMES: [AttemptOutcome; 7] = [
    AttemptOutcome::Ok,
    AttemptOutcome::Status,
    AttemptOutcome::BrokerError,
    AttemptOutcome::SendFailed,
    AttemptOutcome::Timeout,
    AttemptOutcome::Unknown,
    AttemptOutcome::Written,
];
const JAVA_ERRORS: [JavaError; 6] = [
    JavaError::Broker,
    JavaError::Timeout,
    JavaError::SendRequest,
    JavaError::Connect,
    JavaError::TooMuchRequest,
    JavaError::Client,
];
const STATUSES: [SendStatus; 4] = [
    SendStatus::SEND_OK,
    SendStatus::FLUSH_DISK_TIMEOUT,
    SendStatus::FLUSH_SLAVE_TIMEOUT,
    SendStatus::SLAVE_NOT_AVAILABLE,
];
const FAILURES: [(FailureKind, &str); 7] = [
    (FailureKind::Invalid, "invalid"),
    (FailureKind::NoRoute, "no_route"),
    (FailureKind::Broker, "broker"),
    (FailureKind::SendFailed, "send_failed"),
    (FailureKind::Timeout, "timeout"),
    (FailureKind::Rejected, "rejected"),
    (FailureKind::Unknown, "unknown"),
];

impl RecSend {
    pub fn new(o: &SendOutcome, origin: Instant) -> RecSend {
        let stored = o.result.as_ref().ok();
        let failed = o.result.as_ref().err();
        RecSend {
            send: o.send,
            t_ns: rel_ns(origin, o.started),
            scheduled_ns: o.scheduled.map(|s| rel_ns(origin, s)),
            latency_ns: ns(o.latency),
            service_latency_ns: ns(o.service_latency),
            started_ms: o.started_wall_ms,
            topic: o.topic.to_string(),
            msg_id: o.msg_id.clone(),
            status: stored.map_or("FAILED", |s| s.status.name()).to_string(),
            oneway: o.oneway,
            broker: stored.map(|s| s.broker.to_string()),
            queue: stored.map(|s| s.queue_id),
            queue_offset: stored.map(|s| s.queue_offset),
            offset_msg_id: stored.map(|s| s.offset_msg_id.clone()).filter(|s| !s.is_empty()),
            failure: failed
                .map(|f| FAILURES.iter().find(|(k, _)| *k == f.kind).map_or("unknown", |(_, n)| n).to_string()),
            code: failed.and_then(|f| f.code),
            error: failed.map(|f| f.message.clone()),
            sharding_key: o.sharding_key.as_deref().map(str::to_string),
            transaction: o.transaction.as_ref().map(|t| t.local.java_name().to_string()),
            end_transaction_error: o.transaction.as_ref().and_then(|t| t.end.as_ref().err().cloned()),
            attempts: o.attempts.iter().map(|a| RecAttempt::new(a, origin)).collect(),
        }
    }

    /// When it ended, ns since the start (from its slot when it had one).
    pub fn end_ns(&self) -> i64 {
        // A file's numbers: saturating, whatever they are.
        self.scheduled_ns.unwrap_or(self.t_ns).saturating_add(i64::try_from(self.latency_ns).unwrap_or(i64::MAX))
    }

    /// The send as the producer reported it, on a clock whose run started at `origin`.
    pub fn outcome(&self, origin: Instant) -> Result<SendOutcome, String> {
        let result = if self.status == "FAILED" {
            let kind = self.failure.as_deref().unwrap_or("unknown");
            let kind = FAILURES.iter().find(|(_, n)| *n == kind).map_or(FailureKind::Unknown, |(k, _)| *k);
            Err(Failure { kind, code: self.code, message: self.error.clone().unwrap_or_default() })
        } else {
            let status = STATUSES
                .into_iter()
                .find(|s| s.name() == self.status)
                .ok_or_else(|| format!("send {}: unknown status {:?}", self.send, self.status))?;
            Ok(Stored {
                status,
                broker: self.broker.as_deref().unwrap_or("").into(),
                queue_id: self.queue.unwrap_or(-1),
                queue_offset: self.queue_offset.unwrap_or(-1),
                offset_msg_id: self.offset_msg_id.clone().unwrap_or_default(),
            })
        };
        let transaction = match &self.transaction {
            None => None,
            Some(t) => Some(TransactionEnd {
                local: LocalState::parse(t)
                    .ok_or_else(|| format!("send {}: unknown transaction state {t:?}", self.send))?,
                end: self.end_transaction_error.clone().map_or(Ok(()), Err),
            }),
        };
        Ok(SendOutcome {
            send: self.send,
            topic: self.topic.as_str().into(),
            msg_id: self.msg_id.clone(),
            started: at_ns(origin, self.t_ns),
            started_wall_ms: self.started_ms,
            scheduled: self.scheduled_ns.map(|s| at_ns(origin, s)),
            latency: Duration::from_nanos(self.latency_ns),
            service_latency: Duration::from_nanos(self.service_latency_ns),
            attempts: self.attempts.iter().map(|a| a.record(origin)).collect::<Result<_, _>>()?,
            result,
            oneway: self.oneway,
            sharding_key: self.sharding_key.as_deref().map(Arc::from),
            transaction,
        })
    }
}

impl RecAttempt {
    pub fn new(a: &AttemptRecord, origin: Instant) -> RecAttempt {
        RecAttempt {
            attempt: a.attempt,
            broker: a.broker.to_string(),
            addr: a.addr.as_deref().map(str::to_string),
            queue: a.queue,
            opaque: a.opaque,
            t_ns: rel_ns(origin, a.started),
            budget_ns: ns(a.budget),
            timeout_ns: ns(a.timeout),
            latency_ns: ns(a.latency),
            outcome: a.outcome.name().to_string(),
            code: a.code,
            error: a.error.clone(),
            java_error: a.java_error.map(|e| e.class().to_string()),
            isolated_ns: a.isolation.map(ns),
            fault_moved: a.fault_moved,
        }
    }

    pub fn record(&self, origin: Instant) -> Result<AttemptRecord, String> {
        let outcome = OUTCOMES
            .into_iter()
            .find(|o| o.name() == self.outcome)
            .ok_or_else(|| format!("attempt {}: unknown outcome {:?}", self.attempt, self.outcome))?;
        Ok(AttemptRecord {
            attempt: self.attempt,
            broker: self.broker.as_str().into(),
            addr: self.addr.as_deref().map(Arc::from),
            queue: self.queue,
            opaque: self.opaque,
            budget: Duration::from_nanos(self.budget_ns),
            timeout: Duration::from_nanos(self.timeout_ns),
            latency: Duration::from_nanos(self.latency_ns),
            outcome,
            code: self.code,
            error: self.error.clone(),
            java_error: self.java_error.as_deref().and_then(|c| JAVA_ERRORS.into_iter().find(|e| e.class() == c)),
            isolation: self.isolated_ns.map(Duration::from_nanos),
            fault_moved: self.fault_moved,
            started: at_ns(origin, self.t_ns),
        })
    }
}

impl RecFault {
    pub fn new(f: &FaultChange, origin: Instant) -> RecFault {
        let set_at = f.available_at.checked_sub(f.window).unwrap_or(f.available_at);
        RecFault {
            t_ns: rel_ns(origin, set_at),
            broker: f.broker.to_string(),
            latency_ns: ns(f.latency),
            window_ns: ns(f.window),
            reachable: f.reachable,
            send: f.cause.map(|c| c.0),
            attempt: f.cause.map(|c| c.1),
        }
    }

    pub fn change(&self, origin: Instant) -> FaultChange {
        let window = Duration::from_nanos(self.window_ns);
        FaultChange {
            broker: self.broker.as_str().into(),
            latency: Duration::from_nanos(self.latency_ns),
            window,
            available_at: at_ns(origin, self.t_ns) + window,
            reachable: self.reachable,
            cause: self.send.zip(self.attempt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_says_which_command_ran_and_older_recordings_were_produce() {
        let old = r#"{"target":"t","topic":"T","java":"5.3.3","fault_table":"5.x","fault_avoidance":false,
            "timeout_ms":3000,"attempt_timeout_ms":null,"retries":2,"load_model":"closed","rate":null,"concurrency":64}"#;
        let mut info: RunInfo = serde_json::from_str(old).unwrap();
        assert_eq!(info.command, "produce");
        assert!(!serde_json::to_string(&info).unwrap().contains("command"), "produce stays as it was written");
        info.command = "console".into();
        let back: RunInfo = serde_json::from_str(&serde_json::to_string(&info).unwrap()).unwrap();
        assert_eq!(back.command, "console");
    }

    #[test]
    fn a_send_survives_the_round_trip_through_its_line() {
        let origin = Instant::now();
        let t = |ms: u64| origin + Duration::from_millis(ms);
        let attempt = |n: u32, broker: &str, outcome, started| AttemptRecord {
            attempt: n,
            broker: broker.into(),
            addr: Some("127.0.0.1:10911".into()),
            queue: 2,
            opaque: 40 + n as i32,
            budget: Duration::from_millis(3000),
            timeout: Duration::from_millis(3000),
            latency: Duration::from_nanos(1500),
            outcome,
            code: None,
            error: (outcome != AttemptOutcome::Ok).then(|| "timeout".to_string()),
            java_error: (outcome != AttemptOutcome::Ok).then_some(JavaError::Timeout),
            isolation: Some(Duration::from_secs(30)),
            fault_moved: outcome != AttemptOutcome::Ok,
            started,
        };
        let wall = chrono::DateTime::from_timestamp_millis(1_700_000_000_123).unwrap().with_timezone(&chrono::Local);
        let o = SendOutcome {
            send: 7,
            topic: "T".into(),
            msg_id: "ID".into(),
            started: t(10),
            started_wall_ms: wall.timestamp_millis(),
            scheduled: Some(t(5)),
            latency: Duration::from_millis(9),
            service_latency: Duration::from_millis(4),
            attempts: vec![
                attempt(1, "broker-b", AttemptOutcome::Timeout, t(10)),
                attempt(2, "broker-a", AttemptOutcome::Ok, t(12)),
            ],
            result: Ok(Stored {
                status: SendStatus::FLUSH_DISK_TIMEOUT,
                broker: "broker-a".into(),
                queue_id: 2,
                queue_offset: 99,
                offset_msg_id: "OFF".into(),
            }),
            oneway: false,
            sharding_key: Some("k".into()),
            transaction: Some(TransactionEnd { local: LocalState::Unknown, end: Err("closed".into()) }),
        };
        let line = Line::Send(Box::new(RecSend::new(&o, origin)));
        let text = serde_json::to_string(&line).unwrap();
        assert!(text.starts_with(r#"{"type":"send","send":7,"t_ns":10000000,"scheduled_ns":5000000"#), "{text}");
        let Line::Send(back) = serde_json::from_str::<Line>(&text).unwrap() else { panic!() };
        assert_eq!(back.outcome(origin).unwrap(), o);

        let failed = SendOutcome {
            result: Err(Failure { kind: FailureKind::NoRoute, code: Some(17), message: "no route".into() }),
            transaction: None,
            ..o
        };
        let text = serde_json::to_string(&Line::Send(Box::new(RecSend::new(&failed, origin)))).unwrap();
        let Line::Send(back) = serde_json::from_str::<Line>(&text).unwrap() else { panic!() };
        assert_eq!(back.outcome(origin).unwrap(), failed);
        assert!(text.contains(r#""status":"FAILED""#) && text.contains(r#""failure":"no_route""#), "{text}");
    }

    #[test]
    fn a_fault_keeps_when_its_window_was_set() {
        let origin = Instant::now() + Duration::from_secs(1);
        let f = FaultChange {
            broker: "broker-b".into(),
            latency: Duration::from_millis(3000),
            window: Duration::from_secs(30),
            available_at: origin + Duration::from_secs(32),
            reachable: true,
            cause: Some((5, 1)),
        };
        let r = RecFault::new(&f, origin);
        assert_eq!(r.t_ns, 2_000_000_000);
        assert_eq!(r.change(origin), f);
        let before = RecFault { t_ns: -1500, ..r };
        assert_eq!(rel_ns(origin, before.change(origin).available_at - f.window), -1500);
    }
}

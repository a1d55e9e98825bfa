//! Headless output of `mqtui produce`: JSON lines (schema version 1), the summary object, and a
//! readable table. The field names and types here are a contract other tools read.

pub mod compare;
pub mod fold;
pub mod html;
pub mod interval;
pub mod offline;

use std::io::Write;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::producer::{AttemptRecord, SendOutcome};
use crate::stats::{max_ms, quantile_ms, RunStats};

/// The schema version of every object below.
pub const SCHEMA_VERSION: u32 = 1;

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `{"type":"attempt", …}`: one attempt of one send.
#[derive(Debug, Serialize)]
pub struct AttemptLine<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub send: u64,
    pub attempt: u32,
    pub broker: &'a str,
    pub queue: i32,
    pub latency_ms: f64,
    /// ok | status | broker_error | send_failed | timeout | unknown | written
    pub outcome: &'static str,
    /// The response code, or null when no response came.
    pub code: Option<i32>,
    /// The not-available window this attempt applied to its broker (0: none; null: fault
    /// avoidance off).
    pub isolated_ms: Option<u64>,
    // Additions beyond the list:
    pub error: Option<&'a str>,
    pub timeout_ms: u64,
    pub budget_ms: u64,
    pub addr: Option<&'a str>,
    pub opaque: i32,
    /// The Java exception class behind a failure (RemotingTimeoutException, …).
    pub java_error: Option<&'static str>,
    /// When the attempt started, Unix epoch ms (to set beside broker logs).
    pub start_ms: i64,
}

impl<'a> AttemptLine<'a> {
    pub fn new(send: u64, a: &'a AttemptRecord, o: &SendOutcome) -> Self {
        let since = a.started.saturating_duration_since(o.started);
        let start_ms = o.started_wall_ms + since.as_millis() as i64;
        AttemptLine {
            kind: "attempt",
            send,
            attempt: a.attempt,
            broker: &a.broker,
            queue: a.queue,
            latency_ms: ms(a.latency),
            outcome: a.outcome.name(),
            code: a.code,
            isolated_ms: a.isolation.map(|d| d.as_millis() as u64),
            error: a.error.as_deref(),
            timeout_ms: a.timeout.as_millis() as u64,
            budget_ms: a.budget.as_millis() as u64,
            addr: a.addr.as_deref(),
            opaque: a.opaque,
            java_error: a.java_error.map(|e| e.class()),
            start_ms,
        }
    }
}

/// `{"type":"fault", …}`: a broker's not-available window was set or moved.
#[derive(Debug, Serialize)]
pub struct FaultLine<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub broker: &'a str,
    pub latency_ms: f64,
    pub isolated_ms: u64,
    pub send: u64,
    pub attempt: u32,
}

/// `{"type":"result", …}`: one completed send.
#[derive(Debug, Serialize)]
pub struct ResultLine<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub send: u64,
    /// SEND_OK | FLUSH_DISK_TIMEOUT | FLUSH_SLAVE_TIMEOUT | SLAVE_NOT_AVAILABLE | FAILED | ONEWAY
    pub status: &'static str,
    pub attempts: usize,
    /// The broker of each attempt, in order.
    pub brokers: Vec<&'a str>,
    /// What the user waited for: from the send's intended start under the open model (the
    /// time it was held back included), else from its real start.
    pub latency_ms: f64,
    pub msg_id: &'a str,
    pub offset_msg_id: Option<&'a str>,
    pub queue_offset: Option<i64>,
    pub error: Option<&'a str>,
    // Additions:
    pub queue: Option<i32>,
    pub broker: Option<&'a str>,
    pub topic: &'a str,
    /// An ordered send's sharding key (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharding_key: Option<&'a str>,
    /// A transactional send whose half message was stored: the local state END_TRANSACTION
    /// carried (COMMIT_MESSAGE | ROLLBACK_MESSAGE | UNKNOW); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<&'static str>,
    /// Why END_TRANSACTION could not be written (the broker will check back).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_transaction_error: Option<&'a str>,
    /// From the send's real start to its end.
    pub service_latency_ms: f64,
    /// How late it started against its slot on the schedule (open model only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag_ms: Option<f64>,
}

impl<'a> ResultLine<'a> {
    pub fn new(o: &'a SendOutcome) -> Self {
        let stored = o.result.as_ref().ok();
        ResultLine {
            kind: "result",
            send: o.send,
            status: o.status_name(),
            attempts: o.attempts.len(),
            brokers: o.attempts.iter().map(|a| &*a.broker).collect(),
            latency_ms: ms(o.latency),
            msg_id: &o.msg_id,
            // A oneway send has neither: nothing came back.
            offset_msg_id: stored.filter(|_| !o.oneway).map(|s| s.offset_msg_id.as_str()),
            queue_offset: stored.filter(|_| !o.oneway).map(|s| s.queue_offset),
            error: o.result.as_ref().err().map(|f| f.message.as_str()),
            queue: stored.map(|s| s.queue_id),
            broker: stored.map(|s| &*s.broker),
            topic: &o.topic,
            sharding_key: o.sharding_key.as_deref(),
            transaction: o.transaction.as_ref().map(|t| t.local.java_name()),
            end_transaction_error: o.transaction.as_ref().and_then(|t| t.end.as_ref().err()).map(String::as_str),
            service_latency_ms: ms(o.service_latency),
            lag_ms: o.scheduled.map(|_| ms(o.lag())),
        }
    }
}

/// Writes the lines of one completed send: each attempt, the fault window it opened if any,
/// then the result.
pub fn write_jsonl(w: &mut impl Write, o: &SendOutcome) -> std::io::Result<()> {
    for a in &o.attempts {
        serde_json::to_writer(&mut *w, &AttemptLine::new(o.send, a, o))?;
        w.write_all(b"\n")?;
        if let (Some(window), true) = (a.isolation, a.fault_moved) {
            if !window.is_zero() {
                let f = FaultLine {
                    kind: "fault",
                    broker: &a.broker,
                    latency_ms: ms(a.latency),
                    isolated_ms: window.as_millis() as u64,
                    send: o.send,
                    attempt: a.attempt,
                };
                serde_json::to_writer(&mut *w, &f)?;
                w.write_all(b"\n")?;
            }
        }
    }
    serde_json::to_writer(&mut *w, &ResultLine::new(o))?;
    w.write_all(b"\n")
}

#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Latency {
    pub fn of(h: &hdrhistogram::Histogram<u64>) -> Self {
        Latency { p50: quantile_ms(h, 0.5), p99: quantile_ms(h, 0.99), p999: quantile_ms(h, 0.999), max: max_ms(h) }
    }
}

#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct BrokerLatency {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct BrokerSummary {
    pub name: String,
    pub attempts: u64,
    pub ok: u64,
    pub failed: u64,
    pub isolations: u64,
    pub isolated_ms: u64,
    pub latency_ms: BrokerLatency,
    // Additions:
    pub retried_away: u64,
    pub retried_onto: u64,
    /// Oneway requests written to it.
    pub oneway: u64,
}

pub use crate::record::schema::RunInfo;

/// `{"type":"summary","v":1, …}`: the last line of `jsonl`, the whole of `json`.
#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct Summary {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub v: u32,
    pub sent: u64,
    /// Every stored status.
    pub ok: u64,
    /// FAILED results.
    pub failed: u64,
    pub attempts: u64,
    pub retries: u64,
    pub elapsed_s: f64,
    pub tps: f64,
    pub latency_ms: Latency,
    pub name_server_lookups: u64,
    pub brokers: Vec<BrokerSummary>,
    // Additions:
    pub statuses: std::collections::BTreeMap<&'static str, u64>,
    pub run: RunInfo,
    /// Oneway sends handed to a connection: neither ok nor failed, as nothing is known of them
    /// (sent = ok + failed + oneway); their write times are not in `latency_ms`.
    pub oneway: u64,
    /// Ordered sends (`--sharding-key`): the key's queue, retried only there.
    pub ordered: u64,
    /// Transactional sends (`--transaction`), when there were any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transactions: Option<TransactionSummary>,
    /// From each send's real start (in the open model `latency_ms` counts from its slot).
    pub service_latency_ms: Latency,
    /// Sends that started more than 1 ms after their slot on the schedule (open model), the
    /// largest lag, and the slots that came due before the end and never started.
    pub behind_schedule: u64,
    pub max_lag_ms: f64,
    pub not_started: u64,
    /// Each `--threshold` / `[[threshold]]`, measured (absent when none were given).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<crate::stats::threshold::Verdict>,
    /// `--abort-on-fail`: the threshold that stopped the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted_by: Option<String>,
}

/// What the transactional sends of a run did.
#[derive(Debug, Serialize, Clone, PartialEq, Default)]
pub struct TransactionSummary {
    /// Half messages stored (each ended by one END_TRANSACTION).
    pub half: u64,
    pub commit: u64,
    pub rollback: u64,
    pub unknown: u64,
    /// END_TRANSACTIONs that could not be written.
    pub end_failed: u64,
    /// The brokers' CHECK_TRANSACTION_STATE requests answered, with `check_answer`.
    pub check_backs: u64,
    pub check_answer: &'static str,
}

impl Summary {
    pub fn new(s: &RunStats, elapsed: Duration, end: Instant, lookups: u64, run: RunInfo) -> Self {
        let secs = elapsed.as_secs_f64();
        Summary {
            kind: "summary",
            v: SCHEMA_VERSION,
            sent: s.sent,
            ok: s.ok,
            failed: s.failed,
            attempts: s.attempts,
            retries: s.retries,
            elapsed_s: round3(secs),
            tps: if secs > 0.0 { round3(s.sent as f64 / secs) } else { 0.0 },
            latency_ms: Latency::of(&s.latency),
            name_server_lookups: lookups,
            brokers: s
                .brokers
                .values()
                .map(|b| BrokerSummary {
                    name: b.name.to_string(),
                    attempts: b.attempts,
                    ok: b.ok,
                    failed: b.failed,
                    isolations: b.isolations,
                    isolated_ms: b.isolated_until(end).as_millis() as u64,
                    latency_ms: BrokerLatency {
                        p50: quantile_ms(&b.latency, 0.5),
                        p99: quantile_ms(&b.latency, 0.99),
                        max: max_ms(&b.latency),
                    },
                    retried_away: b.retried_away,
                    retried_onto: b.retried_onto,
                    oneway: b.oneway,
                })
                .collect(),
            statuses: s.statuses.clone(),
            run,
            oneway: s.oneway,
            ordered: s.ordered,
            transactions: (s.tx_commit + s.tx_rollback + s.tx_unknown > 0).then(|| TransactionSummary {
                half: s.tx_commit + s.tx_rollback + s.tx_unknown,
                commit: s.tx_commit,
                rollback: s.tx_rollback,
                unknown: s.tx_unknown,
                end_failed: s.tx_end_failed,
                ..Default::default()
            }),
            service_latency_ms: Latency::of(&s.service_latency),
            behind_schedule: s.behind_schedule,
            max_lag_ms: ms(s.max_lag),
            not_started: 0,
            thresholds: Vec::new(),
            aborted_by: None,
        }
    }

    /// A readable table.
    pub fn write_table(&self, w: &mut impl Write) -> std::io::Result<()> {
        let r = &self.run;
        writeln!(
            w,
            "mqtui {} · {} · topic {} · Java {} · fault table {} · avoidance {} · timeout {} ms · attempt timeout {} · retries {}",
            r.command,
            r.target,
            r.topic,
            r.java,
            r.fault_table,
            if r.fault_avoidance { "ON (Java's default: OFF)" } else { "OFF" },
            r.timeout_ms,
            r.attempt_timeout_ms.map_or("off (faithful)".to_string(), |t| format!("{t} ms")),
            r.retries
        )?;
        writeln!(
            w,
            "load model {} · rate {} · {} in flight at most{}",
            r.load_model,
            match (r.rate, &r.shape) {
                (None, Some(_)) => "from 0/s".to_string(),
                (Some(x), Some(_)) => format!("from {x}/s"),
                (Some(x), None) => format!("{x}/s"),
                (None, None) => "max".to_string(),
            },
            r.concurrency,
            r.shape.as_ref().map_or(String::new(), |s| format!(" · {s}")),
        )?;
        writeln!(
            w,
            "sent {}  ok {}  failed {}  attempts {}  retries {}  elapsed {:.1} s  {:.0} msg/s",
            self.sent, self.ok, self.failed, self.attempts, self.retries, self.elapsed_s, self.tps
        )?;
        if self.oneway > 0 {
            writeln!(
                w,
                "oneway {}  written, no reply awaited: nothing is known of whether a broker stored them",
                self.oneway
            )?;
        }
        if self.ordered > 0 {
            writeln!(
                w,
                "ordered {}  each to its sharding key's queue, retried on that queue only (no failover)",
                self.ordered
            )?;
        }
        if let Some(t) = &self.transactions {
            writeln!(
                w,
                "transactions: {} half messages  commit {}  rollback {}  unknown {}  END_TRANSACTION not written {}  check-backs answered {} ({})",
                t.half, t.commit, t.rollback, t.unknown, t.end_failed, t.check_backs, t.check_answer
            )?;
        }
        let l = &self.latency_ms;
        let (from, model) = match r.load_model.as_str() {
            "open" => ("from each send's slot on the schedule", "open model"),
            _ => ("from each send's real start", "closed model"),
        };
        writeln!(w, "latency ms  p50 {}  p99 {}  p99.9 {}  max {}  ({model}: {from})", l.p50, l.p99, l.p999, l.max)?;
        if r.load_model == "open" {
            let l = &self.service_latency_ms;
            writeln!(
                w,
                "service ms  p50 {}  p99 {}  p99.9 {}  max {}  (from each send's real start)",
                l.p50, l.p99, l.p999, l.max
            )?;
            writeln!(
                w,
                "schedule    behind {} (started > 1 ms late)  max lag {} ms  not started {}",
                self.behind_schedule, self.max_lag_ms, self.not_started
            )?;
        }
        let statuses: Vec<String> = self.statuses.iter().map(|(k, v)| format!("{k} {v}")).collect();
        writeln!(w, "statuses    {}", statuses.join("  "))?;
        writeln!(w, "name server lookups {}", self.name_server_lookups)?;
        if !self.thresholds.is_empty() {
            let failed = self.thresholds.iter().filter(|t| !t.ok).count();
            writeln!(w, "thresholds  {} passed, {failed} failed", self.thresholds.len() - failed)?;
            for t in &self.thresholds {
                writeln!(w, "  {t}")?;
            }
        }
        if let Some(t) = &self.aborted_by {
            writeln!(w, "aborted     at the first threshold broken: {t}")?;
        }
        writeln!(w)?;
        writeln!(
            w,
            "{:<12} {:>9} {:>9} {:>7} {:>8} {:>8} {:>10} {:>10} {:>9} {:>9} {:>9}",
            "broker",
            "attempts",
            "ok",
            "failed",
            "retried",
            "retried",
            "isolations",
            "isolated",
            "p50 ms",
            "p99 ms",
            "max ms"
        )?;
        writeln!(w, "{:<12} {:>9} {:>9} {:>7} {:>8} {:>8}", "", "", "", "", "away", "onto")?;
        for b in &self.brokers {
            writeln!(
                w,
                "{:<12} {:>9} {:>9} {:>7} {:>8} {:>8} {:>10} {:>9.1}s {:>9} {:>9} {:>9}",
                b.name,
                b.attempts,
                b.ok,
                b.failed,
                b.retried_away,
                b.retried_onto,
                b.isolations,
                b.isolated_ms as f64 / 1000.0,
                b.latency_ms.p50,
                b.latency_ms.p99,
                b.latency_ms.max
            )?;
        }
        Ok(())
    }
}

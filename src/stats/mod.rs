//! Per-broker aggregates of a run, fed from completed sends (each carries its attempt trail, so
//! nothing is lost however far behind a view is). Shared by the headless report and the console.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub mod live;
pub mod threshold;
pub mod words;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use crate::producer::{AttemptOutcome, SendOutcome};

/// Latencies in microseconds, 1 µs … 1 hour, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = (d.as_micros() as u64).clamp(1, 3_600_000_000);
    let _ = h.record(us);
}

/// Milliseconds of a histogram quantile.
pub fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1000.0
    }
}

pub fn max_ms(h: &Histogram<u64>) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.max() as f64 / 1000.0
    }
}

/// The upper edges of the latency buckets the histograms show, ms (log-scaled, 1-2-5, 0.1 ms to
/// 10 s), the last one open.
pub const LOG_BUCKETS_MS: [f64; 17] = [
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    50.0,
    100.0,
    200.0,
    500.0,
    1000.0,
    2000.0,
    5000.0,
    10000.0,
    f64::INFINITY,
];

/// Latencies of `h` (µs) per [`LOG_BUCKETS_MS`] bucket: `[i]` counts those ≤ its edge and above
/// the one before.
pub fn log_buckets<T: hdrhistogram::Counter>(h: &Histogram<T>) -> Vec<u64> {
    let mut counts = vec![0u64; LOG_BUCKETS_MS.len()];
    for v in h.iter_recorded() {
        let ms = h.lowest_equivalent(v.value_iterated_to()) as f64 / 1000.0;
        let i = LOG_BUCKETS_MS.iter().position(|e| ms <= *e).unwrap_or(LOG_BUCKETS_MS.len() - 1);
        counts[i] += v.count_since_last_iteration();
    }
    counts
}

/// Bucket `i`'s label: "≤ 0.1 ms", "≤ 2 s", "> 10 s".
pub fn bucket_label(i: usize) -> String {
    let e = LOG_BUCKETS_MS[i];
    if e.is_infinite() {
        return format!("> {}", bucket_label(i - 1).trim_start_matches("≤ "));
    }
    if e >= 1000.0 {
        format!("≤ {} s", e / 1000.0)
    } else {
        format!("≤ {e} ms")
    }
}

/// One broker's aggregates.
#[derive(Debug, Clone)]
pub struct BrokerStats {
    pub name: Arc<str>,
    pub attempts: u64,
    /// Attempts that stored the message.
    pub ok: u64,
    /// Attempts that did not.
    pub failed: u64,
    /// Oneway requests written to it (neither ok nor failed: no reply comes).
    pub oneway: u64,
    /// Retries that left this broker (an attempt here failed and the next went elsewhere).
    pub retried_away: u64,
    /// Retries that came to this broker.
    pub retried_onto: u64,
    /// Windows opened (the broker went from available to isolated).
    pub isolations: u64,
    /// Time isolated, windows merged, up to `until` or now.
    pub isolated: Duration,
    /// Not available before this instant, as far as the sends seen say.
    pub until: Option<Instant>,
    pub latency: Histogram<u64>,
    pub last_latency: Option<Duration>,
    /// Response codes of attempts that got a response other than SUCCESS, and failures by outcome.
    pub codes: BTreeMap<i32, u64>,
    pub outcomes: BTreeMap<&'static str, u64>,
}

impl BrokerStats {
    fn new(name: Arc<str>) -> Self {
        BrokerStats {
            name,
            attempts: 0,
            ok: 0,
            failed: 0,
            oneway: 0,
            retried_away: 0,
            retried_onto: 0,
            isolations: 0,
            isolated: Duration::ZERO,
            until: None,
            latency: new_histogram(),
            last_latency: None,
            codes: BTreeMap::new(),
            outcomes: BTreeMap::new(),
        }
    }

    /// Isolated time, counting an open window only up to `at`.
    pub fn isolated_until(&self, at: Instant) -> Duration {
        match self.until {
            Some(u) if u > at => self.isolated.saturating_sub(u - at),
            _ => self.isolated,
        }
    }
}

/// The aggregates of a whole run.
#[derive(Debug, Clone)]
pub struct RunStats {
    pub started: Instant,
    pub sent: u64,
    /// Every stored status (SEND_OK and the non-OK ones).
    pub ok: u64,
    pub failed: u64,
    /// Oneway sends handed to a connection: counted apart, their latency (a write, not a reply)
    /// kept out of the percentiles.
    pub oneway: u64,
    /// Ordered sends (a sharding key chose the queue), whatever their outcome.
    pub ordered: u64,
    /// Transactional sends whose half message was stored, by the local state END_TRANSACTION
    /// carried; and the END_TRANSACTIONs that could not be written.
    pub tx_commit: u64,
    pub tx_rollback: u64,
    pub tx_unknown: u64,
    pub tx_end_failed: u64,
    pub attempts: u64,
    pub retries: u64,
    pub statuses: BTreeMap<&'static str, u64>,
    /// What the user waited for: from each send's intended start under the open model.
    pub latency: Histogram<u64>,
    /// From each send's real start (the producer's own time).
    pub service_latency: Histogram<u64>,
    /// Sends that started more than [`BEHIND`](crate::producer::schedule::BEHIND) after their
    /// slot on the schedule, and the largest lag.
    pub behind_schedule: u64,
    pub max_lag: Duration,
    pub brokers: BTreeMap<Arc<str>, BrokerStats>,
}

impl RunStats {
    pub fn new(started: Instant) -> Self {
        RunStats {
            started,
            sent: 0,
            ok: 0,
            failed: 0,
            oneway: 0,
            ordered: 0,
            tx_commit: 0,
            tx_rollback: 0,
            tx_unknown: 0,
            tx_end_failed: 0,
            attempts: 0,
            retries: 0,
            statuses: BTreeMap::new(),
            latency: new_histogram(),
            service_latency: new_histogram(),
            behind_schedule: 0,
            max_lag: Duration::ZERO,
            brokers: BTreeMap::new(),
        }
    }

    /// Makes sure a broker has a row (so that idle brokers show too).
    pub fn broker(&mut self, name: &Arc<str>) -> &mut BrokerStats {
        // Look up first: no reference count traffic on the common path.
        if !self.brokers.contains_key(name) {
            self.brokers.insert(name.clone(), BrokerStats::new(name.clone()));
        }
        self.brokers.get_mut(name).expect("just inserted")
    }

    /// Adds one completed send and its attempts.
    pub fn record(&mut self, o: &SendOutcome) {
        self.record_with(o, true)
    }

    /// Adds one completed send; its latencies go into the histograms only when `latency` (a view
    /// that samples under heavy load keeps every count exact and samples only the percentiles).
    pub fn record_with(&mut self, o: &SendOutcome, latency: bool) {
        self.sent += 1;
        self.ordered += o.sharding_key.is_some() as u64;
        if let Some(t) = &o.transaction {
            use crate::protocol::transaction::LocalState;
            match t.local {
                LocalState::Commit => self.tx_commit += 1,
                LocalState::Rollback => self.tx_rollback += 1,
                LocalState::Unknown => self.tx_unknown += 1,
            }
            self.tx_end_failed += t.end.is_err() as u64;
        }
        let written = o.oneway && o.is_ok();
        if written {
            self.oneway += 1;
        } else if o.is_ok() {
            self.ok += 1;
        } else {
            self.failed += 1;
        }
        *self.statuses.entry(o.status_name()).or_default() += 1;
        if latency && !written {
            record(&mut self.latency, o.latency);
            record(&mut self.service_latency, o.service_latency);
        }
        let lag = o.lag();
        if lag > crate::producer::schedule::BEHIND {
            self.behind_schedule += 1;
            self.max_lag = self.max_lag.max(lag);
        }
        self.attempts += o.attempts.len() as u64;
        self.retries += o.attempts.len().saturating_sub(1) as u64;
        for (i, a) in o.attempts.iter().enumerate() {
            let b = self.broker(&a.broker);
            b.attempts += 1;
            if a.outcome == AttemptOutcome::Written {
                b.oneway += 1;
            } else if a.outcome.is_stored() {
                b.ok += 1;
            } else {
                b.failed += 1;
            }
            if latency && a.outcome != AttemptOutcome::Written {
                record(&mut b.latency, a.latency);
            }
            b.last_latency = Some(a.latency);
            if let Some(code) = a.code.filter(|c| *c != 0) {
                *b.codes.entry(code).or_default() += 1;
            }
            if a.outcome != AttemptOutcome::Ok {
                *b.outcomes.entry(a.outcome.name()).or_default() += 1;
            }
            if let (Some(window), true) = (a.isolation, a.fault_moved) {
                let at = a.started + a.latency;
                let new_until = at + window;
                match b.until {
                    Some(u) if u > at => {
                        if new_until > u {
                            b.isolated += new_until - u;
                        } else {
                            // A 4.x window cut short by a fast reply.
                            b.isolated = b.isolated.saturating_sub(u - new_until);
                        }
                    }
                    _ if !window.is_zero() => {
                        b.isolations += 1;
                        b.isolated += window;
                    }
                    _ => {}
                }
                b.until = Some(new_until);
            }
            if i + 1 < o.attempts.len() {
                b.retried_away += 1;
                let next = o.attempts[i + 1].broker.clone();
                self.broker(&next).retried_onto += 1;
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::producer::{AttemptRecord, Failure, FailureKind, Stored};
    use crate::protocol::send::SendStatus;

    pub(crate) fn attempt(
        broker: &str,
        outcome: AttemptOutcome,
        started: Instant,
        latency_ms: u64,
        window_ms: u64,
    ) -> AttemptRecord {
        AttemptRecord {
            attempt: 1,
            broker: broker.into(),
            addr: None,
            queue: 0,
            opaque: 0,
            budget: Duration::from_secs(3),
            timeout: Duration::from_secs(3),
            latency: Duration::from_millis(latency_ms),
            outcome,
            code: None,
            error: None,
            java_error: None,
            isolation: Some(Duration::from_millis(window_ms)),
            fault_moved: window_ms > 0,
            started,
        }
    }

    pub(crate) fn outcome(attempts: Vec<AttemptRecord>, ok: bool) -> SendOutcome {
        SendOutcome {
            send: 1,
            topic: "T".into(),
            msg_id: "X".into(),
            started: attempts[0].started,
            started_wall_ms: crate::protocol::msgid::wall_ms(),
            scheduled: None,
            latency: attempts.iter().map(|a| a.latency).sum(),
            service_latency: attempts.iter().map(|a| a.latency).sum(),
            result: if ok {
                Ok(Stored {
                    status: SendStatus::SEND_OK,
                    broker: attempts.last().unwrap().broker.clone(),
                    queue_id: 0,
                    queue_offset: 0,
                    offset_msg_id: String::new(),
                })
            } else {
                Err(Failure { kind: FailureKind::Timeout, code: None, message: "x".into() })
            },
            oneway: false,
            sharding_key: None,
            transaction: None,
            attempts,
        }
    }

    #[test]
    fn counts_retries_isolations_and_merges_windows() {
        let t0 = Instant::now();
        let mut s = RunStats::new(t0);
        s.record(&outcome(
            vec![attempt("b", AttemptOutcome::SendFailed, t0, 1, 10_000), attempt("a", AttemptOutcome::Ok, t0, 1, 0)],
            true,
        ));
        // Another failure on b inside its window extends it by 2 s.
        let t1 = t0 + Duration::from_secs(2);
        s.record(&outcome(vec![attempt("b", AttemptOutcome::Timeout, t1, 1, 10_000)], false));
        assert_eq!((s.sent, s.ok, s.failed, s.attempts, s.retries), (2, 1, 1, 3, 1));
        let b = &s.brokers["b"];
        assert_eq!((b.attempts, b.failed, b.retried_away, b.isolations), (2, 2, 1, 1));
        assert_eq!(b.isolated, Duration::from_millis(12_000));
        assert_eq!(s.brokers["a"].retried_onto, 1);
        assert_eq!(b.isolated_until(t0 + Duration::from_secs(5)), Duration::from_millis(4_999));
        assert_eq!(s.statuses["FAILED"], 1);
    }
}
